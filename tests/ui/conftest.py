"""Fixtures for the web UI: a fresh SQLite store per test behind the session's live server,
users with tokens, signed-in browsers (httpx clients with cookies), approval requests."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from werft.config import load_settings
from werft.governance.actor import acting_as
from werft.governance.roles import Role
from werft.governance.usecases.spec import UseCase
from werft.services import Services, build_services
from werft.store.models import GateReportRow, MonitorResultRow
from werft.tracking._rows import utcnow
from werft.tracking.entities import Metric, RunStatus

PROJECT = "churn"
MODEL = "churn-classifier"


@pytest.fixture
def ui_services(tmp_path: Path) -> Iterator[Services]:
    """Services over a new SQLite file: the UI adds no SQL, so one database kind suffices."""
    settings = load_settings(
        home=tmp_path / "home",
        database_url=f"sqlite:///{tmp_path / 'ui.db'}",
        artifacts_url=str(tmp_path / "artifacts"),
    ).settings
    services = build_services(settings)
    yield services
    services.close()


@dataclass
class Browser:
    """An HTTP client that keeps cookies like a browser, and fills in CSRF tokens."""

    client: httpx.Client
    user: str = ""

    def get(self, path: str, **kwargs: object) -> httpx.Response:
        return self.client.get(path, **kwargs)  # type: ignore[arg-type]

    def csrf(self) -> str:
        if "werft_csrf" not in self.client.cookies:
            self.client.get("/signin")
        return self.client.cookies["werft_csrf"]

    def post(self, path: str, data: dict[str, str] | None = None, *, csrf: bool = True):
        form = dict(data or {})
        if csrf:
            form["csrf"] = self.csrf()
        return self.client.post(path, data=form)

    def sign_in(self, user: str, token: str) -> httpx.Response:
        self.user = user
        return self.post("/signin", {"user": user, "token": token, "next": "/"})


@dataclass
class Site:
    """The live server with this test's services; makes browsers and users."""

    services: Services
    url: str
    auth: bool
    app: FastAPI
    _clients: list[httpx.Client] = field(default_factory=list)

    def browser(self, **headers: str) -> Browser:
        client = httpx.Client(base_url=self.url, timeout=30, headers=headers)
        self._clients.append(client)
        return Browser(client)

    def user(self, name: str, roles: dict[str, Role] | None = None, *, admin: bool = False) -> str:
        """Create a user with roles; returns an API token of theirs."""
        self.services.projects.get_or_create(PROJECT)
        self.services.users.create_user(name, admin=admin)
        for project, role in (roles or {}).items():
            self.services.projects.get_or_create(project)
            self.services.users.grant(name, project, role)
        return self.services.users.create_token(name, name="test", expires_in=None).secret

    def signed_in(self, name: str, roles: dict[str, Role] | None = None, **kw: bool) -> Browser:
        browser = self.browser()
        response = browser.sign_in(name, self.user(name, roles, **kw))
        assert response.status_code == 303, response.text
        return browser

    def close(self) -> None:
        for client in self._clients:
            client.close()


def _site(services: Services, live_server: object, *, auth: bool) -> Iterator[Site]:
    app = live_server.app  # type: ignore[attr-defined]
    app.state.services = services
    app.state.auth = auth
    site = Site(services, live_server.url, auth, app)  # type: ignore[attr-defined]
    try:
        yield site
    finally:
        site.close()
        app.state.auth = False


@pytest.fixture
def site(ui_services: Services, live_server: object) -> Iterator[Site]:
    """The UI with authentication off."""
    yield from _site(ui_services, live_server, auth=False)


@pytest.fixture
def secure_site(ui_services: Services, live_server: object) -> Iterator[Site]:
    """The UI with authentication on."""
    yield from _site(ui_services, live_server, auth=True)


def make_runs(
    services: Services, count: int, project: str = PROJECT, *, finished: bool = True
) -> list[str]:
    """``count`` runs with params ``depth``, ``model`` and metrics ``auc``, ``loss``."""
    services.projects.get_or_create(project)
    ids = []
    for i in range(count):
        run = services.runs.create(project, name=f"run-{i:03d}")
        services.runs.log_params(run.id, {"depth": i % 5, "model": "xgb" if i % 2 else "rf"})
        services.runs.log_metrics(
            run.id,
            [
                Metric(key="auc", value=0.7 + i / 1000, step=0, timestamp=1),
                *(Metric(key="loss", value=1 / (s + 1 + i), step=s, timestamp=s) for s in range(5)),
            ],
        )
        if finished:
            services.runs.end(run.id, RunStatus.FINISHED)
        ids.append(run.id)
    return ids


def use_case(services: Services, *, approvers: list[str], project: str = PROJECT) -> str:
    """Sync a use case whose production alias needs an approval; returns its digest."""
    spec = UseCase.model_validate(
        {
            "key": project,
            "name": "Churn prediction",
            "business_goal": "Keep contract customers from cancelling",
            "owner": "sales-analytics",
            "risk_class": "limited",
            "kpis": [{"name": "retained_customers", "unit": "count", "direction": "up"}],
            "acceptance": [{"metric": "roc_auc", "op": ">=", "value": 0.85}],
            "approvers": approvers,
            "policy": {"production": "approval", "staging": "automatic"},
        }
    )
    return services.use_cases.sync(spec).use_case.digest


def approval_request(services: Services, *, requester: str, digest: str) -> int:
    """Register a version with a passed gate and ask for production as ``requester``."""
    with acting_as(requester):
        run = services.runs.create(PROJECT, name="train")
        made = services.registry.create_version(
            MODEL,
            project=PROJECT,
            run_id=run.id,
            artifact_path="model",
            content_hash="sha256:" + "ab" * 32,
            files={},
            flavor="sklearn",
            model_class="sklearn.pipeline.Pipeline",
            signature={
                "inputs": [{"name": "tenure", "dtype": "float64"}],
                "output": {"kind": "classifier", "dtype": "int64"},
            },
            created_by=requester,
        )
    version_id = services.registry.get_version(MODEL, made.version).id
    with services.db.session() as session:
        session.add(
            GateReportRow(
                model_version_id=version_id,
                passed=True,
                data_digest="sha256:" + "cd" * 32,
                report={
                    "rows": 10,
                    "checks": [],
                    "version_status": "validated",
                    "use_case_digest": digest,
                },
                created_at=utcnow(),
                created_by="ci",
            )
        )
    with acting_as(requester):
        result = services.promotions.promote(MODEL, made.version, "production", reason="better")
    assert result.approval is not None
    return result.approval.id


def text(html: str) -> str:
    """The visible text of a page, roughly: tags removed, whitespace collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


DEPLOYMENT = "churn-prod"
MONITOR = "churn-drift"


def monitored_deployment(services: Services, *, windows: int = 12) -> None:
    """A deployment of the model with a monitor that found drift in ``tenure`` lately.

    The results are stored as the monitor's runs would store them (the drift tests
    themselves are tested in tests/monitoring); a rule on ``drift.share`` fires.
    """
    services.projects.get_or_create(PROJECT)
    if not services.registry.list_models(project=PROJECT).items:
        approval_request(services, requester="dev", digest=use_case(services, approvers=["anna"]))
    services.deployments.register_replica(
        DEPLOYMENT,
        models={MODEL: "production"},
        strategy="single",
        replica_id="r1",
        address="http://127.0.0.1:9000",
        host="serve-1",
        pid=4242,
    )
    monitor = services.monitors.create(MONITOR, deployment=DEPLOYMENT)
    services.alerts.create_rule("too-much-drift", condition="drift.share > 0.3", monitor=MONITOR)
    start = utcnow() - timedelta(hours=windows)
    with services.db.session() as session:
        for i in range(windows):
            drifting = i >= windows - 3
            tenure = {"kind": "numeric", "edges": [0.0, 12.0, 24.0, 48.0]}
            plan = {"kind": "categorical", "categories": ["basic", "premium"]}
            session.add(
                MonitorResultRow(
                    monitor_id=monitor.id,
                    window_start=start + timedelta(hours=i),
                    window_end=start + timedelta(hours=i + 1),
                    computed_at=start + timedelta(hours=i + 1),
                    rows=1000,
                    status="drift" if drifting else "ok",
                    drift_share=0.5 if drifting else 0.0,
                    values={
                        "drift.share": 0.5 if drifting else 0.0,
                        "drift.score.tenure": 0.4 if drifting else 0.05 + i / 1000,
                        "drift.score.plan": 0.02,
                        "performance.accuracy": 0.9 - (0.1 if drifting else 0.0),
                        "kpi.retained_customers": 100.0 + i,
                    },
                    result={
                        "drift": {
                            "features": {
                                "tenure": {
                                    "method": "psi",
                                    "statistic": 0.4 if drifting else 0.05,
                                    "drifted": drifting,
                                    "reference": {**tenure, "counts": [0, 30, 30, 30, 10]},
                                    "current": {**tenure, "counts": [0, 5, 15, 40, 40]},
                                },
                                "plan": {
                                    "method": "chi2",
                                    "statistic": 0.02,
                                    "drifted": False,
                                    "reference": {**plan, "counts": [60, 40, 0]},
                                    "current": {**plan, "counts": [58, 42, 0]},
                                },
                            }
                        }
                    },
                )
            )
    services.alerts.evaluate(MONITOR, {"drift.share": 0.5}, utcnow())
    for i in range(windows):
        services.kpis.log(
            DEPLOYMENT, "retained_customers", 100.0 + i, start + timedelta(hours=i + 1)
        )
