"""Serving: werft serve vs `mlflow models serve` vs a bare Starlette floor, one pipeline.

Load comes from wrk (Debian package `wrk`) in its own process with one thread:
on 2 cores the server under test gets one core and wrk the other. werft runs
with input validation and prediction logging on (they cannot be turned off).

    python benchmarks/bench_serving.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import skops.io as sio
from bench_tracking import (
    VENV_PYTHON,
    Server,
    clean_env,
    free_port,
    machine_info,
    progress,
    werft_tree,
)
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import werft
from werft.quickstart import make_customers

HERE = Path(__file__).resolve().parent
RESULTS_PATH = HERE / "results" / "serving.json"
ROW = {"tenure": 12, "plan": "pro", "monthly_fee": 49.0, "tickets": 1}
CONCURRENCY = (1, 8, 32)

MLFLOW_SAVE = """
import sys, skops.io as sio, mlflow.sklearn
pipe = sio.load(sys.argv[1], trusted=sio.get_untrusted_types(file=sys.argv[1]))
mlflow.sklearn.save_model(pipe, sys.argv[2], serialization_format="cloudpickle")
"""


def train() -> Pipeline:
    data = make_customers(5000)
    prep = ColumnTransformer(
        [
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["plan"]),
            ("num", StandardScaler(), ["tenure", "monthly_fee", "tickets"]),
        ]
    )
    return Pipeline([("prep", prep), ("clf", LogisticRegression())]).fit(
        data.drop(columns="churn"), data["churn"]
    )


def register(pipe: Pipeline, home: Path) -> None:
    frame = make_customers(20).drop(columns="churn")
    werft.configure(home=home)
    with werft.start_run(project="bench"):
        info = werft.log_model(pipe, input_example=frame, register="churn")
    assert info.version is not None
    werft.set_alias("churn", "production", info.version.version)
    werft.configure()


def wrk(url: str, body: bytes, connections: int, seconds: float) -> dict[str, Any]:
    """req/s, p50, p99 (ms) and errors of one wrk run."""
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    script.write_text(
        'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
        f"wrk.body = {json.dumps(body.decode())}\n"
    )
    argv = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{seconds:g}s",
        "--latency",
        "-s",
        str(script),
        url,
    ]
    out = subprocess.run(
        argv, capture_output=True, text=True, timeout=seconds + 60, check=True
    ).stdout
    script.unlink()

    def latency(percent: str) -> float:
        match = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
        assert match, out
        scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]
        return float(match.group(1)) * scale

    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    errors += sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return {"rps": rate, "p50_ms": latency("50"), "p99_ms": latency("99"), "errors": errors}


def big_request(url: str, body: bytes, repeats: int) -> float:
    """Median latency (ms) of sequential 1,000-row requests."""
    with httpx.Client(timeout=60) as http:
        for _ in range(3):
            http.post(url, content=body, headers={"content-type": "application/json"})
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            response = http.post(url, content=body, headers={"content-type": "application/json"})
            times.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
    return statistics.median(times)


def measure(name: str, url: str, wrap: str, seconds: float) -> dict[str, Any]:
    single = orjson.dumps({wrap: [ROW]})
    rows = make_customers(1000, seed=1).drop(columns="churn").to_dict("records")
    result: dict[str, Any] = {}
    wrk(url, single, 8, 3)  # warm-up
    for connections in CONCURRENCY:
        result[f"c{connections}"] = wrk(url, single, connections, seconds)
        progress(f"{name} c={connections}: {result[f'c{connections}']}")
    result["rows_1000_ms"] = big_request(url, orjson.dumps({wrap: rows}), 30)
    return result


def servers(stack: ExitStack, tmp: Path, logs: Path, extra: list[str]) -> dict[str, Server]:
    pipe = train()
    home = tmp / "werft-home"
    register(pipe, home)
    skops_file = tmp / "pipe.skops"
    sio.dump(pipe, skops_file)
    found: dict[str, Server] = {}
    port = free_port()
    found["werft"] = stack.enter_context(
        Server(
            "werft serve",
            [
                sys.executable,
                "-m",
                "werft",
                "serve",
                "churn@production",
                "--port",
                str(port),
                *extra,
            ],
            env=clean_env(WERFT_HOME=str(home)),
            port=port,
            health_path="/readyz",
            log_path=logs / "werft-serve.log",
        )
    )
    port = free_port()
    found["floor"] = stack.enter_context(
        Server(
            "floor",
            [
                sys.executable,
                "-m",
                "uvicorn",
                "_floor_app:app",
                "--port",
                str(port),
                "--workers",
                "1",
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            env=clean_env(FLOOR_MODEL=str(skops_file), PYTHONPATH=str(HERE)),
            port=port,
            health_path="/health",
            log_path=logs / "floor.log",
        )
    )
    if VENV_PYTHON.exists():
        model = tmp / "mlflow-model"
        subprocess.run(
            [str(VENV_PYTHON), "-c", MLFLOW_SAVE, str(skops_file), str(model)],
            check=True,
            capture_output=True,
            timeout=300,
        )
        port = free_port()
        venv_bin = str(VENV_PYTHON.parent)
        found["mlflow"] = stack.enter_context(
            Server(
                "mlflow models serve",
                [
                    str(VENV_PYTHON.parent / "mlflow"),
                    "models",
                    "serve",
                    "-m",
                    str(model),
                    "-p",
                    str(port),
                    "--env-manager",
                    "local",
                    "-w",
                    "1",
                ],
                env=clean_env(
                    PATH=f"{venv_bin}:{clean_env()['PATH']}",
                    MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false",
                ),
                port=port,
                health_path="/ping",
                log_path=logs / "mlflow-serve.log",
            )
        )
    else:
        progress("no MLflow venv: run benchmarks/setup-peers.sh to compare with MLflow")
    return found


def verdicts(results: dict[str, Any]) -> list[tuple[str, float | None, float, bool | None]]:
    werft_r, floor, mlflow = results["werft"], results["floor"], results.get("mlflow")
    rows: list[tuple[str, float | None, float, bool | None]] = []
    for c in ("c8", "c32"):
        ratio = werft_r[c]["rps"] / mlflow[c]["rps"] if mlflow else None
        rows.append(
            (f"throughput vs MLflow, {c}", ratio, 4.0, None if ratio is None else ratio >= 4)
        )
        ratio = werft_r[c]["p99_ms"] / floor[c]["p99_ms"]
        rows.append((f"p99 vs floor, {c} (at most)", ratio, 2.0, ratio <= 2))
    ratio = werft_r["c32"]["rps"] / floor["c32"]["rps"]
    rows.append(("throughput vs floor, c32 (batching)", ratio, 1.5, ratio >= 1.5))
    ratio = werft_r["rows_1000_ms"] / floor["rows_1000_ms"]
    rows.append(("1,000-row latency vs floor (at most)", ratio, 1.2, ratio <= 1.2))
    return rows


def render(results: dict[str, Any]) -> str:
    lines = [
        "| server | concurrency | req/s | p50 ms | p99 ms | errors |",
        "|---|---|---|---|---|---|",
    ]
    for name in ("werft", "floor", "mlflow"):
        for c in CONCURRENCY:
            if name in results:
                r = results[name][f"c{c}"]
                lines.append(
                    f"| {name} | {c} | {r['rps']:.0f} | {r['p50_ms']:.1f} | "
                    f"{r['p99_ms']:.1f} | {r['errors']} |"
                )
    lines += ["", "| one 1,000-row request | median ms |", "|---|---|"]
    lines += [
        f"| {n} | {results[n]['rows_1000_ms']:.1f} |"
        for n in ("werft", "floor", "mlflow")
        if n in results
    ]
    lines += ["", "| target | measured | target | met |", "|---|---|---|---|"]
    for label, value, target, met in verdicts(results):
        shown = "-" if value is None else f"{value:.2f}x"
        lines.append(
            f"| {label} | {shown} | {target}x | {'-' if met is None else 'yes' if met else 'NO'} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="3 s per run instead of 10 s")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is missing: apt-get install wrk", file=sys.stderr)
        return 2
    seconds = 3.0 if args.quick else 10.0
    with tempfile.TemporaryDirectory(prefix="werft-bench-serving-") as folder, ExitStack() as stack:
        tmp = Path(folder)
        logs = tmp / "logs"
        logs.mkdir()
        found = servers(stack, tmp, logs, [])
        results: dict[str, Any] = {}
        for name, server in found.items():
            path, wrap = {
                "werft": ("/predict", "rows"),
                "floor": ("/predict", "rows"),
                "mlflow": ("/invocations", "dataframe_records"),
            }[name]
            results[name] = measure(name, server.url + path, wrap, seconds)
    header = (
        f"werft {werft.__version__} ({werft_tree()}) - {'quick' if args.quick else 'full'} "
        f"- {datetime.now(UTC).isoformat(timespec='seconds')} - {machine_info()}"
    )
    table = render(results)
    print(header + "\n" + table)
    RESULTS_PATH.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_PATH.write_text(json.dumps({"header": header, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
