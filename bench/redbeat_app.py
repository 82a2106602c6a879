"""celery-redbeat as bench/beat.py runs it: same Celery configuration as our services.

``python bench/redbeat_app.py`` (env ``REDIS_URL``, ``BENCH_REDBEAT_PREFIX``) is
``celery beat -S redbeat.RedBeatScheduler`` with one change: a thin subclass pushes
``[entry name, due time, time sent]`` (epoch seconds) onto ``SENDS_KEY`` after every send, so
the bench can measure lag and duplicates.  redbeat itself is not modified and keeps its
defaults (lock timeout 5 x beat_max_loop_interval, beat_max_loop_interval 300 s).
"""

from __future__ import annotations

import json
import os
import time
from datetime import datetime, timedelta
from typing import Any, cast

from celery import Celery
from celery.schedules import schedule
from redbeat.schedulers import (
    RedBeatScheduler,
    RedBeatSchedulerEntry,
    get_redis,
)

from sdp_core.celery_config import make_celery
from sdp_core.settings import CommonSettings

__all__ = [
    "SENDS_KEY",
    "RecordingRedBeatScheduler",
    "interval_entry",
    "make_app",
]

# Outside redbeat's key prefix, so its own keys are measured on their own.
SENDS_KEY = "bench:redbeat:sends"


def make_app(redis_url: str, prefix: str) -> Celery:
    """Our Celery configuration (broker, queues, routes) plus redbeat's connection and prefix."""
    app = make_celery("bench_redbeat", CommonSettings(redis_url=redis_url))
    app.conf.update(
        redbeat_redis_url=redis_url,
        redbeat_key_prefix=prefix,
        # What redbeat 2.4 does anyway (broker transport options are not passed to its client);
        # set only to silence its deprecation warning about falling back to them.
        redbeat_redis_options={},
    )
    return app


def interval_entry(
    app: Celery,
    name: str,
    every: timedelta,
    last_run_at: datetime,
    *,
    enabled: bool = True,
) -> Any:
    """A ``system.noop`` entry every ``every``, next due at ``last_run_at + every``."""
    entry = RedBeatSchedulerEntry(
        name, "system.noop", schedule(run_every=every, app=app), app=app, enabled=enabled
    )
    entry.last_run_at = last_run_at
    return entry


def due_of(entry: Any) -> float | None:
    """When an interval entry was due (its last run plus the period), as epoch seconds."""
    every = getattr(entry.schedule, "run_every", None)
    if entry.last_run_at is None or not isinstance(every, timedelta):
        return None
    due: datetime = entry.last_run_at + every
    return due.timestamp()


class RecordingRedBeatScheduler(RedBeatScheduler):  # type: ignore[misc]
    """redbeat's scheduler, recording each send after it went out."""

    def apply_async(
        self, entry: Any, producer: Any = None, advance: bool = True, **kwargs: Any
    ) -> Any:
        due = due_of(entry)
        result = super().apply_async(entry, producer, advance, **kwargs)
        sent = time.time()
        get_redis(self.app).rpush(SENDS_KEY, json.dumps([entry.name, due, sent]))
        return result


def main() -> None:
    app = make_app(os.environ["REDIS_URL"], os.environ["BENCH_REDBEAT_PREFIX"])
    # Celery takes the class itself as well as its dotted name.
    app.Beat(scheduler=cast(Any, RecordingRedBeatScheduler), loglevel="INFO").run()


if __name__ == "__main__":
    main()
