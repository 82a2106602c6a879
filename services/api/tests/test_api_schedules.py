"""`/api/v1/schedules` on real Redis; the end-to-end case with a real beat and worker.

What the API accepts is strict, bounded numbers and dates; the maxima are also sent the way
the platform sends them (its Celery app, a real beat and worker) to show they can be carried.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import pytest
import redis
from fastapi.testclient import TestClient

from sdp_api.app import create_app
from sdp_api.settings import ApiSettings
from sdp_core import keys
from sdp_core.celery_config import make_celery
from sdp_core.replies import text
from sdp_schedules.definitions import ScheduleDefinitions
from sdp_schedules.firing import ScheduleFiring
from sdp_schedules.model import EXPIRES_MAX_S, PERIOD_MAX_S
from sdp_testing.auth import Token, auth
from sdp_testing.processes import running_worker, spawn, wait_until
from sdp_testing.schedules import rewrite_definition, rival_writes_before

BASE = "/api/v1/schedules"
TASKS = "/api/v1/tasks"
WEEK_S = 7 * 86_400


def schedule_doc(name: str = "orders", **changes: Any) -> dict[str, Any]:
    return {
        "name": name,
        "task": "collect.http",
        "kwargs": {"url": "https://example.org/orders.json"},
        "trigger": {"type": "interval", "every": 30, "unit": "seconds"},
        **changes,
    }


@pytest.fixture
def client(redis_url: str, jwt_secret: str) -> Iterator[TestClient]:
    settings = ApiSettings(environment="test", jwt_secret=jwt_secret, redis_url=redis_url)
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def operator(token: Token) -> dict[str, str]:
    return auth(token, "operator")


@pytest.fixture
def viewer(token: Token) -> dict[str, str]:
    return auth(token, "viewer")


def test_create_read_update_delete(
    client: TestClient, operator: dict[str, str], viewer: dict[str, str]
) -> None:
    created = client.post(BASE, json=schedule_doc(), headers=operator)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["state"] == "active"
    assert body["run_count"] == 0
    assert body["next_run_at"] is not None
    assert body["misfire"] == {"policy": "run_once", "grace_s": 60}
    schedule_id = body["id"]
    assert client.get(f"{BASE}/{schedule_id}", headers=viewer).json() == body

    patched = client.patch(
        f"{BASE}/{schedule_id}",
        json={"trigger": {"type": "interval", "every": 5}},
        headers=operator,
    )
    assert patched.status_code == 200
    assert patched.json()["trigger"]["every"] == 5
    assert patched.json()["kwargs"] == body["kwargs"]

    paused = client.post(f"{BASE}/{schedule_id}/pause", headers=operator).json()
    assert (paused["state"], paused["enabled"], paused["next_run_at"]) == ("paused", False, None)
    resumed = client.post(f"{BASE}/{schedule_id}/resume", headers=operator).json()
    assert resumed["state"] == "active"

    assert client.delete(f"{BASE}/{schedule_id}", headers=operator).status_code == 204
    assert client.get(f"{BASE}/{schedule_id}", headers=viewer).status_code == 404
    assert client.delete(f"{BASE}/{schedule_id}", headers=operator).status_code == 404


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"task": "nope.nothing"}, "task"),
        ({"trigger": {"type": "crontab", "minute": "99"}}, "trigger.crontab.minute"),
        ({"trigger": {"type": "crontab", "timezone": "Nowhere/Land"}}, "trigger.crontab.timezone"),
        ({"queue": "elsewhere"}, "queue"),
        ({"kwargs": {}}, "kwargs.url"),
        ({"start_at": "2027-01-02T00:00:00Z", "end_at": "2027-01-01T00:00:00Z"}, "end_at"),
    ],
)
def test_validation_names_the_field(
    client: TestClient, operator: dict[str, str], changes: dict[str, Any], field: str
) -> None:
    answer = client.post(BASE, json=schedule_doc(**changes), headers=operator)
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "validation_error"
    assert field in [f["field"] for f in error["fields"]], error
    assert client.get(BASE, headers=operator).json()["items"] == []


def test_duplicate_names_conflict(client: TestClient, operator: dict[str, str]) -> None:
    assert client.post(BASE, json=schedule_doc(), headers=operator).status_code == 201
    again = client.post(BASE, json=schedule_doc(), headers=operator)
    assert again.status_code == 409
    assert again.json()["error"]["fields"][0]["field"] == "name"


def test_a_schedule_that_keeps_changing_under_a_write_is_409(
    client: TestClient,
    operator: dict[str, str],
    redis_client: redis.Redis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    schedule_id = client.post(BASE, json=schedule_doc(), headers=operator).json()["id"]
    definitions: Any = client.app.state.definitions  # type: ignore[attr-defined]
    rival = ScheduleDefinitions(redis_client)

    def bump(n: int) -> None:
        rival.replace(schedule_id, schedule_doc(priority=n % 5))

    monkeypatch.setattr(definitions, "_put", rival_writes_before(definitions._put, bump))
    monkeypatch.setattr(definitions, "_delete", rival_writes_before(definitions._delete, bump))
    for answer in (
        client.patch(f"{BASE}/{schedule_id}", json={"name": "renamed"}, headers=operator),
        client.delete(f"{BASE}/{schedule_id}", headers=operator),
    ):
        assert answer.status_code == 409, answer.text
        assert "changed meanwhile" in answer.json()["error"]["message"]
        assert not answer.json()["error"].get("fields")
    assert client.get(f"{BASE}/{schedule_id}", headers=operator).json()["name"] == "orders"


def test_a_runs_cursor_past_a_redis_index_is_422(
    client: TestClient, operator: dict[str, str]
) -> None:
    """Found by the fuzz suite: 27 digits were an LRANGE error, so a 500."""
    created = client.post(BASE, json=schedule_doc(), headers=operator).json()
    runs = f"{BASE}/{created['id']}/runs"
    assert client.get(runs, params={"cursor": "9" * 18}, headers=operator).json()["items"] == []
    refused = client.get(runs, params={"cursor": "9" * 27}, headers=operator)
    assert refused.status_code == 422, refused.text
    assert [f["field"] for f in refused.json()["error"]["fields"]] == ["cursor"]


def test_list_filters_and_pages(client: TestClient, operator: dict[str, str]) -> None:
    for n in range(5):
        client.post(BASE, json=schedule_doc(f"orders-{n}"), headers=operator)
    other = client.post(
        BASE,
        json=schedule_doc("sleepy", task="system.sleep", kwargs={"seconds": 1}),
        headers=operator,
    ).json()
    client.post(f"{BASE}/{other['id']}/pause", headers=operator)
    first = client.get(BASE, params={"limit": 2, "name": "orders-"}, headers=operator).json()
    assert [s["name"] for s in first["items"]] == ["orders-0", "orders-1"]
    rest = client.get(
        BASE,
        params={"limit": 10, "name": "orders-", "cursor": first["next_cursor"]},
        headers=operator,
    ).json()
    assert [s["name"] for s in rest["items"]] == ["orders-2", "orders-3", "orders-4"]
    assert rest["next_cursor"] is None
    paused = client.get(BASE, params={"state": "paused"}, headers=operator).json()["items"]
    assert [s["name"] for s in paused] == ["sleepy"]
    by_queue = client.get(BASE, params={"queue": "collect"}, headers=operator).json()["items"]
    assert len(by_queue) == 5
    assert client.get(BASE, params={"limit": 0}, headers=operator).status_code == 422


def test_run_now_is_recorded_and_runs_on_a_worker(
    client: TestClient, operator: dict[str, str], redis_url: str
) -> None:
    created = client.post(
        BASE,
        json=schedule_doc(
            "noop",
            task="system.noop",
            kwargs={},
            trigger={"type": "interval", "every": 1, "unit": "days"},
        ),
        headers=operator,
    ).json()
    with running_worker(redis_url):
        accepted = client.post(f"{BASE}/{created['id']}/run", headers=operator)
        assert accepted.status_code == 202
        task_id = accepted.json()["task_id"]

        def succeeded() -> bool:
            runs = client.get(f"{BASE}/{created['id']}/runs", headers=operator).json()["items"]
            return bool(runs) and runs[0]["state"] == "SUCCESS"

        wait_until(succeeded, 30, "the run to succeed")
    runs = client.get(f"{BASE}/{created['id']}/runs", headers=operator).json()
    assert runs["items"][0]["task_id"] == task_id
    assert client.get(f"{BASE}/{created['id']}", headers=operator).json()["run_count"] == 1
    assert client.post(f"{BASE}/missing/run", headers=operator).status_code == 404


def test_a_schedule_fires_on_a_worker_through_beat(
    client: TestClient, operator: dict[str, str], redis_url: str, redis_client: redis.Redis
) -> None:
    env = {"REDIS_URL": redis_url, "SDP_BEAT_NODE_NAME": "beat-api-test"}
    with (
        running_worker(redis_url),
        spawn([sys.executable, "-m", "sdp_beat"], env, name="beat") as beat,
    ):
        wait_until(lambda: bool(redis_client.exists(keys.BEAT_HEARTBEAT)), 30, "beat to lead")
        created_at = time.time()
        body = client.post(
            BASE,
            json=schedule_doc(
                "every-second",
                task="system.noop",
                kwargs={},
                trigger={"type": "interval", "every": 1},
            ),
            headers=operator,
        ).json()
        path = f"{BASE}/{body['id']}"

        def runs() -> list[dict[str, Any]]:
            items: list[dict[str, Any]] = client.get(f"{path}/runs", headers=operator).json()[
                "items"
            ]
            return items

        wait_until(lambda: any(r["state"] == "SUCCESS" for r in runs()), 10, "a run on the worker")
        first = min(datetime.fromisoformat(r["fired_at"]).timestamp() for r in runs())
        assert first - created_at <= 2.0

        client.post(f"{path}/pause", headers=operator)
        paused_at = time.time()
        time.sleep(2.5)
        fired = [datetime.fromisoformat(r["fired_at"]).timestamp() for r in runs()]
        assert max(fired) <= paused_at + 1.0

        client.post(f"{path}/resume", headers=operator)
        wait_until(lambda: len(runs()) > len(fired), 5, "runs after resume")

        assert client.delete(path, headers=operator).status_code == 204
        assert client.get(f"{path}/runs", headers=operator).status_code == 404
        assert beat.alive()


def test_requests_show_on_metrics_by_route_template(
    client: TestClient, operator: dict[str, str]
) -> None:
    created = client.post(BASE, json=schedule_doc(), headers=operator).json()
    assert client.get(f"{BASE}/{created['id']}", headers=operator).status_code == 200
    assert client.get(f"{BASE}/nope", headers=operator).status_code == 404
    text = client.get("/metrics").text
    route = f"{BASE}/{{schedule_id}}"
    assert f'http_requests_total{{method="GET",route="{route}",status="200"}} 1.0' in text
    assert f'http_requests_total{{method="GET",route="{route}",status="404"}} 1.0' in text
    assert f'http_requests_total{{method="POST",route="{BASE}",status="201"}} 1.0' in text
    assert created["id"] not in text


def test_a_schedule_beat_set_aside_shows_why_until_it_is_fixed_resumed_or_deleted(
    client: TestClient, operator: dict[str, str], viewer: dict[str, str], redis_client: redis.Redis
) -> None:
    doc = schedule_doc("unfireable", task="system.noop", kwargs={}, expires_s=30)
    created = client.post(BASE, json=doc, headers=operator).json()
    client.post(BASE, json=schedule_doc("fine"), headers=operator)
    path = f"{BASE}/{created['id']}"
    definitions = ScheduleDefinitions(redis_client)
    firing = ScheduleFiring(redis_client)
    reason = "OverflowError: Python int too large to convert to C int"

    def set_aside() -> None:
        # What beat does with a schedule it cannot fire.
        assert firing.set_aside(created["id"], str(definitions.get(created["id"]).version), reason)

    def counts() -> dict[str, int]:
        status = client.get("/api/v1/scheduler/status", headers=viewer).json()
        return {k: v for k, v in status.items() if k.startswith("schedules_")}

    set_aside()
    shown = client.get(path, headers=viewer).json()
    assert (shown["state"], shown["set_aside_reason"], shown["next_run_at"]) == (
        "set_aside",
        reason,
        None,
    )
    assert shown["set_aside_at"] is not None
    listed = client.get(BASE, params={"state": "set_aside"}, headers=viewer).json()["items"]
    assert [item["id"] for item in listed] == [created["id"]]
    assert counts() == {
        "schedules_active": 1,
        "schedules_paused": 0,
        "schedules_finished": 0,
        "schedules_set_aside": 1,
    }

    fixed = client.patch(path, json={"expires_s": 60}, headers=operator).json()
    assert (fixed["state"], fixed["set_aside_at"], fixed["set_aside_reason"]) == (
        "active",
        None,
        None,
    )
    assert fixed["next_run_at"] is not None
    assert counts()["schedules_set_aside"] == 0

    set_aside()
    resumed = client.post(f"{path}/resume", headers=operator).json()
    assert (resumed["state"], resumed["set_aside_reason"]) == ("active", None)
    assert resumed["next_run_at"] is not None

    set_aside()
    assert client.delete(path, headers=operator).status_code == 204
    assert counts()["schedules_set_aside"] == 0


# --- bounds: helpers ----------------------------------------------------------------------


def noop(name: str = "bounded", **changes: Any) -> dict[str, Any]:
    return schedule_doc(name, **{"task": "system.noop", "kwargs": {}, **changes})


def crontab(**fields: Any) -> dict[str, Any]:
    return {"type": "crontab", "minute": "0", **fields}


def refused_fields(answer: Any) -> list[str]:
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "validation_error"
    return [f["field"] for f in error["fields"]]


# --- refused on create --------------------------------------------------------------------

MINUTES_20K = ",".join(["0"] * 20_000)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        # Celery's send turns the expiry into now + timedelta: beat died on these.
        ({"expires_s": 9_223_372_036_854_775_807}, "expires_s"),
        ({"expires_s": 300_000_000_000}, "expires_s"),
        ({"expires_s": EXPIRES_MAX_S + 1}, "expires_s"),
        ({"expires_s": "60"}, "expires_s"),
        # A crontab walking past year 9999 answered 500.
        ({"trigger": crontab(), "start_at": "9999-12-31T00:00:00Z"}, "start_at"),
        ({"start_at": "3000-01-01T00:00:00Z"}, "start_at"),
        ({"start_at": "1969-12-31T23:59:59Z"}, "start_at"),
        ({"end_at": "9999-12-31T00:00:00Z"}, "end_at"),
        ({"trigger": {"type": "once", "at": "3000-01-01T00:00:00Z"}}, "trigger.once.at"),
        ({"trigger": {"type": "interval", "every": True}}, "trigger.interval.every"),
        ({"trigger": {"type": "interval", "every": "5"}}, "trigger.interval.every"),
        ({"trigger": {"type": "interval", "every": 5.0}}, "trigger.interval.every"),
        ({"trigger": {"type": "interval", "every": PERIOD_MAX_S + 1}}, "trigger.interval.every"),
        (
            {"trigger": {"type": "interval", "every": 527_041, "unit": "minutes"}},
            "trigger.interval.every",
        ),
        (
            {"trigger": {"type": "interval", "every": 8_785, "unit": "hours"}},
            "trigger.interval.every",
        ),
        (
            {"trigger": {"type": "interval", "every": 367, "unit": "days"}},
            "trigger.interval.every",
        ),
        ({"trigger": crontab(timezone="localtime")}, "trigger.crontab.timezone"),
        ({"trigger": crontab(timezone="posixrules")}, "trigger.crontab.timezone"),
        ({"trigger": crontab(timezone="Factory")}, "trigger.crontab.timezone"),
        ({"trigger": crontab(timezone="/usr/share/zoneinfo/UTC")}, "trigger.crontab.timezone"),
        ({"trigger": crontab(minute=MINUTES_20K)}, "trigger.crontab.minute"),
        ({"trigger": crontab(hour=",".join(["1"] * 25))}, "trigger.crontab.hour"),
        ({"trigger": crontab(day_of_week="1" + " " * 300)}, "trigger.crontab.day_of_week"),
        ({"end_at": "2020-01-01T00:00:00Z"}, "end_at"),
        ({"priority": "5"}, "priority"),
        ({"priority": True}, "priority"),
        ({"jitter_s": True}, "jitter_s"),
        ({"max_instances": "2"}, "max_instances"),
        ({"misfire": {"grace_s": True}}, "misfire.grace_s"),
        ({"enabled": "false"}, "enabled"),
        ({"enabled": 0}, "enabled"),
        ({"task": "system.sleep", "kwargs": {"seconds": True}}, "kwargs.seconds"),
        ({"task": "system.cleanup", "kwargs": {"older_than_s": 10**12}}, "kwargs.older_than_s"),
    ],
)
def test_a_schedule_out_of_bounds_is_refused_naming_the_field(
    client: TestClient, operator: dict[str, str], changes: dict[str, Any], field: str
) -> None:
    answer = client.post(BASE, json=noop(**changes), headers=operator)
    assert field in refused_fields(answer)
    assert client.get(BASE, headers=operator).json()["items"] == []


def test_the_period_refusal_says_the_maximum_for_the_unit(
    client: TestClient, operator: dict[str, str]
) -> None:
    trigger = {"type": "interval", "every": 8_785, "unit": "hours"}
    answer = client.post(BASE, json=noop(trigger=trigger), headers=operator)
    (message,) = [f["message"] for f in answer.json()["error"]["fields"]]
    assert "8,784 hours" in message


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"priority": "5"}, "priority"),
        ({"priority": True}, "priority"),
        ({"countdown": True}, "countdown"),
        ({"countdown": "10"}, "countdown"),
        ({"countdown": WEEK_S + 1}, "countdown"),
        ({"task": "system.sleep", "kwargs": {"seconds": "1"}}, "kwargs.seconds"),
    ],
)
def test_a_task_submission_out_of_bounds_is_refused(
    client: TestClient, operator: dict[str, str], body: dict[str, Any], field: str
) -> None:
    answer = client.post(TASKS, json={"task": "system.noop", **body}, headers=operator)
    assert field in refused_fields(answer)


# --- the maxima are accepted and can be carried -------------------------------------------


@pytest.mark.parametrize(
    "trigger",
    [
        {"type": "interval", "every": PERIOD_MAX_S},
        {"type": "interval", "every": 527_040, "unit": "minutes"},
        {"type": "interval", "every": 8_784, "unit": "hours"},
        {"type": "interval", "every": 366, "unit": "days"},
    ],
)
def test_the_longest_period_in_each_unit_is_accepted(
    client: TestClient, operator: dict[str, str], trigger: dict[str, Any]
) -> None:
    answer = client.post(BASE, json=noop(trigger=trigger), headers=operator)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    created = datetime.fromisoformat(body["created_at"])
    assert datetime.fromisoformat(body["next_run_at"]) - created == timedelta(days=366)


def test_every_maximum_at_once_is_accepted(client: TestClient, operator: dict[str, str]) -> None:
    document = noop(
        trigger=crontab(minute=",".join(str(m) for m in range(60)), timezone="Pacific/Kiritimati"),
        priority=9,
        expires_s=EXPIRES_MAX_S,
        jitter_s=3_600,
        max_instances=100,
        misfire={"policy": "skip", "grace_s": WEEK_S},
        start_at="2999-12-31T23:00:00Z",
        end_at="2999-12-31T23:59:59.999Z",
    )
    answer = client.post(BASE, json=document, headers=operator)
    assert answer.status_code == 201, answer.text
    assert answer.json()["next_run_at"] == "2999-12-31T23:00:00Z"
    once = {"type": "once", "at": "2999-12-31T23:59:59.999Z"}
    answer = client.post(BASE, json=noop("last-moment", trigger=once), headers=operator)
    assert answer.json()["state"] == "active", answer.text


def test_the_platforms_sender_carries_the_longest_expiry_and_countdown(
    redis_url: str, redis_client: redis.Redis, jwt_secret: str
) -> None:
    settings = ApiSettings(environment="test", jwt_secret=jwt_secret, redis_url=redis_url)
    celery = make_celery("bounds", settings)
    sent_at = datetime.now(UTC)
    celery.send_task(
        "system.noop", queue="system", priority=9, expires=EXPIRES_MAX_S, countdown=WEEK_S
    )
    (raw,) = [m for key in keys.queue_keys("system") for m in redis_client.lrange(key, 0, -1)]
    headers = json.loads(raw)["headers"]
    expires = datetime.fromisoformat(headers["expires"])
    assert expires - sent_at >= timedelta(seconds=EXPIRES_MAX_S)
    assert datetime.fromisoformat(headers["eta"]) - sent_at >= timedelta(seconds=WEEK_S)
    # What the bound keeps out: the value beat died on.
    with pytest.raises(OverflowError):
        celery.send_task("system.noop", queue="system", expires=300_000_000_000)


def test_a_submission_at_the_maxima_is_queued(
    client: TestClient, operator: dict[str, str], redis_client: redis.Redis
) -> None:
    body = {"task": "system.noop", "priority": 9, "countdown": WEEK_S}
    answer = client.post(TASKS, json=body, headers=operator)
    assert answer.status_code == 202, answer.text
    queued = [m for key in keys.queue_keys("system") for m in redis_client.lrange(key, 0, -1)]
    assert [json.loads(m)["headers"]["id"] for m in queued] == [answer.json()["id"]]


def test_beat_fires_a_schedule_at_the_maxima(
    client: TestClient, operator: dict[str, str], redis_url: str, redis_client: redis.Redis
) -> None:
    env = {"REDIS_URL": redis_url, "SDP_BEAT_NODE_NAME": "beat-bounds"}
    with (
        running_worker(redis_url),
        spawn([sys.executable, "-m", "sdp_beat"], env, name="beat") as beat,
    ):
        wait_until(lambda: bool(redis_client.exists(keys.BEAT_HEARTBEAT)), 30, "beat to lead")
        document = noop(
            trigger={"type": "interval", "every": 1},
            priority=9,
            expires_s=EXPIRES_MAX_S,
            max_instances=100,
            misfire={"policy": "run_all", "grace_s": WEEK_S},
        )
        created = client.post(BASE, json=document, headers=operator).json()
        runs = f"{BASE}/{created['id']}/runs"

        def succeeded() -> bool:
            items = client.get(runs, headers=operator).json()["items"]
            return any(r["state"] == "SUCCESS" for r in items)

        wait_until(succeeded, 30, "a run at the maxima to succeed")
        assert beat.alive()


# --- end_at in the past, PATCH ------------------------------------------------------------


def test_a_change_that_ends_in_the_past_is_refused(
    client: TestClient, operator: dict[str, str]
) -> None:
    created = client.post(BASE, json=noop(), headers=operator).json()
    path = f"{BASE}/{created['id']}"
    for change, field in [
        ({"end_at": "2020-01-01T00:00:00Z"}, "end_at"),
        ({"trigger": {"type": "once", "at": "2020-01-01T00:00:00Z"}}, "trigger.once.at"),
    ]:
        assert field in refused_fields(client.patch(path, json=change, headers=operator))
    assert client.get(path, headers=operator).json() == created


@pytest.mark.parametrize(
    "field",
    [
        "name",
        "task",
        "args",
        "kwargs",
        "trigger",
        "enabled",
        "misfire",
        "max_instances",
        "jitter_s",
    ],
)
def test_patch_refuses_null_where_a_field_cannot_be_unset(
    client: TestClient, operator: dict[str, str], field: str
) -> None:
    created = client.post(BASE, json=noop(), headers=operator).json()
    path = f"{BASE}/{created['id']}"
    assert refused_fields(client.patch(path, json={field: None}, headers=operator)) == [field]


def test_patch_unsets_the_nullable_fields_and_refuses_lax_numbers(
    client: TestClient, operator: dict[str, str]
) -> None:
    document = noop(
        queue="system",
        priority=1,
        expires_s=60,
        start_at="2030-01-01T00:00:00Z",
        end_at="2031-01-01T00:00:00Z",
    )
    created = client.post(BASE, json=document, headers=operator).json()
    path = f"{BASE}/{created['id']}"
    nullable = ("queue", "priority", "start_at", "end_at", "expires_s")
    unset = client.patch(path, json=dict.fromkeys(nullable), headers=operator)
    assert unset.status_code == 200, unset.text
    assert all(unset.json()[name] is None for name in nullable)
    for change in ({"priority": "5"}, {"jitter_s": True}, {"expires_s": 300_000_000_000}):
        assert list(change) == refused_fields(client.patch(path, json=change, headers=operator))


# --- static schedules ---------------------------------------------------------------------


def test_a_static_schedule_is_paused_here_and_changed_in_beats_configuration(
    client: TestClient, operator: dict[str, str], redis_client: redis.Redis
) -> None:
    # As beat seeds system.cleanup from its configuration.
    static = ScheduleDefinitions(redis_client).create(
        noop("system.cleanup", task="system.cleanup", trigger={"type": "interval", "every": 3600}),
        static=True,
    )
    path = f"{BASE}/{static.id}"
    deleted = client.delete(path, headers=operator)
    assert deleted.status_code == 409, deleted.text
    assert deleted.json()["error"]["fields"][0]["field"] == "static"
    assert "beat's configuration" in deleted.json()["error"]["message"]
    changed = client.patch(
        path, json={"trigger": {"type": "interval", "every": 60}}, headers=operator
    )
    assert changed.status_code == 409, changed.text

    assert client.post(f"{path}/pause", headers=operator).json()["state"] == "paused"
    resumed = client.patch(path, json={"enabled": True, "name": "system.cleanup"}, headers=operator)
    assert resumed.json()["state"] == "active", resumed.text
    assert resumed.json()["trigger"]["every"] == 3600


# --- entries stored before the bounds -----------------------------------------------------


# Definitions the API accepted before it bounded them: (name, the unbounded fields, the field
# a change must fix).
UNBOUNDED: list[tuple[str, dict[str, Any], str]] = [
    ("a-huge-expiry", {"expires_s": 9_223_372_036_854_775_807}, "expires_s"),
    ("b-far-crontab", {"trigger": crontab(), "start_at": "9999-12-31T00:00:00Z"}, "start_at"),
    ("c-far-interval", {"start_at": "9999-12-31T00:00:00Z"}, "start_at"),
    (
        "d-long-period",
        {"trigger": {"type": "interval", "every": 1_000_000, "unit": "days"}},
        "trigger.interval.every",
    ),
    (
        "e-host-zone",
        {"trigger": crontab(minute=MINUTES_20K, timezone="localtime")},
        "trigger.crontab.minute",
    ),
    ("f-ended", {"end_at": "2020-01-01T00:00:00Z"}, "end_at"),
]


def store_unbounded(
    client: TestClient, operator: dict[str, str], redis_client: redis.Redis
) -> list[str]:
    """Create each schedule of UNBOUNDED, then give it its fields behind the store's back."""
    ids = []
    for name, changes, _ in UNBOUNDED:
        schedule_id = client.post(BASE, json=noop(name), headers=operator).json()["id"]
        rewrite_definition(redis_client, schedule_id, **changes)
        ids.append(schedule_id)
    return ids


def test_an_entry_stored_before_the_bounds_still_reads_pauses_and_deletes(
    client: TestClient, operator: dict[str, str], redis_client: redis.Redis
) -> None:
    ids = store_unbounded(client, operator, redis_client)
    listed = client.get(BASE, headers=operator)
    assert listed.status_code == 200, listed.text
    assert [s["name"] for s in listed.json()["items"]] == [name for name, _, _ in UNBOUNDED]
    for schedule_id, (name, changes, field) in zip(ids, UNBOUNDED, strict=True):
        path = f"{BASE}/{schedule_id}"
        shown = client.get(path, headers=operator)
        assert shown.status_code == 200, shown.text
        # Shown as stored (the trigger with its defaults filled in).
        for key, value in changes.items():
            stored = shown.json()[key]
            assert value.items() <= stored.items() if isinstance(value, dict) else stored == value
        assert client.post(f"{path}/pause", headers=operator).status_code == 200
        resumed = client.post(f"{path}/resume", headers=operator)
        assert resumed.status_code == 200, resumed.text
        # A changed definition is held to the bounds, so the answer names what to fix.
        renamed = client.patch(path, json={"name": f"{name}-2"}, headers=operator)
        assert field in refused_fields(renamed)
        assert client.delete(path, headers=operator).status_code == 204
    assert client.get(BASE, headers=operator).json()["items"] == []


def test_a_far_start_stored_before_the_bounds_finishes_when_resumed(
    client: TestClient, operator: dict[str, str], redis_client: redis.Redis
) -> None:
    far_crontab = store_unbounded(client, operator, redis_client)[1]
    path = f"{BASE}/{far_crontab}"
    client.post(f"{path}/pause", headers=operator)
    resumed = client.post(f"{path}/resume", headers=operator).json()
    assert (resumed["state"], resumed["next_run_at"]) == ("finished", None)
    fixed = client.patch(path, json={"start_at": "2999-12-31T23:00:00Z"}, headers=operator)
    assert fixed.json()["next_run_at"] == "2999-12-31T23:00:00Z", fixed.text


# --- entries whose stored definition no longer decodes ------------------------------------


class Breakage(NamedTuple):
    """How a stored definition stops decoding (an upgrade dropped its task or trigger type, a
    hand edit), and a PATCH that fixes just that."""

    name: str
    stored: dict[str, Any]
    field: str  # the field the reason names
    fix: dict[str, Any]


UNDECODABLE = [
    Breakage("task-gone", {"task": "collect.ftp"}, "task", {"task": "system.noop"}),
    Breakage(
        "trigger-gone",
        {"trigger": {"type": "weekly", "day": "mon"}},
        "trigger",
        {"trigger": {"type": "interval", "every": 60}},
    ),
    Breakage(
        "zone-directory",
        {"trigger": crontab(timezone="America")},
        "trigger.crontab.timezone",
        {"trigger": crontab(timezone="America/New_York")},
    ),
]


def store_undecodable(
    client: TestClient,
    operator: dict[str, str],
    redis_client: redis.Redis,
    name: str,
    **stored: Any,
) -> str:
    schedule_id: str = client.post(BASE, json=noop(name), headers=operator).json()["id"]
    rewrite_definition(redis_client, schedule_id, **stored)
    return schedule_id


def stored_definition(redis_client: redis.Redis, schedule_id: str) -> str:
    return text(redis_client.hget(keys.schedule_bucket(schedule_id), schedule_id)).partition("|")[2]


@pytest.mark.parametrize("case", UNDECODABLE, ids=lambda case: case.name)
def test_an_entry_that_no_longer_decodes_is_read_as_set_aside(
    client: TestClient,
    operator: dict[str, str],
    viewer: dict[str, str],
    redis_client: redis.Redis,
    case: Breakage,
) -> None:
    name, stored, field, _ = case
    good = client.post(BASE, json=noop("a-good"), headers=operator).json()
    broken = store_undecodable(client, operator, redis_client, name, **stored)
    listed = client.get(BASE, headers=viewer)
    assert listed.status_code == 200, listed.text
    first, shown = listed.json()["items"]
    assert first == good
    assert client.get(f"{BASE}/{broken}", headers=viewer).json() == shown
    # Only what the stored entry says, and the definition as stored.
    assert shown["stored_definition"] == stored_definition(redis_client, broken)
    assert json.loads(shown["stored_definition"])["name"] == name
    assert (shown["id"], shown["name"], shown["state"], shown["next_run_at"]) == (
        broken,
        name,
        "set_aside",
        None,
    )
    assert (shown["run_count"], shown["static"], shown["set_aside_at"]) == (0, False, None)
    assert shown["created_at"] is not None
    assert "task" not in shown and "trigger" not in shown
    reason = shown["set_aside_reason"]
    assert reason.startswith(f"the stored definition no longer decodes: {field}: ")
    assert len(reason) <= 500
    # Filters: it counts as set aside, and its task and queue are not known.
    for params, expected in [
        ({"state": "set_aside"}, [broken]),
        ({"state": "active"}, [good["id"]]),
        ({"state": "paused"}, []),
        ({"task": "system.noop"}, [good["id"]]),
        ({"queue": "system"}, [good["id"]]),
        ({"name": name[:4]}, [broken]),
    ]:
        found = client.get(BASE, params=params, headers=viewer)
        assert [s["id"] for s in found.json()["items"]] == expected, (params, found.text)
    assert client.get(f"{BASE}/{broken}/runs", headers=viewer).json()["items"] == []
    assert client.get("/api/v1/scheduler/status", headers=viewer).status_code == 200


@pytest.mark.parametrize("case", UNDECODABLE, ids=lambda case: case.name)
def test_an_entry_that_no_longer_decodes_is_fixed_replaced_or_deleted_and_nothing_else(
    client: TestClient, operator: dict[str, str], redis_client: redis.Redis, case: Breakage
) -> None:
    name, stored, field, fix = case
    broken = store_undecodable(client, operator, redis_client, name, **stored)
    path = f"{BASE}/{broken}"
    before = stored_definition(redis_client, broken)
    for action in ("pause", "resume", "run"):
        refused = client.post(f"{path}/{action}", headers=operator)
        assert refused.status_code == 409, (action, refused.text)
        error = refused.json()["error"]
        assert error["code"] == "conflict"
        assert "no longer decodes" in error["message"]
        assert "PUT" in error["message"]
    # A change that leaves the stored fault in place names it.
    unfixed = client.patch(path, json={"priority": 3}, headers=operator)
    assert field in refused_fields(unfixed)
    assert "no longer decodes" in unfixed.json()["error"]["message"]
    assert stored_definition(redis_client, broken) == before
    assert client.get(f"{BASE}/{broken}/runs", headers=operator).status_code == 200

    fixed = client.patch(path, json=fix, headers=operator)
    assert fixed.status_code == 200, fixed.text
    body = fixed.json()
    assert (body["state"], body["set_aside_reason"], body["name"]) == ("active", None, name)
    assert body["next_run_at"] is not None
    assert body["kwargs"] == {}

    rewrite_definition(redis_client, broken, **stored)
    whole = noop(f"{name}-2", trigger={"type": "interval", "every": 5}, priority=2)
    replaced = client.put(path, json=whole, headers=operator)
    assert replaced.status_code == 200, replaced.text
    body = replaced.json()
    assert (body["state"], body["name"], body["priority"]) == ("active", f"{name}-2", 2)
    assert [s["name"] for s in client.get(BASE, headers=operator).json()["items"]] == [f"{name}-2"]

    rewrite_definition(redis_client, broken, **stored)
    assert client.delete(path, headers=operator).status_code == 204
    assert client.get(path, headers=operator).status_code == 404
    assert client.get(BASE, headers=operator).json()["items"] == []
    assert redis_client.zcard(keys.SCHEDULE_NAMES) == 0


def test_an_entry_that_is_no_json_at_all_reads_and_is_replaced_whole(
    client: TestClient, operator: dict[str, str], redis_client: redis.Redis
) -> None:
    schedule_id = client.post(BASE, json=noop("garbled"), headers=operator).json()["id"]
    bucket = keys.schedule_bucket(schedule_id)
    head = text(redis_client.hget(bucket, schedule_id)).partition("|")[0]
    # A hand edit that left no JSON, so no name: the entry's head is kept as stored.
    redis_client.hset(bucket, schedule_id, f"{head}|{{not json")
    path = f"{BASE}/{schedule_id}"
    shown = client.get(path, headers=operator).json()
    # Named as it is indexed.
    assert client.get(BASE, headers=operator).json()["items"] == [shown]
    assert (shown["name"], shown["stored_definition"], shown["state"]) == (
        "garbled",
        "{not json",
        "set_aside",
    )
    assert shown["set_aside_reason"].startswith("the stored definition no longer decodes: ")
    assert set(refused_fields(client.patch(path, json={}, headers=operator))) == {
        "name",
        "task",
        "trigger",
    }
    replaced = client.put(path, json=noop("garbled"), headers=operator)
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["state"] == "active"
    redis_client.hset(bucket, schedule_id, f"{head}|[]")
    assert client.delete(path, headers=operator).status_code == 204
    assert redis_client.zcard(keys.SCHEDULE_NAMES) == 0


def test_a_static_entry_that_no_longer_decodes_can_be_deleted_for_beat_to_seed_again(
    client: TestClient, operator: dict[str, str], redis_client: redis.Redis
) -> None:
    static = ScheduleDefinitions(redis_client).create(noop("system.cleanup"), static=True)
    rewrite_definition(redis_client, static.id, task="system.retired")
    path = f"{BASE}/{static.id}"
    assert client.get(path, headers=operator).json()["static"] is True
    for answer in (
        client.patch(path, json={"task": "system.noop"}, headers=operator),
        client.put(path, json=noop("system.cleanup"), headers=operator),
    ):
        assert answer.status_code == 409, answer.text
        assert "beat seeds it again" in answer.json()["error"]["message"]
    assert client.delete(path, headers=operator).status_code == 204
    assert redis_client.scard(keys.SCHEDULE_STATIC) == 0


# --- run now ------------------------------------------------------------------------------


def test_run_now_sends_as_a_scheduled_send_does(
    client: TestClient, operator: dict[str, str], redis_client: redis.Redis
) -> None:
    created = client.post(
        BASE, json=noop("expiring", expires_s=600, priority=2, queue="system"), headers=operator
    ).json()
    before = datetime.now(UTC)
    accepted = client.post(f"{BASE}/{created['id']}/run", headers=operator)
    after = datetime.now(UTC)
    assert accepted.status_code == 202, accepted.text
    (raw,) = [m for key in keys.queue_keys("system") for m in redis_client.lrange(key, 0, -1)]
    message = json.loads(raw)
    headers = message["headers"]
    assert headers["id"] == accepted.json()["task_id"]
    ten_minutes = timedelta(seconds=600)
    assert before + ten_minutes <= datetime.fromisoformat(headers["expires"]) <= after + ten_minutes
    assert message["properties"]["priority"] == 2
    assert headers["sdp_schedule"] == created["id"]
    # Known to the task API like any submission.
    task = client.get(f"{TASKS}/{headers['id']}", headers=operator).json()
    assert (task["state"], task["queue"]) == ("PENDING", "system")
