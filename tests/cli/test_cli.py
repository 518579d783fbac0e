"""The CLI in local mode: output for people and scripts, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import werft
from werft.cli.main import app
from werft.store.migrations import HEAD_REVISION

runner = CliRunner()


def _invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "cli-home"
    monkeypatch.setenv("WERFT_HOME", str(home))
    werft.configure(home=home)
    with werft.start_run(project="churn", name="first") as run:
        werft.log_params({"depth": 3})
        werft.log_metric("auc", 0.8)
    with werft.start_run(project="churn", name="second"):
        werft.log_params({"depth": 5})
        werft.log_metric("auc", 0.9)
    werft.configure()
    (home / "first_id").write_text(run.id)
    return home


def test_help_lists_the_commands() -> None:
    code, out, _ = _invoke("--help")
    assert code == 0
    for command in ("server", "projects", "runs", "db", "config", "gc", "quickstart"):
        assert command in out


def test_projects_and_runs_listings_as_json(home: Path) -> None:
    code, out, _ = _invoke("projects", "list", "--json")
    assert code == 0 and [p["key"] for p in json.loads(out)] == ["churn"]
    code, out, _ = _invoke("runs", "list", "churn", "--filter", "params.depth = '5'", "--json")
    assert code == 0 and [r["name"] for r in json.loads(out)] == ["second"]
    code, out, _ = _invoke("runs", "list", "churn", "-o", "metrics.auc DESC")
    assert code == 0 and out.index("second") < out.index("first")


def test_show_and_compare(home: Path) -> None:
    first = (home / "first_id").read_text()
    code, out, _ = _invoke("runs", "show", first, "--json")
    assert code == 0 and json.loads(out)["params"] == {"depth": "3"}
    second = _invoke("runs", "list", "churn", "--json")[1]
    other = next(r["id"] for r in json.loads(second) if r["id"] != first)
    code, out, _ = _invoke("runs", "compare", first, other, "--json")
    rows = {row["key"]: row for row in json.loads(out)["rows"]}
    assert code == 0 and rows["params.depth"]["values"] == ["3", "5"]
    assert rows["metrics.auc"]["differs"] is True


def test_errors_have_messages_and_exit_codes(home: Path) -> None:
    code, _, err = _invoke("runs", "show", "nope")
    assert code == 3 and err.startswith("error: run 'nope' not found")
    code, _, err = _invoke("runs", "list", "churn", "--filter", "metrics.auc >")
    assert code == 5 and "character" in err
    code, _, err = _invoke("projects", "create", "churn")
    assert code == 4 and "already exists" in err


def test_config_shows_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "cfg-home"
    home.mkdir()
    (home / "config.toml").write_text("[werft]\nmetric_flush_size = 123\n")
    monkeypatch.setenv("WERFT_HOME", str(home))
    monkeypatch.setenv("WERFT_URL", "http://127.0.0.1:9")
    code, out, _ = _invoke("config", "--json")
    settings = json.loads(out)["settings"]
    assert code == 0
    assert settings["home"]["source"] == "environment WERFT_HOME"
    assert settings["url"] == {"value": "http://127.0.0.1:9", "source": "environment WERFT_URL"}
    assert settings["metric_flush_size"]["source"].startswith("config file")
    assert settings["metric_flush_interval"]["source"] == "default"
    code, out, _ = _invoke("--url", "http://127.0.0.1:7", "config", "--json")
    assert json.loads(out)["settings"]["url"]["source"] == "argument"


def test_unreachable_server_exits_7(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WERFT_URL", "http://127.0.0.1:9")
    code, _, err = _invoke("projects", "list")
    assert code == 7 and "unreachable" in err


def test_db_upgrade_and_gc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WERFT_HOME", str(tmp_path / "h"))
    code, out, _ = _invoke("db", "upgrade")
    assert code == 0 and f"empty -> {HEAD_REVISION}" in out
    code, out, _ = _invoke("db", "current")
    assert code == 0 and out.strip().endswith(HEAD_REVISION)
    code, out, _ = _invoke("gc", "--json")
    assert code == 0 and json.loads(out)["runs_purged"] == 0


def test_server_refuses_public_bind_without_insecure(tmp_path: Path) -> None:
    code, _, err = _invoke("server", "--host", "0.0.0.0")
    assert code == 5 and "--insecure" in err
