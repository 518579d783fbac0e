"""The ``werft.yaml`` that ``werft init`` writes: every field, with what it means."""

from __future__ import annotations

import json
from collections.abc import Sequence

import yaml

from werft.governance.usecases.document import parse_use_case
from werft.governance.usecases.spec import RiskClass

_TEMPLATE = """\
# The use case as code: what this project is for, what a model must reach
# before production, and who releases it. `werft validate` checks this file;
# `werft validate --sync` stores it for the project; `werft check` applies it.
use_case:
  key: {key}                      # the project key
  name: {name}
  business_goal: {goal}
  owner: {owner}
  risk_class: {risk_class}          # minimal | limited | high (EU AI Act)
  # intended_use: who uses the predictions, for what, and for what not (model card)
  kpis:                           # business metrics the use case should move
    - {{name: retained_customers, unit: count, direction: up}}
  acceptance:                     # what a model must reach on holdout data
    - {{metric: roc_auc, op: ">=", value: 0.80}}
  regression_tolerance: {{roc_auc: 0.01}}   # how much worse than production is allowed
  data_checks: {{max_null_rate: 0.05, drift_share_max: 0.3}}
  approvers: [{approvers}]
  policy: {{production: approval, staging: automatic}}
  # notify: [ops-mail]            # alert channels told about approval requests
  # target: label               # the label column of evaluation data
  # latency_budget_ms: 50       # p95 of a single-row prediction
"""


def render(
    *,
    key: str,
    name: str,
    goal: str,
    owner: str,
    risk_class: RiskClass,
    approvers: Sequence[str],
) -> str:
    """A complete ``werft.yaml``; validated before it is returned.

    Raises:
        UseCaseInvalid: A value makes the file invalid (e.g. a malformed key).
    """
    text = _TEMPLATE.format(
        key=_scalar(key),
        name=_scalar(name),
        goal=_scalar(goal),
        owner=_scalar(owner),
        risk_class=_scalar(risk_class),
        approvers=", ".join(_scalar(a, flow=True) for a in approvers),
    )
    parse_use_case(text)
    return text


def _scalar(text: str, *, flow: bool = False) -> str:
    """``text`` plain when YAML reads it back unchanged, else double-quoted."""
    probe = f"k: [{text}]" if flow else f"k: {text}"
    try:
        plain = yaml.safe_load(probe) == {"k": [text] if flow else text}
    except yaml.YAMLError:
        plain = False
    return text if plain and "#" not in text else json.dumps(text, ensure_ascii=False)
