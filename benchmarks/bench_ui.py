#!/usr/bin/env python3
"""The web UI's runs page over 10,000 runs, and a chart of a 100,000-point metric history.

Usage::

    python benchmarks/bench_ui.py                  # 10,000 runs, SQLite
    python benchmarks/bench_ui.py --runs 1000      # smaller
    python benchmarks/bench_ui.py --postgres postgresql://postgres@127.0.0.1:5432/test

One use case gets ``--runs`` finished runs, each with 5 params and 4 metrics,
written through the tracking service (as the SDK in local mode writes them);
one of them also gets a 100,000-point ``loss`` history. Then the UI is served
by uvicorn on a loopback port, as ``werft server`` serves it, and each page is
fetched ``--repeat`` times over HTTP: the time is the whole request, so it
bounds the server-side time from above.
Targets (issue 8): a runs page in <= 300 ms; a chart sends <= 2,000 points.
"""

from __future__ import annotations

import argparse
import json
import re
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
import uvicorn
from sqlalchemy import create_engine, text

from werft.config import load_settings
from werft.server.app import create_app
from werft.services import Services, build_services
from werft.tracking.entities import Metric, RunStatus

PROJECT = "bench"
HISTORY = 100_000
ROW_MARK = 'hx-boost="false"'  # each run's link in the table carries it once


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--postgres", help="PostgreSQL URL instead of a SQLite file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="werft-bench-ui-") as tmp:
        url, drop = _database(args.postgres, Path(tmp))
        settings = load_settings(
            home=Path(tmp) / "home", database_url=url, artifacts_url=str(Path(tmp) / "artifacts")
        ).settings
        services = build_services(settings)
        try:
            run_id = _fill(services, args.runs)
            _measure(services, run_id, args.runs, args.repeat)
        finally:
            services.close()
            drop()


def _database(postgres: str | None, tmp: Path) -> tuple[str, object]:
    if not postgres:
        return f"sqlite:///{tmp / 'bench.db'}", lambda: None
    schema = f"werft_bench_{uuid.uuid4().hex[:8]}"
    engine = create_engine(postgres.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()

    sep = "&" if "?" in postgres else "?"
    return f"{postgres}{sep}options=-csearch_path%3D{schema}", drop


def _fill(services: Services, count: int) -> str:
    """``count`` runs; returns the id of the one with the long history."""
    services.projects.get_or_create(PROJECT)
    started = time.perf_counter()
    run_id = ""
    for i in range(count):
        run = services.runs.create(PROJECT, name=f"run-{i:05d}")
        services.runs.log_params(
            run.id,
            {
                "model": ("xgb", "rf", "logreg")[i % 3],
                "depth": i % 12,
                "lr": round(0.01 * (1 + i % 10), 2),
                "n_estimators": 100 + i % 400,
                "seed": i,
            },
        )
        services.runs.log_metrics(
            run.id,
            [
                Metric(key="auc", value=0.6 + (i * 7919 % 4000) / 10_000, step=0, timestamp=1),
                Metric(key="f1", value=0.5 + (i * 104_729 % 4000) / 10_000, step=0, timestamp=1),
                Metric(key="accuracy", value=0.7 + (i % 300) / 1000, step=0, timestamp=1),
                Metric(key="loss", value=1.0 / (1 + i % 50), step=0, timestamp=1),
            ],
        )
        if i == 0:
            run_id = run.id  # stays running until its long history is logged
        else:
            services.runs.end(run.id, RunStatus.FINISHED)
        if i and i % 1000 == 0:
            print(f"  {i} runs ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    services.runs.log_metrics(
        run_id,
        [
            Metric(
                key="loss",
                value=1.0 / (1 + s / 1000) + (5.0 if s == 61_803 else 0.0),
                step=s,
                timestamp=s,
            )
            for s in range(1, HISTORY)
        ],
    )
    services.runs.end(run_id, RunStatus.FINISHED)
    print(f"filled {count} runs in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return run_id


def _serve(services: Services) -> tuple[uvicorn.Server, threading.Thread, str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = create_app(services=services, auth=False)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    return server, thread, f"http://127.0.0.1:{port}"


def _measure(services: Services, run_id: str, count: int, repeat: int) -> None:
    server, thread, base = _serve(services)
    last_page = (count - 1) // 50 + 1
    cases = [
        ("runs page 1 (newest first)", f"/projects/{PROJECT}/runs", {}),
        (
            "runs filtered: metrics.auc > 0.9 and params.model = 'xgb'",
            f"/projects/{PROJECT}/runs",
            {"filter": "metrics.auc > 0.9 and params.model = 'xgb'"},
        ),
        (
            "runs sorted by metrics.auc DESC",
            f"/projects/{PROJECT}/runs",
            {"order": "metrics.auc DESC"},
        ),
        (f"runs page {last_page} (the last)", f"/projects/{PROJECT}/runs", {"page": last_page}),
        ("chart of a 100,000-point history", f"/runs/{run_id}/chart", {"key": "loss"}),
        ("overview (use case, maturity report)", "/", {}),
    ]
    rows = []
    with httpx.Client(base_url=base, timeout=60) as client:
        for label, path, params in cases:
            client.get(path, params=params).raise_for_status()  # warm caches
            times = []
            for _ in range(repeat):
                start = time.perf_counter()
                response = client.get(path, params=params)
                times.append((time.perf_counter() - start) * 1000)
                response.raise_for_status()
            extra = ""
            if "chart" in path:
                spec = json.loads(re.search(r"<script[^>]*>(.*?)</script>", response.text, re.S)[1])
                series = spec["series"][0]
                extra = f"{len(series['x'])} of {series['total']} points, peak kept: " + str(
                    max(series["y"]) > 5.0
                )
            elif "runs" in path:
                extra = f"{response.text.count(ROW_MARK)} rows"
            rows.append((label, statistics.median(times), _p95(times), extra))
    server.should_exit = True
    thread.join(10)
    print(f"\n{count:,} runs, {repeat} requests each (ms, whole HTTP request on loopback)\n")
    print(f"| {'page':<58} | median | p95 | |")
    print(f"|{'-' * 60}|-------:|----:|---|")
    for label, median, p95, extra in rows:
        print(f"| {label:<58} | {median:6.0f} | {p95:3.0f} | {extra} |")


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


if __name__ == "__main__":
    main()
