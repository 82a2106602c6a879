"""Waiting for schedule changes: the ids every store write publishes on ``SCHEDULE_CHANGES``.

A scheduler sleeping until its next due time waits here instead, so a write that brings a
due time forward (or pauses, or deletes) is obeyed at once.
"""

from __future__ import annotations

import contextlib
from typing import Any

import redis

from sdp_core import keys
from sdp_core.replies import text

__all__ = ["ScheduleChanges"]


class ScheduleChanges:
    """A subscription to ``SCHEDULE_CHANGES``, made when first needed and again after close()."""

    def __init__(self, client: redis.Redis) -> None:
        self._client = client
        self._pubsub: Any = None

    def subscribe(self) -> None:
        """Subscribe, if not yet, so that the next wait sees every write from here on.

        A reader that loads schedules subscribes first, so no write between its read and its
        wait goes unseen.  A Redis error is raised with nothing subscribed.
        """
        if self._pubsub is None:
            pubsub = self._client.pubsub()  # type: ignore[no-untyped-call]
            try:
                pubsub.subscribe(keys.SCHEDULE_CHANGES)
            except redis.RedisError:
                with contextlib.suppress(redis.RedisError):
                    pubsub.close()
                raise
            self._pubsub = pubsub

    def wait(self, timeout_s: float) -> list[str]:
        """The ids written within ``timeout_s`` (none: it passed), with every one already waiting.

        A burst of writes is drained at once, so it wakes the waiter once.  A Redis error
        drops the subscription (the next wait subscribes again) and is raised.
        """
        self.subscribe()
        try:
            changed: list[str] = []
            message = self._pubsub.get_message(ignore_subscribe_messages=True, timeout=timeout_s)
            while message is not None:
                changed.append(text(message["data"]))
                message = self._pubsub.get_message(ignore_subscribe_messages=True, timeout=0)
            return changed
        except redis.RedisError:
            self.close()
            raise

    def close(self) -> None:
        """Drop the subscription, e.g. when a notification may have been lost meanwhile."""
        if self._pubsub is not None:
            with contextlib.suppress(redis.RedisError):
                self._pubsub.close()
            self._pubsub = None
