"""A use case's release policy as promotion reads it (no I/O)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Policy(StrEnum):
    """How an alias may move."""

    AUTOMATIC = "automatic"
    APPROVAL = "approval"


class StoredUseCase(BaseModel):
    """The parts of a synced use case that promotion, approvals and model cards read."""

    model_config = ConfigDict(frozen=True)

    key: str = ""
    name: str = ""
    business_goal: str = ""
    owner: str = ""
    risk_class: str = ""
    intended_use: str = ""
    kpis: list[dict[str, Any]] = Field(default_factory=list)
    acceptance: list[dict[str, Any]] = Field(default_factory=list)
    approvers: list[str] = Field(default_factory=list)
    policy: dict[str, str] = Field(default_factory=dict)
    notify: list[str] = Field(default_factory=list)

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any] | None) -> StoredUseCase:
        """Read a stored spec (the ``werft.yaml`` keys, optionally under ``use_case``)."""
        data: Mapping[str, Any] = spec if isinstance(spec, Mapping) else {}
        nested = data.get("use_case")
        if isinstance(nested, Mapping):
            data = nested
        return cls(
            key=_text(data.get("key")),
            name=_text(data.get("name")),
            business_goal=_text(data.get("business_goal")),
            owner=_text(data.get("owner")),
            risk_class=_text(data.get("risk_class")).lower(),
            intended_use=_text(data.get("intended_use")),
            kpis=_records(data.get("kpis")),
            acceptance=_records(data.get("acceptance")),
            approvers=_names(data.get("approvers")),
            policy={
                str(alias): _text(value).lower()
                for alias, value in _mapping(data.get("policy")).items()
                if _text(value)
            },
            notify=_names(data.get("notify")),
        )

    def policy_for(self, alias: str) -> Policy | None:
        """The alias's policy; ``None`` when the use case does not name the alias."""
        word = self.policy.get(alias)
        if word is None:
            return None
        return Policy.AUTOMATIC if word == Policy.AUTOMATIC.value else Policy.APPROVAL


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _names(value: Any) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple):
        return []
    return [item.strip() for item in value if isinstance(item, str) and item.strip()]


def _records(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list | tuple):
        return []
    return [dict(item) for item in value if isinstance(item, Mapping)]
