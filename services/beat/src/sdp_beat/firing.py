"""The firing engine behind RedisBeatScheduler: lead, claim due slots, send, record.

Kept apart from Celery's scheduler class so its logic runs under a controlled clock in tests.

One schedule that cannot be fired (its stored definition no longer decodes, its timetable or
misfire plan raises, Celery cannot build its message, a script fails on its data) is set
aside: taken out of the due set with the reason, logged once, and the tick goes on with the
others.  Errors of Redis or the broker are not the schedule's: they end the tick, which the
scheduler retries.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

import redis
from kombu.exceptions import OperationalError

from sdp_schedules import aside
from sdp_schedules.firing import Claim, Firing, Record, ScheduleFiring
from sdp_schedules.leader import LeaderLock
from sdp_schedules.plan import Plan, plan_firing
from sdp_schedules.records import Run, RunState, Schedule, ScheduleState, Undecodable, read_schedule
from sdp_schedules.scripts import ClaimCode
from sdp_schedules.timing import Timetable, timetable

__all__ = [
    "BROKER_ERRORS",
    "Batch",
    "Command",
    "Encoder",
    "FiringEngine",
    "Sender",
    "TickReport",
    "Unfinished",
]

log = logging.getLogger(__name__)

# Trouble reaching Redis or the broker: never a schedule's fault.
BROKER_ERRORS: tuple[type[Exception], ...] = (redis.RedisError, OSError, OperationalError)

# Sends one slot of a schedule as a task with the given id; raises if the broker refused it.
Sender = Callable[[Schedule, str, int], None]
# Groups the sends of one tick into one broker round trip; they are delivered when the
# context exits, which raises if the broker refused them.
Batch = Callable[[], AbstractContextManager[object]]
# A broker command kombu would run for a send: ("lpush", queue list key, task message) or
# ("publish", event channel, its task-sent event).
Command = tuple[str, str, str]
# The commands of each send, without running them; None when the broker is not the schedule
# store's Redis (or its transport does something else).
Encoder = Callable[[Sequence[tuple[Schedule, str, int]]], list[list[Command]] | None]
# Of these task ids, the ones that have not finished yet.
Unfinished = Callable[[Sequence[str]], set[str]]


@dataclass(frozen=True, slots=True)
class TickReport:
    leading: bool
    sent: int
    next_due_ms: int | None


@dataclass(slots=True)
class _Work:
    schedule: Schedule
    claim: Claim
    plan: Plan
    inflight: int  # task ids in flight, finished ones not yet pruned
    runs: list[Run] = field(default_factory=list)
    sent: list[tuple[int, str]] = field(default_factory=list)  # (slot, task id)
    commands: list[Command] = field(default_factory=list)
    # Why it cannot be sent, once a send of it failed other than by the broker.
    fault: Exception | None = None


class FiringEngine:
    def __init__(
        self,
        firing: ScheduleFiring,
        lock: LeaderLock,
        send: Sender,
        unfinished: Unfinished,
        *,
        batch_size: int = 500,
        catchup_limit: int = 100,
        inflight_max_age_ms: int = 86_400_000,
        batch: Batch = contextlib.nullcontext,
        encode: Encoder | None = None,
    ) -> None:
        self.firing = firing
        self.lock = lock
        self.send = send
        self.batch = batch
        self.encode = encode
        self.unfinished = unfinished
        self.batch_size = batch_size
        self.catchup_limit = catchup_limit
        self.inflight_max_age_ms = inflight_max_age_ms
        # Parsed timetables by schedule id, valid while the stored version is unchanged.
        self._tables: dict[str, tuple[int, Timetable]] = {}
        # How late the latest firing's sends were after their due time, worst of the batch.
        self.last_lag_ms: int | None = None

    def tick(self) -> TickReport:
        was_leading = self.lock.held
        now = self.firing.clock()
        due: list[tuple[str, int]] | None = None
        next_due: int | None = None
        if was_leading and self.lock.token is not None:
            # The common tick: one round trip extends the lock and reads what is due.
            peeked = self.firing.peek(self.lock.token, self.lock.ttl_ms, now, self.batch_size)
            if peeked is None:
                self.lock.step_down()
            else:
                due, next_due = peeked
        leading = self.lock.held or self.lock.ensure()
        if leading != was_leading:
            if leading:
                log.info("beat: %s leads (fencing token %s)", self.lock.node, self.lock.token)
            else:
                log.warning("beat: %s lost the leader lock; standing by", self.lock.node)
        if not leading:
            return TickReport(leading=False, sent=0, next_due_ms=None)
        if due is None:
            due = self.firing.due(now, self.batch_size)
            next_due = self.firing.next_due()
        sent = 0
        while due and self.lock.held:
            sent += self._fire(due, now)
            if len(due) < self.batch_size:
                break
            now = self.firing.clock()
            due = self.firing.due(now, self.batch_size)
        if not self.lock.held:
            return TickReport(leading=False, sent=sent, next_due_ms=None)
        if sent or due:
            next_due = self.firing.next_due()
        return TickReport(leading=True, sent=sent, next_due_ms=next_due)

    def forget(self) -> None:
        """Drop every cached timetable; they are rebuilt from Redis as entries come due."""
        self._tables.clear()

    def _table(self, schedule: Schedule) -> Timetable:
        cached = self._tables.get(schedule.id)
        if cached is not None and cached[0] == schedule.version:
            return cached[1]
        table = timetable(schedule.spec, schedule.created_ms)
        self._tables[schedule.id] = (schedule.version, table)
        return table

    def _plan(self, due: Sequence[tuple[str, int]], now: int) -> list[_Work]:
        work: list[_Work] = []
        stray: list[str] = []
        for (schedule_id, due_ms), (raw, inflight) in zip(
            due, self.firing.load_due([i for i, _ in due]), strict=True
        ):
            if raw is None:
                stray.append(schedule_id)
                continue
            found = read_schedule(schedule_id, raw)
            if isinstance(found, Undecodable):
                aside.set_aside(self.firing, found, None, engine="beat")
                continue
            try:
                item = self._work(found, due_ms, inflight, now)
            except Exception as exc:
                aside.set_aside(self.firing, found, exc, engine="beat")
                continue
            if item is not None:
                work.append(item)
        self.firing.drop_due(stray)
        return work

    def _work(self, schedule: Schedule, due_ms: int, inflight: int, now: int) -> _Work | None:
        slot = schedule.next_slot_ms
        # Not active, or already advanced by another claimer since the due set was read.
        if schedule.state is not ScheduleState.active or slot is None or slot > now:
            return None
        plan = plan_firing(
            self._table(schedule), schedule.spec.misfire, slot, now, limit=self.catchup_limit
        )
        next_due = (
            None
            if plan.next_slot is None
            else self.firing.due_of(plan.next_slot, schedule.spec.jitter_s)
        )
        claim = Claim(schedule.id, schedule.version, due_ms, plan.next_slot, next_due)
        return _Work(schedule, claim, plan, inflight)

    def _fire(self, due: Sequence[tuple[str, int]], now: int) -> int:
        work = self._plan(due, now)
        token = self.lock.token
        if not work or token is None:
            return 0
        running, finished = self._overlaps([w for w in work if w.plan.sends])
        for item in work:
            self._choose(item, running.get(item.schedule.id, 0), now)
        if any(item.sent for item in work) and not self._encode(work):
            return self._claim_then_send(work, finished, token, now)
        return self._fire_atomically(work, finished, token, now)

    def _encode(self, work: list[_Work]) -> bool:
        """Each send's broker commands, for the one-step firing; False if kombu must send.

        Encoded a schedule at a time, so one whose message cannot be built is set aside
        alone.
        """
        if self.encode is None:
            return False
        for item in list(work):
            if not item.sent:
                continue
            try:
                encoded = self.encode([(item.schedule, t, slot) for slot, t in item.sent])
            except BROKER_ERRORS:
                raise
            except Exception as exc:
                work.remove(item)
                self._set_aside_work(item, exc)
                continue
            if encoded is None:
                return False
            item.commands = [command for commands in encoded for command in commands]
        return True

    def _fire_atomically(
        self, work: list[_Work], finished: dict[str, list[str]], token: str, now: int
    ) -> int:
        fired = self.firing.clock()
        firings = [
            Firing(
                claim=item.claim,
                runs=self._runs(item, fired),
                commands=item.commands,
                started=[(task_id, fired) for _, task_id in item.sent],
                finished=finished.get(item.schedule.id, []),
            )
            for item in work
        ]
        results = self.firing.fire(firings, token, now - self.inflight_max_age_ms)
        self._check_lock(results)
        return self._sent(self._outcomes(work, results), fired)

    def _outcomes(self, work: Sequence[_Work], results: Sequence[object]) -> list[_Work]:
        """The work its script did (1); a script that failed on its entry sets it aside."""
        done: list[_Work] = []
        for item, result in zip(work, results, strict=True):
            if isinstance(result, Exception):
                self._set_aside_work(item, result)
            elif result == ClaimCode.CLAIMED:
                done.append(item)
        return done

    def _claim_then_send(
        self, work: Sequence[_Work], finished: dict[str, list[str]], token: str, now: int
    ) -> int:
        """For a broker elsewhere: claim, send in one batch, then record."""
        results = self.firing.claim([w.claim for w in work], token)
        self._check_lock(results)
        claimed = self._outcomes(work, results)
        try:
            with self.batch():
                for item in claimed:
                    self._send(item)
        except Exception:
            # Nothing of the batch is known to have arrived: put every entry back at its
            # first unsent slot, so a later tick retries it under its misfire policy.
            log.exception("beat: the broker refused a batch of %d sends", len(claimed))
            for item in claimed:
                if item.sent:
                    self.firing.unclaim(item.claim, item.sent[0][0])
            return 0
        finally:
            for item in claimed:
                if item.fault is not None:
                    self._set_aside_work(item, item.fault)
        fired = self.firing.clock()
        self.firing.record_many(
            [
                Record(
                    item.schedule.id,
                    self._runs(item, fired),
                    started=[(task_id, fired) for _, task_id in item.sent],
                    finished=finished.get(item.schedule.id, []),
                )
                for item in claimed
            ],
            now - self.inflight_max_age_ms,
        )
        return self._sent(claimed, fired)

    def _sent(self, fired_work: Sequence[_Work], fired_ms: int) -> int:
        """Count the sends and note how late they went out."""
        sending = [item for item in fired_work if item.sent]
        if sending:
            self.last_lag_ms = max(fired_ms - item.claim.due_ms for item in sending)
        return sum(len(item.sent) for item in sending)

    def _check_lock(self, results: Sequence[object]) -> None:
        if ClaimCode.NOT_LEADER in results:
            # Claims that came before the loss are ours and stand.
            log.warning("beat: lost the leader lock; stepping down")
            self.lock.step_down()

    @staticmethod
    def _runs(item: _Work, fired: int) -> list[Run]:
        sent = [Run(slot, fired, RunState.sent.value, task_id=t) for slot, t in item.sent]
        return sorted(item.runs + sent, key=lambda run: run.slot_ms)

    def _overlaps(self, sending: Sequence[_Work]) -> tuple[dict[str, int], dict[str, list[str]]]:
        """How many earlier runs of each schedule are unfinished, and which ones finished.

        The result backend is asked only about schedules whose sends could exceed
        ``max_instances``; below that, earlier runs need not be told apart.
        """
        full = [
            w for w in sending if w.inflight + len(w.plan.sends) > w.schedule.spec.max_instances
        ]
        running = {w.schedule.id: w.inflight for w in sending}
        finished: dict[str, list[str]] = {}
        if not full:
            return running, finished
        earlier = dict(
            zip(
                (w.schedule.id for w in full),
                self.firing.inflight([w.schedule.id for w in full]),
                strict=True,
            )
        )
        unfinished = self.unfinished([t for ids in earlier.values() for t in ids])
        for schedule_id, ids in earlier.items():
            running[schedule_id] = sum(t in unfinished for t in ids)
            finished[schedule_id] = [t for t in ids if t not in unfinished]
        return running, finished

    def _choose(self, item: _Work, running: int, now: int) -> None:
        """Which slots go out (with their task ids) and which are recorded as not sent."""
        schedule, plan = item.schedule, item.plan
        if plan.missed:
            item.runs.append(
                Run(plan.missed[0], now, RunState.missed.value, count=len(plan.missed))
            )
        limit = schedule.spec.max_instances
        for slot in plan.sends:
            if running + len(item.sent) >= limit:
                item.runs.append(
                    Run(slot, now, RunState.skipped.value, detail=f"{limit} run(s) unfinished")
                )
            else:
                item.sent.append((slot, str(uuid.uuid4())))

    def _send(self, item: _Work) -> None:
        for position, (slot, task_id) in enumerate(item.sent):
            try:
                self.send(item.schedule, task_id, slot)
            except BROKER_ERRORS:
                # Put the entry back at this slot, so a later tick retries it under the
                # schedule's misfire policy instead of the slot being lost.
                log.exception("beat: sending %s failed", item.schedule.spec.name)
                self.firing.unclaim(item.claim, slot)
                del item.sent[position:]
                return
            except Exception as exc:
                item.fault = exc
                del item.sent[position:]
                return

    def _set_aside_work(self, item: _Work, error: Exception) -> None:
        aside.set_aside(self.firing, item.schedule, error, engine="beat")
