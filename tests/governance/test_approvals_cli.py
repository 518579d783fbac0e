"""`werft promote / approve / reject / approvals / rollback / card` in local mode."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from werft.cli.main import app
from werft.config import load_settings
from werft.governance.actor import acting_as
from werft.services import Services, build_services

from .conftest import MODEL, Release

runner = CliRunner()


def _invoke(*args: str, user: str = "dev") -> tuple[int, str, str]:
    with acting_as(user):
        result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "cli-home"
    monkeypatch.setenv("WERFT_HOME", str(home))
    return home


@pytest.fixture
def local(home: Path) -> Iterator[Release]:
    """Versions and the use case in the store the CLI's local backend opens."""
    built: Services = build_services(load_settings(home=home).settings)
    yield Release(built)
    built.close()


def test_help_lists_the_commands() -> None:
    _, out, _ = _invoke("--help")
    for command in ("promote", "approve", "reject", "approvals", "rollback", "card"):
        assert command in out


def test_promote_approve_and_show(local: Release) -> None:
    local.use_case()
    version = local.version()
    code, out, _ = _invoke("promote", MODEL, str(version), "--to", "staging")
    assert code == 0 and out.strip() == f"moved {MODEL}@staging -> version {version}"
    code, out, _ = _invoke("promote", MODEL, str(version), "--to", "production", "--reason", "AUC")
    assert code == 0 and out.strip() == "approval request #1 created; approvers: anna, ops-lead"
    code, out, _ = _invoke("promote", MODEL, str(version), "--to", "production")
    assert code == 0 and "#1 is already pending" in out
    code, _, err = _invoke("approve", "1", "--comment", "mine")
    assert code == 6 and "four-eyes" in err and err.startswith("error: ")
    code, _, err = _invoke("approve", "1", user="bob")
    assert code == 6 and "anna, ops-lead" in err
    code, out, _ = _invoke("approve", "1", "--comment", "checked the slices", user="anna")
    assert code == 0 and out.strip() == f"approved request #1: {MODEL}@production -> version 1"
    code, out, _ = _invoke("approvals", "show", "1", "--json")
    shown = json.loads(out)
    assert code == 0 and shown["decided_by"] == "anna" and shown["comment"] == "checked the slices"
    code, out, _ = _invoke("approvals", "show", "1")
    assert code == 0 and "checked the slices" in out
    code, _, err = _invoke("approve", "1", user="ops-lead")
    assert code == 4 and "already approved" in err
    code, _, err = _invoke("approvals", "show", "42")
    assert code == 3 and "#42 not found" in err


def test_reject_cancel_and_list(local: Release) -> None:
    local.use_case()
    first, second = local.version(), local.version()
    for version in (first, second):
        assert _invoke("promote", MODEL, str(version), "--to", "production")[0] == 0
    code, _, err = _invoke("reject", "1", "--comment", " ", user="anna")
    assert code == 5 and "comment" in err
    code, out, _ = _invoke("reject", "1", "--comment", "recall too low", user="anna")
    assert code == 0 and out.startswith("rejected request #1")
    code, out, _ = _invoke("approvals", "cancel", "2")
    assert code == 0 and out.strip() == "cancelled request #2"
    code, out, _ = _invoke("approvals", "list", "--json")
    assert code == 0 and [(a["id"], a["status"]) for a in json.loads(out)] == [
        (2, "cancelled"),
        (1, "rejected"),
    ]
    code, out, _ = _invoke("approvals", "list", "--status", "pending", "--json")
    assert code == 0 and json.loads(out) == []
    code, out, _ = _invoke("approvals", "list")
    assert code == 0 and "rejected" in out and "cancelled" in out


def test_gate_override_and_rollback(local: Release) -> None:
    first = local.version()
    second = local.version(gate=False)
    assert _invoke("promote", MODEL, str(first), "--to", "production")[0] == 0
    code, _, err = _invoke("promote", MODEL, str(second), "--to", "production")
    assert code == 4 and "werft check" in err
    code, _, err = _invoke(
        "promote", MODEL, str(second), "--to", "production", "--override-reason", ""
    )
    assert code == 5 and "an override needs a written reason" in err
    code, out, err = _invoke(
        "promote", MODEL, str(second), "--to", "production", "--override-reason", "hotfix"
    )
    assert code == 0 and "gate overridden" in err
    assert out.strip() == f"moved {MODEL}@production -> version {second} (was version {first})"
    code, out, _ = _invoke("rollback", MODEL, "--alias", "production")
    assert code == 0 and out.strip() == f"rolled back {MODEL}@production -> version {first}"
    code, _, err = _invoke("rollback", MODEL, "--alias", "production")
    assert code == 4 and "no previous version" in err


def test_card_to_stdout_and_files(local: Release, tmp_path: Path) -> None:
    local.use_case(risk_class="high")
    version = local.version()
    code, out, _ = _invoke("card", MODEL, str(version))
    assert code == 0 and out.startswith(f"# Technical documentation: {MODEL} version {version}")
    target = tmp_path / "card.html"
    code, out, _ = _invoke("card", MODEL, str(version), "--out", str(target))
    assert code == 0 and "8 Annex IV sections still need human input" in out
    assert target.read_text().startswith("<!doctype html>")
    markdown = tmp_path / "card.md"
    assert _invoke("card", MODEL, str(version), "--format", "md", "--out", str(markdown))[0] == 0
    assert markdown.read_text().startswith("# Technical documentation")
    code, _, err = _invoke("card", MODEL, str(version), "--format", "pdf")
    assert code == 5 and "md or html" in err
    assert _invoke("card", MODEL, "9")[0] == 3
