"""The use case as code: the schema of the ``use_case`` section of ``werft.yaml``.

The JSON form of :class:`UseCase` (``model_dump(mode="json")``) uses exactly
the keys of the file; it is what the metadata store keeps per project and
what promotion reads (``policy``, ``approvers``, ``risk_class``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from werft.errors import InvalidInputError
from werft.pipelines.spec import TrainingSpec
from werft.registry.uris import check_alias
from werft.tracking.validation import check_project_key

RiskClass = Literal["minimal", "limited", "high"]
"""Risk class after the EU AI Act."""

Operator = Literal[">=", ">", "<=", "<", "=="]
"""How an observed metric is compared with an acceptance threshold."""

MetricName = Literal["accuracy", "precision", "recall", "f1", "roc_auc", "mae", "rmse", "r2"]
"""The metrics ``werft check`` computes on evaluation data."""

PolicyKind = Literal["automatic", "approval"]
"""How an alias may be moved: when the gate passed, or only after an approval."""

METRICS: tuple[MetricName, ...] = get_args(MetricName)
CLASSIFICATION_METRICS: tuple[MetricName, ...] = (
    "accuracy",
    "precision",
    "recall",
    "f1",
    "roc_auc",
)
REGRESSION_METRICS: tuple[MetricName, ...] = ("mae", "rmse", "r2")
LOWER_IS_BETTER: frozenset[str] = frozenset({"mae", "rmse"})
"""Error metrics; every other metric is better when higher."""

Share = Annotated[float, Field(ge=0.0, le=1.0)]
Text = Annotated[str, Field(min_length=1, max_length=2000)]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Kpi(_Spec):
    """A business metric the use case is meant to move.

    Attributes:
        name: The KPI's name, e.g. ``retained_customers``.
        unit: What it is counted in, e.g. ``count``, ``EUR``, ``%``.
        direction: ``up`` when more is better, ``down`` when less is.
    """

    name: Annotated[str, Field(min_length=1, max_length=250)]
    unit: str = ""
    direction: Literal["up", "down"] = "up"


class AcceptanceRule(_Spec):
    """What a model must reach on evaluation data before production: ``roc_auc >= 0.85``."""

    metric: MetricName
    op: Operator
    value: float

    @field_validator("value")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise PydanticCustomError("finite_number", "expected a finite number")
        return value

    def holds(self, observed: float) -> bool:
        """Whether ``observed`` meets the rule."""
        return {
            ">=": observed >= self.value,
            ">": observed > self.value,
            "<=": observed <= self.value,
            "<": observed < self.value,
            "==": observed == self.value,
        }[self.op]

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.value:g}"


class DataChecks(_Spec):
    """Limits for the data checks of ``werft check`` (shares between 0 and 1).

    Attributes:
        max_null_rate: Highest share of missing values in any model input column.
        drift_share_max: Highest share of input features drifting from the training data.
        max_out_of_range_share: Highest share of a numeric column's values outside the
            training data's minimum and maximum.
        max_unseen_share: Highest share of a categorical column's values that the training
            data never had (for columns whose training values are all known).
    """

    max_null_rate: Share = 0.05
    drift_share_max: Share = 0.5
    max_out_of_range_share: Share = 0.05
    max_unseen_share: Share = 0.0


def _approval_for_production() -> dict[str, PolicyKind]:
    return {"production": "approval"}


class UseCase(_Spec):
    """A project's use case: goal, owner, risk, KPIs, acceptance criteria, release policy.

    Attributes:
        key: The project key the use case belongs to.
        name: Display name.
        business_goal: What the business wants to achieve.
        owner: Who owns the goal (a person or a team).
        risk_class: ``minimal``, ``limited`` or ``high`` (EU AI Act).
        intended_use: Free text for the model card.
        kpis: Business metrics the use case is meant to move.
        acceptance: Thresholds a model must reach on evaluation data.
        regression_tolerance: Per metric, how much worse than the production version a
            new version may be on the same data.
        data_checks: Limits for the checks of the evaluation data.
        approvers: Who may approve a promotion.
        policy: Per alias, ``automatic`` (moves when the gate passed) or ``approval``.
        notify: Alert channels that hear about approval requests and decisions.
        target: The label column of evaluation data (else ``werft check --label``).
        positive_class: The positive class of a binary classifier (else the larger class).
        latency_budget_ms: Highest p95 latency of a single-row prediction, in milliseconds.
    """

    key: str
    name: Annotated[str, Field(min_length=1, max_length=250)]
    business_goal: Text
    owner: Annotated[str, Field(min_length=1, max_length=250)]
    risk_class: RiskClass
    intended_use: str | None = None
    kpis: list[Kpi] = Field(default_factory=list)
    acceptance: list[AcceptanceRule] = Field(default_factory=list)
    regression_tolerance: dict[MetricName, Annotated[float, Field(ge=0.0)]] = Field(
        default_factory=dict
    )
    data_checks: DataChecks = Field(default_factory=DataChecks)
    approvers: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        default_factory=list
    )
    policy: dict[str, PolicyKind] = Field(default_factory=_approval_for_production)
    notify: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(default_factory=list)
    target: str | None = None
    positive_class: bool | int | float | str | None = None
    latency_budget_ms: Annotated[float, Field(gt=0)] | None = None

    @field_validator("key")
    @classmethod
    def _key(cls, key: str) -> str:
        return _checked(check_project_key, key)

    @field_validator("policy")
    @classmethod
    def _aliases(cls, policy: dict[str, PolicyKind]) -> dict[str, PolicyKind]:
        for alias in policy:
            _checked(check_alias, alias)
        return policy

    @field_validator("approvers")
    @classmethod
    def _distinct(cls, approvers: list[str]) -> list[str]:
        repeated = sorted({a for a in approvers if approvers.count(a) > 1})
        if repeated:
            raise PydanticCustomError(
                "duplicate_approver", "approvers are listed twice: {names}", {"names": repeated}
            )
        return approvers

    @model_validator(mode="after")
    def _approvers_for_approval(self) -> UseCase:
        gated = sorted(alias for alias, kind in self.policy.items() if kind == "approval")
        if gated and not self.approvers:
            raise PydanticCustomError(
                "approvers_required",
                "policy {aliases} needs approval, so list at least one approver",
                {"aliases": ", ".join(gated), "field": "approvers"},
            )
        return self


class UseCaseFile(_Spec):
    """The whole ``werft.yaml``: the ``use_case`` section and, optionally, ``training``."""

    use_case: UseCase
    training: TrainingSpec | None = None


def _checked(check: Callable[[str], str], value: str) -> str:
    try:
        return check(value)
    except InvalidInputError as exc:
        raise PydanticCustomError("invalid_value", "{reason}", {"reason": exc.message}) from None
