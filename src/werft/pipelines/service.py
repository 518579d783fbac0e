"""Pipelines and pipeline runs in the metadata store, and the triggers that start runs.

A project's pipeline is the ``training`` section of its werft.yaml plus a
snapshot of the repository (a blob), synced by ``werft train`` or
``werft pipelines sync``. A pipeline run records one retraining and every link
it makes: trigger → training run → candidate version → gate report → approval
→ alias move. Whoever executes the run (``werft train`` in the caller's
process, or the worker for triggered runs) reports each step through
:meth:`PipelineService.update`.

Deduplication: a run started by a trigger carries the trigger as its
*active cause* while it is active; a unique constraint on (project, active
cause) makes a second run for the same cause impossible until the first has
finished — across any number of workers.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError as DbIntegrityError
from sqlalchemy.orm import Session

from werft.errors import ConflictError, InvalidInputError, NotFoundError
from werft.governance import audit
from werft.governance.actor import current_actor
from werft.monitoring.schedule import next_run
from werft.pipelines.entities import (
    CodeVersion,
    NewPipelineRun,
    Pipeline,
    PipelineRun,
    PipelineRunUpdate,
    PipelineStatus,
    Trigger,
    decided_status,
)
from werft.pipelines.spec import TrainingSpec, parse_dataset_ref
from werft.registry._rows import get_model_row, get_version_row
from werft.store.db import Database
from werft.store.models import (
    AlertRow,
    AlertRuleRow,
    ApprovalRow,
    DatasetVersionRow,
    GateReportRow,
    ModelVersionRow,
    ProjectRow,
    RegisteredModelRow,
    RunRow,
)
from werft.store.pipeline_models import PipelineRow, PipelineRunRow
from werft.tracking._rows import Clock, aware, get_project_row, project_ids, utcnow

STALE_AFTER = timedelta(minutes=10)
"""A run whose executor has not reported for this long is given up as failed."""

LOG_TAIL = 64 * 1024
"""Characters of a run's output kept in its record; the whole log is an artifact."""

PIPELINE_ACTOR = "werft-pipeline"
"""Who a triggered run acts as: it requests promotions, so any approver may decide them."""


class PipelineService:
    """Sync pipelines, record their runs, fire their triggers."""

    def __init__(self, db: Database, *, clock: Clock = utcnow) -> None:
        self._db = db
        self._clock = clock

    # -- the pipeline ---------------------------------------------------------------

    def sync(
        self, project: str, spec: TrainingSpec | dict[str, Any], code: CodeVersion
    ) -> Pipeline:
        """Store the project's training section and code snapshot; audited as ``pipeline.synced``.

        Triggers that stay keep what they have seen; a new trigger starts from now (a
        schedule's next time, alerts fired from now on, dataset versions after the
        newest one), so syncing never fires a trigger by itself.

        Raises:
            NotFoundError: No such project.
            InvalidInputError: The spec is not a valid training section.
        """
        checked = _checked_spec(spec)
        new_spec = checked.model_dump(mode="json")
        now, actor = self._clock(), current_actor()
        with self._db.session() as session:
            project_row = get_project_row(session, project)
            row = session.get(PipelineRow, project_row.id, with_for_update=True)
            old_state = dict(row.trigger_state) if row is not None else {}
            state = {
                key: old_state.get(key) or self._initial_state(session, project_row, trigger, now)
                for key, trigger in _trigger_keys(checked).items()
            }
            previous = (row.spec, row.code_digest) if row is not None else None
            if row is None:
                row = PipelineRow(project_id=project_row.id, state_version=0)
                session.add(row)
            row.spec, row.trigger_state = new_spec, state
            row.code_digest, row.code_commit, row.code_dirty = code.digest, code.commit, code.dirty
            row.state_version = (row.state_version or 0) + 1
            row.updated_at, row.updated_by = now, actor
            session.flush()
            if previous != (new_spec, code.digest):
                audit.append(
                    session,
                    "pipeline.synced",
                    object_type="pipeline",
                    object_id=project,
                    project=project,
                    payload={
                        "code": code.model_dump(),
                        "previous_code": previous[1] if previous else None,
                        "spec_changed": previous is None or previous[0] != new_spec,
                    },
                    actor=actor,
                    at=now,
                )
            return _pipeline(row, project)

    def get(self, project: str) -> Pipeline:
        """The project's pipeline.

        Raises:
            NotFoundError: No such project, or it has no pipeline yet.
        """
        with self._db.session(write=False) as session:
            project_row = get_project_row(session, project)
            row = session.get(PipelineRow, project_row.id)
            if row is None:
                raise NotFoundError(
                    f"project {project!r} has no training pipeline; add a 'training:' section "
                    "to its werft.yaml and run `werft train` or `werft pipelines sync`"
                )
            return _pipeline(row, project)

    def _initial_state(
        self, session: Session, project: ProjectRow, trigger: tuple[str, str], now: datetime
    ) -> dict[str, Any]:
        kind, value = trigger
        if kind == "schedule":
            return {"next_at": next_run(value, now).isoformat()}
        if kind == "alert":
            return {"fired_after": now.isoformat()}
        return {"after_version": _newest_version(session, project, value) or 0}

    # -- runs -------------------------------------------------------------------------

    def create_run(self, project: str, new: NewPipelineRun) -> PipelineRun:
        """Record a new run: ``training`` when ``new.start`` (the caller executes it now),
        else ``queued`` for a worker.

        Raises:
            NotFoundError: No such project.
            InvalidInputError: The spec or a dataset reference is invalid.
            ConflictError: A run for the same cause is still active.
        """
        spec = _checked_spec(new.spec)
        if new.trigger not in (Trigger.MANUAL, Trigger.REPRODUCE):
            raise InvalidInputError(
                f"a {new.trigger.value} run is started by its trigger, not created directly; "
                "create manual or reproduce runs"
            )
        data = new.data or spec.data
        for ref in data.values():
            parse_dataset_ref(ref)
        now, actor = self._clock(), current_actor()
        with self._db.session() as session:
            project_row = get_project_row(session, project)
            if not new.start:
                _check_synced(session, project_row, spec, new.code)
            pinned = _pin_latest(session, project_row, data, strict=True)
            new = new.model_copy(update={"data": pinned})
            row = self._insert(session, project_row, spec=spec, new=new, now=now, actor=actor)
            if row is None:
                raise ConflictError(self._busy_message(session, project_row, new.cause_key))
            return self._entities(session, [row])[0]

    def _insert(
        self,
        session: Session,
        project: ProjectRow,
        *,
        spec: TrainingSpec,
        new: NewPipelineRun,
        now: datetime,
        actor: str,
    ) -> PipelineRunRow | None:
        row = PipelineRunRow(
            project_id=project.id,
            trigger=new.trigger.value,
            trigger_detail=new.trigger_detail,
            cause=new.cause,
            active_cause=new.cause_key,
            status=(PipelineStatus.TRAINING if new.start else PipelineStatus.QUEUED).value,
            spec=spec.model_dump(mode="json"),
            data=dict(new.data),
            code_digest=new.code.digest,
            code_commit=new.code.commit,
            code_dirty=new.code.dirty,
            executor=spec.executor,
            created_by=actor,
            created_at=now,
            started_at=now if new.start else None,
            heartbeat_at=now if new.start else None,
        )
        try:
            with session.begin_nested():
                session.add(row)
                session.flush()
        except DbIntegrityError:
            return None  # an active run for the same cause exists
        audit.append(
            session,
            "pipeline_run.created",
            object_type="pipeline_run",
            object_id=str(row.id),
            project=project.key,
            payload={"trigger": new.trigger.value, "detail": new.trigger_detail, **new.cause},
            actor=actor,
            at=now,
        )
        return row

    def _busy_message(self, session: Session, project: ProjectRow, cause: str | None) -> str:
        busy = session.scalar(
            select(PipelineRunRow.id).where(
                PipelineRunRow.project_id == project.id, PipelineRunRow.active_cause == cause
            )
        )
        return (
            f"a retraining for {cause} is still running (pipeline run #{busy}); "
            f"wait for it or cancel it with `werft pipelines cancel {busy}`"
        )

    def claim(self, run_id: int) -> PipelineRun | None:
        """Take a queued run for execution (``queued`` → ``training``); None if taken already."""
        now = self._clock()
        with self._db.session() as session:
            claimed = session.execute(
                update(PipelineRunRow)
                .where(
                    PipelineRunRow.id == run_id,
                    PipelineRunRow.status == PipelineStatus.QUEUED.value,
                )
                .values(status=PipelineStatus.TRAINING.value, started_at=now, heartbeat_at=now)
                .execution_options(synchronize_session=False)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                return None
            row = session.get(PipelineRunRow, run_id, populate_existing=True)
            assert row is not None
            return self._entities(session, [row])[0]

    def queued(self, limit: int = 10) -> list[PipelineRun]:
        """The oldest queued runs."""
        with self._db.session(write=False) as session:
            rows = session.scalars(
                select(PipelineRunRow)
                .where(PipelineRunRow.status == PipelineStatus.QUEUED.value)
                .order_by(PipelineRunRow.id)
                .limit(limit)
            ).all()
            return self._entities(session, rows)

    def update(self, run_id: int, change: PipelineRunUpdate) -> PipelineRun:
        """Record a step of a run; also its heartbeat. A finished run no longer changes.

        Raises:
            NotFoundError: No such run, or the model version named does not exist.
            ConflictError: The run has finished already.
        """
        now = self._clock()
        with self._db.session() as session:
            row = _run_row(session, run_id, lock=True)
            status = PipelineStatus(row.status)
            if not status.is_active:
                raise ConflictError(
                    f"pipeline run #{run_id} has finished ({status.value}); it cannot change"
                )
            if change.status is PipelineStatus.QUEUED:
                raise InvalidInputError(
                    f"pipeline run #{run_id} has started; it cannot go back to queued"
                )
            _check_links(session, row, change)
            if change.model is not None or change.version is not None:
                if change.model is None or change.version is None:
                    raise InvalidInputError("give both the model and the version of the candidate")
                model = get_model_row(session, change.model)
                row.model_version_id = get_version_row(session, model, change.version).id
            for name in ("job_id", "training_run_id", "gate_report_id", "approval_id", "alias"):
                value = getattr(change, name)
                if value is not None:
                    setattr(row, name, value)
            if change.exit_code is not None:
                row.exit_code = change.exit_code
            if change.error is not None:
                row.error = change.error
            if change.logs is not None:
                row.logs = _tail(change.logs)
            if change.alias_moved:
                row.alias_moved_at = now
            row.heartbeat_at = now
            if change.status is not None and change.status is not status:
                self._set_status(session, row, change.status, now)
            session.flush()
            return self._entities(session, [row])[0]

    def _set_status(
        self, session: Session, row: PipelineRunRow, status: PipelineStatus, now: datetime
    ) -> None:
        row.status = status.value
        if status.is_active:
            return
        row.finished_at, row.active_cause = now, None
        project_key = session.scalar(select(ProjectRow.key).where(ProjectRow.id == row.project_id))
        audit.append(
            session,
            "pipeline_run.finished",
            object_type="pipeline_run",
            object_id=str(row.id),
            project=project_key,
            payload={
                "status": status.value,
                "training_run_id": row.training_run_id,
                "error": row.error[:500],
            },
            at=now,
        )

    def request_cancel(self, run_id: int) -> PipelineRun:
        """Ask the executing process to stop the run; a queued run is cancelled at once.

        Raises:
            NotFoundError: No such run.
            ConflictError: The run has finished already.
        """
        now = self._clock()
        with self._db.session() as session:
            row = _run_row(session, run_id, lock=True)
            status = PipelineStatus(row.status)
            if not status.is_active:
                raise ConflictError(f"pipeline run #{run_id} has finished ({status.value})")
            row.cancel_requested = True
            if status is PipelineStatus.QUEUED:
                row.error = "cancelled before it started"
                self._set_status(session, row, PipelineStatus.CANCELLED, now)
            session.flush()
            return self._entities(session, [row])[0]

    def get_run(self, run_id: int) -> PipelineRun:
        """One run with every link it made.

        Raises:
            NotFoundError: No such run.
        """
        with self._db.session(write=False) as session:
            return self._entities(session, [_run_row(session, run_id)])[0]

    def list_runs(
        self,
        project: str | None = None,
        *,
        training_run_id: str | None = None,
        status: PipelineStatus | None = None,
        projects: Collection[str] | None = None,
        limit: int = 50,
    ) -> list[PipelineRun]:
        """Runs, newest first, of a project (or all), of a training run, or in a status.

        ``projects`` keeps only these projects' runs (the caller's, on a server
        with auth); None: every project.

        Raises:
            NotFoundError: No such project.
        """
        if not 1 <= limit <= 1000:
            raise InvalidInputError(f"limit must be between 1 and 1000, got {limit}")
        with self._db.session(write=False) as session:
            stmt = select(PipelineRunRow).order_by(PipelineRunRow.id.desc()).limit(limit)
            if project is not None:
                stmt = stmt.where(PipelineRunRow.project_id == get_project_row(session, project).id)
            if projects is not None:
                stmt = stmt.where(PipelineRunRow.project_id.in_(project_ids(projects)))
            if training_run_id is not None:
                stmt = stmt.where(PipelineRunRow.training_run_id == training_run_id)
            if status is not None:
                stmt = stmt.where(PipelineRunRow.status == status.value)
            return self._entities(session, session.scalars(stmt).all())

    def reap_stale(self, *, after: timedelta = STALE_AFTER) -> list[int]:
        """Fail active runs nobody has reported on for ``after`` (their executor died)."""
        now = self._clock()
        cutoff = now - after
        with self._db.session() as session:
            rows = session.scalars(
                select(PipelineRunRow)
                .where(
                    PipelineRunRow.status.in_(
                        [
                            PipelineStatus.TRAINING.value,
                            PipelineStatus.GATING.value,
                            PipelineStatus.PROMOTING.value,
                        ]
                    ),
                    PipelineRunRow.heartbeat_at < cutoff,
                )
                .with_for_update()
            ).all()
            for row in rows:
                row.error = (
                    f"the process executing it stopped reporting at {aware(row.heartbeat_at)}; "
                    "given up"
                )
                self._set_status(session, row, PipelineStatus.FAILED, now)
            return [row.id for row in rows]

    # -- triggers ---------------------------------------------------------------------

    def fire_due(self) -> list[PipelineRun]:
        """Queue a run for every trigger that fired since it was last looked at.

        A trigger whose previous run is still active is consumed without a new run
        (its ``skipped`` count goes up): one retraining per cause at a time.
        """
        with self._db.session(write=False) as session:
            pipelines = session.execute(
                select(PipelineRow.project_id, PipelineRow.state_version)
            ).all()
        created: list[PipelineRun] = []
        for project_id, state_version in pipelines:
            created.extend(self._fire(project_id, state_version))
        return created

    def _fire(self, project_id: str, state_version: int) -> list[PipelineRun]:
        now = self._clock()
        with self._db.session() as session:
            row = session.get(PipelineRow, project_id)
            project = session.get(ProjectRow, project_id)
            if row is None or project is None or project.deleted_at is not None:
                return []
            spec = TrainingSpec.model_validate(row.spec)
            state = {key: dict(value) for key, value in row.trigger_state.items()}
            fired: list[tuple[Trigger, str, dict[str, Any], dict[str, str]]] = []
            for key, (kind, value) in _trigger_keys(spec).items():
                entry = state.setdefault(
                    key, self._initial_state(session, project, (kind, value), now)
                )
                cause = self._check(session, project, kind=kind, value=value, entry=entry, now=now)
                if cause is not None:
                    detail, info, pins = cause
                    fired.append((Trigger(kind), detail, {**info, "key": key}, pins))
            if not fired and state == row.trigger_state:
                return []
            # Claim: only the worker that bumps the version acts on what fired.
            claimed = session.execute(
                update(PipelineRow)
                .where(
                    PipelineRow.project_id == project_id,
                    PipelineRow.state_version == state_version,
                )
                .values(trigger_state=state, state_version=state_version + 1)
                .execution_options(synchronize_session=False)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                return []
            rows: list[PipelineRunRow] = []
            for trigger, detail, info, pins in fired:
                key = info["key"]
                data = _pin_latest(session, project, _pinned(spec.data, pins), strict=False)
                new = NewPipelineRun(
                    trigger=trigger,
                    trigger_detail=detail,
                    cause=info,
                    cause_key=key,
                    spec=row.spec,
                    data=data,
                    code=CodeVersion(
                        digest=row.code_digest, commit=row.code_commit, dirty=row.code_dirty
                    ),
                    start=False,
                )
                inserted = self._insert(
                    session, project, spec=spec, new=new, now=now, actor=PIPELINE_ACTOR
                )
                if inserted is None:
                    state[key]["skipped"] = int(state[key].get("skipped", 0)) + 1
                    session.execute(
                        update(PipelineRow)
                        .where(PipelineRow.project_id == project_id)
                        .values(trigger_state=state)
                        .execution_options(synchronize_session=False)
                    )
                else:
                    rows.append(inserted)
            return self._entities(session, rows)

    def _check(
        self,
        session: Session,
        project: ProjectRow,
        *,
        kind: str,
        value: str,
        entry: dict[str, Any],
        now: datetime,
    ) -> tuple[str, dict[str, Any], dict[str, str]] | None:
        """None, or what fired: (detail, cause, pins); ``entry`` moves past it."""
        if kind == "schedule":
            due = datetime.fromisoformat(entry["next_at"])
            if now < due:
                return None
            entry["next_at"] = next_run(value, now).isoformat()
            return value, {"scheduled_for": due.isoformat()}, {}
        if kind == "alert":
            after = datetime.fromisoformat(entry["fired_after"])
            found = session.execute(
                select(AlertRow.id, AlertRow.fired_at, AlertRow.monitor, AlertRow.value)
                .join(AlertRuleRow, AlertRuleRow.id == AlertRow.rule_id)
                .where(
                    AlertRuleRow.name == value,
                    AlertRow.fired_at.is_not(None),
                    AlertRow.fired_at > after,
                )
                .order_by(AlertRow.fired_at.desc())
                .limit(1)
            ).first()
            if found is None:
                return None
            fired_at = aware(found.fired_at)
            assert fired_at is not None
            entry["fired_after"] = fired_at.isoformat()
            info = {"alert_id": found.id, "monitor": found.monitor, "value": found.value}
            return value, info, {}
        newest = session.execute(
            select(DatasetVersionRow.version)
            .where(
                DatasetVersionRow.project_id == project.id,
                DatasetVersionRow.name == value,
                DatasetVersionRow.version > int(entry["after_version"]),
            )
            .order_by(DatasetVersionRow.version.desc())
            .limit(1)
        ).scalar()
        if newest is None:
            return None
        entry["after_version"] = int(newest)
        return f"{value}@{newest}", {"dataset": value, "version": int(newest)}, {value: str(newest)}

    # -- entities -------------------------------------------------------------------

    def _entities(self, session: Session, rows: Sequence[PipelineRunRow]) -> list[PipelineRun]:
        if not rows:
            return []
        project_keys = dict(
            session.execute(
                select(ProjectRow.id, ProjectRow.key).where(
                    ProjectRow.id.in_({row.project_id for row in rows})
                )
            ).all()
        )
        version_ids = {row.model_version_id for row in rows if row.model_version_id}
        versions = {
            vid: (name, number)
            for vid, name, number in session.execute(
                select(ModelVersionRow.id, RegisteredModelRow.name, ModelVersionRow.version)
                .join(RegisteredModelRow, RegisteredModelRow.id == ModelVersionRow.model_id)
                .where(ModelVersionRow.id.in_(version_ids))
            ).all()
        }
        gate_ids = {row.gate_report_id for row in rows if row.gate_report_id}
        gates = dict(
            session.execute(
                select(GateReportRow.id, GateReportRow.passed).where(GateReportRow.id.in_(gate_ids))
            ).all()
        )
        approval_ids = {row.approval_id for row in rows if row.approval_id}
        approvals = {
            a.id: (a.status, aware(a.decided_at))
            for a in session.scalars(select(ApprovalRow).where(ApprovalRow.id.in_(approval_ids)))
        }
        return [
            _run_entity(row, project_keys[row.project_id], versions, gates, approvals)
            for row in rows
        ]


def _check_synced(
    session: Session, project: ProjectRow, spec: TrainingSpec, code: CodeVersion
) -> None:
    """A queued run executes on the worker: only with the code and spec synced for the project.

    Syncing needs more rights than starting a run, so a run that someone else's
    process executes may not bring code of its own.
    """
    synced = session.get(PipelineRow, project.id)
    if (
        synced is None
        or synced.code_digest != code.digest
        or synced.spec != spec.model_dump(mode="json")
    ):
        raise ConflictError(
            f"a queued run of {project.key!r} is executed by the worker with the pipeline "
            "synced for the project, so its spec and code must be that pipeline's; run it "
            "yourself (start) or sync it first with `werft pipelines sync`"
        )


def _check_links(session: Session, row: PipelineRunRow, change: PipelineRunUpdate) -> None:
    """Everything a run links to must exist and belong to the run's project.

    Raises:
        NotFoundError: An id that does not exist in the project (saying which).
    """
    project = row.project_id
    if change.training_run_id is not None:
        run = session.get(RunRow, change.training_run_id)
        if run is None or run.project_id != project:
            raise NotFoundError(f"run {change.training_run_id!r} not found in the run's project")
    if change.model is not None:
        model = get_model_row(session, change.model)
        if model.project_id != project:
            raise NotFoundError(f"model {change.model!r} not found in the run's project")
    for kind, table, number in (
        ("gate report", GateReportRow, change.gate_report_id),
        ("approval request", ApprovalRow, change.approval_id),
    ):
        if number is None:
            continue
        owner = session.scalar(
            select(RegisteredModelRow.project_id)
            .join(ModelVersionRow, ModelVersionRow.model_id == RegisteredModelRow.id)
            .join(table, table.model_version_id == ModelVersionRow.id)
            .where(table.id == number)
        )
        if owner != project:
            raise NotFoundError(f"{kind} #{number} not found in the run's project")


def _checked_spec(spec: TrainingSpec | dict[str, Any]) -> TrainingSpec:
    if isinstance(spec, TrainingSpec):
        return spec
    try:
        return TrainingSpec.model_validate(spec)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise InvalidInputError(f"training.{where}: {first['msg']}") from None


def _pinned(data: dict[str, str], pins: dict[str, str]) -> dict[str, str]:
    """The data refs with ``NAME@latest`` pinned where ``pins`` names a version of NAME."""
    pinned = {}
    for role, ref in data.items():
        name, version = parse_dataset_ref(ref)
        pinned[role] = f"{name}@{pins[name]}" if version is None and name in pins else ref
    return pinned


def _newest_version(session: Session, project: ProjectRow, name: str) -> int | None:
    """The number of the dataset's newest version, None before its first."""
    newest = session.scalar(
        select(func.max(DatasetVersionRow.version)).where(
            DatasetVersionRow.project_id == project.id, DatasetVersionRow.name == name
        )
    )
    return None if newest is None else int(newest)


def _pin_latest(
    session: Session, project: ProjectRow, data: dict[str, str], *, strict: bool
) -> dict[str, str]:
    """``NAME@latest`` → ``NAME@N``, the newest version now, so the run can be reproduced.

    Raises:
        NotFoundError: ``strict`` and a dataset has no version yet.
    """
    pinned = {}
    for role, ref in data.items():
        name, version = parse_dataset_ref(ref)
        if version is None:
            newest = _newest_version(session, project, name)
            if newest is None and strict:
                raise NotFoundError(
                    f"data.{role}: dataset {name!r} of project {project.key!r} has no version "
                    "yet; log one with werft.log_dataset(...)"
                )
            version = newest
        pinned[role] = f"{name}@{version}" if version is not None else ref
    return pinned


def _trigger_keys(spec: TrainingSpec) -> dict[str, tuple[str, str]]:
    """``{"alert:churn-drift": ("alert", "churn-drift"), ...}`` — a trigger's identity."""
    keys: dict[str, tuple[str, str]] = {}
    for trigger in spec.triggers:
        value = getattr(trigger, trigger.kind)
        keys[f"{trigger.kind}:{value}"] = (trigger.kind, value)
    return keys


def _tail(text: str) -> str:
    if len(text) <= LOG_TAIL:
        return text
    cut = text[-LOG_TAIL:]
    newline = cut.find("\n")
    return f"[{len(text) - LOG_TAIL} characters before this cut]\n" + (
        cut[newline + 1 :] if 0 <= newline < 1000 else cut
    )


def _run_row(session: Session, run_id: int, *, lock: bool = False) -> PipelineRunRow:
    row = session.get(PipelineRunRow, run_id, with_for_update=lock)
    if row is None:
        raise NotFoundError(
            f"pipeline run #{run_id} not found; `werft pipelines runs PROJECT` lists them"
        )
    return row


def _pipeline(row: PipelineRow, project: str) -> Pipeline:
    updated_at = aware(row.updated_at)
    assert updated_at is not None
    return Pipeline(
        project=project,
        spec=row.spec,
        code=CodeVersion(digest=row.code_digest, commit=row.code_commit, dirty=row.code_dirty),
        trigger_state=row.trigger_state,
        updated_at=updated_at,
        updated_by=row.updated_by,
    )


def _run_entity(
    row: PipelineRunRow,
    project: str,
    versions: dict[str, tuple[str, int]],
    gates: dict[int, bool],
    approvals: dict[int, tuple[str, datetime | None]],
) -> PipelineRun:
    status = PipelineStatus(row.status)
    model, version = versions.get(row.model_version_id or "", (None, None))
    approval_status, moved_at = None, aware(row.alias_moved_at)
    if row.approval_id is not None and row.approval_id in approvals:
        approval_status, decided_at = approvals[row.approval_id]
        decided = decided_status(status, approval_status)
        if decided is PipelineStatus.PROMOTED and status is not decided:
            moved_at = decided_at  # the approval moved the alias
        status = decided
    created_at = aware(row.created_at)
    assert created_at is not None
    return PipelineRun(
        id=row.id,
        project=project,
        trigger=Trigger(row.trigger),
        trigger_detail=row.trigger_detail,
        cause={k: v for k, v in row.cause.items() if k != "key"},
        status=status,
        params=dict(row.spec.get("params") or {}),
        data=dict(row.data),
        code=CodeVersion(digest=row.code_digest, commit=row.code_commit, dirty=row.code_dirty),
        spec=row.spec,
        executor=row.executor,
        job_id=row.job_id,
        training_run_id=row.training_run_id,
        model=model,
        version=version,
        gate_report_id=row.gate_report_id,
        gate_passed=gates.get(row.gate_report_id) if row.gate_report_id else None,
        approval_id=row.approval_id,
        approval_status=approval_status,
        alias=row.alias,
        alias_moved_at=moved_at,
        exit_code=row.exit_code,
        error=row.error,
        logs=row.logs,
        cancel_requested=row.cancel_requested,
        created_by=row.created_by,
        created_at=created_at,
        started_at=aware(row.started_at),
        finished_at=aware(row.finished_at),
    )
