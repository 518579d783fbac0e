"""werft's alert rules exported as Prometheus alerting rules: PromQL and a valid file."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from werft.errors import InvalidInputError
from werft.monitoring.alert_entities import AlertRule
from werft.monitoring.prometheus_rules import alert_name, export_rules, promql

P99 = "histogram_quantile(0.99, sum by (le) (rate(werft_request_latency_seconds_bucket[5m])))"
ERROR_RATE = (
    '(sum(rate(werft_requests_total{status=~"5.."}[5m])) / sum(rate(werft_requests_total[5m])))'
)


def _rule(name: str, condition: str, **fields: object) -> AlertRule:
    values: dict[str, object] = {
        "id": name,
        "name": name,
        "condition": condition,
        "for_seconds": 1800,
        "severity": "warning",
        "monitor": None,
        "channels": [],
        "description": "",
        "enabled": True,
        "created_at": datetime(2025, 1, 1, tzinfo=UTC),
    }
    return AlertRule.model_validate(values | fields)


def test_serving_values_read_werft_serve_metrics() -> None:
    assert promql("serving.latency_p99 > 0.2") == f"{P99} > 0.2"
    assert promql("serving.latency_p50 > 0.05", window="1m").startswith(
        "histogram_quantile(0.5, sum by (le) (rate(werft_request_latency_seconds_bucket[1m])))"
    )
    assert promql("serving.error_rate >= 0.05") == f"{ERROR_RATE} >= 0.05"
    assert promql("serving.rps < 1") == "sum(rate(werft_requests_total[5m])) < 1"


def test_monitor_values_read_the_werft_server_gauge() -> None:
    assert (
        promql("drift.share > 0.3", monitor="churn-prod")
        == 'werft_monitor_value{monitor="churn-prod",value="drift.share"} > 0.3'
    )
    kpi = promql("kpi.revenue.mean < 1e-05")
    assert kpi == 'werft_monitor_value{value="kpi.revenue.mean"} < 1e-05'
    assert promql('`drift.score.say "hi"` > 1') == (
        'werft_monitor_value{value="drift.score.say \\"hi\\""} > 1'
    )


def test_and_or_match_on_the_monitor_when_both_sides_have_it() -> None:
    assert promql("drift.share > 0.3 and rows >= 100") == (
        'werft_monitor_value{value="drift.share"} > 0.3 and on(monitor) '
        'werft_monitor_value{value="rows"} >= 100'
    )
    # A serving value has no monitor label: match on nothing, keep the monitor side first.
    assert promql("serving.latency_p99 > 0.2 and drift.share > 0.3") == (
        f'werft_monitor_value{{value="drift.share"}} > 0.3 and on() {P99} > 0.2'
    )
    assert promql("(drift.share > 0.3 or rows < 10) and serving.rps > 1") == (
        '(werft_monitor_value{value="drift.share"} > 0.3 or on(monitor) '
        'werft_monitor_value{value="rows"} < 10) and on() sum(rate(werft_requests_total[5m])) > 1'
    )


def test_not_is_pushed_down_to_the_comparisons() -> None:
    negated = promql("not performance.f1 >= 0.7")
    assert negated == 'werft_monitor_value{value="performance.f1"} < 0.7'
    assert promql("not (rows > 1 or drift.detected == 1)") == (
        'werft_monitor_value{value="rows"} <= 1 and on(monitor) '
        'werft_monitor_value{value="drift.detected"} != 1'
    )
    assert promql("not not rows > 1") == 'werft_monitor_value{value="rows"} > 1'


def test_alert_names_are_prometheus_safe() -> None:
    assert alert_name("churn-drift.v2") == "churn_drift_v2"
    assert alert_name("9lives") == "werft_9lives"


def test_the_export_is_a_rule_file_prometheus_reads(tmp_path: Path) -> None:
    rules = [
        _rule("churn-drift", "drift.share > 0.3", monitor="churn-prod", severity="critical"),
        _rule("slow", "serving.latency_p99 > 0.2", for_seconds=300, description="Too {{slow}}."),
        _rule("off", "rows < 1", enabled=False),
        _rule("now", "serving.error_rate > 0.1", for_seconds=0),
    ]
    text = export_rules(rules, window="10m")
    assert text.startswith("# Prometheus alerting rules exported from werft")
    document = yaml.safe_load(text)
    [group] = document["groups"]
    assert group["name"] == "werft"
    drift, slow, now = group["rules"]
    assert drift == {
        "alert": "churn_drift",
        "expr": 'werft_monitor_value{monitor="churn-prod",value="drift.share"} > 0.3',
        "for": "30m",
        "labels": {"severity": "critical", "werft_rule": "churn-drift"},
        "annotations": {
            "summary": "churn-drift: drift.share > 0.3 on {{ $labels.monitor }} "
            "(value {{ $value }})",
            "description": "werft alert rule churn-drift (critical) holds. "
            "See it with: werft alerts list --rule churn-drift",
        },
    }
    assert slow["expr"] == P99.replace("[5m]", "[10m]") + " > 0.2"
    assert slow["for"] == "5m" and slow["annotations"]["description"] == "Too { {slow} }."
    assert "labels.monitor" not in slow["annotations"]["summary"]
    assert now["for"] == "0s" and now["labels"]["severity"] == "warning"

    promtool = shutil.which("promtool")
    if promtool:  # not installed here; CI images that have it check the file for real
        path = tmp_path / "rules.yml"
        path.write_text(text)
        subprocess.run([promtool, "check", "rules", str(path)], check=True)


def test_an_empty_export_is_still_a_valid_file() -> None:
    assert yaml.safe_load(export_rules([])) == {"groups": [{"name": "werft", "rules": []}]}


def test_the_window_must_be_a_duration() -> None:
    with pytest.raises(InvalidInputError, match="not understood"):
        export_rules([], window="soon")
    with pytest.raises(InvalidInputError, match="longer than 0 s"):
        export_rules([], window="0s")
