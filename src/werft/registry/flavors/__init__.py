"""Flavors: how each kind of model is saved into a package and loaded back.

Each flavor is one small module behind the :class:`Flavor` protocol; adding one means adding
it to :data:`FLAVORS`.  Order matters: the first flavor that handles an object wins, so the
generic Python flavor comes last.  Heavy optional libraries (xgboost, lightgbm, skops,
cloudpickle) are imported only when a model is saved or loaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from werft.errors import InvalidInputError
from werft.registry.flavors._skops import TRUSTED_TYPE_PREFIXES, TRUSTED_TYPES
from werft.registry.flavors.lightgbm_flavor import LightGBMFlavor
from werft.registry.flavors.python_flavor import PythonFlavor
from werft.registry.flavors.sklearn_flavor import SklearnFlavor
from werft.registry.flavors.xgboost_flavor import XGBoostFlavor

__all__ = [
    "FLAVORS",
    "TRUSTED_TYPES",
    "TRUSTED_TYPE_PREFIXES",
    "Flavor",
    "flavor_for",
    "get_flavor",
]


class Flavor(Protocol):
    """How one kind of model is saved and loaded.

    Attributes:
        name: The flavor's name, recorded in the package manifest.
        kind: The models it handles, in words, for error messages.
    """

    name: str
    kind: str

    def handles(self, obj: object) -> bool:
        """True when this flavor can save ``obj``; must not import optional libraries."""
        ...

    def save(self, obj: object, folder: Path) -> list[str]:
        """Write ``obj`` into ``folder``; returns the files written, relative to ``folder``."""
        ...

    def load(self, folder: Path, *, trust: bool, trusted_types: Sequence[str]) -> Any:
        """Load the model ``save`` wrote into ``folder``.

        Args:
            folder: The folder ``save`` wrote to.
            trust: Allow formats that run code when loaded (pickle).
            trusted_types: Fully qualified type names to trust beyond werft's allowlist.
        """
        ...

    def requirements(self, obj: object | None = None) -> dict[str, str]:
        """Installed versions of the distributions a model needs, e.g. ``{"skops": "0.16.0"}``.

        Args:
            obj: The model, when known, to add the distributions its parts come from (e.g.
                xgboost for a pipeline ending in an XGBClassifier).
        """
        ...


FLAVORS: tuple[Flavor, ...] = (SklearnFlavor(), XGBoostFlavor(), LightGBMFlavor(), PythonFlavor())
"""Every flavor, in the order they are tried."""


def flavor_for(obj: object) -> Flavor:
    """The first flavor that handles ``obj``.

    Raises:
        TypeError: No flavor handles it; the message names the supported kinds.
    """
    for flavor in FLAVORS:
        if flavor.handles(obj):
            return flavor
    kinds = "; ".join(f"{flavor.kind} ({flavor.name})" for flavor in FLAVORS)
    raise TypeError(f"werft cannot package a {type(obj).__qualname__}: supported kinds are {kinds}")


def get_flavor(name: str) -> Flavor:
    """The flavor called ``name``.

    Raises:
        InvalidInputError: No flavor has that name.
    """
    for flavor in FLAVORS:
        if flavor.name == name:
            return flavor
    known = ", ".join(flavor.name for flavor in FLAVORS)
    raise InvalidInputError(f"unknown model flavor {name!r}; known flavors: {known}")
