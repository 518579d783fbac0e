"""``werft train`` and ``werft reproduce``: run a pipeline now, in this process.

Both go through a :class:`~werft.sdk.backend.Backend`, so they work in local
mode and against a werft server alike; the training process reaches werft the
same way (:func:`job_env`).
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from werft.config import Settings
from werft.errors import InvalidInputError, NotFoundError
from werft.governance.usecases import LoadedUseCase, load_use_case
from werft.pipelines.code import cached_checkout, snapshot, unpack
from werft.pipelines.engine import Engine
from werft.pipelines.entities import CodeVersion, NewPipelineRun, Pipeline, PipelineRun, Trigger
from werft.sdk.backend import Backend

DEFAULT_TOLERANCE = 1e-9
"""Relative difference below which ``werft reproduce`` calls two metric values equal."""


def job_env(settings: Settings) -> dict[str, str]:
    """How a training process reaches the werft this process uses.

    Remote: the server's URL and the token. Local: the same home, database and
    artifact store — and no server URL, even if one is set in the environment.
    """
    if settings.url:
        env = {"WERFT_URL": settings.url}
        if settings.token is not None:
            env["WERFT_TOKEN"] = settings.token.get_secret_value()
        return env
    env = {
        "WERFT_URL": "",
        "WERFT_HOME": str(settings.home),
        "WERFT_DATABASE_URL": settings.effective_database_url,
        "WERFT_ARTIFACTS_URL": settings.effective_artifacts_url,
    }
    if settings.s3_endpoint_url:
        env["WERFT_S3_ENDPOINT_URL"] = settings.s3_endpoint_url
    return env


def code_cache(settings: Settings) -> Path:
    """Where unpacked code snapshots are kept (one folder per digest)."""
    return settings.home / "cache" / "code"


def upload_code(backend: Backend, settings: Settings, workdir: Path) -> tuple[CodeVersion, Path]:
    """Snapshot ``workdir``, store the snapshot as a blob and unpack it into the code cache.

    werft's home is left out of the snapshot, unless the repository lies inside it.
    Returns the code version and the unpacked checkout (what a run executes).
    """
    root, home = workdir.resolve(), settings.home.resolve()
    cache = code_cache(settings)
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="werft-code-", dir=cache) as tmp:
        archive = Path(tmp) / "code.tar.gz"
        code = snapshot(root, archive, exclude=[] if root.is_relative_to(home) else [home])
        backend.upload_blob(archive)
        checkout = cache / code.digest.removeprefix("sha256:")
        if not checkout.is_dir():
            unpack(archive, checkout)
    return code, checkout


def sync(backend: Backend, settings: Settings, file: Path) -> Pipeline:
    """Store the training section of ``file`` and a snapshot of its folder as the project's
    pipeline: what the triggers run.

    Raises:
        NotFoundError: No such file or project.
        InvalidInputError: The file is invalid or has no ``training`` section.
    """
    loaded = _with_training(file)
    assert loaded.training is not None
    code, _ = upload_code(backend, settings, file.resolve().parent)
    return backend.sync_pipeline(loaded.use_case.key, loaded.training.model_dump(mode="json"), code)


def _with_training(file: Path) -> LoadedUseCase:
    loaded = load_use_case(file)
    if loaded.training is None:
        raise InvalidInputError(
            f"{file} has no 'training:' section; docs/pipelines.md shows one "
            "(entrypoint, params, data, executor, triggers, on_success)"
        )
    return loaded


def train(
    backend: Backend,
    settings: Settings,
    file: Path,
    *,
    sync: bool = False,
    params: Mapping[str, Any] | None = None,
    echo: Callable[[str], None] | None = None,
) -> PipelineRun:
    """Run the pipeline of ``file`` (werft.yaml) on a snapshot of its folder, in this process.

    ``sync`` also stores the training section and the snapshot as the project's
    pipeline, which the triggers run (``werft pipelines sync`` alone; it needs a
    global admin against a server with auth, as the worker executes that code).
    ``params`` override the file's params for this run only (``werft train -P C=0.5``);
    the run records the params it ran with, so ``werft reproduce`` uses them too.

    Raises:
        NotFoundError: No such file; the project or a dataset does not exist.
        InvalidInputError: The file is invalid or has no ``training`` section.
    """
    loaded = _with_training(file)
    assert loaded.training is not None
    project = loaded.use_case.key
    code, checkout = upload_code(backend, settings, file.resolve().parent)
    spec = loaded.training.model_dump(mode="json")
    if sync:
        backend.sync_pipeline(project, spec, code)
    if params:
        spec = {**spec, "params": {**spec["params"], **params}}
    run = backend.create_pipeline_run(
        project, NewPipelineRun(trigger=Trigger.MANUAL, spec=spec, code=code)
    )
    if echo is not None:
        commit = (
            f", git {code.commit[:12]}{' (dirty)' if code.dirty else ''}" if code.commit else ""
        )
        echo(f"[werft] pipeline run #{run.id} of {project}: code {code.digest[:19]}{commit}\n")
        echo(f"[werft] data {', '.join(f'{k}={v}' for k, v in run.data.items()) or 'none'}\n")
    return _engine(backend, settings, echo).execute(run, checkout)


class MetricMatch(BaseModel):
    """One metric of the original run beside the reproduction's."""

    model_config = ConfigDict(frozen=True)

    key: str
    original: float | None
    reproduced: float | None
    matches: bool


class Reproduction(BaseModel):
    """What ``werft reproduce`` found."""

    model_config = ConfigDict(frozen=True)

    original_run_id: str
    pipeline_run: PipelineRun
    metrics: list[MetricMatch]
    tolerance: float

    @property
    def matches(self) -> bool:
        """The training succeeded and every metric matched."""
        return (
            self.pipeline_run.training_run_id is not None
            and self.pipeline_run.exit_code == 0
            and bool(self.metrics)
            and all(m.matches for m in self.metrics)
        )


def reproduce(
    backend: Backend,
    settings: Settings,
    run_id: str,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    echo: Callable[[str], None] | None = None,
) -> Reproduction:
    """Re-run a pipeline's training run with its code, params and dataset versions.

    The reproduction is a pipeline run of its own (trigger ``reproduce``); it runs
    the gate but never promotes. Metrics match when their relative difference is
    at most ``tolerance``.

    Raises:
        NotFoundError: No such run, or it was not started by a training pipeline.
        InvalidInputError: ``tolerance`` is negative.
    """
    if not tolerance >= 0:
        raise InvalidInputError(f"tolerance must be at least 0, got {tolerance}")
    original = backend.get_run(run_id)
    found = backend.list_pipeline_runs(original.project, training_run_id=run_id, limit=1)
    if not found:
        raise NotFoundError(
            f"run {run_id} was not started by a training pipeline, so its code snapshot is "
            "unknown; runs of `werft train` and of triggers can be reproduced"
        )
    source = found[0]
    new = backend.create_pipeline_run(
        original.project,
        NewPipelineRun(
            trigger=Trigger.REPRODUCE,
            trigger_detail=run_id,
            cause={"pipeline_run": source.id},
            spec=source.spec,
            data=source.data,
            code=source.code,
        ),
    )
    if echo is not None:
        echo(
            f"[werft] pipeline run #{new.id} reproduces run {run_id} (pipeline run "
            f"#{source.id}): code {source.code.digest[:19]}, data "
            f"{', '.join(f'{k}={v}' for k, v in source.data.items()) or 'none'}\n"
        )
    checkout = cached_checkout(source.code.digest, code_cache(settings), backend.download_blob)
    finished = _engine(backend, settings, echo).execute(new, checkout)
    again = backend.get_run(finished.training_run_id) if finished.training_run_id else None
    return Reproduction(
        original_run_id=run_id,
        pipeline_run=finished,
        metrics=_compare(original.metrics, again.metrics if again else {}, tolerance),
        tolerance=tolerance,
    )


def _compare(
    original: dict[str, float], reproduced: dict[str, float], tolerance: float
) -> list[MetricMatch]:
    rows = []
    for key in sorted(set(original) | set(reproduced)):
        a, b = original.get(key), reproduced.get(key)
        same = (
            a is not None
            and b is not None
            and (
                (math.isnan(a) and math.isnan(b))
                or math.isclose(a, b, rel_tol=tolerance, abs_tol=tolerance * 1e-3)
            )
        )
        rows.append(MetricMatch(key=key, original=a, reproduced=b, matches=same))
    return rows


def _engine(backend: Backend, settings: Settings, echo: Callable[[str], None] | None) -> Engine:
    return Engine(
        backend=backend,
        cache=settings.home / "cache",
        env=job_env(settings),
        echo=echo,
    )
