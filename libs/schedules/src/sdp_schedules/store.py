"""The Redis schedule store: entries in bucketed hashes, a ZSET of due times, capped run history.

Every write is one Lua script that also publishes the schedule id on ``SCHEDULE_CHANGES``, so
a scheduler sleeping until its next due time wakes up for it.  Reads that decide a write carry
the version they saw; a write that finds a newer version is retried on fresh data.
"""

from __future__ import annotations

import dataclasses
import json
import random
import secrets
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, cast

import redis

from sdp_core import keys
from sdp_core.queues import queue_for
from sdp_core.replies import text
from sdp_schedules import scripts
from sdp_schedules.errors import (
    ScheduleChanged,
    ScheduleConflict,
    ScheduleInvalid,
    ScheduleNotFound,
    ScheduleUndecodable,
)
from sdp_schedules.model import OnceTrigger, ScheduleSpec, parse_spec
from sdp_schedules.records import (
    REASON_MAX_CHARS,
    Run,
    Schedule,
    ScheduleState,
    Undecodable,
    decode_entry,
    escape_field,
    read_schedule,
    spec_json,
)
from sdp_schedules.scripts import WriteCode
from sdp_schedules.timing import timetable, to_ms

__all__ = ["Claim", "Counts", "Firing", "Page", "ScheduleStore", "is_entry_fault", "now_ms"]

_RETRIES = 8
_ID_BYTES = 8
# A filtered page reads the names index this many at a time, and at most the budget per call.
SCAN_CHUNK = 500
SCAN_BUDGET = 2_000


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True)
class Counts:
    active: int
    paused: int
    finished: int
    set_aside: int = 0


@dataclass(frozen=True, slots=True)
class Page:
    items: list[Schedule | Undecodable]
    next_cursor: str | None


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


class ScheduleStore:
    def __init__(
        self,
        client: redis.Redis,
        *,
        runs_kept: int = 100,
        clock: Callable[[], int] = now_ms,
        rng: random.Random | None = None,
    ) -> None:
        self.client = client
        self.runs_kept = runs_kept
        self.clock = clock
        self._rng = rng or random.Random()
        self._put = client.register_script(scripts.PUT)
        self._delete = client.register_script(scripts.DELETE)
        self._claim = client.register_script(scripts.CLAIM)
        self._unclaim = client.register_script(scripts.UNCLAIM)
        self._advance = client.register_script(scripts.ADVANCE)
        self._peek = client.register_script(scripts.PEEK)
        self._create_many = client.register_script(scripts.CREATE_MANY)
        self._fire = client.register_script(scripts.FIRE)
        self._record = client.register_script(scripts.RECORD)
        self._set_aside = client.register_script(scripts.SET_ASIDE)

    # -- definitions -------------------------------------------------------------------------

    def create(
        self, document: Mapping[str, Any] | ScheduleSpec, *, static: bool = False
    ) -> Schedule:
        spec = parse_spec(document)
        now = self.clock()
        _refuse_past(spec, now)
        slot, state, due = self._first(spec, now)
        for _ in range(_RETRIES):
            schedule_id = secrets.token_hex(_ID_BYTES)
            result = self._write(
                schedule_id,
                expected_version="",
                old_name="",
                new_name=spec.name,
                state=state,
                due=due,
                fields=_new_fields(spec, state, slot, now, static=static),
            )
            if result != WriteCode.ID_EXISTS:
                return self.get(schedule_id)
        raise RuntimeError("could not draw an unused schedule id")  # pragma: no cover

    def create_many(
        self, documents: Iterable[Mapping[str, Any] | ScheduleSpec], *, chunk: int = 1_000
    ) -> list[str]:
        """Create many schedules, ``chunk`` per script call; their ids.

        Every definition is validated before anything is written.  A name already in use
        is not written; ScheduleConflict names the first such after the rest are stored.
        """
        now = self.clock()
        specs = []
        for index, document in enumerate(documents):
            try:
                specs.append(parse_spec(document))
                _refuse_past(specs[-1], now)
            except ScheduleInvalid as exc:
                fields = [(f"[{index}].{name}", reason) for name, reason in exc.fields]
                raise ScheduleInvalid(str(exc), fields) from None
        ids: list[str] = []
        taken: list[str] = []

        def write(batch: list[tuple[str, ScheduleSpec]], args: list[Any]) -> None:
            codes = self._create_many(
                keys=[
                    keys.SCHEDULE_NAMES,
                    keys.SCHEDULE_DUE,
                    keys.SCHEDULE_PAUSED,
                    keys.SCHEDULE_CHANGES,
                ],
                args=args,
            )
            for (schedule_id, spec), code in zip(batch, codes, strict=True):
                if int(code) == WriteCode.NAME_TAKEN:
                    taken.append(spec.name)
                elif int(code) == WriteCode.DONE:
                    ids.append(schedule_id)

        # Redis runs one chunk while this thread prepares the next.
        with ThreadPoolExecutor(max_workers=1) as writer:
            pending: Future[None] | None = None
            for start in range(0, len(specs), chunk):
                batch = [(secrets.token_hex(_ID_BYTES), s) for s in specs[start : start + chunk]]
                args: list[Any] = [now]
                for schedule_id, spec in batch:
                    slot, state, due = self._first(spec, now)
                    args += [
                        schedule_id,
                        keys.schedule_bucket(schedule_id),
                        spec.name,
                        due,
                        state.value,
                        slot or "",
                        spec_json(spec),
                    ]
                if pending is not None:
                    pending.result()
                pending = writer.submit(write, batch, args)
            if pending is not None:
                pending.result()
        if taken:
            raise ScheduleConflict(taken[0])
        return ids

    def get(self, schedule_id: str) -> Schedule:
        """A schedule; ScheduleUndecodable when its stored entry no longer decodes."""
        found = self.read(schedule_id)
        if isinstance(found, Undecodable):
            raise ScheduleUndecodable(found)
        return found

    def read(self, schedule_id: str) -> Schedule | Undecodable:
        """A schedule, or what can be read of one whose stored entry no longer decodes."""
        raw = self.client.hget(keys.schedule_bucket(schedule_id), schedule_id)
        if raw is None:
            raise ScheduleNotFound(schedule_id)
        found = read_schedule(schedule_id, raw)
        if isinstance(found, Undecodable) and found.name is None:
            # A definition that names nothing: the name it is indexed under, found by a scan
            # of the names index, which only such an entry needs.
            for member in self.client.zscan_iter(keys.SCHEDULE_NAMES, f"*/{schedule_id}"):
                return dataclasses.replace(found, name=_name_of(text(member[0])))
        return found

    def find(self, name: str) -> Schedule | None:
        members = self.client.zrangebylex(
            keys.SCHEDULE_NAMES, f"[{name}/".encode(), f"[{name}/".encode() + b"\xff", 0, 1
        )
        if not members:
            return None
        try:
            return self.get(text(members[0]).rsplit("/", 1)[1])
        except ScheduleNotFound:
            return None

    def load(self, schedule_ids: Sequence[str]) -> list[Schedule | Undecodable | None]:
        """Many schedules in one round trip (as read()); None for any deleted meanwhile."""
        return [
            None if raw is None else read_schedule(schedule_id, raw)
            for schedule_id, raw in zip(schedule_ids, self._entries(schedule_ids), strict=True)
        ]

    def _entries(self, schedule_ids: Sequence[str]) -> list[bytes | None]:
        pipe = self.client.pipeline(transaction=False)
        for schedule_id in schedule_ids:
            pipe.hget(keys.schedule_bucket(schedule_id), schedule_id)
        return cast(list[bytes | None], pipe.execute())

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

    def page(
        self,
        *,
        state: ScheduleState | None = None,
        task: str | None = None,
        queue: str | None = None,
        name_prefix: str = "",
        cursor: str | None = None,
        limit: int = 50,
    ) -> Page:
        """Schedules in name order, ``limit`` at a time; pass ``next_cursor`` back for more.

        With a filter, one call examines at most ``SCAN_BUDGET`` names, so it costs the same
        however rare the matches are: such a page may hold fewer than ``limit`` items, even
        none, and still have a ``next_cursor``.

        An entry that no longer decodes comes as Undecodable.  It counts as set aside, so
        only ``state=set_aside`` (or no filter) lists it; its task and queue are not known.
        """
        low = f"({cursor}".encode() if cursor else f"[{name_prefix}".encode()
        high = f"[{name_prefix}".encode() + b"\xff" if name_prefix else b"+"
        index = keys.SCHEDULE_NAMES
        paused = state is ScheduleState.paused
        if paused:
            # Paused schedules have a name index of their own: it is the filter.
            index, state = keys.SCHEDULE_PAUSED, None
        if state is None and task is None and queue is None:
            members = self._names(index, low, high, limit + 1)
            shown = members[:limit]
            loaded = [_read(m, raw) for m, raw in self._indexed(shown) if raw is not None]
            return Page(
                [s for s in loaded if not (paused and isinstance(s, Undecodable))],
                shown[-1] if len(members) > limit else None,
            )
        matched: list[Schedule | Undecodable] = []
        examined = 0
        while examined < SCAN_BUDGET:
            members = self._names(index, low, high, min(SCAN_CHUNK, SCAN_BUDGET - examined))
            if not members:
                return Page(matched, None)
            for member, raw in self._indexed(members):
                examined += 1
                low = f"({member}".encode()
                # Only a likely match pays for the model's validation.
                if raw is None or not _cheap_match(raw, state, task, queue):
                    continue
                found = _read(member, raw)
                if _matches(found, state, task, queue):
                    matched.append(found)
                    if len(matched) == limit:
                        return Page(matched, member)
        return Page(matched, low[1:].decode())

    def _names(self, index: str, low: bytes, high: bytes, count: int) -> list[str]:
        return [text(m) for m in self.client.zrangebylex(index, low, high, 0, count)]

    def _indexed(self, members: Sequence[str]) -> list[tuple[str, bytes | None]]:
        """Names-index members with their stored entries (None: deleted meanwhile)."""
        return list(zip(members, self._entries([_id_of(m) for m in members]), strict=True))

    def replace(self, schedule_id: str, document: Mapping[str, Any] | ScheduleSpec) -> Schedule:
        """Put a new definition in place; the next slot is recomputed if the timing changed.

        Like a new one, it may not end, or fire once, in the past.
        """
        spec = parse_spec(document)
        _refuse_past(spec, self.clock())
        return self._replace(schedule_id, spec)

    def _replace(self, schedule_id: str, spec: ScheduleSpec) -> Schedule:
        for _ in range(_RETRIES):
            current = self.read(schedule_id)
            now = self.clock()
            fields = {"spec": spec_json(spec), "updated": str(now)}
            # A paused, set-aside or undecodable schedule has no slot to keep: it takes the next
            # one after now.
            keep: ScheduleState | None = None
            if isinstance(current, Undecodable):
                # Nothing of the old definition is kept; the bookkeeping is written back whole,
                # as read (a field that no longer reads starts again).
                created = now if current.created_ms is None else current.created_ms
                fields |= {
                    "created": str(created),
                    "last": "" if current.last_run_ms is None else str(current.last_run_ms),
                    "runs": str(current.run_count),
                    "static": "1" if current.static else "",
                }
            else:
                created = current.created_ms
                stopped = current.state in {ScheduleState.paused, ScheduleState.set_aside}
                if spec.enabled and not stopped and _timing(spec) == _timing(current.spec):
                    keep = current.state
            if current.static and spec.name != current.name:
                raise ScheduleInvalid(
                    "invalid schedule: a static schedule's name comes from beat's configuration",
                    [("name", "cannot rename a static schedule")],
                )
            state: ScheduleState
            if keep is not None:
                # The slot and due time belong to whoever fires it; leave them as they are.
                state, due = keep, "keep"
            else:
                slot = timetable(spec, created).next_after(now) if spec.enabled else None
                state = _state(spec, slot)
                due = "" if slot is None else str(self.due_of(slot, spec.jitter_s))
                fields |= {"state": state.value, "slot": "" if slot is None else str(slot)}
            result = self._write(
                schedule_id,
                expected_version=str(current.version),
                old_name=current.name or "",
                new_name=spec.name,
                state=state,
                due=due,
                fields=fields,
            )
            if result != WriteCode.VERSION_MOVED:
                return self.get(schedule_id)
        raise ScheduleChanged(schedule_id, _RETRIES)

    def pause(self, schedule_id: str) -> Schedule:
        return self._set_enabled(schedule_id, enabled=False)

    def resume(self, schedule_id: str) -> Schedule:
        return self._set_enabled(schedule_id, enabled=True)

    def _set_enabled(self, schedule_id: str, *, enabled: bool) -> Schedule:
        current = self.get(schedule_id)
        # A set-aside schedule is enabled but not firing: resuming it is what brings it back.
        if current.spec.enabled == enabled and current.state is not ScheduleState.set_aside:
            return current
        # Not replace(): pausing or resuming a finished schedule, or one stored before a limit
        # it breaks, is no new definition.
        return self._replace(schedule_id, current.spec.model_copy(update={"enabled": enabled}))

    def delete(self, schedule_id: str) -> None:
        """Delete a schedule and its runs, even one whose stored entry no longer decodes."""
        for _ in range(_RETRIES):
            current = self.read(schedule_id)
            result = self._delete(
                keys=[
                    keys.schedule_bucket(schedule_id),
                    keys.SCHEDULE_NAMES,
                    keys.SCHEDULE_DUE,
                    keys.SCHEDULE_PAUSED,
                    keys.schedule_runs(schedule_id),
                    keys.schedule_inflight(schedule_id),
                    keys.SCHEDULE_CHANGES,
                    keys.SCHEDULE_STATIC,
                    keys.SCHEDULE_SET_ASIDE,
                ],
                args=[schedule_id, current.version, current.name or ""],
            )
            if result == WriteCode.NO_ENTRY:
                raise ScheduleNotFound(schedule_id)
            if result == WriteCode.DONE:
                return
        raise ScheduleChanged(schedule_id, _RETRIES)

    def _write(
        self,
        schedule_id: str,
        *,
        expected_version: str,
        old_name: str,
        new_name: str,
        state: ScheduleState,
        due: str,
        fields: dict[str, str],
    ) -> int:
        args = [
            schedule_id,
            expected_version,
            old_name,
            new_name,
            due,
            "1" if state is ScheduleState.paused else "0",
            "1" if fields.get("static") == "1" else "0",
        ]
        for name, value in fields.items():
            args += [name, value]
        result = int(
            self._put(
                keys=[
                    keys.schedule_bucket(schedule_id),
                    keys.SCHEDULE_NAMES,
                    keys.SCHEDULE_DUE,
                    keys.SCHEDULE_PAUSED,
                    keys.SCHEDULE_CHANGES,
                    keys.SCHEDULE_STATIC,
                    keys.SCHEDULE_SET_ASIDE,
                ],
                args=args,
            )
        )
        if result == WriteCode.NAME_TAKEN:
            raise ScheduleConflict(new_name)
        if result == WriteCode.NO_ENTRY:
            raise ScheduleNotFound(schedule_id)
        return result

    def _first(self, spec: ScheduleSpec, now: int) -> tuple[int | None, ScheduleState, str]:
        """A new schedule's first slot, state and due time ("" when not due)."""
        slot = timetable(spec, now).next_after(now) if spec.enabled else None
        due = "" if slot is None else str(self.due_of(slot, spec.jitter_s))
        return slot, _state(spec, slot), due

    def due_of(self, slot_ms: int, jitter_s: float) -> int:
        """When a slot is sent: the slot itself, or a random moment up to jitter_s after it."""
        return slot_ms + (int(self._rng.uniform(0, jitter_s) * 1000) if jitter_s else 0)

    # -- what schedulers read and write ------------------------------------------------------

    def counts(self) -> Counts:
        pipe = self.client.pipeline(transaction=False)
        pipe.zcard(keys.SCHEDULE_DUE)
        pipe.zcard(keys.SCHEDULE_PAUSED)
        pipe.scard(keys.SCHEDULE_SET_ASIDE)
        pipe.zcard(keys.SCHEDULE_NAMES)
        active, paused, aside, total = pipe.execute()
        return Counts(active, paused, max(0, total - active - paused - aside), aside)

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

    def static_ids(self) -> list[str]:
        """Schedules seeded from beat's configuration."""
        return sorted(text(i) for i in self.client.smembers(keys.SCHEDULE_STATIC))

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
                if raw is not None and _cheap_match(raw, ScheduleState.active, None, None):
                    yield _read(member, raw)
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
        started: Iterable[tuple[str, int]] = (),
        finished: Iterable[str] = (),
        inflight_floor_ms: int = 0,
        client: redis.client.Pipeline | None = None,
    ) -> Any:
        """Append run records (oldest first), count sends and track task ids in flight."""
        args = [schedule_id, *self._record_args(runs, started, finished, inflight_floor_ms)]
        return self._record(
            keys=[
                keys.schedule_bucket(schedule_id),
                keys.schedule_runs(schedule_id),
                keys.schedule_inflight(schedule_id),
            ],
            args=args,
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


def _new_fields(
    spec: ScheduleSpec, state: ScheduleState, slot: int | None, now: int, *, static: bool
) -> dict[str, str]:
    return {
        "spec": spec_json(spec),
        "state": state.value,
        "slot": "" if slot is None else str(slot),
        "created": str(now),
        "updated": str(now),
        "static": "1" if static else "",
    }


def _refuse_past(spec: ScheduleSpec, now: int) -> None:
    """A definition that could never run: its one-off time or its end has passed."""
    fields = []
    if isinstance(spec.trigger, OnceTrigger) and to_ms(spec.trigger.at) <= now:
        fields.append(("trigger.once.at", "is in the past"))
    if spec.end_at is not None and to_ms(spec.end_at) <= now:
        fields.append(("end_at", "is in the past"))
    if fields:
        raise ScheduleInvalid.naming(fields)


def _state(spec: ScheduleSpec, slot: int | None) -> ScheduleState:
    if not spec.enabled:
        return ScheduleState.paused
    return ScheduleState.active if slot is not None else ScheduleState.finished


def _timing(spec: ScheduleSpec) -> tuple[Any, ...]:
    return (spec.trigger, spec.start_at, spec.end_at, spec.jitter_s)


def _id_of(member: str) -> str:
    """The id in a names-index member ``name/id``."""
    return member.rsplit("/", 1)[1]


def _name_of(member: str) -> str:
    """The name in a names-index member ``name/id``."""
    return member.rsplit("/", 1)[0]


def _read(member: str, raw: bytes) -> Schedule | Undecodable:
    """The entry of a names-index member; one that no longer decodes keeps the indexed name
    when its definition names nothing."""
    found = read_schedule(_id_of(member), raw)
    if isinstance(found, Undecodable) and found.name is None:
        return dataclasses.replace(found, name=_name_of(member))
    return found


def _cheap_match(
    raw: bytes, state: ScheduleState | None, task: str | None, queue: str | None
) -> bool:
    """A filter checked on the stored entry as stored: plain JSON, no model validation.

    Never false for a match.  What it lets through may still not match (any entry may turn
    out not to decode, and so count as set aside): _matches tells, once it is decoded.
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


def _matches(
    found: Schedule | Undecodable,
    state: ScheduleState | None,
    task: str | None,
    queue: str | None,
) -> bool:
    """A filter checked on a decoded entry, once _cheap_match let it through."""
    if isinstance(found, Undecodable):
        return state in (None, ScheduleState.set_aside) and task is None and queue is None
    return state in (None, found.state)
