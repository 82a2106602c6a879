"""Monitor micro-benchmark: what its fenced tricks save against the libraries' plain paths.

Not run by ``make bench`` (the whole-monitor figures are bench/monitor.py's); run it by hand,
``uv run python bench/monitor_tricks.py``, when kombu, Celery or prometheus_client change.
Starts its own ``redis-server`` for real event messages (a client's ``task-sent`` and a worker's
batch of three task events, as sdp_testing.events publishes them), then times per message or
per task, best of a number of rounds (the machine's noise only ever adds):

1. Event parsing (sdp_monitor.stream.wire): ``message_events`` and ``localize`` against
   kombu's Redis transport (its JSON load and ``Message.decode``) and Celery's
   ``EventReceiver`` (``event_from_message`` for each event).
2. Reading the subscription (sdp_monitor.stream.consumer, ``EventConsumer._listen``): a
   message read off the connection, RESP2, against redis-py's ``PubSub.get_message`` (RESP2
   and its default RESP3); CPU time per message over a backlog of published messages.
3. Task metrics (sdp_monitor.tally): one task's updates (four events counted, one runtime, one
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


def reading(url: str, rounds: int) -> list[tuple[str, float, float]]:
    app = make_celery("bench-tricks-read", CommonSettings(redis_url=url))
    publisher = redis.Redis.from_url(url)
    data = event_messages(app, publisher, event_channels(app, publisher))[0]
    app.close()
    count = 2_000 if rounds < 5 else 20_000

    def cpu_us(protocol: int, direct: bool) -> float:
        client = redis.Redis.from_url(url, protocol=protocol)
        pubsub = client.pubsub()  # type: ignore[no-untyped-call]
        pubsub.psubscribe("/0.bench/*")
        while pubsub.get_message(timeout=1) is None:
            pass
        with publisher.pipeline(transaction=False) as pipe:
            for _ in range(count):
                pipe.publish("/0.bench/x", data)
            pipe.execute()
        heard, started = 0, time.process_time()
        connection = pubsub.connection
        while heard < count:
            if direct:
                reply = connection.read_response(timeout=1, disconnect_on_error=False)
                heard += reply[0] == b"pmessage"
                while connection.can_read(timeout=0):
                    reply = connection.read_response(disconnect_on_error=False)
                    heard += reply[0] == b"pmessage"
            else:
                message = pubsub.get_message(timeout=1)
                heard += message is not None and message["type"] == "pmessage"
        spent = time.process_time() - started
        pubsub.close()
        client.close()
        return spent / count * 1e6

    ours = min(cpu_us(2, direct=True) for _ in range(rounds))
    return [
        (f"reading a message, against get_message on RESP{protocol}", ours, best)
        for protocol in (2, 3)
        for best in [min(cpu_us(protocol, direct=False) for _ in range(rounds))]
    ]


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
        log("reading the subscription")
        rows += reading(url, rounds)
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
