"""The closed loop on one machine, with real HTTP and real training processes.

serve version 1 → inject drift into the traffic → the monitor fires the alert
→ the alert trigger retrains (in the worker) → the candidate passes the gate
→ an approver approves → serving hot-swaps to version 2 → the pipeline run
shows every link.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pandas as pd
import pytest
import uvicorn
from tests.pipelines import project

from werft.config import Settings
from werft.governance.actor import acting_as
from werft.governance.usecases import load_use_case
from werft.pipelines.dispatch import PipelineDispatcher
from werft.pipelines.entities import PipelineStatus, Trigger
from werft.pipelines.service import PIPELINE_ACTOR
from werft.pipelines.train import train
from werft.sdk.fluent import set_backend
from werft.sdk.local import LocalBackend
from werft.services import Services
from werft.serving.server import ServeConfig, ServeTarget, ServingProcess
from werft.worker import Worker

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """The loop is about processes and HTTP; SQLite is enough (PostgreSQL: the unit tests)."""
    return f"sqlite:///{tmp_path / 'werft.db'}"


@contextlib.contextmanager
def _serving(services: Services, settings: Settings) -> Iterator[str]:
    """`werft serve churn-classifier@production` in this process, on a loopback port."""
    backend = LocalBackend(services)
    config = ServeConfig(
        targets=[ServeTarget(project.MODEL, "production")],
        poll_interval=0.2,
        heartbeat_interval=0.5,
        roll_seconds=0.5,
    )
    process = ServingProcess(settings, backend, config)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    server = uvicorn.Server(
        uvicorn.Config(process.app(), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "serve did not start"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(20)


def _predict(client: httpx.Client, url: str, frame: pd.DataFrame) -> int:
    """Send the rows in batches; the version that answered the last one."""
    version = 0
    for start in range(0, len(frame), 250):
        rows = frame.iloc[start : start + 250].drop(columns="churned").to_dict("records")
        response = client.post(url + "/predict", json={"rows": rows})
        assert response.status_code == 200, response.text
        version = int(response.json()["version"])
    return version


def _wait_logged(services: Services, rows: int) -> None:
    deadline = time.monotonic() + 30
    while sum(s.rows for s in services.deployments.segments(project.MODEL)) < rows:
        assert time.monotonic() < deadline, "the prediction log did not ship its segments"
        time.sleep(0.1)


def test_drift_retrains_and_the_approved_version_goes_live(
    tmp_path: Path, services: Services, settings: Settings
) -> None:
    backend = LocalBackend(services)
    set_backend(backend, settings)
    file = project.write_repo(
        tmp_path / "repo", project.werft_yaml(triggers="    - alert: churn-drift\n")
    )
    loaded = load_use_case(file)
    backend.sync_use_case(loaded.use_case, digest=loaded.digest)
    project.log_datasets(seed=1)
    with acting_as("bob"):
        first = train(backend, settings, file, sync=True)
    assert first.status is PipelineStatus.AWAITING_APPROVAL, first.error
    with acting_as("anna"):
        backend.approve(first.approval_id or 0, comment="first release")
    assert backend.get_alias(project.MODEL, "production").version == 1

    # Monitoring: an alert on the share of drifted features.
    services.alerts.create_rule("churn-drift", condition="drift.share > 0.3", severity="critical")
    worker = Worker(services, pipelines=PipelineDispatcher(services, settings, poll=0.5))
    now = datetime.now(UTC)

    with httpx.Client(timeout=30) as client, _serving(services, settings) as url:
        services.monitors.create("churn-watch", deployment=project.MODEL, schedule="* * * * *")
        assert _predict(client, url, project.frame(400, seed=5)) == 1
        _wait_logged(services, 400)
        calm = services.monitors.run_due(now + timedelta(minutes=1, seconds=1))
        assert [r.status for r in calm] == ["ok"]
        worker.tick()
        assert [r.id for r in backend.list_pipeline_runs(project.PROJECT)] == [first.id]

        # New data arrives, and the traffic drifts with it.
        project.log_datasets(seed=3, shift=40.0)
        _predict(client, url, project.frame(2000, seed=9, shift=40.0))
        _wait_logged(services, 2400)
        drifted = services.monitors.run_due(now + timedelta(minutes=2, seconds=1))
        assert [r.status for r in drifted] == ["drift"]
        (alert,) = services.alerts.list_alerts(state="firing")

        # The worker's next pass: the alert trigger queues a retraining and starts it.
        counts = worker.tick()
        assert counts["pipelines"] == 1
        assert worker.pipelines is not None
        worker.pipelines.wait(180)
        retrained = backend.list_pipeline_runs(project.PROJECT)[0]
        assert retrained.trigger is Trigger.ALERT and retrained.trigger_detail == "churn-drift"
        assert retrained.cause["alert_id"] == alert.id
        assert retrained.status is PipelineStatus.AWAITING_APPROVAL, retrained.error
        assert retrained.data == {"train": "customers@2", "holdout": "customers-holdout@2"}
        assert (retrained.model, retrained.version, retrained.gate_passed) == (
            project.MODEL,
            2,
            True,
        )
        request = backend.get_approval(retrained.approval_id or 0)
        assert request.requested_by == PIPELINE_ACTOR and "churn-drift" in request.reason

        # The approver approves; serving swaps to version 2 without a restart.
        with acting_as("anna"):
            backend.approve(request.id, comment="retrained on the new data")
        deadline = time.monotonic() + 30
        while _predict(client, url, project.frame(10, seed=11, shift=40.0)) != 2:
            assert time.monotonic() < deadline, "serving did not swap to version 2"
            time.sleep(0.2)

    done = backend.get_pipeline_run(retrained.id)
    assert done.status is PipelineStatus.PROMOTED and done.alias_moved_at is not None
    assert done.training_run_id is not None
    training = backend.get_run(done.training_run_id)
    assert training.tags["werft.trigger"] == "alert"
    assert {(i.name, i.version) for i in training.inputs} >= {("customers", 2)}
    lineage = backend.model_lineage(project.MODEL, 2)
    assert lineage.pipeline_run is not None
    assert (lineage.pipeline_run.id, lineage.pipeline_run.trigger) == (retrained.id, "alert")
    assert lineage.pipeline_run.status == "promoted"
    assert [e.action for e in services.audit.list_events(object_type="pipeline_run")] == [
        "pipeline_run.created",
        "pipeline_run.finished",
        "pipeline_run.created",
        "pipeline_run.finished",
    ]
