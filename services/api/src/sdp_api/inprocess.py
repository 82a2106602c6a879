"""The in-process engine (``USE_CELERY=false``): APScheduler 3 fed from the schedule store.

APScheduler keeps its jobs in memory, so on its own it never sees another process's writes.
Here one API replica at a time (the holder of the same leader lock beat uses, so beat and this
engine never both fire) loads every active schedule into APScheduler and then follows the
store's change notifications.  Timing comes from the store's own timetables (the same DST and
crontab rules as beat); the schedule's options map onto APScheduler's:

- misfire ``skip`` -> ``coalesce=True, misfire_grace_time=grace_s``; ``run_once`` ->
  ``coalesce=True``, no grace limit; ``run_all`` -> ``coalesce=False``, no grace limit;
- ``max_instances`` -> ``max_instances``; ``jitter_s`` -> the trigger's jitter.

Each run advances the stored slot with a compare-and-set under the leader's fencing token
before the job runs, so a slot runs once even across a failover, and the store stays right
for beat when the platform switches back.

As in beat, one schedule that cannot be run (its stored entry no longer decodes, its timetable
raises, APScheduler refuses its job) is set aside (sdp_schedules.aside), logged once, and the
others keep running.  Whichever thread meets it, the follower thread writes the set-aside:
APScheduler's own thread must never wait on Redis, nor raise (it would stop every job).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import uuid
from collections import deque
from collections.abc import Callable
from concurrent import futures
from dataclasses import replace
from datetime import UTC, datetime

import redis
from apscheduler.events import (
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    JobEvent,
)
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger

from sdp_core.backoff import Backoff
from sdp_jobs.catalogue import run_job
from sdp_jobs.context import JobContext
from sdp_schedules import aside
from sdp_schedules.changes import ScheduleChanges
from sdp_schedules.firing import ScheduleFiring
from sdp_schedules.leader import LeaderLock
from sdp_schedules.records import Run, RunState, Schedule, ScheduleState, Undecodable
from sdp_schedules.scripts import ClaimCode
from sdp_schedules.timing import Timetable, from_ms, timetable, to_ms

__all__ = ["InProcessEngine", "StoreTrigger"]

log = logging.getLogger(__name__)

# APScheduler's least misfire grace: a positive number of seconds.
_GRACE_MIN_S = 1


class StoreTrigger(BaseTrigger):  # type: ignore[misc]
    """APScheduler trigger over a store timetable, starting from the stored next slot.

    One whose slots cannot be computed calls ``fault`` and has no next fire time, rather than
    raising in APScheduler's thread.
    """

    def __init__(
        self,
        table: Timetable,
        first_ms: int,
        jitter_s: float,
        fault: Callable[[Exception], None],
    ) -> None:
        self.table = table
        self.first_ms = first_ms
        self.jitter = jitter_s or None
        self.fault = fault

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        try:
            if previous_fire_time is None:
                slot: int | None = self.first_ms
            else:
                slot = self.table.next_after(to_ms(previous_fire_time))
            if slot is None:
                return None
            moment = from_ms(slot)
            return self._apply_jitter(moment, self.jitter, now) if self.jitter else moment
        except Exception as exc:  # the schedule's data: a timetable reads no Redis
            self.fault(exc)
            return None


class InProcessEngine:
    def __init__(
        self,
        firing: ScheduleFiring,
        changes: ScheduleChanges,
        lock: LeaderLock,
        context: JobContext,
        *,
        threads: int = 4,
    ) -> None:
        self.firing = firing
        self.changes = changes
        self.lock = lock
        self.context = context
        self.scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(threads)}, timezone=UTC
        )
        self.scheduler.add_listener(self._on_event, EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)
        self.leading = False
        # Run-now requests go here, so they run whether or not this replica leads.
        self._adhoc = futures.ThreadPoolExecutor(max_workers=threads, thread_name_prefix="sdp-now")
        self._versions: dict[str, int] = {}
        # Schedules met that cannot be run, and why (None: it no longer decodes), for the
        # follower thread to set aside.
        self._faults: deque[tuple[Schedule | Undecodable, Exception | None]] = deque()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="sdp-engine", daemon=True)

    def start(self) -> None:
        self.scheduler.start(paused=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self.scheduler.shutdown(wait=False)
        self._adhoc.shutdown(wait=False)
        if self.leading:
            try:
                self.lock.release()
            except redis.RedisError as exc:
                log.warning("engine: lock not released: %s", exc)

    # -- leadership and following the store ------------------------------------------------

    def _follow(self) -> None:
        backoff = Backoff()
        while not self._stop.is_set():
            try:
                # Before a new leader loads every schedule, so no write meanwhile goes unseen.
                self.changes.subscribe()
                self._lead(self.lock.ensure())
                for schedule_id in self.changes.wait(self.lock.ttl_ms / 3000):
                    if self.leading:
                        self._sync(schedule_id)
                self._set_aside_faults()
                backoff.reset()
            except redis.RedisError as exc:
                self._lead(False)
                delay = backoff.next()
                log.warning("engine: redis error (%s); retrying in %.1fs", exc, delay)
                self.changes.close()
                self._stop.wait(delay)
        self.changes.close()

    def _lead(self, leading: bool) -> None:
        if leading == self.leading:
            return
        self.leading = leading
        if leading:
            log.info("engine: %s leads; loading schedules", self.lock.node)
            self._versions.clear()
            for schedule in self.firing.all_active():
                self._add(schedule)
            self.scheduler.resume()
        else:
            log.warning("engine: %s stands by", self.lock.node)
            self.scheduler.pause()
            self.scheduler.remove_all_jobs()
            self.lock.step_down()

    def _sync(self, schedule_id: str) -> None:
        if schedule_id == "*":  # a bulk write: re-read everything
            for active in self.firing.all_active():
                if self._versions.get(active.id) != active.version:
                    self._add(active)
            return
        found = self.firing.load([schedule_id])[0]
        if isinstance(found, Schedule) and found.state is ScheduleState.active:
            if self._versions.get(schedule_id) != found.version:
                self._add(found)
            return
        self._drop(schedule_id)
        if isinstance(found, Undecodable):
            self._fault(found, None)

    def _drop(self, schedule_id: str) -> None:
        self._versions.pop(schedule_id, None)
        with contextlib.suppress(JobLookupError):
            self.scheduler.remove_job(schedule_id)

    def _add(self, found: Schedule | Undecodable) -> None:
        if isinstance(found, Undecodable):
            self._drop(found.id)
            self._fault(found, None)
            return
        if found.next_slot_ms is None:
            return
        spec = found.spec
        policy = spec.misfire.policy
        try:
            self.scheduler.add_job(
                self._run,
                trigger=StoreTrigger(
                    timetable(spec, found.created_ms),
                    found.next_slot_ms,
                    spec.jitter_s,
                    lambda exc: self._fault(found, exc),
                ),
                args=[found.id],
                id=found.id,
                name=spec.name,
                replace_existing=True,
                coalesce=policy != "run_all",
                misfire_grace_time=max(_GRACE_MIN_S, spec.misfire.grace_s)
                if policy == "skip"
                else None,
                max_instances=spec.max_instances,
            )
        except Exception as exc:  # APScheduler refused this job; it keeps jobs in memory
            self._drop(found.id)
            self._fault(found, exc)
            return
        self._versions[found.id] = found.version

    def _fault(self, found: Schedule | Undecodable, error: Exception | None) -> None:
        """Note a schedule that cannot be run, for the follower thread to set aside."""
        self._faults.append((found, error))

    def _set_aside_faults(self) -> None:
        while self._faults:
            found, error = self._faults[0]
            aside.set_aside(self.firing, found, error, engine="engine")
            # Only once written: a Redis error leaves it for the next try.
            self._faults.popleft()

    # -- running ---------------------------------------------------------------------------

    def _run(self, schedule_id: str) -> None:
        """One run, on APScheduler's pool: claim the stored slot, then run the job."""
        schedule = self._runnable(schedule_id)
        token = self.lock.token
        now = self.firing.clock()
        if schedule is None or schedule.next_slot_ms is None or token is None:
            return
        slot = schedule.next_slot_ms
        if slot > now + 1_000:
            return  # this slot already ran
        # A coalesced backlog moves on past now; run_all takes one slot per call.
        after = slot if schedule.spec.misfire.policy == "run_all" else max(slot, now)
        try:
            following = timetable(schedule.spec, schedule.created_ms).next_after(after)
        except Exception as exc:  # the schedule's data: a timetable reads no Redis
            self._fault(schedule, exc)
            return
        if self.firing.advance(schedule, slot, following, token) == ClaimCode.CLAIMED:
            self._execute(schedule, slot, f"inproc-{uuid.uuid4()}")

    def _runnable(self, schedule_id: str) -> Schedule | None:
        """The schedule as stored now; None if it is gone or no longer decodes (set aside)."""
        found = self.firing.load([schedule_id])[0]
        if isinstance(found, Undecodable):
            self._fault(found, None)
            return None
        return found

    def run_now(self, schedule: Schedule) -> str:
        """Run a schedule's job now on this replica, outside its timetable; the run's id."""
        run_id = f"inproc-{uuid.uuid4()}"
        self._adhoc.submit(self._execute, schedule, self.firing.clock(), run_id, "run now")
        return run_id

    def _execute(self, schedule: Schedule, slot: int, run_id: str, note: str | None = None) -> None:
        started = self.firing.clock()
        spec = schedule.spec
        try:
            run_job(replace(self.context, task_id=run_id), spec.task, spec.args, spec.kwargs)
            state, detail = "SUCCESS", note
        except Exception as exc:
            # The job's failure is the run's outcome, recorded like a worker's FAILURE.
            state, detail = "FAILURE", f"{type(exc).__name__}: {exc}"
        self.firing.record(schedule.id, [Run(slot, started, state, task_id=run_id, detail=detail)])

    def _on_event(self, event: JobEvent) -> None:
        """Record a slot APScheduler did not run (missed or over max_instances)."""
        times = getattr(event, "scheduled_run_times", None) or [event.scheduled_run_time]
        state = RunState.missed if event.code == EVENT_JOB_MISSED else RunState.skipped
        detail = None if state is RunState.missed else "max_instances runs unfinished"
        now = self.firing.clock()
        try:
            self._skip_past(event.job_id, max(to_ms(t) for t in times))
            self.firing.record(
                event.job_id,
                [Run(to_ms(min(times)), now, state.value, count=len(times), detail=detail)],
            )
        except redis.RedisError as exc:
            log.warning("engine: could not record a %s run: %s", state.value, exc)

    def _skip_past(self, schedule_id: str, slot_ms: int) -> None:
        """Move the stored slot past one APScheduler did not run."""
        schedule = self._runnable(schedule_id)
        token = self.lock.token
        if schedule is None or schedule.next_slot_ms is None or token is None:
            return
        if schedule.next_slot_ms > slot_ms:
            return
        try:
            following = timetable(schedule.spec, schedule.created_ms).next_after(slot_ms)
        except Exception as exc:  # the schedule's data: a timetable reads no Redis
            self._fault(schedule, exc)
            return
        self.firing.advance(schedule, schedule.next_slot_ms, following, token)
