"""The worker's part in continuous training: fire triggers, execute queued runs.

Each pass reaps runs whose executor stopped reporting, queues a run for every
trigger that fired (one per cause at a time), and starts queued runs in
threads of this process — at most ``max_parallel`` at once — with the code
snapshot the pipeline was synced with. A run is claimed before it starts, so
several workers never execute one twice.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from werft.config import Settings
from werft.errors import WerftError
from werft.governance.actor import acting_as
from werft.pipelines.code import cached_checkout
from werft.pipelines.engine import Engine
from werft.pipelines.entities import PipelineRun, PipelineRunUpdate, PipelineStatus
from werft.pipelines.service import PIPELINE_ACTOR
from werft.pipelines.train import code_cache, job_env
from werft.services import Services

log = logging.getLogger("werft.pipelines")


@dataclass
class PipelineDispatcher:
    """Fires triggers and executes queued pipeline runs for one worker."""

    services: Services
    settings: Settings
    max_parallel: int = 1
    poll: float = 2.0
    _threads: dict[int, threading.Thread] = field(default_factory=dict, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def tick(self) -> int:
        """One pass; the number of runs started."""
        pipelines = self.services.pipelines
        for run_id in pipelines.reap_stale():
            log.warning("pipeline run #%s: its executor stopped reporting; marked failed", run_id)
        for run in pipelines.fire_due():
            log.info("pipeline run #%s queued: %s %s", run.id, run.trigger, run.trigger_detail)
        started = 0
        for run in pipelines.queued(limit=self.max_parallel):
            if self.active() >= self.max_parallel:
                break
            claimed = pipelines.claim(run.id)
            if claimed is not None:
                self._start(claimed)
                started += 1
        return started

    def active(self) -> int:
        """Runs this worker is executing now."""
        with self._lock:
            for run_id in [i for i, t in self._threads.items() if not t.is_alive()]:
                del self._threads[run_id]
            return len(self._threads)

    def wait(self, timeout: float | None = None) -> None:
        """Wait for the runs this worker is executing (tests, shutdown)."""
        with self._lock:
            threads = list(self._threads.values())
        for thread in threads:
            thread.join(timeout)

    def stop(self, timeout: float = 30.0) -> None:
        """Cancel the runs this worker executes and wait for them to end."""
        with self._lock:
            running = list(self._threads)
        for run_id in running:
            try:
                self.services.pipelines.request_cancel(run_id)
            except WerftError:  # finished meanwhile: nothing to cancel
                continue
        self.wait(timeout)

    def _start(self, run: PipelineRun) -> None:
        thread = threading.Thread(
            target=self._execute, args=(run,), name=f"werft-pipeline-{run.id}", daemon=True
        )
        with self._lock:
            self._threads[run.id] = thread
        thread.start()

    def _execute(self, run: PipelineRun) -> None:
        from werft.sdk.local import LocalBackend

        backend = LocalBackend(self.services)  # shares the services; never closed here
        with acting_as(PIPELINE_ACTOR):
            try:
                checkout = cached_checkout(
                    run.code.digest, code_cache(self.settings), backend.download_blob
                )
            except Exception as exc:  # recorded on the run
                log.exception("pipeline run #%s: cannot unpack its code", run.id)
                self.services.pipelines.update(
                    run.id,
                    PipelineRunUpdate(
                        status=PipelineStatus.FAILED, error=f"cannot unpack the code: {exc}"
                    ),
                )
                return
            engine = Engine(
                backend=backend,
                cache=self.settings.home / "cache",
                env=job_env(self.settings),
                poll=self.poll,
            )
            finished = engine.execute(run, checkout)
            log.info("pipeline run #%s ended %s", run.id, finished.status)
