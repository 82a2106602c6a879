"""Schemathesis over the monitor's OpenAPI document, against the monitor on a real server, real
Redis and real workers, so control routes have someone to answer.

Reads and harmless controls go first, against one prefork worker. The controls that change or
stop workers, purge queues or cancel tasks go last, against their own workers (thread pools: a
fuzzed `n` may ask a pool for 255 more processes, which only a prefork pool would start), and
shutdown last of all. With no worker online a control for every worker answers 503 `unavailable`
("no worker is online"); one naming an unknown worker answers 404; a known worker that stopped
answering, 504 naming it: the check below accepts exactly these on control routes.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis
from schemathesis.checks import CheckContext, not_a_server_error
from schemathesis.core.failures import Failure

from sdp_monitor.app import create_app
from sdp_monitor.settings import MonitorSettings
from sdp_testing.processes import running_worker, wait_until
from sdp_testing.serving import serve

from .support import CHECKS, admin, bounded, document

pytestmark = pytest.mark.slow

API = "/api/v1/celery"
# Change, stop or empty something real; each is fuzzed against workers started for it.
DESTRUCTIVE = rf"^{API}/(worker/(pool/|autoscale)|queues/[^/]+/purge|task/[^/]+/cancel)"
SHUTDOWN = rf"^{API}/worker/shutdown$"
# An endless stream; its events are the monitor's tests' business.
STREAM = rf"^{API}/events$"
# Fewer cases where each waits on workers answering a control command.
CONTROL_EXAMPLES = 15
# A control call's wait for workers; generous, as the fuzzer keeps two cores busy.
INSPECT_TIMEOUT_S = 5.0

schema = document(create_app(MonitorSettings(environment="development")))
reads = schema.exclude(path_regex=DESTRUCTIVE).exclude(path_regex=SHUTDOWN)
reads = reads.exclude(path_regex=STREAM)
controls = schema.include(path_regex=DESTRUCTIVE)
shutdown = schema.include(path_regex=SHUTDOWN)


class Workers:
    """The module's workers: started and stopped as each part of the run needs them."""

    def __init__(self, redis_url: str) -> None:
        self.redis_url = redis_url
        self.stack = contextlib.ExitStack()
        self.names: list[str] = []

    def start(self, count: int, **env: str) -> list[str]:
        """Stop the running ones, then start `count` new ones."""
        self.stop()
        for _ in range(count):
            worker = running_worker(self.redis_url, concurrency=2, queues="collect,system", **env)
            self.names.append(self.stack.enter_context(worker).name)
        return self.names

    def stop(self) -> None:
        self.stack.close()
        self.stack = contextlib.ExitStack()
        self.names = []


@pytest.fixture(scope="module")
def workers(redis_server_url: str) -> Iterator[Workers]:
    client = redis.Redis.from_url(redis_server_url)
    client.flushall()
    client.close()
    started = Workers(redis_server_url)
    yield started
    started.stop()


@pytest.fixture(scope="module")
def monitor(redis_server_url: str, jwt_secret: str, workers: Workers) -> Iterator[str]:
    settings = MonitorSettings(
        environment="test",
        jwt_secret=jwt_secret,
        redis_url=redis_server_url,
        inspect_timeout_s=INSPECT_TIMEOUT_S,
        queue_discovery_s=0.2,
        history_flush_s=0.05,
    )
    with serve(create_app(settings), "monitor-under-fuzz") as url:
        yield url


@pytest.fixture(scope="module")
def headers(jwt_secret: str) -> dict[str, str]:
    return admin(jwt_secret)


def online(monitor: str, headers: dict[str, str]) -> set[str]:
    """The workers the monitor lists as online."""
    response = httpx.get(f"{monitor}{API}/workers", headers=headers, timeout=30)
    return {w["name"] for w in response.json()["items"] if w["online"]}


def seen(monitor: str, headers: dict[str, str], names: list[str]) -> None:
    """Wait until the monitor lists exactly these workers online."""
    wait_until(lambda: online(monitor, headers) == set(names), 30, f"{names} online")


@pytest.fixture(scope="module")
def one_worker(monitor: str, headers: dict[str, str], workers: Workers) -> list[str]:
    names = workers.start(1)
    seen(monitor, headers, names)
    return names


@pytest.fixture(scope="module")
def own_workers(monitor: str, headers: dict[str, str], workers: Workers) -> list[str]:
    """Two new workers for the destructive controls; the first one is stopped."""
    names = workers.start(2, SDP_WORKER_POOL="threads")
    seen(monitor, headers, names)
    return names


# What a control route answers when the cluster, not the input, is the reason.
_CLUSTER_ANSWERS = {503: ("unavailable", r"^no worker is online$"), 504: ("timeout", r"^no reply")}


def not_a_server_error_but_the_cluster(ctx: CheckContext, response: Any, case: Any) -> bool | None:
    """`not_a_server_error`, but a control route may say no worker is online or answering."""
    answer = _CLUSTER_ANSWERS.get(response.status_code)
    if answer is not None:
        error = response.json()["error"]
        code, message = answer
        if error["code"] != code or not re.match(message, error["message"]):
            raise Failure(
                operation=case.operation.label,
                title="Server error not about the workers",
                message=f"{response.status_code}: {error}",
            )
        return True
    return not_a_server_error(ctx, response, case)


CONTROL_CHECKS = [not_a_server_error_but_the_cluster, *CHECKS[1:]]


@reads.parametrize()
@bounded()
def test_every_read_answers_bad_input_as_documented(
    case: Any, monitor: str, headers: dict[str, str], one_worker: list[str]
) -> None:
    case.call_and_validate(base_url=monitor, headers=headers, checks=CHECKS)


def test_no_worker_online_is_503_unavailable(
    monitor: str, headers: dict[str, str], workers: Workers
) -> None:
    """With every worker stopped, a control for all of them names why nothing was done."""
    workers.stop()
    seen(monitor, headers, [])
    response = httpx.post(f"{monitor}{API}/worker/pool/restart", headers=headers, timeout=30)
    assert response.status_code == 503, response.text
    assert response.json()["error"] == {
        "code": "unavailable",
        "message": "no worker is online",
        "fields": [],
    }
    unknown = httpx.post(
        f"{monitor}{API}/worker/pool/restart",
        json={"workers": ["nobody@nowhere"]},
        headers=headers,
        timeout=30,
    )
    assert unknown.status_code == 404, unknown.text


@controls.parametrize()
@bounded(CONTROL_EXAMPLES)
def test_every_destructive_control_answers_as_documented(
    case: Any, monitor: str, headers: dict[str, str], own_workers: list[str]
) -> None:
    case.call_and_validate(base_url=monitor, headers=headers, checks=CONTROL_CHECKS)


@shutdown.parametrize()
@bounded(CONTROL_EXAMPLES)
def test_shutdown_last_answers_as_documented(
    case: Any, monitor: str, headers: dict[str, str], own_workers: list[str]
) -> None:
    case.call_and_validate(base_url=monitor, headers=headers, checks=CONTROL_CHECKS)
