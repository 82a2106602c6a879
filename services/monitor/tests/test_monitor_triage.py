"""Failure triage from the history: the exception type, the groups RECORD keeps, the summary,
and what a bulk retry would send (with real workers: test_monitor_cluster)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from sdp_core import keys
from sdp_core.replies import text
from sdp_monitor.history.record import TRIAGE_FIELD, exception_type
from sdp_monitor.history.writer import HistoryWriter
from sdp_monitor.http.bulk_retry import RETRY_MAX
from sdp_testing.auth import Token, auth

# An hour ago in whole seconds: within the retention the app's own writer trims to, and
# shown without a fraction.
T0 = float(int(time.time()) - 3_600)


def failures(client: TestClient, token: Token, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/api/v1/celery/failures", params=params, headers=auth(token, "viewer"))
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def fail(writer: HistoryWriter, task_id: str, at: float, name: str, exception: str) -> None:
    """A task sent at `at` that failed a second later."""
    writer.add(task_id, at, "PENDING", {"name": name, "sent_at": repr(at)})
    writer.add(task_id, at + 1, "FAILURE", {"finished_at": repr(at + 1), "exception": exception})


def dry_run(client: TestClient, token: Token, **body: Any) -> dict[str, Any]:
    response = client.post(
        "/api/v1/celery/tasks/retry",
        json={**body, "dry_run": True},
        headers=auth(token, "operator"),
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat().replace("+00:00", "Z")


def groups(redis_client: redis.Redis) -> set[str]:
    return {text(member) for member in redis_client.smembers(keys.MONITOR_TRIAGE_GROUPS)}


@pytest.mark.parametrize(
    ("exception", "kind"),
    [
        ("ValueError('boom')", "ValueError"),
        ("JobError('https://x answered 404 Not Found')", "JobError"),
        ("TimeLimitExceeded(300,)", "TimeLimitExceeded"),
        ("KeyError()", "KeyError"),
        ("celery.exceptions.Retry('later')", "celery.exceptions.Retry"),
        ("  Ünicode_Error ('x')", "Ünicode_Error"),
        ("StopIteration", "StopIteration"),
        ("<Boom at 0x7f>", "unknown"),
        ("error: boom", "unknown"),
        ("3(x)", "unknown"),
        ("", "unknown"),
    ],
)
def test_the_exception_type_is_the_class_in_celerys_repr(exception: str, kind: str) -> None:
    assert exception_type(exception) == kind


def test_failures_are_grouped_by_task_and_exception_type(
    client: TestClient, token: Token, writer: HistoryWriter
) -> None:
    fail(writer, "a1", T0, "collect.http", "JobError('404')")
    fail(writer, "a2", T0 + 10, "collect.http", "JobError('410')")
    fail(writer, "a3", T0 + 20, "collect.http", "JobError('500')")
    fail(writer, "b1", T0 + 5, "collect.http", "ValueError('bad url')")
    fail(writer, "c1", T0 + 15, "system.sleep", "ValueError('x')")
    fail(writer, "c2", T0 + 25, "system.sleep", "ValueError('y')")
    writer.add("ok", T0, "SUCCESS", {"name": "collect.http", "finished_at": repr(T0)})
    writer.add("gone", T0, "REVOKED", {"name": "collect.http", "finished_at": repr(T0)})
    writer.flush()

    def row(task: str, kind: str, count: int, first: float, last: float, sample: str) -> Any:
        return {
            "task": task,
            "exception_type": kind,
            "count": count,
            "first_seen": _iso(first),
            "last_seen": _iso(last),
            "sample": {"id": sample},
        }

    found = failures(client, token)
    messages = [item["sample"].pop("message") for item in found]
    assert found == [
        row("collect.http", "JobError", 3, T0 + 1, T0 + 21, "a3"),
        # Equal counts: the latest first.
        row("system.sleep", "ValueError", 2, T0 + 16, T0 + 26, "c2"),
        row("collect.http", "ValueError", 1, T0 + 6, T0 + 6, "b1"),
    ]
    assert messages == ["JobError('500')", "ValueError('y')", "ValueError('bad url')"]

    # Both ends included; the window is when the tasks failed, not when they were sent.
    windowed = failures(client, token, since=_iso(T0 + 11), until=_iso(T0 + 21))
    assert [(i["task"], i["exception_type"], i["count"]) for i in windowed] == [
        ("collect.http", "JobError", 2),
        ("system.sleep", "ValueError", 1),
    ]
    assert windowed[0]["sample"]["id"] == "a3"
    # Epoch seconds, as the audit filters take them.
    assert len(failures(client, token, since=int(T0 + 26))) == 1
    assert failures(client, token, until=int(T0)) == []


def test_a_group_follows_the_record_as_its_events_arrive(
    client: TestClient, token: Token, writer: HistoryWriter, redis_client: redis.Redis
) -> None:
    # The failure is heard before the task's name (its task-received came late).
    writer.add("t1", T0, "FAILURE", {"finished_at": repr(T0), "exception": "KeyError('k')"})
    writer.flush()
    assert [(i["task"], i["exception_type"]) for i in failures(client, token)] == [
        (None, "KeyError")
    ]
    writer.add("t1", T0 - 1, "RECEIVED", {"name": "etl.transform"})
    writer.flush()
    assert [(i["task"], i["exception_type"]) for i in failures(client, token)] == [
        ("etl.transform", "KeyError")
    ]
    assert groups(redis_client) == {"FAILURE:KeyError:etl.transform"}
    record = redis_client.hgetall(keys.monitor_task("t1"))
    assert record[TRIAGE_FIELD.encode()] == b"FAILURE:KeyError:etl.transform"
    assert record[b"exception_type"] == b"KeyError"

    # Redelivered and run again: it succeeded this time, so it leaves its group.
    writer.add("t1", T0 + 60, "SUCCESS", {"finished_at": repr(T0 + 60)})
    writer.flush()
    assert failures(client, token) == []
    assert groups(redis_client) == set()
    assert not redis_client.exists(
        keys.monitor_index(TRIAGE_FIELD, "FAILURE:KeyError:etl.transform")
    )
    assert TRIAGE_FIELD.encode() not in redis_client.hgetall(keys.monitor_task("t1"))


def test_a_retried_then_failed_task_is_grouped_by_its_last_exception(
    client: TestClient, token: Token, writer: HistoryWriter
) -> None:
    writer.add("t1", T0, "RECEIVED", {"name": "collect.http"})
    writer.add("t1", T0 + 1, "RETRY", {"exception": "TransientJobError('503')"})
    writer.flush()
    assert failures(client, token) == []
    writer.add(
        "t1", T0 + 9, "FAILURE", {"finished_at": repr(T0 + 9), "exception": "JobError('404')"}
    )
    writer.flush()
    [group] = failures(client, token)
    assert (group["exception_type"], group["last_seen"]) == ("JobError", _iso(T0 + 9))


def test_retention_drops_trimmed_tasks_from_their_groups(
    client: TestClient, token: Token, redis_client: redis.Redis
) -> None:
    writer = HistoryWriter(redis_client, max_tasks=3, max_age_s=86_400)
    for n in range(5):
        fail(writer, f"a{n}", T0 + n, "collect.http", "JobError('404')")
    fail(writer, "b0", T0, "system.sleep", "ValueError('x')")
    writer.flush()
    writer.trim()
    [group] = failures(client, token)
    assert (group["task"], group["count"], group["first_seen"]) == (
        "collect.http",
        3,
        _iso(T0 + 3),
    )
    assert groups(redis_client) == {"FAILURE:JobError:collect.http"}


LATER, EARLIER = "2026-12-04T10:00:00Z", "2026-12-04T09:00:00Z"


@pytest.mark.parametrize(
    ("query", "body", "field"),
    [
        ({"since": LATER, "until": EARLIER}, None, "since"),
        ({"since": "yesterday"}, None, "since"),
        ({"until": "soon"}, None, "until"),
        (None, {"since": LATER, "until": EARLIER}, "since"),
        (None, {"until": "soon"}, "until"),
        (None, {"state": "REVOKED", "exception_type": "ValueError"}, "exception_type"),
        (None, {"state": "SUCCESS"}, "state"),
        (None, {"task": ""}, "task"),
        (None, {"limit": 5}, "limit"),
    ],
)
def test_bad_filters_are_422_naming_the_field(
    client: TestClient,
    token: Token,
    query: dict[str, str] | None,
    body: dict[str, Any] | None,
    field: str,
) -> None:
    """The failures' window in the query; a bulk retry's filter in its body, even a dry run's."""
    if body is None:
        response = client.get(
            "/api/v1/celery/failures", params=query, headers=auth(token, "viewer")
        )
    else:
        response = client.post(
            "/api/v1/celery/tasks/retry",
            json={**body, "dry_run": True},
            headers=auth(token, "operator"),
        )
    assert response.status_code == 422, response.text
    assert [f["field"] for f in response.json()["error"]["fields"]] == [field]


def test_a_bulk_retry_takes_the_earliest_not_retried_before(
    client: TestClient, token: Token, writer: HistoryWriter
) -> None:
    count = RETRY_MAX + 5
    for n in range(count):
        fail(writer, f"a{n:04}", T0 + n, "collect.http", "JobError('404')")
    writer.flush()
    first = dry_run(client, token, task="collect.http")
    assert (first["matched"], first["ids"], first["skipped"]) == (
        count,
        [f"a{n:04}" for n in range(RETRY_MAX)],
        [],
    )
    for n in range(3):
        writer.add(f"a{n:04}", T0, None, {"retried_as": f"r{n}"})
    writer.flush()
    then = dry_run(client, token, exception_type="JobError")
    assert then["matched"] == count
    assert then["ids"] == [f"a{n:04}" for n in range(3, RETRY_MAX + 3)]
    assert then["skipped"] == [{"id": f"a{n:04}", "reason": f"retried as r{n}"} for n in range(3)]
    assert dry_run(client, token, task="system.sleep") == {
        "matched": 0,
        "dry_run": True,
        "ids": [],
        "retried": [],
        "skipped": [],
    }


def test_a_bulk_retry_of_revoked_tasks_reads_their_own_groups(
    client: TestClient, token: Token, writer: HistoryWriter, redis_client: redis.Redis
) -> None:
    fail(writer, "f1", T0, "system.sleep", "ValueError('x')")
    for n, name in enumerate(("system.sleep", "system.sleep", "system.noop")):
        writer.add(f"r{n}", T0 + n, "REVOKED", {"name": name, "finished_at": repr(T0 + 10 + n)})
    writer.flush()
    assert groups(redis_client) == {
        "FAILURE:ValueError:system.sleep",
        "REVOKED::system.sleep",
        "REVOKED::system.noop",
    }
    revoked = dry_run(client, token, state="REVOKED", since=T0 + 10, until=T0 + 11)
    assert (revoked["matched"], revoked["ids"]) == (2, ["r0", "r1"])
    assert dry_run(client, token, state="REVOKED", task="system.noop")["ids"] == ["r2"]
    # The failures summary has failures only.
    assert [i["sample"]["id"] for i in failures(client, token)] == ["f1"]
