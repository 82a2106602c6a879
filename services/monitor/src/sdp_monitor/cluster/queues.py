"""Queues in the broker: which exist, how many messages wait in each, and the next to be taken.

Configured queues are always shown. Queues nobody configured are found in kombu's binding sets
(every queue a producer or consumer declared), scanned at most every `discovery_s` in the
background, so a request never pays for a scan after the first.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from celery import Celery

from sdp_core import keys
from sdp_core.replies import text
from sdp_monitor.cluster.coalesce import Coalesced

__all__ = ["Peek", "QueueBook"]

log = logging.getLogger(__name__)

# A bound on what one request reads and one scrape exports.
MAX_QUEUES = 500
SCAN_COUNT = 1_000


# Each queue's lists summed in Redis: one command and one short reply, however many queues.
# KEYS: every queue's lists, `steps` per queue in order. ARGV: steps. Returns one sum per queue.
_SUM_LENGTHS = """
local steps, sums = tonumber(ARGV[1]), {}
for i = 1, #KEYS, steps do
  local total = 0
  for k = i, i + steps - 1 do total = total + redis.call('LLEN', KEYS[k]) end
  sums[#sums + 1] = total
end
return sums
"""

# The messages a worker would take next, read from each list's tail in one round trip: a worker's
# BRPOP names the lists by priority step, lowest first, and takes the first non-empty one's tail,
# where kombu's LPUSH left the oldest message. LRANGE counts from the tail, so a long list costs
# no more than a short one.
# KEYS: a queue's lists by priority step, in that order. ARGV: the most messages to read.
# Returns the queue's length over every list, how many messages were read from each list, and
# those messages, tail first.
_PEEK = """
local left, total, taken, messages = tonumber(ARGV[1]), 0, {}, {}
for i = 1, #KEYS do
  local length = redis.call('LLEN', KEYS[i])
  total = total + length
  local n = math.min(left, length)
  taken[i] = n
  if n > 0 then
    local read = redis.call('LRANGE', KEYS[i], -n, -1)
    for j = #read, 1, -1 do messages[#messages + 1] = read[j] end
    left = left - n
  end
end
return {total, taken, messages}
"""


@dataclass(frozen=True, slots=True)
class Peek:
    total: int
    # (priority step, message as stored), in the order workers take them.
    messages: list[tuple[int, bytes]]


class QueueBook:
    def __init__(
        self,
        broker: aioredis.Redis,
        *,
        configured: Collection[str],
        discovery_s: float,
        seen: Callable[[], Iterable[str]] = tuple,
        prefix: str = "",
        sep: str = keys.PRIORITY_SEP,
        internal_exchanges: Collection[str] = (),
    ) -> None:
        self.broker = broker
        self.configured = frozenset(configured)
        self.discovery_s = discovery_s
        self.prefix = prefix
        self.sep = sep
        self.internal_exchanges = frozenset(internal_exchanges)
        self._discovered: frozenset[str] = frozenset()
        self._discovered_at: float | None = None
        self._refresh: asyncio.Task[None] | None = None
        self._sum_lengths = broker.register_script(_SUM_LENGTHS)
        self._peek = broker.register_script(_PEEK)
        self._seen = seen
        # Pending messages of every listed queue; concurrent callers share a read.
        self.lengths = Coalesced(self._lengths)

    @classmethod
    def for_app(
        cls,
        broker: aioredis.Redis,
        app: Celery,
        discovery_s: float,
        seen: Callable[[], Iterable[str]] = tuple,
    ) -> QueueBook:
        """Configured queues, key prefix and internal exchanges as the Celery app has them.

        `seen` names the queues tasks were sent to, which are listed too.
        """
        options: dict[str, Any] = app.conf.broker_transport_options or {}
        control = app.conf.control_exchange
        return cls(
            broker,
            configured=[q.name for q in app.conf.task_queues or ()],
            discovery_s=discovery_s,
            seen=seen,
            prefix=str(options.get("global_keyprefix") or ""),
            sep=str(options.get("sep") or keys.PRIORITY_SEP),
            # Control replies and events travel through exchanges of their own.
            internal_exchanges={
                app.conf.event_exchange,
                f"{control}.pidbox",
                f"reply.{control}.pidbox",
            },
        )

    async def names(self) -> list[str]:
        """Configured, discovered and seen queues, by name."""
        if self._discovered_at is None:
            await self._discover()
        elif time.monotonic() - self._discovered_at >= self.discovery_s and (
            self._refresh is None or self._refresh.done()
        ):
            self._refresh = asyncio.create_task(self._discover_quietly())
        names = sorted(self.configured | self._discovered | set(self._seen()))
        if len(names) > MAX_QUEUES:
            log.warning("%d queues; showing the first %d by name", len(names), MAX_QUEUES)
        return names[:MAX_QUEUES]

    async def pending(self, names: Iterable[str]) -> dict[str, int]:
        """Messages waiting per queue, every priority step summed, in one round trip."""
        names = list(names)
        lists = [key for name in names for key in keys.queue_keys(name, self.prefix, self.sep)]
        sums: list[int] = await self._sum_lengths(keys=lists, args=[len(keys.PRIORITY_STEPS)])
        return dict(zip(names, sums, strict=True))

    async def _lengths(self) -> dict[str, int]:
        return await self.pending(await self.names())

    async def known(self, name: str) -> bool:
        return name in await self.names()

    async def purge(self, name: str) -> int:
        """Delete every waiting message of a queue at once; how many there were."""
        queue_keys = keys.queue_keys(name, self.prefix, self.sep)
        async with self.broker.pipeline(transaction=True) as pipe:
            for key in queue_keys:
                pipe.llen(key)
            pipe.delete(*queue_keys)
            replies: list[int] = await pipe.execute()
        return sum(replies[: len(queue_keys)])

    async def peek(self, name: str, limit: int) -> Peek:
        """Up to `limit` of the queue's messages, the next to be taken first; its length."""
        reply: list[Any] = await self._peek(
            keys=keys.queue_keys(name, self.prefix, self.sep), args=[limit]
        )
        total, taken, messages = reply
        steps = (step for step, n in zip(keys.PRIORITY_STEPS, taken, strict=True) for _ in range(n))
        return Peek(int(total), list(zip(steps, messages, strict=True)))

    async def _discover_quietly(self) -> None:
        try:
            await self._discover()
        except aioredis.RedisError as exc:
            log.warning("queue discovery failed: %s", exc)

    async def _discover(self) -> None:
        start = len(self.prefix) + len(keys.KOMBU_BINDING_PREFIX)
        tables = [
            key
            async for key in self.broker.scan_iter(
                match=f"{self.prefix}{keys.KOMBU_BINDING_MATCH}", count=SCAN_COUNT
            )
            if text(key)[start:] not in self.internal_exchanges
        ]
        async with self.broker.pipeline(transaction=False) as pipe:
            for key in tables:
                pipe.smembers(key)
            members: list[set[bytes | str]] = await pipe.execute()
        # A member written with another separator names no queue kombu could route to.
        queues = (keys.binding_queue(text(member), self.sep) for t in members for member in t)
        self._discovered = frozenset(queue for queue in queues if queue)
        self._discovered_at = time.monotonic()
