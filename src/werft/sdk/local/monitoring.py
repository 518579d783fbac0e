"""Monitors, KPIs and alerts in process."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from werft.monitoring.alert_entities import (
    Alert,
    AlertRule,
    Channel,
    ChannelTest,
    DeliveryReport,
    Notification,
)
from werft.monitoring.entities import Kpi, Monitor, MonitorResult
from werft.monitoring.prometheus_rules import export_rules
from werft.sdk.local._base import LocalBase


class LocalMonitoring(LocalBase):
    """The monitoring part of :class:`~werft.sdk.local.LocalBackend`."""

    # monitoring
    def create_monitor(
        self,
        name: str,
        *,
        deployment: str,
        window_seconds: int,
        schedule: str,
        config: Mapping[str, Any] | None = None,
    ) -> Monitor:
        return self.services.monitors.create(
            name,
            deployment=deployment,
            window_seconds=window_seconds,
            schedule=schedule,
            config=config,
        )

    def get_monitor(self, name: str) -> Monitor:
        return self.services.monitors.get(name)

    def list_monitors(self, *, deployment: str | None = None) -> list[Monitor]:
        return self.services.monitors.list_monitors(deployment=deployment)

    def update_monitor(
        self,
        name: str,
        *,
        enabled: bool | None = None,
        schedule: str | None = None,
        window_seconds: int | None = None,
    ) -> Monitor:
        return self.services.monitors.update(
            name, enabled=enabled, schedule=schedule, window_seconds=window_seconds
        )

    def delete_monitor(self, name: str) -> None:
        self.services.monitors.delete(name)

    def run_monitor(self, name: str, *, end: datetime | None = None) -> MonitorResult:
        return self.services.monitors.run(name, end=end)

    def monitor_history(
        self,
        name: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 500,
    ) -> list[MonitorResult]:
        return self.services.monitors.history(name, start=start, end=end, limit=limit)

    def monitor_report(self, name: str, *, last_seconds: int = 7 * 86400) -> dict[str, Any]:
        return self.services.monitors.report(name, last_seconds=last_seconds)

    def log_kpi(
        self, deployment: str, name: str, value: float, time: datetime | None = None
    ) -> Kpi:
        return self.services.kpis.log(deployment, name, value, time)

    def list_kpis(
        self,
        deployment: str,
        *,
        name: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[Kpi]:
        return self.services.kpis.list_kpis(deployment, name=name, start=start, end=end)

    # alerts
    def create_alert_channel(self, name: str, kind: str, config: Mapping[str, Any]) -> Channel:
        return self.services.alerts.create_channel(name, kind, config)

    def list_alert_channels(self) -> list[Channel]:
        return self.services.alerts.list_channels()

    def get_alert_channel(self, name: str) -> Channel:
        return self.services.alerts.get_channel(name)

    def delete_alert_channel(self, name: str) -> None:
        self.services.alerts.delete_channel(name)

    def test_alert_channel(self, name: str) -> ChannelTest:
        return self.services.alerts.test_channel(name)

    def create_alert_rule(
        self,
        name: str,
        *,
        condition: str,
        for_seconds: int = 0,
        severity: str = "warning",
        monitor: str | None = None,
        channels: Sequence[str] = (),
        description: str = "",
    ) -> AlertRule:
        return self.services.alerts.create_rule(
            name,
            condition=condition,
            for_seconds=for_seconds,
            severity=severity,
            monitor=monitor,
            channels=channels,
            description=description,
        )

    def list_alert_rules(self) -> list[AlertRule]:
        return self.services.alerts.list_rules()

    def get_alert_rule(self, name: str) -> AlertRule:
        return self.services.alerts.get_rule(name)

    def delete_alert_rule(self, name: str) -> None:
        self.services.alerts.delete_rule(name)

    def set_alert_rule_enabled(self, name: str, enabled: bool) -> AlertRule:
        if enabled:
            return self.services.alerts.enable_rule(name)
        return self.services.alerts.disable_rule(name)

    def list_alerts(
        self,
        *,
        state: str | None = None,
        rule: str | None = None,
        monitor: str | None = None,
        limit: int = 1000,
    ) -> list[Alert]:
        return self.services.alerts.list_alerts(
            state=state, rule=rule, monitor=monitor, limit=limit
        )

    def list_alert_notifications(
        self, *, status: str | None = None, limit: int = 1000
    ) -> list[Notification]:
        return self.services.alerts.list_notifications(status=status, limit=limit)

    def retry_alert_notification(self, notification_id: int) -> Notification:
        return self.services.alerts.retry_notification(notification_id)

    def deliver_alert_notifications(self, *, limit: int = 100) -> DeliveryReport:
        return self.services.alerts.deliver_due(limit=limit)

    def export_prometheus_rules(self, *, window: str = "5m") -> str:
        return export_rules(self.services.alerts.list_rules(), window=window)
