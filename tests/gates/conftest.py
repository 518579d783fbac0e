"""Registered scikit-learn models with their training data, and holdout tables to check."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import werft
from werft.config import Settings
from werft.governance.usecases import UseCase, parse_use_case
from werft.quickstart import make_customers
from werft.sdk.backend import Backend
from werft.sdk.fluent import set_backend

MODEL = "churn-classifier"
FEATURES = ["tenure", "monthly_fee", "plan", "tickets"]

USE_CASE = """\
use_case:
  key: churn
  name: Churn prediction for contract customers
  business_goal: Reduce contract cancellations by reaching at-risk customers early
  owner: sales-analytics
  risk_class: limited
  kpis: [{name: retained_customers, unit: count, direction: up}]
  acceptance:
    - {metric: roc_auc, op: ">=", value: 0.70}
    - {metric: accuracy, op: ">=", value: 0.60}
  regression_tolerance: {roc_auc: 0.01}
  data_checks: {max_null_rate: 0.05, drift_share_max: 0.3}
  approvers: [anna, ops-lead]
  policy: {production: approval, staging: automatic}
  target: churn
"""


def use_case(**changes: object) -> UseCase:
    """The churn use case, with fields replaced."""
    return parse_use_case(USE_CASE).model_copy(update=changes)


def customers(n: int, seed: int) -> pd.DataFrame:
    return make_customers(n, seed)


def _prep(features: list[str] = FEATURES) -> ColumnTransformer:
    return ColumnTransformer(
        [
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["plan"]),
            ("num", StandardScaler(), [name for name in features if name != "plan"]),
        ]
    )


def classifier(
    data: pd.DataFrame, *, shuffled: bool = False, features: list[str] = FEATURES
) -> Pipeline:
    """Logistic regression on the churn features; ``shuffled`` labels make it guess."""
    labels = data["churn"].to_numpy()
    if shuffled:
        labels = np.random.default_rng(3).permutation(labels)
    steps = [("prep", _prep(features)), ("clf", LogisticRegression())]
    return Pipeline(steps).fit(data[features], labels)


def regressor(data: pd.DataFrame) -> Pipeline:
    return Pipeline([("prep", _prep()), ("reg", LinearRegression())]).fit(
        data[FEATURES], data["churn"].astype(float)
    )


@dataclass
class Registry:
    """Registers versions of MODEL, each trained in a run on a logged training dataset."""

    backend: Backend
    training: pd.DataFrame

    def register(
        self,
        model: Pipeline | None = None,
        *,
        log_training: bool = True,
        features: list[str] = FEATURES,
    ) -> int:
        model = model if model is not None else classifier(self.training)
        with werft.start_run(project="churn"):
            if log_training:
                werft.log_dataset(self.training, name="customers", context="training")
            example = self.training[features].head(20)
            info = werft.log_model(model, input_example=example, register=MODEL)
        assert info.version is not None
        return info.version.version


@pytest.fixture
def registry(backend: Backend, settings: Settings) -> Iterator[Registry]:
    """MODEL's registry in local and remote mode; training data: 600 customers."""
    set_backend(backend, settings)
    yield Registry(backend, customers(600, seed=1))
    werft.configure()


@pytest.fixture
def holdout() -> pd.DataFrame:
    """400 customers from the training distribution, with their churn label."""
    return customers(400, seed=2)


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "model-cache"
