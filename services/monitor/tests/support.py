"""Helpers of the monitor's tests: quick settings and events on Redis."""

from __future__ import annotations

import base64
import json
from typing import Any

import redis

from sdp_monitor.settings import MonitorSettings


def monitor_settings(redis_url: str, jwt_secret: str, **overrides: Any) -> MonitorSettings:
    """Production defaults, but queues discovered and history written without delay."""
    values: dict[str, Any] = {
        "environment": "test",
        "jwt_secret": jwt_secret,
        "redis_url": redis_url,
        "queue_discovery_s": 0.2,
        "history_flush_s": 0.05,
        **overrides,
    }
    return MonitorSettings(**values)


def event(kind: str, task_id: str, at: float, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "uuid": task_id, "timestamp": at, **fields}


def publish_events(client: redis.Redis, events: object) -> None:
    """One event message as kombu puts it on the Redis fanout: a base64 body in an envelope."""
    body = base64.b64encode(json.dumps(events).encode()).decode()
    envelope = {
        "body": body,
        "content-encoding": "utf-8",
        "content-type": "application/json",
        "headers": {"hostname": "w"},
        "properties": {"body_encoding": "base64", "delivery_info": {"exchange": "celeryev"}},
    }
    client.publish("/0.celeryev/task.multi", json.dumps(envelope))
