"""`werft alerts ...`: notification channels, alert rules, alerts and their notifications."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import typer

from werft.cli import context
from werft.cli.errors import handle_errors
from werft.cli.output import JSON_HELP, console, print_json, table
from werft.errors import InvalidInputError, UnavailableError
from werft.monitoring.alert_entities import Channel, Notification
from werft.monitoring.channels import WEBHOOK_FORMATS
from werft.monitoring.messages import format_value
from werft.monitoring.schedule import format_duration, parse_duration

app = typer.Typer(
    help="Alerts: rules on monitor values, notification channels (webhook, e-mail), "
    "firing and resolved alerts, the notification outbox.",
    no_args_is_help=True,
)
channel_app = typer.Typer(help="Where notifications go: webhooks and e-mail.", no_args_is_help=True)
rule_app = typer.Typer(
    help='Alert rules: a condition such as "drift.share > 0.3" held for a while.',
    no_args_is_help=True,
)
app.add_typer(channel_app, name="channel")
app.add_typer(rule_app, name="rule")

JsonOpt = Annotated[bool, typer.Option("--json", help=JSON_HELP)]


def _headers(items: list[str] | None) -> dict[str, str]:
    headers: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InvalidInputError(f"--header {item!r} must look like Name=value")
        headers[key.strip()] = value
    return headers


def _target(channel: Channel) -> str:
    config = channel.config
    if channel.kind == "webhook":
        # Slack and Teams put the webhook's secret in the URL path: show the host only.
        parts = urlsplit(str(config.get("url", "")))
        return f"{config.get('format', 'generic')}: {parts.scheme}://{parts.netloc}/…"
    return f"{', '.join(config.get('to', []))} via {config.get('host')}:{config.get('port')}"


# --- channels ---------------------------------------------------------------------------


@channel_app.command("create")
@handle_errors
def channel_create(
    ctx: typer.Context,
    name: str,
    *,
    webhook: Annotated[str | None, typer.Option(help="Webhook URL to POST to.")] = None,
    fmt: Annotated[
        str,
        typer.Option("--format", help=f"Webhook payload: {', '.join(WEBHOOK_FORMATS)}."),
    ] = "generic",
    header: Annotated[
        list[str] | None,
        typer.Option(help="Extra header Name=value (repeatable); ${VAR} reads the environment."),
    ] = None,
    email: Annotated[
        str | None, typer.Option(help="Recipients, comma-separated: a@x.org,b@y.org.")
    ] = None,
    smtp_host: Annotated[str | None, typer.Option(help="SMTP server.")] = None,
    smtp_port: Annotated[int, typer.Option(help="SMTP port.")] = 25,
    sender: Annotated[str | None, typer.Option("--from", help="Sender address.")] = None,
    starttls: Annotated[bool, typer.Option(help="Upgrade to TLS with STARTTLS.")] = False,
    ssl: Annotated[bool, typer.Option(help="Implicit TLS (usually port 465).")] = False,
    username: Annotated[str | None, typer.Option(help="SMTP user name.")] = None,
    password_env: Annotated[
        str | None,
        typer.Option(help="Environment variable holding the SMTP password (never stored)."),
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the receiver.")] = 10.0,
    as_json: JsonOpt = False,
) -> None:
    """Create a channel: --webhook URL, or --email with --smtp-host."""
    if (webhook is None) == (email is None):
        raise InvalidInputError("give either --webhook URL or --email ADDRESSES")
    config: dict[str, Any]
    if webhook is not None:
        kind = "webhook"
        config = {"url": webhook, "format": fmt, "headers": _headers(header), "timeout": timeout}
    else:
        if not smtp_host:
            raise InvalidInputError("--email needs --smtp-host (and usually --smtp-port)")
        kind = "email"
        config = {
            "host": smtp_host,
            "port": smtp_port,
            "sender": sender,
            "to": [a.strip() for a in (email or "").split(",") if a.strip()],
            "starttls": starttls,
            "ssl": ssl,
            "username": username,
            "password_env": password_env,
            "timeout": timeout,
        }
    channel = context.get(ctx).backend().create_alert_channel(name, kind, config)
    if as_json:
        print_json(channel)
        return
    console.print(f"created {channel.kind} channel {channel.name!r}: {_target(channel)}")


@channel_app.command("list")
@handle_errors
def channel_list(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """List channels."""
    channels = context.get(ctx).backend().list_alert_channels()
    if as_json:
        print_json(channels)
        return
    rows = [(c.name, c.kind, _target(c), c.created_at) for c in channels]
    table("alert channels", ["name", "kind", "target", "created"], rows)


@channel_app.command("delete")
@handle_errors
def channel_delete(ctx: typer.Context, name: str) -> None:
    """Delete a channel no rule notifies."""
    context.get(ctx).backend().delete_alert_channel(name)
    console.print(f"deleted channel {name!r}")


@channel_app.command("test")
@handle_errors
def channel_test(ctx: typer.Context, name: str, as_json: JsonOpt = False) -> None:
    """Send a test message now; exits 7 when the channel does not take it."""
    result = context.get(ctx).backend().test_alert_channel(name)
    if as_json:
        print_json(result)
    if not result.ok:
        raise UnavailableError(f"channel {name!r} did not take the test message: {result.error}")
    if not as_json:
        console.print(f"channel {name!r} took the test message ({result.seconds:.2f} s)")


# --- rules ------------------------------------------------------------------------------


@rule_app.command("create")
@handle_errors
def rule_create(
    ctx: typer.Context,
    name: str,
    *,
    when: Annotated[str, typer.Option(help='Condition, e.g. "drift.share > 0.3".')],
    for_: Annotated[
        str, typer.Option("--for", help="How long it must hold before firing: 0s, 15m, 1h.")
    ] = "0s",
    severity: Annotated[str, typer.Option(help="info, warning or critical.")] = "warning",
    notify: Annotated[
        list[str] | None, typer.Option(help="Channel to notify (repeatable).")
    ] = None,
    monitor: Annotated[
        str | None, typer.Option(help="Only this monitor [default: every monitor].")
    ] = None,
    description: Annotated[str, typer.Option(help="What it means and what to do.")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Create an alert rule."""
    rule = (
        context.get(ctx)
        .backend()
        .create_alert_rule(
            name,
            condition=when,
            for_seconds=parse_duration(for_),
            severity=severity,
            monitor=monitor,
            channels=notify or [],
            description=description,
        )
    )
    if as_json:
        print_json(rule)
        return
    held = format_duration(rule.for_seconds)
    console.print(f"created rule {rule.name!r}: {rule.condition} for {held}")


@rule_app.command("list")
@handle_errors
def rule_list(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """List alert rules."""
    rules = context.get(ctx).backend().list_alert_rules()
    if as_json:
        print_json(rules)
        return
    rows = [
        (
            r.name,
            r.condition,
            format_duration(r.for_seconds),
            r.severity,
            r.monitor or "(every)",
            ", ".join(r.channels),
            "yes" if r.enabled else "no",
        )
        for r in rules
    ]
    columns = ["name", "condition", "for", "severity", "monitor", "notify", "enabled"]
    table("alert rules", columns, rows)


@rule_app.command("show")
@handle_errors
def rule_show(ctx: typer.Context, name: str, as_json: JsonOpt = False) -> None:
    """Show a rule."""
    rule = context.get(ctx).backend().get_alert_rule(name)
    if as_json:
        print_json(rule)
        return
    table(
        None,
        ["rule", ""],
        [
            ("name", rule.name),
            ("condition", rule.condition),
            ("for", format_duration(rule.for_seconds)),
            ("severity", rule.severity),
            ("monitor", rule.monitor or "(every monitor)"),
            ("notify", ", ".join(rule.channels)),
            ("description", rule.description),
            ("enabled", "yes" if rule.enabled else "no"),
            ("created", rule.created_at),
        ],
    )


@rule_app.command("delete")
@handle_errors
def rule_delete(ctx: typer.Context, name: str) -> None:
    """Delete a rule with its alerts and their notifications."""
    context.get(ctx).backend().delete_alert_rule(name)
    console.print(f"deleted rule {name!r}")


@rule_app.command("enable")
@handle_errors
def rule_enable(ctx: typer.Context, name: str) -> None:
    """Evaluate the rule again."""
    context.get(ctx).backend().set_alert_rule_enabled(name, True)
    console.print(f"enabled rule {name!r}")


@rule_app.command("disable")
@handle_errors
def rule_disable(ctx: typer.Context, name: str) -> None:
    """Stop evaluating the rule; its firing alerts resolve."""
    context.get(ctx).backend().set_alert_rule_enabled(name, False)
    console.print(f"disabled rule {name!r}")


# --- alerts and notifications -------------------------------------------------------------


@app.command("list")
@handle_errors
def list_alerts(
    ctx: typer.Context,
    *,
    state: Annotated[str | None, typer.Option(help="pending, firing or resolved.")] = None,
    rule: Annotated[str | None, typer.Option(help="Only this rule's alerts.")] = None,
    monitor: Annotated[str | None, typer.Option(help="Only this monitor's alerts.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 100,
    as_json: JsonOpt = False,
) -> None:
    """List alerts, newest first."""
    alerts = (
        context.get(ctx).backend().list_alerts(state=state, rule=rule, monitor=monitor, limit=limit)
    )
    if as_json:
        print_json(alerts)
        return
    rows = [
        (
            a.id,
            a.state,
            a.severity,
            a.rule,
            a.monitor,
            format_value(a.value),
            a.pending_since,
            a.fired_at,
            a.resolved_at,
        )
        for a in alerts
    ]
    columns = ["id", "state", "severity", "rule", "monitor", "value", "since", "fired", "resolved"]
    table("alerts", columns, rows)


def _notification_rows(notifications: list[Notification]) -> list[tuple[Any, ...]]:
    return [
        (
            n.id,
            n.status,
            n.event,
            n.subject,
            n.channel,
            n.attempts,
            n.sent_at if n.status == "sent" else n.next_attempt_at,
            n.last_error,
        )
        for n in notifications
    ]


@app.command("notifications")
@handle_errors
def notifications(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option(help="pending, sent or failed.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 100,
    as_json: JsonOpt = False,
) -> None:
    """List notifications of alerts and approval requests; `--status failed` shows those
    given up (retry them)."""
    found = context.get(ctx).backend().list_alert_notifications(status=status, limit=limit)
    if as_json:
        print_json(found)
        return
    columns = ["id", "status", "event", "subject", "channel", "attempts", "at", "error"]
    table("notifications", columns, _notification_rows(found))


@app.command("retry")
@handle_errors
def retry(ctx: typer.Context, notification_id: int, as_json: JsonOpt = False) -> None:
    """Queue a failed notification for another round of attempts."""
    notification = context.get(ctx).backend().retry_alert_notification(notification_id)
    if as_json:
        print_json(notification)
        return
    console.print(
        f"notification {notification.id} to {notification.channel!r} is queued again; "
        "the worker sends it within seconds (or run `werft alerts deliver`)"
    )


@app.command("deliver")
@handle_errors
def deliver(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 100,
    as_json: JsonOpt = False,
) -> None:
    """Send the notifications that are due now (the worker does this on its own)."""
    report = context.get(ctx).backend().deliver_alert_notifications(limit=limit)
    if as_json:
        print_json(report)
        return
    console.print(
        f"attempted {report.attempted}: {report.sent} sent, {report.retrying} to retry, "
        f"{report.failed} failed"
    )
    if report.notifications:
        columns = ["id", "status", "event", "subject", "channel", "attempts", "at", "error"]
        table(None, columns, _notification_rows(report.notifications))


@app.command("export-prometheus")
@handle_errors
def export_prometheus(
    ctx: typer.Context,
    out: Annotated[
        Path | None, typer.Option(help="Write the rules file here [default: stdout].")
    ] = None,
    window: Annotated[str, typer.Option(help="Rate window of serving.* values.")] = "5m",
) -> None:
    """Write the enabled rules as a Prometheus alerting-rules file."""
    text = context.get(ctx).backend().export_prometheus_rules(window=window)
    if out is None:
        print(text, end="")
        return
    out.write_text(text, encoding="utf-8")
    console.print(f"wrote {out}")
