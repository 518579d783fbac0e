"""Buffered metric logging: a training loop never waits on I/O.

``log_metric`` appends to a list under a lock; a background thread sends the
points in batches when enough have gathered or the interval passed, and the
run's end sends the rest.  A failed send keeps its points for the next try;
what still cannot be sent at the end is written to a recovery file and
reported with an exception, never dropped in silence.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from werft.errors import UnavailableError, WerftError

log = logging.getLogger("werft")

Point = tuple[str, float, int, int]
Sender = Callable[[Sequence[Point]], object]


class MetricBuffer:
    """Collects metric points of one run and flushes them in batches."""

    def __init__(
        self,
        send: Sender,
        *,
        flush_size: int,
        flush_interval: float,
        recovery_path: Path,
    ) -> None:
        self._send = send
        self._flush_size = flush_size
        self._interval = flush_interval
        self._recovery_path = recovery_path
        self._points: list[Point] = []
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()  # one batch in flight at a time keeps order
        self._wake = threading.Event()
        self._closed = False
        self.last_error: WerftError | None = None
        self._thread = threading.Thread(target=self._run, name="werft-metric-flush", daemon=True)
        self._thread.start()

    def add(self, point: Point) -> None:
        """Queue one point (the hot path: a lock and an append)."""
        with self._lock:
            self._points.append(point)
            full = len(self._points) >= self._flush_size
        if full:
            self._wake.set()

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait(self._interval)
            self._wake.clear()
            if self._closed:
                return
            try:
                self.flush()
            except WerftError as exc:
                log.warning("werft: metric flush failed, will retry: %s", exc)

    def flush(self) -> int:
        """Send everything queued now; on failure the points stay queued."""
        with self._send_lock:
            sent = 0
            while True:
                with self._lock:
                    batch, self._points = (
                        self._points[: self._flush_size * 4],
                        self._points[self._flush_size * 4 :],
                    )
                if not batch:
                    return sent
                try:
                    self._send(batch)
                except WerftError as exc:
                    with self._lock:
                        self._points[:0] = batch
                    self.last_error = exc
                    raise
                self.last_error = None
                sent += len(batch)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._points)

    def close(self) -> None:
        """Stop the thread and send the rest; raise if any point could not be sent."""
        self._closed = True
        self._wake.set()
        if self._thread is not threading.current_thread():
            self._thread.join()
        try:
            self.flush()
        except WerftError as exc:
            with self._lock:
                lost, self._points = self._points, []
            self._write_recovery(lost)
            raise UnavailableError(
                f"{len(lost)} metric points could not be written ({exc}); they were saved to "
                f"{self._recovery_path} as JSON lines (key, value, step, timestamp)"
            ) from exc

    def _write_recovery(self, points: list[Point]) -> None:
        self._recovery_path.parent.mkdir(parents=True, exist_ok=True)
        with self._recovery_path.open("a", encoding="utf-8") as fh:
            for key, value, step, timestamp in points:
                fh.write(json.dumps([key, repr(value), step, timestamp]) + "\n")
