"""Beat replicas as real `python -m sdp_beat` processes, and the task messages they sent."""

from __future__ import annotations

import json
import sys
from contextlib import ExitStack
from typing import Any

import redis

from sdp_core import keys
from sdp_testing.processes import ServiceProcess, spawn

__all__ = ["beat_env", "sent_messages", "start_beat"]


def beat_env(redis_url: str, node: str, **extra: str) -> dict[str, str]:
    """A replica named `node` whose dead leader is replaced within two seconds."""
    return {
        "REDIS_URL": redis_url,
        "SDP_BEAT_NODE_NAME": node,
        "SDP_BEAT_LOCK_TTL_S": "2",
        "SDP_BEAT_HEARTBEAT_TTL_S": "5",
        "SDP_BEAT_LOG_LEVEL": "INFO",
        **extra,
    }


def start_beat(stack: ExitStack, redis_url: str, node: str, **extra: str) -> ServiceProcess:
    """A replica that runs, and is stopped, with the stack."""
    return stack.enter_context(
        spawn([sys.executable, "-m", "sdp_beat"], beat_env(redis_url, node, **extra), name=node)
    )


def sent_messages(client: redis.Redis) -> list[dict[str, Any]]:
    """Every task message waiting on the system queue, as kombu stored it."""
    messages: list[dict[str, Any]] = []
    for key in keys.queue_keys("system"):
        messages += [json.loads(raw) for raw in client.lrange(key, 0, -1)]
    return messages
