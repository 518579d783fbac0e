"""scikit-learn estimators and pipelines, stored with skops (never pickle).

A pipeline may end in an XGBoost or LightGBM model: skops stores those through their own
model formats, and the allowlist trusts them.
"""

from __future__ import annotations

from typing import Any

from werft.registry.environment import distributions_of, pinned
from werft.registry.flavors import _skops

_BOOSTING_MODULES = frozenset({"xgboost", "lightgbm"})


def is_sklearn_estimator(obj: object) -> bool:
    """True for instances of ``sklearn.base.BaseEstimator`` (without importing scikit-learn)."""
    return any(
        cls.__module__ == "sklearn.base" and cls.__name__ == "BaseEstimator"
        for cls in type(obj).__mro__
    )


def parts(obj: object) -> list[object]:
    """The estimator and every object among its (deep) parameters, e.g. a pipeline's steps."""
    get_params = getattr(obj, "get_params", None)
    params: dict[str, Any] = get_params(deep=True) if callable(get_params) else {}
    return [obj, *params.values()]


class SklearnFlavor(_skops.SkopsStorage):
    """scikit-learn estimators and pipelines (ColumnTransformer, encoders, boosting...)."""

    name = "sklearn"
    kind = "scikit-learn estimators and pipelines"

    def handles(self, obj: object) -> bool:
        """True for scikit-learn estimators other than standalone XGBoost/LightGBM models."""
        top_module = type(obj).__module__.partition(".")[0]
        return top_module not in _BOOSTING_MODULES and is_sklearn_estimator(obj)

    def requirements(self, obj: object | None = None) -> dict[str, str]:
        """scikit-learn, skops, numpy, scipy, plus the distributions of ``obj``'s parts."""
        names = {"scikit-learn", "skops", "numpy", "scipy"}
        if obj is not None:
            names |= distributions_of(parts(obj))
        return pinned(names)
