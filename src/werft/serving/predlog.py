"""The prediction log: every prediction, durable before its response, shipped as Parquet.

:meth:`PredictionLog.append` writes a micro-batch of records as JSON lines to
this process's write-ahead file (WAL) with one ``os.write``; once it returns,
the bytes are in the operating system and survive a ``kill -9`` of the server
(with ``fsync=True`` also a power loss). A background thread rolls the WAL by
rows, bytes or age: it switches to a new WAL, turns the closed one into a
zstd-compressed Parquet segment with per-feature histograms, stores the blob,
hands a :class:`SegmentInfo` to ``on_segment`` (which records it) and only then
deletes the WAL.

Each WAL is held under ``flock`` while its process lives, so
:meth:`PredictionLog.recover` — at start-up, or in a sibling worker — ships
exactly the files of dead processes. A segment's id is its WAL's name, and
conversion is deterministic, so shipping the same WAL twice (the process died
after recording, before deleting) yields the same id and digest: recording
must be idempotent per segment id.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict

from werft.errors import ConflictError, InvalidInputError, UnavailableError
from werft.monitoring.histograms import (
    FeatureHistogram,
    FeatureSpec,
)
from werft.registry.uris import check_model_name
from werft.serving.segments import VARIANTS, read_rows, segment_histograms, valid_table
from werft.store.artifacts import BlobInfo

log = logging.getLogger("werft.serving")

_WAL_SUFFIX = ".wal"
_JSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_APPEND_NEWLINE
_RETRY_SECONDS = 5.0
_CREATE_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class PredictionRecord:
    """One logged prediction: one row of model input and what the model answered.

    Values are JSON-compatible (numpy scalars are fine); NaN and infinities are
    logged as null.
    """

    request_id: str
    time_ms: int
    model: str
    version: int
    variant: str
    inputs: Mapping[str, Any]
    prediction: Any
    probabilities: Mapping[str, float] | None = None

    def __post_init__(self) -> None:
        # Exact-type checks first: serving builds thousands of records per batch and
        # ABC isinstance checks (Mapping) would dominate the cost.
        if (
            type(self.request_id) is str
            and type(self.time_ms) is int
            and type(self.model) is str
            and type(self.version) is int
            and type(self.inputs) is dict
            and (self.probabilities is None or type(self.probabilities) is dict)
            and self.variant in VARIANTS
        ):
            return
        if not (
            isinstance(self.request_id, str)
            and isinstance(self.time_ms, int)
            and isinstance(self.model, str)
            and isinstance(self.version, int)
            and isinstance(self.inputs, Mapping)
            and (self.probabilities is None or isinstance(self.probabilities, Mapping))
        ):
            raise InvalidInputError(
                f"prediction record {self.request_id!r} has a field of the wrong type: expected "
                "str request_id and model, int time_ms and version, mappings for inputs "
                "and probabilities"
            )
        if self.variant not in VARIANTS:
            raise InvalidInputError(
                f"prediction variant {self.variant!r} is unknown; use one of {', '.join(VARIANTS)}"
            )


@dataclass(frozen=True, slots=True)
class PredictionBatch:
    """Many predictions of one request, column by column (the serving hot path).

    Written as one WAL line, so logging 1,000 rows costs one JSON encoding
    instead of 1,000; reading the WAL expands it into one row per prediction.
    """

    request_ids: Sequence[str]
    time_ms: int
    model: str
    version: int
    variant: str
    inputs: Mapping[str, Sequence[Any]]
    predictions: Sequence[Any]
    probabilities: Mapping[str, Sequence[float]] | None = None

    def __post_init__(self) -> None:
        rows = len(self.request_ids)
        if (
            self.variant not in VARIANTS
            or len(self.predictions) != rows
            or any(
                len(values) != rows
                for values in (*self.inputs.values(), *(self.probabilities or {}).values())
            )
        ):
            raise InvalidInputError(
                f"prediction batch {self.request_ids[:1]!r}: every column needs "
                f"{rows} values and the variant one of {', '.join(VARIANTS)}"
            )


class SegmentInfo(BaseModel):
    """A shipped segment: its Parquet blob and what monitoring needs without reading it.

    ``histograms`` are keyed by Parquet column: ``in:<feature>`` per input
    feature (on the reference bins where there are any, else on bins fitted
    to this segment), ``prediction`` and ``proba:<class>`` (on
    :data:`~werft.serving.segments.PROBA_SPEC`). They count the served rows —
    primary and canary, not shadow — so a shadowed request counts once.
    """

    model_config = ConfigDict(frozen=True)

    deployment: str
    segment_id: str
    digest: str
    size: int
    rows: int
    start_ms: int
    end_ms: int
    request_id_min: str
    request_id_max: str
    models: dict[str, list[int]]
    histograms: dict[str, FeatureHistogram]


class BlobSink(Protocol):
    """Where segments go: an :class:`~werft.store.artifacts.ArtifactStore` or an adapter."""

    def put_file(self, path: Path) -> BlobInfo:
        """Store a local file and return its digest and size."""
        ...


@dataclass(eq=False)
class _Wal:
    """An open WAL file, locked by this process."""

    path: Path
    fd: int
    rows: int = 0
    size: int = 0
    started: float = 0.0  # monotonic time of the first record
    ids: set[str] = field(default_factory=set)


class PredictionLog:
    """One deployment's prediction log in this process."""

    def __init__(
        self,
        deployment: str,
        spool_dir: Path,
        store: BlobSink,
        *,
        on_segment: Callable[[SegmentInfo], None],
        reference: Mapping[str, FeatureSpec] | None = None,
        roll_rows: int = 100_000,
        roll_bytes: int = 64 * 2**20,
        roll_seconds: float = 60.0,
        fsync: bool = False,
    ) -> None:
        """Set up the spool folder ``spool_dir/<deployment>``; no WAL exists before an append.

        Args:
            deployment: The deployment's name (letters, digits, ``_ . -``).
            spool_dir: A local folder (``flock`` is unreliable on network file systems).
            store: Where Parquet segments are stored.
            on_segment: Records a shipped segment, idempotently per segment id;
                if it raises, the WAL is kept and shipped again later.
            reference: Bins per input feature, from the training data's profile
                (:func:`~werft.monitoring.histograms.reference_spec`).
            roll_rows: Roll once the WAL holds this many records ...
            roll_bytes: ... or this many bytes ...
            roll_seconds: ... or its first record is this old.
            fsync: Also ``fsync`` every append, to survive a power loss.
        """
        self.deployment = check_model_name(deployment)
        self._dir = spool_dir / deployment
        self._dir.mkdir(parents=True, exist_ok=True)
        self._store = store
        self._on_segment = on_segment
        self._reference: dict[str, FeatureSpec] = dict(reference or {})
        self._roll_rows, self._roll_bytes, self._roll_seconds = roll_rows, roll_bytes, roll_seconds
        self._fsync = fsync
        self._lock = threading.Lock()  # the current WAL, the closed list and the counters
        self._roll_lock = threading.Lock()  # one conversion at a time
        self._current: _Wal | None = None
        self._closed: list[_Wal] = []  # rolled but not yet recorded; still locked by us
        self._finished = False
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def reference(self) -> Mapping[str, FeatureSpec]:
        """Reference bins per input feature; segments rolled from now on use a new value."""
        return self._reference

    @reference.setter
    def reference(self, value: Mapping[str, FeatureSpec] | None) -> None:
        self._reference = dict(value or {})

    @property
    def pending_rows(self) -> int:
        """Records appended but not yet recorded as part of a segment."""
        with self._lock:
            return sum(wal.rows for wal in self._pending())

    def pending_ids(self, request_ids: Iterable[str]) -> list[str]:
        """The given request ids that are logged but not yet shipped, in the given order."""
        with self._lock:
            wals = self._pending()
            return [rid for rid in request_ids if any(rid in wal.ids for wal in wals)]

    def append(self, records: Sequence[PredictionRecord]) -> None:
        """Log records durably: when this returns, a ``kill -9`` cannot lose them.

        Raises:
            InvalidInputError: A record is not JSON-compatible; none was logged.
            UnavailableError: The WAL cannot be written (disk full?); none was logged.
            ConflictError: The log is closed.
        """
        if not records:
            return
        try:
            data = b"".join([_encode(record) for record in records])
        except orjson.JSONEncodeError as exc:
            raise InvalidInputError(f"a prediction record is not JSON-compatible: {exc}") from exc
        self._write_data(data, [record.request_id for record in records])

    def _write_data(self, data: bytes, request_ids: list[str]) -> None:
        with self._lock:
            if self._finished:
                raise ConflictError(f"the prediction log of {self.deployment!r} is closed")
            wal = self._current
            if wal is None:
                wal = self._current = self._create_wal()
                self._wake.set()  # the roll timer starts with the first record
            self._write(wal, data)
            wal.rows += len(request_ids)
            wal.size += len(data)
            wal.ids.update(request_ids)
            due = wal.rows >= self._roll_rows or wal.size >= self._roll_bytes
        if due:
            self._wake.set()

    def append_batches(self, batches: Sequence[PredictionBatch]) -> None:
        """Log columnar batches durably, as :meth:`append` does for single records."""
        if not batches:
            return
        try:
            data = b"".join(
                [
                    orjson.dumps({"batch": batch}, default=_json_default, option=_JSON_OPTIONS)
                    for batch in batches
                ]
            )
        except orjson.JSONEncodeError as exc:
            raise InvalidInputError(f"a prediction batch is not JSON-compatible: {exc}") from exc
        ids = [rid for batch in batches for rid in batch.request_ids]
        self._write_data(data, ids)

    def roll(self) -> SegmentInfo | None:
        """Close the current WAL and ship it, after any WAL an earlier roll failed to ship.

        Returns:
            The newest shipped segment, or ``None`` if there was nothing to ship.

        Raises:
            Exception: Whatever storing or ``on_segment`` raised; the WAL stays
                and the next roll (or a :meth:`recover` after exit) ships it.
        """
        with self._roll_lock:
            with self._lock:
                if self._current is not None and self._current.rows:
                    self._closed.append(self._current)
                    self._current = None
                waiting = list(self._closed)
            shipped: SegmentInfo | None = None
            for wal in waiting:
                shipped = self._ship(wal) or shipped
                with self._lock:
                    self._closed.remove(wal)
            return shipped

    def recover(self) -> list[SegmentInfo]:
        """Ship the WALs that dead processes left in this deployment's spool folder.

        Files that a live process holds, this one included, are skipped.

        Raises:
            Exception: Whatever storing or ``on_segment`` raised; the file stays.
        """
        shipped: list[SegmentInfo] = []
        for path in sorted(self._dir.glob(f"*{_WAL_SUFFIX}")):
            wal = _lock_orphan(path)
            if wal is None:
                continue
            try:
                info = self._ship(wal)
            except BaseException:
                os.close(wal.fd)
                raise
            if info is not None:
                shipped.append(info)
        return shipped

    def start(self) -> None:
        """Roll in a background thread by rows, bytes and age; does nothing if started."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(
            target=self._run, name=f"werft-predlog-{self.deployment}", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        """Stop the thread and ship what is left; later appends raise :class:`ConflictError`.

        If shipping fails, the WAL files stay for :meth:`recover`.
        """
        with self._lock:
            if self._finished:
                return
            self._finished = True
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
        try:
            self.roll()
        finally:
            with self._lock:
                left = self._pending()
                self._closed, self._current = [], None
            for wal in left:
                os.close(wal.fd)  # unlocks: recover() may ship the file

    def _pending(self) -> list[_Wal]:
        return [*self._closed, *([self._current] if self._current else [])]

    # --- writing ----------------------------------------------------------------------

    def _create_wal(self) -> _Wal:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC
        for _ in range(_CREATE_ATTEMPTS):
            path = self._dir / f"{os.getpid()}-{uuid.uuid4().hex}{_WAL_SUFFIX}"
            try:
                fd = os.open(path, flags, 0o644)
            except OSError as exc:
                raise _unwritable(self._dir, exc) from exc
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                # A recover() elsewhere saw the new, empty file first and will delete it.
                os.close(fd)
                continue
            if self._fsync:
                _fsync_dir(self._dir)
            return _Wal(path, fd, started=time.monotonic())
        raise UnavailableError(f"cannot create a prediction log file in {self._dir}; try again")

    def _write(self, wal: _Wal, data: bytes) -> None:
        view = memoryview(data)
        written = 0
        try:
            while written < len(data):
                written += os.write(wal.fd, view[written:])
            if self._fsync:
                os.fsync(wal.fd)
        except OSError as exc:
            # Drop a partial line, so the next record is not glued to it.
            with contextlib.suppress(OSError):
                os.ftruncate(wal.fd, wal.size)
            raise _unwritable(wal.path, exc) from exc

    # --- rolling ----------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            wait = self._due_in()
            if wait is None or wait > 0:
                self._wake.wait(wait)
                self._wake.clear()
                continue
            try:
                self.roll()
            except Exception:  # the thread's top level: report, keep the WAL, retry later
                log.exception("shipping the prediction log of %r failed", self.deployment)
                self._stop.wait(min(_RETRY_SECONDS, self._roll_seconds))

    def _due_in(self) -> float | None:
        """Seconds until a roll is due: 0 for now, ``None`` while there is nothing to roll."""
        with self._lock:
            wal = self._current
            if self._closed or (
                wal is not None and (wal.rows >= self._roll_rows or wal.size >= self._roll_bytes)
            ):
                return 0.0
            if wal is None:
                return None
            return max(0.0, wal.started + self._roll_seconds - time.monotonic())

    def _ship(self, wal: _Wal) -> SegmentInfo | None:
        """Convert, store and record one WAL, then delete it; ``None`` if it held no record."""
        rows, table = valid_table(read_rows(wal.path), wal.path)
        info: SegmentInfo | None = None
        if rows:
            tmp = wal.path.with_suffix(".parquet.tmp")
            try:
                pq.write_table(table, tmp, compression="zstd")
                blob = self._store.put_file(tmp)
            finally:
                tmp.unlink(missing_ok=True)
            info = self._segment_info(wal.path.stem, rows, table, blob)
            self._on_segment(info)
        wal.path.unlink()
        os.close(wal.fd)
        return info

    def _segment_info(
        self, segment_id: str, rows: list[dict[str, Any]], table: pa.Table, blob: BlobInfo
    ) -> SegmentInfo:
        times = [row["time_ms"] for row in rows]
        ids = [row["request_id"] for row in rows]
        models: dict[str, list[int]] = {}
        for model, version in sorted({(row["model"], row["version"]) for row in rows}):
            models.setdefault(model, []).append(version)
        return SegmentInfo(
            deployment=self.deployment,
            segment_id=segment_id,
            digest=blob.digest,
            size=blob.size,
            rows=len(rows),
            start_ms=min(times),
            end_ms=max(times),
            request_id_min=min(ids),
            request_id_max=max(ids),
            models=models,
            histograms=segment_histograms(table, self._reference),
        )


def _encode(record: PredictionRecord) -> bytes:
    return orjson.dumps(record, default=_json_default, option=_JSON_OPTIONS)


def _json_default(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not JSON-compatible")


def _unwritable(path: Path, exc: OSError) -> UnavailableError:
    return UnavailableError(
        f"cannot write the prediction log at {path}: {exc.strerror or exc}; "
        "check free disk space and permissions of the spool folder"
    )


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _lock_orphan(path: Path) -> _Wal | None:
    """The WAL at ``path``, locked by us, if no live process holds it."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None  # shipped meanwhile
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        # Another recover() may have shipped and deleted it between our open and lock.
        if os.fstat(fd).st_ino != path.stat().st_ino:
            raise FileNotFoundError(path)
    except (BlockingIOError, FileNotFoundError):
        os.close(fd)
        return None
    return _Wal(path, fd)
