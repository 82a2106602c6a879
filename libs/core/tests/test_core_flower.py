from __future__ import annotations

import secrets
import sys

import httpx
import pytest
import redis

from sdp_core import keys
from sdp_core.celery_config import make_celery
from sdp_core.queues import DEFAULT_PRIORITY, Queue, TaskName
from sdp_core.settings import CommonSettings
from sdp_testing.processes import spawn, wait_until
from sdp_testing.redis_server import free_port


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.TransportError:
        return False


@pytest.mark.slow
def test_flower_counts_what_the_platform_sends(redis_url: str, redis_client: redis.Redis) -> None:
    app = make_celery("test_flower", CommonSettings(redis_url=redis_url))
    try:
        # By name and without a priority, as the API and beat send: the route gives it one.
        app.send_task(TaskName.etl_transform.value)
    finally:
        app.close()
    # No worker consumes it. Its list is one Flower never reads with kombu's default priority
    # steps, which is what it uses when started with --broker alone.
    assert redis_client.llen(keys.queue_keys(Queue.etl)[DEFAULT_PRIORITY]) == 1

    port = free_port()
    user, password = "test", secrets.token_urlsafe(12)
    args = [
        *(sys.executable, "-m", "celery", "-A", "sdp_core.flower", "flower"),
        *(f"--port={port}", "--address=127.0.0.1", f"--basic-auth={user}:{password}"),
    ]
    url = f"http://127.0.0.1:{port}"
    with spawn(args, {"REDIS_URL": redis_url, "SDP_ENVIRONMENT": "test"}, "flower") as flower:
        wait_until(lambda: not flower.alive() or answers(f"{url}/healthcheck"), 30, "Flower")
        assert flower.alive(), flower.log()[-4000:]
        reply = httpx.get(f"{url}/api/queues/length", auth=(user, password), timeout=10)

    assert reply.status_code == 200, reply.text
    # With no worker online Flower lists the app's configured queues.
    lengths = {queue["name"]: queue["messages"] for queue in reply.json()["active_queues"]}
    assert lengths == {"collect": 0, "etl": 1, "system": 0}
