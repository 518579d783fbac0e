"""The Ray executor against a one-node Ray cluster that the test starts and stops.

The cluster runs as ``ray start --head --block`` in a process group of its own
on loopback ports; teardown stops it with SIGTERM and kills what is left of
the processes it started, even when a test failed.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from tests.pipelines import project

from werft.config import Settings
from werft.errors import UnavailableError
from werft.governance.usecases import load_use_case
from werft.pipelines.entities import PipelineStatus
from werft.pipelines.executors import executor_for
from werft.pipelines.jobs import JobStatus, TrainingJob
from werft.pipelines.ray_executor import RayExecutor
from werft.pipelines.train import train
from werft.sdk.fluent import set_backend
from werft.sdk.local import LocalBackend
from werft.services import Services

# One Ray cluster per test run: xdist sends this module's tests to one worker.
pytestmark = pytest.mark.xdist_group("ray")

needs_ray = pytest.mark.skipif(
    importlib.util.find_spec("ray") is None,
    reason="Ray is not installed (pip install 'werft[ray]')",
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _ray_start_command(temp_dir: str, dashboard_port: int) -> list[str]:
    ray_cli = Path(sys.executable).with_name("ray")
    return [
        str(ray_cli) if ray_cli.exists() else "ray",
        "start",
        "--head",
        "--block",
        "--node-ip-address=127.0.0.1",
        f"--port={_free_port()}",
        f"--ray-client-server-port={_free_port()}",
        "--include-dashboard=true",
        "--dashboard-host=127.0.0.1",
        f"--dashboard-port={dashboard_port}",
        f"--dashboard-agent-listen-port={_free_port()}",
        "--num-cpus=1",
        "--object-store-memory=100000000",
        "--disable-usage-stats",
        f"--temp-dir={temp_dir}",
    ]


def _stop(head: subprocess.Popen[bytes]) -> None:
    """SIGTERM the head (it drains and stops its processes), then SIGKILL what is left."""
    started = [head.pid]
    with contextlib.suppress(psutil.NoSuchProcess):
        started += [p.pid for p in psutil.Process(head.pid).children(recursive=True)]
    head.send_signal(signal.SIGTERM)
    try:
        head.wait(timeout=40)
    except subprocess.TimeoutExpired:
        head.kill()
        head.wait()
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(head.pid, signal.SIGKILL)
    for pid in started:  # job drivers may have left the head's process group
        with contextlib.suppress(psutil.NoSuchProcess):
            psutil.Process(pid).kill()


@pytest.fixture(scope="module")
def ray_dashboard() -> Iterator[str]:
    """The Jobs API address of a fresh one-node Ray cluster on loopback."""
    temp_dir = tempfile.mkdtemp(prefix="werft-ray-")  # short: Ray's socket paths must fit
    port = _free_port()
    address = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    with Path(temp_dir, "head.log").open("wb") as log:
        head = subprocess.Popen(
            _ray_start_command(temp_dir, port),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
    try:
        _await_dashboard(head, address, Path(temp_dir, "head.log"))
        yield address
    finally:
        _stop(head)
        shutil.rmtree(temp_dir, ignore_errors=True)


def _await_dashboard(head: subprocess.Popen[bytes], address: str, log: Path) -> None:
    give_up = time.monotonic() + 90
    while True:  # the dashboard offers nothing to await but its HTTP answer
        if head.poll() is not None:
            pytest.fail(f"ray start exited: {log.read_text()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{address}/api/version", timeout=2).status_code == 200:
                return
        if time.monotonic() > give_up:
            pytest.fail("the Ray dashboard did not come up in 90 s")
        time.sleep(0.2)


@pytest.fixture
def no_ray_address(monkeypatch: pytest.MonkeyPatch) -> None:
    # Ray lets these override the address the executor is given.
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.delenv("RAY_API_SERVER_ADDRESS", raising=False)


def _project(root: Path, source: str) -> Path:
    (root / "train.py").write_text(textwrap.dedent(source))
    return root


def _executor(address: str) -> RayExecutor:
    return RayExecutor(address, python=sys.executable, poll_interval=0.2)


def test_without_ray_the_executor_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray.job_submission", None)  # makes the import fail
    with pytest.raises(UnavailableError, match=r"pip install 'werft\[ray\]'"):
        executor_for("ray://head:10001")


@needs_ray
@pytest.mark.parametrize("spec", ["ray", "ray://head:10001", "http://head:8265"])
def test_executor_for_ray_specs_does_not_connect_yet(spec: str) -> None:
    executor = executor_for(spec)
    assert isinstance(executor, RayExecutor)
    assert executor.address == (None if spec == "ray" else spec)


@needs_ray
@pytest.mark.slow
@pytest.mark.usefixtures("no_ray_address")
def test_a_job_runs_end_to_end_on_ray(ray_dashboard: str, tmp_path: Path) -> None:
    workdir = _project(
        tmp_path,
        """
        import os, sys

        def main(params, data):
            print("training on ray with", params["depth"])
            print("to stderr", file=sys.stderr)
            return {"model_version": 3, "data": data, "run": os.environ["WERFT_PIPELINE_RUN"]}
        """,
    )
    job = TrainingJob(
        entrypoint="train.py:main",
        workdir=workdir,
        params={"depth": 3},
        data={"train": "customers@7"},
        env={"WERFT_PIPELINE_RUN": "pr-9"},
        timeout=120,
    )
    handle = _executor(ray_dashboard).submit(job)
    assert handle.id.startswith("werft-")
    result = handle.wait(timeout=120)
    assert result.status is JobStatus.SUCCEEDED, result.logs
    assert result.exit_code == 0
    assert result.result == {"model_version": 3, "data": {"train": "customers@7"}, "run": "pr-9"}
    assert "training on ray with 3" in result.logs
    assert "to stderr" in result.logs
    # Ray echoes the command (which names the marker); the outcome line itself is gone.
    assert not any(line.startswith("@@werft-outcome") for line in result.logs.splitlines())
    assert result.started_at is not None and result.finished_at is not None
    assert handle.status() is JobStatus.SUCCEEDED


@needs_ray
@pytest.mark.slow
@pytest.mark.usefixtures("no_ray_address")
def test_a_failing_job_on_ray_reports_the_traceback(ray_dashboard: str, tmp_path: Path) -> None:
    workdir = _project(tmp_path, "def main(params, data):\n    raise KeyError('holdout')\n")
    result = (
        _executor(ray_dashboard)
        .submit(TrainingJob(entrypoint="train.py:main", workdir=workdir))
        .wait(timeout=120)
    )
    assert result.status is JobStatus.FAILED
    assert result.exit_code == 1
    assert result.error is not None and result.error.startswith("KeyError: 'holdout'")


@needs_ray
@pytest.mark.slow
@pytest.mark.usefixtures("no_ray_address")
def test_a_job_on_ray_can_be_cancelled_and_times_out(ray_dashboard: str, tmp_path: Path) -> None:
    workdir = _project(
        tmp_path,
        """
        import time

        def main(params, data):
            print("started", flush=True)
            time.sleep(600)
        """,
    )
    executor = _executor(ray_dashboard)
    cancelled = executor.submit(TrainingJob(entrypoint="train.py:main", workdir=workdir))
    timed = executor.submit(TrainingJob(entrypoint="train.py:main", workdir=workdir, timeout=5))
    give_up = time.monotonic() + 120
    while "started" not in cancelled.logs():  # only the logs tell that it runs
        assert time.monotonic() < give_up, "the job did not start"
        time.sleep(0.2)
    cancelled.cancel()
    result = cancelled.wait(timeout=120)
    assert result.status is JobStatus.CANCELLED
    assert result.error == "the job was cancelled"
    assert "started" in result.logs
    assert timed.wait(timeout=120).status is JobStatus.TIMED_OUT


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """The pipeline on Ray reaches the store from the cluster's worker: a file on this machine."""
    return f"sqlite:///{tmp_path / 'werft.db'}"


@needs_ray
@pytest.mark.slow
@pytest.mark.usefixtures("no_ray_address")
def test_a_pipeline_trains_on_ray_end_to_end(
    ray_dashboard: str, tmp_path: Path, services: Services, settings: Settings
) -> None:
    backend = LocalBackend(services)
    set_backend(backend, settings)
    text = project.werft_yaml(promote_to="staging", extra=f"  executor: {ray_dashboard}\n")
    file = project.write_repo(tmp_path / "repo", text)
    loaded = load_use_case(file)
    backend.sync_use_case(loaded.use_case, digest=loaded.digest)
    project.log_datasets()

    run = train(backend, settings, file)

    assert run.status is PipelineStatus.PROMOTED, f"{run.error}\n{run.logs}"
    assert run.executor == ray_dashboard and run.job_id.startswith("werft-")
    assert "training on customers@1: 600 rows" in run.logs
    assert (run.model, run.version, run.gate_passed) == (project.MODEL, 1, True)
    assert backend.get_alias(project.MODEL, "staging").version == 1
    assert backend.get_run(run.training_run_id or "").tags["werft.executor"] == ray_dashboard
