"""The MLOps maturity report: stars and next steps per phase, from stores with growing evidence."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from werft.errors import NotFoundError
from werft.governance.actor import acting_as
from werft.governance.maturity_entities import MaturityReport, Phase, star_text
from werft.governance.maturity_ladders import (
    MaturityFacts,
    RetrainingEvidence,
    overall,
    rate,
)
from werft.pipelines.entities import CodeVersion
from werft.services import Services
from werft.store.models import GateReportRow, ProjectRow, UseCaseRow
from werft.tracking._rows import utcnow
from werft.tracking.entities import Metric

from .conftest import MODEL, USE_CASE_DIGEST, Release

PROJECT = "churn"
DEPLOYMENT = "churn-prod"
PROFILE = {"columns": {"tenure": {"kind": "numeric", "count": 1000}}}


@dataclass
class Lifecycle:
    """Puts evidence of each phase into the store, one step at a time."""

    services: Services
    release: Release

    def report(self) -> MaturityReport:
        return self.services.maturity.report(PROJECT)

    def stars(self, phase: Phase) -> int:
        return self.report().phase(phase).stars

    def command(self, phase: Phase) -> str:
        step = self.report().phase(phase).next_step
        assert step is not None
        return step.command

    def use_case(self, **spec: Any) -> None:
        project = self.services.projects.get_or_create(PROJECT)
        full = {
            "key": PROJECT,
            "name": "Churn",
            "business_goal": "Keep customers",
            "owner": "sales",
            "risk_class": "limited",
            "policy": {"staging": "automatic"},
            **spec,
        }
        with self.services.db.session() as session:
            assert session.get(ProjectRow, project.id) is not None
            row = session.get(UseCaseRow, project.id)
            if row is None:
                session.add(
                    UseCaseRow(
                        project_id=project.id,
                        spec=full,
                        digest=USE_CASE_DIGEST,
                        updated_at=utcnow(),
                        updated_by="anna",
                    )
                )
            else:
                row.spec = full

    def run(
        self,
        *,
        logged: bool = False,
        dataset: bool = False,
        commit: str | None = None,
        dirty: bool | None = None,
    ) -> str:
        self.services.projects.get_or_create(PROJECT)
        run = self.services.runs.create(
            PROJECT,
            name="train",
            git_commit=commit,
            git_dirty=dirty,
            environment={"python": "3.12", "packages": {"scikit-learn": "1.5"}},
        )
        if logged:
            self.services.runs.log_params(run.id, {"depth": 3})
            self.services.runs.log_metrics(
                run.id, [Metric(key="auc", value=0.9, step=0, timestamp=1)]
            )
        if dataset:
            data = self.services.datasets.register(
                PROJECT,
                "customers",
                {
                    "digest": "sha256:" + "34" * 32,
                    "row_count": 1000,
                    "schema": [{"name": "tenure", "dtype": "float64"}],
                    "profile": PROFILE,
                },
            )
            self.services.datasets.link_input(run.id, data.id, "training")
        return run.id

    def version(self, run_id: str | None = None) -> int:
        """A version of MODEL from ``run_id`` (default: a clean, committed run with its data)."""
        run_id = run_id or self.run(logged=True, dataset=True, commit="c0ffee", dirty=False)
        with acting_as("dev"):
            made = self.services.registry.create_version(
                MODEL,
                project=PROJECT,
                run_id=run_id,
                artifact_path="model",
                content_hash="sha256:" + "ab" * 32,
                files={},
                flavor="sklearn",
                model_class="sklearn.pipeline.Pipeline",
                signature={
                    "inputs": [{"name": "tenure", "dtype": "float64"}],
                    "output": {"kind": "classifier", "dtype": "int64"},
                },
                created_by="dev",
            )
        return made.version

    def serve(self) -> None:
        self.services.deployments.register_replica(
            DEPLOYMENT,
            models={MODEL: {"alias": "production"}},
            strategy="single",
            replica_id="r1",
            address="http://127.0.0.1:1",
            host="test",
            pid=1,
        )

    def log_predictions(self) -> None:
        self.services.deployments.record_segment(
            DEPLOYMENT,
            {
                "segment_id": "seg-1",
                "digest": "sha256:" + "56" * 32,
                "size": 100,
                "rows": 10,
                "start_ms": 0,
                "end_ms": 1000,
                "request_id_min": "r-00",
                "request_id_max": "r-09",
                "models": {MODEL: [1]},
                "histograms": {},
            },
        )


@pytest.fixture
def life(services: Services, release: Release) -> Lifecycle:
    return Lifecycle(services, release)


# --- pure ladders --------------------------------------------------------------------


def test_nothing_recorded_means_no_stars_and_a_first_step_everywhere() -> None:
    ratings = rate(MaturityFacts(project="churn"))
    assert [r.stars for r in ratings] == [0] * 7
    assert all(r.next_step is not None for r in ratings)
    assert overall(ratings) == 0.0


def test_rungs_count_only_in_order() -> None:
    # Datasets linked to runs without any dataset profiled: the first rung is missing.
    [*_, data] = rate(MaturityFacts(project="churn", run_inputs=3, monitors_on_reference=1))
    assert data.stars == 0
    assert [e.met for e in data.evidence] == [False, True, False, True, False]
    assert data.next_step is not None and "log_dataset" in data.next_step.command


def test_stars_as_text_and_the_overall_rounded_to_half_a_star() -> None:
    assert star_text(0) == "☆☆☆☆☆"
    assert star_text(3) == "★★★☆☆"
    assert star_text(3.5) == "★★★½☆"
    assert star_text(5) == "★★★★★"
    facts = MaturityFacts(project="churn", use_case=True, kpis=1, runs=1)
    assert overall(rate(facts)) == 0.5  # (2 + 1) / 7 = 0.43 -> half a star


# --- from the store ------------------------------------------------------------------


def test_an_unknown_project_is_not_found(services: Services) -> None:
    with pytest.raises(NotFoundError, match="werft projects list"):
        services.maturity.report("nope")


def test_an_empty_project_starts_at_zero_with_commands_naming_it(services: Services) -> None:
    services.projects.create(PROJECT)
    report = services.maturity.report(PROJECT)
    assert [r.phase for r in report.phases] == [
        "requirements",
        "exploration",
        "development",
        "continuous_integration",
        "continuous_deployment",
        "operation",
        "data",
    ]
    assert all(r.stars == 0 for r in report.phases) and report.overall == 0
    step = report.phase("requirements").next_step
    assert step is not None and step.command.startswith("werft init --key churn")


def test_requirements_climb_from_use_case_to_executable_thresholds(life: Lifecycle) -> None:
    life.use_case()
    assert life.stars("requirements") == 1
    assert life.command("requirements") == "werft usecase sync werft.yaml"
    life.use_case(kpis=[{"name": "retained", "unit": "count", "direction": "up"}])
    assert life.stars("requirements") == 2
    life.use_case(
        kpis=[{"name": "retained"}], acceptance=[{"metric": "roc_auc", "op": ">=", "value": 0.85}]
    )
    assert life.stars("requirements") == 3
    life.use_case(
        kpis=[{"name": "retained"}],
        acceptance=[{"metric": "roc_auc", "op": ">=", "value": 0.85}],
        approvers=["anna"],
        policy={"production": "approval"},
    )
    assert life.stars("requirements") == 4
    version = life.version()
    assert life.command("requirements") == (
        f"werft check {MODEL} {version} --data holdout.parquet --use-case werft.yaml"
    )
    life.release.gate(version, passed=True)  # against USE_CASE_DIGEST, the synced file
    report = life.report()
    assert report.phase("requirements").stars == 5
    assert report.phase("requirements").next_step is None


def test_a_gate_against_another_werft_yaml_does_not_count_as_executable(
    life: Lifecycle,
) -> None:
    life.use_case(
        kpis=[{"name": "retained"}],
        acceptance=[{"metric": "roc_auc", "op": ">=", "value": 0.85}],
        approvers=["anna"],
        policy={"production": "approval"},
    )
    version = life.version()
    gate_id = life.release.gate(version, passed=True)
    with life.services.db.session() as session:
        row = session.get(GateReportRow, gate_id)
        assert row is not None
        row.report = {**row.report, "use_case_digest": "sha256:" + "00" * 32}
    assert life.stars("requirements") == 4


def test_exploration_climbs_with_what_runs_record(life: Lifecycle) -> None:
    life.run()
    assert life.stars("exploration") == 1
    life.run(logged=True)
    assert life.stars("exploration") == 2
    assert "log_dataset" in life.command("exploration")
    life.run(logged=True, dataset=True)
    assert life.stars("exploration") == 3
    life.run(logged=True, dataset=True, commit="c0ffee", dirty=True)
    report = life.report().phase("exploration")
    assert report.stars == 4
    assert [e.count for e in report.evidence] == [4, 3, 2, 1, 0]
    life.run(logged=True, dataset=True, commit="c0ffee", dirty=False)
    assert life.stars("exploration") == 5


def test_development_needs_lineage_and_a_complete_card_on_every_version(
    life: Lifecycle,
) -> None:
    first = life.version(life.run(logged=True))  # no datasets, no commit
    assert life.stars("development") == 2
    assert life.command("development") == f"werft models lineage {MODEL} {first}"
    life.version(life.run(logged=True, dataset=True))  # lineage, but no code version
    assert life.stars("development") == 3
    life.version()  # committed, with data; still no use case synced
    assert life.stars("development") == 3
    life.use_case()
    rating = life.report().phase("development")
    assert rating.stars == 4
    assert rating.evidence[-1].count == 2 and rating.evidence[-1].of == 3
    assert rating.next_step is not None  # names the version that lacks its lineage
    assert rating.next_step.command == f"werft models lineage {MODEL} {first}"


def test_ci_counts_gates_that_check_data_and_thresholds_and_run_from_ci(
    life: Lifecycle,
) -> None:
    life.use_case(acceptance=[{"metric": "roc_auc", "op": ">=", "value": 0.85}])
    dirty = life.version(life.run(logged=True, dataset=True, commit="c0ffee", dirty=True))
    life.release.gate(dirty, passed=False)
    assert life.stars("continuous_integration") == 1
    life.release.gate(dirty, passed=True)
    assert life.stars("continuous_integration") == 3  # data checks and acceptance rules
    assert life.command("continuous_integration") == f"werft ci gitlab --model {MODEL}"
    clean = life.version()
    life.release.gate(clean, passed=True)
    assert life.stars("continuous_integration") == 5
    ungated = life.version()
    life.version(life.run(logged=True, dataset=True, commit="c0ffee", dirty=False))
    life.release.gate(ungated + 1, passed=True)
    rating = life.report().phase("continuous_integration")
    assert rating.stars == 4
    assert (rating.evidence[-1].count, rating.evidence[-1].of) == (3, 4)
    assert rating.next_step is not None  # names the version that skipped the gate
    assert rating.next_step.command == (
        f"werft check {MODEL} {ungated} --data holdout.parquet --use-case werft.yaml"
    )


def test_cd_climbs_through_policy_four_eyes_serving_and_rollback(life: Lifecycle) -> None:
    life.release.use_case()  # staging automatic, production by approval of anna or ops-lead
    first = life.release.version()
    assert life.stars("continuous_deployment") == 0
    with acting_as("dev"):
        life.services.promotions.promote(MODEL, first, "staging")
    assert life.stars("continuous_deployment") == 2
    assert "werft approve" in life.command("continuous_deployment")
    with acting_as("dev"):
        request = life.services.promotions.promote(MODEL, first, "production").approval
    assert request is not None
    with acting_as("anna"):
        life.services.promotions.approve(request.id)
    assert life.stars("continuous_deployment") == 3
    assert life.command("continuous_deployment") == f"werft serve {MODEL}@production"
    life.serve()
    assert life.stars("continuous_deployment") == 4
    assert life.command("continuous_deployment") == f"werft rollback {MODEL} --alias production"
    second = life.release.version()
    with acting_as("dev"):
        request = life.services.promotions.promote(MODEL, second, "production").approval
    assert request is not None
    with acting_as("ops-lead"):
        life.services.promotions.approve(request.id)
    rating = life.report().phase("continuous_deployment")
    assert rating.stars == 5 and rating.next_step is None
    assert [e.count for e in rating.evidence] == [2, 1, 2, 1, 1]


def test_a_rollback_counts_as_rollback_evidence(life: Lifecycle) -> None:
    life.release.use_case(policy={"staging": "automatic"})
    first, second = life.release.version(), life.release.version()
    with acting_as("dev"):
        life.services.promotions.promote(MODEL, first, "staging")
        life.services.promotions.promote(MODEL, second, "staging")
        life.services.promotions.rollback(MODEL, "staging")
    facts = life.services.maturity.facts(PROJECT)
    assert (facts.rollback_ready, facts.rollbacks) == (1, 1)


def test_operation_climbs_to_feedback_and_kpis_and_waits_for_retraining(
    life: Lifecycle,
) -> None:
    life.version()
    life.serve()
    assert life.stars("operation") == 0
    life.log_predictions()
    assert life.stars("operation") == 1
    assert life.command("operation").startswith(f"werft monitor create {DEPLOYMENT}-drift")
    life.services.monitors.create("churn-drift", deployment=DEPLOYMENT)
    assert life.stars("operation") == 2
    life.services.alerts.create_rule("silent", condition="drift.share > 0.3")
    assert life.stars("operation") == 2  # a rule that tells nobody does not count
    life.services.alerts.create_channel("ops", "webhook", {"url": "http://127.0.0.1:1/hook"})
    life.services.alerts.create_rule("drift", condition="drift.share > 0.3", channels=["ops"])
    assert life.stars("operation") == 3
    life.services.deployments.store_feedback(DEPLOYMENT, [("r-01", "true")])
    assert life.stars("operation") == 3
    assert life.command("operation") == f"werft kpi log {DEPLOYMENT} KPI VALUE"
    life.services.kpis.log(DEPLOYMENT, "retained_customers", 412)
    rating = life.report().phase("operation")
    assert rating.stars == 4
    assert rating.evidence[-1].count == 0 and not rating.evidence[-1].met
    assert rating.next_step is not None and "docs/pipelines.md" in rating.next_step.action
    assert rating.next_step.command == "werft validate werft.yaml && werft pipelines sync"


def test_continuous_training_counts_the_synced_pipelines_triggers(life: Lifecycle) -> None:
    code = CodeVersion(digest="sha256:" + "9a" * 32, commit="c0ffee")
    life.services.projects.create(PROJECT)
    life.services.pipelines.sync(PROJECT, {"entrypoint": "train.py:main"}, code)
    assert life.services.maturity.facts(PROJECT).retraining == RetrainingEvidence()
    life.services.pipelines.sync(
        PROJECT,
        {
            "entrypoint": "train.py:main",
            "triggers": [{"alert": "churn-drift"}, {"schedule": "0 3 * * 1"}],
        },
        code,
    )
    retraining = life.services.maturity.facts(PROJECT).retraining
    assert (retraining.triggers, retraining.runs) == (2, 0)
    assert retraining.description == "2 trigger(s) (alert, schedule), 0 triggered pipeline run(s)"
    # The rung itself: everything below it met, retraining makes it five.
    facts = MaturityFacts(
        project=PROJECT,
        deployments_logging=1,
        monitors=1,
        alert_rules_with_channels=1,
        feedback_labels=1,
        kpi_values=1,
        retraining=retraining,
    )
    [*_, operation, _] = rate(facts)
    assert operation.stars == 5 and operation.next_step is None


def test_monitors_and_rules_of_other_projects_do_not_count(life: Lifecycle) -> None:
    other = Lifecycle(life.services, Release(life.services, project="fraud"))
    other.services.projects.create("fraud")
    other.services.registry.create_model("fraud-model", "fraud")
    life.services.deployments.register_replica(
        "fraud-prod",
        models={"fraud-model": {"alias": "production"}},
        strategy="single",
        replica_id="r2",
        address="http://127.0.0.1:2",
        host="test",
        pid=2,
    )
    life.services.monitors.create("fraud-drift", deployment="fraud-prod")
    life.version()
    facts = life.services.maturity.facts(PROJECT)
    assert (facts.deployments, facts.monitors, facts.monitors_on_reference) == (0, 0, 0)


def test_data_climbs_from_profiled_versions_to_end_to_end_lineage(life: Lifecycle) -> None:
    life.release.use_case(policy={"production": "automatic"})
    run_id = life.run(logged=True)
    life.services.datasets.register(
        PROJECT,
        "customers",
        {
            "digest": "sha256:" + "78" * 32,
            "row_count": 10,
            "schema": [{"name": "tenure", "dtype": "float64"}],
            "profile": PROFILE,
        },
    )
    assert life.stars("data") == 1
    version = life.version(life.run(logged=True, dataset=True, commit="c0ffee", dirty=False))
    assert life.stars("data") == 2
    life.release.gate(version, passed=True)
    assert life.stars("data") == 3
    life.serve()
    life.services.monitors.create("churn-drift", deployment=DEPLOYMENT)  # training reference
    assert life.stars("data") == 4
    assert life.command("data") == f"werft serve {MODEL}@production"
    life.log_predictions()
    assert life.stars("data") == 4  # no alias yet: the deployment serves nothing of ours
    with acting_as("dev"):
        life.services.promotions.promote(MODEL, version, "production")
    assert life.stars("data") == 5
    assert run_id


def test_a_full_lifecycle_reads_as_five_stars_but_for_retraining(life: Lifecycle) -> None:
    life.use_case(
        kpis=[{"name": "retained"}],
        acceptance=[{"metric": "roc_auc", "op": ">=", "value": 0.85}],
        approvers=["anna"],
        policy={"production": "approval"},
    )
    versions = [life.version(), life.version()]
    for version in versions:
        life.release.gate(version, passed=True)
        with acting_as("dev"):
            request = life.services.promotions.promote(MODEL, version, "production").approval
        assert request is not None
        with acting_as("anna"):
            life.services.promotions.approve(request.id)
    life.serve()
    life.log_predictions()
    life.services.monitors.create("churn-drift", deployment=DEPLOYMENT)
    life.services.alerts.create_channel("ops", "webhook", {"url": "http://127.0.0.1:1/hook"})
    life.services.alerts.create_rule("drift", condition="drift.share > 0.3", channels=["ops"])
    life.services.deployments.store_feedback(DEPLOYMENT, [("r-01", "true")])
    life.services.kpis.log(DEPLOYMENT, "retained", 1)
    report = life.report()
    assert {r.phase: r.stars for r in report.phases} == {
        "requirements": 5,
        "exploration": 5,
        "development": 5,
        "continuous_integration": 5,
        "continuous_deployment": 5,
        "operation": 4,
        "data": 5,
    }
    assert report.overall == 5.0  # 34 / 7 = 4.86
    assert [r.phase for r in report.phases if r.next_step is not None] == ["operation"]
