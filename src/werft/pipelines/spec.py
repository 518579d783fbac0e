"""The ``training`` section of ``werft.yaml``: how a use case's model is (re)trained.

```yaml
training:
  entrypoint: train.py:main        # a function taking params and a data handle
  params: {depth: 3, lr: 0.1}
  data: {train: customers@latest, holdout: customers-holdout@latest}
  model: churn-classifier          # optional: the model the entrypoint registers
  executor: local                  # or ray://head:10001, http://head:8265
  timeout: 2h
  triggers:
    - schedule: "0 3 * * 1"        # Mondays 03:00 (UTC)
    - alert: churn-drift           # when this alert rule fires
    - dataset: customers           # when a new version of it is registered
  on_success: {promote_to: production}   # through the use case's policy
```

Pure validation: the pieces are checked as the executors, the scheduler and
the registry will read them, so a typo fails at `werft validate`, with the
line, and not at three in the morning.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from werft.errors import InvalidInputError
from werft.monitoring.schedule import check_schedule, parse_duration
from werft.pipelines.jobs import parse_entrypoint
from werft.registry.uris import check_alias, check_model_name
from werft.tracking.validation import check_key

_DATASET_REF = re.compile(r"^(?P<name>[^@\s]+)@(?P<version>latest|[1-9][0-9]*)$")


def check_executor(spec: str) -> str:
    """The executor spec, checked: ``local``, ``ray``, ``ray://HEAD:PORT`` or ``http(s)://HEAD:PORT``.

    Raises:
        InvalidInputError: Not one of these forms.
    """
    value = spec.strip()
    scheme, sep, rest = value.partition("://")
    if value in ("local", "ray") or (sep and rest and scheme in ("ray", "http", "https")):
        return value
    raise InvalidInputError(
        f"executor {spec!r} is not known; use 'local', 'ray', 'ray://HEAD:10001' "
        "(a Ray Client address) or 'http://HEAD:8265' (a Ray dashboard)"
    )


def parse_dataset_ref(ref: str) -> tuple[str, int | None]:
    """``customers@3`` → ``("customers", 3)``; ``customers@latest`` → ``("customers", None)``.

    Raises:
        InvalidInputError: Not ``NAME@VERSION`` or ``NAME@latest``.
    """
    match = _DATASET_REF.match(ref.strip())
    if match is None:
        raise InvalidInputError(
            f"dataset reference {ref!r} must be NAME@VERSION or NAME@latest, e.g. customers@latest"
        )
    name = check_key("dataset", match["name"])
    version = match["version"]
    return name, None if version == "latest" else int(version)


def _checked(check: Any, value: Any) -> Any:
    try:
        return check(value)
    except InvalidInputError as exc:
        raise PydanticCustomError("invalid_value", "{reason}", {"reason": exc.message}) from None


def _entrypoint(value: Any) -> Any:
    if isinstance(value, str):
        _checked(parse_entrypoint, value)
    return value


def _duration(value: Any) -> Any:
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        seconds = _checked(parse_duration, value)
        if seconds <= 0:
            raise PydanticCustomError("invalid_value", "a timeout must be positive", {})
        return seconds
    return value


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TriggerSpec(_Spec):
    """What starts a retraining: exactly one of ``schedule``, ``alert``, ``dataset``.

    Attributes:
        schedule: A five-field cron expression (UTC).
        alert: The name of an alert rule; its firing starts a run.
        dataset: A dataset name of the project; a new version starts a run.
    """

    schedule: str | None = None
    alert: str | None = None
    dataset: str | None = None

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        return None if value is None else _checked(check_schedule, value)

    @field_validator("dataset")
    @classmethod
    def _dataset(cls, value: str | None) -> str | None:
        return None if value is None else _checked(lambda v: check_key("dataset", v), value)

    @model_validator(mode="after")
    def _exactly_one(self) -> TriggerSpec:
        given = [k for k in ("schedule", "alert", "dataset") if getattr(self, k) is not None]
        if len(given) != 1:
            raise PydanticCustomError(
                "one_trigger",
                "a trigger is exactly one of schedule, alert or dataset; got {given}",
                {"given": ", ".join(given) or "none"},
            )
        return self

    @property
    def kind(self) -> str:
        """``schedule``, ``alert`` or ``dataset``."""
        return next(k for k in ("schedule", "alert", "dataset") if getattr(self, k) is not None)


class OnSuccess(_Spec):
    """What follows a successful training: the candidate's promotion, through the policy."""

    promote_to: str | None = None

    @field_validator("promote_to")
    @classmethod
    def _alias(cls, value: str | None) -> str | None:
        return None if value is None else _checked(check_alias, value)


class TrainingSpec(_Spec):
    """The ``training`` section; see the module docstring for an example.

    Attributes:
        entrypoint: ``path/to/file.py:function`` (relative to the repository) or
            ``package.module:function``; called as ``function(params=..., data=...)``.
        params: JSON-compatible parameters passed to the function.
        data: Role → dataset reference (``customers@latest`` or ``customers@3``);
            ``@latest`` is pinned to a version number when a run starts.
        model: The registered model the entrypoint registers its candidate in; needed
            only when it registers versions of several models.
        executor: ``local`` (a subprocess), ``ray``, ``ray://HEAD:10001`` or
            ``http://HEAD:8265``.
        timeout: Seconds (or ``90m``, ``2h``) before a run is stopped; none by default.
        triggers: What starts a run besides ``werft train``.
        on_success: ``promote_to`` an alias after a passed gate.
    """

    entrypoint: Annotated[str, BeforeValidator(_entrypoint)]
    params: dict[str, Any] = Field(default_factory=dict)
    data: dict[str, str] = Field(default_factory=dict)
    model: str | None = None
    executor: str = "local"
    timeout: Annotated[int | None, BeforeValidator(_duration)] = None
    triggers: list[TriggerSpec] = Field(default_factory=list)
    on_success: OnSuccess = Field(default_factory=OnSuccess)

    @field_validator("data")
    @classmethod
    def _refs(cls, value: dict[str, str]) -> dict[str, str]:
        for ref in value.values():
            _checked(parse_dataset_ref, ref)
        return value

    @field_validator("model")
    @classmethod
    def _model(cls, value: str | None) -> str | None:
        return None if value is None else _checked(check_model_name, value)

    @field_validator("executor")
    @classmethod
    def _executor(cls, value: str) -> str:
        return str(_checked(check_executor, value))
