"""The upgrade of broker data written with the old priority separator, on real Redis."""

from __future__ import annotations

import json
import sys

import pytest
import redis
from celery import Celery

from sdp_core import keys
from sdp_core.celery_config import make_celery
from sdp_core.queues import Queue, TaskName
from sdp_core.replies import text
from sdp_core.settings import CommonSettings
from sdp_core.upgrade import Upgraded, upgrade_broker
from sdp_testing.processes import running_worker, spawn, wait_until, worker_env
from sdp_testing.redis_server import free_port

SYSTEM = Queue.system.value


def legacy_app(redis_url: str) -> Celery:
    """A sender configured as the platform was before it took kombu's separator."""
    app = make_celery("test_legacy", CommonSettings(redis_url=redis_url))
    options = {**app.conf.broker_transport_options, "sep": keys.LEGACY_PRIORITY_SEP}
    app.conf.broker_transport_options = options
    return app


def send_legacy(redis_url: str, priorities: list[int]) -> list[str]:
    app = legacy_app(redis_url)
    try:
        return [app.send_task(TaskName.system_noop.value, priority=p).id for p in priorities]
    finally:
        app.close()


def pop_order(client: redis.Redis, key: str) -> list[str]:
    """Task ids in the order kombu pops them: from the right."""
    return [json.loads(raw)["headers"]["id"] for raw in reversed(client.lrange(key, 0, -1))]


def unreadable_members(client: redis.Redis) -> list[bytes | str]:
    return [
        member
        for table in client.scan_iter(match=keys.KOMBU_BINDING_MATCH)
        for member in client.smembers(table)
        if keys.binding_queue(text(member)) is None
    ]


def test_legacy_messages_move_in_order_and_legacy_bindings_go(
    redis_url: str, redis_client: redis.Redis
) -> None:
    legacy = send_legacy(redis_url, [5, 5, 0, 9, 5])
    current = make_celery("test_current", CommonSettings(redis_url=redis_url))
    try:
        newer = current.send_task(TaskName.system_noop.value, priority=5).id
    finally:
        current.close()
    # Written here rather than left to the send: kombu declares a queue once per pooled
    # connection, and this process's pool may have declared it in an earlier test.
    readable = keys.PRIORITY_SEP.join([SYSTEM, "", SYSTEM])
    redis_client.sadd(keys.KOMBU_BINDING_PREFIX + SYSTEM, readable)
    legacy_keys = keys.queue_keys(SYSTEM, sep=keys.LEGACY_PRIORITY_SEP)
    assert redis_client.exists(legacy_keys[5], legacy_keys[9]) == 2
    assert unreadable_members(redis_client)

    assert upgrade_broker(redis_client) == Upgraded(messages_moved=4, bindings_removed=1)

    lists = keys.queue_keys(SYSTEM)
    assert not redis_client.exists(*legacy_keys[1:])
    # The legacy messages were sent first, so they are still served first.
    assert pop_order(redis_client, lists[5]) == [legacy[0], legacy[1], legacy[4], newer]
    assert pop_order(redis_client, lists[0]) == [legacy[2]]
    assert pop_order(redis_client, lists[9]) == [legacy[3]]
    assert unreadable_members(redis_client) == []
    assert redis_client.smembers(keys.KOMBU_BINDING_PREFIX + SYSTEM) == {readable.encode()}
    assert upgrade_broker(redis_client) == Upgraded(0, 0)


def test_a_starting_worker_upgrades_and_runs_what_the_old_version_queued(redis_url: str) -> None:
    sent = send_legacy(redis_url, list(range(10)))
    results = make_celery("test_results", CommonSettings(redis_url=redis_url))
    try:
        with running_worker(redis_url, concurrency=1, queues=SYSTEM) as worker:
            for task_id in sent:
                assert results.AsyncResult(task_id).get(timeout=60) is None
            assert "ValueError" not in worker.log()
    finally:
        results.close()


@pytest.mark.parametrize(
    ("module", "env"),
    [
        ("sdp_api", {"SDP_API_PORT": "port"}),
        ("sdp_monitor", {"SDP_MONITOR_PORT": "port"}),
        ("sdp_beat", {"SDP_BEAT_NODE_NAME": "test-upgrade"}),
    ],
)
def test_every_service_upgrades_at_start(
    redis_url: str, redis_client: redis.Redis, jwt_secret: str, module: str, env: dict[str, str]
) -> None:
    (sent,) = send_legacy(redis_url, [5])
    legacy_list = keys.queue_keys(SYSTEM, sep=keys.LEGACY_PRIORITY_SEP)[5]
    settings = worker_env(
        redis_url,
        SDP_JWT_SECRET=jwt_secret,
        **{name: str(free_port()) if value == "port" else value for name, value in env.items()},
    )
    with spawn([sys.executable, "-m", module], settings, name=module) as service:

        def upgraded() -> bool:
            assert service.alive(), service.log()[-4000:]
            return not redis_client.exists(legacy_list) and not unreadable_members(redis_client)

        wait_until(upgraded, 60, f"{module} to upgrade the broker")
    assert sent in pop_order(redis_client, keys.queue_keys(SYSTEM)[5])
