"""Alert rules, the alert state machine and the notification outbox, on a real store.

Notifications go to real receivers on loopback (an HTTP server, aiosmtpd);
time moves by an injected clock, so nothing sleeps.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select

from werft.errors import AlreadyExistsError, ConflictError, InvalidInputError, NotFoundError
from werft.monitoring.alerts import AlertService
from werft.monitoring.outbox import MAX_ATTEMPTS
from werft.services import Services
from werft.store.models import AlertRow, NotificationRow

DRIFTED = {"drift.share": 0.42, "rows": 500.0}
CALM = {"drift.share": 0.1, "rows": 500.0}


@pytest.fixture
def alerts(services: Services, clock: Any) -> AlertService:
    return AlertService(services.db, clock=clock)


def _hook(alerts: AlertService, url: str, name: str = "hook", fmt: str = "generic") -> None:
    alerts.create_channel(name, "webhook", {"url": url, "format": fmt})


def _rule(alerts: AlertService, *, channels: tuple[str, ...] = ("hook",), **fields: Any) -> None:
    options: dict[str, Any] = {
        "condition": "drift.share > 0.3",
        "for_seconds": 1800,
        "severity": "critical",
        "monitor": "churn-prod",
        "channels": channels,
    }
    alerts.create_rule("churn-drift", **(options | fields))


def _count(services: Services, model: type[Any]) -> int:
    with services.db.session(write=False) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


# --- the state machine --------------------------------------------------------------------


def test_rule_fires_after_its_for_duration_and_notifies_once(
    alerts: AlertService, clock: Any, webhook: Any
) -> None:
    _hook(alerts, webhook.url)
    _rule(alerts)
    [pending] = alerts.evaluate("churn-prod", DRIFTED, clock.now)
    assert pending.state == "pending" and pending.fired_at is None
    assert pending.value == 0.42 and "drift.share = 0.42" in pending.message
    assert alerts.list_notifications() == []

    clock.advance(minutes=29)
    [still] = alerts.evaluate("churn-prod", DRIFTED, clock.now)
    assert (still.id, still.state) == (pending.id, "pending")

    clock.advance(minutes=1)
    [fired] = alerts.evaluate("churn-prod", DRIFTED, clock.now)
    assert (fired.id, fired.state, fired.fired_at) == (pending.id, "firing", clock.now)
    assert fired.pending_since == pending.pending_since

    clock.advance(minutes=15)
    [again] = alerts.evaluate("churn-prod", {"drift.share": 0.5}, clock.now)
    assert (again.id, again.state, again.value) == (pending.id, "firing", 0.5)
    [notification] = alerts.list_notifications()
    assert (notification.alert_id, notification.event, notification.status) == (
        pending.id,
        "firing",
        "pending",
    )
    assert alerts.list_alerts() == [again]


def test_for_zero_fires_at_once(alerts: AlertService, clock: Any, webhook: Any) -> None:
    _hook(alerts, webhook.url)
    _rule(alerts, for_seconds=0)
    [alert] = alerts.evaluate("churn-prod", DRIFTED, clock.now)
    assert alert.state == "firing" and alert.fired_at == alert.pending_since == clock.now
    assert [n.event for n in alerts.list_notifications()] == ["firing"]


def test_firing_alert_resolves_and_a_new_one_opens_later(
    alerts: AlertService, clock: Any, webhook: Any
) -> None:
    _hook(alerts, webhook.url)
    _rule(alerts, for_seconds=0)
    [first] = alerts.evaluate("churn-prod", DRIFTED, clock.now)
    clock.advance(minutes=15)
    [resolved] = alerts.evaluate("churn-prod", CALM, clock.now)
    assert (resolved.id, resolved.state, resolved.resolved_at) == (first.id, "resolved", clock.now)
    assert "no longer holds" in resolved.message and resolved.value == 0.1
    assert alerts.evaluate("churn-prod", CALM, clock.advance(minutes=15)) == []

    clock.advance(minutes=15)
    [second] = alerts.evaluate("churn-prod", DRIFTED, clock.now)
    assert second.id != first.id and second.state == "firing"
    assert [a.state for a in alerts.list_alerts()] == ["firing", "resolved"]
    assert [a.id for a in alerts.list_alerts(state="resolved")] == [first.id]
    events = [(n.alert_id, n.event) for n in reversed(alerts.list_notifications())]
    assert events == [(first.id, "firing"), (first.id, "resolved"), (second.id, "firing")]


def test_a_pending_alert_that_clears_is_dropped_without_notifications(
    alerts: AlertService, clock: Any, webhook: Any, services: Services
) -> None:
    _hook(alerts, webhook.url)
    _rule(alerts)
    alerts.evaluate("churn-prod", DRIFTED, clock.now)
    assert alerts.evaluate("churn-prod", CALM, clock.advance(minutes=10)) == []
    assert alerts.list_alerts() == [] and _count(services, NotificationRow) == 0
    # The next breach starts the 'for' clock again.
    [pending] = alerts.evaluate("churn-prod", DRIFTED, clock.advance(minutes=10))
    assert pending.state == "pending" and pending.pending_since == clock.now


def test_a_missing_value_keeps_the_state(alerts: AlertService, clock: Any, webhook: Any) -> None:
    _hook(alerts, webhook.url)
    _rule(alerts)
    alerts.evaluate("churn-prod", DRIFTED, clock.now)
    [unknown] = alerts.evaluate("churn-prod", {"rows": 0.0}, clock.advance(minutes=20))
    assert unknown.state == "pending" and unknown.evaluated_at == clock.now
    [fired] = alerts.evaluate("churn-prod", DRIFTED, clock.advance(minutes=10))
    assert fired.state == "firing"
    [kept] = alerts.evaluate("churn-prod", {}, clock.advance(minutes=10))
    assert kept.state == "firing"
    assert len(alerts.list_notifications()) == 1
    assert alerts.evaluate("other-monitor", {}, clock.now) == []


def test_rules_apply_to_their_monitor_or_to_each_monitor(alerts: AlertService, clock: Any) -> None:
    alerts.create_rule("one", condition="drift.share > 0.3", monitor="churn-prod")
    alerts.create_rule("every", condition="drift.share > 0.3", severity="info")
    fired = alerts.evaluate("churn-prod", DRIFTED, clock.now)
    assert sorted((a.rule, a.monitor, a.state) for a in fired) == [
        ("every", "churn-prod", "firing"),
        ("one", "churn-prod", "firing"),
    ]
    [other] = alerts.evaluate("churn-test", DRIFTED, clock.now)
    assert (other.rule, other.monitor, other.severity) == ("every", "churn-test", "info")
    assert [a.monitor for a in alerts.list_alerts(rule="every")] == ["churn-test", "churn-prod"]
    assert [a.rule for a in alerts.list_alerts(monitor="churn-test")] == ["every"]


def test_disabled_rules_are_not_evaluated_and_disabling_resolves(
    alerts: AlertService, clock: Any, webhook: Any
) -> None:
    _hook(alerts, webhook.url)
    _rule(alerts, for_seconds=0)
    alerts.evaluate("churn-prod", DRIFTED, clock.now)
    rule = alerts.disable_rule("churn-drift")
    assert rule.enabled is False
    [resolved] = alerts.list_alerts()
    assert resolved.state == "resolved" and "disabled" in resolved.message
    assert [n.event for n in alerts.list_notifications()] == ["resolved", "firing"]
    assert alerts.evaluate("churn-prod", DRIFTED, clock.advance(minutes=5)) == []
    assert alerts.enable_rule("churn-drift").enabled is True
    [fresh] = alerts.evaluate("churn-prod", DRIFTED, clock.now)
    assert fresh.id != resolved.id


def test_deleting_a_rule_deletes_its_alerts_and_notifications(
    alerts: AlertService, clock: Any, webhook: Any, services: Services
) -> None:
    _hook(alerts, webhook.url)
    _rule(alerts, for_seconds=0)
    alerts.evaluate("churn-prod", DRIFTED, clock.now)
    alerts.delete_rule("churn-drift")
    assert _count(services, AlertRow) == 0 and _count(services, NotificationRow) == 0
    with pytest.raises(NotFoundError, match="'churn-drift'"):
        alerts.get_rule("churn-drift")


def test_the_outbox_row_is_written_in_the_alerts_transaction(
    alerts: AlertService, clock: Any, webhook: Any, services: Services
) -> None:
    _hook(alerts, webhook.url)
    _rule(alerts, for_seconds=0)

    def refuse(*_: object) -> None:
        raise RuntimeError("disk full while writing the notification")

    event.listen(NotificationRow, "before_insert", refuse)
    try:
        with pytest.raises(RuntimeError, match="disk full"):
            alerts.evaluate("churn-prod", DRIFTED, clock.now)
    finally:
        event.remove(NotificationRow, "before_insert", refuse)
    # Neither the firing alert nor half of it survived: the next evaluation fires again.
    assert alerts.list_alerts() == [] and _count(services, AlertRow) == 0
    [alert] = alerts.evaluate("churn-prod", DRIFTED, clock.now)
    [notification] = alerts.list_notifications()
    assert alert.state == "firing" and notification.alert_id == alert.id


# --- delivery -------------------------------------------------------------------------------


def test_a_failed_delivery_backs_off_and_is_retried(
    alerts: AlertService, clock: Any, webhook: Any
) -> None:
    _hook(alerts, webhook.url + "/alerts")
    _rule(alerts, for_seconds=0)
    alerts.evaluate("churn-prod", DRIFTED, clock.now)
    webhook.statuses = [500]

    report = alerts.deliver_due()
    assert (report.attempted, report.sent, report.retrying, report.failed) == (1, 0, 1, 0)
    [waiting] = report.notifications
    assert waiting.status == "pending" and waiting.attempts == 1
    assert "HTTP 500" in waiting.last_error and "receiver says no" in waiting.last_error
    assert waiting.next_attempt_at == clock.now + timedelta(seconds=30)

    assert alerts.deliver_due(clock.now + timedelta(seconds=29)).attempted == 0
    report = alerts.deliver_due(clock.advance(seconds=30))
    [sent] = report.notifications
    assert (sent.status, sent.attempts, sent.sent_at, sent.last_error) == (
        "sent",
        2,
        clock.now,
        "",
    )
    assert len(webhook.requests) == 2 and webhook.requests[1].path == "/alerts"
    assert alerts.deliver_due(clock.advance(hours=2)).attempted == 0


def test_after_the_last_attempt_a_notification_is_failed_until_retried(
    alerts: AlertService, clock: Any, closed_url: str, webhook: Any, services: Services
) -> None:
    _hook(alerts, closed_url)
    _rule(alerts, for_seconds=0)
    alerts.evaluate("churn-prod", DRIFTED, clock.now)
    waits = []
    for _ in range(MAX_ATTEMPTS):
        [attempt] = alerts.deliver_due(clock.now).notifications
        waits.append((attempt.next_attempt_at - clock.now).total_seconds())
        clock.now = attempt.next_attempt_at
    assert waits[:7] == [30, 60, 120, 240, 480, 960, 1920]
    [failed] = alerts.list_notifications(status="failed")
    assert failed.attempts == MAX_ATTEMPTS and "ConnectError" in failed.last_error
    assert "/hook" not in failed.last_error  # a webhook URL's path can hold its secret
    assert alerts.deliver_due(clock.advance(days=1)).attempted == 0

    # Point the channel at a working receiver, then re-queue.
    alerts.delete_rule("churn-drift")
    alerts.delete_channel("hook")
    _hook(alerts, webhook.url)
    _rule(alerts, for_seconds=0)
    alerts.evaluate("churn-prod", DRIFTED, clock.now)
    webhook.statuses = [503] * MAX_ATTEMPTS
    for _ in range(MAX_ATTEMPTS):
        alerts.deliver_due(clock.advance(hours=1))
    [failed] = alerts.list_notifications(status="failed")
    retried = alerts.retry_notification(failed.id)
    assert (retried.status, retried.attempts, retried.next_attempt_at) == ("pending", 0, clock.now)
    assert alerts.deliver_due().sent == 1
    with pytest.raises(ConflictError, match="nothing to retry"):
        alerts.retry_notification(failed.id)
    with pytest.raises(NotFoundError, match="notification 999999"):
        alerts.retry_notification(999_999)


def test_sending_holds_no_transaction(alerts: AlertService, clock: Any, webhook: Any) -> None:
    """A slow receiver must not block writers (SQLite has one write lock)."""
    _hook(alerts, webhook.url)
    _rule(alerts, for_seconds=0)
    alerts.evaluate("churn-prod", DRIFTED, clock.now)
    # While the receiver handles the POST, write to the store from its thread;
    # were the delivery inside a write transaction, this would wait for it forever.
    webhook.on_request = lambda: alerts.create_channel(
        "written-meanwhile", "webhook", {"url": webhook.url}
    )
    assert alerts.deliver_due().sent == 1
    assert alerts.get_channel("written-meanwhile").kind == "webhook"


def test_webhook_formats_reach_a_real_receiver(
    alerts: AlertService, clock: Any, webhook: Any
) -> None:
    for fmt in ("generic", "slack", "mattermost", "teams"):
        _hook(alerts, f"{webhook.url}/{fmt}", name=fmt, fmt=fmt)
    _rule(
        alerts,
        channels=("generic", "slack", "mattermost", "teams"),
        for_seconds=0,
        condition="drift.share > 0.3 and rows >= 100",
        description="Churn inputs drifted; consider retraining.",
    )
    alerts.evaluate("churn-prod", DRIFTED, clock.now)
    assert alerts.deliver_due().sent == 4

    [generic] = webhook.bodies("/generic")
    assert generic["status"] == "firing" and generic["monitor"] == "churn-prod"
    assert generic["value"] == 0.42 and generic["severity"] == "critical"
    assert generic["values"] == {"drift.share": 0.42, "rows": 500.0}
    assert generic["rule"]["name"] == "churn-drift"
    assert generic["rule"]["condition"] == "drift.share > 0.3 and rows >= 100"
    assert generic["alert"]["state"] == "firing" and generic["alert"]["id"] > 0
    assert generic["started_at"] == generic["fired_at"] == clock.now.isoformat()
    assert generic["resolved_at"] is None and "holds" in generic["message"]

    [slack] = webhook.bodies("/slack")
    assert slack["text"] == "[FIRING] churn-drift on churn-prod (critical)"
    assert [b["type"] for b in slack["blocks"]] == ["header", "section", "section", "context"]
    assert any("drift.share = 0.42" in f["text"] for f in slack["blocks"][2]["fields"])

    [mattermost] = webhook.bodies("/mattermost")
    [attachment] = mattermost["attachments"]
    assert mattermost["text"] == slack["text"] and attachment["color"] == "#D00000"
    assert {"Monitor", "Severity", "Values"} <= {f["title"] for f in attachment["fields"]}

    [teams] = webhook.bodies("/teams")
    [card] = teams["attachments"]
    assert teams["type"] == "message"
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert card["content"]["type"] == "AdaptiveCard"
    body = card["content"]["body"]
    assert body[0]["text"] == slack["text"] and body[0]["color"] == "Attention"
    facts = {f["title"]: f["value"] for f in body[2]["facts"]}
    assert facts["Monitor"] == "churn-prod"

    alerts.evaluate("churn-prod", CALM, clock.advance(minutes=5))
    alerts.deliver_due()
    resolved = webhook.bodies("/generic")[1]
    assert resolved["status"] == "resolved" and resolved["resolved_at"] == clock.now.isoformat()
    assert webhook.bodies("/slack")[1]["text"].startswith("[RESOLVED] churn-drift")


def test_webhook_headers_read_secrets_from_the_environment(
    alerts: AlertService, clock: Any, webhook: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    alerts.create_channel(
        "hook",
        "webhook",
        {"url": webhook.url, "headers": {"Authorization": "Bearer ${ALERT_TEST_TOKEN}"}},
    )
    assert alerts.get_channel("hook").config["headers"] == {
        "Authorization": "Bearer ${ALERT_TEST_TOKEN}"
    }
    _rule(alerts, for_seconds=0)
    alerts.evaluate("churn-prod", DRIFTED, clock.now)
    monkeypatch.delenv("ALERT_TEST_TOKEN", raising=False)
    [missing] = alerts.deliver_due().notifications
    assert "ALERT_TEST_TOKEN" in missing.last_error and webhook.requests == []
    monkeypatch.setenv("ALERT_TEST_TOKEN", "s3cret")
    assert alerts.deliver_due(clock.advance(minutes=1)).sent == 1
    assert webhook.requests[0].headers["authorization"] == "Bearer s3cret"
    assert webhook.requests[0].headers["user-agent"].startswith("werft/")


def test_email_reaches_a_real_smtp_server(alerts: AlertService, clock: Any, smtp: Any) -> None:
    alerts.create_channel(
        "ops-mail",
        "email",
        {
            "host": smtp.host,
            "port": smtp.port,
            "sender": "werft@example.org",
            "to": ["ops@example.org", "ds@example.org"],
        },
    )
    _rule(alerts, channels=("ops-mail",), for_seconds=0, description="Retrain soon.")
    alerts.evaluate("churn-prod", DRIFTED, clock.now)
    assert alerts.deliver_due().sent == 1
    [envelope] = smtp.envelopes
    assert envelope.mail_from == "werft@example.org"
    assert envelope.rcpt_tos == ["ops@example.org", "ds@example.org"]
    [message] = smtp.messages()
    assert message["Subject"] == "[FIRING] churn-drift on churn-prod (critical)"
    assert message["To"] == "ops@example.org, ds@example.org"
    body = message.get_payload(decode=True).decode()
    assert "drift.share = 0.42" in body and "Retrain soon." in body
    assert "werft alerts list" in body and "Monitor:" in body

    alerts.evaluate("churn-prod", CALM, clock.advance(minutes=5))
    alerts.deliver_due()
    assert smtp.messages()[1]["Subject"] == "[RESOLVED] churn-drift on churn-prod (critical)"


def test_smtp_password_comes_from_the_environment_only(
    alerts: AlertService, clock: Any, smtp: Any
) -> None:
    with pytest.raises(InvalidInputError, match="password_env"):
        alerts.create_channel(
            "m", "email", {"host": "h", "to": ["a@b.c"], "username": "u", "password": "pw"}
        )
    with pytest.raises(InvalidInputError, match="needs password_env"):
        alerts.create_channel("m", "email", {"host": "h", "to": ["a@b.c"], "username": "u"})
    channel = alerts.create_channel(
        "m",
        "email",
        {
            "host": smtp.host,
            "port": smtp.port,
            "to": ["a@b.c"],
            "username": "u",
            "password_env": "WERFT_ALERT_TEST_SMTP_PASSWORD",
        },
    )
    assert "password" not in channel.config and channel.config["port"] == smtp.port
    _rule(alerts, channels=("m",), for_seconds=0)
    alerts.evaluate("churn-prod", DRIFTED, clock.now)
    [attempt] = alerts.deliver_due().notifications
    assert "WERFT_ALERT_TEST_SMTP_PASSWORD" in attempt.last_error and smtp.envelopes == []


def test_channel_test_reports_success_and_the_error(
    alerts: AlertService, webhook: Any, closed_url: str, smtp: Any
) -> None:
    _hook(alerts, webhook.url, fmt="slack")
    result = alerts.test_channel("hook")
    assert result.ok and result.error == "" and result.seconds >= 0
    assert webhook.bodies()[0]["text"] == "[TEST] werft alert channel 'hook'"
    webhook.statuses = [404]
    failed = alerts.test_channel("hook")
    assert not failed.ok and "HTTP 404" in failed.error

    _hook(alerts, closed_url, name="down")
    assert "ConnectError" in alerts.test_channel("down").error
    alerts.create_channel("mail", "email", {"host": smtp.host, "port": smtp.port, "to": ["a@b.c"]})
    assert alerts.test_channel("mail").ok
    assert smtp.messages()[0]["Subject"] == "[TEST] werft alert channel 'mail'"
    with pytest.raises(NotFoundError, match="'nope'"):
        alerts.test_channel("nope")


# --- rules and channels -----------------------------------------------------------------------


def test_channels_are_named_once_and_deleted_only_when_unused(
    alerts: AlertService, webhook: Any
) -> None:
    _hook(alerts, webhook.url)
    with pytest.raises(AlreadyExistsError, match="'hook'"):
        _hook(alerts, webhook.url)
    _rule(alerts)
    with pytest.raises(ConflictError, match="churn-drift"):
        alerts.delete_channel("hook")
    assert [c.name for c in alerts.list_channels()] == ["hook"]
    alerts.delete_rule("churn-drift")
    alerts.delete_channel("hook")
    assert alerts.list_channels() == []
    with pytest.raises(NotFoundError):
        alerts.delete_channel("hook")


@pytest.mark.parametrize(
    ("kind", "config", "message"),
    [
        ("sms", {}, "kind 'sms' is unknown"),
        ("webhook", {"url": "ftp://x"}, "not an http:// or https:// URL"),
        ("webhook", {"url": "http://x", "format": "discord"}, "format"),
        ("webhook", {"url": "http://x", "colour": "red"}, "colour"),
        ("email", {"host": "h", "to": []}, "to: List should have at least 1 item"),
        ("email", {"host": "h", "to": ["not-an-address"]}, "not e-mail addresses"),
        ("email", {"host": "h", "to": ["a@b.c"], "ssl": True, "starttls": True}, "not both"),
    ],
)
def test_bad_channel_configs_are_explained(
    alerts: AlertService, kind: str, config: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        alerts.create_channel("c", kind, config)


def test_rules_are_validated(alerts: AlertService, webhook: Any) -> None:
    with pytest.raises(InvalidInputError) as info:
        alerts.create_rule("r", condition="drift.share >> 0.3")
    assert "invalid condition at character 14" in info.value.message
    assert info.value.message.endswith("\n  drift.share >> 0.3\n               ^")
    with pytest.raises(InvalidInputError, match="severity 'urgent'"):
        alerts.create_rule("r", condition="rows > 1", severity="urgent")
    with pytest.raises(InvalidInputError, match="out of range"):
        alerts.create_rule("r", condition="rows > 1", for_seconds=-1)
    with pytest.raises(InvalidInputError, match="rule name"):
        alerts.create_rule("no spaces", condition="rows > 1")
    with pytest.raises(NotFoundError, match=r"'ops-mail', 'pager' not found"):
        alerts.create_rule("r", condition="rows > 1", channels=["ops-mail", "pager"])
    _hook(alerts, webhook.url)
    rule = alerts.create_rule(
        "r", condition=" rows>1 ", for_seconds=60, channels=["hook", "hook"], description="d"
    )
    assert (rule.condition, rule.channels, rule.monitor, rule.severity) == (
        "rows > 1",
        ["hook"],
        None,
        "warning",
    )
    assert alerts.get_rule("r") == rule and alerts.list_rules() == [rule]
    with pytest.raises(AlreadyExistsError, match="'r' already exists"):
        alerts.create_rule("r", condition="rows > 2")
    with pytest.raises(InvalidInputError, match="state 'open'"):
        alerts.list_alerts(state="open")
    with pytest.raises(InvalidInputError, match="status 'lost'"):
        alerts.list_notifications(status="lost")
