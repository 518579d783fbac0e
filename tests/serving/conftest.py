"""A real serving process on a loopback port over a freshly registered model."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pandas as pd
import pytest
import uvicorn
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import werft
from werft.config import Settings
from werft.quickstart import make_customers
from werft.sdk.fluent import set_backend
from werft.sdk.local import LocalBackend
from werft.services import Services
from werft.serving.runtime import RouteOptions
from werft.serving.server import ServeConfig, ServeTarget, ServingProcess


def train(seed: int = 0, c: float = 1.0) -> tuple[Pipeline, pd.DataFrame]:
    data = make_customers(400, seed)
    frame, label = data.drop(columns="churn"), data["churn"]
    prep = ColumnTransformer(
        [
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["plan"]),
            ("num", StandardScaler(), ["tenure", "monthly_fee", "tickets"]),
        ]
    )
    pipe = Pipeline([("prep", prep), ("clf", LogisticRegression(C=c))]).fit(frame, label)
    return pipe, frame


@dataclass
class Served:
    url: str
    process: ServingProcess
    backend: LocalBackend
    register: Callable[[float], int]
    stop: Callable[[], None]  # shut down as uvicorn does on SIGTERM, final heartbeat included


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """Serving tests exercise HTTP and threads, not SQL: SQLite is enough here."""
    return f"sqlite:///{tmp_path / 'werft.db'}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def serve_model(services: Services, settings: Settings) -> Iterator[Callable[..., Served]]:
    backend = LocalBackend(services)
    set_backend(backend, settings)
    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def register(c: float = 1.0) -> int:
        pipe, frame = train(c=c)
        with werft.start_run(project="churn"):
            werft.log_dataset(frame, name="customers", context="training")
            info = werft.log_model(pipe, input_example=frame.head(10), register="churn")
        assert info.version is not None
        return info.version.version

    def start(
        *,
        canary: float | None = None,
        shadow: bool = False,
        also: tuple[ServeTarget, ...] = (),
        **options: object,
    ) -> Served:
        first = register()
        werft.set_alias("churn", "production", first)
        target = ServeTarget("churn", "production")
        if canary is not None or shadow:
            second = register(c=0.01)
            werft.set_alias("churn", "challenger", second)
            from werft.serving.runtime import Variant

            target = ServeTarget(
                "churn",
                "production",
                canary=Variant("challenger", canary) if canary is not None else None,
                shadow=Variant("challenger") if shadow else None,
            )
        config = ServeConfig(
            targets=[target, *also],
            poll_interval=0.2,
            heartbeat_interval=0.5,
            roll_seconds=0.5,
            options=RouteOptions(**options),  # type: ignore[arg-type]
        )
        process = ServingProcess(settings, backend, config)
        port = _free_port()
        server = uvicorn.Server(
            uvicorn.Config(process.app(), host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "serve did not start"
            time.sleep(0.01)
        servers.append((server, thread))

        def stop() -> None:
            server.should_exit = True
            thread.join(20)
            assert not thread.is_alive(), "serve did not stop"

        return Served(f"http://127.0.0.1:{port}", process, backend, register, stop)

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(20)
    werft.configure()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as http:
        yield http
