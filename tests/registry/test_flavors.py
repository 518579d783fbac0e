"""Flavors: every supported kind of model round-trips with identical predictions."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from lightgbm import LGBMRegressor
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.datasets import dump_svmlight_file
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from xgboost import XGBClassifier

from werft.errors import InvalidInputError, PermissionDeniedError
from werft.registry.flavors import FLAVORS, flavor_for, get_flavor

NUMERIC = ["a", "b"]


def make_frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "color": rng.choice(["red", "green", "blue"], n),
            "a": rng.normal(size=n),
            "b": rng.integers(0, 10, n),
        }
    )


def label(frame: pd.DataFrame) -> np.ndarray:
    return ((frame["a"] + (frame["color"] == "red") + frame["b"] / 10) > 0.8).to_numpy(int)


def target(frame: pd.DataFrame) -> np.ndarray:
    return (2.0 * frame["a"] - 0.3 * frame["b"]).to_numpy()


def preprocessor() -> ColumnTransformer:
    return ColumnTransformer(
        [
            ("onehot", OneHotEncoder(handle_unknown="ignore"), ["color"]),
            ("scale", StandardScaler(), NUMERIC),
        ]
    )


class LinearScore:
    """A generic Python model: anything with predict(DataFrame)."""

    def __init__(self, weight: float) -> None:
        self.weight = weight

    def predict(self, data: pd.DataFrame) -> np.ndarray:
        return data["a"].to_numpy() * self.weight + data["b"].to_numpy()


class Doubler(TransformerMixin, BaseEstimator):
    """A custom estimator: its type is outside werft's allowlist."""

    def fit(self, x: Any, y: Any = None) -> Doubler:
        return self

    def transform(self, x: Any) -> Any:
        return x * 2


def _fit(model: Any, columns: list[str] | None, y: Callable[[pd.DataFrame], np.ndarray]) -> Any:
    train = make_frame(300, seed=1)
    features = train if columns is None else train[columns]
    model.fit(features, y(train))
    return model


CASES: dict[str, tuple[str, Callable[[], Any], list[str] | None]] = {
    "pipeline-hgb": (
        "sklearn",
        lambda: _fit(
            Pipeline(
                [("pre", preprocessor()), ("model", HistGradientBoostingClassifier(max_iter=10))]
            ),
            None,
            label,
        ),
        None,
    ),
    "logistic": ("sklearn", lambda: _fit(LogisticRegression(), NUMERIC, label), NUMERIC),
    "ridge": ("sklearn", lambda: _fit(Ridge(), NUMERIC, target), NUMERIC),
    "xgb-classifier": (
        "xgboost",
        lambda: _fit(XGBClassifier(n_estimators=5, max_depth=3), NUMERIC, label),
        NUMERIC,
    ),
    "lgbm-regressor": (
        "lightgbm",
        lambda: _fit(LGBMRegressor(n_estimators=5, verbose=-1), NUMERIC, target),
        NUMERIC,
    ),
    "pipeline-xgb": (
        "sklearn",
        lambda: _fit(
            Pipeline([("pre", preprocessor()), ("model", XGBClassifier(n_estimators=5))]),
            None,
            label,
        ),
        None,
    ),
    "python": ("python", lambda: LinearScore(weight=3.0), NUMERIC),
}


@pytest.mark.parametrize("case", list(CASES))
def test_round_trip_gives_identical_predictions(case: str, tmp_path: Path) -> None:
    expected_flavor, build, columns = CASES[case]
    model = build()
    flavor = flavor_for(model)
    assert flavor.name == expected_flavor

    files = flavor.save(model, tmp_path)
    assert files
    assert all((tmp_path / name).is_file() for name in files)
    loaded = flavor.load(tmp_path, trust=expected_flavor == "python", trusted_types=())

    fresh = make_frame(50, seed=7)
    features = fresh if columns is None else fresh[columns]
    assert np.array_equal(loaded.predict(features), model.predict(features))
    if hasattr(model, "predict_proba"):
        assert np.allclose(
            loaded.predict_proba(features), model.predict_proba(features), atol=0, rtol=0
        )


def test_requirements_name_the_libraries_inside_a_pipeline() -> None:
    _, build, _ = CASES["pipeline-xgb"]
    requirements = get_flavor("sklearn").requirements(build())
    assert {"scikit-learn", "skops", "numpy", "xgboost"} <= requirements.keys()
    assert "lightgbm" not in requirements


def test_unsupported_object_is_a_type_error_naming_the_supported_kinds() -> None:
    with pytest.raises(TypeError) as caught:
        flavor_for(object())
    message = str(caught.value)
    assert "object" in message
    for flavor in FLAVORS:
        assert flavor.kind in message
    assert "predict(DataFrame)" in message


def test_a_class_is_not_a_model() -> None:
    with pytest.raises(TypeError):
        flavor_for(LinearScore)


def test_unknown_flavor_name_is_invalid_input() -> None:
    with pytest.raises(
        InvalidInputError, match=r"'tensorflow'.*sklearn, xgboost, lightgbm, python"
    ):
        get_flavor("tensorflow")


def test_handles_imports_no_optional_library() -> None:
    script = (
        "import sys\n"
        "from sklearn.linear_model import Ridge\n"
        "from werft.registry.flavors import flavor_for\n"
        "class M:\n"
        "    def predict(self, data): return data\n"
        "assert flavor_for(Ridge()).name == 'sklearn'\n"
        "assert flavor_for(M()).name == 'python'\n"
        "loaded = {'xgboost', 'lightgbm', 'skops'} & set(sys.modules)\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)


def test_python_model_needs_trust(tmp_path: Path) -> None:
    flavor = get_flavor("python")
    flavor.save(LinearScore(weight=1.0), tmp_path)
    with pytest.raises(PermissionDeniedError, match=r"pickled code.*trust=True"):
        flavor.load(tmp_path, trust=False, trusted_types=())


def test_python_model_is_pickled_by_value(tmp_path: Path) -> None:
    # The test module belongs to no installed distribution, so the package must carry the
    # class itself: a fresh interpreter that cannot import this module still loads it.
    flavor = get_flavor("python")
    flavor.save(LinearScore(weight=3.0), tmp_path)
    script = (
        "import sys, cloudpickle, pandas as pd\n"
        "with open(sys.argv[1], 'rb') as f: model = cloudpickle.load(f)\n"
        "print(model.predict(pd.DataFrame({'a': [1.0], 'b': [2]}))[0])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "model.cloudpickle")],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.stdout.strip() == "5.0"
    assert "cloudpickle" in flavor.requirements(LinearScore(weight=1.0))


def test_custom_type_is_refused_until_trusted(tmp_path: Path) -> None:
    model = _fit(Pipeline([("double", Doubler()), ("lr", LogisticRegression())]), NUMERIC, label)
    flavor = flavor_for(model)
    flavor.save(model, tmp_path)
    name = f"{Doubler.__module__}.Doubler"

    with pytest.raises(PermissionDeniedError) as caught:
        flavor.load(tmp_path, trust=True, trusted_types=())
    assert name in str(caught.value)
    assert "trusted_types=" in str(caught.value)

    loaded = flavor.load(tmp_path, trust=False, trusted_types=[name])
    fresh = make_frame(20, seed=3)[NUMERIC]
    assert np.array_equal(loaded.predict(fresh), model.predict(fresh))


@pytest.mark.parametrize(
    ("func", "name"),
    [
        (eval, "builtins.eval"),
        (dump_svmlight_file, "sklearn.datasets._svmlight_format_io.dump_svmlight_file"),
    ],
)
def test_functions_are_never_trusted_by_prefix(func: Any, name: str, tmp_path: Path) -> None:
    model = Pipeline([("f", FunctionTransformer(func)), ("lr", LogisticRegression())])
    flavor = flavor_for(model)
    flavor.save(model, tmp_path)
    with pytest.raises(PermissionDeniedError, match=name):
        flavor.load(tmp_path, trust=True, trusted_types=())
