"""What a scheduler does with a due schedule: which slots to send now, which were missed.

The misfire rule, decided on the oldest pending slot:
- no later than ``grace_s``: not a misfire; every pending slot is sent (a short failover loses
  nothing);
- later than that (the scheduler was down): the policy decides for the whole backlog --
  ``skip`` sends none, ``run_once`` sends one (for the latest slot), ``run_all`` sends each.
"""

from __future__ import annotations

from dataclasses import dataclass

from sdp_schedules.model import Misfire
from sdp_schedules.timing import Timetable, slots_until

__all__ = ["BACKLOG_CAP", "Plan", "plan_firing"]

# How many missed slots are enumerated when the policy does not send them all; a longer
# backlog is counted as this many and the schedule resumes after now.
BACKLOG_CAP = 10_000


@dataclass(frozen=True, slots=True)
class Plan:
    sends: list[int]
    missed: list[int]
    next_slot: int | None


def plan_firing(
    table: Timetable, misfire: Misfire, slot_ms: int, now_ms: int, *, limit: int
) -> Plan:
    """The plan for a schedule whose next slot ``slot_ms`` is at or before ``now_ms``.

    At most ``limit`` slots are sent at once; the rest stay due for the next tick.
    """
    on_time = now_ms - slot_ms <= misfire.grace_s * 1000
    if on_time or misfire.policy == "run_all":
        pending = slots_until(table, slot_ms, now_ms, limit + 1)
        if len(pending) > limit:
            return Plan(pending[:limit], [], pending[limit])
        return Plan(pending, [], table.next_after(pending[-1]))
    pending = slots_until(table, slot_ms, now_ms, BACKLOG_CAP)
    following = table.next_after(pending[-1] if len(pending) < BACKLOG_CAP else now_ms)
    if misfire.policy == "run_once":
        return Plan(pending[-1:], pending[:-1], following)
    return Plan([], pending, following)
