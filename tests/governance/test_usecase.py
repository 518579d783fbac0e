"""werft.yaml: the schema, errors with line and column, init/validate, and syncing it."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from werft.cli import usecase as usecase_cli
from werft.cli.main import app
from werft.errors import ConflictError, InvalidInputError, NotFoundError
from werft.governance.actor import acting_as
from werft.governance.audit import AuditLog
from werft.governance.usecases import (
    UseCase,
    UseCaseInvalid,
    load_use_case,
    parse_use_case,
)
from werft.governance.usecases.document import file_digest
from werft.governance.usecases.service import UseCaseService
from werft.governance.usecases.template import render
from werft.sdk.backend import Backend
from werft.services import Services

runner = CliRunner()

ISSUE_EXAMPLE = """\
use_case:
  key: churn                      # the project key
  name: Churn prediction for contract customers
  business_goal: Reduce contract cancellations by reaching at-risk customers early
  owner: sales-analytics
  risk_class: limited          # minimal | limited | high (EU AI Act)
  intended_use: Call lists for the retention team; not for pricing
  kpis: [{name: retained_customers, unit: count, direction: up}]
  acceptance:                  # what a model must reach before production
    - {metric: roc_auc, op: ">=", value: 0.85}
    - {metric: recall, op: ">=", value: 0.70}
  regression_tolerance: {roc_auc: 0.01}
  data_checks: {max_null_rate: 0.05, drift_share_max: 0.3}
  approvers: [anna, ops-lead]
  policy: {production: approval, staging: automatic}
  target: churned
"""


def _problems(text: str) -> list[str]:
    with pytest.raises(UseCaseInvalid) as caught:
        parse_use_case(text)
    return [str(problem) for problem in caught.value.problems]


def _with(old: str, new: str) -> str:
    assert old in ISSUE_EXAMPLE
    return ISSUE_EXAMPLE.replace(old, new)


# --- the schema --------------------------------------------------------------------------


def test_the_issue_example_is_valid_and_keeps_the_file_keys() -> None:
    spec = parse_use_case(ISSUE_EXAMPLE)
    assert spec.key == "churn" and spec.risk_class == "limited"
    assert [str(rule) for rule in spec.acceptance] == ["roc_auc >= 0.85", "recall >= 0.7"]
    assert spec.acceptance[0].holds(0.85) and not spec.acceptance[0].holds(0.849)
    data = spec.model_dump(mode="json")
    assert data["policy"] == {"production": "approval", "staging": "automatic"}
    assert data["approvers"] == ["anna", "ops-lead"]
    assert data["regression_tolerance"] == {"roc_auc": 0.01}
    assert data["kpis"] == [{"name": "retained_customers", "unit": "count", "direction": "up"}]
    assert data["data_checks"]["max_null_rate"] == 0.05
    assert data["target"] == "churned"
    assert UseCase.model_validate(data) == spec


def test_a_wrong_operator_is_named_with_line_and_column() -> None:
    text = _with('{metric: recall, op: ">="', '{metric: recall, op: "=>"')
    assert _problems(text) == [
        "werft.yaml:11:28: use_case.acceptance[1].op: expected one of >=, >, <=, <, ==; got '=>'"
    ]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "  owner: sales-analytics\n",
            "",
            "werft.yaml:2:3: use_case.owner: required field is missing",
        ),
        (
            "  approvers: [anna",
            "  aproovers: [anna",
            "werft.yaml:14:3: use_case.aproovers: unknown field; expected one of key, name, "
            "business_goal, owner, risk_class, intended_use, kpis, acceptance, "
            "regression_tolerance, data_checks, approvers, policy, notify, target, "
            "positive_class, latency_budget_ms",
        ),
        (
            "risk_class: limited ",
            "risk_class: medium  ",
            "werft.yaml:6:15: use_case.risk_class: expected one of minimal, limited, high; "
            "got 'medium'",
        ),
        (
            "max_null_rate: 0.05",
            "max_null_rate: 1.5",
            "werft.yaml:13:32: use_case.data_checks.max_null_rate: expected a number <= 1.0; "
            "got 1.5",
        ),
        (
            "value: 0.85}",
            "value: high}",
            "werft.yaml:10:42: use_case.acceptance[0].value: expected a number; got 'high'",
        ),
        (
            "{roc_auc: 0.01}",
            "{auc: 0.01}",
            "werft.yaml:12:26: use_case.regression_tolerance.auc: expected one of accuracy, "
            "precision, recall, f1, roc_auc, mae, rmse, r2; got 'auc'",
        ),
        (
            "key: churn ",
            "key: Churn ",
            "werft.yaml:2:8: use_case.key: project key 'Churn' is invalid: use 1-100 lower-case "
            "letters, digits, '_' or '-', starting with a letter or digit (e.g. 'churn')",
        ),
        (
            "  approvers: [anna, ops-lead]\n",
            "",
            "werft.yaml:2:3: use_case.approvers: policy production needs approval, so list "
            "at least one approver",
        ),
        (
            "approvers: [anna, ops-lead]",
            "approvers: [anna, anna]",
            "werft.yaml:14:14: use_case.approvers: approvers are listed twice: ['anna']",
        ),
        (
            "staging: automatic",
            "staging: whenever",
            "werft.yaml:15:43: use_case.policy.staging: expected one of automatic, approval; "
            "got 'whenever'",
        ),
        (
            "kpis: [{name: retained_customers, unit: count, direction: up}]",
            "kpis: {name: retained_customers}",
            "werft.yaml:8:9: use_case.kpis: expected a list, e.g. [a, b] or lines starting "
            "with '- '; got a mapping",
        ),
        (
            "owner: sales-analytics",
            "owner: 42",
            "werft.yaml:5:10: use_case.owner: expected text (quote it if it looks like a "
            "number or true/false); got 42",
        ),
    ],
)
def test_malformed_fields_are_named_with_their_line(old: str, new: str, expected: str) -> None:
    assert _problems(_with(old, new)) == [expected]


def test_every_problem_is_reported_in_file_order() -> None:
    text = _with("risk_class: limited ", "risk_class: medium  ")
    text = text.replace('op: ">=", value: 0.70', 'op: "=>", value: 0.70')
    text = text.replace("drift_share_max: 0.3", "drift_share_max: -1")
    found = _problems(text)
    assert [line.split(": ")[0] for line in found] == [
        "werft.yaml:6:15",
        "werft.yaml:11:28",
        "werft.yaml:13:55",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "use_case:\n  key: churn\n   name: x\n",
            "werft.yaml:3:8: invalid YAML: mapping values are not allowed here",
        ),
        (
            "use_case:\n  key: [churn\n",
            "werft.yaml:3:1: invalid YAML: while parsing a flow sequence expected ',' or ']', "
            "but got '<stream end>'",
        ),
        (
            "",
            "werft.yaml:1:1: the file is empty; expected a 'use_case:' section (`werft init` "
            "writes one)",
        ),
        ("- a\n- b\n", "werft.yaml:1:1: expected a mapping of fields; got a list"),
        ("project:\n  key: churn\n", "werft.yaml:1:1: use_case: required field is missing"),
    ],
)
def test_files_that_are_no_use_case_say_where(text: str, expected: str) -> None:
    assert _problems(text)[0] == expected


def test_a_duplicate_key_is_refused_with_both_lines() -> None:
    text = ISSUE_EXAMPLE + "  owner: someone-else\n"
    assert _problems(text) == [
        "werft.yaml:17:3: key 'owner' appears twice (first on line 5); keep one"
    ]


def test_load_use_case_reads_a_file_and_hashes_it(tmp_path: Path) -> None:
    path = tmp_path / "werft.yaml"
    path.write_text(ISSUE_EXAMPLE)
    loaded = load_use_case(path)
    assert loaded.use_case.key == "churn"
    assert loaded.digest == file_digest(ISSUE_EXAMPLE.encode())
    with pytest.raises(NotFoundError, match="werft init"):
        load_use_case(tmp_path / "missing.yaml")
    path.write_text(ISSUE_EXAMPLE.replace("limited", "medium"))
    with pytest.raises(UseCaseInvalid, match=f"^{path}:6:15: use_case.risk_class"):
        load_use_case(path)


def test_the_template_is_valid_whatever_the_values() -> None:
    text = render(
        key="churn",
        name="Churn: who leaves # and why",
        goal="yes",
        owner="42",
        risk_class="high",
        approvers=["anna", "o'brien", "true"],
    )
    spec = parse_use_case(text)
    assert spec.name == "Churn: who leaves # and why" and spec.business_goal == "yes"
    assert spec.owner == "42" and spec.approvers == ["anna", "o'brien", "true"]
    with pytest.raises(UseCaseInvalid, match=r"use_case\.key"):
        render(key="Churn", name="x", goal="x", owner="x", risk_class="high", approvers=["a"])


# --- syncing ------------------------------------------------------------------------------


def test_sync_stores_the_use_case_creates_the_project_and_is_audited(services: Services) -> None:
    use_cases = UseCaseService(services.db)
    spec = parse_use_case(ISSUE_EXAMPLE)
    digest = file_digest(ISSUE_EXAMPLE.encode())
    with acting_as("anna"):
        first = use_cases.sync(spec, digest)
    assert first.created and first.stored and first.project_created
    assert first.use_case.digest == digest and first.use_case.updated_by == "anna"
    assert use_cases.get("churn") == spec
    project = services.projects.get("churn")
    assert (project.name, project.description) == (spec.name, spec.business_goal)
    events = AuditLog(services.db).list_events(action="use_case.synced")
    assert len(events) == 1 and events[0].actor == "anna" and events[0].project == "churn"
    assert events[0].payload["digest"] == digest and events[0].payload["created"] is True
    assert events[0].payload["changed"]["approvers"] == {"from": None, "to": ["anna", "ops-lead"]}

    again = use_cases.sync(spec, digest)
    assert not again.stored and not again.created and again.changed == []
    assert len(AuditLog(services.db).list_events(action="use_case.synced")) == 1

    changed = spec.model_copy(update={"approvers": ["anna", "ben"], "risk_class": "high"})
    text = ISSUE_EXAMPLE.replace("ops-lead", "ben").replace("limited ", "high    ")
    update = use_cases.sync(changed, file_digest(text.encode()))
    assert update.stored and not update.created and not update.project_created
    assert update.changed == ["risk_class", "approvers"]
    last = AuditLog(services.db).list_events(action="use_case.synced")[-1]
    assert last.payload["previous_digest"] == digest
    assert last.payload["changed"] == {
        "risk_class": {"from": "limited", "to": "high"},
        "approvers": {"from": ["anna", "ops-lead"], "to": ["anna", "ben"]},
    }
    assert use_cases.get("churn").approvers == ["anna", "ben"]


def test_get_names_what_is_missing(services: Services) -> None:
    use_cases = UseCaseService(services.db)
    with pytest.raises(NotFoundError, match="project 'churn' not found"):
        use_cases.get("churn")
    services.projects.create("churn")
    with pytest.raises(NotFoundError, match=r"has no use case.*werft validate --sync"):
        use_cases.get("churn")
    assert use_cases.find("churn") is None


def test_sync_refuses_a_deleted_project_and_a_bad_digest(services: Services) -> None:
    use_cases = UseCaseService(services.db)
    spec = parse_use_case(ISSUE_EXAMPLE)
    with pytest.raises(InvalidInputError, match="sha256:<64 hex digits>"):
        use_cases.sync(spec, "md5:abc")
    services.projects.create("churn")
    services.projects.delete("churn")
    with pytest.raises(ConflictError, match="restore it"):
        use_cases.sync(spec)


def test_sync_and_get_through_both_backends(backend: Backend) -> None:
    spec = parse_use_case(ISSUE_EXAMPLE)
    digest = file_digest(ISSUE_EXAMPLE.encode())
    result = backend.sync_use_case(spec, digest=digest)
    assert result.created and result.use_case.spec == spec
    stored = backend.get_use_case("churn")
    assert stored == result.use_case and stored.digest == digest
    assert not backend.sync_use_case(spec, digest=digest).stored
    without_file = backend.sync_use_case(spec.model_copy(update={"owner": "ops"}))
    assert without_file.changed == ["owner"] and without_file.use_case.digest.startswith("sha256:")
    with pytest.raises(NotFoundError, match="'fraud'"):
        backend.get_use_case("fraud")


def test_the_api_checks_the_body(api: httpx.Client) -> None:
    body = parse_use_case(ISSUE_EXAMPLE).model_dump(mode="json")
    answer = api.put("/projects/fraud/use-case", json=body)
    assert answer.status_code == 400
    assert "for project 'churn', but was sent to project 'fraud'" in answer.json()["detail"]
    answer = api.put("/projects/churn/use-case", json={**body, "risk_class": "medium"})
    assert answer.status_code == 422 and "risk_class" in answer.json()["detail"]
    answer = api.put("/projects/churn/use-case", params={"digest": "nope"}, json=body)
    assert answer.status_code == 422
    assert api.put("/projects/churn/use-case", json=body).status_code == 200
    assert api.get("/projects/churn/use-case").json()["spec"]["approvers"] == ["anna", "ops-lead"]


# --- the CLI ------------------------------------------------------------------------------


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WERFT_HOME", str(tmp_path / "home"))
    return tmp_path


INIT = [
    "init",
    "--key",
    "churn",
    "--name",
    "Churn prediction",
    "--goal",
    "Reduce cancellations",
    "--owner",
    "sales-analytics",
    "--risk-class",
    "limited",
    "--approver",
    "anna",
]


def test_init_writes_a_valid_file_and_refuses_to_overwrite_it(folder: Path) -> None:
    result = runner.invoke(app, INIT)
    assert result.exit_code == 0, result.stderr
    spec = load_use_case(folder / "werft.yaml").use_case
    assert (spec.key, spec.name, spec.owner, spec.approvers) == (
        "churn",
        "Churn prediction",
        "sales-analytics",
        ["anna"],
    )
    again = runner.invoke(app, INIT)
    assert again.exit_code == 4 and "pass --force" in again.stderr
    forced = runner.invoke(app, [*INIT[:2], "fraud", *INIT[3:], "--force"])
    assert forced.exit_code == 0
    assert load_use_case(folder / "werft.yaml").use_case.key == "fraud"


def test_init_without_a_terminal_needs_the_flags(folder: Path) -> None:
    result = runner.invoke(app, ["init", "--key", "churn"])
    assert result.exit_code == 5
    assert "needs --goal, --owner, --risk-class" in result.stderr
    assert not (folder / "werft.yaml").exists()
    bad = runner.invoke(app, [*INIT[:-4], "--risk-class", "extreme"])
    assert bad.exit_code == 5 and "'extreme' is not one of minimal, limited, high" in bad.stderr


def test_init_asks_for_what_is_missing(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(usecase_cli, "_interactive", lambda: True)
    answers = "churn\nChurn prediction\nKeep customers\nsales\nhigh\nanna, ben\n"
    result = runner.invoke(app, ["init"], input=answers)
    assert result.exit_code == 0, result.stdout + result.stderr
    spec = load_use_case(folder / "werft.yaml").use_case
    assert (spec.key, spec.business_goal, spec.owner, spec.risk_class) == (
        "churn",
        "Keep customers",
        "sales",
        "high",
    )
    assert spec.approvers == ["anna", "ben"]


def test_validate_exits_0_or_5_with_every_problem(folder: Path) -> None:
    (folder / "werft.yaml").write_text(ISSUE_EXAMPLE)
    ok = runner.invoke(app, ["validate"])
    assert ok.exit_code == 0 and "valid use case 'churn'" in ok.stdout
    broken = folder / "broken.yaml"
    broken.write_text(
        ISSUE_EXAMPLE.replace('op: ">=", value: 0.70', 'op: "=>", value: 0.70').replace(
            "limited ", "medium  "
        )
    )
    bad = runner.invoke(app, ["validate", str(broken)])
    assert bad.exit_code == 5
    lines = bad.stderr.splitlines()
    assert lines[0].startswith(f"{broken}:6:15: use_case.risk_class: expected one of")
    assert lines[1].startswith(f"{broken}:11:28: use_case.acceptance[1].op: expected one of")
    assert lines[2] == f"error: {broken} is not a valid use case (2 problems)"
    missing = runner.invoke(app, ["validate", "nope.yaml"])
    assert missing.exit_code == 3 and "werft init" in missing.stderr


def test_validate_sync_stores_it_for_the_project(folder: Path) -> None:
    (folder / "werft.yaml").write_text(ISSUE_EXAMPLE)
    first = runner.invoke(app, ["validate", "--sync"])
    assert first.exit_code == 0, first.stderr
    assert "stored the use case of churn (project created)" in first.stdout
    again = runner.invoke(app, ["usecase", "sync"])
    assert again.exit_code == 0 and "is up to date" in again.stdout
    (folder / "werft.yaml").write_text(ISSUE_EXAMPLE.replace("0.85", "0.9"))
    changed = runner.invoke(app, ["validate", "--sync"])
    assert "updated the use case of churn: acceptance" in changed.stdout
    shown = runner.invoke(app, ["usecase", "show", "churn", "--json"])
    assert json.loads(shown.stdout)["spec"]["acceptance"][0]["value"] == 0.9
    table = runner.invoke(app, ["usecase", "show", "churn"])
    assert "roc_auc >= 0.9" in table.stdout and "production: approval" in table.stdout
