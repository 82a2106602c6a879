"""`GET /queues/{queue}/messages`: the waiting messages in the order a real worker takes them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis
from celery import Celery
from fastapi.testclient import TestClient

from sdp_core import keys
from sdp_core.celery_config import make_celery
from sdp_core.settings import CommonSettings
from sdp_monitor.app import create_app
from sdp_testing.auth import Token, auth
from sdp_testing.processes import running_worker, wait_until
from sdp_testing.proxy import flaky_proxy

from .support import monitor_settings

TEXT_CAP = 64


@pytest.fixture
def client(redis_url: str, jwt_secret: str) -> Iterator[TestClient]:
    settings = monitor_settings(redis_url, jwt_secret, history_text_max_chars=TEXT_CAP)
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def sender(redis_url: str) -> Iterator[Celery]:
    app = make_celery("test-sender", CommonSettings(redis_url=redis_url))
    yield app
    app.close()


def peek(client: TestClient, token: Token, queue: str, **params: Any) -> Any:
    response = client.get(
        f"/api/v1/celery/queues/{queue}/messages", params=params, headers=auth(token, "viewer")
    )
    assert response.status_code == 200, response.text
    return response.json()


def done_at(app: Celery, task_id: str) -> datetime:
    done = app.AsyncResult(task_id).date_done
    assert done is not None, task_id
    return done


def test_peek_order_is_the_order_a_worker_runs_them(
    client: TestClient, token: Token, sender: Celery, redis_url: str
) -> None:
    priorities = [5, 0, 9, 3, 0, 7, 5, 9, 1, 3, 5]
    sent = [sender.send_task("system.noop", priority=p).id for p in priorities]
    body = peek(client, token, "system")
    # By priority step, 0 first; within a step, as they were sent.
    order = sorted(range(len(sent)), key=lambda i: (priorities[i], i))
    expected = [sent[i] for i in order]
    assert [item["id"] for item in body["items"]] == expected
    assert [item["priority"] for item in body["items"]] == sorted(priorities)
    assert (body["total"], body["truncated"]) == (len(sent), False)

    with running_worker(redis_url, concurrency=1, queues="system"):
        wait_until(lambda: all(sender.AsyncResult(t).ready() for t in sent), 60, "every task")
    ran = sorted(sent, key=lambda task_id: done_at(sender, task_id))
    assert ran == expected
    assert peek(client, token, "system")["items"] == []


def test_counts_caps_and_truncation(client: TestClient, token: Token, sender: Celery) -> None:
    for _ in range(3):
        sender.send_task("system.noop", args=["x" * 500], priority=5)
    sleeps = [sender.send_task("system.sleep", kwargs={"seconds": 1}, priority=2) for _ in range(2)]
    body = peek(client, token, "system", limit=4)
    assert [item["id"] for item in body["items"][:2]] == [r.id for r in sleeps]
    assert body["counts"] == {"system.sleep": 2, "system.noop": 2}
    assert (body["total"], body["truncated"]) == (5, True)
    noop = body["items"][2]
    assert (noop["task"], noop["priority"], noop["eta"], noop["expires"]) == (
        "system.noop",
        5,
        None,
        None,
    )
    assert len(noop["args"]) == TEXT_CAP and noop["args"].startswith("['xxx")
    assert noop["kwargs"] == "{}"
    assert noop["size"] > 500 and noop["error"] is None
    everything = peek(client, token, "system", limit=5)
    assert (len(everything["items"]), everything["truncated"]) == (5, False)
    assert everything["counts"] == {"system.noop": 3, "system.sleep": 2}


def test_a_message_that_does_not_decode_is_listed_with_an_error(
    client: TestClient, token: Token, sender: Celery, redis_client: redis.Redis
) -> None:
    good = sender.send_task("system.noop", priority=0)
    garbage = b"\xff not a message"
    redis_client.lpush(keys.queue_keys("system")[0], garbage)
    # Pushed after, so taken after.
    first, second = peek(client, token, "system")["items"]
    assert (first["id"], first["error"]) == (good.id, None)
    assert (second["id"], second["task"], second["size"]) == (None, None, len(garbage))
    assert "not JSON" in second["error"]


def test_unknown_queues_bad_limits_and_tokens(client: TestClient, token: Token) -> None:
    path = "/api/v1/celery/queues/{}/messages"
    viewer = auth(token, "viewer")
    assert client.get(path.format("nowhere"), headers=viewer).status_code == 404
    assert peek(client, token, "etl") == {
        "queue": "etl",
        "items": [],
        "counts": {},
        "total": 0,
        "truncated": False,
    }
    for limit in (0, 501, "many"):
        response = client.get(path.format("etl"), params={"limit": limit}, headers=viewer)
        assert response.status_code == 422, response.text
        assert [f["field"] for f in response.json()["error"]["fields"]] == ["limit"]
    assert client.get(path.format("etl")).status_code == 401


def test_broker_down_is_503(redis_url: str, jwt_secret: str, token: Token) -> None:
    upstream = urlsplit(redis_url).port
    assert upstream is not None
    with flaky_proxy(upstream) as proxy:
        settings = monitor_settings(redis_url, jwt_secret, broker_url=proxy.url())
        with TestClient(create_app(settings)) as client:
            # The queue is known, so the read itself meets the broker's absence.
            assert peek(client, token, "etl")["total"] == 0
            with proxy.refusing():
                response = client.get(
                    "/api/v1/celery/queues/etl/messages", headers=auth(token, "viewer")
                )
    assert response.status_code == 503, response.text
