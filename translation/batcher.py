"""Micro-batching of sentences for one language pair.

A model call costs little more for 16 sentences than for one (the work is
matrix-shaped), so sentences from concurrent messages are pooled: the batcher
takes what is waiting, gives late-comers up to `wait_s` after the oldest waiting
sentence arrived, and stops early when `batch_max` is reached. While all its
model slots are busy, new sentences simply accumulate into the next, bigger,
batch — under load batches grow and the per-sentence cost falls.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Generic, TypeVar

log = logging.getLogger("babelroom.translation")

#: What a model call gives per sentence (engines give (text, confidence)).
Result = TypeVar("Result")


class PairBatcher(Generic[Result]):
    """Runs `run_batch` (blocking) in `executor` on micro-batches of sentences."""

    def __init__(
        self,
        pair: str,
        run_batch: Callable[[list[str]], list[Result]],
        executor: Executor,
        *,
        batch_max: int,
        wait_s: float,
        max_in_flight: int = 1,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        self.pair = pair
        self._run_batch = run_batch
        self._executor = executor
        self._batch_max = max(1, batch_max)
        self._wait_s = max(0.0, wait_s)
        self._slots = asyncio.Semaphore(max(1, max_in_flight))
        self._on_batch = on_batch
        self._pending: list[tuple[str, asyncio.Future[Result], float]] = []
        self._full = asyncio.Event()  # a whole batch is pending
        self._running = 0
        self._tasks: set[asyncio.Task[None]] = set()
        # Runs while sentences are pending, and ends when none are: an idle batcher holds no task, so
        # one dropped with its engine leaves none pending for the garbage collector to find (asyncio
        # logs "Task was destroyed but it is pending!" for such a task, wherever the collection happens).
        self._worker: asyncio.Task[None] | None = None

    @property
    def depth(self) -> int:
        """Sentences waiting for or inside a model call."""
        return len(self._pending) + self._running

    async def translate(self, sentences: list[str]) -> list[Result]:
        """Translate sentences (all in the same batch when they fit)."""
        if not sentences:
            return []
        if self._worker is None:
            self._worker = asyncio.create_task(self._work(), name=f"batcher {self.pair}")
        loop = asyncio.get_running_loop()
        now = loop.time()
        futures: list[asyncio.Future[Result]] = [loop.create_future() for _ in sentences]
        self._pending.extend((s, f, now) for s, f in zip(sentences, futures, strict=True))
        if len(self._pending) >= self._batch_max:
            self._full.set()
        return list(await asyncio.gather(*futures))

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._slots.acquire()
            try:
                if not self._pending:  # nothing left: this worker ends, the next `translate` starts one
                    self._slots.release()
                    self._worker = None
                    return
                wait = self._pending[0][2] + self._wait_s - loop.time()
                if len(self._pending) < self._batch_max and wait > 0:
                    self._full.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._full.wait(), wait)
                batch = self._pending[: self._batch_max]
                del self._pending[: self._batch_max]
                if len(self._pending) < self._batch_max:
                    self._full.clear()
                # A caller that gave up (cancelled) needs no translation.
                batch = [item for item in batch if not item[1].done()]
            except BaseException:
                self._slots.release()
                raise
            if not batch:
                self._slots.release()
                continue
            task = asyncio.create_task(self._run(batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run(self, batch: list[tuple[str, asyncio.Future[Result], float]]) -> None:
        texts = [text for text, _, _ in batch]
        self._running += len(batch)
        try:
            loop = asyncio.get_running_loop()
            results = await loop.run_in_executor(self._executor, self._run_batch, texts)
            if self._on_batch is not None:
                self._on_batch(len(texts))
            for (_, future, _), result in zip(batch, results, strict=False):
                if not future.done():
                    future.set_result(result)
        except BaseException as exc:
            if not isinstance(exc, asyncio.CancelledError):
                log.exception("translation batch failed for %s", self.pair)
            error = exc if isinstance(exc, Exception) else RuntimeError("closed")
            for _, future, _ in batch:
                if not future.done():
                    future.set_exception(error)
            if isinstance(exc, asyncio.CancelledError):
                raise
        finally:
            self._running -= len(batch)
            self._slots.release()

    async def close(self) -> None:
        """Stop the worker; waiting callers get an error."""
        tasks = [t for t in (self._worker, *self._tasks) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._worker = None
        for _, future, _ in self._pending:
            if not future.done():
                future.set_exception(RuntimeError("translation service closed"))
        self._pending.clear()
