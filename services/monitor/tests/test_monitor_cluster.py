"""The monitor against two real worker processes on real Redis, behind a real server.

The workers and the monitor are shared by the module; each test leaves them as it found them.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import redis
from celery import Celery
from fastapi.testclient import TestClient

from sdp_core.celery_config import make_celery
from sdp_core.keys import PRIORITY_SEP
from sdp_core.settings import CommonSettings
from sdp_monitor.app import create_app
from sdp_monitor.cluster.control import broadcast
from sdp_testing.auth import Token, auth
from sdp_testing.processes import ServiceProcess, running_worker, wait_until
from sdp_testing.serving import serve

from .support import monitor_settings

# kombu's Redis transport blocks in BRPOP for this long (Transport.brpop_timeout).
KOMBU_BRPOP_TIMEOUT_S = 1

Call = Callable[..., httpx.Response]


@pytest.fixture(scope="module")
def cluster_url(redis_server_url: str) -> str:
    client = redis.Redis.from_url(redis_server_url)
    client.flushall()
    client.close()
    return redis_server_url


@pytest.fixture(scope="module")
def workers(cluster_url: str) -> Iterator[list[ServiceProcess]]:
    with contextlib.ExitStack() as stack:
        yield [
            stack.enter_context(running_worker(cluster_url, concurrency=2, queues="collect,system"))
            for _ in range(2)
        ]


@pytest.fixture(scope="module")
def monitor(cluster_url: str, jwt_secret: str, workers: list[ServiceProcess]) -> Iterator[str]:
    with serve(create_app(monitor_settings(cluster_url, jwt_secret))) as url:
        yield url


@pytest.fixture(scope="module")
def sender(cluster_url: str) -> Iterator[Celery]:
    app = make_celery("test-sender", CommonSettings(redis_url=cluster_url))
    yield app
    app.close()


@pytest.fixture
def call(monitor: str, token: Token) -> Iterator[Call]:
    """`call("GET", "/workers", role="viewer", json=...)` against /api/v1/celery."""
    with httpx.Client(base_url=f"{monitor}/api/v1/celery", timeout=30) as client:

        def request(method: str, path: str, role: str = "viewer", **kwargs: Any) -> httpx.Response:
            return client.request(method, path, headers=auth(token, role), **kwargs)

        yield request


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def wait_for_task(
    call: Call, task_id: str, states: set[str], timeout_s: float = 30, *, in_history: bool = False
) -> Any:
    """The task's detail once it reached one of `states`; with `in_history`, once the history
    in Redis has it too: the detail shows what the monitor has not written yet, the list does
    not."""
    found: dict[str, Any] = {}

    def written(state: str) -> bool:
        response = call("GET", "/tasks", params={"state": state, "limit": 500})
        listed = response.json()["items"] if response.status_code == 200 else []
        return task_id in {item["id"] for item in listed}

    def reached() -> bool:
        response = call("GET", f"/task/{task_id}")
        if response.status_code == 200:
            found.update(response.json())
        state = found.get("state")
        if state not in states:
            return False
        return not in_history or (found.get("source") == "events" and written(state))

    wait_until(reached, timeout_s, f"task {task_id} to reach {states}")
    return found


def names(workers: list[ServiceProcess]) -> list[str]:
    return sorted(w.name for w in workers)


def test_status_and_workers_show_both_workers(call: Call, workers: list[ServiceProcess]) -> None:
    wait_until(
        lambda: (
            all(w["concurrency"] for w in ok(call("GET", "/workers"))["items"])
            and len(ok(call("GET", "/workers"))["items"]) == 2
        ),
        20,
        "both workers to be inspected",
    )
    status = ok(call("GET", "/status"))
    assert status["workers_online"] == 2
    assert status["workers"] == names(workers)
    for worker in ok(call("GET", "/workers"))["items"]:
        assert worker["online"] is True
        assert (worker["pool"], worker["concurrency"]) == ("prefork", 2)
        assert sorted(worker["queues"]) == ["collect", "system"]
        assert worker["utilisation"] == 0
        assert worker["software"].startswith("py-celery")
        assert worker["pid"] in {w.proc.pid for w in workers}


def test_cancelling_a_running_sleep_revokes_it(call: Call, sender: Celery) -> None:
    task_id = str(uuid.uuid4())
    sender.send_task("system.sleep", args=[60], task_id=task_id)
    running = wait_for_task(call, task_id, {"STARTED"})
    wait_until(lambda: ok(call("GET", "/status"))["tasks_active"] == 1, 10, "it to count")
    [busy] = [w for w in ok(call("GET", "/workers"))["items"] if w["active"]]
    assert busy["name"] == running["worker"]
    assert busy["utilisation"] == 0.5

    cancelled = ok(
        call("POST", f"/task/{task_id}/cancel", role="operator", json={"terminate": True})
    )
    assert cancelled["state"] == "REVOKED"
    assert cancelled["terminated"] is True
    assert running["worker"] in cancelled["workers"]
    wait_until(lambda: ok(call("GET", "/status"))["tasks_active"] == 0, 15, "the kill")
    assert wait_for_task(call, task_id, {"REVOKED"})["finished_at"] is not None

    unknown = call("POST", f"/task/{uuid.uuid4()}/cancel", role="operator")
    assert unknown.status_code == 404


def test_retrying_a_failed_task_runs_it_again(call: Call, sender: Celery, httpserver: Any) -> None:
    httpserver.expect_oneshot_request("/flaky").respond_with_data("gone", status=404)
    httpserver.expect_request("/flaky").respond_with_json({"rows": [1, 2]})
    failed_id = str(uuid.uuid4())
    sender.send_task(
        "collect.http", kwargs={"url": httpserver.url_for("/flaky")}, task_id=failed_id
    )
    failed = wait_for_task(call, failed_id, {"SUCCESS", "FAILURE"})
    assert failed["state"] == "FAILURE"
    assert "404" in failed["exception"]
    assert failed["traceback"]

    retried = ok(call("POST", f"/task/{failed_id}/retry", role="operator"), 202)
    assert retried["retry_of"] == failed_id
    again = wait_for_task(call, retried["id"], {"SUCCESS", "FAILURE"})
    assert again["state"] == "SUCCESS"
    assert again["name"] == "collect.http"
    assert again["retry_of"] == failed_id
    assert again["runtime"] > 0
    assert ok(call("GET", f"/task/{failed_id}"))["state"] == "FAILURE"

    done = call("POST", f"/task/{retried['id']}/retry", role="operator")
    assert done.status_code == 409
    assert done.json()["error"]["code"] == "conflict"


def send(sender: Celery, name: str, **options: Any) -> str:
    task_id = str(uuid.uuid4())
    sender.send_task(name, task_id=task_id, **options)
    return task_id


def failures_since(call: Call, since: float) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = ok(call("GET", "/failures", params={"since": since}))["items"]
    return items


def failed_since(call: Call, since: float) -> int:
    return sum(group["count"] for group in failures_since(call, since))


def ended(call: Call, task_id: str) -> str | None:
    response = call("GET", f"/task/{task_id}")
    state = response.json().get("state") if response.status_code == 200 else None
    return state if state in {"SUCCESS", "FAILURE"} else None


def test_failures_are_grouped_then_retried_in_bulk_each_exactly_once(
    call: Call, sender: Celery, httpserver: Any
) -> None:
    # Other tests of the module leave failures of their own: this one looks from its start on.
    since = time.time()
    # The first two fetches answer 404 (a JobError), every later one succeeds.
    for _ in range(2):
        httpserver.expect_oneshot_request("/gone-then-back").respond_with_data("gone", status=404)
    httpserver.expect_request("/gone-then-back").respond_with_json({"rows": [1]})
    url = httpserver.url_for("/gone-then-back")
    fetches = [send(sender, "collect.http", kwargs={"url": url}) for _ in range(2)]
    # Arguments that do not fit the job: a JobArgumentError, every time they run.
    sleeps = [send(sender, "system.sleep", args=["long"]) for _ in range(2)]
    noop = send(sender, "system.noop", args=[1])
    originals = {*fetches, *sleeps, noop}
    wait_until(lambda: failed_since(call, since) == 5, 30, "the five failures in the history")
    before_retry = time.time()

    groups = failures_since(call, since)
    by_group = {(g["task"], g["exception_type"]): g for g in groups}
    assert {key: g["count"] for key, g in by_group.items()} == {
        ("collect.http", "JobError"): 2,
        ("system.sleep", "JobArgumentError"): 2,
        ("system.noop", "JobArgumentError"): 1,
    }
    assert [g["count"] for g in groups] == [2, 2, 1]
    for (_, kind), group in by_group.items():
        assert group["first_seen"] <= group["last_seen"]
        assert group["sample"]["id"] in originals
        assert group["sample"]["message"].startswith(f"{kind}(")
    assert "404" in by_group[("collect.http", "JobError")]["sample"]["message"]
    assert by_group[("system.noop", "JobArgumentError")]["sample"]["id"] == noop

    # A dry run tells, sends nothing and is not audited.
    dry = ok(call("POST", "/tasks/retry", role="operator", json={"since": since, "dry_run": True}))
    assert (dry["matched"], set(dry["ids"]), dry["retried"], dry["skipped"]) == (
        5,
        originals,
        [],
        [],
    )
    one_group = {"task": "system.sleep", "exception_type": "JobArgumentError", "since": since}
    narrowed = ok(
        call("POST", "/tasks/retry", role="operator", json={**one_group, "dry_run": True})
    )
    assert (narrowed["matched"], set(narrowed["ids"])) == (2, set(sleeps))
    viewer = call("POST", "/tasks/retry", role="viewer", json={"since": since, "dry_run": True})
    assert viewer.status_code == 403

    window = {"since": since, "until": before_retry}
    sent = ok(call("POST", "/tasks/retry", role="operator", json=window))
    assert (sent["matched"], sent["dry_run"], sent["skipped"]) == (5, False, [])
    assert {r["id"] for r in sent["retried"]} == originals == set(sent["ids"])
    new_ids = {r["id"]: r["new_id"] for r in sent["retried"]}
    assert len(set(new_ids.values())) == 5
    assert not set(new_ids.values()) & originals

    wait_until(
        lambda: all(ended(call, new_id) for new_id in new_ids.values()), 30, "the retries to end"
    )
    for original, new_id in new_ids.items():
        again = ok(call("GET", f"/task/{new_id}"))
        assert again["retry_of"] == original
        assert again["state"] == ("SUCCESS" if original in fetches else "FAILURE")
        assert ok(call("GET", f"/task/{original}"))["retried_as"] == new_id
    # Each fetch ran once more: two 404s, then the two retries.
    assert len([r for r, _ in httpserver.log if r.path == "/gone-then-back"]) == 4

    # The retries that failed again are failures of their own, each counted once.
    wait_until(lambda: failed_since(call, since) == 8, 30, "the three new failures in the history")
    counts = {(g["task"], g["exception_type"]): g["count"] for g in failures_since(call, since)}
    assert counts == {
        ("system.sleep", "JobArgumentError"): 4,
        ("system.noop", "JobArgumentError"): 2,
        ("collect.http", "JobError"): 2,
    }

    # The same call again sends none of them twice.
    repeat = ok(call("POST", "/tasks/retry", role="operator", json=window))
    assert (repeat["matched"], repeat["ids"], repeat["retried"]) == (5, [], [])
    assert {(s["id"], s["reason"]) for s in repeat["skipped"]} == {
        (original, f"retried as {new_id}") for original, new_id in new_ids.items()
    }
    # Without an end to its window it would go on with the new failures only.
    onward = ok(
        call("POST", "/tasks/retry", role="operator", json={"since": since, "dry_run": True})
    )
    failed_again = {new_ids[task_id] for task_id in (*sleeps, noop)}
    assert (onward["matched"], set(onward["ids"])) == (8, failed_again)

    audited = ok(call("GET", "/audit", role="admin", params={"action": "tasks.retry"}))["items"]
    assert [(e["target"], e["result"], e["detail"].split(";")[0]) for e in audited] == [
        ("FAILURE:*:*", "ok", "matched 5, retried 0, skipped 5"),
        ("FAILURE:*:*", "ok", "matched 5, retried 5, skipped 0"),
    ]


def test_pool_restart_and_resizes_answer_per_worker(
    call: Call, workers: list[ServiceProcess]
) -> None:
    restarted = ok(call("POST", "/worker/pool/restart", role="admin"))
    assert restarted["action"] == "worker.pool_restart"
    assert [(r["worker"], r["ok"]) for r in restarted["results"]] == [
        (name, True) for name in names(workers)
    ]
    assert {r["message"] for r in restarted["results"]} == {"reload started"}

    one = names(workers)[:1]
    grown = ok(call("POST", "/worker/pool/grow", role="admin", json={"workers": one, "n": 1}))
    assert [(r["worker"], r["ok"], r["processes_after"]) for r in grown["results"]] == [
        (one[0], True, 3)
    ]
    shrunk = ok(call("POST", "/worker/pool/shrink", role="admin", json={"workers": one}))
    assert [(r["ok"], r["processes_after"]) for r in shrunk["results"]] == [(True, 2)]
    # A worker runs no autoscaler unless started with one: it says so, by name.
    scaled = ok(call("POST", "/worker/autoscale", role="admin", json={"max": 4, "min": 1}))
    assert [(r["worker"], r["ok"]) for r in scaled["results"]] == [
        (name, False) for name in names(workers)
    ]
    assert "Autoscale not enabled" in scaled["results"][0]["message"]
    # Every worker refused, so the audit does not say it went well.
    [entry] = ok(call("GET", "/audit", role="admin", params={"limit": 1}))["items"]
    assert (entry["action"], entry["result"]) == ("worker.autoscale", "failed")
    assert "Autoscale not enabled" in entry["detail"]
    missing = call("POST", "/worker/pool/restart", role="admin", json={"workers": ["nobody@x"]})
    assert missing.status_code == 404
    assert "nobody@x" in missing.json()["error"]["message"]


def test_consumers_are_added_and_cancelled(call: Call, workers: list[ServiceProcess]) -> None:
    name = names(workers)[0]

    def consumers_of_etl() -> list[str]:
        [etl] = [q for q in ok(call("GET", "/queues"))["items"] if q["name"] == "etl"]
        found: list[str] = etl["consumers"]
        return found

    added = ok(
        call("POST", f"/worker/{name}/queues", role="admin", json={"action": "add", "queue": "etl"})
    )
    assert [(r["worker"], r["ok"], r["message"]) for r in added["results"]] == [
        (name, True, "add consumer etl")
    ]
    wait_until(lambda: consumers_of_etl() == [name], 10, "the worker to consume etl")
    ok(
        call(
            "POST",
            f"/worker/{name}/queues",
            role="admin",
            json={"action": "cancel", "queue": "etl"},
        )
    )
    wait_until(lambda: consumers_of_etl() == [], 10, "the worker to stop consuming etl")
    # A BRPOP the worker issued before the cancel still names etl until its timeout ends:
    # a later test's etl message must stay queued.
    time.sleep(KOMBU_BRPOP_TIMEOUT_S + 0.5)


def worker_row(call: Call, name: str) -> dict[str, Any]:
    row: dict[str, Any]
    [row] = [w for w in ok(call("GET", "/workers"))["items"] if w["name"] == name]
    return row


def processes(sender: Celery, name: str) -> list[int]:
    """The worker's pool processes as it tells them now, not as the monitor last heard."""
    found: list[int] = broadcast(sender, "stats", [name], 10)[name]["pool"]["processes"]
    return found


@contextlib.contextmanager
def consuming(call: Call, name: str, queue: str) -> Iterator[None]:
    """The worker consumes `queue` (a new one) for the block's length, as /workers shows."""
    body = {"action": "add", "queue": queue}
    added = ok(call("POST", f"/worker/{name}/queues", role="admin", json=body))
    assert [(r["worker"], r["ok"]) for r in added["results"]] == [(name, True)]
    wait_until(lambda: queue in worker_row(call, name)["queues"], 15, f"{name} to consume {queue}")
    try:
        yield
    finally:
        body = {"action": "cancel", "queue": queue}
        ok(call("POST", f"/worker/{name}/queues", role="admin", json=body))
        wait_until(lambda: queue not in worker_row(call, name)["queues"], 15, "the cancel")


def resize_by_one(call: Call, way: str, name: str, message: str, before: int, after: int) -> None:
    """Grow or shrink the worker's pool by one: what it answers, and /workers following."""
    body = {"workers": [name], "n": 1}
    resized = ok(call("POST", f"/worker/pool/{way}", role="admin", json=body))
    assert resized["results"] == [
        {
            "worker": name,
            "ok": True,
            "message": message,
            "processes_before": before,
            "processes_after": after,
        }
    ]
    wait_until(lambda: worker_row(call, name)["concurrency"] == after, 15, "/workers to follow")


def test_shrinking_never_leaves_a_pool_without_a_process(
    call: Call, workers: list[ServiceProcess], sender: Celery
) -> None:
    name = names(workers)[0]
    one = {"workers": [name], "n": 1}
    resize_by_one(call, "shrink", name, "shrank from 2 to 1 processes", 2, 1)
    assert len(processes(sender, name)) == 1

    again = call("POST", "/worker/pool/shrink", role="admin", json=one)
    assert again.status_code == 422, again.text
    error = again.json()["error"]
    assert error["code"] == "validation_error"
    assert name in error["message"]
    assert error["fields"] == [
        {"field": "n", "message": f"{name} has a pool of 1: shrink it by at most 0"}
    ]
    assert len(processes(sender, name)) == 1
    # Its one process still runs what it is sent.
    queue = f"only-{uuid.uuid4().hex[:8]}"
    with consuming(call, name, queue):
        task_id = sender.send_task("system.noop", queue=queue).id
        assert wait_for_task(call, task_id, {"SUCCESS"})["worker"] == name
        nothing = call(
            "POST", f"/worker/{name}/queues", role="admin", json={"action": "add", "queue": queue}
        )
        assert nothing.status_code == 409
        assert nothing.json()["error"]["fields"][0]["field"] == "queue"

    resize_by_one(call, "grow", name, "grew from 1 to 2 processes", 1, 2)
    audit = ok(call("GET", "/audit", role="admin", params={"limit": 6}))["items"]
    resizes = [(e["action"], e["result"]) for e in audit if "pool" in e["action"]]
    assert resizes == [
        ("worker.pool_grow", "ok"),
        ("worker.pool_shrink", "validation_error"),
        ("worker.pool_shrink", "ok"),
    ]


def test_a_resize_beyond_the_pool_is_refused_and_changes_nothing(
    call: Call, workers: list[ServiceProcess], sender: Celery
) -> None:
    name = names(workers)[0]
    before = processes(sender, name)
    for path, n in (("shrink", 5), ("shrink", 2), ("grow", 255)):
        refused = call("POST", f"/worker/pool/{path}", role="admin", json={"n": n})
        assert refused.status_code == 422, (path, n, refused.text)
        error = refused.json()["error"]
        assert {f["field"] for f in error["fields"]} == {"n"}
        assert set(names(workers)) <= {f["message"].split()[0] for f in error["fields"]}
    assert call("POST", "/worker/pool/grow", role="admin", json={"n": 256}).status_code == 422
    assert processes(sender, name) == before
    assert worker_row(call, name)["concurrency"] == 2
    audit = ok(call("GET", "/audit", role="admin", params={"limit": 3}))["items"]
    assert [e["result"] for e in audit] == ["validation_error"] * 3


def test_a_shrink_stops_only_idle_processes(
    call: Call, workers: list[ServiceProcess], sender: Celery
) -> None:
    name = names(workers)[0]
    queue = f"busy-{uuid.uuid4().hex[:8]}"
    with consuming(call, name, queue):
        sleeps = [sender.send_task("system.sleep", args=[60], queue=queue).id for _ in range(2)]
        for task_id in sleeps:
            wait_for_task(call, task_id, {"STARTED"})
        before = processes(sender, name)
        busy = call("POST", "/worker/pool/shrink", role="admin", json={"workers": [name]})
        assert busy.status_code == 409, busy.text
        assert busy.json()["error"]["fields"] == [
            {"field": "n", "message": f"{name} has 0 idle processes"}
        ]
        assert processes(sender, name) == before
        for task_id in sleeps:
            ok(call("POST", f"/task/{task_id}/cancel", role="operator", json={"terminate": True}))
        for task_id in sleeps:
            wait_for_task(call, task_id, {"REVOKED"})
    # The killed processes were replaced: the pool is as big as before.
    wait_until(lambda: len(processes(sender, name)) == 2, 20, "the pool to be whole again")
    audit = ok(call("GET", "/audit", role="admin", params={"limit": 10}))["items"]
    [result] = [e["result"] for e in audit if e["action"] == "worker.pool_shrink"][:1]
    assert result == "conflict"


def test_queue_names_are_checked_and_consumers_say_what_they_did(
    call: Call, workers: list[ServiceProcess]
) -> None:
    name = names(workers)[0]
    absent = call(
        "POST", f"/worker/{name}/queues", role="admin", json={"action": "cancel", "queue": "etl"}
    )
    assert absent.status_code == 409
    assert absent.json()["error"]["message"] == (
        f"{name} does not consume etl (it consumes: collect, system)"
    )
    for queue in ("x" * 200, "no spaces", "celeryev", "x.celery.pidbox", f"system{PRIORITY_SEP}3"):
        bad = call(
            "POST", f"/worker/{name}/queues", role="admin", json={"action": "add", "queue": queue}
        )
        assert bad.status_code == 422, (queue, bad.text)
        assert [f["field"] for f in bad.json()["error"]["fields"]] == ["queue"]
    assert sorted(worker_row(call, name)["queues"]) == ["collect", "system"]


def test_queue_lengths_count_every_priority_and_unconsumed_queues(
    call: Call, sender: Celery
) -> None:
    for priority in (0, 3, 9):
        sender.send_task("reports.build", queue="reports", priority=priority)
    sender.send_task("etl.transform", kwargs={}, queue="etl", priority=7)

    def loads() -> dict[str, Any]:
        return {q["name"]: q for q in ok(call("GET", "/queues"))["items"]}

    wait_until(lambda: "reports" in loads(), 10, "the new queue to be discovered")
    queues = loads()
    assert queues["reports"] == {"name": "reports", "pending": 3, "processing": 0, "consumers": []}
    assert queues["etl"]["pending"] == 1
    assert set(queues) >= {"collect", "etl", "system", "reports"}
    assert len(queues["system"]["consumers"]) == 2
    assert ok(call("GET", "/status"))["queues"]["reports"] == {"pending": 3, "processing": 0}

    assert ok(call("POST", "/queues/reports/purge", role="admin")) == {
        "queue": "reports",
        "purged": 3,
    }
    ok(call("POST", "/queues/etl/purge", role="admin"))
    assert loads()["reports"]["pending"] == 0
    assert call("POST", "/queues/nowhere/purge", role="admin").status_code == 404


def test_history_lists_and_filters_what_the_workers_ran(
    call: Call, sender: Celery, workers: list[ServiceProcess]
) -> None:
    sent = [sender.send_task("system.noop").id for _ in range(6)]
    for task_id in sent:
        wait_for_task(call, task_id, {"SUCCESS"}, in_history=True)
    page = ok(call("GET", "/tasks", params={"name": "system.noop", "state": "SUCCESS"}))
    assert {item["id"] for item in page["items"]} >= set(sent)
    for name in names(workers):
        mine = ok(call("GET", "/tasks", params={"worker": name, "limit": 500}))["items"]
        assert all(item["worker"] == name for item in mine)
    queued = ok(call("GET", "/tasks", params={"queue": "system", "limit": 2}))
    assert len(queued["items"]) == 2
    assert queued["next_cursor"]
    detail = ok(call("GET", f"/task/{sent[0]}"))
    assert detail["source"] == "events"
    assert (detail["queue"], detail["result"]) == ("system", "None")
    for moment in ("sent_at", "received_at", "started_at", "finished_at"):
        assert detail[moment] is not None, moment
    assert call("GET", f"/task/{uuid.uuid4()}").status_code == 404


def test_history_survives_a_monitor_restart(
    call: Call, sender: Celery, cluster_url: str, jwt_secret: str, token: Token
) -> None:
    task_id = sender.send_task("system.noop").id
    wait_for_task(call, task_id, {"SUCCESS"}, in_history=True)
    with TestClient(create_app(monitor_settings(cluster_url, jwt_secret))) as fresh:
        listed = fresh.get(
            "/api/v1/celery/tasks", params={"state": "SUCCESS"}, headers=auth(token, "viewer")
        ).json()
        assert task_id in {item["id"] for item in listed["items"]}
        detail = fresh.get(f"/api/v1/celery/task/{task_id}", headers=auth(token, "viewer"))
        assert detail.json()["source"] == "events"
        assert detail.json()["worker"]


def test_events_stream_worker_and_task_changes(
    monitor: str, token: Token, sender: Celery, workers: list[ServiceProcess]
) -> None:
    seen: list[tuple[str, dict[str, Any]]] = []
    task_id = ""
    with (
        httpx.Client(timeout=30) as client,
        client.stream(
            "GET", f"{monitor}/api/v1/celery/events", headers=auth(token, "viewer")
        ) as stream,
    ):
        assert stream.headers["content-type"].startswith("text/event-stream")
        kind = ""
        deadline = time.monotonic() + 30
        for line in stream.iter_lines():
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: "):
                seen.append((kind, json.loads(line.removeprefix("data: "))))
                if len([s for s in seen if s[0] == "worker"]) == 2 and not task_id:
                    task_id = sender.send_task("system.noop").id
            if any(k == "task" and d["id"] == task_id and d["state"] == "SUCCESS" for k, d in seen):
                break
            assert time.monotonic() < deadline, seen
    assert {d["name"] for k, d in seen if k == "worker"} == set(names(workers))
    task_states = [d["state"] for k, d in seen if k == "task" and d["id"] == task_id]
    assert task_states[-1] == "SUCCESS"


def test_audit_records_who_did_what(call: Call) -> None:
    ok(call("POST", "/queues/etl/purge", role="admin"))
    ok(call("POST", "/queues/collect/purge", role="admin"))
    assert call("POST", f"/task/{uuid.uuid4()}/retry", role="operator").status_code == 404
    entries = ok(call("GET", "/audit", role="admin", params={"limit": 2}))
    failed, purged = entries["items"]
    assert (failed["action"], failed["result"], failed["subject"]) == (
        "task.retry",
        "not_found",
        "test-operator",
    )
    assert (purged["action"], purged["target"], purged["result"], purged["role"]) == (
        "queue.purge",
        "collect",
        "ok",
        "admin",
    )
    older = ok(call("GET", "/audit", role="admin", params={"cursor": entries["next_cursor"]}))
    assert (older["items"][0]["action"], older["items"][0]["target"]) == ("queue.purge", "etl")
    assert {e["id"] for e in older["items"]}.isdisjoint({failed["id"], purged["id"]})
    assert call("GET", "/audit", role="operator").status_code == 403
