"""PipelineService.fire_due on a real store with a hand-moved clock: one run per cause."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from werft.config import Settings
from werft.pipelines.entities import (
    CodeVersion,
    PipelineRunUpdate,
    PipelineStatus,
    Trigger,
)
from werft.services import Services, build_services
from werft.store.models import AlertRow, AlertRuleRow

PROJECT = "churn"
CODE = CodeVersion(digest="sha256:" + "5a" * 32)


class Clock:
    """A clock the test moves by hand; starts on Saturday 2025-03-01 12:00 UTC."""

    def __init__(self) -> None:
        self.now = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def clocked(settings: Settings, clock: Clock) -> Iterator[Services]:
    built = build_services(settings, clock=clock)
    built.projects.get_or_create(PROJECT)
    yield built
    built.close()


def _dataset(services: Services, n: int) -> None:
    description = {"digest": f"sha256:{n:064x}", "row_count": n, "schema": [], "profile": {}}
    services.datasets.register(PROJECT, "customers", description)


def _sync(services: Services, trigger: dict[str, str], **spec: Any) -> None:
    services.pipelines.sync(
        PROJECT, {"entrypoint": "train.py:main", "triggers": [trigger], **spec}, CODE
    )


def _skipped(services: Services, key: str) -> int:
    return int(services.pipelines.get(PROJECT).trigger_state[key].get("skipped", 0))


def test_a_schedule_fires_when_due_and_not_again_while_its_run_is_active(
    clocked: Services, clock: Clock
) -> None:
    _sync(clocked, {"schedule": "0 3 * * 1"})  # Mondays 03:00
    assert clocked.pipelines.fire_due() == []
    clock.now = datetime(2025, 3, 3, 3, 0, tzinfo=UTC)
    [run] = clocked.pipelines.fire_due()
    assert (run.trigger, run.trigger_detail, run.status) == (
        Trigger.SCHEDULE,
        "0 3 * * 1",
        PipelineStatus.QUEUED,
    )
    assert run.cause == {"scheduled_for": "2025-03-03T03:00:00+00:00"}
    assert run.created_by == "werft-pipeline" and run.code == CODE
    assert clocked.pipelines.fire_due() == []  # consumed: next Monday is the next time

    clock.advance(days=7)
    assert clocked.pipelines.fire_due() == []  # the first is still queued
    assert _skipped(clocked, "schedule:0 3 * * 1") == 1
    clocked.pipelines.request_cancel(run.id)
    clock.advance(days=7)
    [second] = clocked.pipelines.fire_due()
    assert second.cause == {"scheduled_for": "2025-03-17T03:00:00+00:00"}


def test_a_new_dataset_version_fires_with_the_data_pinned_to_it(
    clocked: Services, clock: Clock
) -> None:
    _dataset(clocked, 1)
    _sync(clocked, {"dataset": "customers"}, data={"train": "customers@latest"})
    assert clocked.pipelines.fire_due() == []  # version 1 was there before the sync
    _dataset(clocked, 2)
    [run] = clocked.pipelines.fire_due()
    assert (run.trigger, run.trigger_detail, run.data) == (
        Trigger.DATASET,
        "customers@2",
        {"train": "customers@2"},
    )
    assert run.cause == {"dataset": "customers", "version": 2}

    claimed = clocked.pipelines.claim(run.id)
    assert claimed is not None and claimed.status is PipelineStatus.TRAINING
    _dataset(clocked, 3)
    assert clocked.pipelines.fire_due() == []  # still training: one retraining per cause
    assert _skipped(clocked, "dataset:customers") == 1
    clocked.pipelines.update(run.id, PipelineRunUpdate(status=PipelineStatus.FAILED))
    _dataset(clocked, 4)
    [next_run] = clocked.pipelines.fire_due()
    assert next_run.data == {"train": "customers@4"}


def _alert(services: Services, rule_id: str, fired_at: datetime) -> int:
    with services.db.session() as session:
        alert = AlertRow(
            rule_id=rule_id,
            monitor="churn-drift-monitor",
            state="firing",
            value=0.31,
            pending_since=fired_at,
            fired_at=fired_at,
            evaluated_at=fired_at,
        )
        session.add(alert)
        session.flush()
        return alert.id


def test_an_alert_fires_once_per_firing_after_the_sync(clocked: Services, clock: Clock) -> None:
    rule_id = uuid.uuid4().hex
    with clocked.db.session() as session:
        session.add(
            AlertRuleRow(
                id=rule_id,
                name="churn-drift",
                condition="drift.share > 0.3",
                for_seconds=0,
                severity="warning",
                monitor=None,
                channels={"names": []},
                created_at=clock.now,
            )
        )
    _alert(clocked, rule_id, clock.now - timedelta(hours=1))  # before the sync: not a cause
    _sync(clocked, {"alert": "churn-drift"})
    assert clocked.pipelines.fire_due() == []

    clock.advance(minutes=5)
    alert_id = _alert(clocked, rule_id, clock.now)
    [run] = clocked.pipelines.fire_due()
    assert (run.trigger, run.trigger_detail) == (Trigger.ALERT, "churn-drift")
    assert run.cause == {"alert_id": alert_id, "monitor": "churn-drift-monitor", "value": 0.31}
    assert clocked.pipelines.fire_due() == []  # that firing is consumed

    clock.advance(minutes=5)
    _alert(clocked, rule_id, clock.now)
    assert clocked.pipelines.fire_due() == []
    assert _skipped(clocked, "alert:churn-drift") == 1
    assert [r.id for r in clocked.pipelines.list_runs(PROJECT)] == [run.id]


def test_a_resync_keeps_what_a_trigger_has_seen(clocked: Services, clock: Clock) -> None:
    _dataset(clocked, 1)
    _sync(clocked, {"dataset": "customers"})
    _dataset(clocked, 2)
    _sync(clocked, {"dataset": "customers"}, params={"C": 0.5})  # a new spec, same trigger
    [run] = clocked.pipelines.fire_due()
    assert run.trigger_detail == "customers@2" and run.params == {"C": 0.5}


def test_the_server_runs_a_worker_that_fires_triggers(settings: Settings) -> None:
    """`werft server` (worker on) ticks the pipeline dispatcher; --no-worker runs none."""
    import asyncio

    from werft.server.app import create_app

    async def started(worker_interval: float | None) -> tuple[Any, Any]:
        app = create_app(settings, worker_interval=worker_interval, max_pipelines=2)
        async with app.router.lifespan_context(app):
            worker = app.state.worker
            return worker, worker.tick() if worker is not None else None

    worker, counts = asyncio.run(started(3600))
    assert worker is not None and worker.pipelines is not None
    assert worker.pipelines.max_parallel == 2
    assert counts["pipelines"] == 0
    assert asyncio.run(started(None)) == (None, None)
