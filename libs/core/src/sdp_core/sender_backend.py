"""Celery's Redis result backend, without the subscription it makes for every task sent.

Celery subscribes the sender to each task's result channel, and unsubscribes when the result
object is dropped, on a pubsub connection that only `AsyncResult.get()` reads (celery/celery#6963).
The platform's senders (the API, beat, the monitor's retry) never call it, so every send left
about 118 bytes of replies unread there; some 170k sends later the socket and Redis's pubsub
output buffer were full and a send blocked for the backend's 120 s socket timeout.
"""

from __future__ import annotations

from typing import Any

from celery.backends.redis import RedisBackend

__all__ = ["SenderRedisBackend", "result_backend_url"]

_REDIS_SCHEMES = ("redis", "rediss")


class SenderRedisBackend(RedisBackend):
    """Subscribes to a result only when `get()` waits for it.

    `get()` subscribes by itself and reads a result stored before it did, so nothing is lost.
    """

    def on_task_call(self, producer: Any, task_id: str) -> None:
        return None


def result_backend_url(url: str) -> str:
    """The `result_backend` setting for a backend URL: Redis through `SenderRedisBackend`."""
    if url.partition("://")[0] not in _REDIS_SCHEMES:
        return url
    # Celery takes a backend class named before a '+' in the URL's scheme.
    return f"{__name__}:{SenderRedisBackend.__name__}+{url}"
