"""XGBoost's scikit-learn API (XGBClassifier, XGBRegressor...), stored with skops.

skops keeps the fitted booster in XGBoost's own binary model format (``Booster.__getstate__``)
and rebuilds the wrapper from data, so the file holds no pickled code.  xgboost is imported
only when a model is loaded.
"""

from __future__ import annotations

from werft.registry.environment import pinned
from werft.registry.flavors import _skops


class XGBoostFlavor(_skops.SkopsStorage):
    """XGBoost models with the scikit-learn API."""

    name = "xgboost"
    kind = "XGBoost scikit-learn models (XGBClassifier, XGBRegressor)"

    def handles(self, obj: object) -> bool:
        """True for subclasses of ``xgboost.sklearn.XGBModel`` (without importing xgboost)."""
        return any(
            cls.__module__ == "xgboost.sklearn" and cls.__name__ == "XGBModel"
            for cls in type(obj).__mro__
        )

    def requirements(self, obj: object | None = None) -> dict[str, str]:
        """xgboost, scikit-learn, skops and numpy."""
        del obj
        return pinned({"xgboost", "scikit-learn", "skops", "numpy"})
