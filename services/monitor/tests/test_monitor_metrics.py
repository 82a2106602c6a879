"""The monitor's /metrics: read from its registry, linted by promtool on a real scrape."""

from __future__ import annotations

import math
import subprocess
import time
from collections.abc import Callable

import pytest
import redis
from fastapi.testclient import TestClient

from sdp_core import keys
from sdp_core.celery_config import make_celery
from sdp_core.heartbeat import BeatHeartbeat
from sdp_core.settings import CommonSettings
from sdp_jobs.catalogue import CATALOGUE
from sdp_monitor.app import create_app
from sdp_monitor.metrics import MAX_LABEL_VALUES, MonitorMetrics
from sdp_testing.auth import Token, auth
from sdp_testing.processes import running_worker, wait_until

from .support import monitor_settings, publish_events


def test_a_scrape_shows_workers_queues_tasks_and_beat(
    redis_url: str,
    redis_client: redis.Redis,
    jwt_secret: str,
    token: Token,
    tool: Callable[[str], str],
) -> None:
    beat = BeatHeartbeat(
        node="beat-1",
        last_tick=time.time() - 3,
        active=4,
        paused=1,
        finished=2,
        set_aside=3,
        lag_s=0.25,
    )
    redis_client.set(keys.BEAT_HEARTBEAT, beat.to_json(), ex=60)
    sender = make_celery("test-sender", CommonSettings(redis_url=redis_url))
    app = create_app(monitor_settings(redis_url, jwt_secret))
    metrics: MonitorMetrics = app.state.metrics
    sample = metrics.registry.get_sample_value
    with TestClient(app) as client, running_worker(redis_url, queues="system") as worker:
        sender.send_task("etl.transform", kwargs={}, priority=3)
        ids = [sender.send_task("system.noop").id for _ in range(3)]
        failing = sender.send_task("system.sleep", args=[-1]).id
        wait_until(
            lambda: (
                sample("celery_tasks_total", {"name": "system.noop", "state": "SUCCESS"}) == 3
                and sample("celery_tasks_total", {"name": "system.sleep", "state": "FAILURE"}) == 1
            ),
            30,
            f"tasks {ids} and {failing} to finish",
        )
        scrape = client.get("/metrics")
        assert scrape.status_code == 200
        assert sample("celery_workers_online") == 1
        assert sample("celery_worker_up", {"worker": worker.name}) == 1
        assert sample("celery_worker_tasks_active", {"worker": worker.name}) == 0
        assert sample("celery_queue_length", {"queue": "etl"}) == 1
        assert sample("celery_queue_length", {"queue": "system"}) == 0
        assert sample("celery_tasks_total", {"name": "system.noop", "state": "PENDING"}) == 3
        assert sample("celery_task_runtime_seconds_count", {"name": "system.noop"}) == 3
        assert sample("celery_task_queue_wait_seconds_count", {"queue": "system"}) == 4
        assert sample("celery_beat_up") == 1
        assert 2 < (sample("celery_beat_heartbeat_age_seconds") or 0) < 60
        assert sample("celery_schedule_lag_seconds") == 0.25
        assert sample("celery_schedules", {"state": "active"}) == 4
        assert sample("celery_schedules", {"state": "paused"}) == 1
        assert sample("celery_schedules", {"state": "finished"}) == 2
        assert sample("celery_schedules", {"state": "set_aside"}) == 3
        assert sample("http_requests_total", {"method": "GET", "route": "/metrics"}) is None
        client.get("/api/v1/celery/status", headers=auth(token, "viewer"))
        client.get("/metrics")
        assert (
            sample(
                "http_requests_total",
                {"method": "GET", "route": "/api/v1/celery/status", "status": "200"},
            )
            == 1
        )
        text = client.get("/metrics").text
    sender.close()

    lint = subprocess.run(
        [tool("promtool"), "check", "metrics"],
        input=text,
        capture_output=True,
        text=True,
        check=False,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_a_worker_that_stops_beating_is_lost_one_that_says_goodbye_is_not(
    redis_url: str, redis_client: redis.Redis, jwt_secret: str
) -> None:
    # Offline after one missed heartbeat, which each event says it sends every `freq` s:
    # 60 s keeps a worker online throughout, 0.2 s lets it go silent at once.
    settings = monitor_settings(redis_url, jwt_secret, offline_after_heartbeats=1)
    app = create_app(settings)
    sample = app.state.metrics.registry.get_sample_value

    def worker(kind: str, name: str, freq: float = 60) -> dict[str, object]:
        return {"type": kind, "hostname": name, "freq": freq, "timestamp": time.time()}

    def scraped(name: str) -> tuple[float | None, float | None]:
        client.get("/metrics")
        labels = {"worker": name}
        return sample("celery_worker_up", labels), sample("celery_worker_lost", labels)

    with TestClient(app) as client:
        wait_until(app.state.consumer.connected.is_set, 10, "the event stream")
        publish_events(
            redis_client, [worker("worker-online", "killed@h"), worker("worker-online", "left@h")]
        )
        wait_until(lambda: scraped("left@h") == (1, 0), 10, "left@h online")
        assert scraped("killed@h") == (1, 0)
        publish_events(
            redis_client,
            [worker("worker-heartbeat", "killed@h", freq=0.2), worker("worker-offline", "left@h")],
        )
        wait_until(lambda: scraped("killed@h") == (0, 1), 10, "killed@h lost")
        # The goodbye: down, not lost, however long it stays silent.
        assert scraped("left@h") == (0, 0)
        assert sample("celery_workers_online") == 0
        publish_events(redis_client, [worker("worker-heartbeat", "killed@h")])
        wait_until(lambda: scraped("killed@h") == (1, 0), 10, "killed@h back")
        assert scraped("left@h") == (0, 0)


def test_without_beat_its_age_is_infinite_and_its_counts_absent(
    redis_url: str, jwt_secret: str
) -> None:
    app = create_app(monitor_settings(redis_url, jwt_secret))
    sample = app.state.metrics.registry.get_sample_value
    with TestClient(app) as client:
        client.get("/metrics")
    assert sample("celery_beat_up") == 0
    assert sample("celery_beat_heartbeat_age_seconds") == math.inf
    assert sample("celery_schedules", {"state": "active"}) is None
    assert sample("celery_workers_online") == 0


def test_task_name_labels_are_bounded() -> None:
    metrics = MonitorMetrics()
    for n in range(MAX_LABEL_VALUES + 50):
        metrics.task(f"job.{n}", "SUCCESS", 0.1)
    names = {
        s.labels["name"]
        for family in metrics.registry.collect()
        if family.name == "celery_tasks"
        for s in family.samples
    }
    assert len(names) == MAX_LABEL_VALUES + 1
    assert (
        metrics.registry.get_sample_value(
            "celery_tasks_total", {"name": "other", "state": "SUCCESS"}
        )
        == 50
    )


def test_histograms_count_a_bound_in_its_own_bucket_and_sum_every_observation() -> None:
    metrics = MonitorMetrics()
    for seconds in (0.01, 0.02, 0.5, 7200.0):
        metrics.task("job.a", "SUCCESS", seconds)
    metrics.waited("etl", -0.5)  # clocks disagree: counted as no wait at all
    metrics.waited(None, 2.0)
    sample = metrics.registry.get_sample_value
    runtime = "celery_task_runtime_seconds"
    assert sample(f"{runtime}_bucket", {"name": "job.a", "le": "0.01"}) == 1
    assert sample(f"{runtime}_bucket", {"name": "job.a", "le": "0.5"}) == 3
    assert sample(f"{runtime}_bucket", {"name": "job.a", "le": "3600.0"}) == 3
    assert sample(f"{runtime}_bucket", {"name": "job.a", "le": "+Inf"}) == 4
    assert sample(f"{runtime}_count", {"name": "job.a"}) == 4
    assert sample(f"{runtime}_sum", {"name": "job.a"}) == pytest.approx(7200.53)
    assert sample("celery_tasks_total", {"name": "job.a", "state": "SUCCESS"}) == 4
    wait = "celery_task_queue_wait_seconds"
    assert sample(f"{wait}_bucket", {"queue": "etl", "le": "0.001"}) == 1
    assert sample(f"{wait}_sum", {"queue": "etl"}) == 0
    assert sample(f"{wait}_bucket", {"queue": "unknown", "le": "1.0"}) == 0
    assert sample(f"{wait}_bucket", {"queue": "unknown", "le": "5.0"}) == 1


def test_every_catalogue_job_exports_its_soft_time_limit() -> None:
    sample = MonitorMetrics().registry.get_sample_value
    for name, job in CATALOGUE.items():
        limit = sample("celery_task_soft_time_limit_seconds", {"name": name})
        assert limit == job.policy.soft_time_limit_s, name


def test_a_scrape_reads_the_broker_memory_and_its_limit(
    redis_url: str, redis_client: redis.Redis, jwt_secret: str
) -> None:
    app = create_app(monitor_settings(redis_url, jwt_secret))
    sample = app.state.metrics.registry.get_sample_value
    limit = 512 * 1024 * 1024
    redis_client.config_set("maxmemory", limit)
    try:
        with TestClient(app) as client:
            assert client.get("/metrics").status_code == 200
            used = sample("celery_broker_memory_used_bytes")
            assert used is not None and 0 < used < limit
            assert sample("celery_broker_memory_max_bytes") == limit
            redis_client.config_set("maxmemory", 0)
            client.get("/metrics")
            assert sample("celery_broker_memory_max_bytes") == 0
    finally:
        redis_client.config_set("maxmemory", 0)


def test_a_broker_refusing_info_leaves_its_memory_out_and_the_scrape_whole(
    redis_url: str, redis_client: redis.Redis, jwt_secret: str
) -> None:
    # A broker account that may do everything but INFO, as some managed Redis services allow.
    redis_client.acl_setuser(
        "no-info",
        enabled=True,
        passwords=["+pw"],
        keys=["*"],
        channels=["*"],
        commands=["+@all", "-info"],
    )
    try:
        broker = redis_url.replace("redis://", "redis://no-info:pw@", 1)
        app = create_app(monitor_settings(redis_url, jwt_secret, broker_url=broker))
        sample = app.state.metrics.registry.get_sample_value
        with TestClient(app) as client:
            scrape = client.get("/metrics")
        assert scrape.status_code == 200
        assert sample("celery_workers_online") == 0
        assert sample("celery_broker_memory_used_bytes") is None
        assert sample("celery_broker_memory_max_bytes") is None
    finally:
        redis_client.acl_deluser("no-info")
