"""A small tracked example: what `werft quickstart` runs on the embedded default.

Three logistic-regression runs on deterministic synthetic churn data, each
with params, a loss curve, an AUC, the training dataset (hashed and profiled)
and an artifact; then a search for the best run.  Needs nothing but numpy and
pandas, which werft depends on anyway.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

import werft
from werft.tracking.entities import Run

PROJECT = "quickstart-churn"


def make_customers(n: int = 2000, seed: int = 7) -> pd.DataFrame:
    """Deterministic synthetic contract customers with a churn label."""
    rng = np.random.default_rng(seed)
    tenure = rng.integers(1, 72, n)
    fee = rng.normal(45, 15, n).clip(5, None).round(2)
    plan = rng.choice(["basic", "pro", "family"], n, p=[0.5, 0.3, 0.2])
    tickets = rng.poisson(1.2, n)
    logit = -1.0 - 0.05 * tenure + 0.03 * (fee - 45) + 0.5 * tickets + (plan == "basic") * 0.6
    churn = rng.random(n) < 1 / (1 + np.exp(-logit))
    return pd.DataFrame(
        {"tenure": tenure, "monthly_fee": fee, "plan": plan, "tickets": tickets, "churn": churn}
    )


def _features(df: pd.DataFrame) -> np.ndarray:
    return np.column_stack(
        [
            df["tenure"] / 72,
            (df["monthly_fee"] - 45) / 15,
            df["tickets"] / 3,
            df["plan"] == "basic",
            df["plan"] == "pro",
            np.ones(len(df)),
        ]
    ).astype(float)


def _auc(y: np.ndarray, score: np.ndarray) -> float:
    order = np.argsort(score)
    ranks = np.empty(len(score))
    ranks[order] = np.arange(1, len(score) + 1)
    positives = y.sum()
    negatives = len(y) - positives
    return float((ranks[y].sum() - positives * (positives + 1) / 2) / (positives * negatives))


@dataclass(frozen=True)
class QuickstartResult:
    """What the example recorded."""

    project: str
    runs: list[Run]
    best: Run


def run_quickstart(say: Callable[[str], None] = print, epochs: int = 300) -> QuickstartResult:
    """Train three models as tracked runs and find the best by AUC."""
    data = make_customers()
    train, test = data.iloc[:1500], data.iloc[1500:]
    x_train, y_train = _features(train), train["churn"].to_numpy()
    x_test, y_test = _features(test), test["churn"].to_numpy()
    run_ids = []
    for lr in (0.05, 0.3, 1.0):
        with werft.start_run(project=PROJECT, name=f"logreg-lr{lr}") as run:
            werft.log_params({"model": "logistic-regression", "lr": lr, "epochs": epochs})
            werft.log_dataset(train, name="customers", context="training")
            werft.log_dataset(test, name="customers-holdout", context="evaluation")
            weights = np.zeros(x_train.shape[1])
            for step in range(epochs):
                p = 1 / (1 + np.exp(-x_train @ weights))
                loss = -np.mean(y_train * np.log(p + 1e-12) + (1 - y_train) * np.log(1 - p + 1e-12))
                weights -= lr * x_train.T @ (p - y_train) / len(y_train)
                werft.log_metric("loss", float(loss), step=step)
            auc = _auc(y_test, x_test @ weights)
            werft.log_metric("auc", auc)
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "weights.json"
                path.write_text(json.dumps({"weights": weights.round(6).tolist()}, indent=2))
                werft.log_artifact(path)
            say(f"  run {run.id}  lr={lr:<5} auc={auc:.3f}  final loss={loss:.4f}")
            run_ids.append(run.id)
    best = werft.search_runs(
        PROJECT, filter="metrics.auc > 0.5", order_by=["metrics.auc DESC"], max_results=1
    )[0]
    runs = [werft.get_run(run_id) for run_id in run_ids]
    return QuickstartResult(project=PROJECT, runs=runs, best=best)
