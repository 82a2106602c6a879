"""``celery beat --scheduler sdp_beat.scheduler:RedisBeatScheduler``.

A thin ``celery.beat.Scheduler`` over the firing engine: each tick leads or stands by, fires
what is due, writes the heartbeat, then waits for the next due time, a change notification or
the lock's refresh time, whichever comes first.  Redis errors never end the process: the
replica steps down, backs off (capped) and competes again.
"""

from __future__ import annotations

import logging
import time
from contextlib import AbstractContextManager
from typing import Any, cast

import redis
from celery.beat import Scheduler

from sdp_beat.firing import BROKER_ERRORS, FiringEngine, TickReport
from sdp_beat.messages import MessageEncoder
from sdp_beat.settings import BeatSettings
from sdp_beat.static import seed_static
from sdp_core import keys
from sdp_core.backoff import Backoff
from sdp_core.connections import sync_client
from sdp_core.heartbeat import BeatHeartbeat, write_heartbeat
from sdp_core.results import unfinished
from sdp_schedules.changes import ScheduleChanges
from sdp_schedules.definitions import ScheduleDefinitions
from sdp_schedules.firing import ScheduleFiring
from sdp_schedules.leader import LeaderLock
from sdp_schedules.records import Schedule
from sdp_schedules.sending import send_options

__all__ = ["RedisBeatScheduler"]

log = logging.getLogger(__name__)


def _same_redis(settings: BeatSettings) -> bool:
    return settings.broker == settings.redis_url


class RedisBeatScheduler(Scheduler):
    def __init__(self, app: Any, *args: Any, **kwargs: Any) -> None:
        self.settings: BeatSettings = app.conf.sdp_beat_settings
        # Celery's own loop must wake at least this often for its remote-control staleness
        # check; our waits are shorter still.
        kwargs["max_interval"] = self.settings.lock_ttl_s
        self._client: redis.Redis | None = None
        self._backoff = Backoff()
        self._waiting = False
        self._next_resync = 0.0
        self._next_heartbeat = 0.0
        self._report = TickReport(leading=False, sent=0, next_due_ms=None)
        super().__init__(app, *args, **kwargs)

    # -- celery.beat.Scheduler ---------------------------------------------------------------

    def setup_schedule(self) -> None:
        settings = self.settings
        self._client = sync_client(settings.redis_url, socket_timeout=5, socket_connect_timeout=5)
        self.definitions = ScheduleDefinitions(self._client)
        self.firing = ScheduleFiring(self._client, runs_kept=settings.schedule_runs_kept)
        self.changes = ScheduleChanges(self._client)
        self.lock = LeaderLock(self._client, settings.node_name, int(settings.lock_ttl_s * 1000))
        # Its events carry the logical clock Celery's own sends forward.
        clock = cast(Any, self.app).clock
        self.messages = MessageEncoder(lambda: self.producer, self._send, clock.forward)
        self.engine = FiringEngine(
            self.firing,
            self.lock,
            self._send,
            lambda task_ids: unfinished(self.app, task_ids),
            batch_size=settings.batch_size,
            catchup_limit=settings.catchup_limit,
            inflight_max_age_ms=settings.result_expires_s * 1000,
            batch=self._batch,
            encode=self.messages.encode if _same_redis(settings) else None,
        )
        # The first tick's re-sync seeds the static entries.

    def tick(self, *args: Any, **kwargs: Any) -> float:
        try:
            self._maybe_resync()
            self._report = self.engine.tick()
            self._beat()
            self._backoff.reset()
        except BROKER_ERRORS as exc:
            self.lock.step_down()
            delay = self._backoff.next()
            log.warning("beat: redis or broker error (%s); retrying in %.1fs", exc, delay)
            self.changes.close()
            return delay
        self._wait(self._delay())
        # The wait above was the sleep; Celery's loop goes straight to the next tick.
        return 0.0

    def close(self) -> None:
        """Hand the lock over at once (a standby needn't wait out the TTL) and disconnect.

        Celery calls this from its SIGTERM handler too, possibly while the main thread is
        blocked reading change notifications; the connections are then left for the second
        call, made once that read has been interrupted.
        """
        if self._client is None:
            return
        try:
            if self.lock.held:
                self.lock.release()
                self._client.delete(keys.BEAT_HEARTBEAT)
            self._client.delete(keys.beat_node(self.settings.node_name))
        except redis.RedisError as exc:
            log.warning("beat: could not release the lock on shutdown: %s", exc)
        if self._waiting:
            return
        self.changes.close()
        self._client.close()
        self._client = None
        super().close()

    @property
    def _timezone(self) -> str:
        return str(self.app.conf.timezone or "UTC")

    @property
    def info(self) -> str:
        return f"    . node -> {self.settings.node_name} (lock ttl {self.settings.lock_ttl_s}s)"

    # -- the pieces --------------------------------------------------------------------------

    def _send(self, schedule: Schedule, task_id: str, slot_ms: int) -> None:
        options = send_options(schedule, slot_ms)
        # As celery.beat marks the tasks it sends.
        options["headers"]["celery_beat_task"] = True
        self.app.send_task(
            schedule.spec.task.value, task_id=task_id, producer=self.producer, **options
        )

    def _batch(self) -> AbstractContextManager[object]:
        # kombu 5.7's publish batch: a tick's sends leave in one Redis pipeline.  The producer
        # is looked up on each tick because Celery recreates it after a connection reset.
        batch: AbstractContextManager[object] = cast(Any, self.producer).batch()
        return batch

    def _delay(self) -> float:
        """Seconds until this replica has something to do."""
        settings = self.settings
        if not self._report.leading:
            return settings.standby_poll_s
        # Extending the lock three times per TTL leaves two chances to survive a slow call.
        delay = settings.lock_ttl_s / 3
        if self._report.next_due_ms is not None:
            delay = min(delay, (self._report.next_due_ms - self.firing.clock()) / 1000)
        return max(0.0, delay)

    def _wait(self, delay: float) -> None:
        if delay <= 0:
            return
        self._waiting = True
        try:
            self.changes.wait(delay)
        except redis.RedisError as exc:
            log.warning("beat: change notifications unavailable (%s)", exc)
            time.sleep(min(delay, 1.0))
        finally:
            self._waiting = False

    def _maybe_resync(self) -> None:
        now = time.monotonic()
        if now < self._next_resync:
            return
        # Nothing cached can outlive this: timetables are rebuilt and notifications
        # re-subscribed, in case a message was lost while a connection was down.
        self.engine.forget()
        self.messages.forget()
        self.changes.close()
        seed_static(self.definitions, self.app.conf.beat_schedule, self._timezone)
        # Only once seeded: after a Redis error the next tick tries again.
        self._next_resync = now + self.settings.resync_s

    def _beat(self) -> None:
        now = time.monotonic()
        if now < self._next_heartbeat:
            return
        self._next_heartbeat = now + 1.0
        assert self._client is not None
        counts = self.definitions.counts()
        beat = BeatHeartbeat(
            node=self.settings.node_name,
            last_tick=time.time(),
            leading=self._report.leading,
            active=counts.active,
            paused=counts.paused,
            finished=counts.finished,
            set_aside=counts.set_aside,
            lag_s=None if self.engine.last_lag_ms is None else self.engine.last_lag_ms / 1000,
        )
        ttl = self.settings.heartbeat_ttl_s
        write_heartbeat(self._client, beat, ttl, key=keys.beat_node(beat.node))
        if beat.leading:
            write_heartbeat(self._client, beat, ttl)
