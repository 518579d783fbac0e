"""Approval notices go through the notification outbox: written with the request or the
decision, sent by the worker with retries, listed and re-queued like alert notifications.

Real receivers on loopback: an HTTP server and aiosmtpd.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from email.header import decode_header, make_header
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import event
from typer.testing import CliRunner

import werft
from werft.cli.main import app
from werft.config import Settings, load_settings
from werft.errors import ConflictError
from werft.governance.actor import acting_as
from werft.governance.audit import AuditLog
from werft.monitoring.alerts import AlertService
from werft.sdk.backend import Backend
from werft.sdk.fluent import set_backend
from werft.services import Services, build_services
from werft.store.models import ApprovalRow, NotificationRow
from werft.tracking._rows import utcnow
from werft.worker import Worker

from .conftest import MODEL, Release


def _request(services: Services, release: Release, *channels: str) -> int:
    release.use_case(notify=list(channels))
    with acting_as("dev"):
        result = services.promotions.promote(MODEL, release.version(), "production")
    assert result.approval is not None
    return result.approval.id


@pytest.fixture
def sdk(backend: Backend, settings: Settings) -> Iterator[Backend]:
    set_backend(backend, settings)
    yield backend
    werft.configure()


def test_a_request_queues_one_notice_per_channel_in_its_transaction(
    services: Services, release: Release, webhook: Any
) -> None:
    services.alerts.create_channel("ops-hook", "webhook", {"url": webhook.url})
    release.use_case(notify=["ops-hook"])
    version = release.version()

    def refuse(*_: object) -> None:
        raise RuntimeError("disk full while writing the notification")

    event.listen(NotificationRow, "before_insert", refuse)
    try:
        with acting_as("dev"), pytest.raises(RuntimeError, match="disk full"):
            services.promotions.promote(MODEL, version, "production")
    finally:
        event.remove(NotificationRow, "before_insert", refuse)
    # Neither the request nor its notice survived: no request nobody heard of.
    assert services.promotions.list_requests() == []
    assert services.alerts.list_notifications() == []

    with acting_as("dev"):
        result = services.promotions.promote(MODEL, version, "production")
    assert result.approval is not None
    [queued] = result.notifications
    assert (queued.target, queued.ok, queued.status) == ("ops-hook", True, "queued")
    [notice] = services.alerts.list_notifications()
    assert (notice.id, notice.approval_id, notice.alert_id) == (
        queued.notification_id,
        result.approval.id,
        None,
    )
    assert (notice.event, notice.status, notice.rule, notice.monitor) == (
        "requested",
        "pending",
        None,
        None,
    )
    assert notice.subject == f"approval #{result.approval.id}: {MODEL} {version} → production"
    assert webhook.requests == []  # nothing is sent inside the request


def test_a_notice_survives_a_receiver_that_is_down_at_request_time(
    services: Services, release: Release, closed_url: str
) -> None:
    services.alerts.create_channel("ops-hook", "webhook", {"url": closed_url})
    request_id = _request(services, release, "ops-hook")
    t0 = utcnow()
    report = services.alerts.deliver_due(t0)
    [waiting] = report.notifications
    assert (report.attempted, report.retrying) == (1, 1)
    assert waiting.status == "pending" and "ConnectError" in waiting.last_error
    assert waiting.next_attempt_at == t0 + timedelta(seconds=30)
    assert services.promotions.get(request_id).status.value == "pending"  # never blocked

    with _receiver(closed_url) as bodies:  # the receiver is back
        assert services.alerts.deliver_due(t0 + timedelta(seconds=29)).attempted == 0
        report = services.alerts.deliver_due(t0 + timedelta(seconds=30))
        [sent] = report.notifications
    assert (sent.status, sent.attempts, sent.last_error) == ("sent", 2, "")
    [body] = bodies
    assert body["status"] == "notice" and body["title"].startswith(f"[APPROVAL #{request_id}]")


def test_a_failing_receiver_is_retried_with_backoff_then_failed_and_requeued(
    services: Services, release: Release, webhook: Any
) -> None:
    services.alerts.create_channel("ops-hook", "webhook", {"url": webhook.url + "/approvals"})
    _request(services, release, "ops-hook")
    alerts = AlertService(services.db, max_attempts=3)
    webhook.statuses = [500, 503, 502]
    at, waits = utcnow(), []
    for _ in range(3):
        [attempt] = alerts.deliver_due(at).notifications
        waits.append((attempt.next_attempt_at - at).total_seconds())
        at = attempt.next_attempt_at
    assert waits == [30, 60, 0]  # after the last attempt it waits for no one
    [failed] = alerts.list_notifications(status="failed")
    assert failed.attempts == 3 and "HTTP 502" in failed.last_error
    assert alerts.deliver_due(at + timedelta(days=1)).attempted == 0

    retried = alerts.retry_notification(failed.id)
    assert (retried.status, retried.attempts) == ("pending", 0)
    assert alerts.deliver_due().sent == 1
    assert [r.path for r in webhook.requests] == ["/approvals"] * 4
    with pytest.raises(ConflictError, match="nothing to retry"):
        alerts.retry_notification(failed.id)


def test_decisions_are_mailed_by_the_worker(
    services: Services, release: Release, smtp: Any
) -> None:
    services.alerts.create_channel(
        "ops-mail",
        "email",
        {"host": smtp.host, "port": smtp.port, "sender": "werft@example.org", "to": ["a@b.c"]},
    )
    first = _request(services, release, "ops-mail")
    with acting_as("dev"):
        second = services.promotions.promote(MODEL, release.version(), "staging")
    assert second.moved and second.notifications == []  # an automatic move asks nobody
    with acting_as("anna"):
        services.promotions.approve(first, comment="checked the slices")
    assert Worker(services).tick()["notifications"] == 2
    subjects = [str(make_header(decode_header(m["Subject"]))) for m in smtp.messages()]
    assert subjects == [
        f"[APPROVAL #{first}] dev asks to move {MODEL} version 1 → production",
        f"[APPROVAL #{first} APPROVED] {MODEL} version 1 → production",
    ]
    body = smtp.messages()[1].get_payload(decode=True).decode()
    assert "checked the slices" in body and f"werft approvals show {first}" in body
    events = [n.event for n in services.alerts.list_notifications(approval_id=first)]
    assert events == ["approved", "requested"]
    [notified, _] = AuditLog(services.db).list_events(action="approval.notified")
    assert notified.payload["deliveries"][0]["status"] == "queued"


def test_rejections_and_withdrawals_are_queued_too(
    services: Services, release: Release, webhook: Any
) -> None:
    services.alerts.create_channel("ops-hook", "webhook", {"url": webhook.url})
    rejected = _request(services, release, "ops-hook")
    with acting_as("anna"):
        services.promotions.reject(rejected, comment="recall too low")
    with acting_as("dev"):
        withdrawn = services.promotions.promote(MODEL, release.version(), "production").approval
        assert withdrawn is not None
        services.promotions.cancel(withdrawn.id, comment="wrong version")
    assert services.alerts.deliver_due().sent == 4
    titles = [body["title"] for body in webhook.bodies()]
    assert titles[1] == f"[APPROVAL #{rejected} REJECTED] {MODEL} version 1 → production"
    assert titles[3] == f"[APPROVAL #{withdrawn.id} CANCELLED] {MODEL} version 2 → production"


def test_deleting_the_version_takes_its_notices_along(
    services: Services, release: Release, closed_url: str
) -> None:
    services.alerts.create_channel("ops-hook", "webhook", {"url": closed_url})
    request_id = _request(services, release, "ops-hook")
    with services.db.session() as session:
        row = session.get(ApprovalRow, request_id)
        assert row is not None
        session.delete(row)
    assert services.alerts.list_notifications() == []
    assert services.alerts.deliver_due().attempted == 0


def test_approval_notices_through_both_backends(
    sdk: Backend, services: Services, release: Release, webhook: Any
) -> None:
    sdk.create_alert_channel("ops-hook", "webhook", {"url": webhook.url, "format": "slack"})
    release.use_case(notify=["ops-hook"])
    with acting_as("dev"):
        result = werft.promote(MODEL, release.version(), to="production")
    assert result.approval is not None
    [queued] = result.notifications
    assert queued.status == "queued" and queued.notification_id is not None
    [pending] = sdk.list_alert_notifications(status="pending")
    assert (pending.id, pending.approval_id, pending.event) == (
        queued.notification_id,
        result.approval.id,
        "requested",
    )
    assert pending.subject.startswith(f"approval #{result.approval.id}: {MODEL} 1")
    webhook.statuses = [500]
    report = sdk.deliver_alert_notifications()
    assert (report.attempted, report.retrying) == (1, 1)
    retried = sdk.retry_alert_notification(pending.id)
    assert retried.status == "pending" and retried.attempts == 0
    assert sdk.deliver_alert_notifications().sent == 1
    assert webhook.bodies()[1]["text"].startswith(f"[APPROVAL #{result.approval.id}]")


runner = CliRunner()


def test_the_cli_says_where_the_notice_went_and_lists_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, webhook: Any
) -> None:
    home = tmp_path / "cli-home"
    monkeypatch.setenv("WERFT_HOME", str(home))
    built = build_services(load_settings(home=home).settings)
    try:
        release = Release(built)
        built.alerts.create_channel("ops-hook", "webhook", {"url": webhook.url})
        release.use_case(notify=["ops-hook", "missing"])
        version = release.version()
        with acting_as("dev"):
            result = runner.invoke(app, ["promote", MODEL, str(version), "--to", "production"])
        assert result.exit_code == 0
        assert result.stdout.strip() == "approval request #1 created; approvers: anna, ops-lead"
        assert "warning: notifying missing failed: channel 'missing' does not exist" in (
            result.stderr
        )
        assert "notice queued for ops-hook; `werft alerts notifications`" in result.stderr
        listed = runner.invoke(app, ["alerts", "notifications", "--status", "pending"])
        assert listed.exit_code == 0 and "approval #1" in listed.stdout
        assert "requested" in listed.stdout and "ops-hook" in listed.stdout
    finally:
        built.close()


@contextlib.contextmanager
def _receiver(url: str) -> Iterator[list[Any]]:
    """Start an HTTP receiver on the port of ``url`` (nothing listened there before)."""
    bodies: list[Any] = []

    class Recorder(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", 0))
            bodies.append(json.loads(self.rfile.read(length)))
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    port = urlsplit(url).port
    assert port is not None
    server = ThreadingHTTPServer(("127.0.0.1", port), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield bodies
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
