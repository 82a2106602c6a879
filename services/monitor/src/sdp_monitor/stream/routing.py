"""Celery events, routed by type to the live state, the history buffer and the change feed."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from sdp_monitor.cluster.series import SeriesRing
from sdp_monitor.history.writer import HistoryWriter
from sdp_monitor.metrics import MonitorMetrics
from sdp_monitor.stream.feed import ChangeFeed, worker_change
from sdp_monitor.stream.live import LiveState, LiveTask

__all__ = ["EventRouter", "TextCaps"]

Event = dict[str, Any]
Handler = Callable[[Event], None]


@dataclass(frozen=True, slots=True)
class TextCaps:
    text: int
    traceback: int


@dataclass(frozen=True, slots=True)
class _TaskEvent:
    """What one task event type means: its state, when it happened, what it tells."""

    state: str
    # What it does to the live tasks: "sent", "received", "started" or "done".
    step: str
    time_field: str | None
    # (event key, history field, capped as "text", "traceback" or not at all)
    picks: tuple[tuple[str, str, str | None], ...]


_ABOUT = (
    ("name", "name", None),
    ("args", "args", "text"),
    ("kwargs", "kwargs", "text"),
    ("retries", "retries", None),
    ("eta", "eta", None),
    ("expires", "expires", None),
    ("root_id", "root_id", None),
    ("parent_id", "parent_id", None),
)
_ERROR = (("exception", "exception", "text"), ("traceback", "traceback", "traceback"))

_WORKER = (("hostname", "worker", None),)

TASK_EVENTS: dict[str, _TaskEvent] = {
    "task-sent": _TaskEvent("PENDING", "sent", "sent_at", (*_ABOUT, ("queue", "queue", None))),
    "task-received": _TaskEvent("RECEIVED", "received", "received_at", (*_ABOUT, *_WORKER)),
    "task-started": _TaskEvent("STARTED", "started", "started_at", _WORKER),
    "task-succeeded": _TaskEvent(
        "SUCCESS",
        "done",
        "finished_at",
        (("result", "result", "text"), ("runtime", "runtime", None)),
    ),
    "task-failed": _TaskEvent("FAILURE", "done", "finished_at", _ERROR),
    # A retried task goes back to its queue, and is received again when a worker takes it.
    "task-retried": _TaskEvent("RETRY", "done", None, _ERROR),
    "task-revoked": _TaskEvent(
        "REVOKED",
        "done",
        "finished_at",
        (("terminated", "terminated", None), ("signum", "signum", None)),
    ),
    "task-rejected": _TaskEvent("REJECTED", "done", None, (("requeue", "requeue", None),)),
}


# The states the throughput series counts.
_SERIES_STATES = frozenset({"SUCCESS", "FAILURE"})


def _timestamp(value: Any) -> float | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value)).timestamp()
    except ValueError:
        return None


class EventRouter:
    """A dict of handlers, one per event type, for Celery's event receiver.

    `describe` runs for a worker whose pool and queues are not known yet (new, restarted, or
    not answering so far), so they can be asked for off this thread. A worker announces itself
    before it listens for control commands, so the first ask may go unanswered; the next
    heartbeat asks again.
    """

    def __init__(
        self,
        live: LiveState,
        history: HistoryWriter,
        *,
        feed: ChangeFeed,
        metrics: MonitorMetrics,
        series: SeriesRing,
        caps: TextCaps,
        describe: Callable[[str], None],
    ) -> None:
        self.live = live
        self.history = history
        self.feed = feed
        self.metrics = metrics
        self.series = series
        self.caps = {"text": caps.text, "traceback": caps.traceback}
        self.describe = describe
        self.handlers: dict[str, Handler] = {
            "worker-online": partial(self._worker, leaving=False, hello=True),
            "worker-heartbeat": partial(self._worker, leaving=False, hello=False),
            "worker-offline": partial(self._worker, leaving=True, hello=False),
        }
        self._steps: dict[str, Callable[[str, Event, float], LiveTask | None]] = {
            "sent": self._sent,
            "received": self._received,
            "started": self._started,
            "done": self._done,
        }
        for kind, spec in TASK_EVENTS.items():
            self.handlers[kind] = partial(self._task, spec, self._steps[spec.step])

    def _worker(self, event: Event, *, leaving: bool, hello: bool) -> None:
        name = str(event["hostname"])
        if self.live.heartbeat(name, event, hello=hello, leaving=leaving):
            self.describe(name)
        if self.feed.listening:
            self.feed.add(f"worker:{name}", worker_change(name, self.live.worker(name)))

    def _task(
        self, spec: _TaskEvent, step: Callable[[str, Event, float], LiveTask | None], event: Event
    ) -> None:
        task_id = str(event["uuid"])
        at = float(event.get("timestamp") or time.time())
        live = step(task_id, event, at)
        fields: dict[str, str] = {}
        if spec.time_field:
            fields[spec.time_field] = repr(at)
        picks = spec.picks
        if live is not None:
            if live.sent_at is None:
                # Not heard as sent (or known from an inspect): its queue is known only here.
                if live.queue:
                    fields["queue"] = live.queue
            elif spec.step == "received":
                # Its task-sent, heard here, already recorded what the receipt repeats: half
                # the fields of a task's second record, and the largest.
                picks = _WORKER
        caps = self.caps
        for key, field, cap in picks:
            value = event.get(key)
            if value is not None:
                text = value if isinstance(value, str) else str(value)
                fields[field] = text[: caps[cap]] if cap else text
        self.history.add(task_id, at, spec.state, fields)
        name = fields.get("name") or (live.name if live else None)
        runtime = event.get("runtime") if spec.state == "SUCCESS" else None
        self.metrics.task(name, spec.state, None if runtime is None else float(runtime))
        if spec.state in _SERIES_STATES:
            self.series.finished(spec.state == "SUCCESS", at)
        if spec.step == "started" and live is not None and live.sent_at is not None:
            self.metrics.waited(live.queue, at - live.sent_at)
        if self.feed.listening:
            self.feed.add(
                f"task:{task_id}",
                {
                    "type": "task",
                    "id": task_id,
                    "state": spec.state,
                    "name": name,
                    "worker": fields.get("worker") or (live.worker if live else None),
                    "queue": fields.get("queue") or (live.queue if live else None),
                    "at": at,
                },
            )

    @property
    def buffered(self) -> bool:
        """Whether a flush has anything to write or publish."""
        return len(self.history) > 0 or self.feed.pending

    def flush(self, everything: bool = False) -> None:
        """Write the history due (all of it on the way out); publish the coalesced changes."""
        self.history.flush(everything)
        self.feed.publish()

    def maintain(self) -> None:
        """Notice workers that stopped beating or were dropped; trim the history."""
        went_offline, purged = self.live.sweep()
        if self.feed.listening:
            for name in (*went_offline, *purged):
                self.feed.add(f"worker:{name}", worker_change(name, self.live.worker(name)))
        self.history.trim()

    def _sent(self, task_id: str, event: Event, at: float) -> LiveTask | None:
        self.live.sent(task_id, event.get("queue") or event.get("routing_key"), at)
        return None

    def _received(self, task_id: str, event: Event, at: float) -> LiveTask | None:
        eta = _timestamp(event.get("eta"))
        return self.live.received(task_id, event.get("name"), event.get("hostname"), eta, at)

    def _started(self, task_id: str, event: Event, at: float) -> LiveTask | None:
        return self.live.started(task_id, event.get("hostname"), at)

    def _done(self, task_id: str, event: Event, at: float) -> LiveTask | None:
        return self.live.finished(task_id)
