"""Upgrade step for broker data written with the platform's old priority separator.

Earlier versions configured kombu with ``:`` as its separator instead of kombu's default. Their
priority lists, ``<queue>:<step>``, are read by nobody now, and their binding members,
``<routing key>:<pattern>:<queue>``, break every send routed through the table that holds one
(``ValueError: not enough values to unpack``). `upgrade_broker` moves the waiting messages into
the current lists, oldest still served first, and deletes those members; kombu adds its own
members again whenever a process declares a queue.

Every service runs it at start (`upgrade_at_start`); once the data is upgraded it finds
nothing to do. Old and new versions cannot share a broker, so stop every old process first.

Remove this module, its calls in the services' ``__main__`` and ``keys.LEGACY_PRIORITY_SEP``
once no deployment keeps broker data from before kombu's separator was adopted.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

import redis

from sdp_core import keys
from sdp_core.connections import sync_client
from sdp_core.queues import QUEUES
from sdp_core.replies import text
from sdp_core.settings import CommonSettings

__all__ = ["Upgraded", "upgrade_at_start", "upgrade_broker"]

log = logging.getLogger(__name__)

# KEYS: (legacy list, current list) pairs. Appends each legacy list to the end kombu pops
# first, in its own order, so its messages, older than any in the current list, go first.
# One script, so a consumer never sees a list half moved; Redis serves nothing else meanwhile
# (0.6 s for 100,000 messages on the development machine). Returns how many moved.
_MOVE_LISTS = """
local moved = 0
for i = 1, #KEYS, 2 do
  local item = redis.call('LPOP', KEYS[i])
  while item do
    redis.call('RPUSH', KEYS[i + 1], item)
    moved = moved + 1
    item = redis.call('LPOP', KEYS[i])
  end
end
return moved
"""


@dataclass(frozen=True, slots=True)
class Upgraded:
    messages_moved: int
    bindings_removed: int


def upgrade_broker(client: redis.Redis, queues: Iterable[str] = QUEUES) -> Upgraded:
    """Move the queues' messages out of legacy lists; delete binding members kombu cannot read."""
    lists: list[str] = []
    for queue in queues:
        legacy = keys.queue_keys(queue, sep=keys.LEGACY_PRIORITY_SEP)
        for old, new in zip(legacy, keys.queue_keys(queue), strict=True):
            if old != new:  # step 0's list is the queue's name under either separator
                lists += (old, new)
    moved = int(client.eval(_MOVE_LISTS, len(lists), *lists)) if lists else 0
    removed = 0
    for table in client.scan_iter(match=keys.KOMBU_BINDING_MATCH, count=1_000):
        unreadable = [m for m in client.smembers(table) if keys.binding_queue(text(m)) is None]
        if unreadable:
            removed += int(client.srem(table, *unreadable))
    return Upgraded(moved, removed)


def upgrade_at_start(settings: CommonSettings) -> None:
    """`upgrade_broker` on the configured broker; a broker that is down only delays it."""
    client = sync_client(settings.broker, socket_timeout=10, socket_connect_timeout=5)
    try:
        done = upgrade_broker(client)
    except redis.RedisError as exc:
        log.warning("broker upgrade skipped, to be tried at the next start: %s", exc)
        return
    finally:
        client.close()
    if done.messages_moved or done.bindings_removed:
        # A warning, so that it shows before (and whatever) the service configures its logging.
        log.warning(
            "broker upgraded to kombu's separator: %d messages moved, %d bindings removed",
            done.messages_moved,
            done.bindings_removed,
        )
