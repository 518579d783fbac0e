"""The alerting contract, against both backends (local, remote) and both databases."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from werft.errors import AlreadyExistsError, ConflictError, InvalidInputError, NotFoundError
from werft.monitoring.prometheus_rules import export_rules
from werft.sdk.backend import Backend
from werft.services import Services


def _setup(backend: Backend, url: str) -> None:
    backend.create_alert_channel("hook", "webhook", {"url": url, "format": "mattermost"})
    backend.create_alert_rule(
        "churn-drift",
        condition="drift.share>0.3",
        for_seconds=0,
        severity="critical",
        monitor="churn-prod",
        channels=["hook"],
        description="retrain",
    )


def test_channels_round_trip(backend: Backend, webhook: Any) -> None:
    created = backend.create_alert_channel(
        "mail", "email", {"host": "smtp.local", "to": ["ops@example.org"], "starttls": True}
    )
    assert created.kind == "email" and created.config["port"] == 25
    assert created.config["starttls"] is True and created.config["password_env"] is None
    assert backend.get_alert_channel("mail") == created
    backend.create_alert_channel("hook", "webhook", {"url": webhook.url})
    assert [c.name for c in backend.list_alert_channels()] == ["hook", "mail"]
    result = backend.test_alert_channel("hook")
    assert result.ok and result.channel == "hook"
    backend.delete_alert_channel("mail")
    with pytest.raises(NotFoundError, match="'mail'"):
        backend.get_alert_channel("mail")
    with pytest.raises(AlreadyExistsError, match="'hook'"):
        backend.create_alert_channel("hook", "webhook", {"url": webhook.url})
    with pytest.raises(InvalidInputError, match="kind 'sms'"):
        backend.create_alert_channel("x", "sms", {})


def test_rules_round_trip(backend: Backend, webhook: Any) -> None:
    _setup(backend, webhook.url)
    rule = backend.get_alert_rule("churn-drift")
    assert (rule.condition, rule.severity, rule.monitor, rule.channels) == (
        "drift.share > 0.3",
        "critical",
        "churn-prod",
        ["hook"],
    )
    assert backend.list_alert_rules() == [rule]
    assert backend.set_alert_rule_enabled("churn-drift", False).enabled is False
    assert backend.set_alert_rule_enabled("churn-drift", True).enabled is True
    with pytest.raises(ConflictError, match="churn-drift"):
        backend.delete_alert_channel("hook")
    backend.delete_alert_rule("churn-drift")
    with pytest.raises(NotFoundError, match="'churn-drift'"):
        backend.get_alert_rule("churn-drift")


def test_errors_are_the_same_kinds_with_the_same_messages(backend: Backend) -> None:
    with pytest.raises(InvalidInputError) as info:
        backend.create_alert_rule("r", condition="drift.share > ")
    assert info.value.message.splitlines() == [
        "invalid condition at character 15: expected a number after '>', found end of input",
        "  drift.share > ",
        "                ^",
    ]
    with pytest.raises(NotFoundError, match=r"'a', 'b' not found"):
        backend.create_alert_rule("r", condition="rows > 1", channels=["a", "b"])
    with pytest.raises(NotFoundError, match="notification 77"):
        backend.retry_alert_notification(77)


def test_alerts_notifications_and_delivery(
    backend: Backend, services: Services, webhook: Any
) -> None:
    _setup(backend, webhook.url)
    services.alerts.evaluate("churn-prod", {"drift.share": 0.4})
    [alert] = backend.list_alerts(state="firing", monitor="churn-prod")
    assert (alert.rule, alert.severity, alert.value) == ("churn-drift", "critical", 0.4)
    assert backend.list_alerts(rule="other") == []
    [pending] = backend.list_alert_notifications(status="pending")
    assert (pending.alert_id, pending.channel, pending.event) == (alert.id, "hook", "firing")
    assert pending.payload["rule"]["description"] == "retrain"

    webhook.statuses = [500]
    report = backend.deliver_alert_notifications()
    assert (report.attempted, report.retrying) == (1, 1)
    [waiting] = report.notifications
    assert "HTTP 500" in waiting.last_error
    retried = backend.retry_alert_notification(waiting.id)
    assert retried.status == "pending" and retried.attempts == 0
    assert backend.deliver_alert_notifications().sent == 1
    assert webhook.bodies()[1]["attachments"][0]["color"] == "#D00000"
    assert backend.list_alert_notifications(status="sent")[0].id == waiting.id


def test_prometheus_export_is_the_same_text(
    backend: Backend, services: Services, webhook: Any
) -> None:
    _setup(backend, webhook.url)
    text = backend.export_prometheus_rules(window="2m")
    assert text == export_rules(services.alerts.list_rules(), window="2m")
    [rule] = yaml.safe_load(text)["groups"][0]["rules"]
    assert rule["alert"] == "churn_drift" and rule["labels"]["severity"] == "critical"
