"""`werft quickstart`: every lifecycle phase done for real, checked in the store it leaves.

The project's end-to-end acceptance test: the assertions read the metadata
store (through fresh services), not the narration.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from werft.cli.main import app
from werft.pipelines.entities import PipelineStatus, Trigger
from werft.quickstart import default_home
from werft.quickstart.lifecycle import quickstart_settings
from werft.registry.entities import VersionStatus
from werft.sdk.local import LocalBackend
from werft.services import build_services

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

runner = CliRunner()


def test_the_quickstart_walks_every_phase(tmp_path: Path) -> None:
    home = tmp_path / "qs"
    result = runner.invoke(app, ["quickstart", "--home", str(home)])
    assert result.exit_code == 0, result.stdout + result.stderr
    for number in range(1, 10):
        assert f"[{number}/9]" in result.stdout

    services = build_services(quickstart_settings(home))
    backend = LocalBackend(services)
    try:
        # 1 requirements: the use case from werft.yaml.
        case = backend.get_use_case("churn")
        assert case.spec.business_goal and case.spec.kpis and case.spec.acceptance
        assert (home / "churn-repo" / "werft.yaml").is_file()
        # 2 exploration: several tracked experiments with params, metrics and data.
        experiments = [
            r
            for r in backend.search_runs("churn", max_results=100).items
            if r.name.startswith("logreg-")
        ]
        assert len(experiments) == 3
        assert all("roc_auc" in r.metrics and "C" in r.params and r.inputs for r in experiments)
        best = max(experiments, key=lambda r: r.metrics["roc_auc"])
        # 3 development: the best registered, with its dataset lineage.
        first = backend.get_model_version("churn-classifier", 1)
        assert first.run_id == best.id
        lineage = backend.model_lineage("churn-classifier", 1)
        assert {(d.name, d.version) for d in lineage.datasets} >= {("customers", 1)}
        # 4 CI: a passed gate report (and its JUnit file).
        (gate, *_) = backend.list_gate_reports("churn-classifier", 1)
        assert gate.passed
        assert (home / "churn-repo" / "gate-report.xml").is_file()
        # 5 CD: requested by one person, approved by another.
        approvals = sorted(backend.list_approvals(), key=lambda a: a.id)
        assert (approvals[0].requested_by, approvals[0].decided_by) == ("alice", "anna")
        # 6 operation: served, logged, labels joined; 7 drift noticed, the alert delivered.
        monitor_runs = services.monitors.history("churn-prod")
        statuses = sorted(r.status for r in monitor_runs)
        assert statuses == ["drift", "ok"]
        calm = next(r for r in monitor_runs if r.status == "ok")
        assert calm.values["performance.labelled"] == 300
        assert [a.rule for a in services.alerts.list_alerts()] == ["churn-drift"]
        (sent,) = services.alerts.list_notifications()
        assert sent.status == "sent"
        # 8 retraining: the alert's pipeline run, through gate and approval, live.
        (run,) = backend.list_pipeline_runs("churn")
        assert run.trigger is Trigger.ALERT and run.trigger_detail == "churn-drift"
        assert run.status is PipelineStatus.PROMOTED, run.error
        assert run.data["train"] == "customers@2" and run.gate_passed
        assert approvals[1].requested_by == "werft-pipeline" and approvals[1].decided_by == "anna"
        assert backend.get_alias("churn-classifier", "production").version == run.version == 2
        assert backend.get_model_version("churn-classifier", 2).status is VersionStatus.APPROVED
        # 9 the maturity report: every phase rated, from this evidence.
        report = services.maturity.report("churn")
        assert len(report.phases) == 7 and report.overall >= 4
        assert "MLOps maturity" in result.stdout or "maturity report" in result.stdout
        assert services.audit.verify().ok
    finally:
        services.close()


def test_a_used_home_is_refused_and_the_default_is_fresh(tmp_path: Path) -> None:
    home = tmp_path / "used"
    home.mkdir()
    (home / "werft.db").write_bytes(b"")
    result = runner.invoke(app, ["quickstart", "--home", str(home)])
    assert result.exit_code == 5
    assert "already holds a werft store" in result.stderr
    first, second = default_home(), default_home()
    assert first != second and not any(first.iterdir())
    first.rmdir()
    second.rmdir()
