"""Monitors and KPIs through both backends, the REST API's errors, and the CLI."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

import werft
from werft.cli.main import app
from werft.config import Settings
from werft.errors import InvalidInputError, NotFoundError
from werft.sdk.backend import Backend
from werft.sdk.local import LocalBackend
from werft.services import Services, build_services


def _deployment(backend: Backend) -> None:
    backend.register_replica(
        "churn-prod",
        models={"churn": {"alias": "production"}},
        strategy="single",
        replica_id="r1",
        address="http://127.0.0.1:1",
        host="test",
        pid=1,
    )


def test_monitors_and_kpis_through_the_backend(backend: Backend) -> None:
    _deployment(backend)
    created = backend.create_monitor(
        "churn-watch",
        deployment="churn-prod",
        window_seconds=1800,
        schedule="0 * * * *",
        config={"share_threshold": 0.3, "methods": {"tenure": "psi"}},
    )
    assert created.config.share_threshold == 0.3
    assert created.config.methods == {"tenure": "psi"}
    assert [m.name for m in backend.list_monitors()] == ["churn-watch"]
    assert backend.list_monitors(deployment="other") == []
    assert backend.get_monitor("churn-watch").window_seconds == 1800
    assert not backend.update_monitor("churn-watch", enabled=False).enabled
    assert backend.update_monitor("churn-watch", schedule="*/5 * * * *").schedule == "*/5 * * * *"

    at = datetime.now(UTC) - timedelta(minutes=3)
    backend.log_kpi("churn-prod", "retained_customers", 412, at)
    kpis = backend.list_kpis("churn-prod", name="retained_customers")
    assert [(k.name, k.value) for k in kpis] == [("retained_customers", 412.0)]

    result = backend.run_monitor("churn-watch")
    assert result.status == "no_data"
    assert result.values["kpi.retained_customers"] == 412
    assert [r.id for r in backend.monitor_history("churn-watch")] == [result.id]
    report = backend.monitor_report("churn-watch", last_seconds=3600)
    assert report["monitor"]["name"] == "churn-watch"
    assert [t["status"] for t in report["timeline"]] == ["no_data"]

    with pytest.raises(InvalidInputError, match="five fields"):
        backend.create_monitor(
            "bad", deployment="churn-prod", window_seconds=3600, schedule="hourly"
        )
    with pytest.raises(InvalidInputError, match="finite number"):
        backend.log_kpi("churn-prod", "retained_customers", math.inf)
    with pytest.raises(InvalidInputError, match="KPI name"):
        backend.log_kpi("churn-prod", "retained customers", 1)
    with pytest.raises(NotFoundError, match="werft monitor list"):
        backend.run_monitor("nope")
    backend.delete_monitor("churn-watch")
    assert backend.list_monitors() == []


def test_api_errors_are_problems_a_person_can_act_on(api: httpx.Client) -> None:
    missing = api.post("/monitors", json={"name": "m", "deployment": "ghost"})
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert "ghost" in missing.json()["detail"]
    bad_window = api.post("/monitors", json={"name": "m", "deployment": "ghost", "window": "soon"})
    assert bad_window.status_code == 400
    assert "15m" in bad_window.json()["detail"]
    unknown_field = api.post("/monitors", json={"name": "m", "deployment": "d", "colour": 1})
    assert unknown_field.status_code == 422
    assert unknown_field.headers["content-type"] == "application/problem+json"
    assert api.get("/monitors/nope/report").status_code == 404


def test_html_report_over_the_api(api: httpx.Client, services: Services) -> None:
    backend = LocalBackend(services)
    _deployment(backend)
    backend.create_monitor(
        "churn-watch", deployment="churn-prod", window_seconds=3600, schedule="0 * * * *"
    )
    backend.run_monitor("churn-watch")
    page = api.get("/monitors/churn-watch/report", params={"format": "html", "last": "1d"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "<html" in page.text and "churn-watch" in page.text


runner = CliRunner()


def test_cli_monitor_and_kpi_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("WERFT_HOME", str(home))
    services = build_services(Settings(home=home))
    try:
        _deployment(LocalBackend(services))
    finally:
        services.close()

    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(app, list(args))
        return result.exit_code, result.stdout + result.stderr

    code, out = run(
        "monitor", "create", "churn-watch", "--deployment", "churn-prod", "--window", "30m",
        "--method", "tenure=psi", "--threshold", "tenure=0.2",
    )  # fmt: skip
    assert code == 0, out
    assert "window 30m" in out
    code, out = run("monitor", "create", "x", "--deployment", "churn-prod", "--method", "psi")
    assert code == 5 and "FEATURE=VALUE" in out
    code, out = run("monitor", "create", "x", "--deployment", "churn-prod", "--threshold", "a=b")
    assert code == 5 and "not a number" in out
    code, out = run("kpi", "log", "churn-prod", "retained_customers", "412")
    assert code == 0, out
    code, out = run("kpi", "list", "churn-prod", "--json")
    assert [k["value"] for k in json.loads(out)] == [412.0]
    code, out = run("monitor", "run", "churn-watch")
    assert code == 0 and "no_data" in out, out
    code, out = run("monitor", "list", "--json")
    assert json.loads(out)[0]["config"]["thresholds"] == {"tenure": 0.2}
    code, out = run("monitor", "history", "churn-watch", "--json")
    assert [t["status"] for t in json.loads(out)] == ["no_data"]
    report = tmp_path / "report.html"
    code, out = run("monitor", "report", "churn-watch", "--out", str(report))
    assert code == 0, out
    assert "churn-watch" in report.read_text()
    code, out = run("monitor", "report", "churn-watch", "--out", str(tmp_path / "r.json"))
    assert json.loads((tmp_path / "r.json").read_text())["monitor"]["name"] == "churn-watch"
    code, out = run("monitor", "pause", "churn-watch")
    assert code == 0
    code, out = run("monitor", "show", "nope")
    assert code == 3 and "not found" in out
    code, out = run("worker", "--once")
    assert code == 0 and "ran 0 monitors" in out, out
    werft.configure()
