"""``/metrics`` of the werft server: monitor values and alerts for Prometheus.

``werft_monitor_value{monitor, value}`` holds each monitor's latest values (the
ones alert rules read), so rules exported with ``werft alerts export-prometheus``
evaluate in Prometheus on the same numbers. ``werft_alerts_firing`` lists
the firing alerts, ``werft_alert_notifications`` counts the outbox by status
(a ``failed`` count above zero means someone was not told).

The values are read from the metadata store when Prometheus scrapes.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric

from werft.governance.roles import Role
from werft.monitoring.prometheus_rules import MONITOR_METRIC
from werft.server.deps import ServicesDep, require_any
from werft.services import Services

router = APIRouter(tags=["system"])


class WerftCollector:
    """Reads monitor results and alerts at scrape time."""

    def __init__(self, services: Services) -> None:
        self._services = services

    def collect(self) -> Iterator[Metric]:
        values = GaugeMetricFamily(
            MONITOR_METRIC,
            "Latest value of each monitor (drift.share, performance.f1 ...), as rules read it.",
            labels=["monitor", "value"],
        )
        for monitor, found in sorted(self._services.monitors.latest_values().items()):
            for name, number in sorted(found.items()):
                if isinstance(number, int | float) and not math.isnan(number):
                    values.add_metric([monitor, name], float(number))
        yield values

        firing = GaugeMetricFamily(
            "werft_alerts_firing",
            "Firing alerts (value 1) by rule, monitor and severity.",
            labels=["rule", "monitor", "severity"],
        )
        for alert in self._services.alerts.list_alerts(state="firing", limit=50_000):
            firing.add_metric([alert.rule, alert.monitor, alert.severity], 1.0)
        yield firing

        outbox = GaugeMetricFamily(
            "werft_alert_notifications",
            "Alert notifications by status (pending, sent, failed).",
            labels=["status"],
        )
        for status, count in self._services.alerts.notification_counts().items():
            outbox.add_metric([status], float(count))
        yield outbox


@router.get("/metrics", include_in_schema=False, dependencies=[require_any(Role.VIEWER)])
def metrics(services: ServicesDep) -> Response:
    """Prometheus text format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(WerftCollector(services))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
