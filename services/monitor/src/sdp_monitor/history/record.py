"""A task's history record: its fields in Redis, which state may replace which, unwritten changes.

Each task is one hash (`keys.monitor_task`) of text values: the event fields the router picks
(`stream.routing.TASK_EVENTS`) and an operator's marks, plus `SCORE_FIELD` and what RECORD
derives (`EXCEPTION_TYPE_FIELD` from `exception`, `TRIAGE_FIELD`). The Lua scripts take their
field lists and rank table from here (scripts.DEFINITIONS), so Python and Lua cannot disagree.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = [
    "EXCEPTION_TYPE_FIELD",
    "FIELDS",
    "INDEXED_FIELDS",
    "OTHER_RANK",
    "SCORE_FIELD",
    "STATE_FIELD",
    "STATE_RANKS",
    "SUMMARY_FIELDS",
    "TRIAGE_FIELD",
    "TRIAGE_SEP",
    "TRIAGE_STATES",
    "TRIAGE_TIME_FIELD",
    "UNKNOWN_EXCEPTION_TYPE",
    "Pending",
    "exception_type",
    "replaces",
    "state_rank",
]

# When the task was first seen (epoch ms): its score in every index, set once.
SCORE_FIELD = "score"

# It changes only as `replaces` allows; every other field takes each new value.
STATE_FIELD = "state"
# The fields with an index per value (`keys.monitor_index`), so a page can filter on them.
INDEXED_FIELDS = (STATE_FIELD, "name", "worker", "queue")

# The class of the exception a task last raised, from its `exception` (`exception_type`): set
# by `scripts.record_args` whenever a change carries an exception, so writer and marks agree.
EXCEPTION_TYPE_FIELD = "exception_type"
UNKNOWN_EXCEPTION_TYPE = "unknown"

# A task that ended in one of TRIAGE_STATES is in one triage group, which RECORD keeps in this
# field and as an index (`keys.monitor_index(TRIAGE_FIELD, group)`) scored by when it ended
# (`finished_at`, else when first seen); `keys.MONITOR_TRIAGE_GROUPS` lists the groups.
# A group is "<state>:<exception type>:<task name>", its type empty unless the state is
# grouped by it (True here); a type never holds the separator, so the name may.
TRIAGE_FIELD = "triage_group"
TRIAGE_SEP = ":"
TRIAGE_STATES: Mapping[str, bool] = MappingProxyType({"FAILURE": True, "REVOKED": False})
TRIAGE_TIME_FIELD = "finished_at"

# Every field a record may hold besides the score: what the event router picks from each event
# type (`stream.routing.TASK_EVENTS`), what an operator's cancel or retry marks
# (`http.task_actions`: `retry_of` on the new task, `retried_as` on the one retried) and what
# RECORD derives.
FIELDS = (
    *INDEXED_FIELDS,
    "args",
    "kwargs",
    "retries",
    "eta",
    "expires",
    "root_id",
    "parent_id",
    "sent_at",
    "received_at",
    "started_at",
    "finished_at",
    "result",
    "runtime",
    "exception",
    "traceback",
    "terminated",
    "signum",
    "requeue",
    "retry_of",
    "retried_as",
    EXCEPTION_TYPE_FIELD,
    TRIAGE_FIELD,
)

# What a page of the task list reads of each record.
SUMMARY_FIELDS = (
    "name",
    "state",
    "worker",
    "queue",
    "retries",
    "sent_at",
    "received_at",
    "started_at",
    "finished_at",
    "runtime",
)

# Sent < held by a worker (every state not named) < finished. A task's furthest state wins, so
# an event that arrives late (the API's task-sent after the worker's task-succeeded) never turns
# a finished task back into a running one: in the history and in the SSE feed's batches.
STATE_RANKS: Mapping[str, int] = MappingProxyType(
    {"PENDING": 0, "SUCCESS": 2, "FAILURE": 2, "REVOKED": 2}
)
OTHER_RANK = 1


# A class name, perhaps dotted, then its arguments' parenthesis or nothing: Celery's repr.
_EXCEPTION_CLASS = re.compile(r"\s*([^\W\d][\w.]*)\s*(?:\(|$)")


def exception_type(exception: str) -> str:
    """The class in Celery's repr of an exception: "ValueError('boom')" -> "ValueError".

    `UNKNOWN_EXCEPTION_TYPE` when the text does not start like a repr (a custom `__repr__`).
    """
    match = _EXCEPTION_CLASS.match(exception)
    return match.group(1) if match else UNKNOWN_EXCEPTION_TYPE


def state_rank(state: str) -> int:
    return STATE_RANKS.get(state, OTHER_RANK)


def replaces(state: str | None, current: str | None) -> bool:
    """Whether a change to `state` replaces `current`: equal or higher rank, as RECORD decides."""
    return state is not None and (current is None or state_rank(state) >= state_rank(current))


@dataclass(slots=True)
class Pending:
    """A task's changes not written yet."""

    first_ms: int
    state: str | None
    fields: dict[str, str] = field(default_factory=dict)
    # When this process first buffered it (the writer's monotonic clock), for the hold.
    since: float = 0.0
