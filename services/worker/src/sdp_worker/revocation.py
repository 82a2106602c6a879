"""Tasks honour the revocations kept in Redis (`sdp_core.revocations`) before they run.

Celery asks `Request.revoked()` in the worker's main process right before it hands a task to
its pool (`execute_using_pool` in celery/worker/request.py): for a task just received, one
that waited in the reserved buffer, and an ETA task once the consumer's timer fires it. At
reception (celery/worker/strategy.py) it asks only for ids already in its own revoked set or
tasks with an expiry. So the stored revocations are asked there, once per run; one found is
added to the worker's own revoked set and Celery's REVOKED path runs as for a broadcast
revoke: a task-revoked event, REVOKED in the result backend, the message acknowledged. When
Redis does not answer, the worker's own revoked set still applies (the revokes the monitor
broadcast to it).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import redis
from celery.worker import state
from celery.worker.request import Request

from sdp_core import revocations
from sdp_worker.outage import Outage

__all__ = ["StoredRevocations", "request_class"]

log = logging.getLogger(__name__)


class StoredRevocations:
    """Whether a task id was revoked in Redis; False, logged, when Redis does not answer.

    After a failure Redis is not asked again for `retry_after_s`: a Redis that stopped
    answering would otherwise hold every task up for the client's timeout.
    """

    def __init__(self, client: redis.Redis, retry_after_s: float = 5.0) -> None:
        self.client = client
        self.retry_after_s = retry_after_s
        self.outage = Outage(log, "reading the stored revocations")
        self._next_try = 0.0

    def __call__(self, task_id: str) -> bool:
        if self.outage.failing and time.monotonic() < self._next_try:
            return False
        try:
            found = revocations.is_revoked(self.client, task_id)
        except redis.RedisError as exc:
            self.outage.failed(exc)
            self._next_try = time.monotonic() + self.retry_after_s
            return False
        self.outage.ok()
        return found


def request_class(stored: Callable[[str], bool]) -> type[Request]:
    """Celery's task request, asking `stored` too before the task runs."""

    class RevocableRequest(Request):
        def revoked(self) -> bool:
            if super().revoked():
                return True
            if not stored(self.id):
                return False
            state.revoked.add(self.id)
            return super().revoked()

    return RevocableRequest
