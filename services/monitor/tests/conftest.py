"""Fixtures the monitor's tests share: the app on the test's Redis, a history writer beside it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from fastapi.testclient import TestClient

from sdp_monitor.app import create_app
from sdp_monitor.history.writer import HistoryWriter

from .support import monitor_settings


@pytest.fixture
def client(redis_url: str, jwt_secret: str) -> Iterator[TestClient]:
    with TestClient(create_app(monitor_settings(redis_url, jwt_secret))) as client:
        yield client


@pytest.fixture
def writer(redis_client: redis.Redis) -> HistoryWriter:
    return HistoryWriter(redis_client, max_tasks=100, max_age_s=3_600)
