"""The audit log through both backends and the CLI: list, verify, export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

import werft
from werft.cli.main import app
from werft.config import Settings
from werft.governance.actor import acting_as
from werft.sdk.backend import Backend
from werft.services import build_services

runner = CliRunner()


def test_audit_through_the_backend(backend: Backend) -> None:
    with acting_as("anna"):
        backend.create_project("churn")
        backend.create_project("fraud")
    events = backend.list_audit_events(action="project.created")
    # remote too: without auth the server records the name the client sends
    assert [(e.object_id, e.actor) for e in events] == [("churn", "anna"), ("fraud", "anna")]
    assert [e.object_id for e in backend.list_audit_events(project="fraud")] == ["fraud"]
    assert [e.id for e in backend.list_audit_events(after_id=1)] == [2]
    result = backend.verify_audit()
    assert result.ok and result.checked == 2


def test_cli_verify_export_and_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("WERFT_HOME", str(home))
    services = build_services(Settings(home=home))
    with acting_as("anna"):
        for key in ("a", "b", "c"):
            services.projects.create(key)

    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(app, list(args))
        return result.exit_code, result.stdout + result.stderr

    code, out = run("audit", "verify")
    assert code == 0 and "intact: 3 entries" in out, out
    code, out = run("audit", "list", "--json", "--actor", "anna")
    assert [e["object_id"] for e in json.loads(out)] == ["a", "b", "c"]
    target = tmp_path / "audit.jsonl"
    code, out = run("audit", "export", "--out", str(target))
    lines = [json.loads(line) for line in target.read_text().splitlines()]
    assert [e["id"] for e in lines] == [1, 2, 3] and lines[1]["prev_hash"] == lines[0]["hash"]
    with services.db.session() as session:
        session.execute(sa.text("UPDATE audit_events SET actor = 'mallory' WHERE id = 2"))
    services.close()
    code, out = run("audit", "verify")
    assert code == 1
    assert "entry 2" in out and "changed" in out
    werft.configure()
