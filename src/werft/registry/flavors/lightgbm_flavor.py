"""LightGBM's scikit-learn API (LGBMClassifier, LGBMRegressor...), stored with skops.

skops keeps the fitted booster in LightGBM's own text model format (``Booster.__getstate__``)
and rebuilds the wrapper from data, so the file holds no pickled code.  lightgbm is imported
only when a model is loaded.
"""

from __future__ import annotations

from werft.registry.environment import pinned
from werft.registry.flavors import _skops


class LightGBMFlavor(_skops.SkopsStorage):
    """LightGBM models with the scikit-learn API."""

    name = "lightgbm"
    kind = "LightGBM scikit-learn models (LGBMClassifier, LGBMRegressor)"

    def handles(self, obj: object) -> bool:
        """True for subclasses of ``lightgbm.sklearn.LGBMModel`` (without importing lightgbm)."""
        return any(
            cls.__module__ == "lightgbm.sklearn" and cls.__name__ == "LGBMModel"
            for cls in type(obj).__mro__
        )

    def requirements(self, obj: object | None = None) -> dict[str, str]:
        """lightgbm, scikit-learn, skops and numpy."""
        del obj
        return pinned({"lightgbm", "scikit-learn", "skops", "numpy"})
