"""The real `werft server` process, driven by the SDK and the CLI over loopback HTTP."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SCRIPT = """
import werft
with werft.start_run(project="churn", name="remote") as run:
    werft.log_params({"depth": 3})
    for step in range(20000):
        werft.log_metric("loss", 1.0 / (step + 1), step=step)
    werft.log_metric("auc", 0.91)
runs = werft.search_runs("churn", filter="metrics.auc > 0.8 and params.depth = '3'")
print(run.id, len(runs), len(werft.get_metric_history(run.id, "loss")))
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    env = {**os.environ, "WERFT_HOME": str(tmp_path / "server-home")}
    env.pop("WERFT_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "werft", "server", "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(url + "/api/v1/health", timeout=1).raise_for_status()
            break
        except httpx.HTTPError:
            if proc.poll() is not None or time.monotonic() > deadline:
                output = proc.stdout.read().decode() if proc.stdout else ""
                raise RuntimeError(f"werft server did not start:\n{output}") from None
            time.sleep(0.1)
    yield url
    proc.terminate()
    proc.wait(10)
    if proc.stdout:
        proc.stdout.close()


def test_sdk_and_cli_in_remote_mode(server: str, tmp_path: Path) -> None:
    env = {**os.environ, "WERFT_URL": server, "WERFT_HOME": str(tmp_path / "client-home")}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    run_id, matches, points = done.stdout.split()
    assert (matches, points) == ("1", "20000")
    # Nothing went to the client's home: the data is on the server.
    assert not (tmp_path / "client-home" / "werft.db").exists()

    listed = subprocess.run(
        [sys.executable, "-m", "werft", "runs", "list", "churn", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert [r["id"] for r in json.loads(listed.stdout)] == [run_id]
    missing = subprocess.run(
        [sys.executable, "-m", "werft", "runs", "show", "nope"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert missing.returncode == 3 and missing.stderr.startswith("error: run 'nope' not found")
