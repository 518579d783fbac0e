"""Saving and loading with skops, behind werft's allowlist of trusted types.

skops stores an object tree as data and rebuilds it without pickle, constructing only the
types the loader trusts.  skops trusts common scikit-learn and numpy types itself; every
other type or function named in a file must pass werft's allowlist or be named by the
caller in ``trusted_types``.

The allowlist is deliberately tight:

* A *prefix* trusts the **classes** defined under it — never its functions, because a
  function stored in a model (``FunctionTransformer(func=...)``, a callable metric) runs at
  predict time, and scikit-learn itself ships functions that write files or run code
  (``sklearn.datasets.dump_svmlight_file``, ``sklearn.utils._testing``).  Classes are only
  instantiated from data (``__new__`` plus ``__setstate__``).
* Everything else is named exactly.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from werft.errors import PermissionDeniedError

SKOPS_FILE = "model.skops"

TRUSTED_TYPE_PREFIXES: tuple[str, ...] = (
    "sklearn.",  # estimators and their fitted helpers (TreePredictor, KDTree, kernels...)
    "xgboost.sklearn.",  # XGBClassifier, XGBRegressor, XGBRanker...
    "lightgbm.sklearn.",  # LGBMClassifier, LGBMRegressor, LGBMRanker
    "scipy.sparse.",  # sparse matrices held by fitted transformers
)
"""Module prefixes whose classes (not functions) a skops file may contain."""

TRUSTED_TYPES: frozenset[str] = frozenset(
    {
        "numpy.dtype",  # dtype objects kept by encoders and discretisers
        "collections.OrderedDict",  # LightGBM keeps its parameters in one
        "xgboost.core.Booster",  # restored from XGBoost's own binary model format
        "lightgbm.basic.Booster",  # restored from LightGBM's own text model format
        "scipy.interpolate._bsplines.BSpline",  # SplineTransformer
        "scipy._lib.array_api_compat.numpy._aliases.asarray",  # a pure function BSpline keeps
    }
)
"""Fully qualified names a skops file may contain."""


def _is_class(name: str) -> bool:
    module_name, _, attribute = name.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return False
    return isinstance(getattr(module, attribute, None), type)


def _trusted_by_werft(name: str) -> bool:
    if name in TRUSTED_TYPES:
        return True
    # Only modules under a trusted prefix are ever imported here.
    return any(name.startswith(prefix) for prefix in TRUSTED_TYPE_PREFIXES) and _is_class(name)


def checked_trust(file: Path, trusted_types: Sequence[str]) -> list[str]:
    """The types in a skops file that need trust, once all of them are allowed.

    Args:
        file: A ``.skops`` file.  Only its schema is read; nothing is constructed.
        trusted_types: Fully qualified names the caller trusts on top of the allowlist.

    Returns:
        The names to pass to ``skops.io.load(trusted=...)``.

    Raises:
        PermissionDeniedError: A type is neither allowlisted nor named in ``trusted_types``.
    """
    import skops.io

    needed: list[str] = skops.io.get_untrusted_types(file=file)
    extra = set(trusted_types)
    untrusted = sorted(n for n in needed if n not in extra and not _trusted_by_werft(n))
    if untrusted:
        raise PermissionDeniedError(
            f"the model file contains types werft does not trust: {', '.join(untrusted)}; "
            "if you trust their source, load it with "
            f"load_model(..., trusted_types={untrusted!r})"
        )
    return needed


class SkopsStorage:
    """``save`` and ``load`` for the flavors whose models skops stores."""

    def save(self, obj: object, folder: Path) -> list[str]:
        """Write ``obj`` to ``folder/model.skops``; returns ``["model.skops"]``."""
        import skops.io

        folder.mkdir(parents=True, exist_ok=True)
        skops.io.dump(obj, folder / SKOPS_FILE)
        return [SKOPS_FILE]

    def load(self, folder: Path, *, trust: bool, trusted_types: Sequence[str]) -> Any:
        """Load ``folder/model.skops`` once every type in it is allowed.

        Args:
            folder: The folder ``save`` wrote to.
            trust: Ignored: a skops file is data, so trust is granted per type, not wholesale.
            trusted_types: Fully qualified names trusted on top of the allowlist.

        Raises:
            PermissionDeniedError: The file names a type that is not trusted.
        """
        import skops.io

        del trust
        file = folder / SKOPS_FILE
        return skops.io.load(file, trusted=checked_trust(file, trusted_types))
