"""What a real beat fires, as the monitor sees it: sent, waited, run; schedules it set aside."""

from __future__ import annotations

import sys

import redis
from fastapi.testclient import TestClient

from sdp_monitor.app import create_app
from sdp_schedules.definitions import ScheduleDefinitions
from sdp_schedules.firing import ScheduleFiring
from sdp_testing.auth import Token, auth
from sdp_testing.processes import running_worker, spawn, wait_until
from sdp_testing.schedules import rewrite_definition

from .support import monitor_settings


def test_scheduled_tasks_are_seen_sent_and_their_queue_wait_measured(
    redis_url: str, redis_client: redis.Redis, jwt_secret: str, token: Token
) -> None:
    definitions = ScheduleDefinitions(redis_client)
    firing = ScheduleFiring(redis_client, runs_kept=1_000)
    app = create_app(monitor_settings(redis_url, jwt_secret))
    sample = app.state.metrics.registry.get_sample_value
    viewer = auth(token, "viewer")
    beat_env = {
        "REDIS_URL": redis_url,
        "SDP_BEAT_NODE_NAME": "beat-m",
        "SDP_BEAT_LOCK_TTL_S": "2",
        "SDP_BEAT_HEARTBEAT_TTL_S": "5",
    }
    with TestClient(app) as client, running_worker(redis_url, queues="system"):
        wait_until(
            lambda: (
                client.get("/api/v1/celery/status", headers=viewer).json()["workers_online"] == 1
            ),
            30,
            "the monitor to hear the worker",
        )
        every_second = definitions.create(
            {
                "name": "every-second",
                "task": "system.noop",
                "trigger": {"type": "interval", "every": 1},
                "max_instances": 100,
            }
        )
        broken = definitions.create(
            {"name": "broken", "task": "system.noop", "trigger": {"type": "interval", "every": 1}}
        )
        rewrite_definition(redis_client, broken.id, trigger={"type": "weekly"})

        def set_aside() -> float | None:
            client.get("/metrics")
            value: float | None = sample("celery_schedules", {"state": "set_aside"})
            return value

        with spawn([sys.executable, "-m", "sdp_beat"], beat_env, name="beat-m"):
            wait_until(lambda: set_aside() == 1, 60, "the broken schedule to be set aside")
            wait_until(
                lambda: definitions.get(every_second.id).run_count >= 3,
                60,
                "3 runs of every-second",
            )
        task_ids = [r.task_id for r in firing.runs(every_second.id, limit=1_000) if r.task_id]
        count = len(task_ids)
        wait_until(
            lambda: (
                sample("celery_tasks_total", {"name": "system.noop", "state": "SUCCESS"}) == count
            ),
            60,
            f"the {count} scheduled tasks to run",
        )
        assert sample("celery_tasks_total", {"name": "system.noop", "state": "PENDING"}) == count
        assert sample("celery_task_queue_wait_seconds_count", {"queue": "system"}) == count
        for task_id in task_ids:
            task = client.get(f"/api/v1/celery/task/{task_id}", headers=viewer).json()
            assert task["sent_at"] is not None, task
            assert task["queue"] == "system"
