"""The bulk retry: the tasks a filter matches, each sent again once by `task_actions.retry_task`."""

from __future__ import annotations

from dataclasses import dataclass, field

from celery import Celery

from sdp_http.errors import Conflict, NotFound
from sdp_monitor.history.store import HistoryStore
from sdp_monitor.history.triage import Triage, TriageFilter, Window
from sdp_monitor.http.schemas import RetriedTask, SkippedTask
from sdp_monitor.http.task_actions import find_task, retry_task

__all__ = ["RETRY_MAX", "Plan", "plan", "run"]

# Most tasks one call sends again.
RETRY_MAX = 1_000
# Most matches one call reads to find those not retried yet, so a call costs the same however
# many were retried before.
EXAMINE_MAX = 10 * RETRY_MAX


@dataclass(slots=True)
class Plan:
    matched: int
    # The earliest ended first, none retried through the monitor before.
    chosen: list[str] = field(default_factory=list)
    skipped: list[SkippedTask] = field(default_factory=list)


async def plan(triage: Triage, where: TriageFilter, window: Window) -> Plan:
    """What a call sends again: the earliest matches not retried before, up to RETRY_MAX."""
    groups = await triage.groups(where)
    result = Plan(await triage.count(groups, window))
    candidates = await triage.oldest(groups, window, EXAMINE_MAX)
    for start in range(0, len(candidates), RETRY_MAX):
        chunk = candidates[start : start + RETRY_MAX]
        for task_id, retried_as in zip(chunk, await triage.retried_as(chunk), strict=True):
            if retried_as is not None:
                result.skipped.append(SkippedTask(id=task_id, reason=f"retried as {retried_as}"))
            elif len(result.chosen) < RETRY_MAX:
                result.chosen.append(task_id)
        if len(result.chosen) == RETRY_MAX:
            break
    return result


async def run(
    chosen: list[str], history: HistoryStore, celery: Celery, text_cap: int
) -> tuple[list[RetriedTask], list[SkippedTask]]:
    """Send each chosen task again, once; one that is no longer retryable is skipped, saying why."""
    retried: list[RetriedTask] = []
    skipped: list[SkippedTask] = []
    # A task is in one group, so in `chosen` once; this holds if the indexes moved meanwhile.
    for task_id in dict.fromkeys(chosen):
        try:
            task = await find_task(history, celery, task_id, text_cap)
            if task.retried_as is not None:
                # Another call retried it since the plan was read.
                raise Conflict(f"retried as {task.retried_as}")
            accepted = await retry_task(task, celery, history)
        except (Conflict, NotFound) as exc:
            skipped.append(SkippedTask(id=task_id, reason=exc.message))
        else:
            retried.append(RetriedTask(id=task_id, new_id=accepted.id))
    return retried, skipped
