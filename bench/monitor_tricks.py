"""Monitor micro-benchmark: what its two fenced tricks save against the libraries' plain paths.

Not run by ``make bench`` (the whole-monitor figures are bench/monitor.py's); run it by hand,
``uv run python bench/monitor_tricks.py``, when kombu, Celery or prometheus_client change.
Starts its own ``redis-server`` for real event messages (a client's ``task-sent`` and a worker's
batch of three task events, as sdp_testing.events publishes them), then times per message or
per task, best of a number of rounds (the machine's noise only ever adds):

1. Event parsing (sdp_monitor.stream.wire): ``message_events`` and ``localize`` against
   kombu's Redis transport (its JSON load and ``Message.decode``) and Celery's
   ``EventReceiver`` (``event_from_message`` for each event).
2. Task metrics (sdp_monitor.tally): one task's updates (four events counted, one runtime, one
   queue wait) through ``MonitorMetrics`` against prometheus_client's ``Counter`` and
   ``Histogram``.

Prints a Markdown table; ``--quick`` takes fewer rounds. Writes no results file: the figures
go, with their date, into the docstrings of the modules they are about.
"""

from __future__ import annotations

import platform
import sys
import time
import timeit
from collections.abc import Callable
from functools import partial
from importlib import metadata
from typing import Any

import redis
from benchlib import log, options, redis_server
from celery.utils.time import utcoffset
from kombu.utils.json import loads as kombu_loads
from prometheus_client import CollectorRegistry, Counter, Histogram

from sdp_core.celery_config import make_celery
from sdp_core.settings import CommonSettings
from sdp_monitor.metrics import MonitorMetrics
from sdp_monitor.stream.wire import event_channels, localize, message_events
from sdp_monitor.tally import RUNTIME_BUCKETS, WAIT_BUCKETS
from sdp_testing.events import event_messages


def best_us(work: Callable[[], object], rounds: int, number: int) -> float:
    """The fastest round's time per call, in microseconds."""
    return min(timeit.repeat(work, number=number, repeat=rounds)) / number * 1e6


def parsing(url: str, rounds: int) -> list[tuple[str, float, float]]:
    app = make_celery("bench-tricks", CommonSettings(redis_url=url))
    client = redis.Redis.from_url(url)
    messages = event_messages(app, client, event_channels(app, client))
    here = utcoffset()
    rows = []
    with app.connection_for_read() as connection:
        channel: Any = connection.default_channel
        receiver = app.events.Receiver(connection, handlers={})

        def theirs(data: bytes) -> None:
            body = channel.Message(kombu_loads(data), channel=channel).decode()
            for event in body if isinstance(body, list) else [body]:
                receiver.event_from_message(event)

        def ours(data: bytes) -> None:
            for event in message_events(data):
                localize(event, here)

        for what, data in zip(("task-sent", "a worker's batch of 3"), messages, strict=True):
            rows.append(
                (
                    f"{what} ({len(data)} B)",
                    best_us(partial(ours, data), rounds, 20_000),
                    best_us(partial(theirs, data), rounds, 2_000),
                )
            )
    app.close()
    return rows


def metrics(rounds: int) -> tuple[str, float, float]:
    ours = MonitorMetrics()
    registry = CollectorRegistry()
    events = Counter("celery_tasks", "", ["name", "state"], registry=registry)
    runtime = Histogram(
        "celery_task_runtime_seconds", "", ["name"], buckets=RUNTIME_BUCKETS, registry=registry
    )
    wait = Histogram(
        "celery_task_queue_wait_seconds", "", ["queue"], buckets=WAIT_BUCKETS, registry=registry
    )

    def tallied() -> None:
        for state in ("PENDING", "RECEIVED", "STARTED"):
            ours.task("system.noop", state, None)
        ours.task("system.noop", "SUCCESS", 0.0123)
        ours.waited("system", 0.004)

    def library() -> None:
        for state in ("PENDING", "RECEIVED", "STARTED"):
            events.labels("system.noop", state).inc()
        events.labels("system.noop", "SUCCESS").inc()
        runtime.labels("system.noop").observe(0.0123)
        wait.labels("system").observe(0.004)

    return (
        "one task's metric updates",
        best_us(tallied, rounds, 20_000),
        best_us(library, rounds, 20_000),
    )


def main() -> None:
    given = options(__doc__)
    rounds = 3 if given.quick else 15
    began = time.monotonic()
    with redis_server() as url:
        log("event parsing")
        rows = parsing(url, rounds)
    log("task metrics")
    rows.append(metrics(rounds))
    versions = ", ".join(
        f"{name} {metadata.version(name)}" for name in ("kombu", "celery", "prometheus_client")
    )
    lines = [
        "# Monitor micro-benchmark: the fenced tricks against the libraries' plain paths",
        "",
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.machine()}, "
        f"Python {sys.version.split()[0]}, {versions}; best of {rounds} rounds"
        f"{' (--quick: not comparable)' if given.quick else ''}; "
        f"{time.monotonic() - began:.0f} s.",
        "",
        "| Work | ours (µs) | library (µs) | saved (µs) |",
        "| --- | --- | --- | --- |",
        *(f"| {what} | {us:.2f} | {lib:.2f} | {lib - us:.2f} |" for what, us, lib in rows),
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
