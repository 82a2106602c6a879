"""Reading stored schedule entries, shared by the definitions store and the firing protocol.

Entries live in bucketed hashes (``keys.schedule_bucket``), each field one schedule's entry
(sdp_schedules.records); the names index is a ZSET of ``name/id`` members in name order.
"""

from __future__ import annotations

import dataclasses
import json
import random
import secrets
import time
from collections.abc import Callable, Sequence
from typing import TypedDict, cast

import redis

from sdp_core import keys
from sdp_core.queues import queue_for
from sdp_core.replies import text
from sdp_schedules.records import (
    Schedule,
    ScheduleState,
    Undecodable,
    decode_entry,
    read_schedule,
)

__all__ = [
    "SCAN_CHUNK",
    "EntryOptions",
    "StoredEntries",
    "cheap_match",
    "id_of",
    "name_of",
    "new_id",
    "now_ms",
    "read_member",
]

_ID_BYTES = 8
# A scan of the names index reads this many members at a time.
SCAN_CHUNK = 500


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def new_id() -> str:
    """A schedule id drawn at random; the write script refuses one already in use."""
    return secrets.token_hex(_ID_BYTES)


class EntryOptions(TypedDict, total=False):
    """What a store may be given besides its client: its clock (epoch ms) and its jitter."""

    clock: Callable[[], int]
    rng: random.Random | None


class StoredEntries:
    """Redis access both stores share: the client, the clock, the jitter and the entry reads."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        clock: Callable[[], int] = now_ms,
        rng: random.Random | None = None,
    ) -> None:
        self.client = client
        self.clock = clock
        self._rng = rng or random.Random()

    def due_of(self, slot_ms: int, jitter_s: float) -> int:
        """When a slot is sent: the slot itself, or a random moment up to jitter_s after it."""
        return slot_ms + (int(self._rng.uniform(0, jitter_s) * 1000) if jitter_s else 0)

    def load(self, schedule_ids: Sequence[str]) -> list[Schedule | Undecodable | None]:
        """Many schedules in one round trip; None for any deleted meanwhile.

        One whose stored entry no longer decodes comes as Undecodable.
        """
        return [
            None if raw is None else read_schedule(schedule_id, raw)
            for schedule_id, raw in zip(schedule_ids, self._entries(schedule_ids), strict=True)
        ]

    def _entries(self, schedule_ids: Sequence[str]) -> list[bytes | None]:
        pipe = self.client.pipeline(transaction=False)
        for schedule_id in schedule_ids:
            pipe.hget(keys.schedule_bucket(schedule_id), schedule_id)
        return cast(list[bytes | None], pipe.execute())

    def _names(self, index: str, low: bytes, high: bytes, count: int) -> list[str]:
        return [text(m) for m in self.client.zrangebylex(index, low, high, 0, count)]

    def _indexed(self, members: Sequence[str]) -> list[tuple[str, bytes | None]]:
        """Names-index members with their stored entries (None: deleted meanwhile)."""
        return list(zip(members, self._entries([id_of(m) for m in members]), strict=True))


def id_of(member: str) -> str:
    """The id in a names-index member ``name/id``."""
    return member.rsplit("/", 1)[1]


def name_of(member: str) -> str:
    """The name in a names-index member ``name/id``."""
    return member.rsplit("/", 1)[0]


def read_member(member: str, raw: bytes) -> Schedule | Undecodable:
    """The entry of a names-index member; one that no longer decodes keeps the indexed name
    when its definition names nothing."""
    found = read_schedule(id_of(member), raw)
    if isinstance(found, Undecodable) and found.name is None:
        return dataclasses.replace(found, name=name_of(member))
    return found


def cheap_match(
    raw: bytes, state: ScheduleState | None, task: str | None, queue: str | None
) -> bool:
    """A filter checked on the stored entry as stored: plain JSON, no model validation.

    Never false for a match.  What it lets through may still not match (any entry may turn
    out not to decode, and so count as set aside): decode it to tell.
    """
    try:
        entry = decode_entry(raw)
        if state not in (None, ScheduleState.set_aside, entry["state"]):
            return False
        if task is None and queue is None:
            return True
        spec = json.loads(entry["spec"])
        if task is not None and spec["task"] != task:
            return False
        return queue is None or (spec.get("queue") or queue_for(spec["task"])) == queue
    except (ValueError, TypeError, KeyError, AttributeError):
        return True
