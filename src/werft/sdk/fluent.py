"""The module-level tracking API: ``werft.start_run()``, ``werft.log_metric()`` ...

Importing this module stays cheap (no SQLAlchemy, pandas or httpx): the
backend is built on first use from the settings, local or remote.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from werft.errors import ConflictError, InvalidInputError, WerftError

if TYPE_CHECKING:
    from datetime import datetime

    import pandas as pd

    from werft.config import Settings
    from werft.governance.maturity_entities import MaturityReport
    from werft.monitoring.entities import Kpi
    from werft.registry.entities import ModelVersion
    from werft.sdk.backend import Backend
    from werft.sdk.buffer import MetricBuffer
    from werft.sdk.sysmetrics import SystemMetricsSampler
    from werft.tracking.entities import ArtifactInfo, DatasetVersion, Metric, Run


class _State:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.overrides: dict[str, Any] = {}
        self.settings: Settings | None = None
        self.backend: Backend | None = None
        self.stack: list[ActiveRun] = []
        self.failed_by_exception = False


_state = _State()


def configure(**settings: Any) -> None:
    """Set explicit settings (``url``, ``home``, ``database_url`` ...) for this process.

    Explicit settings win over ``WERFT_*`` variables and the config file.  Call
    with no arguments to go back to the environment.  Active runs must be ended
    first.
    """
    with _state.lock:
        if _state.stack:
            raise ConflictError("end the active run before changing werft's configuration")
        if _state.backend is not None:
            _state.backend.close()
        _state.overrides = dict(settings)
        _state.settings = None
        _state.backend = None


def set_backend(backend: Backend, settings: Settings) -> None:
    """Use a ready backend (e.g. a client over an in-process app in tests)."""
    with _state.lock:
        if _state.stack:
            raise ConflictError("end the active run before changing werft's backend")
        _state.settings = settings
        _state.backend = backend


def _settings() -> Settings:
    from werft.config import load_settings

    with _state.lock:
        if _state.settings is None:
            _state.settings = load_settings(**_state.overrides).settings
        return _state.settings


def _backend() -> Backend:
    from werft.sdk.backend import open_backend

    with _state.lock:
        if _state.backend is None:
            _state.backend = open_backend(_settings())
        return _state.backend


class ActiveRun:
    """A run in progress; use it as a context manager.

    Leaving the ``with`` block ends the run: finished normally, failed on an
    exception (which propagates), killed on ``KeyboardInterrupt``.
    """

    def __init__(
        self, run: Run, backend: Backend, settings: Settings, *, owned: bool = True
    ) -> None:
        from werft.sdk.buffer import MetricBuffer

        self.id = run.id
        self.project = run.project
        self.name = run.name
        self._backend = backend
        self._valid_keys: set[str] = set()
        self._ended = False
        # A pipeline's run (WERFT_RUN_ID) is ended by the pipeline, which still adds
        # the training's logs and knows how the whole job ended.
        self._owned = owned
        self._buffer: MetricBuffer = MetricBuffer(
            lambda rows: backend.log_metric_rows(run.id, rows),
            flush_size=settings.metric_flush_size,
            flush_interval=settings.metric_flush_interval,
            recovery_path=settings.home / "unsent-metrics" / f"{run.id}.jsonl",
        )
        self._sampler: SystemMetricsSampler | None = None

    def __repr__(self) -> str:
        return f"ActiveRun(id={self.id!r}, project={self.project!r}, name={self.name!r})"

    @property
    def info(self) -> Run:
        """The run as stored now (metrics buffered but not yet flushed are not in it)."""
        return self._backend.get_run(self.id)

    def log_metric(
        self, key: str, value: float, step: int = 0, timestamp: int | None = None
    ) -> None:
        """Queue one metric point; it is sent in the background."""
        if self._ended:
            raise ConflictError(f"run {self.id} has ended; start a new run to log metrics")
        if key not in self._valid_keys:
            from werft.tracking.validation import check_key

            self._valid_keys.add(check_key("metric", key))
        if isinstance(value, bool) or not isinstance(value, int | float):
            try:
                value = float(value)  # numpy scalars, Decimal, torch 0-d tensors
            except (TypeError, ValueError):
                raise InvalidInputError(
                    f"metric {key!r} value must be a number, got {type(value).__name__}"
                ) from None
        if isinstance(step, bool) or not isinstance(step, int):
            if not hasattr(step, "__index__"):
                raise InvalidInputError(f"metric {key!r} step must be an integer, got {step!r}")
            step = step.__index__()
        self._buffer.add(
            (
                key,
                float(value),
                step,
                time.time_ns() // 1_000_000 if timestamp is None else timestamp,
            )
        )

    def flush(self) -> None:
        """Send buffered metrics now; raises when the backend refuses them."""
        self._buffer.flush()

    def start_system_metrics(self, interval: float = 10.0) -> None:
        from werft.sdk.sysmetrics import SystemMetricsSampler

        if self._sampler is None:
            self._sampler = SystemMetricsSampler(self.log_metric, interval=interval)

    def end(self, status: str = "finished") -> Run:
        """Flush the metrics and end the run with ``status``."""
        from werft.tracking.entities import RunStatus

        with _state.lock:
            if self in _state.stack:
                _state.stack.remove(self)
        if self._ended:
            return self._backend.get_run(self.id)
        self._ended = True
        if self._sampler is not None:
            self._sampler.stop()
        try:
            self._buffer.close()
        except WerftError:
            # Metrics were lost (and saved to the recovery file): the run did not
            # record what it measured, so it must not look finished.
            with contextlib.suppress(WerftError):
                self._backend.end_run(self.id, RunStatus.FAILED)
            raise
        if not self._owned:
            return self._backend.get_run(self.id)
        return self._backend.end_run(self.id, RunStatus(status))

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            status = "finished"
        elif issubclass(exc_type, KeyboardInterrupt):
            status = "killed"
        else:
            status = "failed"
        self.end(status)


def start_run(
    project: str,
    name: str | None = None,
    *,
    tags: Mapping[str, Any] | None = None,
    log_system_metrics: bool = False,
    system_metrics_interval: float = 10.0,
) -> ActiveRun:
    """Start a tracked run in ``project`` (created on first use).

    Records the user, the script, its git commit and dirty flag, and the
    Python and key package versions.  Use as ``with werft.start_run(...) as run:``.

    Inside a training pipeline (``werft train``), the first ``start_run`` continues
    the run the pipeline created for it (``WERFT_RUN_ID``), which already holds the
    params, the input datasets and the code version; ``name`` then only adds a tag.
    """
    from werft.sdk.environment import run_context

    backend = _backend()
    attach = os.environ.pop("WERFT_RUN_ID", None)
    if attach:
        run = _attach(backend, attach, project, name, tags)
    else:
        backend.get_or_create_project(project)
        run = backend.create_run(project, name=name, tags=dict(tags or {}), **run_context())
    active = ActiveRun(run, backend, _settings(), owned=not attach)
    if log_system_metrics:
        active.start_system_metrics(system_metrics_interval)
    with _state.lock:
        _state.stack.append(active)
    return active


def _attach(
    backend: Backend, run_id: str, project: str, name: str | None, tags: Mapping[str, Any] | None
) -> Run:
    run = backend.get_run(run_id)
    if run.project != project:
        raise InvalidInputError(
            f"this training pipeline runs in project {run.project!r}, but the entrypoint "
            f"called start_run(project={project!r}); use the pipeline's project"
        )
    if not run.is_active:
        raise ConflictError(f"the pipeline's run {run_id} has ended already")
    extra = dict(tags or {})
    if name:
        extra["werft.entrypoint_run_name"] = name
    if extra:
        backend.set_tags(run_id, extra)
    return run


def load_dataset(project: str, name: str, version: int | str = "latest") -> pd.DataFrame:
    """The data of a dataset version as a DataFrame (``version``: a number or ``"latest"``).

    In a training pipeline's entrypoint, ``data["train"]`` is a pinned reference such
    as ``"customers@7"``; ``werft.load_dataset(project, *data["train"].split("@"))``
    reads it.

    Raises:
        NotFoundError: No such dataset version.
        ConflictError: The version was logged without its data (``store_data=False``).
    """
    import pandas as pd

    backend = _backend()
    found = backend.get_dataset_version(project, name, version)
    if found.data_digest is None:
        raise ConflictError(
            f"dataset {name}@{found.version} was logged without its data (store_data=False); "
            "only its profile is stored"
        )
    with tempfile.TemporaryDirectory(prefix="werft-dataset-") as tmp:
        path = backend.download_blob(found.data_digest, Path(tmp) / "data.parquet")
        return pd.read_parquet(path)


def active_run() -> ActiveRun | None:
    """The innermost run started and not yet ended, if any."""
    with _state.lock:
        return _state.stack[-1] if _state.stack else None


def _require_run() -> ActiveRun:
    run = active_run()
    if run is None:
        raise ConflictError("no active run; call werft.start_run(project=...) first")
    return run


def end_run(status: str = "finished") -> Run:
    """End the active run."""
    return _require_run().end(status)


def log_param(key: str, value: Any) -> None:
    """Record one param of the active run (params are immutable)."""
    log_params({key: value})


def log_params(params: Mapping[str, Any]) -> None:
    """Record params of the active run; a different value for a logged key is an error."""
    run = _require_run()
    _backend().log_params(run.id, params)


def log_metric(key: str, value: float, step: int = 0, timestamp: int | None = None) -> None:
    """Log a metric point to the active run; buffered, so it costs microseconds."""
    _require_run().log_metric(key, value, step, timestamp)


def log_metrics(metrics: Mapping[str, float], step: int = 0) -> None:
    """Log several metrics at one step."""
    run = _require_run()
    timestamp = time.time_ns() // 1_000_000
    for key, value in metrics.items():
        run.log_metric(key, value, step, timestamp)


def set_tag(key: str, value: Any) -> None:
    """Set a tag of the active run (tags may be changed)."""
    set_tags({key: value})


def set_tags(tags: Mapping[str, Any]) -> None:
    """Set tags of the active run."""
    _backend().set_tags(_require_run().id, tags)


def log_artifact(local_path: str | Path, artifact_path: str | None = None) -> ArtifactInfo:
    """Store a file as an artifact of the active run."""
    return _backend().log_artifact(_require_run().id, Path(local_path), artifact_path)


def log_artifacts(local_dir: str | Path, artifact_path: str | None = None) -> list[ArtifactInfo]:
    """Store every file below a folder as artifacts, keeping the layout."""
    from werft.store.artifacts import validate_artifact_path

    folder = Path(local_dir)
    if not folder.is_dir():
        raise InvalidInputError(f"{folder} is not a folder; use log_artifact for a single file")
    prefix = validate_artifact_path(artifact_path) + "/" if artifact_path else ""
    run_id, backend = _require_run().id, _backend()
    return [
        backend.log_artifact(run_id, file, prefix + file.relative_to(folder).as_posix())
        for file in sorted(p for p in folder.rglob("*") if p.is_file())
    ]


def log_dataset(
    data: pd.DataFrame | str | Path,
    name: str,
    *,
    context: str = "training",
    store_data: bool = True,
) -> DatasetVersion:
    """Register a table as a dataset version and record it as an input of the active run.

    Args:
        data: A pandas DataFrame, or the path of a Parquet or CSV file.
        name: The dataset's name, e.g. ``customers``; versions count up per
            project and name, and identical content reuses its version.
        context: The role in the run: ``training``, ``validation``, ``test`` ...
        store_data: Keep the data itself (as Parquet, content-addressed) so the
            version can be loaded again later; profile only when False.
    """
    from werft.tracking.datasets import describe

    run, backend = _require_run(), _backend()
    frame, description = describe(data)
    data_digest = None
    if store_data:
        with tempfile.TemporaryDirectory(prefix="werft-dataset-") as tmp:
            path = Path(tmp) / "data.parquet"
            frame.to_parquet(path, index=False)
            data_digest = backend.upload_blob(path).digest
    version = backend.register_dataset(
        run.project, name, description.model_dump(mode="json", by_alias=True), data_digest
    )
    backend.link_input(run.id, version.id, context)
    return version


def get_run(run_id: str) -> Run:
    """A run with its params, latest metrics, tags and inputs."""
    return _backend().get_run(run_id)


def get_metric_history(run_id: str, key: str) -> list[Metric]:
    """Every point of a metric, ordered by step (pending points of an active run are sent first)."""
    for run in list(_state.stack):
        if run.id == run_id:
            run.flush()
    backend, cursor = _backend(), None
    points: list[Metric] = []
    while True:
        page = backend.get_metric_history(run_id, key, cursor=cursor)
        points.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return points


def search_runs(
    project: str,
    filter: str | None = None,
    order_by: Sequence[str] | None = None,
    max_results: int = 1000,
) -> list[Run]:
    """Runs of a project matching a filter, e.g. ``metrics.auc > 0.8 and params.depth = '3'``."""
    backend, cursor = _backend(), None
    runs: list[Run] = []
    while len(runs) < max_results:
        page = backend.search_runs(
            project,
            filter=filter,
            order_by=order_by,
            max_results=min(max_results - len(runs), 50_000),
            cursor=cursor,
        )
        runs.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    return runs


def list_artifacts(run_id: str, prefix: str | None = None) -> list[ArtifactInfo]:
    """A run's artifacts, optionally below a folder."""
    return _backend().list_artifacts(run_id, prefix)


def download_artifact(run_id: str, artifact_path: str, dest: str | Path) -> Path:
    """Download an artifact (verified against its hash) to the file ``dest``."""
    return _backend().download_artifact(run_id, artifact_path, Path(dest))


def get_dataset_version(project: str, name: str, version: int | str = "latest") -> DatasetVersion:
    """A dataset version by number, or the newest."""
    return _backend().get_dataset_version(project, name, version)


def set_alias(name: str, alias: str, version: int) -> ModelVersion:
    """Point a model's alias (e.g. ``staging``) at a version; the move is recorded."""
    from werft.sdk.environment import current_user

    return _backend().set_alias(name, alias, version, actor=current_user())


def delete_alias(name: str, alias: str, *, reason: str = "") -> None:
    """Remove a model's alias; its history keeps the deletion.

    An alias the use case releases with ``approval`` (``production``) stops
    serving when deleted: that needs a project admin and a ``reason``, which is
    audited. To return to the version before, use ``werft rollback`` instead.
    """
    from werft.sdk.environment import current_user

    _backend().delete_alias(name, alias, actor=current_user(), reason=reason)


def get_model_version(
    name: str, version: int | None = None, *, alias: str | None = None
) -> ModelVersion:
    """A registered version by number or by alias."""
    if (version is None) == (alias is None):
        raise InvalidInputError("give either a version number or an alias")
    if alias is not None:
        return _backend().get_alias(name, alias)
    assert version is not None
    return _backend().get_model_version(name, version)


def log_kpi(deployment: str, name: str, value: float, time: datetime | None = None) -> Kpi:
    """Record a business KPI of a deployment's use case (e.g. ``retained_customers``).

    KPIs sit beside the ML metrics in monitor results (``kpi.<name>`` and
    ``kpi.<name>.mean`` over the window) and alert rules can use them.

    Args:
        deployment: The deployment whose use case the KPI measures.
        name: Letters, digits, ``_ - .``.
        value: A finite number.
        time: When the value was measured; default now (naive times are UTC).
    """
    return _backend().log_kpi(deployment, name, value, time)


def maturity(project: str) -> MaturityReport:
    """The use case's MLOps maturity: 0-5 stars per lifecycle phase and for the data.

    Rated from what werft recorded for the project (use case, runs, datasets,
    versions, gates, approvals, deployments, monitors, alerts), each phase with
    the evidence counted and the next step to take.

    Args:
        project: The use case's project key.
    """
    return _backend().maturity(project)


def _end_all_at_exit() -> None:
    status = "failed" if _state.failed_by_exception else "finished"
    for run in reversed(list(_state.stack)):
        try:
            run.end(status)
        except WerftError as exc:  # the interpreter is exiting: report, do not raise
            print(f"werft: could not end run {run.id}: {exc}", file=sys.stderr)


_previous_excepthook = sys.excepthook


def _excepthook(
    exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
) -> None:
    _state.failed_by_exception = True
    _previous_excepthook(exc_type, exc, tb)


sys.excepthook = _excepthook
atexit.register(_end_all_at_exit)
