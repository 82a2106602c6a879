"""System jobs: a no-op and a sleep for checks, and the cleanup of what Redis would keep forever."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import redis
from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt

from sdp_core import keys
from sdp_jobs.context import JobContext

__all__ = [
    "RULES",
    "CleanupParams",
    "NoopParams",
    "Rule",
    "SleepParams",
    "Sweep",
    "cleanup",
    "noop",
    "sleep",
]

Key = bytes | str


class NoopParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def noop(ctx: JobContext, params: NoopParams) -> None:
    """Do nothing; proves a worker takes tasks from a queue."""


class SleepParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    seconds: StrictFloat = Field(ge=0, le=3600, description="0 to 3,600.", examples=[2.0])


def sleep(ctx: JobContext, params: SleepParams) -> dict[str, float]:
    """Sleep for a number of seconds; for time-limit, revoke and load checks."""
    time.sleep(params.seconds)
    return {"slept_s": params.seconds}


class CleanupParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Ten years is past any retention and keeps now - older_than_s a date.
    older_than_s: StrictInt | None = Field(
        None,
        ge=0,
        le=3_650 * 86_400,
        description=(
            "Delete results finished longer ago than this, 0 to 315,360,000 s (ten years); "
            "the result retention (SDP_RESULT_EXPIRES_S) when left out."
        ),
    )
    batch_size: StrictInt = Field(
        500, ge=1, le=10_000, description="Keys read per SCAN round trip: 1 to 10,000."
    )


@dataclass(frozen=True, slots=True)
class Sweep:
    """What one cleanup run hands every rule."""

    redis: redis.Redis
    cutoff: datetime
    ttl_s: int


@dataclass(frozen=True, slots=True)
class Rule:
    """One kind of key to clean: the SCAN pattern and type, and what to do with a batch of them."""

    match: str
    type: str
    apply: Callable[[Sweep, list[Key]], Counter[str]]


def _persistent(client: redis.Redis, batch: list[Key]) -> list[Key]:
    """The keys in the batch that have no TTL (TTL -1; -2 means already gone)."""
    with client.pipeline(transaction=False) as pipe:
        for key in batch:
            pipe.ttl(key)
        ttls = pipe.execute()
    return [key for key, ttl in zip(batch, ttls, strict=True) if ttl == -1]


def _finished_before(raw: bytes | str | None, cutoff: datetime) -> bool:
    try:
        done = datetime.fromisoformat(json.loads(raw or "")["date_done"])
    except (ValueError, TypeError, KeyError):
        # Not done (a STARTED result has no date) or not a result we can read: keep it.
        return False
    # Celery before 5.3 wrote a naive UTC time.
    return (done if done.tzinfo else done.replace(tzinfo=UTC)) < cutoff


def _delete_old_results(sweep: Sweep, batch: list[Key]) -> Counter[str]:
    persistent = _persistent(sweep.redis, batch)
    if not persistent:
        return Counter()
    with sweep.redis.pipeline(transaction=False) as pipe:
        for key in persistent:
            pipe.get(key)
        values = pipe.execute()
    old = [
        key
        for key, raw in zip(persistent, values, strict=True)
        if _finished_before(raw, sweep.cutoff)
    ]
    return Counter(results_deleted=sweep.redis.delete(*old) if old else 0)


def _restore_ttl(sweep: Sweep, batch: list[Key]) -> Counter[str]:
    persistent = _persistent(sweep.redis, batch)
    with sweep.redis.pipeline(transaction=False) as pipe:
        for key in persistent:
            pipe.expire(key, sweep.ttl_s)
        expired = pipe.execute()
    return Counter(keys_expired=sum(bool(done) for done in expired))


RULES: tuple[Rule, ...] = (
    # Results stored while result_expires was off, or by a client that set no expiry.
    Rule(keys.CELERY_RESULT_MATCH, "string", _delete_old_results),
    # Payloads and outputs always get a TTL; one without (a PERSIST, a restore) would stay forever.
    Rule(keys.PAYLOAD_MATCH, "hash", _restore_ttl),
    Rule(keys.ETL_OUTPUT_MATCH, "string", _restore_ttl),
)


def cleanup(ctx: JobContext, params: CleanupParams) -> dict[str, int]:
    """Delete expired results that Redis would keep forever and give lost TTLs back."""
    older_than_s = ctx.result_retention_s if params.older_than_s is None else params.older_than_s
    sweep = Sweep(ctx.redis, datetime.now(UTC) - timedelta(seconds=older_than_s), ctx.payload_ttl_s)
    counts: Counter[str] = Counter(results_deleted=0, keys_expired=0, scanned=0)
    for rule in RULES:
        for batch in _batches(ctx.redis, rule, params.batch_size):
            counts["scanned"] += len(batch)
            counts.update(rule.apply(sweep, batch))
    return dict(counts)


def _batches(client: redis.Redis, rule: Rule, count: int) -> Iterator[list[Key]]:
    cursor, batch = client.scan(0, match=rule.match, count=count, _type=rule.type)
    while True:
        if batch:
            yield batch
        if cursor == 0:
            return
        cursor, batch = client.scan(cursor, match=rule.match, count=count, _type=rule.type)
