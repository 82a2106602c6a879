"""The Celery configuration every service shares, built from settings."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from celery import Celery
from kombu import Exchange
from kombu import Queue as KombuQueue

from sdp_core import keys
from sdp_core.connections import celery_url
from sdp_core.queues import DEFAULT_PRIORITY, QUEUES, Queue
from sdp_core.sender_backend import result_backend_url
from sdp_core.settings import CommonSettings

__all__ = ["MAX_POOL_PROCESSES", "UNACKED_MUTEX_EXPIRE_S", "celery_config", "make_celery"]

# The most processes a worker's pool may have: at start (SDP_WORKER_CONCURRENCY) or grown
# through the monitor, so a typo cannot fork thousands.
MAX_POOL_PROCESSES = 256
# How long kombu's lock over putting back unacknowledged messages outlives the process holding it.
UNACKED_MUTEX_EXPIRE_S = 15


def celery_config(settings: CommonSettings) -> dict[str, Any]:
    broker, broker_sentinel = celery_url(settings.broker)
    backend, backend_sentinel = celery_url(settings.backend)
    return {
        "broker_url": broker,
        # Celery takes CELERY_BROKER_URL from the environment over broker_url, but these two
        # over it: the URL as translated above, whatever the environment holds.
        "broker_read_url": broker,
        "broker_write_url": broker,
        "result_backend": result_backend_url(backend),
        # The master's name and the sentinels' options, when the backend is found through them.
        "result_backend_transport_options": dict(backend_sentinel),
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": {
            **broker_sentinel,
            "priority_steps": list(keys.PRIORITY_STEPS),
            "sep": keys.PRIORITY_SEP,
            "queue_order_strategy": "priority",
            "visibility_timeout": settings.visibility_timeout_s,
            # A dead worker's unacknowledged message comes back within about a tenth of the
            # visibility timeout after it expires, not kombu's default of up to 100 s.
            "unacked_restore_interval": min(10, max(1, settings.visibility_timeout_s // 10)),
            "unacked_restore_throttle": 1,
            # A worker killed while it holds the restore lock leaves it behind; kombu's 300 s
            # default then holds every dead worker's messages back for five minutes. A restore
            # that outlives the lock is still safe: each message is put back in a transaction
            # that watches the unacked hash, so it comes back once.
            "unacked_mutex_expire": UNACKED_MUTEX_EXPIRE_S,
            # A broker that vanishes without closing the socket must not hang a publish.
            "socket_timeout": 30,
            "socket_connect_timeout": 5,
            "health_check_interval": 25,
        },
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "result_accept_content": ["json"],
        "result_expires": timedelta(seconds=settings.result_expires_s),
        "result_extended": True,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "task_track_started": True,
        "task_send_sent_event": True,
        "worker_send_task_events": True,
        "worker_prefetch_multiplier": 1,
        "task_queues": [
            KombuQueue(q.value, Exchange(q.value), routing_key=q.value) for q in QUEUES
        ],
        "task_default_queue": Queue.system.value,
        "task_default_priority": DEFAULT_PRIORITY,
        # Sends by name (the API, beat) take their priority from the route, not the default.
        "task_routes": {
            f"{q.value}.*": {"queue": q.value, "priority": DEFAULT_PRIORITY} for q in QUEUES
        },
        "timezone": "UTC",
        "enable_utc": True,
    }


def make_celery(main: str, settings: CommonSettings) -> Celery:
    """A Celery app with the shared configuration and no tasks registered."""
    app = Celery(main, set_as_current=False)
    config = celery_config(settings)
    app.conf.update(config)
    # Celery takes CELERY_RESULT_BACKEND from the environment over result_backend, untranslated
    # and without the sender backend; a backend given to the app comes before either.
    app.backend_cls = config["result_backend"]
    return app
