"""What a notification says: one payload, written for each kind of receiver.

An alert's state change is stored as a channel-neutral payload (the generic
webhook body) in the notification outbox; this module turns that payload into
the JSON that Slack, Mattermost and Microsoft Teams webhooks expect, and into an
e-mail's subject and plain-text body. Pure functions, no I/O.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from werft.monitoring.schedule import format_duration

# Colours per state and severity, as Slack/Mattermost attachments and Teams cards show them.
_COLOURS = {"critical": "#D00000", "warning": "#E8A317", "info": "#439FE0"}
_RESOLVED_COLOUR = "#2EB67D"
_TEST_COLOUR = "#808080"
_TEAMS_COLOURS = {"critical": "Attention", "warning": "Warning", "info": "Accent"}


def alert_payload(
    *,
    status: str,
    alert: dict[str, Any],
    rule: dict[str, Any],
    monitor: str,
    values: dict[str, float | None],
) -> dict[str, Any]:
    """The generic webhook body for an alert that fired or resolved."""
    return {
        "status": status,
        "alert": alert,
        "rule": rule,
        "monitor": monitor,
        "value": alert.get("value"),
        "values": values,
        "severity": rule.get("severity"),
        "started_at": alert.get("pending_since"),
        "fired_at": alert.get("fired_at"),
        "resolved_at": alert.get("resolved_at"),
        "message": alert.get("message", ""),
    }


def test_payload(channel: str, at: datetime) -> dict[str, Any]:
    """A payload shaped like a real one, for ``werft alerts channel test``."""
    message = f"This is a test message from werft for channel '{channel}'; alerts arrive like this."
    return {
        "status": "test",
        "alert": {"id": None, "state": "test", "value": None, "message": message},
        "rule": {
            "name": "werft-test",
            "condition": "",
            "severity": "info",
            "for_seconds": 0,
            "description": "",
        },
        "monitor": "",
        "value": None,
        "values": {},
        "severity": "info",
        "started_at": at.isoformat(),
        "fired_at": None,
        "resolved_at": None,
        "message": message,
        "channel": channel,
    }


def notice_payload(
    *, title: str, message: str, facts: list[tuple[str, str]], hint: str, at: datetime
) -> dict[str, Any]:
    """A payload for a message that is not about an alert (an approval request, say).

    Every channel format renders it: the title, the message, the labelled
    facts and the hint are given rather than derived from an alert rule.
    """
    return {
        "status": "notice",
        "title": title,
        "message": message,
        "facts": [[label, value] for label, value in facts],
        "hint": hint,
        "severity": "info",
        "sent_at": at.isoformat(),
    }


def format_value(value: Any) -> str:
    """A number as people read it: ``0.42``, ``1.2e-05``, ``missing``."""
    if value is None:
        return "missing"
    if isinstance(value, float):
        return f"{value:.6g}" if math.isfinite(value) else str(value)
    return str(value)


def title(payload: dict[str, Any]) -> str:
    """``[FIRING] churn-drift on churn-prod (critical)``."""
    if payload["status"] == "test":
        return f"[TEST] werft alert channel '{payload.get('channel', '')}'"
    if payload["status"] == "notice":
        return str(payload["title"])
    rule = payload["rule"]
    return (
        f"[{payload['status'].upper()}] {rule['name']} on {payload['monitor']} ({rule['severity']})"
    )


def _hint(payload: dict[str, Any]) -> str:
    if payload["status"] == "notice":
        return str(payload.get("hint") or "")
    if payload["status"] == "test":
        return "See alerts with: werft alerts list"
    return f"See it with: werft alerts list --rule {payload['rule']['name']}"


def facts(payload: dict[str, Any]) -> list[tuple[str, str]]:
    """The labelled lines every format shows."""
    if payload["status"] == "test":
        return [("Sent", str(payload.get("started_at") or ""))]
    if payload["status"] == "notice":
        return [(str(label), str(value)) for label, value in payload.get("facts") or []]
    rule = payload["rule"]
    values = payload.get("values") or {}
    rows = [
        ("Rule", rule["name"]),
        ("Condition", rule["condition"] + _for_text(rule.get("for_seconds", 0))),
        ("Monitor", payload["monitor"]),
        ("Severity", rule["severity"]),
        ("Values", ", ".join(f"{k} = {format_value(v)}" for k, v in values.items())),
        ("Started", str(payload.get("started_at") or "")),
    ]
    if payload.get("fired_at"):
        rows.append(("Fired", str(payload["fired_at"])))
    if payload.get("resolved_at"):
        rows.append(("Resolved", str(payload["resolved_at"])))
    return rows


def _for_text(seconds: int) -> str:
    return f" for {format_duration(seconds)}" if seconds else ""


def _colour(payload: dict[str, Any]) -> str:
    if payload["status"] == "test":
        return _TEST_COLOUR
    if payload["status"] == "notice":
        return _COLOURS["info"]
    if payload["status"] == "resolved":
        return _RESOLVED_COLOUR
    return _COLOURS.get(str(payload["severity"]), _COLOURS["warning"])


def email(payload: dict[str, Any]) -> tuple[str, str]:
    """Subject and plain-text body of the e-mail."""
    lines = [title(payload), ""]
    width = max((len(label) for label, _ in facts(payload)), default=0) + 2
    lines += [f"{label + ':':<{width}}{value}" for label, value in facts(payload)]
    description = (payload.get("rule") or {}).get("description") or ""
    if payload["status"] in ("test", "notice"):
        lines += ["", payload["message"]]
    elif description:
        lines += ["", description]
    lines += ["", _hint(payload), ""]
    return title(payload), "\n".join(lines)


def slack(payload: dict[str, Any]) -> dict[str, Any]:
    """A Slack incoming-webhook message: ``text`` (the notification) and ``blocks``."""
    header = title(payload)
    fields = [{"type": "mrkdwn", "text": f"*{label}*\n{value}"} for label, value in facts(payload)]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": header[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": payload["message"][:3000]}},
        {"type": "section", "fields": fields[:10]},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": _hint(payload)}]},
    ]
    return {"text": header, "blocks": blocks}


def mattermost(payload: dict[str, Any]) -> dict[str, Any]:
    """A Mattermost incoming-webhook message with one coloured attachment."""
    header = title(payload)
    return {
        "username": "werft",
        "text": header,
        "attachments": [
            {
                "fallback": header,
                "color": _colour(payload),
                "title": header,
                "text": payload["message"],
                "fields": [
                    {"short": label not in ("Condition", "Values"), "title": label, "value": value}
                    for label, value in facts(payload)
                ],
                "footer": _hint(payload),
            }
        ],
    }


def teams(payload: dict[str, Any]) -> dict[str, Any]:
    """A Microsoft Teams message holding an Adaptive Card.

    Teams Workflows ("When a Teams webhook request is received") accept only
    Adaptive Cards, and the retiring Office 365 connectors accept them too.
    """
    colour = {"resolved": "Good", "test": "Default"}.get(payload["status"])
    colour = colour or _TEAMS_COLOURS.get(str(payload["severity"]), "Warning")
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "msteams": {"width": "Full"},
        "body": [
            {
                "type": "TextBlock",
                "text": title(payload),
                "weight": "Bolder",
                "size": "Medium",
                "wrap": True,
                "color": colour,
            },
            {"type": "TextBlock", "text": payload["message"], "wrap": True},
            {
                "type": "FactSet",
                "facts": [{"title": label, "value": value} for label, value in facts(payload)],
            },
            {"type": "TextBlock", "text": _hint(payload), "isSubtle": True, "wrap": True},
        ],
    }
    return {
        "type": "message",
        "summary": title(payload),
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


def webhook_body(fmt: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The JSON to post for a webhook of format ``fmt``."""
    if fmt == "slack":
        return slack(payload)
    if fmt == "mattermost":
        return mattermost(payload)
    if fmt == "teams":
        return teams(payload)
    return payload
