"""`werft train`, `werft pipelines ...`, `werft reproduce` in local mode: output, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.pipelines import project
from typer.testing import CliRunner

import werft
from werft.cli.main import app
from werft.governance.actor import acting_as

pytestmark = pytest.mark.slow

runner = CliRunner()


def _invoke(*args: str, user: str = "bob") -> tuple[int, str, str]:
    with acting_as(user):
        result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository with werft.yaml and train.py, its use case synced, its data logged."""
    home = tmp_path / "cli-home"
    monkeypatch.setenv("WERFT_HOME", str(home))
    file = project.write_repo(tmp_path / "repo")
    code, out, err = _invoke("validate", str(file), "--sync")
    assert code == 0, out + err
    werft.configure(home=home)
    project.log_datasets()
    werft.configure()
    return file


def test_train_then_runs_show_and_reproduce(repo: Path) -> None:
    code, out, err = _invoke("train", "--file", str(repo))
    assert code == 0, out + err
    assert "training on customers@1: 600 rows" in out  # the entrypoint's output, streamed
    assert "pipeline run  #1 of churn: awaiting_approval" in out
    assert "approval      #1 pending" in out

    code, out, _ = _invoke("pipelines", "runs", "churn", "--json")
    (run,) = json.loads(out)
    assert code == 0 and run["status"] == "awaiting_approval" and run["version"] == 1
    code, out, _ = _invoke("approve", "1", user="anna")
    assert code == 0
    code, out, _ = _invoke("pipelines", "show", "1", "--logs")
    assert code == 0 and "promoted" in out and "production moved" in out
    assert "training on customers@1" in out

    code, out, err = _invoke("reproduce", run["training_run_id"], "--quiet")
    assert code == 0, out + err
    assert "metrics match" in out and "train_accuracy" in out
    code, out, _ = _invoke("pipelines", "runs", "churn", "--json")
    assert [r["trigger"] for r in json.loads(out)] == ["reproduce", "manual"]


def test_sync_stores_what_the_triggers_run(repo: Path) -> None:
    code, out, err = _invoke("pipelines", "sync", "--file", str(repo))
    assert code == 0, out + err
    assert "synced the pipeline of churn: code sha256:" in out
    assert "none (only `werft train` starts it)" in out
    code, out, _ = _invoke("pipelines", "sync", "--file", str(repo), "--json")
    assert json.loads(out)["spec"]["entrypoint"] == "train.py:main"


def test_params_can_be_overridden_for_one_run(repo: Path) -> None:
    code, out, err = _invoke(
        "train", "--file", str(repo), "-q", "-P", "C=0.05", "-P", "note=first try", "--json"
    )
    assert code == 0, out + err
    run = json.loads(out)
    assert run["params"] == {"C": 0.05, "note": "first try"}
    assert "C: 1.0" in repo.read_text()  # the file is unchanged
    code, _, err = _invoke("train", "--file", str(repo), "-P", "C")
    assert code == 2 and "is not KEY=VALUE" in err


def test_a_failed_training_exits_1_with_the_reason(repo: Path) -> None:
    repo.write_text(repo.read_text().replace("params: {C: 1.0}", "params: {C: 1.0, fail: true}"))
    code, out, err = _invoke("train", "--file", str(repo), "--quiet")
    assert code == 1
    assert "pipeline run  #1 of churn: failed" in out
    assert "ValueError: the training was told to fail" in err


def test_no_training_section_and_unknown_runs_are_clear_errors(repo: Path, tmp_path: Path) -> None:
    bare = tmp_path / "bare.yaml"
    bare.write_text(repo.read_text().split("training:")[0])
    code, _, err = _invoke("train", "--file", str(bare))
    assert code == 5 and "has no 'training:' section" in err
    code, _, err = _invoke("pipelines", "show", "42")
    assert code == 3 and "pipeline run #42 not found" in err
    code, _, err = _invoke("reproduce", "0" * 32)
    assert code == 3 and "not found" in err
