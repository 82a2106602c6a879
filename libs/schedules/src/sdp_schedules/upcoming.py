"""The fires of every active schedule in a window, in time order, a page at a time.

A fire is when beat sends a slot: a schedule's next fire at its due time (the score in the
due set, ``keys.SCHEDULE_DUE``: its slot plus the jitter drawn for it), each later one at its
slot (its jitter is drawn when it falls due).  So no fire of a schedule comes before its due
time, and the due set, which orders schedules by it, bounds a page: of the schedules due at or
after the page's start, the first ``limit + 1`` fire at least that often by the last one's due
time, and no other fires before it.  A page merges (heapq) the timetables of just those, plus
the schedules due before the start, which may fire in it again: each of those is projected
forward from the start on its own timetable.  Reads: ``limit + 1`` entries and one per
schedule due before the start, at most ``BEHIND_BUDGET`` of them (more raises
``UpcomingTooCostly``: a window far ahead of now, or a cursor deep into a busy one).

Fires at the same time are ordered by schedule id; a page's cursor is its last fire's time and
schedule id, so pages neither repeat nor miss a fire however many share a time.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

from sdp_core import keys
from sdp_core.replies import text
from sdp_schedules.entries import StoredEntries
from sdp_schedules.records import Schedule, ScheduleState
from sdp_schedules.timing import Timetable, timetable

__all__ = ["BEHIND_BUDGET", "Fire", "FirePage", "Position", "UpcomingTooCostly", "upcoming"]

# How many schedules due before a page's start one page projects forward, at most.
BEHIND_BUDGET = 10_000


@dataclass(frozen=True, order=True, slots=True)
class Position:
    """A fire's place in the order: its time (epoch ms), then its schedule's id."""

    at_ms: int
    schedule_id: str

    def __str__(self) -> str:
        return f"{self.at_ms}-{self.schedule_id}"

    @classmethod
    def parse(cls, cursor: str) -> Position:
        """A position from its text (``str``); ValueError when it is none."""
        at, _, schedule_id = cursor.partition("-")
        if not at.isdigit() or not schedule_id:
            raise ValueError(f"{cursor!r} is no cursor of this listing")
        return cls(int(at), schedule_id)


@dataclass(frozen=True, slots=True)
class Fire:
    at_ms: int
    schedule_id: str
    name: str
    task: str


@dataclass(frozen=True, slots=True)
class FirePage:
    items: list[Fire]
    next_cursor: str | None


class UpcomingTooCostly(ValueError):
    """More schedules fall due before a page's start than one page projects forward."""

    def __init__(self, budget: int) -> None:
        super().__init__(
            f"more than {budget:,} active schedules fall due before the page's start, and each "
            "would be projected forward: start the window earlier"
        )
        self.budget = budget


def upcoming(
    store: StoredEntries, since_ms: int, until_ms: int, limit: int, after: Position | None = None
) -> FirePage:
    """Fires at or after ``since_ms`` (and after ``after``, a cursor) up to ``until_ms``."""
    # Position(since, "") is just before every fire at `since`: no schedule id is empty.
    start = Position(since_ms, "") if after is None else max(Position(since_ms, ""), after)
    pipe = store.client.pipeline(transaction=False)
    pipe.zrangebyscore(
        keys.SCHEDULE_DUE, "-inf", start.at_ms, start=0, num=BEHIND_BUDGET + 1, withscores=True
    )
    pipe.zrangebyscore(
        keys.SCHEDULE_DUE, f"({start.at_ms}", until_ms, start=0, num=limit + 1, withscores=True
    )
    behind, ahead = (
        [Position(int(score), text(member)) for member, score in rows] for rows in pipe.execute()
    )
    if len(behind) > BEHIND_BUDGET:
        raise UpcomingTooCostly(BEHIND_BUDGET)
    due = behind + ahead
    heap: list[tuple[int, str, int]] = []
    tables: list[tuple[Timetable, Schedule]] = []
    for position, found in zip(due, store.load([p.schedule_id for p in due]), strict=True):
        if not isinstance(found, Schedule) or found.state is not ScheduleState.active:
            continue  # deleted, paused or set aside since the due set was read, or undecodable
        table = timetable(found.spec, found.created_ms)
        first: int | None = position.at_ms
        if position <= start:
            # Its due fire is not in this page (at the start: it was the cursor's); its slots
            # after the start may be (one at the start's time only if its id comes after).
            tied = position.schedule_id > start.schedule_id
            first = table.next_after(start.at_ms - 1 if tied else start.at_ms)
        if first is not None and first <= until_ms:
            heap.append((first, found.id, len(tables)))
            tables.append((table, found))
    heapq.heapify(heap)
    items: list[Fire] = []
    while heap and len(items) < limit:
        at_ms, schedule_id, index = heapq.heappop(heap)
        table, schedule = tables[index]
        items.append(Fire(at_ms, schedule_id, schedule.name, schedule.spec.task.value))
        following = table.next_after(at_ms)
        if following is not None and following <= until_ms:
            heapq.heappush(heap, (following, schedule_id, index))
    last = items[-1] if items else None
    cursor = str(Position(last.at_ms, last.schedule_id)) if heap and last else None
    return FirePage(items, cursor)
