"""Worker and task changes fanned out to the SSE subscribers on the event loop.

The event consumer's thread coalesces changes per worker and per task and hands one batch to
the loop per flush, so a busy cluster costs one loop wake-up per batch, not one per event.
Nothing is collected while nobody listens.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from sdp_monitor.history.record import replaces
from sdp_monitor.stream.live import Worker

__all__ = ["Change", "ChangeFeed", "worker_change"]

log = logging.getLogger(__name__)

Change = dict[str, Any]

# Batches a subscriber may fall behind by before its oldest batch is dropped.
MAX_BEHIND = 256


def worker_change(name: str, found: tuple[Worker, bool] | None) -> Change:
    """A worker as SSE clients see it; `found` is None once it was purged."""
    if found is None:
        return {"type": "worker", "name": name, "online": False, "purged": True}
    worker, online = found
    return {
        "type": "worker",
        "name": name,
        "online": online,
        "last_heartbeat": worker.last_heartbeat,
        "processed": worker.processed,
        "loadavg": list(worker.loadavg),
    }


class ChangeFeed:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._subscribers: set[asyncio.Queue[list[Change]]] = set()
        self._pending: dict[str, Change] = {}

    @property
    def listening(self) -> bool:
        return bool(self._subscribers)

    @property
    def pending(self) -> bool:
        return bool(self._pending)

    def add(self, key: str, change: Change) -> None:
        """Queue a change (consumer thread); a later one for the same key replaces it."""
        if not self._subscribers:
            return
        held = self._pending.get(key)
        # Events of several producers arrive out of order (the API's task-sent after the
        # worker's task-succeeded): a batch keeps a task's furthest state, as the history does.
        if held is not None and "state" in held and not replaces(change["state"], held["state"]):
            return
        self._pending[key] = change

    def publish(self) -> None:
        """Hand the coalesced changes to the loop (consumer thread)."""
        if not self._pending:
            return
        batch, self._pending = list(self._pending.values()), {}
        try:
            self._loop.call_soon_threadsafe(self._deliver, batch)
        except RuntimeError:
            log.debug("event loop closed; dropped %d changes", len(batch))

    def _deliver(self, batch: list[Change]) -> None:
        for queue in self._subscribers:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(batch)

    @contextlib.contextmanager
    def subscribe(self) -> Iterator[asyncio.Queue[list[Change]]]:
        """A queue of change batches for one SSE client (event loop)."""
        queue: asyncio.Queue[list[Change]] = asyncio.Queue(MAX_BEHIND)
        self._subscribers.add(queue)
        try:
            yield queue
        finally:
            self._subscribers.discard(queue)
