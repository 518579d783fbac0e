"""Shared fixtures: a fresh store per test, on SQLite and (when configured) PostgreSQL;
real receivers on loopback for notifications (an HTTP webhook, an SMTP server).

Set ``WERFT_TEST_DATABASE_URL`` (CI does) to run every store-backed test on
PostgreSQL too; each test then gets a schema of its own.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
import sqlalchemy as sa
import uvicorn
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from fastapi import FastAPI
from moto.server import ThreadedMotoServer

import werft
from werft.client.http import WerftClient
from werft.config import Settings, load_settings
from werft.sdk.backend import Backend
from werft.sdk.local import LocalBackend
from werft.server.app import create_app
from werft.services import Services, build_services

PG_URL = os.environ.get("WERFT_TEST_DATABASE_URL")
S3_BUCKET = "werft-test"

DATABASES = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param(
        "postgres",
        id="postgres",
        marks=[
            pytest.mark.postgres,
            pytest.mark.skipif(not PG_URL, reason="WERFT_TEST_DATABASE_URL is not set"),
        ],
    ),
]


CI_VARIABLES = {"CI", "GITLAB_CI", "GITHUB_ACTIONS", "JENKINS_URL"}
"""A gate records the CI job it runs in: the suite must not see its own CI's."""


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No test reads the developer's ~/.werft, WERFT_* variables or its CI's variables."""
    for name in list(os.environ):
        if (
            name.startswith("WERFT_") and name != "WERFT_TEST_DATABASE_URL"
        ) or name in CI_VARIABLES:
            monkeypatch.delenv(name)
    monkeypatch.setenv("WERFT_HOME", str(tmp_path / "home"))
    yield
    werft.configure()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server on a loopback port with bucket ``werft-test``."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_ACCESS_KEY_ID", "testing")
        mp.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        mp.setenv("AWS_DEFAULT_REGION", "us-east-1")
        # Keep a developer's real AWS config out of the tests.
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
            mp.delenv(name, raising=False)
        mp.setenv("AWS_CONFIG_FILE", os.devnull)
        mp.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
        port = _free_port()
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        try:
            endpoint = f"http://127.0.0.1:{port}"
            boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=S3_BUCKET)
            yield endpoint
        finally:
            server.stop()


@pytest.fixture
def pg_schema_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a schema made for this test alone."""
    assert PG_URL
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{separator}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'werft.db'}"
    return str(request.getfixturevalue("pg_schema_url"))


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return load_settings(
        home=tmp_path / "home",
        database_url=database_url,
        artifacts_url=str(tmp_path / "artifacts"),
    ).settings


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    built = build_services(settings)
    yield built
    built.close()


class LiveServer:
    """A real uvicorn server on a loopback port, serving whichever services a test sets."""

    def __init__(self) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.app: FastAPI = create_app(services=_NO_SERVICES)
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("test server did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


_NO_SERVICES: Services = object()  # type: ignore[assignment]  # each test sets its own


@pytest.fixture(scope="session")
def live_server() -> Iterator[LiveServer]:
    server = LiveServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def api(services: Services, live_server: LiveServer) -> Iterator[httpx.Client]:
    """Raw HTTP to the REST API (real uvicorn on loopback) over this test's services."""
    live_server.app.state.services = services
    with httpx.Client(base_url=live_server.url + "/api/v1", timeout=30) as client:
        yield client


@pytest.fixture(params=["local", "remote"])
def backend(request: pytest.FixtureRequest, services: Services) -> Iterator[Backend]:
    """Both backends over one store: in-process services, and HTTP through a live server."""
    if request.param == "local":
        yield LocalBackend(services)
        return
    live: LiveServer = request.getfixturevalue("live_server")
    live.app.state.services = services
    client = WerftClient(live.url, timeout=30)
    yield client
    client.close()


@dataclass
class Received:
    """One POST the webhook receiver got."""

    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class WebhookReceiver:
    """Records POSTed JSON; answers with the queued statuses, then 200."""

    url: str
    requests: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    on_request: Callable[[], None] | None = None

    def bodies(self, path: str | None = None) -> list[Any]:
        return [r.body for r in self.requests if path is None or r.path == path]


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    """An HTTP server on a free loopback port that records every POST."""
    receiver = WebhookReceiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", 0))
            body = json.loads(self.rfile.read(length) or b"null")
            if receiver.on_request is not None:
                receiver.on_request()
            receiver.requests.append(
                Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            )
            status = receiver.statuses.pop(0) if receiver.statuses else 200
            answer = b"ok" if status < 400 else b"receiver says no"
            self.send_response(status)
            self.send_header("content-length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()
    thread.join(10)


@dataclass
class Mailbox:
    """What the SMTP server accepted."""

    host: str
    port: int
    envelopes: list[Envelope] = field(default_factory=list)

    def messages(self) -> list[Message]:
        return [message_from_bytes(e.original_content or b"") for e in self.envelopes]


class _Handler:
    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        self.mailbox.envelopes.append(envelope)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp() -> Iterator[Mailbox]:
    """aiosmtpd's SMTP server on a free loopback port, keeping every message."""
    mailbox = Mailbox(host="127.0.0.1", port=_free_port())
    controller = Controller(_Handler(mailbox), hostname=mailbox.host, port=mailbox.port)
    controller.start()
    yield mailbox
    controller.stop()
