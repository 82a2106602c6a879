"""Schedule definitions, as the API keeps them: create, read, page, replace, pause, delete.

Every write is one Lua script (sdp_schedules.scripts) that also publishes the schedule id on
``SCHEDULE_CHANGES``, so a scheduler sleeping until its next due time wakes up for it.  Reads
that decide a write carry the version they saw; a write that finds a newer version is retried
on fresh data.  What schedulers do with the definitions is sdp_schedules.firing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Unpack

import redis

from sdp_core import keys
from sdp_core.replies import text
from sdp_schedules import scripts
from sdp_schedules.entries import (
    SCAN_CHUNK,
    EntryOptions,
    StoredEntries,
    cheap_match,
    id_of,
    name_of,
    new_id,
    read_member,
)
from sdp_schedules.errors import (
    ScheduleChanged,
    ScheduleConflict,
    ScheduleInvalid,
    ScheduleNotFound,
    ScheduleUndecodable,
)
from sdp_schedules.model import OnceTrigger, ScheduleSpec, parse_spec
from sdp_schedules.records import (
    Schedule,
    ScheduleState,
    Undecodable,
    read_schedule,
    spec_json,
)
from sdp_schedules.scripts import WriteCode
from sdp_schedules.timing import timetable, to_ms

__all__ = ["SCAN_BUDGET", "Counts", "Page", "ScheduleDefinitions"]

_RETRIES = 8
# A filtered page reads the names index SCAN_CHUNK at a time, and at most the budget per call.
SCAN_BUDGET = 2_000


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


class ScheduleDefinitions(StoredEntries):
    def __init__(self, client: redis.Redis, **options: Unpack[EntryOptions]) -> None:
        super().__init__(client, **options)
        self._put = client.register_script(scripts.PUT)
        self._delete = client.register_script(scripts.DELETE)
        self._create_many = client.register_script(scripts.CREATE_MANY)

    def create(
        self, document: Mapping[str, Any] | ScheduleSpec, *, static: bool = False
    ) -> Schedule:
        spec = parse_spec(document)
        now = self.clock()
        _refuse_past(spec, now)
        slot, state, due = self._first(spec, now)
        for _ in range(_RETRIES):
            schedule_id = new_id()
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
                batch = [(new_id(), s) for s in specs[start : start + chunk]]
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
                return dataclasses.replace(found, name=name_of(text(member[0])))
        return found

    def find(self, name: str) -> Schedule | None:
        members = self.client.zrangebylex(
            keys.SCHEDULE_NAMES, f"[{name}/".encode(), f"[{name}/".encode() + b"\xff", 0, 1
        )
        if not members:
            return None
        try:
            return self.get(id_of(text(members[0])))
        except ScheduleNotFound:
            return None

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
            loaded = [read_member(m, raw) for m, raw in self._indexed(shown) if raw is not None]
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
                if raw is None or not cheap_match(raw, state, task, queue):
                    continue
                found = read_member(member, raw)
                if _matches(found, state, task, queue):
                    matched.append(found)
                    if len(matched) == limit:
                        return Page(matched, member)
        return Page(matched, low[1:].decode())

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

    def counts(self) -> Counts:
        pipe = self.client.pipeline(transaction=False)
        pipe.zcard(keys.SCHEDULE_DUE)
        pipe.zcard(keys.SCHEDULE_PAUSED)
        pipe.scard(keys.SCHEDULE_SET_ASIDE)
        pipe.zcard(keys.SCHEDULE_NAMES)
        active, paused, aside, total = pipe.execute()
        return Counts(active, paused, max(0, total - active - paused - aside), aside)

    def static_ids(self) -> list[str]:
        """Schedules seeded from beat's configuration."""
        return sorted(text(i) for i in self.client.smembers(keys.SCHEDULE_STATIC))


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


def _matches(
    found: Schedule | Undecodable,
    state: ScheduleState | None,
    task: str | None,
    queue: str | None,
) -> bool:
    """A filter checked on a decoded entry, once cheap_match let it through."""
    if isinstance(found, Undecodable):
        return state in (None, ScheduleState.set_aside) and task is None and queue is None
    return state in (None, found.state)
