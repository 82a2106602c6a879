"""Audit filters and paging on a real Redis stream; a filtered page reads a bounded number."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from sdp_core import keys
from sdp_http import errors
from sdp_monitor.app import create_app
from sdp_monitor.http.audit import SCAN_BUDGET
from sdp_monitor.http.schemas import AuditResult
from sdp_testing.auth import Token, auth

from .support import monitor_settings

# Entry times as the stream stores them: milliseconds, which are the entries' ids.
T0_MS = 1_764_770_400_000


@pytest.fixture
def client(redis_url: str, jwt_secret: str) -> Iterator[TestClient]:
    with TestClient(create_app(monitor_settings(redis_url, jwt_secret))) as client:
        yield client


def store(
    client: redis.Redis,
    ms: int,
    action: str = "queue.purge",
    target: str = "etl",
    subject: str = "alice",
    result: str = "ok",
) -> str:
    entry_id = f"{ms}-0"
    fields: dict[Any, Any] = {
        "at": str(ms / 1000),
        "subject": subject,
        "role": "admin",
        "action": action,
        "target": target,
        "result": result,
        "detail": "",
    }
    client.xadd(keys.MONITOR_AUDIT, fields, id=entry_id)
    return entry_id


@pytest.fixture
def entries(redis_client: redis.Redis) -> dict[str, str]:
    """Five entries a second apart, the oldest first."""
    return {
        "purge-etl": store(redis_client, T0_MS),
        "purge-collect": store(redis_client, T0_MS + 1000, target="collect", subject="bob"),
        "shrink": store(
            redis_client, T0_MS + 2000, "worker.pool_shrink", "w1@host-a", result="partial"
        ),
        "restart": store(redis_client, T0_MS + 3000, "worker.pool_restart", "w2@host-a"),
        "retry": store(
            redis_client, T0_MS + 4000, "task.retry", "0b7e", subject="bob", result="not_found"
        ),
    }


def get(client: TestClient, token: Token, **params: Any) -> Any:
    response = client.get("/api/v1/celery/audit", params=params, headers=auth(token, "admin"))
    assert response.status_code == 200, response.text
    return response.json()


def ids(page: dict[str, Any]) -> list[str]:
    return [item["id"] for item in page["items"]]


def test_each_filter_and_their_combination(
    client: TestClient, token: Token, entries: dict[str, str]
) -> None:
    e = entries
    newest_first = ["retry", "restart", "shrink", "purge-collect", "purge-etl"]
    assert ids(get(client, token)) == [e[name] for name in newest_first]
    assert ids(get(client, token, action="queue.purge")) == [e["purge-collect"], e["purge-etl"]]
    assert ids(get(client, token, subject="bob")) == [e["retry"], e["purge-collect"]]
    assert ids(get(client, token, result="partial")) == [e["shrink"]]
    assert ids(get(client, token, result="not_found")) == [e["retry"]]
    assert ids(get(client, token, target="w")) == [e["restart"], e["shrink"]]
    assert ids(get(client, token, target="w1@")) == [e["shrink"]]
    assert ids(get(client, token, action="queue.purge", subject="bob")) == [e["purge-collect"]]
    assert ids(get(client, token, action="queue.purge", result="partial")) == []
    assert get(client, token, action="nothing.like.it")["next_cursor"] is None


def test_since_and_until_take_iso_or_epoch_and_include_their_bounds(
    client: TestClient, token: Token, entries: dict[str, str]
) -> None:
    e = entries
    second = datetime.fromtimestamp((T0_MS + 1000) / 1000, UTC)
    fourth = datetime.fromtimestamp((T0_MS + 3000) / 1000, UTC)
    middle = [e["restart"], e["shrink"], e["purge-collect"]]
    assert ids(get(client, token, since=second.isoformat(), until=fourth.isoformat())) == middle
    naive = second.replace(tzinfo=None).isoformat()
    assert ids(get(client, token, since=naive, until=(T0_MS + 3000) / 1000)) == middle
    assert ids(get(client, token, since=str((T0_MS + 3500) / 1000))) == [e["retry"]]
    assert ids(get(client, token, until=(T0_MS + 500) / 1000)) == [e["purge-etl"]]
    assert ids(get(client, token, since=second.isoformat(), subject="bob")) == [
        e["retry"],
        e["purge-collect"],
    ]


def test_times_before_1970_bound_nothing_below_and_everything_above(
    client: TestClient, token: Token, entries: dict[str, str]
) -> None:
    """Found by the fuzz suite: a negative stream id was a Redis error, so a 500."""
    assert len(ids(get(client, token, since="0204-10-14T14:28:27"))) == len(entries)
    assert len(ids(get(client, token, since=-1, subject="bob"))) == 2
    assert ids(get(client, token, until="1969-12-31T23:59:59")) == []
    assert ids(get(client, token, since="0001-01-01T00:00:00", until=-1)) == []


def test_filtered_paging_visits_every_match_once(
    client: TestClient, token: Token, entries: dict[str, str]
) -> None:
    first = get(client, token, subject="alice", limit=2)
    assert ids(first) == [entries["restart"], entries["shrink"]]
    second = get(client, token, subject="alice", limit=2, cursor=first["next_cursor"])
    assert ids(second) == [entries["purge-etl"]]
    assert second["next_cursor"] is None
    # A cursor newer than `until` goes on from `until`, and the other way round.
    until = (T0_MS + 1000) / 1000
    assert ids(get(client, token, until=until, cursor=entries["retry"])) == [
        entries["purge-collect"],
        entries["purge-etl"],
    ]
    assert ids(get(client, token, until=until, cursor=entries["purge-collect"])) == [
        entries["purge-etl"]
    ]


def test_a_filtered_page_reads_a_bounded_number_and_says_where_to_go_on(
    client: TestClient, token: Token, redis_client: redis.Redis
) -> None:
    rare = store(redis_client, T0_MS, action="queue.purge")
    with redis_client.pipeline(transaction=False) as pipe:
        for n in range(1, SCAN_BUDGET + 100):
            pipe.xadd(
                keys.MONITOR_AUDIT,
                {"at": "0", "subject": "s", "role": "admin", "action": "task.retry"},
                id=f"{T0_MS + n}-0",
            )
        pipe.execute()
    page = get(client, token, action="queue.purge")
    assert page["items"] == []
    assert page["next_cursor"] == f"{T0_MS + 100}-0"
    rest = get(client, token, action="queue.purge", cursor=page["next_cursor"])
    assert ids(rest) == [rare]
    assert rest["next_cursor"] is None
    # Unfiltered, a page is the limit's worth.
    assert len(get(client, token, limit=500)["items"]) == 500


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"result": "fine"}, "result"),
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-13-01T00:00:00"}, "until"),
        ({"since": "2026-12-03T10:00:01Z", "until": "2026-12-03T10:00:00Z"}, "since"),
        ({"since": 1_764_770_401, "until": 1_764_770_400}, "since"),
        ({"cursor": "nope", "action": "queue.purge"}, "cursor"),
        # Digits past a stream id's 64 bits were a Redis error, so a 500.
        ({"cursor": "9" * 30 + "-0"}, "cursor"),
        ({"cursor": "1764770400000-" + "9" * 30}, "cursor"),
    ],
)
def test_bad_filters_are_422_naming_the_field(
    client: TestClient, token: Token, params: dict[str, Any], field: str
) -> None:
    response = client.get("/api/v1/celery/audit", params=params, headers=auth(token, "admin"))
    assert response.status_code == 422, response.text
    assert [f["field"] for f in response.json()["error"]["fields"]] == [field]


def _codes(cls: type[errors.ApiError]) -> set[str]:
    return {cls.code}.union(*(_codes(sub) for sub in cls.__subclasses__()))


def test_every_error_code_is_a_result_one_can_filter_by() -> None:
    assert _codes(errors.ApiError) <= {r.value for r in AuditResult}
