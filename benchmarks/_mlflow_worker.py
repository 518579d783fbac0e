"""MLflow's side of bench_tracking.py, run with the MLflow venv's python.

MLflow is a peer we measure against, not a werft dependency, so this file
imports only MLflow and the standard library and is executed by
``benchmarks/.venv-mlflow/bin/python``.  Every command prints one JSON
object on stdout; bench_tracking.py parses it.

Commands:
    log       mlflow.log_metric in a plain loop against a tracking server.
    populate  write the benchmark's runs into a SQLite store in-process.
    search    time MlflowClient().search_runs against a tracking server.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any


def cmd_log(args: argparse.Namespace) -> dict[str, Any]:
    """Per repetition: up to ``points`` points, one HTTP round trip each, within ``budget`` s."""
    import mlflow

    mlflow.set_tracking_uri(args.url)
    mlflow.set_experiment(args.experiment)
    client = mlflow.MlflowClient()
    with mlflow.start_run(run_name="warm-up"):
        for i in range(args.warmup):
            mlflow.log_metric("loss", 1.0 / (i + 1), step=i)
    repetitions = []
    for repetition in range(args.repeats):
        logged = 0
        start = time.perf_counter()
        deadline = start + args.budget
        with mlflow.start_run(run_name=f"throughput-{repetition}") as run:
            for i in range(args.points):
                mlflow.log_metric("loss", 1.0 / (i + 1), step=i)
                logged += 1
                if time.perf_counter() > deadline:
                    break
        seconds = time.perf_counter() - start
        stored = len(client.get_metric_history(run.info.run_id, "loss"))
        repetitions.append({"points": logged, "seconds": seconds, "stored": stored})
    return {"repetitions": repetitions}


def cmd_populate(args: argparse.Namespace) -> dict[str, Any]:
    """Write the runs of ``--data`` through MLflow's own SqlAlchemyStore (as its server does)."""
    from mlflow.entities import Metric, Param, RunStatus
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    with open(args.data, encoding="utf-8") as fh:
        runs = json.load(fh)
    schema_start = time.perf_counter()
    store = SqlAlchemyStore(args.db, args.artifacts)
    experiment_id = store.create_experiment(args.experiment)
    start = time.perf_counter()
    for item in runs:
        started = int(item["start_ms"])
        run = store.create_run(experiment_id, "bench", started, [], item["name"])
        run_id = run.info.run_id
        store.log_batch(
            run_id,
            metrics=[Metric(k, float(v), started, 0) for k, v in item["metrics"].items()],
            params=[Param(k, str(v)) for k, v in item["params"].items()],
            tags=[],
        )
        store.update_run_info(run_id, RunStatus.FINISHED, started + 1000, item["name"])
    end = time.perf_counter()
    store.engine.dispose()
    return {
        "experiment_id": experiment_id,
        "seconds": end - start,
        "schema_seconds": start - schema_start,
        "runs": len(runs),
    }


def cmd_search(args: argparse.Namespace) -> dict[str, Any]:
    """Median-ready latencies of one search_runs call, plus the full match count."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=args.url)
    order_by = [args.order_by]

    def search(max_results: int) -> list[Any]:
        return list(
            client.search_runs(
                [args.experiment_id],
                filter_string=args.filter,
                order_by=order_by,
                max_results=max_results,
            )
        )

    for _ in range(args.warmup):
        search(args.max_results)
    times = []
    top: list[Any] = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        top = search(args.max_results)
        times.append(time.perf_counter() - start)
    everything = search(50_000)
    return {
        "times": times,
        "returned": len(top),
        "top_auc": [run.data.metrics["auc"] for run in top],
        "matching": len(everything),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    log = sub.add_parser("log")
    log.add_argument("--url", required=True)
    log.add_argument("--experiment", default="throughput")
    log.add_argument("--points", type=int, default=1000)
    log.add_argument("--budget", type=float, default=20.0)
    log.add_argument("--warmup", type=int, default=20)
    log.add_argument("--repeats", type=int, default=3)

    populate = sub.add_parser("populate")
    populate.add_argument("--db", required=True)
    populate.add_argument("--artifacts", required=True)
    populate.add_argument("--data", required=True)
    populate.add_argument("--experiment", default="search")

    search = sub.add_parser("search")
    search.add_argument("--url", required=True)
    search.add_argument("--experiment-id", required=True)
    search.add_argument("--filter", required=True)
    search.add_argument("--order-by", required=True)
    search.add_argument("--max-results", type=int, default=50)
    search.add_argument("--warmup", type=int, default=3)
    search.add_argument("--repeats", type=int, default=25)

    args = parser.parse_args()
    commands = {"log": cmd_log, "populate": cmd_populate, "search": cmd_search}
    result = commands[args.command](args)
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
