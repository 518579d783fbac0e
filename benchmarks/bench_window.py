#!/usr/bin/env python3
"""A monitor window over 10,000,000 logged predictions, through segment histograms.

Usage::

    python benchmarks/bench_window.py                 # 10,000,000 rows, SQLite
    python benchmarks/bench_window.py --postgres postgresql://postgres@127.0.0.1:5432/test
    python benchmarks/bench_window.py --rows 1000000  # smaller

A churn model is trained and registered with its training dataset; one real
prediction-log segment of 100,000 rows (inputs drawn from a shifted
distribution) is written by ``PredictionLog`` and its histograms are recorded
``rows / 100,000`` times as consecutive segments of one deployment — what an
hour of heavy traffic leaves behind. Then ``MonitorService.run`` checks the
window: it reads the segments' histograms (kilobytes each) from the metadata
store, merges them and runs the drift tests, prediction drift and quality
checks, never touching the Parquet rows. For scale it also times pyarrow
reading two input columns of the same number of raw rows from Parquet (one
100,000-row file read ``rows / 100,000`` times): the least a check over raw
rows would cost.
Target (issue 5): the window check takes under 1 s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import werft
from werft.config import Settings
from werft.quickstart import make_customers
from werft.sdk.fluent import set_backend
from werft.sdk.local import LocalBackend
from werft.services import build_services
from werft.serving.predlog import PredictionBatch, PredictionLog, SegmentInfo

SEGMENT_ROWS = 100_000
FEATURES = ["tenure", "monthly_fee", "plan", "tickets"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--postgres", help="PostgreSQL URL instead of a SQLite file")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="werft-bench-window-") as tmp:
        home = Path(tmp)
        url = _postgres_schema(args.postgres) if args.postgres else f"sqlite:///{home / 'werft.db'}"
        settings = Settings(home=home, database_url=url)
        services = build_services(settings)
        set_backend(LocalBackend(services), settings)
        pipe = _register()
        segment = _one_segment(services, pipe, home)
        copies = args.rows // SEGMENT_ROWS
        end = datetime.now(UTC).replace(microsecond=0)
        start_ms = int((end - timedelta(minutes=59)).timestamp() * 1000)
        step = 59 * 60 * 1000 // copies
        data = segment.model_dump(mode="json")
        for i in range(copies):
            data.update(
                segment_id=f"bench-{i:05d}-{uuid.uuid4().hex[:8]}",
                start_ms=start_ms + i * step,
                end_ms=start_ms + i * step + step - 1,
            )
            services.deployments.record_segment("churn-prod", data)
        services.monitors.create("churn-watch", deployment="churn-prod", window_seconds=3600)
        timings = []
        for _ in range(args.repeat):
            began = time.perf_counter()
            result = services.monitors.run("churn-watch", end=end)
            timings.append(time.perf_counter() - began)
        parquet = home / "segment.parquet"
        services.store.get_file(segment.digest, parquet)
        scan = _raw_scan(parquet, copies)
        services.close()
    werft.configure()
    window = statistics.median(timings)
    print(
        f"| logged predictions | segments | database | window check s (median of {args.repeat}) "
        "| drifted features | raw Parquet scan s |"
    )
    print("|---:|---:|---|---:|---:|---:|")
    print(
        f"| {result.rows:,} | {copies} | {'PostgreSQL' if args.postgres else 'SQLite'} | "
        f"{window:.3f} | {', '.join(result.report['drift']['drifted'])} | {scan:.2f} |"
    )
    print(f"target < 1 s: {'met' if window < 1 else 'NOT met'}", file=sys.stderr)


def _register() -> Pipeline:
    data = make_customers(5000, 1)
    prep = ColumnTransformer(
        [
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["plan"]),
            ("num", StandardScaler(), ["tenure", "monthly_fee", "tickets"]),
        ]
    )
    pipe = Pipeline([("prep", prep), ("clf", LogisticRegression())])
    pipe.fit(data[FEATURES], data["churn"])
    with werft.start_run(project="churn"):
        werft.log_dataset(data, name="customers", context="training")
        info = werft.log_model(pipe, input_example=data[FEATURES].head(10), register="churn")
    assert info.version is not None
    werft.set_alias("churn", "production", info.version.version)
    return pipe


def _one_segment(services: object, pipe: Pipeline, home: Path) -> SegmentInfo:
    from werft.services import Services

    assert isinstance(services, Services)
    services.deployments.register_replica(
        "churn-prod",
        models={"churn": {"alias": "production"}},
        strategy="single",
        replica_id="bench",
        address="http://127.0.0.1:1",
        host="bench",
        pid=1,
    )
    version = services.registry.get_alias("churn", "production")
    lineage = services.registry.lineage("churn", version.version)
    training = lineage.datasets[0]
    profile = services.datasets.get("churn", training.name, training.version).profile
    from werft.monitoring.histograms import reference_spec

    frame = make_customers(SEGMENT_ROWS, 2)[FEATURES]
    frame["tenure"] = frame["tenure"] + 30
    proba = pipe.predict_proba(frame)
    shipped: list[SegmentInfo] = []
    log = PredictionLog(
        "churn-prod",
        home / "spool",
        services.store,
        on_segment=shipped.append,
        reference=reference_spec(profile),
        roll_rows=10 * SEGMENT_ROWS,
    )
    log.append_batches(
        [
            PredictionBatch(
                request_ids=[uuid.uuid4().hex for _ in range(SEGMENT_ROWS)],
                time_ms=int(time.time() * 1000),
                model="churn",
                version=version.version,
                variant="primary",
                inputs={c: frame[c].tolist() for c in FEATURES},
                predictions=[bool(p) for p in proba[:, 1] > 0.5],
                probabilities={"False": proba[:, 0].tolist(), "True": proba[:, 1].tolist()},
            )
        ]
    )
    log.close()
    (segment,) = shipped
    return segment


def _raw_scan(parquet: Path, copies: int) -> float:
    began = time.perf_counter()
    for _ in range(copies):
        table = pq.read_table(parquet, columns=["in:tenure", "in:monthly_fee"])
        pc.mean(table["in:tenure"]), pc.mean(table["in:monthly_fee"])
    return time.perf_counter() - began


def _postgres_schema(url: str) -> str:
    """A fresh schema ``bench_window`` and the URL that uses it."""
    import sqlalchemy as sa

    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA IF EXISTS bench_window CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA bench_window"))
    engine.dispose()
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3Dbench_window"


if __name__ == "__main__":
    main()
