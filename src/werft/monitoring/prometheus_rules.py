"""werft's alert rules as a Prometheus alerting-rules file.

Teams that already run Prometheus and Alertmanager can evaluate werft's rules
there. Each rule becomes one Prometheus rule with the same condition:

- ``serving.*`` values are computed from the metrics ``werft serve`` exposes
  (``werft_request_latency_seconds``, ``werft_requests_total``) over a rate
  window, summed over every model the scraped replicas serve;
- every other value reads the gauge ``werft_monitor_value{monitor, value}``
  that the werft server's ``/metrics`` exposes from each monitor's latest result.

``and`` / ``or`` match series on the monitor label when both sides carry it,
otherwise on no label at all; ``not`` is pushed down to the comparisons
(``not a > 1`` becomes ``a <= 1``), which keeps werft's rule that a missing
value decides nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import yaml

from werft.errors import InvalidInputError
from werft.monitoring.alert_entities import AlertRule
from werft.monitoring.conditions import (
    And,
    Comparison,
    Node,
    Not,
    Op,
    Or,
    parse_condition,
    render_number,
)
from werft.monitoring.schedule import format_duration, parse_duration

MONITOR_METRIC = "werft_monitor_value"
GROUP = "werft"

_NEGATED: dict[Op, Op] = {">": "<=", ">=": "<", "<": ">=", "<=": ">", "==": "!=", "!=": "=="}


def _quantile(q: str) -> Callable[[str], str]:
    def expr(window: str) -> str:
        return (
            f"histogram_quantile({q}, sum by (le) "
            f"(rate(werft_request_latency_seconds_bucket[{window}])))"
        )

    return expr


SERVING: dict[str, Callable[[str], str]] = {
    "serving.latency_p50": _quantile("0.5"),
    "serving.latency_p95": _quantile("0.95"),
    "serving.latency_p99": _quantile("0.99"),
    "serving.error_rate": lambda w: (
        f'(sum(rate(werft_requests_total{{status=~"5.."}}[{w}])) '
        f"/ sum(rate(werft_requests_total[{w}])))"
    ),
    "serving.rps": lambda w: f"sum(rate(werft_requests_total[{w}]))",
    "serving.requests": lambda w: f"sum(increase(werft_requests_total[{w}]))",
}
"""PromQL for the serving values, given the rate window."""


@dataclass(frozen=True)
class _Expr:
    text: str
    per_monitor: bool  # the series carry the monitor label
    compound: bool  # needs parentheses inside and/or


def _quote(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def push_not(node: Node, negate: bool = False) -> Node:
    """The same condition without ``Not`` (De Morgan, flipped comparisons)."""
    if isinstance(node, Not):
        return push_not(node.item, not negate)
    if isinstance(node, Comparison):
        if not negate:
            return node
        return Comparison(node.name, _NEGATED[node.op], node.threshold, node.position)
    items = tuple(push_not(item, negate) for item in node.items)
    if negate:
        return Or(items) if isinstance(node, And) else And(items)
    return type(node)(items)


def _translate(node: Node, monitor: str | None, window: str) -> _Expr:
    if isinstance(node, Comparison):
        number = render_number(node.threshold)
        if node.name in SERVING:
            return _Expr(f"{SERVING[node.name](window)} {node.op} {number}", False, False)
        matchers = [f"value={_quote(node.name)}"]
        if monitor is not None:
            matchers.insert(0, f"monitor={_quote(monitor)}")
        selector = f"{MONITOR_METRIC}{{{','.join(matchers)}}}"
        return _Expr(f"{selector} {node.op} {number}", True, False)
    if isinstance(node, Not):  # pragma: no cover - push_not removed them
        raise AssertionError("push_not first")
    parts = [_translate(item, monitor, window) for item in node.items]
    keyword = "and" if isinstance(node, And) else "or"
    if keyword == "and":
        # ``A and B`` keeps A's series: put those with the monitor label first.
        parts.sort(key=lambda p: not p.per_monitor)
    text = _wrap(parts[0])
    per_monitor = parts[0].per_monitor
    for part in parts[1:]:
        matching = "on(monitor)" if per_monitor and part.per_monitor else "on()"
        text = f"{text} {keyword} {matching} {_wrap(part)}"
        per_monitor = per_monitor and part.per_monitor
    return _Expr(text, per_monitor, True)


def _wrap(expr: _Expr) -> str:
    return f"({expr.text})" if expr.compound else expr.text


def promql(condition: str, *, monitor: str | None = None, window: str = "5m") -> str:
    """The PromQL expression equivalent to a werft condition."""
    root = push_not(parse_condition(condition).root)
    return _translate(root, monitor, window).text


def alert_name(rule: str) -> str:
    """A Prometheus-safe alert name: ``churn-drift`` → ``churn_drift``."""
    name = re.sub(r"[^A-Za-z0-9_:]", "_", rule)
    return name if re.match(r"[A-Za-z_:]", name) else f"werft_{name}"


def _literal(text: str) -> str:
    # Annotations are Go templates: keep braces in user text from opening an action.
    return text.replace("{{", "{ {").replace("}}", "} }")


def _rule(rule: AlertRule, window: str) -> dict[str, object]:
    expr = _translate(push_not(parse_condition(rule.condition).root), rule.monitor, window)
    where = " on {{ $labels.monitor }}" if expr.per_monitor else ""
    summary = f"{_literal(rule.name)}: {_literal(rule.condition)}{where} (value {{{{ $value }}}})"
    description = _literal(rule.description) or (
        f"werft alert rule {_literal(rule.name)} ({rule.severity}) holds. "
        f"See it with: werft alerts list --rule {_literal(rule.name)}"
    )
    return {
        "alert": alert_name(rule.name),
        "expr": expr.text,
        "for": format_duration(rule.for_seconds),
        "labels": {"severity": rule.severity, "werft_rule": rule.name},
        "annotations": {"summary": summary, "description": description},
    }


def export_rules(rules: Sequence[AlertRule], *, window: str | int = "5m") -> str:
    """A Prometheus rule file (YAML) with one alerting rule per enabled werft rule.

    Args:
        rules: werft's rules; disabled ones are left out.
        window: The rate window for ``serving.*`` values (``5m``, ``1h`` ...).

    Raises:
        InvalidInputError: The window is not a positive duration.
    """
    seconds = parse_duration(window)
    if seconds <= 0:
        raise InvalidInputError(f"window {window!r} must be longer than 0 s")
    rate_window = format_duration(seconds)
    document = {
        "groups": [
            {"name": GROUP, "rules": [_rule(rule, rate_window) for rule in rules if rule.enabled]}
        ]
    }
    header = (
        "# Prometheus alerting rules exported from werft's alert rules.\n"
        f"# serving.* values use werft serve's metrics over a {rate_window} rate window;\n"
        f"# other values read {MONITOR_METRIC}, which the werft server exposes on /metrics.\n"
    )
    body = yaml.safe_dump(
        document, sort_keys=False, default_flow_style=False, allow_unicode=True, width=10_000
    )
    return header + body
