"""Helpers of the monitor's tests: quick settings and events on Redis."""

from __future__ import annotations

import base64
import json
from typing import Any

import redis
from celery import Celery
from kombu.message import Message
from kombu.utils.json import loads as kombu_loads

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


def kombu_message(app: Celery, data: bytes) -> Message:
    """A message as stored on Redis, as kombu's Redis transport reads it."""
    with app.connection_for_read() as connection:
        channel: Any = connection.default_channel
        message: Message = channel.Message(kombu_loads(data), channel=channel)
        return message


def kombu_body(app: Celery, data: bytes) -> Any:
    """The body as kombu's Redis transport and its Message decode it."""
    return kombu_message(app, data).decode()
