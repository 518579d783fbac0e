"""MLflow's side of bench_registry.py, run with the MLflow venv's python.

MLflow is a peer we measure against, not a werft dependency, so this file imports only
MLflow, the scientific stack MLflow's venv already has (pandas, scikit-learn) and the
standard library, and is executed by ``benchmarks/.venv-mlflow/bin/python``.  Every command
prints one JSON object as the last line on stdout; bench_registry.py parses it.

The store is local, as in werft's local mode: ``MLFLOW_TRACKING_URI`` and
``MLFLOW_REGISTRY_URI`` both name the same ``sqlite:///`` file, and artifacts go to a folder.

Commands:
    train  fit the benchmark's pipeline on the given data, log it with
           ``mlflow.sklearn.log_model`` once per serialisation format, register each copy
           and point its ``production`` alias at it.
    load   time ``mlflow.sklearn.load_model(uri)`` in this (fresh) process.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

CATEGORICAL = ["plan", "region"]
NUMERIC = ["tenure", "monthly_fee", "tickets"]
LABEL = "churn"
# skops refuses sklearn.tree._tree.Tree (the trees of a GradientBoostingClassifier) unless it
# is trusted explicitly; MLflow stores this list in the MLmodel file and passes it at load.
SKOPS_TRUSTED = ["sklearn.tree._tree.Tree"]


def build_pipeline(seed: int) -> Any:
    """The same pipeline bench_registry.build_pipeline builds (keep the two identical)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    prep = ColumnTransformer(
        [
            ("cat", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL),
            ("num", StandardScaler(), NUMERIC),
        ]
    )
    clf = GradientBoostingClassifier(n_estimators=100, max_depth=3, random_state=seed)
    return Pipeline([("prep", prep), ("clf", clf)])


def cmd_train(args: argparse.Namespace) -> dict[str, Any]:
    """Fit, then log + register + alias once per format; predictions on the sample rows."""
    import mlflow
    import pandas as pd
    import sklearn
    from mlflow import MlflowClient

    frame = pd.read_parquet(args.data)
    y = frame.pop(LABEL)
    pipe = build_pipeline(args.seed)
    start = time.perf_counter()
    pipe.fit(frame, y)
    fit_seconds = time.perf_counter() - start

    experiment_id = mlflow.create_experiment("bench", artifact_location=args.artifacts)
    client = MlflowClient()
    models: dict[str, Any] = {}
    for fmt, name in (("skops", args.name), ("cloudpickle", f"{args.name}-cloudpickle")):
        start = time.perf_counter()
        with mlflow.start_run(experiment_id=experiment_id, run_name=f"train-{fmt}"):
            extra = {"skops_trusted_types": SKOPS_TRUSTED} if fmt == "skops" else {}
            info = mlflow.sklearn.log_model(
                pipe,
                name="model",
                input_example=frame.head(20),
                serialization_format=fmt,
                **extra,
            )
        version = mlflow.register_model(info.model_uri, name)
        client.set_registered_model_alias(name, "production", version.version)
        models[fmt] = {
            "name": name,
            "version": str(version.version),
            "model_uri": info.model_uri,
            "uri": f"models:/{name}@production",
            "log_register_seconds": time.perf_counter() - start,
        }

    sample = pd.read_parquet(args.sample)
    return {
        "fit_seconds": fit_seconds,
        "models": models,
        "sample_labels": [int(v) for v in pipe.predict(sample)],
        "sample_proba": [float(v) for v in pipe.predict_proba(sample)[:, 1]],
        "versions": {
            "mlflow": mlflow.__version__,
            "scikit-learn": sklearn.__version__,
            "pandas": pd.__version__,
            "python": sys.version.split()[0],
            **_dist_versions("numpy", "skops", "cloudpickle", "pyarrow", "sqlalchemy"),
        },
    }


def _dist_versions(*names: str) -> dict[str, str]:
    from importlib import metadata

    found: dict[str, str] = {}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def cmd_load(args: argparse.Namespace) -> dict[str, Any]:
    """Seconds for ``import mlflow`` and for ``mlflow.sklearn.load_model(uri)``, this process."""
    t0 = time.perf_counter()
    import mlflow

    t1 = time.perf_counter()
    model = mlflow.sklearn.load_model(args.uri)
    t2 = time.perf_counter()
    return {"import_s": t1 - t0, "load_s": t2 - t1, "type": type(model).__qualname__}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train")
    train.add_argument("--data", required=True, help="parquet: features plus the label column")
    train.add_argument("--sample", required=True, help="parquet: rows to predict for the check")
    train.add_argument("--artifacts", required=True, help="the experiment's artifact folder")
    train.add_argument("--name", default="churn-gbm")
    train.add_argument("--seed", type=int, required=True)

    load = sub.add_parser("load")
    load.add_argument("--uri", required=True)

    args = parser.parse_args()
    commands = {"train": cmd_train, "load": cmd_load}
    result = commands[args.command](args)
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
