"""System jobs: noop, sleep and cleanup on a real Redis."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

from sdp_core import keys
from sdp_jobs.catalogue import run_job
from sdp_jobs.context import JobContext


def store_result(
    ctx: JobContext,
    task_id: str,
    age_s: float | None,
    *,
    ttl_s: int | None = None,
    naive: bool = False,
) -> str:
    done = None
    if age_s is not None:
        at = datetime.now(UTC) - timedelta(seconds=age_s)
        done = (at.replace(tzinfo=None) if naive else at).isoformat()
    key = keys.celery_result(task_id)
    meta = {"status": "SUCCESS" if done else "STARTED", "result": None, "date_done": done}
    ctx.redis.set(key, json.dumps(meta), ex=ttl_s)
    return key


def test_noop_returns_none(ctx: JobContext) -> None:
    assert run_job(ctx, "system.noop") is None


def test_sleep_sleeps(ctx: JobContext) -> None:
    started = time.monotonic()

    assert run_job(ctx, "system.sleep", [0.05]) == {"slept_s": 0.05}
    assert time.monotonic() - started >= 0.05


def test_cleanup_deletes_only_old_results_without_ttl(ctx: JobContext) -> None:
    old = store_result(ctx, "old", age_s=7200)
    old_naive = store_result(ctx, "old-naive", age_s=7200, naive=True)
    fresh = store_result(ctx, "fresh", age_s=60)
    old_with_ttl = store_result(ctx, "old-ttl", age_s=7200, ttl_s=300)
    started = store_result(ctx, "started", age_s=None)
    ctx.redis.set(keys.celery_result("garbled"), "not json")

    counts = run_job(ctx, "system.cleanup")

    assert counts == {"results_deleted": 2, "keys_expired": 0, "scanned": 6}
    assert not ctx.redis.exists(old, old_naive)
    assert ctx.redis.exists(fresh, old_with_ttl, started, keys.celery_result("garbled")) == 4


def test_cleanup_older_than_overrides_retention(ctx: JobContext) -> None:
    store_result(ctx, "fresh", age_s=60)

    assert run_job(ctx, "system.cleanup", kwargs={"older_than_s": 30})["results_deleted"] == 1


def test_cleanup_gives_lost_ttls_back(ctx: JobContext) -> None:
    ctx.redis.hset(keys.payload("lost"), "body", b"x")
    ctx.redis.hset(keys.payload("kept"), "body", b"x")
    ctx.redis.expire(keys.payload("kept"), 30)
    ctx.redis.set(keys.etl_output("lost"), "[]")
    ctx.redis.set("unrelated", "stays")

    counts = run_job(ctx, "system.cleanup")

    assert counts == {"results_deleted": 0, "keys_expired": 2, "scanned": 3}
    assert 0 < ctx.redis.ttl(keys.payload("lost")) <= ctx.payload_ttl_s
    assert 0 < ctx.redis.ttl(keys.etl_output("lost")) <= ctx.payload_ttl_s
    assert ctx.redis.ttl(keys.payload("kept")) <= 30
    assert ctx.redis.ttl("unrelated") == -1


def test_cleanup_works_through_many_batches(ctx: JobContext) -> None:
    for index in range(60):
        store_result(ctx, f"old-{index}", age_s=7200)
    for index in range(15):
        store_result(ctx, f"fresh-{index}", age_s=10)

    counts = run_job(ctx, "system.cleanup", kwargs={"batch_size": 7})

    assert counts == {"results_deleted": 60, "keys_expired": 0, "scanned": 75}
    assert ctx.redis.dbsize() == 15
