"""Concurrent requests for the same read share one, and none gets an answer older than itself."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

__all__ = ["Coalesced"]

T = TypeVar("T")


class Coalesced(Generic[T]):
    """Wraps a read so that callers arriving while it runs share the next one.

    A caller that finds no read in flight starts one. A caller that finds one in flight waits
    for the read that starts when it ends, which every caller arriving meanwhile shares, so
    each answer was read after its caller asked. Under load that is one read per round trip,
    not one per request. Event loop only.
    """

    def __init__(self, read: Callable[[], Awaitable[T]]) -> None:
        self._read = read
        self._busy = False
        self._next: asyncio.Future[T] | None = None
        # The loop keeps only weak references to tasks.
        self._serving: set[asyncio.Task[None]] = set()

    async def __call__(self) -> T:
        if not self._busy:
            return await self._run()
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
        # Shielded: a caller that gives up must not cancel the others' answer.
        return await asyncio.shield(self._next)

    async def _run(self) -> T:
        self._busy = True
        try:
            return await self._read()
        finally:
            self._busy = False
            waiting, self._next = self._next, None
            if waiting is not None:
                task = asyncio.ensure_future(self._serve(waiting))
                self._serving.add(task)
                task.add_done_callback(self._serving.discard)

    async def _serve(self, waiting: asyncio.Future[T]) -> None:
        try:
            waiting.set_result(await self._run())
        except Exception as exc:
            waiting.set_exception(exc)
