"""Executing one pipeline run: train → register → gate → promote, every step recorded.

The engine talks to werft through a :class:`~werft.sdk.backend.Backend`, so
the same code runs inside ``werft train`` (local or against a server) and
inside the worker for triggered runs. Each step is reported to the pipeline
run as it happens; an exception anywhere ends the run ``failed`` with the
reason, and a training that did not succeed leaves no usable model behind:
versions its run registered are archived.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from werft.errors import ConflictError, NotFoundError, WerftError
from werft.gates.entities import CiRun, GateReport
from werft.pipelines.entities import PipelineRun, PipelineRunUpdate, PipelineStatus
from werft.pipelines.executors import Executor, JobHandle, executor_for
from werft.pipelines.jobs import JobResult, JobStatus, TrainingJob
from werft.pipelines.service import LOG_TAIL
from werft.pipelines.spec import TrainingSpec, parse_dataset_ref
from werft.registry.entities import ModelVersion, VersionStatus
from werft.sdk.backend import Backend
from werft.sdk.environment import describe_environment
from werft.tracking.entities import RunStatus

log = logging.getLogger("werft.pipelines")

T = TypeVar("T")

RUN_ID_ENV = "WERFT_RUN_ID"
"""The training run the entrypoint's ``werft.start_run()`` continues."""
PIPELINE_RUN_ENV = "WERFT_PIPELINE_RUN"

HOLDOUT_ROLE = "holdout"
"""The data role the gate evaluates on."""

_JOB_STATUS = {
    JobStatus.FAILED: PipelineStatus.FAILED,
    JobStatus.CANCELLED: PipelineStatus.CANCELLED,
    JobStatus.TIMED_OUT: PipelineStatus.TIMED_OUT,
}
_CONTEXTS = {"train": "training", "training": "training"}


class StepFailedError(WerftError):
    """A step failed in a way the run records as its error (not a bug)."""

    code = "pipeline_failed"


@dataclass
class Engine:
    """Executes pipeline runs through a backend.

    Attributes:
        backend: Where the runs, versions and reports go.
        cache: A folder for downloaded models and data.
        env: Environment for the training process (how it reaches werft: ``WERFT_HOME``
            or ``WERFT_URL`` and ``WERFT_TOKEN``); the run's own variables are added.
        executors: Executor spec → executor (default :func:`executor_for`).
        poll: Seconds between progress reports while the job runs.
        echo: Called with each new chunk of the job's output and with progress lines.
    """

    backend: Backend
    cache: Path
    env: Mapping[str, str] = field(default_factory=dict)
    executors: Callable[[str], Executor] = executor_for
    poll: float = 2.0
    echo: Callable[[str], None] | None = None

    def execute(self, run: PipelineRun, workdir: Path) -> PipelineRun:
        """Execute ``run`` (``training``) with the code in ``workdir``; the run as it ended."""
        spec = TrainingSpec.model_validate(run.spec)
        try:
            return self._execute(run, spec, workdir)
        except Exception as exc:  # the run records every failure; nothing is left "training"
            message = exc.message if isinstance(exc, WerftError) else _describe(exc)
            if not isinstance(exc, WerftError):
                log.exception("pipeline run #%s failed", run.id)
            self._end_training_run(run.id)
            return self._finish(run.id, PipelineStatus.FAILED, error=message)

    def _end_training_run(self, run_id: int) -> None:
        """After a failure: the training run, if one was started, must not stay running."""
        try:
            training = self.backend.get_pipeline_run(run_id).training_run_id
            if training is not None and self.backend.get_run(training).is_active:
                self.backend.end_run(training, RunStatus.FAILED)
        except WerftError:
            log.warning("pipeline run #%s: could not end its training run", run_id)

    def _execute(self, run: PipelineRun, spec: TrainingSpec, workdir: Path) -> PipelineRun:
        training = self._start_training_run(run, spec)
        run = self._update(run.id, training_run_id=training)
        result = self._train(run, spec, workdir, training)
        self._store_logs(run, training, result)
        if result.status is not JobStatus.SUCCEEDED:
            self._discard(run, training, result)
            return self._finish(
                run.id,
                _JOB_STATUS.get(result.status, PipelineStatus.FAILED),
                error=result.error or f"the training ended {result.status.value}",
                exit_code=result.exit_code,
            )
        self._close_training_run(training)
        candidate = self._candidate(run, spec, training)
        run = self._update(
            run.id,
            exit_code=result.exit_code,
            model=candidate.name,
            version=candidate.version,
            status=PipelineStatus.GATING,
        )
        self._say(f"candidate {candidate.name} version {candidate.version}")
        if HOLDOUT_ROLE not in run.data:
            return self._finish(
                run.id,
                PipelineStatus.SUCCEEDED,
                error=f"no '{HOLDOUT_ROLE}' data in training.data: the gate was not run, "
                "so the candidate cannot be promoted",
            )
        report = self._reporting(run.id, lambda: self._gate(run, candidate))
        run = self._update(run.id, gate_report_id=report.id)
        if not report.passed:
            failed = [c for c in report.checks if not c.passed]
            summary = "; ".join(f"{c.name}: {c.message}" for c in failed[:5])
            return self._finish(
                run.id, PipelineStatus.GATE_FAILED, error=f"the gate failed: {summary}"
            )
        self._say(f"gate passed ({len(report.checks)} checks)")
        alias = spec.on_success.promote_to
        if alias is None or run.trigger.value == "reproduce":
            return self._finish(run.id, PipelineStatus.SUCCEEDED)
        return self._promote(run, candidate, alias)

    # -- steps --------------------------------------------------------------------------

    def _start_training_run(self, run: PipelineRun, spec: TrainingSpec) -> str:
        backend = self.backend
        created = backend.create_run(
            run.project,
            name=f"pipeline-{run.id}",
            tags={
                "werft.pipeline_run": str(run.id),
                "werft.trigger": run.trigger.value,
                "werft.trigger_detail": run.trigger_detail,
                "werft.code_digest": run.code.digest,
                "werft.entrypoint": spec.entrypoint,
                "werft.executor": spec.executor,
            },
            user=run.created_by,
            source_file=spec.entrypoint,
            git_commit=run.code.commit or None,
            git_dirty=run.code.dirty if run.code.commit else None,
            # The local executor trains with this interpreter and its packages; a Ray
            # cluster's nodes have their own, which this process cannot see.
            environment=describe_environment() if spec.executor == "local" else {},
        )
        if spec.params:
            backend.log_params(created.id, spec.params)
        for role, ref in run.data.items():
            name, version = parse_dataset_ref(ref)
            found = backend.get_dataset_version(run.project, name, version or "latest")
            backend.link_input(created.id, found.id, _CONTEXTS.get(role, role))
        self._say(f"training run {created.id} ({spec.entrypoint} on {spec.executor})")
        return created.id

    def _train(
        self, run: PipelineRun, spec: TrainingSpec, workdir: Path, training: str
    ) -> JobResult:
        job = TrainingJob(
            entrypoint=spec.entrypoint,
            workdir=workdir,
            params=spec.params,
            data=run.data,
            env={**self.env, RUN_ID_ENV: training, PIPELINE_RUN_ENV: str(run.id)},
            timeout=spec.timeout,
        )
        handle = self.executors(spec.executor).submit(job)
        try:
            return self._watch(run, handle)
        except BaseException:
            # Reporting failed (the server went away, Ctrl-C): a job nobody watches
            # would train on unsupervised, so it is stopped with the run.
            handle.cancel()
            raise

    def _watch(self, run: PipelineRun, handle: JobHandle) -> JobResult:
        self._update(run.id, job_id=handle.id)
        shown = 0
        while True:
            try:
                result = handle.wait(timeout=self.poll)
            except TimeoutError:
                logs = handle.logs()
                if self.echo is not None and len(logs) > shown:
                    self.echo(logs[shown:])
                # The heartbeat carries the output's end when it grew, so that
                # `werft pipelines show --logs` follows a run on the worker too.
                fresh = len(logs) != shown
                shown = len(logs)
                current = self._update(run.id, **({"logs": logs[-LOG_TAIL:]} if fresh else {}))
                if current.cancel_requested:
                    self._say("cancel requested: stopping the training")
                    handle.cancel()
                continue
            if self.echo is not None and len(result.logs) > shown:
                self.echo(result.logs[shown:])
            return result

    def _store_logs(self, run: PipelineRun, training: str, result: JobResult) -> None:
        self._update(run.id, logs=result.logs, exit_code=result.exit_code)
        if not result.logs:
            return
        with tempfile.TemporaryDirectory(prefix="werft-logs-") as tmp:
            path = Path(tmp) / "training.log"
            path.write_text(result.logs, encoding="utf-8")
            try:
                self.backend.log_artifact(training, path, "logs/training.log")
            except ConflictError:
                # The entrypoint may have ended the run oddly (deleted it); the logs
                # stay in the pipeline run's record.
                log.warning("could not store the logs of pipeline run #%s as an artifact", run.id)

    def _discard(self, run: PipelineRun, training: str, result: JobResult) -> None:
        """A training that failed: end its run, archive what it registered."""
        current = self.backend.get_run(training)
        if current.is_active:
            status = RunStatus.KILLED if result.status is not JobStatus.FAILED else RunStatus.FAILED
            self.backend.end_run(training, status)
        for version in self._versions_of(run.project, training):
            if version.status is not VersionStatus.ARCHIVED:
                self.backend.set_version_status(
                    version.name, version.version, VersionStatus.ARCHIVED
                )
                self._say(f"archived {version.name} version {version.version}: its training failed")

    def _close_training_run(self, training: str) -> None:
        if self.backend.get_run(training).is_active:
            self.backend.end_run(training, RunStatus.FINISHED)

    def _candidate(self, run: PipelineRun, spec: TrainingSpec, training: str) -> ModelVersion:
        versions = self._versions_of(run.project, training, spec.model)
        if not versions:
            where = f"model {spec.model!r}" if spec.model else f"project {run.project!r}"
            raise StepFailedError(
                f"the training registered no model version in {where}: call "
                "werft.log_model(model, register='NAME') in the entrypoint"
            )
        if len(versions) > 1 and spec.model is None:
            names = ", ".join(sorted({f"{v.name} {v.version}" for v in versions}))
            raise StepFailedError(
                f"the training registered several versions ({names}); name the one to check "
                "and promote with training.model in werft.yaml"
            )
        return max(versions, key=lambda v: v.version)

    def _versions_of(
        self, project: str, training: str, model: str | None = None
    ) -> list[ModelVersion]:
        names = [model] if model else _model_names(self.backend, project)
        found: list[ModelVersion] = []
        for name in names:
            try:
                page = self.backend.list_model_versions(name, limit=100)
            except NotFoundError:
                continue
            found.extend(v for v in page.items if v.run_id == training)
        return found

    def _gate(self, run: PipelineRun, candidate: ModelVersion) -> GateReport:
        # Deferred: pandas and the statistics take a while to import.
        from werft.sdk.gates import CheckOptions, check_version

        name, version = parse_dataset_ref(run.data[HOLDOUT_ROLE])
        holdout = self.backend.get_dataset_version(run.project, name, version or "latest")
        if holdout.data_digest is None:
            raise StepFailedError(
                f"dataset {name}@{holdout.version} was logged without its data "
                "(store_data=False), so the gate has nothing to evaluate"
            )
        self._say(f"gate on {name}@{holdout.version} ({holdout.row_count} rows)")
        with tempfile.TemporaryDirectory(prefix="werft-holdout-") as tmp:
            path = self.backend.download_blob(holdout.data_digest, Path(tmp) / "holdout.parquet")
            return check_version(
                self.backend,
                candidate.name,
                candidate.version,
                path,
                CheckOptions(
                    cache=self.cache / "models",
                    ci=CiRun(provider="werft-pipeline", job=str(run.id), commit=run.code.commit),
                ),
            )

    def _promote(self, run: PipelineRun, candidate: ModelVersion, alias: str) -> PipelineRun:
        self._update(run.id, status=PipelineStatus.PROMOTING, alias=alias)
        reason = f"pipeline run #{run.id} ({run.trigger.value}"
        reason += f": {run.trigger_detail})" if run.trigger_detail else ")"
        result = self.backend.promote(candidate.name, candidate.version, alias, reason=reason)
        if result.approval is not None:
            self._say(
                f"approval request #{result.approval.id} to move {candidate.name}@{alias} "
                f"to version {candidate.version}"
            )
            return self._finish(
                run.id, PipelineStatus.AWAITING_APPROVAL, approval_id=result.approval.id
            )
        if result.moved:
            self._say(f"{candidate.name}@{alias} -> version {candidate.version}")
            return self._finish(run.id, PipelineStatus.PROMOTED, alias_moved=True)
        return self._finish(run.id, PipelineStatus.SUCCEEDED)

    # -- reporting ----------------------------------------------------------------------

    def _reporting(self, run_id: int, step: Callable[[], T]) -> T:
        """Run a long step (the gate on a large holdout) while the run keeps reporting.

        Without heartbeats a worker would take the run for dead after
        :data:`~werft.pipelines.service.STALE_AFTER` and fail it mid-step.
        """
        outcome: list[T] = []
        failure: list[BaseException] = []

        def target() -> None:
            try:
                outcome.append(step())
            except BaseException as exc:  # re-raised in the caller's thread
                failure.append(exc)

        thread = threading.Thread(target=target, name=f"werft-pipeline-{run_id}-step", daemon=True)
        thread.start()
        while thread.is_alive():
            thread.join(self.poll)
            if thread.is_alive():
                self._update(run_id)
        if failure:
            raise failure[0]
        return outcome[0]

    def _update(self, run_id: int, **fields: object) -> PipelineRun:
        return self.backend.update_pipeline_run(run_id, PipelineRunUpdate.model_validate(fields))

    def _finish(self, run_id: int, status: PipelineStatus, **fields: object) -> PipelineRun:
        try:
            return self._update(run_id, status=status, **fields)
        except ConflictError:
            return self.backend.get_pipeline_run(run_id)  # finished meanwhile (reaped)

    def _say(self, line: str) -> None:
        if self.echo is not None:
            self.echo(f"[werft] {line}\n")


def _model_names(backend: Backend, project: str) -> list[str]:
    names: list[str] = []
    cursor: str | None = None
    while True:
        page = backend.list_models(project=project, limit=100, cursor=cursor)
        names.extend(model.name for model in page.items)
        cursor = page.next_cursor
        if cursor is None:
            return names


def _describe(exc: BaseException) -> str:
    lines = traceback.format_exception(exc)
    return f"{type(exc).__name__}: {exc}\n" + "".join(lines[-20:])
