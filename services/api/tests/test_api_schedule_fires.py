"""`POST /api/v1/schedules/preview` and `GET /api/v1/schedules/upcoming` over HTTP, on real
Redis, with the store's clock set by the test."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from sdp_api.app import create_app
from sdp_api.settings import ApiSettings
from sdp_schedules import upcoming
from sdp_schedules.timing import from_ms, to_ms
from sdp_testing.auth import Token, auth
from sdp_testing.clock import Clock
from sdp_testing.schedules import schedule_doc

BASE = "/api/v1/schedules"
NOW = to_ms(datetime(2026, 10, 23, 12, 0, tzinfo=UTC))
BERLIN_0230 = {"type": "crontab", "minute": "30", "hour": "2", "timezone": "Europe/Berlin"}


@pytest.fixture
def client(
    redis_url: str, jwt_secret: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    settings = ApiSettings(environment="test", jwt_secret=jwt_secret, redis_url=redis_url)
    with TestClient(create_app(settings)) as client:
        definitions: Any = client.app.state.definitions  # type: ignore[attr-defined]
        monkeypatch.setattr(definitions, "clock", Clock(NOW))
        yield client


@pytest.fixture
def viewer(token: Token) -> dict[str, str]:
    return auth(token, "viewer")


@pytest.fixture
def operator(token: Token) -> dict[str, str]:
    return auth(token, "operator")


def error_fields(answer: Any) -> list[str]:
    assert answer.status_code == 422, answer.text
    return [f["field"] for f in answer.json()["error"]["fields"]]


def test_preview_words_and_fires_across_the_autumn_fold(
    client: TestClient, viewer: dict[str, str]
) -> None:
    answer = client.post(
        f"{BASE}/preview", json={"trigger": BERLIN_0230, "count": 3}, headers=viewer
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "description": "at 02:30 every day (Europe/Berlin)",
        "fires": [
            "2026-10-24T02:30:00+02:00",
            "2026-10-25T02:30:00+02:00",
            "2026-10-26T02:30:00+01:00",
        ],
    }


def test_preview_defaults_to_five_fires_and_cuts_at_end_at(
    client: TestClient, viewer: dict[str, str]
) -> None:
    trigger = {"type": "interval", "every": 1, "unit": "hours"}
    five = client.post(f"{BASE}/preview", json={"trigger": trigger}, headers=viewer).json()
    assert five["description"] == "every hour"
    assert five["fires"][0] == "2026-10-23T13:00:00Z"
    assert len(five["fires"]) == 5
    ending = {"trigger": trigger, "end_at": "2026-10-23T15:30:00Z", "count": 50}
    cut = client.post(f"{BASE}/preview", json=ending, headers=viewer).json()
    assert cut["fires"] == ["2026-10-23T13:00:00Z", "2026-10-23T14:00:00Z", "2026-10-23T15:00:00Z"]


def test_preview_of_a_once_in_the_past_has_no_fires(
    client: TestClient, viewer: dict[str, str]
) -> None:
    past = {"trigger": {"type": "once", "at": "2026-10-01T00:00:00Z"}}
    answer = client.post(f"{BASE}/preview", json=past, headers=viewer)
    assert answer.json() == {"description": "once at 2026-10-01T00:00:00+00:00", "fires": []}


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"trigger": BERLIN_0230, "count": 51}, ["count"]),
        ({"trigger": BERLIN_0230, "count": 0}, ["count"]),
        ({"trigger": BERLIN_0230, "count": "5"}, ["count"]),
        ({"trigger": {**BERLIN_0230, "minute": "61"}}, ["trigger.crontab.minute"]),
        ({"trigger": {**BERLIN_0230, "timezone": "Mars/Olympus"}}, ["trigger.crontab.timezone"]),
        (
            {"trigger": {**BERLIN_0230, "day_of_month": "31", "month_of_year": "feb"}},
            ["trigger.crontab.day_of_month"],
        ),
        (
            {
                "trigger": BERLIN_0230,
                "start_at": "2027-01-01T00:00:00Z",
                "end_at": "2026-12-01T00:00:00Z",
            },
            ["end_at"],
        ),
    ],
)
def test_preview_refuses_what_a_new_schedule_would_be_refused_for(
    client: TestClient,
    viewer: dict[str, str],
    operator: dict[str, str],
    body: dict[str, Any],
    fields: list[str],
) -> None:
    assert error_fields(client.post(f"{BASE}/preview", json=body, headers=viewer)) == fields
    document = schedule_doc(**{k: v for k, v in body.items() if k != "count"})
    if "count" not in fields:
        created = client.post(BASE, json=document, headers=operator)
        assert error_fields(created) == fields


def test_preview_and_upcoming_need_a_token(client: TestClient) -> None:
    assert client.post(f"{BASE}/preview", json={"trigger": BERLIN_0230}).status_code == 401
    assert client.get(f"{BASE}/upcoming").status_code == 401


def test_upcoming_pages_the_fires_of_active_schedules(
    client: TestClient, viewer: dict[str, str], operator: dict[str, str]
) -> None:
    ids = {}
    for name, every in (("fast", 600), ("slow", 1_800)):
        trigger = {"type": "interval", "every": every}
        created = client.post(BASE, json=schedule_doc(name, trigger), headers=operator).json()
        ids[name] = created["id"]
    client.post(BASE, json=schedule_doc("off", enabled=False), headers=operator)
    pages: list[list[dict[str, Any]]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        answer = client.get(f"{BASE}/upcoming", params=params, headers=viewer)
        assert answer.status_code == 200, answer.text
        pages.append(answer.json()["items"])
        cursor = answer.json()["next_cursor"]
        if cursor is None:
            break
    fires = [(f["at"], f["name"]) for page in pages for f in page]
    minute = 60_000
    expected = sorted(
        [(NOW + k * 10 * minute, "fast") for k in range(1, 7)]
        + [(NOW + k * 30 * minute, "slow") for k in range(1, 3)],
        key=lambda fire: (fire[0], ids[fire[1]]),
    )
    assert fires == [(from_ms(at).isoformat().replace("+00:00", "Z"), n) for at, n in expected]
    assert [len(page) for page in pages] == [2, 2, 2, 2]
    assert pages[0][0] == {
        "at": "2026-10-23T12:10:00Z",
        "schedule_id": ids["fast"],
        "name": "fast",
        "task": "system.noop",
    }


def test_upcoming_in_a_given_window(
    client: TestClient, viewer: dict[str, str], operator: dict[str, str]
) -> None:
    client.post(BASE, json=schedule_doc("nightly", BERLIN_0230), headers=operator)
    window = {"since": "2026-10-25T00:00:00Z", "until": "2026-10-26T12:00:00+01:00"}
    answer = client.get(f"{BASE}/upcoming", params=window, headers=viewer).json()
    assert [f["at"] for f in answer["items"]] == ["2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"]
    assert answer["next_cursor"] is None


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "2026-10-24T00:00:00Z", "until": "2026-10-23T00:00:00Z"}, "until"),
        ({"since": "2026-10-24T00:00:00Z", "until": "2026-11-01T00:00:01Z"}, "until"),
        ({"since": "2026-10-24T00:00:00"}, "since"),
        ({"since": "yesterday"}, "since"),
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"cursor": "not a cursor"}, "cursor"),
    ],
)
def test_upcoming_refuses_bad_parameters(
    client: TestClient, viewer: dict[str, str], params: dict[str, Any], field: str
) -> None:
    assert error_fields(client.get(f"{BASE}/upcoming", params=params, headers=viewer)) == [field]


def test_upcoming_far_behind_is_422_naming_since(
    client: TestClient,
    viewer: dict[str, str],
    operator: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("a", "b"):
        client.post(BASE, json=schedule_doc(name), headers=operator)
    monkeypatch.setattr(upcoming, "BEHIND_BUDGET", 1)
    ahead = {"since": "2026-10-24T00:00:00Z"}
    assert error_fields(client.get(f"{BASE}/upcoming", params=ahead, headers=viewer)) == ["since"]
