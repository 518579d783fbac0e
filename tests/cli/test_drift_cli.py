"""`werft drift`: the table, JSON, the report file, options and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from werft.cli.main import app

runner = CliRunner()


@pytest.fixture
def tables(tmp_path: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(3)
    rows = 2000
    ref = pd.DataFrame(
        {
            "age": rng.normal(40, 10, rows),
            "fee": rng.normal(50, 5, rows),
            "plan": rng.choice(["basic", "pro"], rows, p=[0.7, 0.3]),
            "code": rng.integers(0, 20, rows),
        }
    )
    cur = ref.assign(age=rng.normal(46, 10, rows), plan=rng.choice(["basic", "pro"], rows))
    ref.to_parquet(tmp_path / "ref.parquet")
    cur.to_csv(tmp_path / "cur.csv", index=False)
    return tmp_path / "ref.parquet", tmp_path / "cur.csv"


def _invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["drift", *args])
    return result.exit_code, result.stdout, result.stderr


def test_prints_a_table_and_the_verdict_and_exits_0(tables: tuple[Path, Path]) -> None:
    code, out, _ = _invoke(*map(str, tables))
    assert code == 0
    lines = {line.split("│")[1].strip(): line for line in out.splitlines() if line.count("│") > 2}
    assert "wasserstein" in lines["age"] and "DRIFT" in lines["age"]
    assert "ok" in lines["fee"] and "jensenshannon" in lines["plan"]
    assert "dataset drift: 2 of 4 features drifted (50%), threshold 50%" in out


def test_json_options_and_report_file(tables: tuple[Path, Path], tmp_path: Path) -> None:
    out_file = tmp_path / "report.json"
    code, out, _ = _invoke(
        *map(str, tables),
        "--columns", "age,fee,code",
        "--method", "fee=psi",
        "--threshold", "age=0.9",
        "--categorical", "code",
        "--share", "0.9",
        "--json",
        "--out", str(out_file),
    )  # fmt: skip
    assert code == 0
    report = json.loads(out)
    assert json.loads(out_file.read_text()) == report
    assert list(report["features"]) == ["age", "fee", "code"]
    age, fee, code_ = (report["features"][name] for name in ("age", "fee", "code"))
    assert age["threshold"] == 0.9 and not age["drifted"] and age["reason"].endswith("< 0.9")
    assert fee["method"] == "psi"
    assert code_["kind"] == "categorical" and code_["statistic"] == pytest.approx(0.0, abs=1e-12)
    assert report["share_threshold"] == 0.9 and not report["dataset_drift"]


def test_fail_on_drift_exits_1_only_on_dataset_drift(tables: tuple[Path, Path]) -> None:
    assert _invoke(*map(str, tables), "--fail-on-drift")[0] == 1
    assert _invoke(*map(str, tables), "--fail-on-drift", "--share", "0.75")[0] == 0


@pytest.mark.parametrize(
    ("args", "exit_code", "message"),
    [
        (["--columns", "age,nope"], 5, "column 'nope' is not in the reference data"),
        (["--method", "age"], 5, "--method takes FEATURE=VALUE, got 'age'"),
        (["--method", "plan=ks"], 5, "method 'ks' needs a numeric feature"),
        (["--threshold", "age=high"], 5, "'high' is not a number"),
    ],
)
def test_errors_have_messages_and_exit_codes(
    tables: tuple[Path, Path], args: list[str], exit_code: int, message: str
) -> None:
    code, _, err = _invoke(*map(str, tables), *args)
    assert code == exit_code and err.startswith("error: ") and message in err


def test_a_missing_file_exits_3(tables: tuple[Path, Path], tmp_path: Path) -> None:
    code, _, err = _invoke(str(tables[0]), str(tmp_path / "none.parquet"))
    assert code == 3 and "no such file" in err
