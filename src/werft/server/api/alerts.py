"""/api/v1/alerts: channels, rules, alerts, notifications, Prometheus rule export."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from werft.governance.roles import Role
from werft.monitoring.alert_entities import (
    Alert,
    AlertRule,
    Channel,
    ChannelTest,
    DeliveryReport,
    Notification,
)
from werft.monitoring.prometheus_rules import export_rules
from werft.server.deps import ServicesDep, VisibleProjectsDep, require_admin, require_any

router = APIRouter(tags=["alerts"])


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


# Kinds, severities, states and statuses are checked by the service, so that local
# and remote mode refuse a bad one with the same message.


class ChannelCreate(_Body):
    name: str
    kind: str = Field(description="webhook or email.")
    config: dict[str, Any] = Field(
        description="webhook: url, format, headers, timeout; email: host, port, sender, to, "
        "starttls, ssl, username, password_env, timeout."
    )


class RuleCreate(_Body):
    name: str
    condition: str = Field(examples=["drift.share > 0.3"])
    for_seconds: int = Field(default=0, ge=0)
    severity: str = Field(default="warning", description="info, warning or critical.")
    monitor: str | None = Field(default=None, description="None: every monitor.")
    channels: list[str] = Field(default_factory=list, max_length=100)
    description: str = ""


class RuleUpdate(_Body):
    enabled: bool


class Deliver(_Body):
    limit: int = Field(default=100, ge=1, le=10_000)


PROMETHEUS_YAML = "text/yaml"


@router.post(
    "/alerts/channels", status_code=status.HTTP_201_CREATED, dependencies=[require_admin()]
)
def create_channel(services: ServicesDep, body: ChannelCreate) -> Channel:
    return services.alerts.create_channel(body.name, body.kind, body.config)


@router.get("/alerts/channels", dependencies=[require_any(Role.VIEWER)])
def list_channels(services: ServicesDep) -> list[Channel]:
    return services.alerts.list_channels()


@router.get("/alerts/channels/{name}", dependencies=[require_any(Role.VIEWER)])
def get_channel(services: ServicesDep, name: str) -> Channel:
    return services.alerts.get_channel(name)


@router.delete(
    "/alerts/channels/{name}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[require_admin()],
)
def delete_channel(services: ServicesDep, name: str) -> Response:
    services.alerts.delete_channel(name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/alerts/channels/{name}/test", dependencies=[require_admin()])
def test_channel(services: ServicesDep, name: str) -> ChannelTest:
    """Send a test message now; the answer says whether the channel took it."""
    return services.alerts.test_channel(name)


@router.post(
    "/alerts/rules", status_code=status.HTTP_201_CREATED, dependencies=[require_any(Role.MEMBER)]
)
def create_rule(services: ServicesDep, body: RuleCreate) -> AlertRule:
    fields = body.model_dump(exclude={"name"})
    return services.alerts.create_rule(body.name, **fields)


@router.get("/alerts/rules", dependencies=[require_any(Role.VIEWER)])
def list_rules(services: ServicesDep) -> list[AlertRule]:
    return services.alerts.list_rules()


@router.get(
    "/alerts/rules/export/prometheus",
    response_class=Response,
    responses={200: {"content": {PROMETHEUS_YAML: {}}}},
    dependencies=[require_any(Role.VIEWER)],
)
def export_prometheus(
    services: ServicesDep,
    window: Annotated[str, Query(description="Rate window of serving.* values.")] = "5m",
) -> Response:
    """The enabled rules as a Prometheus alerting-rules file."""
    text = export_rules(services.alerts.list_rules(), window=window)
    return Response(text, media_type=PROMETHEUS_YAML)


@router.get("/alerts/rules/{name}", dependencies=[require_any(Role.VIEWER)])
def get_rule(services: ServicesDep, name: str) -> AlertRule:
    return services.alerts.get_rule(name)


@router.delete(
    "/alerts/rules/{name}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[require_any(Role.MEMBER)],
)
def delete_rule(services: ServicesDep, name: str) -> Response:
    services.alerts.delete_rule(name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.patch("/alerts/rules/{name}", dependencies=[require_any(Role.MEMBER)])
def update_rule(services: ServicesDep, name: str, body: RuleUpdate) -> AlertRule:
    """Enable or disable a rule (disabling resolves its firing alerts)."""
    if body.enabled:
        return services.alerts.enable_rule(name)
    return services.alerts.disable_rule(name)


@router.get("/alerts", dependencies=[require_any(Role.VIEWER)])
def list_alerts(
    services: ServicesDep,
    visible: VisibleProjectsDep,
    *,
    state: str | None = None,
    rule: str | None = None,
    monitor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=50_000)] = 1000,
) -> list[Alert]:
    """Alerts, newest first, of the monitors the caller may read."""
    return services.alerts.list_alerts(
        state=state, rule=rule, monitor=monitor, projects=visible, limit=limit
    )


@router.get("/alerts/notifications", dependencies=[require_any(Role.VIEWER)])
def list_notifications(
    services: ServicesDep,
    visible: VisibleProjectsDep,
    status: str | None = None,
    limit: Annotated[int, Query(ge=1, le=50_000)] = 1000,
) -> list[Notification]:
    """Notifications, newest first, about the projects the caller may read (approval
    notices carry the request's reason and comment)."""
    return services.alerts.list_notifications(status=status, projects=visible, limit=limit)


@router.post(
    "/alerts/notifications/{notification_id}/retry", dependencies=[require_any(Role.MEMBER)]
)
def retry_notification(services: ServicesDep, notification_id: int) -> Notification:
    """Re-queue a failed notification for an attempt now."""
    return services.alerts.retry_notification(notification_id)


@router.post("/alerts/notifications/deliver", dependencies=[require_any(Role.MEMBER)])
def deliver_notifications(services: ServicesDep, body: Deliver) -> DeliveryReport:
    """Send the notifications that are due now (the worker does this on its own)."""
    return services.alerts.deliver_due(limit=body.limit)
