"""What the use case service returns: the stored use case and the outcome of a sync."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from werft.governance.usecases.spec import UseCase


class SyncedUseCase(BaseModel):
    """A project's use case as last synced.

    Attributes:
        project: The project key.
        spec: The use case.
        digest: SHA-256 of the file it was synced from (``sha256:<hex>``).
        updated_at: When it was last synced with a change.
        updated_by: Who synced it.
    """

    model_config = ConfigDict(frozen=True)

    project: str
    spec: UseCase
    digest: str
    updated_at: datetime
    updated_by: str


class UseCaseSync(BaseModel):
    """The outcome of one sync.

    Attributes:
        use_case: The use case as stored now.
        created: True when the project had no use case before.
        changed: The top-level fields whose value changed (every field when created).
        stored: False when the same file had been synced before and nothing was written.
        project_created: True when the project itself was created by the sync.
    """

    model_config = ConfigDict(frozen=True)

    use_case: SyncedUseCase
    created: bool
    changed: list[str] = Field(default_factory=list)
    stored: bool = True
    project_created: bool = False
