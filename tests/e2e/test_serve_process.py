"""`werft serve` as a real process: a kill -9 under load loses no acknowledged prediction."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pyarrow.parquet as pq
import pytest
from sklearn.linear_model import LogisticRegression

import werft
from werft.quickstart import make_customers

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

FEATURES = ["tenure", "monthly_fee", "tickets"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(home: Path, port: int, *extra: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "WERFT_HOME": str(home)}
    env.pop("WERFT_URL", None)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "werft",
            "serve",
            "churn@production",
            "--port",
            str(port),
            "--log-roll-seconds",
            "3600",
            *extra,
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        assert proc.poll() is None and time.monotonic() < deadline, "werft serve did not start"
        time.sleep(0.1)


def _register(home: Path) -> None:
    data = make_customers(300)
    werft.configure(home=home)
    with werft.start_run(project="churn"):
        model = LogisticRegression().fit(data[FEATURES], data["churn"])
        info = werft.log_model(model, input_example=data[FEATURES].head(5), register="churn")
    assert info.version is not None
    werft.set_alias("churn", "production", info.version.version)


def _logged_ids(tmp_path: Path) -> set[str]:
    backend = werft.sdk.fluent._backend()  # type: ignore[attr-defined]
    logged: set[str] = set()
    for segment in backend.list_segments("churn"):
        path = tmp_path / segment.id
        backend.download_blob(segment.digest, path)
        logged.update(pq.read_table(path, columns=["request_id"]).column(0).to_pylist())
    return logged


def test_kill_9_during_load_loses_no_acknowledged_prediction(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _register(home)
    port = _free_port()
    url = f"http://127.0.0.1:{port}/predict"
    server = _start(home, port)
    acked: list[str] = []

    async def load() -> None:
        async with httpx.AsyncClient(timeout=10) as http:

            async def worker() -> None:
                row = {"tenure": 12, "monthly_fee": 49.0, "tickets": 1}
                while True:
                    try:
                        response = await http.post(url, json={"rows": [row]})
                    except httpx.HTTPError:
                        return  # the server is gone
                    if response.status_code == 200:
                        acked.append(response.json()["request_id"])

            async def killer() -> None:
                while len(acked) < 300:
                    await asyncio.sleep(0.01)
                os.kill(server.pid, signal.SIGKILL)

            await asyncio.gather(killer(), *(worker() for _ in range(8)))

    asyncio.run(load())
    server.wait(10)
    restarted = _start(home, port)  # recovers and ships what the dead process left
    restarted.send_signal(signal.SIGTERM)
    # uvicorn shuts down gracefully, then re-raises the signal it caught.
    assert restarted.wait(30) in (0, -signal.SIGTERM)
    logged = _logged_ids(tmp_path)
    assert len(acked) >= 300
    missing = set(acked) - logged
    assert missing == set(), f"{len(missing)} acknowledged predictions lost"


def test_several_workers_add_up_their_metrics_and_logs(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _register(home)
    port = _free_port()
    server = _start(home, port, "--workers", "2")
    row = {"tenure": 12, "monthly_fee": 49.0, "tickets": 1}
    ids: list[str] = []
    pids: set[int] = set()
    with httpx.Client(timeout=10) as http:
        for _ in range(200):
            # A fresh connection each time lets the kernel spread them over the workers.
            response = httpx.post(f"http://127.0.0.1:{port}/predict", json={"rows": [row]})
            assert response.status_code == 200
            ids.append(response.json()["request_id"])
        metrics = http.get(f"http://127.0.0.1:{port}/metrics").text
    total = sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("werft_requests_total{")
    )
    assert total == 200
    replicas = werft.sdk.fluent._backend().get_deployment("churn").replicas  # type: ignore[attr-defined]
    pids = {r.pid for r in replicas if r.alive}
    assert len(pids) == 2
    server.send_signal(signal.SIGTERM)
    server.wait(30)
    assert set(ids) <= _logged_ids(tmp_path)
    # Each worker is a replica of its own and sends its own counts: they add up.
    backend = werft.sdk.fluent._backend()  # type: ignore[attr-defined]
    window = backend.serving_window("churn", 0, time.time_ns() // 1_000_000 + 1)
    assert window.requests == 200 and 1 <= window.replicas <= 2
