from __future__ import annotations

import os
import secrets
import subprocess
import sys

import httpx
import pytest
import redis
from pydantic import ValidationError

from sdp_core import keys
from sdp_core.celery_config import make_celery
from sdp_core.flower_auth import FlowerSettings, command_line_auth
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


WEAK_AUTH = [
    "admin:admin123",
    "ops:admin",
    "admin:changeme",
    "ops:Change-Me-Please-2026!",
    "ops:short",
    "ops:aaaaaaaaaaaaaaaaaaaaaaaa",
    "no-password-at-all",
    "ops:Zq8vR2mXk4pLw9sTn3yB,admin:admin123",
]


@pytest.mark.parametrize("environment", ["production", "test"])
@pytest.mark.parametrize("basic_auth", [None, "", *WEAK_AUTH])
def test_flower_settings_refuse_missing_or_weak_credentials(
    environment: str, basic_auth: str | None
) -> None:
    with pytest.raises(ValidationError, match="FLOWER_BASIC_AUTH") as raised:
        FlowerSettings(environment=environment, basic_auth=basic_auth)
    # What load_settings prints: the messages (pydantic's own text repeats the input).
    messages = " ".join(error["msg"] for error in raised.value.errors())
    if basic_auth:
        for password in basic_auth.replace(",", ":").split(":")[1::2]:
            assert password not in messages


def test_flower_settings_take_strong_credentials_and_anything_in_development() -> None:
    strong = f"ops:{secrets.token_urlsafe(24)},viewer:{secrets.token_urlsafe(24)}"
    assert FlowerSettings(environment="production", basic_auth=strong).basic_auth is not None
    assert FlowerSettings(environment="development").basic_auth is None
    assert FlowerSettings(environment="development", basic_auth="admin:admin123")


def test_flower_command_line_auth_wins() -> None:
    assert command_line_auth(["flower", "--basic-auth=a:b", "--port=1"]) == "a:b"
    assert command_line_auth(["flower", "--basic_auth", "c:d"]) == "c:d"
    assert command_line_auth(["flower", "--port=1"]) is None


@pytest.mark.slow
@pytest.mark.parametrize("given", ["environment", "command line"])
def test_flower_refuses_to_start_with_the_seed_default(given: str) -> None:
    args = [sys.executable, "-m", "celery", "-A", "sdp_core.flower", "flower", "--port=1"]
    env = {**os.environ, "SDP_ENVIRONMENT": "production", "REDIS_URL": "redis://127.0.0.1:1/0"}
    env.pop("FLOWER_BASIC_AUTH", None)
    if given == "environment":
        env["FLOWER_BASIC_AUTH"] = "admin:admin123"
    else:
        args.append("--basic-auth=admin:admin123")
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode != 0
    assert "FLOWER_BASIC_AUTH's password for admin is too weak" in done.stderr, done.stderr
    assert "admin123" not in done.stderr + done.stdout
