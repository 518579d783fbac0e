"""Adaptive micro-batching: concurrent requests share one vectorised predict call.

While a batch is being predicted in the worker thread, new requests queue up
on the event loop; the next batch takes all of them (up to ``max_batch_rows``).
Under light load a request goes alone and waits for nobody; under heavy load
batches grow by themselves.  ``max_wait_ms`` optionally holds a lone request
a little longer to let others join.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class _Pending(Generic[T, R]):
    item: T
    rows: int
    future: asyncio.Future[R] = field(repr=False)


class MicroBatcher(Generic[T, R]):
    """Groups submitted items and runs ``process`` on each group in a worker thread."""

    def __init__(
        self,
        process: Callable[[Sequence[T]], Sequence[R | BaseException]],
        *,
        executor: ThreadPoolExecutor,
        max_batch_rows: int = 256,
        max_wait_ms: float = 0.0,
    ) -> None:
        self._process = process
        self._executor = executor
        self._max_rows = max_batch_rows
        self._max_wait = max_wait_ms / 1000
        self._queue: asyncio.Queue[_Pending[T, R]] | None = None
        self._task: asyncio.Task[None] | None = None

    async def submit(self, item: T, rows: int = 1) -> R:
        """Queue an item and wait for its result (or its exception)."""
        if self._queue is None:
            self._queue = asyncio.Queue()
            self._task = asyncio.create_task(self._run())
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Pending(item, rows, future))
        return await future

    def _drain(self, batch: list[_Pending[T, R]], rows: int) -> int:
        assert self._queue is not None
        while rows < self._max_rows and not self._queue.empty():
            pending = self._queue.get_nowait()
            batch.append(pending)
            rows += pending.rows
        return rows

    async def _run(self) -> None:
        assert self._queue is not None
        loop = asyncio.get_running_loop()
        while True:
            first = await self._queue.get()
            batch, rows = [first], first.rows
            rows = self._drain(batch, rows)
            if rows < self._max_rows and self._max_wait > 0:
                await asyncio.sleep(self._max_wait)
                rows = self._drain(batch, rows)
            items = [p.item for p in batch]
            try:
                results = await loop.run_in_executor(self._executor, self._process, items)
            except Exception as exc:  # the worker failed as a whole: fail every request
                results = [exc] * len(batch)
            for pending, result in zip(batch, results, strict=True):
                if pending.future.done():
                    continue  # the client went away
                if isinstance(result, BaseException):
                    pending.future.set_exception(result)
                else:
                    pending.future.set_result(result)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
