"""/api/v1/alerts and the server's /metrics, over real HTTP against a live server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import yaml

from werft.services import Services
from werft.store.models import MonitorResultRow, MonitorRow

PROBLEM = "application/problem+json"


def _problem(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status and body["code"] == code
    return str(body["detail"])


def _channel(api: httpx.Client, url: str, name: str = "hook") -> None:
    body = {"name": name, "kind": "webhook", "config": {"url": url, "format": "slack"}}
    assert api.post("/alerts/channels", json=body).status_code == 201


def _rule(api: httpx.Client, **fields: Any) -> httpx.Response:
    body = {"name": "churn-drift", "condition": "drift.share > 0.3", "channels": ["hook"]}
    return api.post("/alerts/rules", json=body | fields)


def test_channels_are_created_listed_tested_and_deleted(
    api: httpx.Client, webhook: Any, closed_url: str
) -> None:
    _channel(api, webhook.url)
    [listed] = api.get("/alerts/channels").json()
    assert listed["name"] == "hook" and listed["config"]["format"] == "slack"
    assert api.get("/alerts/channels/hook").json() == listed
    body = {"name": "hook", "kind": "webhook", "config": {"url": webhook.url}}
    assert "'hook' already exists" in _problem(
        api.post("/alerts/channels", json=body), 409, "already_exists"
    )

    tested = api.post("/alerts/channels/hook/test").json()
    assert tested["ok"] is True and webhook.bodies()[0]["text"].startswith("[TEST]")
    _channel(api, closed_url, name="down")
    failed = api.post("/alerts/channels/down/test").json()
    assert failed["ok"] is False and "ConnectError" in failed["error"]

    assert api.delete("/alerts/channels/down").status_code == 204
    _problem(api.get("/alerts/channels/down"), 404, "not_found")


def test_bad_channel_config_and_unknown_fields_are_refused(api: httpx.Client) -> None:
    body = {"name": "m", "kind": "email", "config": {"host": "h", "to": ["a@b.c"], "password": "x"}}
    assert "password_env" in _problem(api.post("/alerts/channels", json=body), 400, "invalid_input")
    body = {"name": "m", "kind": "pager", "config": {}}
    assert "'pager'" in _problem(api.post("/alerts/channels", json=body), 400, "invalid_input")
    body = {"name": "m", "kind": "webhook", "config": {"url": "http://x"}, "secret": "y"}
    _problem(api.post("/alerts/channels", json=body), 422, "invalid_input")


def test_a_bad_condition_is_400_with_the_caret(api: httpx.Client, webhook: Any) -> None:
    _channel(api, webhook.url)
    detail = _problem(_rule(api, condition="drift.share >> 0.3"), 400, "invalid_input")
    assert detail == (
        "invalid condition at character 14: expected a number after '>', found '>'\n"
        "  drift.share >> 0.3\n"
        "               ^"
    )


def test_an_unknown_channel_is_404_naming_it(api: httpx.Client) -> None:
    detail = _problem(_rule(api, channels=["ops-mail"]), 404, "not_found")
    assert "'ops-mail'" in detail


def test_rules_are_created_listed_disabled_and_deleted(api: httpx.Client, webhook: Any) -> None:
    _channel(api, webhook.url)
    created = _rule(api, for_seconds=1800, severity="critical", monitor="churn-prod")
    assert created.status_code == 201
    rule = created.json()
    assert (rule["condition"], rule["for_seconds"], rule["enabled"]) == (
        "drift.share > 0.3",
        1800,
        True,
    )
    assert api.get("/alerts/rules").json() == [rule]
    assert api.get("/alerts/rules/churn-drift").json() == rule
    _problem(_rule(api, severity="urgent"), 400, "invalid_input")
    _problem(_rule(api, unknown=1), 422, "invalid_input")

    disabled = api.patch("/alerts/rules/churn-drift", json={"enabled": False}).json()
    assert disabled["enabled"] is False
    assert api.patch("/alerts/rules/churn-drift", json={"enabled": True}).json()["enabled"]
    assert api.delete("/alerts/rules/churn-drift").status_code == 204
    _problem(api.get("/alerts/rules/churn-drift"), 404, "not_found")
    _problem(api.delete("/alerts/rules/churn-drift"), 404, "not_found")


def test_alerts_and_notifications_are_listed_delivered_and_retried(
    api: httpx.Client, services: Services, webhook: Any
) -> None:
    _channel(api, webhook.url)
    assert _rule(api).status_code == 201
    services.alerts.evaluate("churn-prod", {"drift.share": 0.5})
    services.alerts.evaluate("churn-test", {"drift.share": 0.1})

    [alert] = api.get("/alerts", params={"state": "firing"}).json()
    assert (alert["rule"], alert["monitor"], alert["value"]) == ("churn-drift", "churn-prod", 0.5)
    assert api.get("/alerts", params={"monitor": "churn-test"}).json() == []
    assert api.get("/alerts", params={"rule": "churn-drift"}).json() == [alert]
    _problem(api.get("/alerts", params={"state": "open"}), 400, "invalid_input")

    [pending] = api.get("/alerts/notifications", params={"status": "pending"}).json()
    assert pending["channel"] == "hook" and pending["event"] == "firing"
    report = api.post("/alerts/notifications/deliver", json={}).json()
    assert (report["attempted"], report["sent"]) == (1, 1)
    assert webhook.bodies()[0]["text"] == "[FIRING] churn-drift on churn-prod (warning)"
    _problem(api.post(f"/alerts/notifications/{pending['id']}/retry"), 409, "conflict")
    _problem(api.post("/alerts/notifications/424242/retry"), 404, "not_found")
    _problem(api.get("/alerts/notifications", params={"status": "lost"}), 400, "invalid_input")


def test_rules_export_as_prometheus_yaml(api: httpx.Client) -> None:
    assert _rule(api, channels=[], condition="serving.latency_p99 > 0.2").status_code == 201
    response = api.get("/alerts/rules/export/prometheus", params={"window": "1m"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/yaml")
    [rule] = yaml.safe_load(response.text)["groups"][0]["rules"]
    assert rule["expr"].endswith("[1m]))) > 0.2")
    detail = _problem(
        api.get("/alerts/rules/export/prometheus", params={"window": "later"}),
        400,
        "invalid_input",
    )
    assert "'later'" in detail


def test_metrics_expose_monitor_values_and_firing_alerts(
    api: httpx.Client, services: Services
) -> None:
    services.deployments.register_replica(
        "churn",
        models={"churn": {"alias": "production"}},
        strategy="single",
        replica_id="r1",
        address="http://127.0.0.1:1",
        host="h",
        pid=1,
    )
    monitor = services.monitors.create("churn-prod", deployment="churn")
    end = datetime(2025, 3, 1, tzinfo=UTC)
    with services.db.session() as session:
        assert session.get(MonitorRow, monitor.id) is not None
        for share in (0.1, 0.42):  # only the newest result counts
            session.add(
                MonitorResultRow(
                    monitor_id=monitor.id,
                    window_start=end - timedelta(hours=1),
                    window_end=end,
                    computed_at=end,
                    rows=100,
                    status="drift",
                    drift_share=share,
                    values={"drift.share": share, "prediction.share.yes": 0.3},
                    result={},
                )
            )
    services.alerts.create_rule("churn-drift", condition="drift.share > 0.3", severity="critical")
    services.alerts.evaluate("churn-prod", {"drift.share": 0.42}, end)

    response = api.get(str(api.base_url).removesuffix("/api/v1/") + "/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'werft_monitor_value{monitor="churn-prod",value="drift.share"} 0.42' in text
    assert 'werft_monitor_value{monitor="churn-prod",value="prediction.share.yes"} 0.3' in text
    firing = 'werft_alerts_firing{monitor="churn-prod",rule="churn-drift",severity="critical"}'
    assert f"{firing} 1.0" in text
    assert 'werft_alert_notifications{status="failed"} 0.0' in text
