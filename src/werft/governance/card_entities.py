"""Model card entities: what `werft card` renders and the API returns (no I/O)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from werft.governance.approval_entities import Approval
from werft.governance.policy_entities import StoredUseCase
from werft.registry.entities import AliasEvent, ModelVersion, SourceCode
from werft.tracking.entities import DatasetInput


class _Entity(BaseModel):
    model_config = ConfigDict(frozen=True)


class CardCheck(_Entity):
    """One check of a gate report."""

    name: str
    passed: bool
    value: Any = None
    op: str = ""
    threshold: Any = None
    message: str = ""
    skipped: bool = False


class CardGate(_Entity):
    """A gate report, as the card shows it."""

    id: int
    passed: bool
    created_at: datetime
    created_by: str
    data_digest: str
    rows: int | None = None
    compared_with: int | None = None
    checks: list[CardCheck] = Field(default_factory=list)


class CardOverride(_Entity):
    """A gate override: who let the version past a failed or missing gate, and why."""

    at: datetime
    actor: str
    alias: str
    gate: str
    reason: str


class CardDeployment(_Entity):
    """A deployment that serves the model, and the monitors that watch it."""

    name: str
    alias: str
    strategy: str
    monitors: list[str] = Field(default_factory=list)


class AnnexSection(_Entity):
    """One point of Annex IV: what werft filled in, and what people must still add."""

    number: int
    title: str
    recorded: list[str] = Field(default_factory=list)
    needs: str = ""


class ModelCard(_Entity):
    """Everything the card shows, as data (``GET .../card?format=json``)."""

    generated_at: datetime
    version: ModelVersion
    use_case: StoredUseCase | None = None
    run_id: str | None = None
    run_name: str | None = None
    params: dict[str, str] = Field(default_factory=dict)
    metrics: dict[str, float] = Field(default_factory=dict)
    datasets: list[DatasetInput] = Field(default_factory=list)
    code: SourceCode | None = None
    environment: dict[str, Any] = Field(default_factory=dict)
    gates: list[CardGate] = Field(default_factory=list)
    approvals: list[Approval] = Field(default_factory=list)
    overrides: list[CardOverride] = Field(default_factory=list)
    alias_history: list[AliasEvent] = Field(default_factory=list)
    deployments: list[CardDeployment] = Field(default_factory=list)
    annex: list[AnnexSection] = Field(default_factory=list)

    @property
    def high_risk(self) -> bool:
        """True when the card follows Annex IV."""
        return bool(self.annex)

    @property
    def open_sections(self) -> list[AnnexSection]:
        """The Annex IV points that still need human input."""
        return [section for section in self.annex if section.needs]
