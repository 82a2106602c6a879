"""Schedule documents for tests: valid ones to create, stored ones today's API would refuse, and
racing writers."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import redis
from redis.commands.core import Script

from sdp_core import keys
from sdp_core.replies import text

__all__ = ["rewrite_definition", "rival_writes_before", "schedule_doc"]


def rewrite_definition(client: redis.Redis, schedule_id: str, **changes: Any) -> None:
    """Change top-level fields of a stored schedule's definition behind the store's back.

    As an older release, a hand edit or a model tightened since could have left it: nothing
    is validated.  The entry is the store's layout (sdp_schedules.records): bookkeeping
    fields, "|", the definition's JSON; only the JSON changes.
    """
    bucket = keys.schedule_bucket(schedule_id)
    raw: Any = client.hget(bucket, schedule_id)
    head, _, definition = text(raw).partition("|")
    client.hset(bucket, schedule_id, f"{head}|{json.dumps(json.loads(definition) | changes)}")


def rival_writes_before(script: Script, write: Callable[[int], object]) -> Callable[..., Any]:
    """``script``, run each time just after another writer's ``write`` (numbered from 0)."""
    calls = iter(range(100))

    def call(**kwargs: Any) -> Any:
        write(next(calls))
        return script(**kwargs)

    return call


# `trigger` is Any, not a dict: callers splat mixed changes that may or may not name it.
def schedule_doc(name: str = "orders", trigger: Any = None, **changes: Any) -> dict[str, Any]:
    """A valid schedule document: a no-op task every 30 s, with `changes` on top."""
    return {
        "name": name,
        "task": "system.noop",
        "trigger": trigger or {"type": "interval", "every": 30},
        **changes,
    }
