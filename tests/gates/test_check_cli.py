"""`werft check` and `werft ci gitlab` from the command line: exit codes, JUnit XML, JSON."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from junitparser import Failure, JUnitXml, Skipped
from typer.testing import CliRunner

import werft
from werft.cli.gates import parse_milliseconds
from werft.cli.main import app
from werft.errors import InvalidInputError

from .conftest import FEATURES, MODEL, USE_CASE, classifier, customers

runner = CliRunner()


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A local werft home with version 1 of MODEL, and a folder with werft.yaml and holdouts."""
    home = tmp_path / "home"
    monkeypatch.setenv("WERFT_HOME", str(home))
    werft.configure(home=home)
    training = customers(600, seed=1)
    with werft.start_run(project="churn"):
        werft.log_dataset(training, name="customers", context="training")
        werft.log_model(
            classifier(training), input_example=training[FEATURES].head(20), register=MODEL
        )
    werft.configure()
    folder = tmp_path / "repo"
    folder.mkdir()
    (folder / "werft.yaml").write_text(USE_CASE)
    holdout = customers(400, seed=2)
    holdout.to_parquet(folder / "holdout.parquet")
    holdout.assign(monthly_fee=np.nan).to_parquet(folder / "broken.parquet")
    return folder


def _check(folder: Path, data: str, *extra: str) -> tuple[int, str, str]:
    result = runner.invoke(
        app,
        [
            "check",
            MODEL,
            "1",
            "--data",
            str(folder / data),
            "--use-case",
            str(folder / "werft.yaml"),
            "--junit",
            str(folder / "report.xml"),
            "--json",
            str(folder / "report.json"),
            *extra,
        ],
    )
    return result.exit_code, result.stdout, result.stderr


def test_a_passing_check_exits_0_with_a_junit_report(project: Path) -> None:
    code, out, err = _check(project, "holdout.parquet")
    assert code == 0, out + err
    assert "gate passed" in out and "churn-classifier version 1 is validated" in out
    assert "model.acceptance.roc_auc" in out
    suites = list(JUnitXml.fromfile(str(project / "report.xml")))
    assert len(suites) == 1
    suite = suites[0]
    cases = {case.name: case for case in suite}
    assert "data.drift" in cases and "model.acceptance.roc_auc" in cases
    assert suite.failures == 0 and suite.errors == 0
    assert suite.tests == len(cases)
    assert suite.skipped == sum(
        1 for case in cases.values() if any(isinstance(r, Skipped) for r in case.result)
    )
    assert cases["data.null_rate"].classname == "werft.check.data"
    assert cases["model.acceptance.roc_auc"].is_passed
    assert any(isinstance(r, Skipped) for r in cases["model.regression"].result)
    properties = {p.name: p.value for p in suite.properties()}
    assert properties["model"] == MODEL and properties["passed"] == "true"
    report = json.loads((project / "report.json").read_text())
    assert report["passed"] is True and report["version_status"] == "validated"
    assert {check["name"] for check in report["checks"]} == set(cases)


def test_a_failing_check_exits_1_and_the_junit_report_names_the_failures(project: Path) -> None:
    code, out, _ = _check(project, "broken.parquet")
    assert code == 1
    assert "gate failed" in out and "data.null_rate" in out
    suite = next(iter(JUnitXml.fromfile(str(project / "report.xml"))))
    failed = {
        case.name: next(r for r in case.result if isinstance(r, Failure))
        for case in suite
        if not case.is_passed and not case.is_skipped
    }
    assert "data.null_rate" in failed
    assert suite.failures == len(failed)
    assert "monthly_fee 100.0%" in (failed["data.null_rate"].message or "")
    assert "value: 1.0" in (failed["data.null_rate"].text or "")
    listed = runner.invoke(app, ["models", "versions", MODEL, "--json"])
    assert json.loads(listed.stdout)[0]["status"] == "candidate"


def test_invalid_input_exits_5(project: Path) -> None:
    code, _, err = _check(project, "holdout.parquet", "--label", "nope")
    assert code == 5 and "no label column 'nope'" in err
    code, _, err = _check(project, "holdout.parquet", "--latency-budget", "fast")
    assert code == 5 and "latency budget 'fast'" in err
    (project / "werft.yaml").write_text(USE_CASE.replace("limited", "medium"))
    code, _, err = _check(project, "holdout.parquet")
    assert code == 5 and "use_case.risk_class: expected one of minimal, limited, high" in err
    assert not (project / "report.xml").exists()


def test_latency_budget_option(project: Path) -> None:
    code, out, _ = _check(project, "holdout.parquet", "--latency-budget", "10s", "--sample", "5")
    assert code == 0 and "model.latency" in out
    report = json.loads((project / "report.json").read_text())
    latency = next(c for c in report["checks"] if c["name"] == "model.latency")
    assert latency["threshold"] == 10_000 and latency["passed"]


@pytest.mark.parametrize(
    ("text", "ms"), [("50ms", 50.0), ("50", 50.0), ("0.2s", 200.0), (" 1.5 ms ", 1.5)]
)
def test_parse_milliseconds(text: str, ms: float) -> None:
    assert parse_milliseconds(text) == ms


@pytest.mark.parametrize("text", ["", "fast", "-5ms", "0", "5 minutes"])
def test_parse_milliseconds_refuses(text: str) -> None:
    with pytest.raises(InvalidInputError):
        parse_milliseconds(text)


def test_ci_gitlab_writes_a_pipeline_that_trains_checks_and_promotes(tmp_path: Path) -> None:
    out = tmp_path / ".gitlab-ci.yml"
    args = ["ci", "gitlab", "--model", MODEL, "--out", str(out), "--train", "make train"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    pipeline = yaml.safe_load(out.read_text())
    check, promote = pipeline["werft-check"], pipeline["werft-promote"]
    assert pipeline["variables"]["WERFT_MODEL"] == MODEL
    script = "\n".join(check["script"])
    assert "make train" in script and "werft validate werft.yaml" in script
    assert "--data holdout.parquet" in script and "--junit werft-check.xml" in script
    assert check["artifacts"]["reports"]["junit"] == "werft-check.xml"
    assert check["artifacts"]["when"] == "always"
    assert promote["needs"] == ["werft-check"]
    assert promote["script"][-1] == 'werft promote "$WERFT_MODEL" "$WERFT_VERSION" --to production'
    assert "$CI_DEFAULT_BRANCH" in promote["rules"][0]["if"]
    again = runner.invoke(app, args)
    assert again.exit_code == 4 and "--force" in again.stderr
    assert runner.invoke(app, [*args, "--force"]).exit_code == 0
    printed = runner.invoke(app, ["ci", "gitlab", "--model", MODEL, "--out", "-"])
    assert yaml.safe_load(printed.stdout)["werft-check"]["stage"] == "train"
