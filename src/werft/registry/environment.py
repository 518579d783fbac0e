"""The software a packaged model needs: recorded when it is built, compared when it is loaded.

A model saved with scikit-learn 1.5 may load under 1.6 and predict differently, or not load at
all.  The package records the installed version of every distribution it depends on; loading
compares them with what is installed now and warns on a major or minor difference.
"""

from __future__ import annotations

import functools
import importlib.metadata
import platform
import re
import warnings
from collections.abc import Iterable, Mapping

_RELEASE_RE = re.compile(r"(\d+)\.(\d+)")


class ModelEnvironmentWarning(UserWarning):
    """The installed software differs from what the model was packaged with."""


def installed_version(distribution: str) -> str | None:
    """The installed version of a distribution (e.g. ``"scikit-learn"``), or None."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def python_version() -> str:
    """The running interpreter's version, e.g. ``"3.11.7"``."""
    return platform.python_version()


def pinned(distributions: Iterable[str]) -> dict[str, str]:
    """Installed versions of the given distributions; ones not installed are left out."""
    found = {name: installed_version(name) for name in distributions}
    return {name: version for name, version in sorted(found.items()) if version is not None}


@functools.cache
def _distributions_by_module() -> Mapping[str, list[str]]:
    return importlib.metadata.packages_distributions()


def module_distributions(module_name: str) -> list[str]:
    """The installed distributions providing a module's top-level package (often none)."""
    return list(_distributions_by_module().get(module_name.partition(".")[0], []))


def distributions_of(objects: Iterable[object]) -> set[str]:
    """The installed distributions that define the classes of ``objects``.

    Classes from the standard library or from plain scripts belong to no distribution and are
    left out.
    """
    return {
        name
        for obj in objects
        for cls in type(obj).__mro__
        for name in module_distributions(cls.__module__)
    }


def _release(version: str) -> tuple[int, int] | None:
    match = _RELEASE_RE.match(version)
    return (int(match[1]), int(match[2])) if match else None


def _differs(recorded: str, installed: str) -> bool:
    recorded_release, installed_release = _release(recorded), _release(installed)
    if recorded_release is None or installed_release is None:
        return recorded != installed
    return recorded_release != installed_release


def warn_on_mismatch(requirements: Mapping[str, str], recorded_python: str) -> None:
    """Warn with :class:`ModelEnvironmentWarning` for each major or minor version difference.

    Args:
        requirements: distribution -> version recorded when the model was packaged.
        recorded_python: the Python version recorded when the model was packaged.
    """
    for name, recorded in sorted(requirements.items()):
        installed = installed_version(name)
        if installed is None:
            warnings.warn(
                f"the model was packaged with {name} {recorded}, which is not installed; "
                f"install {name}=={recorded} to load it reliably",
                ModelEnvironmentWarning,
                stacklevel=3,
            )
        elif _differs(recorded, installed):
            warnings.warn(
                f"the model was packaged with {name} {recorded} but {installed} is installed; "
                f"predictions may differ — install {name}=={recorded} to be sure",
                ModelEnvironmentWarning,
                stacklevel=3,
            )
    current = python_version()
    if _differs(recorded_python, current):
        warnings.warn(
            f"the model was packaged with Python {recorded_python} but this is Python {current}; "
            "serialised models may not load or may behave differently",
            ModelEnvironmentWarning,
            stacklevel=3,
        )
