"""Idempotent outcomes: one computation per key, shared by concurrent callers and remembered after success."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class SingleFlightCache(Generic[T]):
    """An LRU of finished results plus the computations in progress; failures are not remembered."""

    def __init__(self, max_entries: int = 1024) -> None:
        """Remember at most max_entries results, dropping the least recently used."""
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, got {max_entries}")
        self.max_entries = max_entries
        self._done: OrderedDict[Hashable, T] = OrderedDict()
        self._running: dict[Hashable, asyncio.Task[T]] = {}
        self.hits = 0
        self.computations = 0

    def __len__(self) -> int:
        return len(self._done)

    async def get(self, key: Hashable, compute: Callable[[], Awaitable[T]]) -> T:
        """Return the result for key, computing it at most once however many callers ask at the same time."""
        if key in self._done:
            self._done.move_to_end(key)
            self.hits += 1
            return self._done[key]
        task = self._running.get(key)
        if task is None:
            self.computations += 1
            task = asyncio.ensure_future(compute())
            self._running[key] = task
            task.add_done_callback(lambda t: self._finish(key, t))
        else:
            self.hits += 1
        # a caller that goes away must not cancel the computation the others are waiting for
        return await asyncio.shield(task)

    def any_key(self, match: Callable[[Hashable], bool]) -> bool:
        """Whether a result is remembered, or being computed, under a key that `match` accepts."""
        return any(match(key) for key in self._running) or any(match(key) for key in self._done)

    def _finish(self, key: Hashable, task: asyncio.Task[T]) -> None:
        self._running.pop(key, None)
        if task.cancelled() or task.exception() is not None:
            return
        self._done[key] = task.result()
        self._done.move_to_end(key)
        while len(self._done) > self.max_entries:
            self._done.popitem(last=False)

    async def close(self) -> None:
        """Cancel computations still running (at shutdown)."""
        for task in list(self._running.values()):
            task.cancel()
        await asyncio.gather(*self._running.values(), return_exceptions=True)
