"""Assemble a serving process: routes, prediction logs, alias follower, deployment record."""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import os
import socket
import threading
import uuid
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from starlette.applications import Starlette

from werft.config import Settings, load_settings
from werft.errors import InvalidInputError, WerftError
from werft.monitoring.histograms import reference_spec
from werft.registry.uris import check_alias, check_model_name
from werft.sdk.backend import Backend, open_backend
from werft.serving.app import ServingApp
from werft.serving.metrics import ServingMetrics
from werft.serving.predlog import PredictionLog, SegmentInfo
from werft.serving.runtime import ModelRoute, RouteOptions, Variant
from werft.store.artifacts import BlobInfo

log = logging.getLogger("werft.serving")

MAX_FEEDBACK_ITEMS = 10_000


@dataclass(frozen=True)
class ServeTarget:
    """``name@alias`` with an optional canary share and shadow alias."""

    name: str
    alias: str
    canary: Variant | None = None
    shadow: Variant | None = None


def parse_target(text: str) -> tuple[str, str]:
    """``churn@production`` -> (``churn``, ``production``)."""
    name, sep, alias = text.partition("@")
    if not sep:
        raise InvalidInputError(f"{text!r}: give MODEL@ALIAS, e.g. churn-classifier@production")
    return check_model_name(name), check_alias(alias)


def parse_canary(text: str) -> tuple[str, Variant]:
    """``churn@challenger=10%`` -> (``churn``, Variant(``challenger``, 0.1))."""
    target, sep, share_text = text.partition("=")
    name, alias = parse_target(target)
    try:
        share = float(share_text.rstrip("%")) / (100 if share_text.endswith("%") else 1)
    except ValueError:
        share = -1.0
    if not sep or not 0 < share < 1:
        raise InvalidInputError(f"{text!r}: give MODEL@ALIAS=SHARE, e.g. churn@challenger=10%")
    return name, Variant(alias, share)


@dataclass
class ServeConfig:
    """Everything ``werft serve`` was asked to do."""

    targets: list[ServeTarget]
    deployment: str | None = None
    address: str = ""
    poll_interval: float = 5.0
    heartbeat_interval: float = 5.0
    options: RouteOptions = field(default_factory=RouteOptions)
    roll_seconds: float = 60.0
    roll_rows: int = 100_000


class ServingProcess:
    """Owns the routes and the background threads of one serving process."""

    def __init__(self, settings: Settings, backend: Backend, config: ServeConfig) -> None:
        if config.deployment and len(config.targets) > 1:
            raise InvalidInputError(
                "--deployment names a single model's deployment; "
                "with several models each is its own deployment"
            )
        self.settings, self.backend, self.config = settings, backend, config
        self.metrics = ServingMetrics()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="werft-predict")
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.routes: dict[str, ModelRoute] = {}
        self._replica_ids: dict[str, str] = {}
        spool = settings.home / "spool" / "predictions"
        for target in config.targets:
            deployment = config.deployment or target.name
            predlog = PredictionLog(
                deployment,
                spool,
                _BackendBlobs(backend),
                on_segment=functools.partial(self._record, deployment),
                roll_rows=config.roll_rows,
                roll_seconds=config.roll_seconds,
            )
            self.routes[target.name] = ModelRoute(
                target.name,
                target.alias,
                backend=backend,
                cache=settings.home / "cache" / "models",
                metrics=self.metrics,
                predlog=predlog,
                executor=self._executor,
                options=config.options,
                deployment=deployment,
                canary=target.canary,
                shadow=target.shadow,
            )
            self._replica_ids[target.name] = uuid.uuid4().hex

    # --- lifecycle --------------------------------------------------------------------

    def start(self) -> None:
        """Register, recover leftover logs, load models, start the background threads."""
        for name, route in self.routes.items():
            target = next(t for t in self.config.targets if t.name == name)
            self.backend.register_replica(
                route.deployment,
                models={
                    name: {
                        "alias": target.alias,
                        "canary": target.canary.__dict__ if target.canary else None,
                        "shadow": target.shadow.alias if target.shadow else None,
                    }
                },
                strategy="canary" if target.canary else "shadow" if target.shadow else "single",
                replica_id=self._replica_ids[name],
                address=self.config.address,
                host=socket.gethostname(),
                pid=os.getpid(),
            )
            route.predlog.recover()
            route.refresh()
            self._set_reference(route)
            route.predlog.start()
        self._spawn(self._follow, "werft-follow-alias")
        self._spawn(self._beat, "werft-heartbeat")
        self._heartbeat()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(10)
        for route in self.routes.values():
            route.predlog.close()
        self._heartbeat(status="stopped")
        self._executor.shutdown(wait=True)

    def _spawn(self, target: Any, name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _follow(self) -> None:
        while not self._stop.wait(self.config.poll_interval):
            for route in self.routes.values():
                route.refresh()

    def _beat(self) -> None:
        while not self._stop.wait(self.config.heartbeat_interval):
            self._heartbeat()

    def _heartbeat(self, status: str | None = None) -> None:
        """Each route's replica reports its state and its requests since the last beat."""
        for name, route in self.routes.items():
            stats = route.stats.drain()
            sent = False
            try:
                self.backend.heartbeat(
                    self._replica_ids[name],
                    status=status or ("ready" if route.ready else "loading"),
                    serving={route.name: route.versions()},
                    stats=stats,
                )
                sent = True
            except WerftError as exc:
                log.warning("heartbeat failed: %s", exc)
            finally:
                if not sent and stats is not None:
                    route.stats.restore(stats)  # the next heartbeat sends them

    def _set_reference(self, route: ModelRoute) -> None:
        """Histograms in log segments use the bins of the model's training data."""
        served = route.served.get("primary")
        if served is None:
            return
        try:
            lineage = self.backend.model_lineage(route.name, served.version)
            training = next((d for d in lineage.datasets if d.context == "training"), None)
            if training is None:
                return
            version = self.backend.get_dataset_version(
                lineage.version.project, training.name, training.version
            )
            route.predlog.reference = reference_spec(version.profile)
        except WerftError as exc:
            log.warning("no reference profile for %s: %s", route.name, exc)

    def _record(self, deployment: str, info: SegmentInfo) -> None:
        self.backend.record_segment(deployment, info.model_dump(mode="json"))

    # --- feedback -----------------------------------------------------------------------

    def feedback(self, route: ModelRoute, payload: Any) -> Mapping[str, Any]:
        """Store labels by request id; ids no log of this deployment has are reported back."""
        items = _feedback_items(payload)
        known = self._known(route, [request_id for request_id, _ in items])
        accepted = [(rid, label) for rid, label in items if rid in known]
        unknown = [rid for rid, _ in items if rid not in known]
        stored = self.backend.store_feedback(route.deployment, accepted) if accepted else 0
        return {"stored": stored, "unknown": unknown}

    def _known(self, route: ModelRoute, request_ids: Sequence[str]) -> set[str]:
        pending = set(route.predlog.pending_ids(request_ids))
        rest = [rid for rid in request_ids if rid not in pending]
        found = set(pending)
        for rid in rest:
            for segment in self.backend.list_segments(route.deployment, request_id=rid):
                if rid in self._segment_request_ids(segment.digest):
                    found.add(rid)
                    break
        return found

    def _segment_request_ids(self, digest: str) -> set[str]:
        cache = self.settings.home / "cache" / "segments"
        path = cache / digest.replace(":", "-")
        if not path.exists():
            self.backend.download_blob(digest, path)
        column = pq.read_table(path, columns=["request_id"]).column("request_id")
        return set(column.to_pylist())

    def app(self) -> Starlette:
        return ServingApp(
            self.routes,
            metrics_text=self.metrics.exposition,
            feedback=self.feedback,
            on_startup=self.start,
            on_shutdown=self.stop,
        ).build()


CONFIG_ENV = "WERFT_SERVE_CONFIG"


def config_to_env(config: ServeConfig, overrides: Mapping[str, Any]) -> str:
    """Hand ``werft serve --workers N``'s configuration to the worker processes."""
    return json.dumps(
        {
            "config": dataclasses.asdict(config),
            "overrides": {k: str(v) for k, v in overrides.items() if v is not None},
        }
    )


def app_from_environment() -> Starlette:
    """The app factory each ``--workers`` process calls (uvicorn ``factory=True``)."""
    data = json.loads(os.environ[CONFIG_ENV])
    raw = data["config"]
    targets = [
        ServeTarget(
            t["name"],
            t["alias"],
            canary=Variant(**t["canary"]) if t["canary"] else None,
            shadow=Variant(**t["shadow"]) if t["shadow"] else None,
        )
        for t in raw.pop("targets")
    ]
    options = RouteOptions(**raw.pop("options"))
    config = ServeConfig(targets=targets, options=options, **raw)
    settings = load_settings(**data["overrides"]).settings
    return ServingProcess(settings, open_backend(settings), config).app()


def _feedback_items(payload: Any) -> list[tuple[str, str]]:
    items = (
        payload
        if isinstance(payload, list)
        else payload.get("feedback", [payload])
        if isinstance(payload, dict)
        else None
    )
    if not isinstance(items, list) or not items:
        raise InvalidInputError(
            'send {"request_id": ..., "label": ...} or a list of them (or {"feedback": [...]})'
        )
    if len(items) > MAX_FEEDBACK_ITEMS:
        raise InvalidInputError(f"at most {MAX_FEEDBACK_ITEMS} labels per call")
    result = []
    for index, item in enumerate(items):
        if not isinstance(item, dict) or "request_id" not in item or "label" not in item:
            raise InvalidInputError(f"item {index}: needs request_id and label")
        result.append((str(item["request_id"]), str(item["label"])))
    return result


class _BackendBlobs:
    """The prediction log stores segments through the backend (local store or server)."""

    def __init__(self, backend: Backend) -> None:
        self._backend = backend

    def put_file(self, path: Path) -> BlobInfo:
        return self._backend.upload_blob(path)
