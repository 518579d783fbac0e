"""The whole MLOps lifecycle on one machine, narrated: what ``werft quickstart`` does.

Nine phases, each done for real in a fresh home (SQLite + a local folder):
the use case from its werft.yaml, tracked experiments, the best one
registered with its data lineage, the CI gate, a promotion approved by a
second person, ``werft serve`` with real HTTP traffic and late feedback
labels, drifting data caught by a monitor whose alert reaches a webhook,
retraining by the alert trigger through the same gate and approval with a
hot swap, and the maturity report. Every number printed is read back from
the store.
"""

from __future__ import annotations

import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd

import werft
from werft.config import Settings, load_settings
from werft.governance.actor import acting_as
from werft.governance.maturity_entities import MaturityReport, star_text
from werft.governance.usecases import load_use_case
from werft.pipelines.dispatch import PipelineDispatcher
from werft.pipelines.entities import PipelineRun
from werft.pipelines.train import sync as sync_pipeline
from werft.quickstart.data import FEATURES, LABEL, make_customers
from werft.quickstart.receiver import WebhookReceiver
from werft.quickstart.repo import ALERT, MODEL, PROJECT, write
from werft.sdk.fluent import set_backend
from werft.sdk.local import LocalBackend
from werft.services import Services, build_services
from werft.worker import Worker

Say = Callable[[str], None]

SCIENTIST = "alice"
APPROVER = "anna"
MONITOR = "churn-prod"


@dataclass
class QuickstartResult:
    """What the quickstart did, for the summary and the tests (which read the store)."""

    home: Path
    project: str = PROJECT
    model: str = MODEL
    experiments: list[str] = field(default_factory=list)
    best_run: str = ""
    first_version: int = 0
    retrained: PipelineRun | None = None
    alerts_received: list[Any] = field(default_factory=list)
    served_versions: list[int] = field(default_factory=list)
    maturity: MaturityReport | None = None
    seconds: float = 0.0


def default_home() -> Path:
    """A fresh home for each run: the quickstart never mixes with earlier data."""
    return Path(tempfile.mkdtemp(prefix="werft-quickstart-"))


def quickstart_settings(home: Path) -> Settings:
    """The embedded default in ``home``, whatever WERFT_* variables say."""
    return load_settings(environ={}, home=home).settings


def run_quickstart(home: Path, say: Say = print) -> QuickstartResult:
    """Run every phase in ``home`` (which must not hold a werft store yet).

    Raises:
        InvalidInputError: ``home`` already holds a werft store.
    """
    from werft.errors import InvalidInputError

    if (home / "werft.db").exists():
        raise InvalidInputError(
            f"{home} already holds a werft store; the quickstart starts from an empty home "
            "(leave out --home for a fresh one)"
        )
    started = time.monotonic()
    settings = quickstart_settings(home)
    services = build_services(settings)
    backend = LocalBackend(services)
    set_backend(backend, settings)
    result = QuickstartResult(home=home)
    try:
        _Lifecycle(services, backend, settings, say, result).run()
    finally:
        werft.configure()
        services.close()
    result.seconds = time.monotonic() - started
    return result


class _Lifecycle:
    def __init__(
        self,
        services: Services,
        backend: LocalBackend,
        settings: Settings,
        say: Say,
        result: QuickstartResult,
    ) -> None:
        self.services, self.backend, self.settings = services, backend, settings
        self.say, self.result = say, result
        self.repo = settings.home / "churn-repo"
        self.data = make_customers(3000, seed=7)
        self.train, self.holdout = self.data.iloc[:2000], self.data.iloc[2000:]

    def run(self) -> None:
        self._requirements()
        best_c = self._exploration()
        self._development(best_c)
        self._integration()
        self._deployment()
        with WebhookReceiver() as receiver, self._serving() as url:
            self._operation(url, receiver)
            self._drift(url, receiver)
            self._retraining(url)
        self._report()

    # 1 -------------------------------------------------------------------------------
    def _requirements(self) -> None:
        self._phase(1, "requirements: the use case as code")
        file = write(self.repo, c=1.0)
        loaded = load_use_case(file)
        self.backend.sync_use_case(loaded.use_case, digest=loaded.digest)
        case = self.backend.get_use_case(PROJECT).spec
        self.say(f"  {file}: {case.name!r}, owner {case.owner}, risk class {case.risk_class}")
        self.say(f"  goal: {case.business_goal}")
        self.say(f"  KPI: {', '.join(k.name for k in case.kpis)}")
        self.say(f"  acceptance: {'; '.join(str(rule) for rule in case.acceptance)}")
        self.say(f"  production needs approval by: {', '.join(case.approvers)}")

    # 2 -------------------------------------------------------------------------------
    def _exploration(self) -> float:
        from sklearn.metrics import roc_auc_score

        self._phase(2, "exploration: tracked experiments")
        build = _load_build(self.repo / "train.py")
        x, y = self.train[FEATURES], self.train[LABEL]
        hx, hy = self.holdout[FEATURES], self.holdout[LABEL]
        self._infos: dict[str, Any] = {}
        with acting_as(SCIENTIST):
            for c in (0.001, 0.1, 10.0):
                with werft.start_run(project=PROJECT, name=f"logreg-C{c:g}") as run:
                    werft.log_params({"model": "logistic-regression", "C": c})
                    werft.log_dataset(self.train, "customers", context="training")
                    werft.log_dataset(self.holdout, "customers-holdout", context="validation")
                    model = build(c).fit(x, y)
                    for step, fraction in enumerate((0.25, 0.5, 0.75, 1.0)):
                        part = int(len(x) * fraction)
                        partial = build(c).fit(x.iloc[:part], y.iloc[:part])
                        werft.log_metric(
                            "learning_curve_auc",
                            float(roc_auc_score(hy, partial.predict_proba(hx)[:, 1])),
                            step=step,
                        )
                    werft.log_metric(
                        "roc_auc", float(roc_auc_score(hy, model.predict_proba(hx)[:, 1]))
                    )
                    werft.log_metric("accuracy", float(model.score(hx, hy)))
                    self._infos[run.id] = werft.log_model(model, input_example=x.head(5))
                self.result.experiments.append(run.id)
        ranked = werft.search_runs(
            PROJECT,
            filter="params.model = 'logistic-regression'",
            order_by=["metrics.roc_auc DESC"],
        )
        for found in ranked:
            self.say(
                f"  run {found.id[:12]}  {found.name:<14} roc_auc {found.metrics['roc_auc']:.4f}"
                f"  accuracy {found.metrics['accuracy']:.3f}"
            )
        best = ranked[0]
        self.result.best_run = best.id
        self.say(f"  compared with search_runs(order_by roc_auc DESC): best is {best.name}")
        return float(best.params["C"])

    # 3 -------------------------------------------------------------------------------
    def _development(self, best_c: float) -> None:
        self._phase(3, "development: the best model registered, with its data lineage")
        run = self.backend.get_run(self.result.best_run)
        info = self._infos[run.id]
        with acting_as(SCIENTIST):
            version = self.backend.create_model_version(
                MODEL,
                project=PROJECT,
                run_id=run.id,
                artifact_path=info.artifact_path,
                content_hash=info.manifest.content_hash,
                files=info.files,
                flavor=info.manifest.flavor,
                model_class=info.manifest.model_class,
                signature=info.manifest.signature.model_dump(mode="json"),
                created_by=SCIENTIST,
                description=f"logistic regression, C={best_c:g}",
            )
        self.result.first_version = version.version
        lineage = self.backend.model_lineage(MODEL, version.version)
        self.say(f"  {MODEL} version {version.version} from run {run.id[:12]} ({version.flavor})")
        for used in lineage.datasets:
            self.say(f"  trained on {used.name}@{used.version} ({used.context}) {used.digest[:19]}")
        # The winning params go into werft.yaml: retraining starts from them.
        file = write(self.repo, c=best_c)
        loaded = load_use_case(file)
        self.backend.sync_use_case(loaded.use_case, digest=loaded.digest)
        sync_pipeline(self.backend, self.settings, file)
        self.say(
            f"  werft.yaml pins C={best_c:g} for retraining; "
            f"pipeline synced (trigger: alert {ALERT})"
        )

    # 4 -------------------------------------------------------------------------------
    def _integration(self) -> None:
        from werft.gates.junit import junit_xml
        from werft.sdk.gates import CheckOptions, check_version

        self._phase(4, "continuous integration: the quality gate")
        report = check_version(
            self.backend,
            MODEL,
            self.result.first_version,
            self.holdout,
            CheckOptions(cache=self.settings.home / "cache" / "models"),
        )
        (self.repo / "gate-report.xml").write_text(junit_xml(report), encoding="utf-8")
        for check in report.checks:
            self.say(f"  {'pass' if check.passed else 'FAIL'}  {check.name}: {check.message}")
        status = self.backend.get_model_version(MODEL, self.result.first_version).status
        self.say(
            f"  gate {'passed' if report.passed else 'FAILED'}: version "
            f"{self.result.first_version} is {status.value} "
            f"(JUnit: {self.repo / 'gate-report.xml'})"
        )

    # 5 -------------------------------------------------------------------------------
    def _deployment(self) -> None:
        from werft.errors import PermissionDeniedError

        self._phase(5, "continuous deployment: promotion under the four-eyes rule")
        version = self.result.first_version
        with acting_as(SCIENTIST):
            promoted = self.backend.promote(
                MODEL, version, "production", reason="best roc_auc of the experiments"
            )
        assert promoted.approval is not None
        request = promoted.approval.id
        self.say(f"  {SCIENTIST} asks to release version {version}: approval request #{request}")
        try:
            with acting_as(SCIENTIST):
                self.backend.approve(request)
        except PermissionDeniedError as refused:
            self.say(f"  {SCIENTIST} tries to approve it herself: refused ({refused.message})")
        with acting_as(APPROVER):
            self.backend.approve(request, comment="gate passed, slices checked")
        self.say(f"  {APPROVER} approves: {MODEL}@production -> version {version}")

    # 6 -------------------------------------------------------------------------------
    @contextmanager
    def _serving(self) -> Iterator[str]:
        import uvicorn

        from werft.serving.server import ServeConfig, ServeTarget, ServingProcess

        config = ServeConfig(
            targets=[ServeTarget(MODEL, "production")],
            poll_interval=0.5,
            heartbeat_interval=1.0,
            roll_seconds=1.0,
        )
        process = ServingProcess(self.settings, self.backend, config)
        port = _free_port()
        server = uvicorn.Server(
            uvicorn.Config(process.app(), host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, name="werft-serve", daemon=True)
        thread.start()
        deadline = time.monotonic() + 60
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("werft serve did not start")
            time.sleep(0.02)
        url = f"http://127.0.0.1:{port}"
        try:
            yield url
        finally:
            server.should_exit = True
            thread.join(30)

    def _operation(self, url: str, receiver: WebhookReceiver) -> None:
        self._phase(6, "operation: werft serve, real traffic, labels arriving later")
        self.say(f"  werft serve {MODEL}@production on {url}")
        alerts = self.services.alerts
        alerts.create_channel("ops-hook", "webhook", {"url": receiver.url, "format": "generic"})
        alerts.create_rule(
            ALERT, condition="drift.share > 0.3", severity="critical", channels=["ops-hook"]
        )
        self.services.monitors.create(MONITOR, deployment=MODEL, schedule="*/15 * * * *")
        self.say(f"  monitor {MONITOR} (window 1h); alert {ALERT}: drift.share > 0.3 -> webhook")
        customers = make_customers(1200, seed=21)
        with httpx.Client(timeout=30) as client:
            labels = []
            for _, row in customers.iloc[:300].iterrows():
                answer = self._predict(client, url, row.to_frame().T)
                labels.append(
                    {"request_id": answer["request_id"], "label": str(bool(row[LABEL])).lower()}
                )
            self._predict(client, url, customers.iloc[300:])
            stored = client.post(url + "/feedback", json=labels).json()
        self._wait_logged(len(customers))
        self.say(
            f"  {len(customers)} predictions served and logged; "
            f"{stored['stored']} labels came back later"
        )
        self.services.kpis.log(MODEL, "retained_customers", 412)
        result = self.services.monitors.run(MONITOR)
        values = result.values
        parts = [f"monitor: {result.status}", f"drift share {values.get('drift.share', 0):.2f}"]
        if "performance.accuracy" in values:
            parts.append(f"accuracy from feedback {values['performance.accuracy']:.3f}")
        if "serving.latency_p99" in values:
            parts.append(f"p99 latency {values['serving.latency_p99'] * 1000:.1f} ms")
        if "kpi.retained_customers" in values:
            parts.append(f"KPI retained_customers {values['kpi.retained_customers']:g}")
        self.say("  " + ", ".join(parts))

    # 7 -------------------------------------------------------------------------------
    def _drift(self, url: str, receiver: WebhookReceiver) -> None:
        self._phase(7, "monitoring: the market shifts, the monitor notices")
        shifted = make_customers(3000, seed=31, shifted=True)
        with httpx.Client(timeout=30) as client:
            self._predict(client, url, shifted)
        self._wait_logged(1200 + len(shifted))
        result = self.services.monitors.run(MONITOR)
        drifted = sorted(
            name.removeprefix("drift.drifted.")
            for name, value in result.values.items()
            if name.startswith("drift.drifted.") and value
        )
        self.say(
            f"  monitor: {result.status}, drift share {result.values.get('drift.share', 0):.2f}"
            + (f" ({', '.join(drifted)})" if drifted else "")
        )
        firing = self.services.alerts.list_alerts(state="firing", rule=ALERT)
        self.say(f"  alert {ALERT}: {'firing' if firing else 'not firing'}")
        self.services.alerts.deliver_due()
        deadline = time.monotonic() + 10
        while not receiver.received and time.monotonic() < deadline:
            time.sleep(0.05)
        self.result.alerts_received = list(receiver.received)
        for body in receiver.received:
            if isinstance(body, dict):
                rule = (body.get("rule") or {}).get("name")
                self.say(
                    f"  the webhook received: {body.get('status')} {rule} on "
                    f"{body.get('monitor')} ({body.get('severity')}), value {body.get('value')}"
                )

    # 8 -------------------------------------------------------------------------------
    def _retraining(self, url: str) -> None:
        self._phase(8, "continuous training: the alert retrains, the gate checks, serving swaps")
        fresh = make_customers(3000, seed=41, shifted=True)
        with acting_as(SCIENTIST), werft.start_run(project=PROJECT, name="data-refresh"):
            werft.log_dataset(fresh.iloc[:2000], "customers", context="output")
            werft.log_dataset(fresh.iloc[2000:], "customers-holdout", context="output")
        self.say("  new labelled data arrived: customers@2, customers-holdout@2")
        dispatcher = PipelineDispatcher(self.services, self.settings, poll=0.5)
        worker = Worker(self.services, pipelines=dispatcher)
        worker.tick()
        dispatcher.wait(600)
        run = self.backend.list_pipeline_runs(PROJECT, limit=1)[0]
        self.say(
            f"  pipeline run #{run.id}: trigger {run.trigger.value} {run.trigger_detail}, "
            f"trained on {run.data.get('train')}, candidate version {run.version}, "
            f"gate {'passed' if run.gate_passed else 'failed'}, {run.status.value}"
        )
        if run.approval_id is None:
            self.result.retrained = run
            self.say(f"  stopped: {run.error}")
            return
        with acting_as(APPROVER):
            self.backend.approve(run.approval_id, comment="retrained on this quarter's customers")
        self.say(f"  {APPROVER} approves request #{run.approval_id}; waiting for the hot swap")
        deadline = time.monotonic() + 30
        with httpx.Client(timeout=30) as client:
            sample = make_customers(5, seed=51, shifted=True)
            while True:
                version = int(self._predict(client, url, sample)["version"])
                self.result.served_versions.append(version)
                if version == run.version or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
        self.result.retrained = self.backend.get_pipeline_run(run.id)
        self.say(f"  werft serve now answers with version {version} — no restart")

    # 9 -------------------------------------------------------------------------------
    def _report(self) -> None:
        self._phase(9, "the MLOps maturity report")
        report = self.services.maturity.report(PROJECT)
        self.result.maturity = report
        for rating in report.phases:
            step = f"  next: {rating.next_step.command}" if rating.next_step else ""
            self.say(f"  {rating.phase:<24} {star_text(rating.stars)}{step}")
        self.say(f"  overall {star_text(report.overall)}")

    # helpers -------------------------------------------------------------------------
    def _phase(self, number: int, title: str) -> None:
        self.say(f"\n[{number}/9] {title}")

    def _predict(self, client: httpx.Client, url: str, frame: pd.DataFrame) -> dict[str, Any]:
        answer: dict[str, Any] = {}
        for start in range(0, len(frame), 500):
            rows = frame.iloc[start : start + 500].drop(columns=[LABEL], errors="ignore")
            records = [
                {k: (v.item() if isinstance(v, np.generic) else v) for k, v in r.items()}
                for r in rows.to_dict("records")
            ]
            response = client.post(url + "/predict", json={"rows": records})
            response.raise_for_status()
            answer = response.json()
        return answer

    def _wait_logged(self, rows: int) -> None:
        deadline = time.monotonic() + 60
        while sum(s.rows for s in self.services.deployments.segments(MODEL)) < rows:
            if time.monotonic() > deadline:
                raise RuntimeError("the prediction log did not ship its segments in time")
            time.sleep(0.1)


def _load_build(path: Path) -> Callable[[float], Any]:
    """``build(c)`` from the repository's train.py: the experiments and the pipeline share it."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("werft_quickstart_train", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    build: Callable[[float], Any] = module.build
    return build


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
