"""Celery's Redis result backend, without the subscription it makes for every task sent.

Celery subscribes the sender to each task's result channel, and unsubscribes when the result
object is dropped, on a pubsub connection that only `AsyncResult.get()` reads (celery/celery#6963).
The platform's senders (the API, beat, the monitor's retry) never call it, so every send left
about 118 bytes of replies unread there; some 170k sends later the socket and Redis's pubsub
output buffer were full and a send blocked for the backend's 120 s socket timeout.
"""

from __future__ import annotations

from typing import Any

from celery.backends.redis import RedisBackend, SentinelBackend

__all__ = ["SenderRedisBackend", "SenderSentinelBackend", "result_backend_url"]


class _SubscribeOnGet(RedisBackend):
    """Subscribes to a result only when `get()` waits for it.

    `get()` subscribes by itself and reads a result stored before it did, so nothing is lost.
    """

    def on_task_call(self, producer: Any, task_id: str) -> None:
        return None


class SenderRedisBackend(_SubscribeOnGet):
    """Redis's result backend, subscribing on `get()` only."""


class SenderSentinelBackend(_SubscribeOnGet, SentinelBackend):
    """The result backend through Redis Sentinel, subscribing on `get()` only."""


_BACKENDS: dict[str, type[RedisBackend]] = {
    "redis": SenderRedisBackend,
    "rediss": SenderRedisBackend,
    "sentinel": SenderSentinelBackend,
}


def result_backend_url(url: str) -> str:
    """The `result_backend` setting for a backend URL in Celery's form: Redis (plain or
    through Sentinel) through a backend that subscribes on `get()` only."""
    backend = _BACKENDS.get(url.partition("://")[0])
    if backend is None:
        return url
    # Celery takes a backend class named before a '+' in the URL's scheme.
    return f"{__name__}:{backend.__name__}+{url}"
