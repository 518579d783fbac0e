"""Monitors, KPIs and alerts over HTTP."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from werft.client._base import ClientBase, _q
from werft.monitoring.alert_entities import (
    Alert,
    AlertRule,
    Channel,
    ChannelTest,
    DeliveryReport,
    Notification,
)
from werft.monitoring.entities import Kpi, Monitor, MonitorResult, check_kpi_name, check_kpi_value


class MonitoringClient(ClientBase):
    """The monitoring part of :class:`~werft.client.http.WerftClient`."""

    # --- monitoring -------------------------------------------------------------------

    def create_monitor(
        self,
        name: str,
        *,
        deployment: str,
        window_seconds: int,
        schedule: str,
        config: Mapping[str, Any] | None = None,
    ) -> Monitor:
        body = {
            "name": name,
            "deployment": deployment,
            "window": window_seconds,
            "schedule": schedule,
            "config": dict(config or {}),
        }
        return Monitor.model_validate(self._json("POST", "/monitors", body))

    def get_monitor(self, name: str) -> Monitor:
        return Monitor.model_validate(self._json("GET", f"/monitors/{_q(name)}"))

    def list_monitors(self, *, deployment: str | None = None) -> list[Monitor]:
        params = {"deployment": deployment} if deployment else {}
        return [Monitor.model_validate(m) for m in self._json("GET", "/monitors", params=params)]

    def update_monitor(
        self,
        name: str,
        *,
        enabled: bool | None = None,
        schedule: str | None = None,
        window_seconds: int | None = None,
    ) -> Monitor:
        body = {"enabled": enabled, "schedule": schedule, "window": window_seconds}
        return Monitor.model_validate(self._json("PATCH", f"/monitors/{_q(name)}", body))

    def delete_monitor(self, name: str) -> None:
        self._json("DELETE", f"/monitors/{_q(name)}")

    def run_monitor(self, name: str, *, end: datetime | None = None) -> MonitorResult:
        body = {"end": end.isoformat() if end else None}
        return MonitorResult.model_validate(self._json("POST", f"/monitors/{_q(name)}/run", body))

    def monitor_history(
        self,
        name: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 500,
    ) -> list[MonitorResult]:
        params: dict[str, Any] = {"limit": limit}
        if start is not None:
            params["start"] = start.isoformat()
        if end is not None:
            params["end"] = end.isoformat()
        found = self._json("GET", f"/monitors/{_q(name)}/results", params=params)
        return [MonitorResult.model_validate(r) for r in found]

    def monitor_report(self, name: str, *, last_seconds: int = 7 * 86400) -> dict[str, Any]:
        params = {"last": f"{last_seconds}s", "format": "json"}
        report: dict[str, Any] = self._json("GET", f"/monitors/{_q(name)}/report", params=params)
        return report

    def log_kpi(
        self, deployment: str, name: str, value: float, time: datetime | None = None
    ) -> Kpi:
        check_kpi_name(name)  # JSON has no infinity: refuse here with the server's words
        value = check_kpi_value(name, value)
        body = {"name": name, "value": value, "time": time.isoformat() if time else None}
        return Kpi.model_validate(self._json("POST", f"/deployments/{_q(deployment)}/kpis", body))

    def list_kpis(
        self,
        deployment: str,
        *,
        name: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[Kpi]:
        params: dict[str, Any] = {}
        if name is not None:
            params["name"] = name
        if start is not None:
            params["start"] = start.isoformat()
        if end is not None:
            params["end"] = end.isoformat()
        found = self._json("GET", f"/deployments/{_q(deployment)}/kpis", params=params)
        return [Kpi.model_validate(k) for k in found]

    # --- alerts -----------------------------------------------------------------------

    def create_alert_channel(self, name: str, kind: str, config: Mapping[str, Any]) -> Channel:
        body = {"name": name, "kind": kind, "config": dict(config)}
        return Channel.model_validate(self._json("POST", "/alerts/channels", body))

    def list_alert_channels(self) -> list[Channel]:
        return [Channel.model_validate(c) for c in self._json("GET", "/alerts/channels")]

    def get_alert_channel(self, name: str) -> Channel:
        return Channel.model_validate(self._json("GET", f"/alerts/channels/{_q(name)}"))

    def delete_alert_channel(self, name: str) -> None:
        self._json("DELETE", f"/alerts/channels/{_q(name)}")

    def test_alert_channel(self, name: str) -> ChannelTest:
        data = self._json("POST", f"/alerts/channels/{_q(name)}/test")
        return ChannelTest.model_validate(data)

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
        body = {
            "name": name,
            "condition": condition,
            "for_seconds": for_seconds,
            "severity": severity,
            "monitor": monitor,
            "channels": list(channels),
            "description": description,
        }
        return AlertRule.model_validate(self._json("POST", "/alerts/rules", body))

    def list_alert_rules(self) -> list[AlertRule]:
        return [AlertRule.model_validate(r) for r in self._json("GET", "/alerts/rules")]

    def get_alert_rule(self, name: str) -> AlertRule:
        return AlertRule.model_validate(self._json("GET", f"/alerts/rules/{_q(name)}"))

    def delete_alert_rule(self, name: str) -> None:
        self._json("DELETE", f"/alerts/rules/{_q(name)}")

    def set_alert_rule_enabled(self, name: str, enabled: bool) -> AlertRule:
        data = self._json("PATCH", f"/alerts/rules/{_q(name)}", {"enabled": enabled})
        return AlertRule.model_validate(data)

    def list_alerts(
        self,
        *,
        state: str | None = None,
        rule: str | None = None,
        monitor: str | None = None,
        limit: int = 1000,
    ) -> list[Alert]:
        params = {
            k: v
            for k, v in {"state": state, "rule": rule, "monitor": monitor, "limit": limit}.items()
            if v is not None
        }
        return [Alert.model_validate(a) for a in self._json("GET", "/alerts", params=params)]

    def list_alert_notifications(
        self, *, status: str | None = None, limit: int = 1000
    ) -> list[Notification]:
        params: dict[str, Any] = {"limit": limit}
        if status is not None:
            params["status"] = status
        found = self._json("GET", "/alerts/notifications", params=params)
        return [Notification.model_validate(n) for n in found]

    def retry_alert_notification(self, notification_id: int) -> Notification:
        data = self._json("POST", f"/alerts/notifications/{notification_id}/retry")
        return Notification.model_validate(data)

    def deliver_alert_notifications(self, *, limit: int = 100) -> DeliveryReport:
        data = self._json("POST", "/alerts/notifications/deliver", {"limit": limit})
        return DeliveryReport.model_validate(data)

    def export_prometheus_rules(self, *, window: str = "5m") -> str:
        response = self._request(
            "GET", "/alerts/rules/export/prometheus", params={"window": window}
        )
        return response.text
