"""Optional system metrics (CPU, memory) sampled in the background during a run."""

from __future__ import annotations

import threading
from collections.abc import Callable

import psutil

Log = Callable[[str, float, int], None]


class SystemMetricsSampler:
    """Samples CPU and memory every ``interval`` seconds into ``system/*`` metrics."""

    def __init__(self, log: Log, *, interval: float = 10.0) -> None:
        self._log = log
        self._interval = interval
        self._stop = threading.Event()
        self._process = psutil.Process()
        self._thread = threading.Thread(target=self._run, name="werft-sysmetrics", daemon=True)
        self._thread.start()

    def sample(self, step: int) -> None:
        memory = psutil.virtual_memory()
        self._log("system/cpu_percent", psutil.cpu_percent(interval=None), step)
        self._log("system/memory_percent", memory.percent, step)
        self._log("system/memory_used_mb", memory.used / 2**20, step)
        self._log("system/process_rss_mb", self._process.memory_info().rss / 2**20, step)

    def _run(self) -> None:
        psutil.cpu_percent(interval=None)  # the first call only primes the counter
        step = 0
        while not self._stop.wait(self._interval):
            self.sample(step)
            step += 1

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
