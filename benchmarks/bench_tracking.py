#!/usr/bin/env python3
"""werft vs MLflow on this machine: import time, metric logging, run search.

Usage::

    bash benchmarks/setup-peers.sh          # once: MLflow into benchmarks/.venv-mlflow
    python benchmarks/bench_tracking.py     # full mode, the real figures (~10 minutes)
    python benchmarks/bench_tracking.py --quick   # smoke run with small sizes

Both tools run side by side, each against its own real server subprocess on
loopback.  werft runs in this interpreter; MLflow runs in its virtualenv
through ``_mlflow_worker.py`` (it is a peer, not a werft dependency).  One
table goes to stdout, progress to stderr, and every number (with each
repetition) to ``benchmarks/results/tracking.json``.  Without the MLflow venv
the script says how to create it and still measures werft.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import platform
import random
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

HERE = Path(__file__).resolve().parent
VENV_PYTHON = HERE / ".venv-mlflow" / "bin" / "python"
MLFLOW_WORKER = HERE / "_mlflow_worker.py"
RESULTS_PATH = HERE / "results" / "tracking.json"

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SEARCH_FILTER = "metrics.auc > 0.8 and params.depth = '3'"
SEARCH_ORDER_BY = "metrics.auc DESC"
SEARCH_MAX_RESULTS = 50
SEARCH_PROJECT = "bench-search"
SEED = 20_240_611

IMPORT_TARGET_S = 0.3
THROUGHPUT_TARGET_RATIO = 200.0
SEARCH_TARGET_S = 0.050


@dataclass(frozen=True)
class Mode:
    """Sizes and repetition counts of one benchmark mode."""

    name: str
    import_repeats: int
    points: int
    log_repeats: int
    mlflow_points: int
    mlflow_budget_s: float
    mlflow_log_repeats: int
    runs: int
    search_warmup: int
    search_repeats: int


FULL = Mode(
    name="full",
    import_repeats=7,
    points=100_000,
    log_repeats=5,
    mlflow_points=1_000,
    mlflow_budget_s=20.0,
    mlflow_log_repeats=3,
    runs=10_000,
    search_warmup=3,
    search_repeats=30,
)
QUICK = Mode(
    name="quick",
    import_repeats=7,
    points=10_000,
    log_repeats=2,
    mlflow_points=100,
    mlflow_budget_s=5.0,
    mlflow_log_repeats=1,
    runs=1_000,
    search_warmup=2,
    search_repeats=20,
)


def progress(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def summary(values: Sequence[float]) -> dict[str, Any]:
    """Median and spread of repeated measurements (all values kept for the JSON)."""
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return {
        "median": statistics.median(ordered),
        "min": ordered[0],
        "p90": p90,
        "max": ordered[-1],
        "n": len(ordered),
        "values": list(values),
    }


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without WERFT_* / MLFLOW_* settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WERFT_", "MLFLOW_"))}
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def last_json_line(text: str) -> Any:
    """The last line of ``text`` that parses as a JSON object (MLflow prints chatter too)."""
    for line in reversed(text.splitlines()):
        if line.startswith("{"):
            with contextlib.suppress(ValueError):
                return json.loads(line)
    raise RuntimeError(f"no JSON result in output:\n{text[-2000:]}")


# --- servers -------------------------------------------------------------------------


class Server:
    """A server subprocess in its own process group; stopped (group and all) on exit."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: dict[str, str],
        port: int,
        health_path: str,
        log_path: Path,
        start_timeout: float = 180.0,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = env
        self.url = f"http://127.0.0.1:{port}"
        self.health_url = self.url + health_path
        self.log_path = log_path
        self.start_timeout = start_timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self.start_seconds = 0.0

    def __enter__(self) -> Server:
        self._log = self.log_path.open("wb")
        start = time.perf_counter()
        self.proc = subprocess.Popen(
            self.argv,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise
        self.start_seconds = time.perf_counter() - start
        progress(f"{self.name} up at {self.url} in {self.start_seconds:.1f} s")
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def _wait_healthy(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.proc.returncode} before it was healthy:\n"
                    + self.log_tail()
                )
            try:
                with urllib.request.urlopen(self.health_url, timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        raise RuntimeError(
            f"{self.name} not healthy after {self.start_timeout:.0f} s:\n" + self.log_tail()
        )

    def stop(self) -> None:
        """SIGTERM to the server's process group, SIGKILL to whatever is left after 15 s."""
        proc, self.proc = self.proc, None
        if proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=15)
            # Workers (uvicorn, MLflow's job consumers) may outlive the parent.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None


def werft_server(name: str, home: Path, logs: Path, database_url: str | None = None) -> Server:
    port = free_port()
    env = clean_env(WERFT_HOME=str(home))
    if database_url:
        env["WERFT_DATABASE_URL"] = database_url
    argv = [sys.executable, "-m", "werft", "server", "--port", str(port)]
    argv += ["--log-level", "warning"]
    return Server(
        name,
        argv,
        env=env,
        port=port,
        health_path="/api/v1/health",
        log_path=logs / f"{name.replace(' ', '-')}.log",
    )


def mlflow_server(name: str, folder: Path, logs: Path, db_path: Path) -> Server:
    """``mlflow server`` on SQLite; one uvicorn worker like werft's, no access log, no jobs."""
    port = free_port()
    argv = [
        str(VENV_PYTHON),
        "-m",
        "mlflow",
        "server",
        "--backend-store-uri",
        f"sqlite:///{db_path}",
        "--default-artifact-root",
        str(folder / "artifacts"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--uvicorn-opts",
        "--log-level warning",
    ]
    # The job runner (huey consumers for GenAI jobs) adds 7 idle processes on 2 cores.
    env = clean_env(MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false")
    return Server(
        name,
        argv,
        env=env,
        port=port,
        health_path="/health",
        log_path=logs / f"{name.replace(' ', '-')}.log",
    )


def run_mlflow_worker(args: Sequence[str], timeout: float) -> Any:
    completed = subprocess.run(
        [str(VENV_PYTHON), str(MLFLOW_WORKER), *args],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(
            f"MLflow worker {args[0]} failed ({completed.returncode}):\n{completed.stderr[-3000:]}"
        )
    return last_json_line(completed.stdout)


# --- 1. import time ------------------------------------------------------------------


def measure_import(python: str, module: str, repeats: int, cwd: Path) -> dict[str, Any]:
    """Seconds to import ``module`` in fresh interpreters, timed inside them."""
    code = (
        "import time; t = time.perf_counter(); "
        f"import {module} as m; d = time.perf_counter() - t; "
        "print(d, getattr(m, '__version__', '?'))"
    )
    values, version = [], "?"
    for index in range(repeats + 1):  # the first one warms the page cache; not counted
        out = subprocess.run(
            [python, "-c", code],
            cwd=cwd,
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        ).stdout.split()
        version = out[1]
        if index:
            values.append(float(out[0]))
    return {**summary(values), "version": version}


# --- 2. metric logging ---------------------------------------------------------------


def werft_log_repetitions(project: str, points: int, repeats: int) -> dict[str, Any]:
    """``werft.log_metric`` in a plain loop; the clock stops when the ``with`` block exits."""
    import werft

    with werft.start_run(project=project, name="warm-up"):
        for i in range(1_000):
            werft.log_metric("loss", 1.0 / (i + 1), step=i)
    repetitions, run_id = [], ""
    for repetition in range(repeats):
        gc.collect()
        start = time.perf_counter()
        with werft.start_run(project=project, name=f"throughput-{repetition}") as run:
            loop_start = time.perf_counter()
            for i in range(points):
                werft.log_metric("loss", 1.0 / (i + 1), step=i)
            loop_end = time.perf_counter()
        end = time.perf_counter()
        run_id = run.id
        repetitions.append(
            {
                "seconds": end - start,
                "loop_seconds": loop_end - loop_start,
                "flush_seconds": end - loop_end,
                "points_per_s": points / (end - start),
            }
        )
    stored = len(werft.get_metric_history(run_id, "loss"))
    if stored != points:
        raise RuntimeError(f"werft stored {stored} of {points} points of run {run_id}")
    rates = [r["points_per_s"] for r in repetitions]
    return {
        "points": points,
        "points_per_s": summary(rates),
        "seconds": summary([r["seconds"] for r in repetitions]),
        "loop_seconds": summary([r["loop_seconds"] for r in repetitions]),
        "flush_seconds": summary([r["flush_seconds"] for r in repetitions]),
        "stored_check": stored,
    }


def bench_werft_logging(mode: Mode, tmp: Path, logs: Path) -> dict[str, Any]:
    import werft

    result: dict[str, Any] = {}
    with werft_server("werft server (logging)", tmp / "log-server", logs) as server:
        werft.configure(url=server.url, home=str(tmp / "log-client"))
        try:
            progress(f"werft remote: {mode.log_repeats} x {mode.points:,} points")
            result["remote"] = werft_log_repetitions("bench-log", mode.points, mode.log_repeats)
        finally:
            werft.configure(home=str(tmp / "log-local"))
    progress(f"werft local: {mode.log_repeats} x {mode.points:,} points")
    result["local"] = werft_log_repetitions("bench-log", mode.points, mode.log_repeats)
    werft.configure(home=str(tmp / "unused-home"))  # closes the local backend's engine
    return result


def bench_mlflow_logging(mode: Mode, tmp: Path, logs: Path) -> dict[str, Any]:
    folder = tmp / "mlflow-log"
    folder.mkdir()
    with mlflow_server("mlflow server (logging)", folder, logs, folder / "mlflow.db") as server:
        progress(
            f"mlflow remote: {mode.mlflow_log_repeats} x up to {mode.mlflow_points:,} points "
            f"or {mode.mlflow_budget_s:.0f} s"
        )
        args = ["log", "--url", server.url, "--points", str(mode.mlflow_points)]
        args += ["--budget", str(mode.mlflow_budget_s), "--repeats", str(mode.mlflow_log_repeats)]
        timeout = (mode.mlflow_budget_s + 60) * mode.mlflow_log_repeats + 120
        output = run_mlflow_worker(args, timeout=timeout)
    repetitions = output["repetitions"]
    for rep in repetitions:
        if rep["stored"] != rep["points"]:
            raise RuntimeError(f"MLflow stored {rep['stored']} of {rep['points']} points")
    return {
        "points": summary([r["points"] for r in repetitions]),
        "points_per_s": summary([r["points"] / r["seconds"] for r in repetitions]),
        "seconds": summary([r["seconds"] for r in repetitions]),
        "repetitions": repetitions,
    }


# --- 3. search -----------------------------------------------------------------------


def search_data(runs: int, seed: int = SEED) -> list[dict[str, Any]]:
    """The runs both tools store: 4 params (depth 1..5), 3 metrics (auc uniform in [0, 1))."""
    rng = random.Random(seed)
    base_ms = 1_700_000_000_000
    return [
        {
            "name": f"run-{i:05d}",
            "start_ms": base_ms + i * 60_000,
            "params": {
                "depth": str(rng.randint(1, 5)),
                "lr": rng.choice(["0.01", "0.03", "0.1", "0.3"]),
                "n_estimators": rng.choice(["100", "200", "500"]),
                "model": rng.choice(["gbm", "rf", "xgb"]),
            },
            "metrics": {"auc": rng.random(), "loss": rng.random(), "accuracy": rng.random()},
        }
        for i in range(runs)
    ]


def expected_answer(data: list[dict[str, Any]]) -> tuple[int, list[float]]:
    """How many runs match the filter, and the top aucs in order, computed in Python."""
    aucs = sorted(
        (
            r["metrics"]["auc"]
            for r in data
            if r["metrics"]["auc"] > 0.8 and r["params"]["depth"] == "3"
        ),
        reverse=True,
    )
    return len(aucs), aucs[:SEARCH_MAX_RESULTS]


def _times(item: dict[str, Any]) -> tuple[datetime, datetime]:
    start = datetime.fromtimestamp(item["start_ms"] / 1000, UTC)
    return start, start + timedelta(seconds=1)


def _bulk_rows(project_id: str, data: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The rows werft's API would write for ``data``: run, params, history and latest metrics."""
    rows: dict[str, list[dict[str, Any]]] = {"runs": [], "params": [], "metrics": []}
    for item in data:
        run_id = uuid.uuid4().hex
        start, end = _times(item)
        rows["runs"].append(
            {
                "id": run_id,
                "project_id": project_id,
                "name": item["name"],
                "status": "finished",
                "start_time": start,
                "end_time": end,
                "user": "bench",
                "source_file": None,
                "git_commit": None,
                "git_dirty": None,
                "environment": {},
                "deleted_at": None,
            }
        )
        rows["params"] += [
            {"run_id": run_id, "key": k, "value": v} for k, v in item["params"].items()
        ]
        rows["metrics"] += [
            {
                "run_id": run_id,
                "key": k,
                "value": v,
                "is_nan": False,
                "step": 0,
                "timestamp": item["start_ms"],
            }
            for k, v in item["metrics"].items()
        ]
    return rows


def _check_bulk_matches_api(services: Any, bulk_run_id: str, item: dict[str, Any]) -> None:
    """Store ``item`` once through werft's services and compare it with the bulk-written run."""
    from werft.tracking.entities import Metric, RunStatus

    services.projects.create("bench-api-check")
    start, end = _times(item)
    run = services.runs.create("bench-api-check", name=item["name"], user="bench", start_time=start)
    services.runs.log_params(run.id, item["params"])
    points = [
        Metric(key=k, value=v, step=0, timestamp=item["start_ms"])
        for k, v in item["metrics"].items()
    ]
    services.runs.log_metrics(run.id, points)
    services.runs.end(run.id, RunStatus.FINISHED, end_time=end)
    ignore = {"id", "project"}
    via_api = services.runs.get(run.id).model_dump(exclude=ignore)
    via_bulk = services.runs.get(bulk_run_id).model_dump(exclude=ignore)
    if via_api != via_bulk:
        raise RuntimeError(f"bulk insert differs from the API:\n{via_api}\n{via_bulk}")
    for key in item["metrics"]:
        api_history = services.runs.get_metric_history(run.id, key).items
        bulk_history = services.runs.get_metric_history(bulk_run_id, key).items
        if api_history != bulk_history:
            raise RuntimeError(f"metric history of {key!r} differs: {api_history} {bulk_history}")


def populate_werft(home: Path, database_url: str | None, data: list[dict[str, Any]]) -> float:
    """Create the search project and bulk-insert the runs; returns the seconds it took."""
    from sqlalchemy import insert

    from werft.config import load_settings
    from werft.services import build_services
    from werft.store.models import LatestMetricRow, MetricRow, ParamRow, RunRow

    settings = load_settings(environ={}, home=str(home), database_url=database_url).settings
    services = build_services(settings)
    try:
        start = time.perf_counter()
        project = services.projects.create(SEARCH_PROJECT)
        rows = _bulk_rows(project.id, data)
        chunk = 5_000
        with services.db.engine.begin() as conn:
            for table, items in (
                (RunRow, rows["runs"]),
                (ParamRow, rows["params"]),
                (MetricRow, rows["metrics"]),
                (LatestMetricRow, rows["metrics"]),
            ):
                for offset in range(0, len(items), chunk):
                    conn.execute(insert(table), items[offset : offset + chunk])
        seconds = time.perf_counter() - start
        _check_bulk_matches_api(services, rows["runs"][0]["id"], data[0])
        return seconds
    finally:
        services.close()


def werft_search(repeats: int, warmup: int) -> dict[str, Any]:
    """Time ``werft.search_runs`` with the configured backend; count the full match too."""
    import werft

    def search(max_results: int) -> list[Any]:
        return werft.search_runs(
            SEARCH_PROJECT,
            filter=SEARCH_FILTER,
            order_by=[SEARCH_ORDER_BY],
            max_results=max_results,
        )

    for _ in range(warmup):
        search(SEARCH_MAX_RESULTS)
    times, top = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        top = search(SEARCH_MAX_RESULTS)
        times.append(time.perf_counter() - start)
    return {
        "seconds": summary(times),
        "returned": len(top),
        "top_auc": [run.metrics["auc"] for run in top],
        "matching": len(search(50_000)),
    }


def check_search(name: str, result: dict[str, Any], expected: tuple[int, list[float]]) -> None:
    count, top = expected
    result["correct"] = result["matching"] == count and result["top_auc"] == top
    if not result["correct"]:
        progress(
            f"WARNING: {name} answered {result['matching']} matching runs "
            f"(expected {count}) or a different top {SEARCH_MAX_RESULTS}"
        )


def bench_werft_search_sqlite(
    mode: Mode, data: list[dict[str, Any]], tmp: Path, logs: Path
) -> dict[str, Any]:
    import werft

    home = tmp / "search-sqlite"
    progress(f"werft SQLite: populating {len(data):,} runs")
    populate_s = populate_werft(home, None, data)
    progress(f"werft SQLite: populated in {populate_s:.1f} s; in-process search")
    werft.configure(home=str(home))
    try:
        local = werft_search(mode.search_repeats, mode.search_warmup)
    finally:
        werft.configure(home=str(tmp / "unused-home"))
    with werft_server("werft server (SQLite)", home, logs) as server:
        werft.configure(url=server.url, home=str(tmp / "search-client"))
        try:
            progress("werft SQLite: search against the server")
            remote = werft_search(mode.search_repeats, mode.search_warmup)
        finally:
            werft.configure(home=str(tmp / "unused-home"))
    return {"populate_seconds": populate_s, "local": local, "remote": remote}


def postgres_version() -> str | None:
    """The server's version, or None when PostgreSQL does not answer at PG_URL."""
    from sqlalchemy import create_engine, text

    try:
        engine = create_engine(PG_URL, connect_args={"connect_timeout": 5})
        with engine.connect() as conn:
            version = conn.execute(text("SHOW server_version")).scalar_one()
        engine.dispose()
    except Exception as exc:
        progress(f"PostgreSQL at {PG_URL} unavailable, skipping it: {exc.__class__.__name__}")
        return None
    return str(version)


@contextlib.contextmanager
def postgres_schema() -> Iterator[str]:
    """A fresh schema, dropped afterwards; yields the URL whose search_path points at it."""
    from sqlalchemy import create_engine, text

    schema = f"werft_bench_{uuid.uuid4().hex[:12]}"
    engine = create_engine(PG_URL)
    try:
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            yield f"{PG_URL}?options=-csearch_path%3D{schema}"
        finally:
            with engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        engine.dispose()


def bench_werft_search_postgres(
    mode: Mode, data: list[dict[str, Any]], tmp: Path, logs: Path
) -> dict[str, Any]:
    import werft

    home = tmp / "search-postgres"
    with postgres_schema() as url:
        progress(f"werft PostgreSQL: populating {len(data):,} runs")
        populate_s = populate_werft(home, url, data)
        progress(f"werft PostgreSQL: populated in {populate_s:.1f} s")
        with werft_server("werft server (PostgreSQL)", home, logs, database_url=url) as server:
            werft.configure(url=server.url, home=str(tmp / "search-client"))
            try:
                progress("werft PostgreSQL: search before ANALYZE (fresh tables, no statistics)")
                fresh = werft_search(5, 1)
                analyze(url)
                progress("werft PostgreSQL: search against the server, after ANALYZE")
                remote = werft_search(mode.search_repeats, mode.search_warmup)
            finally:
                werft.configure(home=str(tmp / "unused-home"))
    return {"populate_seconds": populate_s, "before_analyze": fresh, "remote": remote}


def analyze(url: str) -> None:
    """Collect planner statistics now, as autovacuum would on its own within a minute or so.

    Right after a bulk load PostgreSQL has none, and its plans for the search are
    then much worse (see ``before_analyze`` in the JSON); measuring after ANALYZE
    keeps the figure independent of when autovacuum happens to run.
    """
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            # Unqualified names: the URL's search_path is the benchmark's own schema.
            conn.execute(text("ANALYZE projects, runs, params, tags, metrics, latest_metrics"))
    finally:
        engine.dispose()


def bench_mlflow_search(
    mode: Mode, data: list[dict[str, Any]], tmp: Path, logs: Path
) -> dict[str, Any]:
    folder = tmp / "mlflow-search"
    folder.mkdir()
    data_path = folder / "runs.json"
    data_path.write_text(json.dumps(data))
    db_path = folder / "mlflow.db"
    progress(f"mlflow SQLite: populating {len(data):,} runs through SqlAlchemyStore")
    populated = run_mlflow_worker(
        [
            "populate",
            "--db",
            f"sqlite:///{db_path}",
            "--artifacts",
            str(folder / "artifacts"),
            "--data",
            str(data_path),
        ],
        timeout=3_600,
    )
    progress(f"mlflow SQLite: populated in {populated['seconds']:.1f} s")
    with mlflow_server("mlflow server (SQLite)", folder, logs, db_path) as server:
        progress("mlflow SQLite: search against the server")
        args = ["search", "--url", server.url, "--experiment-id", populated["experiment_id"]]
        args += ["--filter", SEARCH_FILTER, "--order-by", SEARCH_ORDER_BY]
        args += ["--max-results", str(SEARCH_MAX_RESULTS)]
        args += ["--warmup", str(mode.search_warmup), "--repeats", str(mode.search_repeats)]
        output = run_mlflow_worker(args, timeout=1_800)
    return {
        "populate_seconds": populated["seconds"],
        "remote": {
            "seconds": summary(output["times"]),
            "returned": output["returned"],
            "top_auc": output["top_auc"],
            "matching": output["matching"],
        },
    }


# --- report --------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def dig(data: dict[str, Any], *path: str) -> Any:
    """``data[a][b]...``, or None where a part is missing."""
    value: Any = data
    for part in path:
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def fmt_s(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value * 1000:,.1f} ms" if value < 1 else f"{value:,.2f} s"


def fmt_rate(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f} pts/s"


def fmt_ratio(numerator: float | None, denominator: float | None) -> str:
    if not numerator or not denominator:
        return "-"
    return f"{numerator / denominator:,.1f}x"


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("yes" if ok else "NO")


def build_rows(results: dict[str, Any], mode: Mode) -> list[list[str]]:
    """Table rows: measure, werft, MLflow, ratio, target, met."""
    r = results
    w_imp, m_imp = dig(r, "import", "werft", "median"), dig(r, "import", "mlflow", "median")
    w_log = dig(r, "log_metric", "werft", "remote", "points_per_s", "median")
    w_local = dig(r, "log_metric", "werft", "local", "points_per_s", "median")
    m_log = dig(r, "log_metric", "mlflow", "points_per_s", "median")
    m_points = dig(r, "log_metric", "mlflow", "points", "median")
    w_sq = dig(r, "search", "werft_sqlite", "remote", "seconds", "median")
    w_sq_local = dig(r, "search", "werft_sqlite", "local", "seconds", "median")
    w_pg = dig(r, "search", "werft_postgres", "remote", "seconds", "median")
    m_sq = dig(r, "search", "mlflow_sqlite", "remote", "seconds", "median")
    log_ratio = w_log / m_log if w_log and m_log else None
    runs = f"{mode.runs:,} runs"
    m_pts = f"{m_points:,.0f} pts" if m_points else "-"

    def count(key: str) -> str:
        matching, correct = (
            dig(r, "search", key, "remote", "matching"),
            dig(r, "search", key, "remote", "correct"),
        )
        if matching is None:
            return "-"
        return f"{matching:,}" + ("" if correct else " (WRONG)")

    return [
        [
            "import (fresh interpreter, median of 7)",
            fmt_s(w_imp),
            fmt_s(m_imp),
            fmt_ratio(m_imp, w_imp) + (" faster" if m_imp else ""),
            f"<= {IMPORT_TARGET_S} s",
            verdict(None if w_imp is None else w_imp <= IMPORT_TARGET_S),
        ],
        [
            f"log_metric loop, server, {mode.points:,} pts (MLflow {m_pts})",
            fmt_rate(w_log),
            fmt_rate(m_log),
            fmt_ratio(w_log, m_log),
            f">= {THROUGHPUT_TARGET_RATIO:.0f}x MLflow",
            verdict(None if log_ratio is None else log_ratio >= THROUGHPUT_TARGET_RATIO),
        ],
        [
            f"log_metric loop, local (no server), {mode.points:,} pts",
            fmt_rate(w_local),
            "-",
            fmt_ratio(w_local, m_log) + (" (vs MLflow server)" if m_log else ""),
            "-",
            "-",
        ],
        [
            f"search_runs, server, SQLite, {runs}",
            fmt_s(w_sq),
            fmt_s(m_sq),
            fmt_ratio(m_sq, w_sq) + (" faster" if m_sq else ""),
            f"<= {SEARCH_TARGET_S * 1000:.0f} ms",
            verdict(None if w_sq is None else w_sq <= SEARCH_TARGET_S),
        ],
        [f"search_runs, server, PostgreSQL, {runs}", fmt_s(w_pg), "-", "-", "-", "-"],
        [f"search_runs, in-process, SQLite, {runs}", fmt_s(w_sq_local), "-", "-", "-", "-"],
        [
            "matching runs (both must equal expected)",
            count("werft_sqlite") + (" / PG " + count("werft_postgres") if w_pg else ""),
            count("mlflow_sqlite"),
            "-",
            f"{dig(r, 'search', 'expected_matching'):,}",
            verdict(r.get("search_correct")),
        ],
        [
            f"populate {runs} (SQLite; not a target)",
            fmt_s(dig(r, "search", "werft_sqlite", "populate_seconds")),
            fmt_s(dig(r, "search", "mlflow_sqlite", "populate_seconds")),
            "-",
            "-",
            "-",
        ],
    ]


def render_table(rows: list[list[str]]) -> str:
    header = ["measure", "werft", "MLflow", "ratio", "target", "met"]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |"]
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def werft_tree() -> dict[str, Any]:
    """The werft commit measured, and whether src/ had uncommitted changes."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(HERE.parent), *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout.strip()

    return {
        "commit": git("rev-parse", "--short", "HEAD") or None,
        "src_dirty": bool(git("status", "--porcelain", "--", "src")),
    }


def machine_info() -> dict[str, Any]:
    from importlib import metadata

    info: dict[str, Any] = {
        "nproc": os.cpu_count(),
        "cpu_model": cpu_model(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "sqlite": sqlite3.sqlite_version,
    }
    for package in ("werft", "sqlalchemy", "fastapi", "uvicorn", "httpx", "pydantic"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            info[package] = metadata.version(package)
    return info


# --- main ----------------------------------------------------------------------------


PEER_ERRORS = (RuntimeError, OSError, subprocess.SubprocessError, ValueError, KeyError)


def optional(results: dict[str, Any], what: str, func: Callable[[], Any]) -> Any:
    """Run a peer's part (MLflow, PostgreSQL); on failure, note it and go on with werft."""
    try:
        return func()
    except PEER_ERRORS as exc:
        note = f"{what} failed, left out: {exc.__class__.__name__}: {str(exc)[:2000]}"
        progress(note)
        results["notes"].append(note)
        return None


def run(mode: Mode, tmp: Path, use_postgres: bool) -> dict[str, Any]:
    logs = tmp / "logs"
    logs.mkdir()
    results: dict[str, Any] = {
        "meta": {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "mode": mode.name,
            "sizes": asdict(mode),
            "machine": machine_info(),
            "werft_tree": werft_tree(),
            "filter": SEARCH_FILTER,
            "order_by": [SEARCH_ORDER_BY],
            "max_results": SEARCH_MAX_RESULTS,
            "seed": SEED,
        },
        "notes": [],
        "import": {},
        "log_metric": {},
        "search": {},
    }
    have_mlflow = VENV_PYTHON.exists()
    if not have_mlflow:
        note = (
            f"MLflow is not set up ({VENV_PYTHON} missing): run `bash benchmarks/setup-peers.sh`, "
            "then this script again, to compare with MLflow; werft was measured alone"
        )
        progress(note)
        results["notes"].append(note)

    progress(f"import times, {mode.import_repeats} fresh interpreters each")
    results["import"]["werft"] = measure_import(sys.executable, "werft", mode.import_repeats, tmp)
    if have_mlflow:
        imported = optional(
            results,
            "import mlflow",
            lambda: measure_import(str(VENV_PYTHON), "mlflow", mode.import_repeats, tmp),
        )
        if imported:
            results["import"]["mlflow"] = imported
            results["meta"]["machine"]["mlflow"] = imported["version"]

    results["log_metric"]["werft"] = bench_werft_logging(mode, tmp, logs)
    if have_mlflow:
        logged = optional(results, "MLflow logging", lambda: bench_mlflow_logging(mode, tmp, logs))
        if logged:
            results["log_metric"]["mlflow"] = logged

    data = search_data(mode.runs)
    expected = expected_answer(data)
    search: dict[str, Any] = results["search"]
    search["expected_matching"] = expected[0]
    search["werft_sqlite"] = bench_werft_search_sqlite(mode, data, tmp, logs)
    check_search("werft (SQLite, server)", search["werft_sqlite"]["remote"], expected)
    check_search("werft (SQLite, in-process)", search["werft_sqlite"]["local"], expected)
    pg_version = postgres_version() if use_postgres else None
    if use_postgres and not pg_version:
        results["notes"].append(f"PostgreSQL did not answer at {PG_URL}; its row is left out")
    if pg_version:
        results["meta"]["machine"]["postgresql"] = pg_version
        on_pg = optional(
            results,
            "werft on PostgreSQL",
            lambda: bench_werft_search_postgres(mode, data, tmp, logs),
        )
        if on_pg:
            search["werft_postgres"] = on_pg
            check_search("werft (PostgreSQL, server)", on_pg["remote"], expected)
    if have_mlflow:
        on_mlflow = optional(
            results, "MLflow search", lambda: bench_mlflow_search(mode, data, tmp, logs)
        )
        if on_mlflow:
            search["mlflow_sqlite"] = on_mlflow
            check_search("MLflow (SQLite, server)", on_mlflow["remote"], expected)
    answers = [
        answer
        for part in search.values()
        if isinstance(part, dict)
        for name, answer in part.items()
        if name in ("local", "remote")
    ]
    search["search_correct"] = all(answer["correct"] for answer in answers)
    results["search_correct"] = search["search_correct"]
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description="werft vs MLflow: tracking benchmarks.")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL row")
    parser.add_argument("--output", type=Path, default=RESULTS_PATH, help="JSON results file")
    args = parser.parse_args()
    mode = QUICK if args.quick else FULL
    for key in [k for k in os.environ if k.startswith("WERFT_")]:
        progress(f"ignoring {key} from the environment")
        del os.environ[key]

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="werft-bench-", ignore_cleanup_errors=True) as tmp:
        results = run(mode, Path(tmp), use_postgres=not args.no_postgres)
    results["meta"]["total_seconds"] = time.perf_counter() - started
    rows = build_rows(results, mode)
    results["table"] = [
        dict(zip(["measure", "werft", "mlflow", "ratio", "target", "met"], row, strict=True))
        for row in rows
    ]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2, default=str) + "\n")

    meta = results["meta"]["machine"]
    tree = results["meta"]["werft_tree"]
    dirty = " + uncommitted src changes" if tree["src_dirty"] else ""
    print(
        f"\nwerft {meta.get('werft')} ({tree['commit']}{dirty}) vs "
        f"MLflow {meta.get('mlflow', '(not installed)')} - "
        f"{mode.name} mode - {results['meta']['date']} - {meta['nproc']} x {meta['cpu_model']}, "
        f"Python {meta['python']}, SQLite {meta['sqlite']}, "
        f"PostgreSQL {meta.get('postgresql', '-')}"
    )
    print(render_table(rows))
    for note in results["notes"]:
        print(f"NOTE: {note}")
    print(
        f"medians; search: {mode.search_repeats} timed calls after {mode.search_warmup} warm-up; "
        f"log_metric: {mode.log_repeats} werft / {mode.mlflow_log_repeats} MLflow repetitions. "
        f"All values in {args.output}"
    )
    return 0 if results["search_correct"] else 1


if __name__ == "__main__":
    sys.exit(main())
