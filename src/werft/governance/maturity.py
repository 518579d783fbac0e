"""The MLOps maturity report: rate a use case from what werft's store holds.

:class:`MaturityService` counts the evidence of one project in one read
transaction - the synced use case, runs, dataset versions, model versions,
gate reports, aliases, approvals, deployments, prediction logs, monitors,
alert rules, feedback and KPIs - into :class:`MaturityFacts`;
:mod:`werft.governance.maturity_ladders` turns the counts into stars per
phase (five-star model of the Fraunhofer IAIS / KI.NRW MLOps study, mapped to
werft evidence there) and the next step for each. Nothing is self-assessed
and nothing is written: the report is read-only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from werft.governance.maturity_entities import MaturityReport
from werft.governance.maturity_ladders import MaturityFacts, RetrainingEvidence, overall, rate
from werft.governance.policy import StoredUseCase
from werft.store.db import Database
from werft.store.models import (
    AlertRuleRow,
    AliasEventRow,
    AliasRow,
    ApprovalRow,
    AuditEventRow,
    DatasetVersionRow,
    DeploymentRow,
    FeedbackRow,
    GateReportRow,
    KpiRow,
    LatestMetricRow,
    ModelVersionRow,
    MonitorRow,
    ParamRow,
    PredictionSegmentRow,
    RegisteredModelRow,
    ReplicaRow,
    RunInputRow,
    RunRow,
    UseCaseRow,
)
from werft.store.pipeline_models import PipelineRow, PipelineRunRow
from werft.tracking._rows import Clock, get_project_row, utcnow


class MaturityService:
    """Rates use cases on the five-star MLOps maturity scale."""

    def __init__(self, db: Database, *, clock: Clock = utcnow) -> None:
        self._db = db
        self._clock = clock

    def report(self, project: str) -> MaturityReport:
        """The maturity report of one use case (project key).

        Raises:
            NotFoundError: No such project.
        """
        facts = self.facts(project)
        phases = rate(facts)
        return MaturityReport(
            project=project, generated_at=self._clock(), phases=phases, overall=overall(phases)
        )

    def facts(self, project: str) -> MaturityFacts:
        """The counted evidence the report is made from.

        Raises:
            NotFoundError: No such project.
        """
        with self._db.session(write=False) as session:
            row = get_project_row(session, project)
            return _Counter(session, row.id, project).facts()


TRIGGER_KINDS = ("schedule", "alert", "dataset")
"""What may start a retraining besides a person (``werft train``, ``werft reproduce``)."""


def _retraining_evidence(session: Session, project_id: str) -> RetrainingEvidence:
    """Continuous training of the project: the synced pipeline's triggers, and triggered runs.

    Read defensively: a spec without triggers, or a trigger of an unknown
    kind, counts as nothing.
    """
    pipeline = session.get(PipelineRow, project_id)
    spec = _mapping(pipeline.spec) if pipeline is not None else {}
    raw = spec.get("triggers")
    kinds = [
        kind
        for trigger in (raw if isinstance(raw, list) else [])
        for kind in TRIGGER_KINDS
        if isinstance(trigger, Mapping) and trigger.get(kind)
    ]
    runs = session.scalar(
        select(func.count())
        .select_from(PipelineRunRow)
        .where(
            PipelineRunRow.project_id == project_id,
            PipelineRunRow.trigger.in_(TRIGGER_KINDS),
        )
    )
    if not kinds and not runs:
        return RetrainingEvidence()
    return RetrainingEvidence(
        triggers=len(kinds),
        runs=runs or 0,
        description=f"{len(kinds)} trigger(s) ({', '.join(sorted(set(kinds))) or 'none now'}), "
        f"{runs or 0} triggered pipeline run(s)",
    )


class _Counter:
    """Counts one project's evidence inside one read transaction."""

    def __init__(self, session: Session, project_id: str, key: str) -> None:
        self.s = session
        self.project_id = project_id
        self.key = key
        self.use_case_row = session.get(UseCaseRow, project_id)
        self.use_case = StoredUseCase.from_spec(
            self.use_case_row.spec if self.use_case_row is not None else None
        )
        self.model_ids = dict(
            session.execute(
                select(RegisteredModelRow.id, RegisteredModelRow.name).where(
                    RegisteredModelRow.project_id == project_id
                )
            ).all()
        )
        # Subqueries on the project rather than lists of ids: a project may have
        # more runs than a statement may carry parameters.
        self.live_runs = (
            select(RunRow.id)
            .where(RunRow.project_id == project_id, RunRow.deleted_at.is_(None))
            .scalar_subquery()
        )
        self.runs = {
            row.id: _RunFacts(row.git_commit or "", row.git_dirty, bool(row.environment))
            for row in session.execute(
                select(RunRow.id, RunRow.git_commit, RunRow.git_dirty, RunRow.environment).where(
                    RunRow.project_id == project_id, RunRow.deleted_at.is_(None)
                )
            )
        }
        self.inputs: dict[str, list[str]] = {}
        for run_id, context in session.execute(
            select(RunInputRow.run_id, RunInputRow.context).where(
                RunInputRow.run_id.in_(self.live_runs)
            )
        ):
            self.inputs.setdefault(run_id, []).append(context)
        project_models = select(RegisteredModelRow.id).where(
            RegisteredModelRow.project_id == project_id
        )
        self.versions = list(
            session.scalars(
                select(ModelVersionRow)
                .where(ModelVersionRow.model_id.in_(project_models.scalar_subquery()))
                .order_by(ModelVersionRow.created_at)
            )
        )
        self.gates = list(
            session.scalars(
                select(GateReportRow)
                .join(ModelVersionRow, ModelVersionRow.id == GateReportRow.model_version_id)
                .where(ModelVersionRow.model_id.in_(project_models.scalar_subquery()))
            )
        )
        names = set(self.model_ids.values())
        self.deployments = [
            d
            for d in session.scalars(select(DeploymentRow).order_by(DeploymentRow.name))
            if names & set(_mapping(d.models))
        ]
        deployment_ids = [d.id for d in self.deployments]
        self.monitors = (
            list(
                session.scalars(
                    select(MonitorRow).where(MonitorRow.deployment_id.in_(deployment_ids))
                )
            )
            if deployment_ids
            else []
        )
        self.logging: set[str] = (
            set(
                session.scalars(
                    select(PredictionSegmentRow.deployment_id)
                    .where(PredictionSegmentRow.deployment_id.in_(deployment_ids))
                    .distinct()
                )
            )
            if deployment_ids
            else set()
        )

    def facts(self) -> MaturityFacts:
        newest = self.versions[-1] if self.versions else None
        gated = {g.model_version_id for g in self.gates}
        return MaturityFacts(
            project=self.key,
            model=self.model_ids.get(newest.model_id) if newest is not None else None,
            version=newest.version if newest is not None else None,
            deployment=self.deployments[0].name if self.deployments else None,
            unlinked=self._newest(lambda v: v.run_id not in self.inputs),
            ungated=self._newest(lambda v: v.id not in gated),
            **self._requirements(),
            **self._exploration(),
            **self._development(),
            **self._integration(),
            **self._deployment(),
            **self._operation(),
            **self._data(),
        )

    # --- per phase -------------------------------------------------------------------

    def _requirements(self) -> dict[str, Any]:
        uc = self.use_case
        return {
            "use_case": self.use_case_row is not None,
            "kpis": len(uc.kpis),
            "acceptance": len(uc.acceptance),
            "approvers": len(uc.approvers),
            "approval_aliases": sum(1 for kind in uc.policy.values() if kind != "automatic"),
            "gated_on_synced_use_case": sum(1 for g in self.gates if self._on_synced(g)),
        }

    def _exploration(self) -> dict[str, Any]:
        with_params = self._runs_having(ParamRow.run_id)
        with_metrics = self._runs_having(LatestMetricRow.run_id)
        committed = [run_id for run_id, run in self.runs.items() if run.commit]
        return {
            "runs": len(self.runs),
            "runs_with_params_and_metrics": len(with_params & with_metrics),
            "runs_with_inputs": len(self.inputs),
            "runs_with_commit": len(committed),
            "runs_reproducible": sum(1 for run_id in committed if self._reproducible(run_id)),
        }

    def _development(self) -> dict[str, Any]:
        signed = [v for v in self.versions if _mapping(v.signature).get("inputs")]
        lineage = [v for v in self.versions if v.run_id in self.inputs]
        documented = [
            v for v in lineage if self.use_case_row is not None and self._documented(v.run_id or "")
        ]
        return {
            "models": len(self.model_ids),
            "versions": len(self.versions),
            "versions_with_signature": len(signed),
            "versions_with_lineage": len(lineage),
            "versions_documented": len(documented),
        }

    def _integration(self) -> dict[str, Any]:
        by_id = {v.id: v for v in self.versions}
        # Recorded by the CI runner (or a retraining pipeline) that ran the gate; for
        # reports from before werft recorded that, a synced werft.yaml on a version
        # from a clean commit is what CI leaves behind.
        from_ci = [
            g
            for g in self.gates
            if _mapping(g.report).get("ci")
            or (self._on_synced(g) and self._clean_commit(by_id[g.model_version_id].run_id))
        ]
        return {
            "gate_reports": len(self.gates),
            "gate_reports_passed": sum(1 for g in self.gates if g.passed),
            "gate_reports_full": sum(
                1
                for g in self.gates
                if _has_check(g, kind="data") and _has_check(g, acceptance=True)
            ),
            "gate_reports_from_ci": len(from_ci),
            "versions_gated": len({g.model_version_id for g in self.gates}),
        }

    def _deployment(self) -> dict[str, Any]:
        model_ids = list(self.model_ids)
        if not model_ids:
            return {}
        s = self.s
        aliases = s.scalar(
            select(func.count()).select_from(AliasRow).where(AliasRow.model_id.in_(model_ids))
        )
        four_eyes = s.scalar(
            select(func.count())
            .select_from(ApprovalRow)
            .join(ModelVersionRow, ModelVersionRow.id == ApprovalRow.model_version_id)
            .where(
                ModelVersionRow.model_id.in_(model_ids),
                ApprovalRow.status == "approved",
                ApprovalRow.decided_by.is_not(None),
                ApprovalRow.decided_by != ApprovalRow.requested_by,
            )
        )
        replaced = s.scalar(
            select(func.count(func.distinct(AliasEventRow.alias))).where(
                AliasEventRow.model_id.in_(model_ids),
                AliasEventRow.from_version.is_not(None),
                AliasEventRow.to_version.is_not(None),
            )
        )
        rollbacks = s.scalar(
            select(func.count())
            .select_from(AuditEventRow)
            .where(AuditEventRow.action == "alias.rolled_back", AuditEventRow.project == self.key)
        )
        deployment_ids = [d.id for d in self.deployments]
        replicas = (
            s.scalar(
                select(func.count())
                .select_from(ReplicaRow)
                .where(ReplicaRow.deployment_id.in_(deployment_ids))
            )
            if deployment_ids
            else 0
        )
        return {
            "aliases": aliases or 0,
            "approvals_four_eyes": four_eyes or 0,
            "deployments": len(self.deployments),
            "replicas": replicas or 0,
            "rollback_ready": replaced or 0,
            "rollbacks": rollbacks or 0,
        }

    def _operation(self) -> dict[str, Any]:
        retraining = _retraining_evidence(self.s, self.project_id)
        ids = [d.id for d in self.deployments]
        if not ids:
            return {"retraining": retraining}
        s = self.s
        scheduled = [m for m in self.monitors if m.enabled and m.schedule]
        names = {m.name for m in self.monitors}
        rules = [
            r
            for r in s.scalars(select(AlertRuleRow).where(AlertRuleRow.enabled.is_(True)))
            if (r.monitor is None or r.monitor in names) and _mapping(r.channels).get("names")
        ]
        feedback = s.scalar(
            select(func.count()).select_from(FeedbackRow).where(FeedbackRow.deployment_id.in_(ids))
        )
        kpis = s.scalar(
            select(func.count()).select_from(KpiRow).where(KpiRow.deployment_id.in_(ids))
        )
        return {
            "deployments_logging": len(self.logging),
            "monitors": len(scheduled),
            "alert_rules_with_channels": len(rules) if self.monitors else 0,
            "feedback_labels": feedback or 0,
            "kpi_values": kpis or 0,
            "retraining": retraining,
        }

    def _data(self) -> dict[str, Any]:
        datasets = list(
            self.s.scalars(
                select(DatasetVersionRow).where(DatasetVersionRow.project_id == self.project_id)
            )
        )
        on_reference = [
            m
            for m in self.monitors
            if _reference(m) is None or str(_reference(m)).startswith(f"{self.key}/")
        ]
        return {
            "dataset_versions": len(datasets),
            "datasets_profiled": sum(1 for d in datasets if d.schema_ and d.profile),
            "run_inputs": sum(len(contexts) for contexts in self.inputs.values()),
            "gate_reports_with_data_checks": sum(
                1 for g in self.gates if _has_check(g, kind="data")
            ),
            "monitors_on_reference": len(on_reference),
            "lineage_end_to_end": self._end_to_end(),
        }

    # --- helpers ---------------------------------------------------------------------

    def _newest(self, missing: Callable[[ModelVersionRow], bool]) -> tuple[str, int] | None:
        """The newest version that misses something, as (model name, version number)."""
        for row in reversed(self.versions):
            if missing(row):
                return self.model_ids[row.model_id], row.version
        return None

    def _runs_having(self, column: Any) -> set[str]:
        return set(self.s.scalars(select(column).where(column.in_(self.live_runs)).distinct()))

    def _on_synced(self, gate: GateReportRow) -> bool:
        if self.use_case_row is None:
            return False
        return _mapping(gate.report).get("use_case_digest") == self.use_case_row.digest

    def _clean_commit(self, run_id: str | None) -> bool:
        run = self.runs.get(run_id or "")
        return run is not None and bool(run.commit) and run.dirty is False

    def _reproducible(self, run_id: str) -> bool:
        return (
            self._clean_commit(run_id) and run_id in self.inputs and self.runs[run_id].environment
        )

    def _documented(self, run_id: str) -> bool:
        run = self.runs.get(run_id)
        return run is not None and bool(run.commit) and run.environment

    def _end_to_end(self) -> int:
        """Deployments with logged predictions whose alias points at a version with lineage."""
        lineage = {v.id for v in self.versions if v.run_id in self.inputs}
        found = 0
        for deployment in self.deployments:
            if deployment.id not in self.logging:
                continue
            for name, spec in _mapping(deployment.models).items():
                alias = _mapping(spec).get("alias")
                model_id = next((i for i, n in self.model_ids.items() if n == name), None)
                if model_id is None or not isinstance(alias, str):
                    continue
                row = self.s.get(AliasRow, (model_id, alias))
                if row is not None and row.version_id in lineage:
                    found += 1
                    break
        return found


@dataclass(frozen=True)
class _RunFacts:
    """What the report needs of a run: its code version and whether it has an environment."""

    commit: str
    dirty: bool | None
    environment: bool


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _checks(gate: GateReportRow) -> Iterable[Mapping[str, Any]]:
    checks = _mapping(gate.report).get("checks")
    return [c for c in checks if isinstance(c, Mapping)] if isinstance(checks, list) else []


def _has_check(gate: GateReportRow, *, kind: str | None = None, acceptance: bool = False) -> bool:
    for check in _checks(gate):
        if kind is not None and check.get("kind") == kind and not check.get("skipped"):
            return True
        if acceptance and str(check.get("name", "")).startswith("model.acceptance"):
            return True
    return False


def _reference(monitor: MonitorRow) -> Any:
    return _mapping(monitor.config).get("reference")
