"""Generic Python models — any object with ``predict(DataFrame)`` — stored with cloudpickle.

A pickle is code: loading one runs whatever its author chose, so ``load`` refuses unless the
caller passes ``trust=True``.  Classes from modules that belong to no installed distribution
(a training script, a project folder) are pickled by value, so the package loads without the
training code; classes from installed distributions are pickled by reference and their
distributions are recorded in the requirements.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

from werft.errors import PermissionDeniedError
from werft.registry.environment import distributions_of, module_distributions, pinned

PICKLE_FILE = "model.cloudpickle"


def _unpackaged_modules(obj: object) -> list[ModuleType]:
    """Modules defining ``obj``'s classes that no installed distribution provides."""
    found: dict[str, ModuleType] = {}
    for cls in type(obj).__mro__:
        name = cls.__module__
        module = sys.modules.get(name)
        if (
            module is None
            or name == "__main__"  # cloudpickle pickles __main__ by value already
            or name.partition(".")[0] in sys.stdlib_module_names
            or module_distributions(name)
        ):
            continue
        found[name] = module
    return list(found.values())


@contextmanager
def _by_value(modules: list[ModuleType]) -> Iterator[None]:
    import cloudpickle

    already = set(cloudpickle.list_registry_pickle_by_value())
    registered = []
    try:
        for module in modules:
            if module.__name__ not in already:  # the caller's own registrations stay
                cloudpickle.register_pickle_by_value(module)
                registered.append(module)
        yield
    finally:
        for module in registered:
            cloudpickle.unregister_pickle_by_value(module)


class PythonFlavor:
    """Any object with a ``predict(DataFrame)`` method."""

    name = "python"
    kind = "any object with a predict(DataFrame) method"

    def handles(self, obj: object) -> bool:
        """True for instances (not classes) with a callable ``predict``."""
        return not isinstance(obj, type) and callable(getattr(obj, "predict", None))

    def save(self, obj: object, folder: Path) -> list[str]:
        """Pickle the model with cloudpickle; returns ``["model.cloudpickle"]``."""
        import cloudpickle

        folder.mkdir(parents=True, exist_ok=True)
        with _by_value(_unpackaged_modules(obj)), (folder / PICKLE_FILE).open("wb") as file:
            cloudpickle.dump(obj, file)
        return [PICKLE_FILE]

    def load(self, folder: Path, *, trust: bool, trusted_types: Sequence[str]) -> Any:
        """Unpickle the model, only when ``trust`` is True.

        Raises:
            PermissionDeniedError: ``trust`` is False.
        """
        del trusted_types  # a pickle cannot be checked type by type
        if not trust:
            raise PermissionDeniedError(
                "a generic Python model is pickled code: load it only from a source you "
                "trust, with trust=True"
            )
        import cloudpickle

        with (folder / PICKLE_FILE).open("rb") as file:
            return cloudpickle.load(file)

    def requirements(self, obj: object | None = None) -> dict[str, str]:
        """cloudpickle, plus the distributions that define ``obj``'s classes."""
        names = {"cloudpickle"}
        if obj is not None:
            names |= distributions_of([obj])
        return pinned(names)
