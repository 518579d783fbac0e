"""log_model / load_model end to end, in local and remote mode."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import werft
from werft.config import Settings
from werft.errors import IntegrityError, PermissionDeniedError
from werft.sdk.backend import Backend
from werft.sdk.fluent import set_backend
from werft.services import Services


@pytest.fixture
def sdk(backend: Backend, settings: Settings) -> Iterator[Backend]:
    set_backend(backend, settings)
    yield backend
    werft.configure()


def _data(n: int = 300, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "tenure": rng.integers(1, 72, n),
            "plan": rng.choice(["basic", "pro", "family"], n),
            "monthly_fee": rng.normal(45, 15, n).round(2),
        }
    )
    label = (frame["tenure"] < 20) & (frame["plan"] == "basic") | (frame["monthly_fee"] > 60)
    return frame, label.to_numpy()


def _pipeline() -> Pipeline:
    prep = ColumnTransformer(
        [
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["plan"]),
            ("num", StandardScaler(), ["tenure", "monthly_fee"]),
        ]
    )
    return Pipeline([("prep", prep), ("clf", HistGradientBoostingClassifier(max_iter=20))])


class _Doubler:
    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return frame["tenure"].to_numpy() * 2


def test_issue_example(sdk: Backend) -> None:
    x_train, y_train = _data()
    pipe = _pipeline().fit(x_train, y_train)
    with werft.start_run(project="churn"):
        werft.log_dataset(x_train, name="customers", context="training")
        info = werft.log_model(
            pipe, name="model", input_example=x_train.head(20), register="churn-classifier"
        )
    assert info.version is not None and info.version.version == 1
    werft.set_alias("churn-classifier", "staging", version=1)
    model = werft.load_model("models:/churn-classifier@staging")
    x_new, _ = _data(200, seed=1)
    assert np.array_equal(model.predict(x_new), pipe.predict(x_new))
    assert np.array_equal(model.predict_proba(x_new), pipe.predict_proba(x_new))
    again = werft.load_model("models:/churn-classifier/1")  # from the cache, verified again
    assert np.array_equal(again.predict(x_new), pipe.predict(x_new))
    by_run = werft.load_model(f"runs:/{info.run_id}/model")
    assert np.array_equal(by_run.predict(x_new), pipe.predict(x_new))
    plan = next(c for c in info.manifest.signature.inputs if c.name == "plan")
    assert plan.categories is not None and sorted(plan.categories) == ["basic", "family", "pro"]
    assert info.manifest.signature.output.kind == "classifier"


def test_python_model_needs_trust(sdk: Backend) -> None:
    frame, _ = _data(20)
    with werft.start_run(project="churn"):
        werft.log_model(_Doubler(), input_example=frame, register="doubler")
    with pytest.raises(PermissionDeniedError, match="trust=True"):
        werft.load_model("models:/doubler/1")
    model = werft.load_model("models:/doubler/1", trust=True)
    assert np.array_equal(model.predict(frame), frame["tenure"].to_numpy() * 2)


def test_unsupported_object_is_a_type_error(sdk: Backend) -> None:
    frame, _ = _data(5)
    with werft.start_run(project="churn"), pytest.raises(TypeError, match="scikit-learn"):
        werft.log_model(object(), input_example=frame)


def test_tampered_blob_fails_before_deserialisation(
    sdk: Backend, services: Services, settings: Settings
) -> None:
    x_train, y_train = _data()
    with werft.start_run(project="churn"):
        info = werft.log_model(
            _pipeline().fit(x_train, y_train), input_example=x_train.head(5), register="tampered"
        )
    model_file = next(p for p in info.files if p.startswith("model/"))
    digest = info.files[model_file].removeprefix("sha256:")
    blob = Path(settings.effective_artifacts_url) / "blobs" / "sha256" / digest[:2] / digest[2:]
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0xFF
    blob.write_bytes(bytes(data))
    with pytest.raises(IntegrityError):
        werft.load_model("models:/tampered/1")


def test_registered_version_keeps_metrics_logged_just_before(sdk: Backend) -> None:
    frame, label = _data()
    with werft.start_run(project="churn"):
        werft.log_metric("accuracy", 0.87)  # buffered, not yet sent
        info = werft.log_model(_pipeline().fit(frame, label), input_example=frame, register="m")
    assert info.version is not None
    assert info.version.metrics == {"accuracy": 0.87}
