"""The firing protocol a scheduler (beat, or the API's in-process engine) follows.

A leader reads what is due (peek, due), claims each entry from its due slot to its next one
under its fencing token (claim), sends, and records the runs (record); fire does all three in
one script when the broker is the store's Redis.  A send that fails puts the entry back
(unclaim); an entry that cannot be fired is set aside (set_aside).  Every claim checks the
entry's version and the leader lock in Redis, so a slot is claimed once.  The in-process engine
loads every active schedule (all_active) and moves each on as it runs it (advance).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Unpack, cast

import redis

from sdp_core import keys
from sdp_core.replies import text
from sdp_schedules import scripts
from sdp_schedules.entries import (
    SCAN_CHUNK,
    EntryOptions,
    StoredEntries,
    cheap_match,
    read_member,
)
from sdp_schedules.errors import ScheduleNotFound
from sdp_schedules.records import (
    REASON_MAX_CHARS,
    Run,
    Schedule,
    ScheduleState,
    Undecodable,
    escape_field,
)

__all__ = ["Claim", "Firing", "Record", "ScheduleFiring", "is_entry_fault"]


@dataclass(frozen=True, slots=True)
class Claim:
    """Advance one due entry from ``due_ms`` to ``next_slot_ms`` (None: no more slots)."""

    schedule_id: str
    version: int
    due_ms: int
    next_slot_ms: int | None
    next_due_ms: int | None


@dataclass(frozen=True, slots=True)
class Firing:
    """One schedule's claim with what goes with it: runs, queue messages, task ids."""

    claim: Claim
    runs: Sequence[Run]
    # The broker transport's final commands for the sends: ("lpush", queue list key, message)
    # and ("publish", event channel, task-sent event), as kombu's publish batch holds them.
    commands: Sequence[tuple[str, str, bytes | str]]
    started: Sequence[tuple[str, int]]
    finished: Sequence[str]


@dataclass(frozen=True, slots=True)
class Record:
    """One schedule's runs to record, with the task ids it sent (id, sent at) and saw finish."""

    schedule_id: str
    runs: Sequence[Run]
    started: Sequence[tuple[str, int]] = ()
    finished: Sequence[str] = ()


class ScheduleFiring(StoredEntries):
    def __init__(
        self, client: redis.Redis, *, runs_kept: int = 100, **options: Unpack[EntryOptions]
    ) -> None:
        super().__init__(client, **options)
        self.runs_kept = runs_kept
        self._claim = client.register_script(scripts.CLAIM)
        self._unclaim = client.register_script(scripts.UNCLAIM)
        self._advance = client.register_script(scripts.ADVANCE)
        self._peek = client.register_script(scripts.PEEK)
        self._fire = client.register_script(scripts.FIRE)
        self._record = client.register_script(scripts.RECORD)
        self._set_aside = client.register_script(scripts.SET_ASIDE)

    def due(self, until_ms: int, limit: int) -> list[tuple[str, int]]:
        """Ids due at or before ``until_ms``, earliest first, with their due times."""
        rows = self.client.zrangebyscore(
            keys.SCHEDULE_DUE, "-inf", until_ms, start=0, num=limit, withscores=True
        )
        return [(text(row[0]), int(row[1])) for row in rows]

    def peek(
        self, token: str, ttl_ms: int, until_ms: int, limit: int
    ) -> tuple[list[tuple[str, int]], int | None] | None:
        """Extend the leader lock and read the due entries and the next due time, at once.

        None when ``token`` no longer holds the lock.
        """
        result = self._peek(
            keys=[keys.SCHEDULE_LEADER, keys.SCHEDULE_DUE], args=[token, ttl_ms, until_ms, limit]
        )
        if not result[0]:
            return None
        flat, first = result[1], result[2]
        due = [(text(flat[i]), int(float(flat[i + 1]))) for i in range(0, len(flat), 2)]
        return due, int(float(first[1])) if first else None

    def next_due(self) -> int | None:
        rows = self.client.zrange(keys.SCHEDULE_DUE, 0, 0, withscores=True)
        return int(rows[0][1]) if rows else None

    def load_due(self, schedule_ids: Sequence[str]) -> list[tuple[bytes | None, int]]:
        """Stored entries with how many task ids each has in flight, in one round trip.

        Left for the caller to read_schedule, so that one which no longer decodes can be set
        aside on its own.
        """
        pipe = self.client.pipeline(transaction=False)
        for schedule_id in schedule_ids:
            pipe.hget(keys.schedule_bucket(schedule_id), schedule_id)
            pipe.zcard(keys.schedule_inflight(schedule_id))
        replies = pipe.execute()
        return [(raw, int(count)) for raw, count in zip(replies[::2], replies[1::2], strict=True)]

    def drop_due(self, schedule_ids: Sequence[str]) -> None:
        """Take ids whose schedule no longer exists out of the due set."""
        if schedule_ids:
            self.client.zrem(keys.SCHEDULE_DUE, *schedule_ids)

    def set_aside(self, schedule_id: str, version: str, reason: str) -> bool:
        """Take a schedule that cannot be fired out of the due set, keeping why and when.

        ``version`` is the entry's as read (records.entry_version); False when its definition
        changed since (a fix came first), it was deleted, or it is set aside already or paused
        (so a caller that logs on True logs each once).
        """
        return bool(
            self._set_aside(
                keys=[
                    keys.schedule_bucket(schedule_id),
                    keys.SCHEDULE_DUE,
                    keys.SCHEDULE_SET_ASIDE,
                    keys.SCHEDULE_CHANGES,
                ],
                args=[
                    schedule_id,
                    version,
                    escape_field(reason[:REASON_MAX_CHARS]),
                    self.clock(),
                ],
            )
        )

    def claim(self, claims: Sequence[Claim], token: str) -> list[int | redis.ResponseError]:
        """Claim many entries in one round trip: each a scripts.ClaimCode.

        A claim whose script failed on that entry's data is its error (see is_entry_fault).
        """
        pipe = self.client.pipeline(transaction=False)
        for claim in claims:
            self._claim(
                keys=[
                    keys.SCHEDULE_DUE,
                    keys.schedule_bucket(claim.schedule_id),
                    keys.SCHEDULE_LEADER,
                ],
                args=_claim_args(claim, token),
                client=pipe,
            )
        return _replies(pipe)

    def advance(
        self, schedule: Schedule, slot_ms: int, next_slot_ms: int | None, token: str
    ) -> int:
        """Move a schedule on from ``slot_ms`` if that is still its slot: a scripts.ClaimCode."""
        next_due = (
            None if next_slot_ms is None else self.due_of(next_slot_ms, schedule.spec.jitter_s)
        )
        return int(
            self._advance(
                keys=[keys.SCHEDULE_DUE, keys.schedule_bucket(schedule.id), keys.SCHEDULE_LEADER],
                args=[
                    schedule.id,
                    slot_ms,
                    token,
                    "" if next_slot_ms is None else next_slot_ms,
                    "" if next_due is None else next_due,
                ],
            )
        )

    def all_active(self) -> Iterator[Schedule | Undecodable]:
        """Every schedule stored as active, in name order, ``SCAN_CHUNK`` at a time.

        One whose stored entry no longer decodes comes as Undecodable, for the caller to set
        aside.
        """
        low = b"-"
        while members := self._names(keys.SCHEDULE_NAMES, low, b"+", SCAN_CHUNK):
            for member, raw in self._indexed(members):
                if raw is not None and cheap_match(raw, ScheduleState.active, None, None):
                    yield read_member(member, raw)
            low = f"({members[-1]}".encode()

    def fire(
        self, firings: Sequence[Firing], token: str, inflight_floor_ms: int
    ) -> list[int | redis.ResponseError]:
        """Claim, enqueue and record each firing atomically; one round trip for all.

        Each result is a scripts.ClaimCode (moved on: nothing written), or the
        error of a script that failed on that entry's data (see is_entry_fault).
        """
        pipe = self.client.pipeline(transaction=False)
        for firing in firings:
            claim = firing.claim
            unknown = {op for op, _, _ in firing.commands} - _FIRE_COMMANDS
            if unknown:
                raise ValueError(f"FIRE runs only {sorted(_FIRE_COMMANDS)}, not {unknown}")
            args: list[Any] = _claim_args(claim, token)
            for op in ("lpush", "publish"):
                pairs = [(key, payload) for o, key, payload in firing.commands if o == op]
                args.append(len(pairs))
                for key, payload in pairs:
                    args += [key, payload]
            args += self._record_args(
                firing.runs, firing.started, firing.finished, inflight_floor_ms
            )
            self._fire(
                keys=[
                    keys.SCHEDULE_DUE,
                    keys.schedule_bucket(claim.schedule_id),
                    keys.SCHEDULE_LEADER,
                    keys.schedule_runs(claim.schedule_id),
                    keys.schedule_inflight(claim.schedule_id),
                ],
                args=args,
                client=pipe,
            )
        return _replies(pipe)

    def unclaim(self, claim: Claim, slot_ms: int) -> bool:
        """Put an entry back to ``slot_ms`` after its send failed; False if it moved on."""
        return bool(
            self._unclaim(
                keys=[keys.SCHEDULE_DUE, keys.schedule_bucket(claim.schedule_id)],
                args=[
                    claim.schedule_id,
                    "" if claim.next_due_ms is None else claim.next_due_ms,
                    claim.due_ms,
                    slot_ms,
                    claim.version,
                ],
            )
        )

    def record(
        self,
        schedule_id: str,
        runs: Sequence[Run],
        *,
        started: Sequence[tuple[str, int]] = (),
        finished: Sequence[str] = (),
        inflight_floor_ms: int = 0,
    ) -> Any:
        """Append run records (oldest first), count sends and track task ids in flight."""
        return self._record_one(Record(schedule_id, runs, started, finished), inflight_floor_ms)

    def record_many(self, records: Sequence[Record], inflight_floor_ms: int) -> None:
        """Record several schedules' runs, as record() each, in one round trip."""
        pipe = self.client.pipeline(transaction=False)
        for item in records:
            self._record_one(item, inflight_floor_ms, pipe)
        pipe.execute()

    def _record_one(
        self, item: Record, inflight_floor_ms: int, client: redis.client.Pipeline | None = None
    ) -> Any:
        schedule_id = item.schedule_id
        return self._record(
            keys=[
                keys.schedule_bucket(schedule_id),
                keys.schedule_runs(schedule_id),
                keys.schedule_inflight(schedule_id),
            ],
            args=[
                schedule_id,
                *self._record_args(item.runs, item.started, item.finished, inflight_floor_ms),
            ],
            client=client,
        )

    def _record_args(
        self,
        runs: Sequence[Run],
        started: Iterable[tuple[str, int]],
        finished: Iterable[str],
        inflight_floor_ms: int,
    ) -> list[Any]:
        """RECORD's arguments, which FIRE takes too (see scripts._RECORD)."""
        sent = [run for run in runs if run.task_id]
        added = list(started)
        args: list[Any] = [
            self.runs_kept,
            len(sent),
            max((run.fired_ms for run in sent), default=0),
            inflight_floor_ms,
            len(runs),
            *(run.to_json() for run in runs),
            len(added),
        ]
        for task_id, sent_ms in added:
            args += [task_id, sent_ms]
        return args + list(finished)

    def runs(self, schedule_id: str, *, offset: int = 0, limit: int = 50) -> list[Run]:
        """Run records, newest first."""
        raw = self.client.lrange(keys.schedule_runs(schedule_id), offset, offset + limit - 1)
        if not raw and not self.client.hexists(keys.schedule_bucket(schedule_id), schedule_id):
            raise ScheduleNotFound(schedule_id)
        return [Run.from_json(item) for item in raw]

    def inflight(self, schedule_ids: Sequence[str]) -> list[list[str]]:
        """Task ids each schedule has sent and not yet seen finish."""
        pipe = self.client.pipeline(transaction=False)
        for schedule_id in schedule_ids:
            pipe.zrange(keys.schedule_inflight(schedule_id), 0, -1)
        return [[text(t) for t in ids] for ids in pipe.execute()]


_FIRE_COMMANDS = {"lpush", "publish"}


def is_entry_fault(error: BaseException) -> bool:
    """Whether a script's error came from the entry it ran on rather than from Redis.

    Redis names the script's line in errors raised while it ran ("@user_script"); refusals
    before it ran (out of memory, read-only replica, loading) have exception classes of their
    own and are Redis's trouble, retried like any other.
    """
    return type(error) is redis.ResponseError and "@user_script" in str(error)


def _replies(pipe: redis.client.Pipeline) -> list[int | redis.ResponseError]:
    """A pipeline of script calls: each one's integer reply, or its entry's fault."""
    replies: list[int | redis.ResponseError] = []
    for reply in pipe.execute(raise_on_error=False):
        if isinstance(reply, Exception):
            if not is_entry_fault(reply):
                raise reply
            replies.append(cast(redis.ResponseError, reply))
        else:
            replies.append(int(reply))
    return replies


def _claim_args(claim: Claim, token: str) -> list[Any]:
    return [
        claim.schedule_id,
        claim.due_ms,
        token,
        claim.version,
        "" if claim.next_slot_ms is None else claim.next_slot_ms,
        "" if claim.next_due_ms is None else claim.next_due_ms,
    ]
