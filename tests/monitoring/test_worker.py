"""The worker: due monitors run on their schedule, their alerts go out, inside the server too."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI

from werft.config import Settings
from werft.server.app import create_app
from werft.services import Services, build_services
from werft.worker import Worker

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@pytest.fixture
def clocked(settings: Settings) -> Iterator[tuple[Services, list[datetime]]]:
    now = [NOW]
    services = build_services(settings, clock=lambda: now[0])
    services.deployments.register_replica(
        "churn-prod",
        models={"churn": {"alias": "production"}},
        strategy="single",
        replica_id="r1",
        address="http://127.0.0.1:1",
        host="test",
        pid=1,
    )
    yield services, now
    services.close()


def test_a_tick_runs_due_monitors_and_delivers_their_notifications(
    clocked: tuple[Services, list[datetime]], webhook: Any
) -> None:
    services, now = clocked
    services.monitors.create("churn-watch", deployment="churn-prod", schedule="*/15 * * * *")
    services.alerts.create_channel("hook", "webhook", {"url": webhook.url + "/alerts"})
    services.alerts.create_rule("quiet", condition="rows < 1", channels=["hook"])
    worker = Worker(services)
    idle = {"monitors": 0, "notifications": 0, "pipelines": 0}
    assert worker.tick() == idle  # not due before 12:15
    now[0] = NOW + timedelta(minutes=15)
    assert worker.tick() == {"monitors": 1, "notifications": 1, "pipelines": 0}
    (body,) = webhook.bodies("/alerts")
    assert body["status"] == "firing" and body["monitor"] == "churn-watch"
    assert worker.tick() == idle  # ran once, sent once
    assert services.monitors.get("churn-watch").next_run_at == NOW + timedelta(minutes=30)


def test_the_server_runs_the_worker_unless_told_not_to(
    clocked: tuple[Services, list[datetime]],
) -> None:
    services, now = clocked
    services.monitors.create("churn-watch", deployment="churn-prod", schedule="*/15 * * * *")
    now[0] = NOW + timedelta(minutes=15)
    asyncio.run(_during_lifespan(create_app(services=services), wait=0.3))
    assert services.monitors.history("churn-watch") == []

    def ran() -> bool:
        return bool(services.monitors.history("churn-watch"))

    app = create_app(services=services, worker_interval=0.05)
    asyncio.run(_during_lifespan(app, wait=10, until=ran))
    assert [r.status for r in services.monitors.history("churn-watch")] == ["no_data"]


async def _during_lifespan(
    app: FastAPI, *, wait: float, until: Callable[[], bool] | None = None
) -> None:
    """Start the app as uvicorn would (its lifespan), wait, shut it down."""
    async with app.router.lifespan_context(app):
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if until is not None and until():
                return
            await asyncio.sleep(0.02)
        assert until is None, "the server's worker did not run the monitor"
