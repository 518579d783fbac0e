"""The optional ONNX form: kept only when it agrees with the native model."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from xgboost import XGBClassifier

from werft.errors import InvalidInputError
from werft.registry.onnx_form import ONNX_MISSING, TOLERANCE, OnnxModel
from werft.registry.package import (
    ModelEnvironmentWarning,
    build_package,
    load_package,
    read_manifest,
)

pytest.importorskip("skl2onnx")
pytest.importorskip("onnxruntime")


def make_frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "color": rng.choice(["red", "green", "blue"], n),
            "a": rng.normal(size=n),
            "b": rng.integers(0, 10, n),
        }
    )


def pipeline(final: Any, y: np.ndarray | None = None) -> Pipeline:
    pre = ColumnTransformer(
        [
            ("onehot", OneHotEncoder(handle_unknown="ignore"), ["color"]),
            ("scale", StandardScaler(), ["a", "b"]),
        ]
    )
    train = make_frame(300, seed=1)
    if y is None:
        y = np.where(train["a"] + (train["color"] == "red") > 0.5, "yes", "no")
    return Pipeline([("pre", pre), ("model", final)]).fit(train, y)


class LinearScore:
    """A generic Python model: skl2onnx cannot convert it."""

    def predict(self, data: pd.DataFrame) -> np.ndarray:
        return data["a"].to_numpy() * 2.0


@pytest.fixture(scope="module")
def classifier() -> Pipeline:
    return pipeline(LogisticRegression())


def test_converted_classifier_agrees_with_the_native_model(
    classifier: Pipeline, tmp_path: Path
) -> None:
    folder = tmp_path / "pkg"
    manifest = build_package(classifier, folder, input_example=make_frame(20, 2), onnx=True)
    info = manifest.onnx
    assert info is not None
    assert info.converted, info.error
    assert info.file == "model.onnx"
    assert info.labels_match is True
    assert info.max_abs_diff is not None
    assert info.max_abs_diff <= TOLERANCE
    assert info.error is None
    assert "model.onnx" in manifest.files
    assert read_manifest(folder) == manifest

    onnx_model = load_package(folder, prefer_onnx=True)
    assert onnx_model.uses_onnx
    fresh = make_frame(100, seed=8)
    assert np.array_equal(onnx_model.predict(fresh), classifier.predict(fresh))
    assert np.allclose(onnx_model.predict_proba(fresh), classifier.predict_proba(fresh), atol=1e-4)

    assert not load_package(folder).uses_onnx  # ONNX is only used when preferred


def test_converted_regressor_records_its_difference(tmp_path: Path) -> None:
    train = make_frame(300, seed=1)
    model = pipeline(Ridge(), y=(2.0 * train["a"] - 0.3 * train["b"]).to_numpy())
    manifest = build_package(model, tmp_path / "pkg", input_example=make_frame(20, 2), onnx=True)
    assert manifest.onnx is not None
    assert manifest.onnx.converted, manifest.onnx.error
    assert manifest.onnx.labels_match is None
    assert manifest.onnx.max_abs_diff is not None
    assert 0 <= manifest.onnx.max_abs_diff <= TOLERANCE * 10
    loaded = load_package(tmp_path / "pkg", prefer_onnx=True)
    fresh = make_frame(50, seed=8)
    predictions = loaded.predict(fresh)
    assert predictions.dtype == np.float64
    assert np.allclose(predictions, model.predict(fresh), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    "model",
    [LinearScore(), XGBClassifier(n_estimators=3)],
    ids=["python", "xgboost"],
)
def test_unconvertible_model_is_packaged_without_onnx(model: Any, tmp_path: Path) -> None:
    example = make_frame(10, 2)[["a", "b"]]
    if isinstance(model, XGBClassifier):
        model.fit(make_frame(100, 1)[["a", "b"]], np.arange(100) % 2)
    manifest = build_package(model, tmp_path / "pkg", input_example=example, onnx=True)
    assert manifest.onnx is not None
    assert not manifest.onnx.converted
    assert manifest.onnx.file is None
    assert manifest.onnx.error
    assert not (tmp_path / "pkg" / "model.onnx").exists()
    loaded = load_package(tmp_path / "pkg", trust=True, prefer_onnx=True)
    assert not loaded.uses_onnx
    assert np.array_equal(loaded.predict(example), model.predict(example))


def test_datetime_column_has_no_onnx_input(tmp_path: Path) -> None:
    frame = make_frame(10, 2).assign(seen=pd.Timestamp("2024-01-01"))
    manifest = build_package(LinearScore(), tmp_path / "pkg", input_example=frame, onnx=True)
    assert manifest.onnx is not None
    assert manifest.onnx.error is not None
    assert "datetime" in manifest.onnx.error


def test_missing_onnx_extra_is_recorded(
    classifier: Pipeline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "skl2onnx", None)  # makes `import skl2onnx` fail
    manifest = build_package(
        classifier, tmp_path / "pkg", input_example=make_frame(5, 2), onnx=True
    )
    assert manifest.onnx is not None
    assert not manifest.onnx.converted
    assert manifest.onnx.error == ONNX_MISSING


def test_missing_onnxruntime_falls_back_to_native_with_a_warning(
    classifier: Pipeline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_package(classifier, tmp_path / "pkg", input_example=make_frame(20, 2), onnx=True)
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.warns(ModelEnvironmentWarning, match="onnxruntime is not installed"):
        loaded = load_package(tmp_path / "pkg", prefer_onnx=True)
    assert not loaded.uses_onnx
    fresh = make_frame(10, seed=3)
    assert np.array_equal(loaded.predict(fresh), classifier.predict(fresh))


def test_onnx_refuses_missing_strings(classifier: Pipeline, tmp_path: Path) -> None:
    build_package(classifier, tmp_path / "pkg", input_example=make_frame(20, 2), onnx=True)
    loaded = load_package(tmp_path / "pkg", prefer_onnx=True)
    fresh = make_frame(5, seed=3)
    fresh.loc[0, "color"] = None
    with pytest.raises(InvalidInputError, match="'color' has missing values"):
        loaded.predict(fresh)


def test_disagreeing_onnx_form_is_dropped(
    classifier: Pipeline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def wrong_labels(self: OnnxModel, data: pd.DataFrame) -> np.ndarray:
        return np.asarray(classifier.predict(data))[::-1]

    monkeypatch.setattr(OnnxModel, "predict", wrong_labels)
    manifest = build_package(
        classifier, tmp_path / "pkg", input_example=make_frame(20, 2), onnx=True
    )
    assert manifest.onnx is not None
    assert not manifest.onnx.converted
    assert manifest.onnx.labels_match is False
    assert manifest.onnx.error is not None
    assert "differ" in manifest.onnx.error
    assert "model.onnx" not in manifest.files
    assert not (tmp_path / "pkg" / "model.onnx").exists()
