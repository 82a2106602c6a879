"""A task's history record: its fields in Redis, which state may replace which, unwritten changes.

Each task is one hash (`keys.monitor_task`) of text values: the event fields the router picks
(`stream.routing.TASK_EVENTS`) and an operator's marks, plus `SCORE_FIELD`. The Lua scripts
take their field lists and rank table from here (scripts.DEFINITIONS), so Python and Lua
cannot disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = [
    "FIELDS",
    "INDEXED_FIELDS",
    "OTHER_RANK",
    "SCORE_FIELD",
    "STATE_FIELD",
    "STATE_RANKS",
    "SUMMARY_FIELDS",
    "Pending",
    "replaces",
    "state_rank",
]

# When the task was first seen (epoch ms): its score in every index, set once.
SCORE_FIELD = "score"

# It changes only as `replaces` allows; every other field takes each new value.
STATE_FIELD = "state"
# The fields with an index per value (`keys.monitor_index`), so a page can filter on them.
INDEXED_FIELDS = (STATE_FIELD, "name", "worker", "queue")

# Every field a record may hold besides the score: what the event router picks from each event
# type (`stream.routing.TASK_EVENTS`) and what an operator's cancel or retry marks
# (`http.task_actions`).
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
