"""The worker: runs due monitors, delivers alert notifications, retrains, in a loop.

It runs as a thread inside ``werft server`` (unless ``--no-worker``) and as
``werft worker`` on its own. Several workers may share one metadata store: a
monitor run is claimed with a conditional update and a notification is
claimed before it is sent, and a pipeline run before it starts, so nothing runs
or is sent twice. Pipeline runs (continuous training) execute in threads of the
worker's process, beside the loop.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from werft.services import Services

if TYPE_CHECKING:
    from werft.pipelines.dispatch import PipelineDispatcher

log = logging.getLogger("werft.worker")

DEFAULT_INTERVAL = 10.0


@dataclass
class Worker:
    """Ticks every ``interval`` seconds until stopped."""

    services: Services
    interval: float = DEFAULT_INTERVAL
    pipelines: PipelineDispatcher | None = None
    _stop: threading.Event = field(default_factory=threading.Event, init=False)
    _thread: threading.Thread | None = field(default=None, init=False)

    def tick(self) -> dict[str, int]:
        """One pass: run due monitors, deliver due notifications, fire training triggers
        and start queued pipeline runs; returns the counts."""
        counts = {"monitors": 0, "notifications": 0, "pipelines": 0}
        jobs: list[tuple[str, Callable[[], int]]] = [
            ("monitors", lambda: len(self.services.monitors.run_due())),
            ("notifications", lambda: self.services.alerts.deliver_due().attempted),
        ]
        if self.pipelines is not None:
            jobs.append(("pipelines", self.pipelines.tick))
        for name, job in jobs:
            try:
                counts[name] = job()
            except Exception:  # the worker's top level: report and keep going
                log.exception("worker job %s failed", name)
        return counts

    def run_forever(self) -> None:
        """Tick until :meth:`stop` (or Ctrl-C in ``werft worker``)."""
        while not self._stop.is_set():
            self.tick()
            self._stop.wait(self.interval)

    def start(self) -> None:
        """Run in a daemon thread."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self.run_forever, name="werft-worker", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
            self._thread = None
        if self.pipelines is not None:
            self.pipelines.stop()
