"""A small churn project for pipeline tests: werft.yaml, train.py, datasets in the store."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd

import werft

PROJECT = "churn"
MODEL = "churn-classifier"

TRAIN_PY = """
import os
import time

import werft
from sklearn.linear_model import LogisticRegression


def main(params, data):
    name, version = data["train"].split("@")
    frame = werft.load_dataset("churn", name, int(version))
    features, label = frame.drop(columns=["churned"]), frame["churned"]
    print(f"training on {name}@{version}: {len(frame)} rows", flush=True)
    if params.get("sleep"):
        time.sleep(float(params["sleep"]))
    if params.get("fail"):
        raise ValueError("the training was told to fail")
    with werft.start_run(project="churn") as run:
        model = LogisticRegression(C=float(params["C"]), max_iter=500).fit(features, label)
        werft.log_metric("train_accuracy", float(model.score(features, label)))
        werft.log_model(model, "model", register="churn-classifier", input_example=features.head(5))
        if params.get("fail_after_register"):
            raise RuntimeError("failed after registering")
    return {"run_id": run.id}
"""


def werft_yaml(
    *, promote_to: str | None = "production", triggers: str = "", extra: str = ""
) -> str:
    on_success = f"  on_success: {{promote_to: {promote_to}}}\n" if promote_to else ""
    return (
        textwrap.dedent(
            """\
            use_case:
              key: churn
              name: Churn prediction
              business_goal: Keep customers who are about to leave
              owner: sales-analytics
              risk_class: limited
              target: churned
              acceptance:
                - {metric: accuracy, op: ">=", value: 0.6}
              approvers: [anna]
              policy: {production: approval}
            training:
              entrypoint: train.py:main
              params: {C: 1.0}
              data: {train: customers@latest, holdout: customers-holdout@latest}
              timeout: 5m
            """
        )
        + extra
        + (f"  triggers:\n{triggers}" if triggers else "")
        + on_success
    )


def frame(rows: int, *, seed: int, shift: float = 0.0) -> pd.DataFrame:
    """Customers whose churn depends on tenure and charges; ``shift`` moves the charges."""
    rng = np.random.default_rng(seed)
    tenure = rng.integers(1, 72, rows).astype(float)
    charges = rng.normal(70.0, 20.0, rows) + shift
    score = -0.05 * tenure + 0.03 * (charges - shift) + rng.normal(0, 0.5, rows)
    return pd.DataFrame(
        {"tenure": tenure, "charges": charges, "churned": (score > 0.0).astype(int)}
    )


def write_repo(folder: Path, yaml_text: str | None = None) -> Path:
    """The repository: werft.yaml and train.py; returns the werft.yaml path."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "train.py").write_text(TRAIN_PY, encoding="utf-8")
    path = folder / "werft.yaml"
    path.write_text(yaml_text or werft_yaml(), encoding="utf-8")
    return path


def log_datasets(*, seed: int = 1, shift: float = 0.0) -> None:
    """A version of customers and of customers-holdout (through the configured backend)."""
    with werft.start_run(project=PROJECT, name="data-prep"):
        werft.log_dataset(frame(600, seed=seed, shift=shift), "customers", context="output")
        werft.log_dataset(
            frame(300, seed=seed + 100, shift=shift), "customers-holdout", context="output"
        )
