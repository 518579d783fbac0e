"""Monitoring entities: monitors, their per-window results, and business KPIs."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from werft.errors import InvalidInputError


class _Entity(BaseModel):
    model_config = ConfigDict(frozen=True)


class MonitorConfig(BaseModel):
    """What a monitor compares, and how strictly.

    Attributes:
        model: The model whose traffic is checked; ``None`` for a deployment's
            only model.
        reference: A dataset version as ``project/name@version`` (or ``@latest``)
            to compare inputs with; ``None`` uses the training dataset of the
            version being served.
        features: Input features to check; ``None`` for every feature of the reference.
        methods: Drift method per feature, overriding the defaults.
        thresholds: Drift threshold per feature, overriding the defaults.
        share_threshold: Share of drifted features from which the dataset counts
            as drifted.
        tolerance: How far a performance metric may fall below the version's
            validation metric before it counts as degraded.
        positive: The positive class of a binary classifier.
        baseline: Output histograms of the first window with traffic: the
            reference for prediction drift (set by the first run).
    """

    model_config = ConfigDict(extra="forbid")

    model: str | None = None
    reference: str | None = None
    features: list[str] | None = None
    methods: dict[str, str] = Field(default_factory=dict)
    thresholds: dict[str, float] = Field(default_factory=dict)
    share_threshold: float = Field(default=0.5, gt=0, le=1)
    tolerance: float = Field(default=0.05, ge=0)
    positive: str | None = None
    baseline: dict[str, Any] | None = None

    @field_validator("reference")
    @classmethod
    def _check_reference(cls, value: str | None) -> str | None:
        if value is not None and ("/" not in value or "@" not in value):
            raise InvalidInputError(
                f"reference {value!r} must name a dataset version as project/name@version, "
                "e.g. churn/customers@3 or churn/customers@latest"
            )
        return value


class Monitor(_Entity):
    """A scheduled check of one deployment's traffic."""

    id: str
    name: str
    deployment: str
    window_seconds: int
    schedule: str
    config: MonitorConfig
    enabled: bool
    next_run_at: datetime | None
    last_run_at: datetime | None
    created_at: datetime
    updated_at: datetime


class MonitorResult(_Entity):
    """One window's verdicts: drift, prediction drift, performance, quality, serving, KPIs.

    ``values`` is the flat view alert rules read (``drift.share``,
    ``serving.latency_p99``, ...; see docs/monitoring.md); ``report`` holds
    the details, histograms included.
    """

    id: int
    monitor: str
    window_start: datetime
    window_end: datetime
    computed_at: datetime
    rows: int
    status: Literal["ok", "drift", "no_data"]
    drift_share: float | None
    values: dict[str, float]
    report: dict[str, Any]


class Kpi(_Entity):
    """One business KPI value of a deployment at a point in time."""

    deployment: str
    name: str
    value: float
    time: datetime


MAX_KPI_NAME = 250


def check_kpi_name(name: str) -> str:
    """A KPI name: letters, digits, ``_ - .``, as alert rules refer to it as ``kpi.<name>``."""
    if not name or len(name) > MAX_KPI_NAME or not all(c.isalnum() or c in "_-." for c in name):
        raise InvalidInputError(
            f"KPI name {name[:80]!r} is invalid; use letters, digits, '_', '-' and '.' "
            f"(at most {MAX_KPI_NAME} characters), e.g. retained_customers"
        )
    return name


def check_kpi_value(name: str, value: float) -> float:
    """The value as a float; KPIs are finite numbers."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInputError(f"KPI {name!r} needs a finite number, got {value!r}")
    return float(value)
