"""The use case as code: ``werft.yaml``'s schema, reading it with line numbers, storing it."""

from werft.governance.usecases.document import (
    DEFAULT_FILE,
    LoadedUseCase,
    Problem,
    UseCaseInvalid,
    load_use_case,
    parse_use_case,
)
from werft.governance.usecases.entities import SyncedUseCase, UseCaseSync
from werft.governance.usecases.service import UseCaseService
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
    "UseCaseService",
    "UseCaseSync",
    "load_use_case",
    "parse_use_case",
]
