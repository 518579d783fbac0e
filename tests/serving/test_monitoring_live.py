"""A monitor over live `werft serve` traffic: injected drift fires an alert to a webhook."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import numpy as np
import pandas as pd

from werft.quickstart import make_customers
from werft.services import Services

Served = Any  # the conftest's Served


def _post(client: httpx.Client, url: str, frame: pd.DataFrame, batch: int = 250) -> None:
    for start in range(0, len(frame), batch):
        rows = frame.iloc[start : start + batch].to_dict("records")
        assert client.post(url + "/predict", json={"rows": rows}).status_code == 200


def _wait_logged(services: Services, rows: int) -> None:
    deadline = time.monotonic() + 30
    while sum(s.rows for s in services.deployments.segments("churn")) < rows:
        assert time.monotonic() < deadline, "the prediction log did not ship its segments"
        time.sleep(0.1)


def test_injected_drift_fires_the_alert(
    serve_model: Callable[..., Served],
    services: Services,
    client: httpx.Client,
    webhook: Any,
) -> None:
    served = serve_model()
    services.alerts.create_channel(
        "ops-hook", "webhook", {"url": webhook.url + "/hook", "format": "slack"}
    )
    services.alerts.create_rule(
        "churn-drift",
        condition="drift.share > 0.3",
        severity="critical",
        channels=["ops-hook"],
    )
    services.monitors.create("churn-watch", deployment="churn", schedule="* * * * *")

    _post(client, served.url, make_customers(400, 8).drop(columns="churn"))
    _wait_logged(services, 400)
    first = services.monitors.run_due(datetime.now(UTC) + timedelta(minutes=1, seconds=1))
    assert [r.status for r in first] == ["ok"]
    assert services.alerts.list_alerts(state="firing") == []

    shifted = make_customers(4000, 9).drop(columns="churn")
    shifted["tenure"] += 40
    shifted["monthly_fee"] = (shifted["monthly_fee"] * 1.8).round(2)
    shifted["plan"] = np.where(np.arange(len(shifted)) % 2 == 0, "family", shifted["plan"])
    _post(client, served.url, shifted)
    _wait_logged(services, 4400)
    second = services.monitors.run_due(datetime.now(UTC) + timedelta(minutes=2, seconds=1))
    assert [r.status for r in second] == ["drift"]
    assert second[0].values["drift.share"] > 0.3
    assert second[0].values["serving.requests"] >= 18  # the heartbeats' request counts

    firing = services.alerts.list_alerts(state="firing")
    assert [(a.rule, a.monitor) for a in firing] == [("churn-drift", "churn-watch")]
    delivered = services.alerts.deliver_due()
    assert delivered.sent == 1
    (message,) = webhook.bodies("/hook")
    assert "churn-drift" in message["text"]
