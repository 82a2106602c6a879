"""Beat as a real process: static schedule, heartbeat, health command."""

from __future__ import annotations

import subprocess
import sys

import pytest
import redis
from pydantic import ValidationError

from sdp_beat.app import create_app
from sdp_beat.heartbeat import read_heartbeat
from sdp_beat.settings import BeatSettings
from sdp_testing.processes import spawn, wait_until


def test_static_schedule_has_hourly_cleanup() -> None:
    app = create_app(BeatSettings(cleanup_every_s=120))
    entry = app.conf.beat_schedule["system.cleanup"]
    assert entry["task"] == "system.cleanup"
    assert entry["schedule"] == 120.0


def test_heartbeat_must_outlive_a_tick() -> None:
    with pytest.raises(ValidationError, match="heartbeat_ttl_s"):
        BeatSettings(max_interval_s=10, heartbeat_ttl_s=10)


def health(redis_url: str) -> int:
    env = {"REDIS_URL": redis_url, "PATH": ""}
    return subprocess.run(
        [sys.executable, "-m", "sdp_beat.health"], env=env, capture_output=True, timeout=30
    ).returncode


def test_beat_process_heartbeats_and_health_follows(
    redis_url: str, redis_client: redis.Redis, tmp_path: object
) -> None:
    assert health(redis_url) == 1
    env = {
        "REDIS_URL": redis_url,
        "SDP_BEAT_SCHEDULE_FILE": f"{tmp_path}/schedule",
        "SDP_BEAT_MAX_INTERVAL_S": "1",
        "SDP_BEAT_HEARTBEAT_TTL_S": "5",
    }
    with spawn([sys.executable, "-m", "sdp_beat"], env, name="beat") as beat:
        wait_until(lambda: read_heartbeat(redis_client) is not None, 30, "a beat heartbeat")
        assert health(redis_url) == 0
        first = read_heartbeat(redis_client)
        assert first is not None
        wait_until(
            lambda: (
                (hb := read_heartbeat(redis_client)) is not None and hb.last_tick > first.last_tick
            ),
            10,
            "the next tick",
        )
        assert beat.alive()
    wait_until(lambda: health(redis_url) == 1, 10, "the heartbeat to expire")
