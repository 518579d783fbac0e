"""`werft train` and `werft reproduce`: real subprocesses training a real model into the store.

Each test builds a small repository (werft.yaml + train.py), logs the datasets,
syncs the use case and runs the pipeline through the engine; the assertions
read the store, not the printed text.
"""

from __future__ import annotations

import platform
import threading
import time
from pathlib import Path

import pytest
from tests.conftest import LiveServer
from tests.pipelines import project

from werft.client.http import WerftClient
from werft.config import Settings, load_settings
from werft.errors import UnavailableError
from werft.governance.actor import acting_as
from werft.governance.usecases import load_use_case
from werft.pipelines.engine import Engine
from werft.pipelines.entities import (
    CodeVersion,
    NewPipelineRun,
    PipelineRun,
    PipelineRunUpdate,
    PipelineStatus,
    Trigger,
)
from werft.pipelines.train import job_env, reproduce, train
from werft.registry.entities import VersionStatus
from werft.sdk.backend import Backend
from werft.sdk.fluent import set_backend
from werft.sdk.local import LocalBackend
from werft.services import Services
from werft.tracking.entities import RunStatus

pytestmark = pytest.mark.slow


@pytest.fixture
def local(services: Services, settings: Settings) -> Backend:
    backend = LocalBackend(services)
    set_backend(backend, settings)
    return backend


def _repo(tmp_path: Path, backend: Backend, text: str | None = None) -> Path:
    file = project.write_repo(tmp_path / "repo", text)
    loaded = load_use_case(file)
    backend.sync_use_case(loaded.use_case, digest=loaded.digest)
    project.log_datasets()
    return file


def test_train_links_every_step_and_waits_for_the_approver(
    tmp_path: Path, local: Backend, settings: Settings
) -> None:
    file = _repo(tmp_path, local)
    output: list[str] = []
    with acting_as("bob"):
        run = train(local, settings, file, echo=output.append)

    assert run.status is PipelineStatus.AWAITING_APPROVAL, run.error
    assert run.trigger is Trigger.MANUAL and run.created_by == "bob"
    assert run.data == {"train": "customers@1", "holdout": "customers-holdout@1"}
    assert run.code.digest.startswith("sha256:") and run.exit_code == 0
    # The training run: params, pinned inputs, the code version, the logs, ended by werft.
    assert run.training_run_id is not None
    tracked = local.get_run(run.training_run_id)
    assert tracked.status is RunStatus.FINISHED
    assert tracked.params == {"C": "1.0"}
    assert {(i.name, i.version, i.context) for i in tracked.inputs} == {
        ("customers", 1, "training"),
        ("customers-holdout", 1, "holdout"),
    }
    assert tracked.tags["werft.pipeline_run"] == str(run.id)
    assert tracked.tags["werft.code_digest"] == run.code.digest
    assert tracked.environment["python"] == platform.python_version()  # the local interpreter
    assert "train_accuracy" in tracked.metrics
    logs = tmp_path / "training.log"
    local.download_artifact(tracked.id, "logs/training.log", logs)
    assert "training on customers@1: 600 rows" in logs.read_text()
    assert "training on customers@1" in "".join(output)
    # Candidate -> gate -> approval request (policy: approval).
    assert (run.model, run.version) == (project.MODEL, 1)
    version = local.get_model_version(project.MODEL, 1)
    assert version.run_id == tracked.id and version.status is VersionStatus.VALIDATED
    assert run.gate_passed is True and run.gate_report_id is not None
    approval = local.get_approval(run.approval_id or 0)
    assert approval.requested_by == "bob" and approval.status == "pending"
    assert "pipeline run #1" in approval.reason

    with acting_as("anna"):
        local.approve(approval.id, comment="looks right")
    after = local.get_pipeline_run(run.id)
    assert after.status is PipelineStatus.PROMOTED and after.alias_moved_at is not None
    assert local.get_alias(project.MODEL, "production").version == 1
    assert [r.id for r in local.list_pipeline_runs(project.PROJECT)] == [run.id]


def test_automatic_policy_moves_the_alias(
    tmp_path: Path, local: Backend, settings: Settings
) -> None:
    text = project.werft_yaml(promote_to="staging")
    file = _repo(tmp_path, local, text)
    run = train(local, settings, file)
    # staging has no policy entry: automatic once the gate passed.
    assert run.status is PipelineStatus.PROMOTED, run.error
    assert run.alias == "staging" and run.alias_moved_at is not None
    assert local.get_alias(project.MODEL, "staging").version == 1


def test_failed_training_keeps_its_logs_and_registers_nothing(
    tmp_path: Path, local: Backend, settings: Settings
) -> None:
    text = project.werft_yaml().replace("params: {C: 1.0}", "params: {C: 1.0, fail: true}")
    file = _repo(tmp_path, local, text)
    run = train(local, settings, file)
    assert run.status is PipelineStatus.FAILED
    assert "ValueError: the training was told to fail" in run.error
    assert run.exit_code == 1 and "training on customers@1" in run.logs
    assert local.get_run(run.training_run_id or "").status is RunStatus.FAILED
    assert run.model is None and run.gate_report_id is None
    assert local.list_models(project=project.PROJECT).items == []


def test_training_that_fails_after_registering_leaves_no_usable_version(
    tmp_path: Path, local: Backend, settings: Settings
) -> None:
    text = project.werft_yaml().replace(
        "params: {C: 1.0}", "params: {C: 1.0, fail_after_register: true}"
    )
    file = _repo(tmp_path, local, text)
    run = train(local, settings, file)
    assert run.status is PipelineStatus.FAILED and "failed after registering" in run.error
    assert local.get_model_version(project.MODEL, 1).status is VersionStatus.ARCHIVED


def test_failed_gate_stops_before_promotion(
    tmp_path: Path, local: Backend, settings: Settings
) -> None:
    text = project.werft_yaml().replace("value: 0.6}", "value: 0.99}")
    file = _repo(tmp_path, local, text)
    run = train(local, settings, file)
    assert run.status is PipelineStatus.GATE_FAILED
    assert run.gate_passed is False and "model.acceptance.accuracy" in run.error
    assert run.approval_id is None and local.list_approvals() == []


def test_timeout_stops_the_training(tmp_path: Path, local: Backend, settings: Settings) -> None:
    text = (
        project.werft_yaml()
        .replace("params: {C: 1.0}", "params: {C: 1.0, sleep: 60}")
        .replace("timeout: 5m", "timeout: 3")
    )
    file = _repo(tmp_path, local, text)
    started = time.monotonic()
    run = train(local, settings, file)
    assert run.status is PipelineStatus.TIMED_OUT
    assert time.monotonic() - started < 40
    assert "timeout" in run.error
    assert local.get_run(run.training_run_id or "").status is RunStatus.KILLED


def test_cancel_stops_a_running_training(
    tmp_path: Path, local: Backend, settings: Settings
) -> None:
    text = project.werft_yaml().replace("params: {C: 1.0}", "params: {C: 1.0, sleep: 60}")
    file = _repo(tmp_path, local, text)
    result: list[object] = []
    thread = threading.Thread(target=lambda: result.append(train(local, settings, file)))
    thread.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # the output shows up on the run while it trains
        runs = local.list_pipeline_runs(project.PROJECT)
        if runs and "training on customers@1" in runs[0].logs:
            break
        time.sleep(0.2)
    assert runs[0].status is PipelineStatus.TRAINING and "training on" in runs[0].logs
    local.cancel_pipeline_run(runs[0].id)
    thread.join(60)
    run = local.get_pipeline_run(runs[0].id)
    assert run.status is PipelineStatus.CANCELLED, run.error
    assert run.cancel_requested


def test_reproduce_reruns_with_the_same_code_params_and_data(
    tmp_path: Path, local: Backend, settings: Settings
) -> None:
    file = _repo(tmp_path, local, project.werft_yaml(promote_to=None))
    first = train(local, settings, file)
    assert first.status is PipelineStatus.SUCCEEDED, first.error
    # Newer data and changed code must not leak into the reproduction.
    project.log_datasets(seed=7)
    (file.parent / "train.py").write_text("raise SystemExit('changed')\n")

    found = reproduce(local, settings, first.training_run_id or "")

    assert found.matches, found.metrics
    again = found.pipeline_run
    assert again.trigger is Trigger.REPRODUCE and again.trigger_detail == first.training_run_id
    assert again.data == first.data and again.code == first.code
    assert again.status is PipelineStatus.SUCCEEDED and again.alias == ""
    assert [m.key for m in found.metrics] == ["train_accuracy"]


def test_train_against_a_server(
    tmp_path: Path, services: Services, live_server: LiveServer
) -> None:
    """Remote mode: the snapshot, the run and every report go over HTTP; so does the training."""
    live_server.app.state.services = services
    remote = load_settings(environ={}, home=tmp_path / "client", url=live_server.url).settings
    client = WerftClient(live_server.url, timeout=30)
    set_backend(client, remote)
    try:
        file = _repo(tmp_path, client)
        run = train(client, remote, file, sync=True)
    finally:
        client.close()
    assert run.status is PipelineStatus.AWAITING_APPROVAL, run.error
    local = LocalBackend(services)
    assert local.get_pipeline_run(run.id).training_run_id == run.training_run_id
    assert local.get_model_version(project.MODEL, 1).run_id == run.training_run_id
    assert local.get_pipeline(project.PROJECT).code == run.code
    assert [a.path for a in local.list_artifacts(run.training_run_id or "", "logs")] == [
        "logs/training.log"
    ]


class _FlakyBackend:
    """Passes everything to a backend, but reporting on the run fails after the job started."""

    def __init__(self, backend: Backend) -> None:
        self._backend = backend
        self.updates = 0

    def __getattr__(self, name: str) -> object:
        return getattr(self._backend, name)

    def update_pipeline_run(self, run_id: int, change: PipelineRunUpdate) -> PipelineRun:
        if change.job_id is None and self._backend.get_pipeline_run(run_id).job_id:
            self.updates += 1
            if self.updates == 1:
                raise UnavailableError("the werft server did not answer")
        return self._backend.update_pipeline_run(run_id, change)


def test_a_job_is_stopped_when_its_run_can_no_longer_be_reported(
    tmp_path: Path, local: Backend, settings: Settings
) -> None:
    file = _repo(tmp_path, local)
    marker = tmp_path / "still-training"
    (file.parent / "train.py").write_text(
        "import time\n"
        "def main(params, data):\n"
        "    time.sleep(4)\n"
        f"    open({str(marker)!r}, 'w').close()\n"
    )
    flaky = _FlakyBackend(local)
    engine = Engine(backend=flaky, cache=settings.home / "cache", env=job_env(settings), poll=0.5)  # type: ignore[arg-type]
    spec = load_use_case(file).training
    assert spec is not None
    new = NewPipelineRun(
        spec=spec.model_dump(mode="json"), code=CodeVersion(digest="sha256:" + "0" * 64)
    )
    run = engine.execute(local.create_pipeline_run(project.PROJECT, new), file.parent)

    assert run.status is PipelineStatus.FAILED and "did not answer" in run.error
    assert local.get_run(run.training_run_id or "").status is RunStatus.FAILED
    time.sleep(5)
    assert not marker.exists(), "the job trained on after its run failed"


class _CountingBackend(_FlakyBackend):
    """Counts the heartbeats (updates that change nothing) while the run is gating."""

    def __init__(self, backend: Backend) -> None:
        super().__init__(backend)
        self.gating_heartbeats = 0

    def update_pipeline_run(self, run_id: int, change: PipelineRunUpdate) -> PipelineRun:
        current = self._backend.get_pipeline_run(run_id)
        if current.status is PipelineStatus.GATING and not change.model_dump(exclude_none=True):
            self.gating_heartbeats += 1
        return self._backend.update_pipeline_run(run_id, change)


def test_a_long_gate_keeps_reporting(
    tmp_path: Path, local: Backend, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import werft.sdk.gates

    real = werft.sdk.gates.check_version

    def slow_check(*args: object, **kwargs: object) -> object:
        time.sleep(1.0)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(werft.sdk.gates, "check_version", slow_check)
    file = _repo(tmp_path, local, project.werft_yaml(promote_to=None))
    counting = _CountingBackend(local)
    engine = Engine(
        backend=counting, cache=settings.home / "cache", env=job_env(settings), poll=0.2
    )  # type: ignore[arg-type]
    spec = load_use_case(file).training
    assert spec is not None
    new = NewPipelineRun(
        spec=spec.model_dump(mode="json"), code=CodeVersion(digest="sha256:" + "0" * 64)
    )
    run = engine.execute(local.create_pipeline_run(project.PROJECT, new), file.parent)
    assert run.status is PipelineStatus.SUCCEEDED, run.error
    assert counting.gating_heartbeats >= 3
