"""Gate entities: one check's verdict, an evaluation to store, a stored report."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from werft.registry.entities import VersionStatus

CheckKind = Literal["data", "model"]


class Check(BaseModel):
    """The verdict of one check.

    Attributes:
        name: Stable name, e.g. ``data.null_rate`` or ``model.acceptance.roc_auc``.
        kind: ``data`` (the evaluation data) or ``model`` (the model on it).
        passed: Whether the check passed; a skipped check passes.
        value: What was observed (a number where there is one).
        threshold: The limit it was held against.
        op: How ``value`` is compared with ``threshold`` (``>=``, ``<=`` ...).
        message: What was found, for a person; for a failure, what to look at.
        skipped: True when the check could not apply (no production version, no
            training profile); ``message`` says why.
    """

    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=1, max_length=200)
    kind: CheckKind
    passed: bool
    value: float | str | None = None
    threshold: float | str | None = None
    op: str | None = None
    message: str = ""
    skipped: bool = False

    @field_validator("value", "threshold")
    @classmethod
    def _finite(cls, value: float | str | None) -> float | str | None:
        # JSON (and PostgreSQL's JSON type) has no NaN or infinity.
        if isinstance(value, float) and not math.isfinite(value):
            return str(value)
        return value


class CiRun(BaseModel):
    """Where an automated gate ran: the CI job (or werft's own pipeline) that ran it.

    Attributes:
        provider: ``gitlab``, ``github``, ``jenkins``, ``ci`` (another CI that sets
            ``CI=true``) or ``werft-pipeline`` (a retraining's gate).
        url: The job's page, where the provider says.
        job: The job's or run's id.
        commit: The commit the job ran on.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    provider: str = Field(min_length=1, max_length=50)
    url: str = Field(default="", max_length=2000)
    job: str = Field(default="", max_length=200)
    commit: str = Field(default="", max_length=64)


class GateEvaluation(BaseModel):
    """What ``werft check`` found, sent to the registry to be stored on the version.

    Attributes:
        data_digest: The evaluation data's dataset digest.
        rows: Rows of evaluation data.
        checks: Every check, data checks first.
        use_case: The project key of the use case applied.
        use_case_digest: The digest of the use case file applied.
        compared_with: The production version compared with, if any.
        ci: The CI job that ran the check; None when a person ran it.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    data_digest: str = Field(max_length=80)
    rows: int = Field(ge=0)
    checks: list[Check] = Field(min_length=1, max_length=10_000)
    use_case: str | None = None
    use_case_digest: str | None = None
    compared_with: int | None = None
    ci: CiRun | None = None

    @property
    def passed(self) -> bool:
        """True when every check passed."""
        return all(check.passed for check in self.checks)

    @property
    def failed(self) -> list[Check]:
        """The checks that failed."""
        return [check for check in self.checks if not check.passed]


class GateReport(BaseModel):
    """A gate report stored on a model version.

    Attributes:
        id: The report's number.
        model: The model's name.
        version: The version's number.
        passed: The verdict: every check passed.
        version_status: The status the version had once the report was stored.
        data_digest: The evaluation data's dataset digest.
        rows: Rows of evaluation data.
        checks: Every check, data checks first.
        use_case: The project key of the use case applied.
        use_case_digest: The digest of the use case file applied.
        compared_with: The production version compared with, if any.
        ci: The CI job that ran the check; None when a person ran it.
        created_at: When it was stored.
        created_by: Who ran the check.
    """

    model_config = ConfigDict(frozen=True)

    id: int
    model: str
    version: int
    passed: bool
    version_status: VersionStatus
    data_digest: str
    rows: int
    checks: list[Check]
    use_case: str | None = None
    use_case_digest: str | None = None
    compared_with: int | None = None
    ci: CiRun | None = None
    created_at: datetime
    created_by: str

    @property
    def failed(self) -> list[Check]:
        """The checks that failed."""
        return [check for check in self.checks if not check.passed]
