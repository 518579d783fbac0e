"""The use case as code: ``werft.yaml``'s schema, reading it with line numbers, storing it.

The package itself holds no I/O beyond reading the file, so the SDK's backends
can use its types without loading the store; the service that stores a use
case is :class:`werft.governance.usecases.service.UseCaseService`.
"""

from werft.governance.usecases.document import (
    DEFAULT_FILE,
    LoadedUseCase,
    Problem,
    UseCaseInvalid,
    load_use_case,
    parse_use_case,
)
from werft.governance.usecases.entities import SyncedUseCase, UseCaseSync
from werft.governance.usecases.spec import (
    AcceptanceRule,
    DataChecks,
    Kpi,
    UseCase,
)

__all__ = [
    "DEFAULT_FILE",
    "AcceptanceRule",
    "DataChecks",
    "Kpi",
    "LoadedUseCase",
    "Problem",
    "SyncedUseCase",
    "UseCase",
    "UseCaseInvalid",
    "UseCaseSync",
    "load_use_case",
    "parse_use_case",
]
