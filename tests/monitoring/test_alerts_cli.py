"""`werft alerts ...` in local mode: output for people and scripts, exit codes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from werft.cli.main import app
from werft.config import load_settings
from werft.services import Services, build_services

runner = CliRunner()


def _invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "cli-home"
    monkeypatch.setenv("WERFT_HOME", str(home))
    return home


@pytest.fixture
def services(home: Path) -> Iterator[Services]:
    """The services the CLI's local backend opens, for evaluating alerts."""
    built = build_services(load_settings(home=home).settings)
    yield built
    built.close()


def test_help_lists_the_alert_commands() -> None:
    code, out, _ = _invoke("alerts", "--help")
    assert code == 0
    for command in ("channel", "rule", "list", "notifications", "retry", "export-prometheus"):
        assert command in out
    assert "alerts" in _invoke("--help")[1]


def test_channels_are_created_listed_and_tested(home: Path, webhook: Any, closed_url: str) -> None:
    code, out, err = _invoke(
        "alerts", "channel", "create", "team", "--webhook", f"{webhook.url}/T0/secret",
        "--format", "slack", "--header", "X-Team=ml",
    )  # fmt: skip
    assert code == 0, err
    assert "created webhook channel 'team'" in out and "secret" not in out
    code, out, _ = _invoke(
        "alerts", "channel", "create", "ops-mail", "--email", "ops@example.org, ds@example.org",
        "--smtp-host", "smtp.example.org", "--smtp-port", "587", "--starttls",
        "--from", "werft@example.org", "--username", "werft", "--password-env", "SMTP_PASSWORD",
    )  # fmt: skip
    assert code == 0
    code, out, _ = _invoke("alerts", "channel", "list", "--json")
    channels = {c["name"]: c for c in json.loads(out)}
    assert channels["team"]["config"]["headers"] == {"X-Team": "ml"}
    assert channels["ops-mail"]["config"]["to"] == ["ops@example.org", "ds@example.org"]
    assert channels["ops-mail"]["config"]["password_env"] == "SMTP_PASSWORD"
    code, out, _ = _invoke("alerts", "channel", "list")
    assert "ops@example.org" in out and "/T0/secret" not in out

    code, out, _ = _invoke("alerts", "channel", "test", "team")
    assert code == 0 and "took the test message" in out
    assert webhook.requests[0].headers["x-team"] == "ml"
    _invoke("alerts", "channel", "create", "down", "--webhook", closed_url)
    code, _, err = _invoke("alerts", "channel", "test", "down")
    assert code == 7 and "did not take the test message" in err and "ConnectError" in err
    code, _, _ = _invoke("alerts", "channel", "delete", "down")
    assert code == 0


def test_channel_options_are_checked(home: Path) -> None:
    code, _, err = _invoke("alerts", "channel", "create", "x")
    assert code == 5 and "--webhook URL or --email" in err
    code, _, err = _invoke("alerts", "channel", "create", "x", "--email", "a@b.c")
    assert code == 5 and "--smtp-host" in err
    code, _, err = _invoke("alerts", "channel", "create", "x", "--webhook", "http://h", "-h", "x")
    assert code == 2
    code, _, err = _invoke(
        "alerts", "channel", "create", "x", "--webhook", "http://h", "--header", "novalue"
    )
    assert code == 5 and "Name=value" in err
    code, _, err = _invoke("alerts", "channel", "create", "x", "--webhook", "gopher://h")
    assert code == 5 and "http://" in err


def test_rules_are_created_shown_disabled_and_deleted(home: Path, webhook: Any) -> None:
    _invoke("alerts", "channel", "create", "ops", "--webhook", webhook.url)
    code, out, err = _invoke(
        "alerts", "rule", "create", "churn-drift", "--when", "drift.share>0.3", "--for", "30m",
        "--severity", "critical", "--notify", "ops", "--monitor", "churn-prod",
        "--description", "Retrain soon.",
    )  # fmt: skip
    assert code == 0, err
    assert "created rule 'churn-drift': drift.share > 0.3 for 30m" in out
    code, out, _ = _invoke("alerts", "rule", "show", "churn-drift", "--json")
    rule = json.loads(out)
    assert (rule["for_seconds"], rule["channels"], rule["monitor"]) == (1800, ["ops"], "churn-prod")
    code, out, _ = _invoke("alerts", "rule", "list")
    assert "churn-drift" in out and "30m" in out and "critical" in out
    assert _invoke("alerts", "rule", "disable", "churn-drift")[0] == 0
    assert json.loads(_invoke("alerts", "rule", "list", "--json")[1])[0]["enabled"] is False
    assert _invoke("alerts", "rule", "enable", "churn-drift")[0] == 0
    code, _, err = _invoke("alerts", "channel", "delete", "ops")
    assert code == 4 and "churn-drift" in err
    assert _invoke("alerts", "rule", "delete", "churn-drift")[0] == 0
    code, _, err = _invoke("alerts", "rule", "show", "churn-drift")
    assert code == 3 and "'churn-drift' not found" in err


def test_rule_mistakes_exit_with_the_documented_codes(home: Path) -> None:
    code, _, err = _invoke("alerts", "rule", "create", "r", "--when", "drift.share >> 0.3")
    assert code == 5
    assert err.splitlines() == [
        "error: invalid condition at character 14: expected a number after '>', found '>'",
        "  drift.share >> 0.3",
        "               ^",
    ]
    code, _, err = _invoke(
        "alerts", "rule", "create", "r", "--when", "rows > 1", "--notify", "nowhere"
    )
    assert code == 3 and "'nowhere' not found" in err
    code, _, err = _invoke("alerts", "rule", "create", "r", "--when", "rows > 1", "--for", "soon")
    assert code == 5 and "30s, 15m, 1h" in err


def test_alerts_notifications_delivery_and_retry(
    home: Path, services: Services, webhook: Any
) -> None:
    _invoke("alerts", "channel", "create", "ops", "--webhook", webhook.url)
    _invoke(
        "alerts", "rule", "create", "churn-drift", "--when", "drift.share > 0.3", "--notify", "ops"
    )
    services.alerts.evaluate("churn-prod", {"drift.share": 0.42})

    code, out, _ = _invoke("alerts", "list", "--state", "firing", "--json")
    [alert] = json.loads(out)
    assert (alert["rule"], alert["monitor"], alert["value"]) == ("churn-drift", "churn-prod", 0.42)
    code, out, _ = _invoke("alerts", "list", "--monitor", "churn-prod")
    assert code == 0 and "firing" in out and "0.42" in out
    assert json.loads(_invoke("alerts", "list", "--rule", "other", "--json")[1]) == []
    code, _, err = _invoke("alerts", "list", "--state", "open")
    assert code == 5 and "'open'" in err

    webhook.statuses = [500]
    code, out, _ = _invoke("alerts", "deliver")
    assert code == 0 and "1 to retry" in out and "HTTP 500" in out
    [waiting] = json.loads(_invoke("alerts", "notifications", "--status", "pending", "--json")[1])
    assert waiting["attempts"] == 1 and waiting["channel"] == "ops"
    code, out, _ = _invoke("alerts", "retry", str(waiting["id"]))
    assert code == 0 and "queued again" in out
    code, out, _ = _invoke("alerts", "deliver", "--json")
    assert json.loads(out)["sent"] == 1
    code, out, _ = _invoke("alerts", "notifications")
    assert "sent" in out and "churn-drift" in out
    code, _, err = _invoke("alerts", "retry", str(waiting["id"]))
    assert code == 4 and "nothing to retry" in err


def test_export_prometheus_to_stdout_and_file(home: Path, tmp_path: Path) -> None:
    _invoke(
        "alerts", "rule", "create", "slow", "--when", "serving.latency_p99 > 0.2", "--for", "5m"
    )
    code, out, _ = _invoke("alerts", "export-prometheus", "--window", "1m")
    assert code == 0
    [rule] = yaml.safe_load(out)["groups"][0]["rules"]
    assert rule["alert"] == "slow" and rule["for"] == "5m" and "[1m]" in rule["expr"]
    target = tmp_path / "rules.yml"
    code, out, _ = _invoke("alerts", "export-prometheus", "--out", str(target))
    assert code == 0 and f"wrote {target}" in out.replace("\n", "")
    assert yaml.safe_load(target.read_text())["groups"][0]["rules"][0]["expr"].endswith(
        "[5m]))) > 0.2"
    )
