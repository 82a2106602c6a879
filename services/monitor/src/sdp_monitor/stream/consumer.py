"""The Celery event stream, consumed on a thread of its own, reconnecting with capped backoff.

Events are read with one redis-py subscription to the channels kombu fans them out on, and
taken apart by `sdp_monitor.stream.wire` rather than by a kombu consumer and Celery's
receiver, which cost several times the CPU per message that the monitor spends on everything
else. Under load the thread wakes once per flush interval and takes everything that arrived
since: a wake-up costs as much CPU as handling a few tasks, and a larger batch runs with warmer
caches. Idle, it sleeps until a message, its next duty or a stop check. Each event is handed to
the router's handler for its type.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import cast

import redis
from celery import Celery
from celery.utils.time import utcoffset
from kombu.exceptions import OperationalError
from redis.client import PubSub
from redis.connection import Connection

from sdp_core.backoff import Backoff
from sdp_core.connections import sync_client
from sdp_monitor.stream.routing import EventRouter
from sdp_monitor.stream.wire import event_channels, localize, message_events

__all__ = ["EventConsumer"]

log = logging.getLogger(__name__)

BACKOFF_START_S = 0.5
MAINTAIN_EVERY_S = 1.0
# As the broker's transport options: an idle subscription is pinged, so a dead peer is noticed.
HEALTH_CHECK_S = 25
CONNECT_TIMEOUT_S = 5
# An idle read wakes at least this often, so a stop is noticed soon.
STOP_CHECK_S = 0.25


class EventConsumer:
    """Feeds every event to the router; flushes it every `flush_s`, maintains it every second.

    `on_connect` runs after each (re)connection: events sent while disconnected are lost, so
    what the workers hold must be asked again.
    """

    def __init__(
        self,
        app: Celery,
        router: EventRouter,
        *,
        broker_url: str,
        flush_s: float,
        backoff_max_s: float,
        on_connect: Callable[[], None],
    ) -> None:
        self.app = app
        self.broker_url = broker_url
        self.router = router
        self.flush_s = flush_s
        self.backoff_max_s = backoff_max_s
        self.on_connect = on_connect
        self.connected = threading.Event()
        self._stop = threading.Event()
        # This host's UTC offset in hours, read again each second (it changes with DST).
        self._here_h = utcoffset()
        self._thread = threading.Thread(target=self._run, name="sdp-monitor-events", daemon=True)
        self._flushed = self._maintained = time.monotonic()

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 10) -> None:
        self._stop.set()
        self._thread.join(timeout_s)

    def _run(self) -> None:
        backoff = Backoff(BACKOFF_START_S, self.backoff_max_s)
        while not self._stop.is_set():
            try:
                self._consume()
            except (redis.ConnectionError, redis.TimeoutError, OperationalError, OSError) as exc:
                # A stream that was up starts the backoff again from the shortest wait.
                if self.connected.is_set():
                    backoff.reset()
                self.connected.clear()
                delay = backoff.next()
                log.warning("event stream lost (%s); reconnecting in %.1f s", exc, delay)
                self._stop.wait(delay)
        self._safely(partial(self.router.flush, everything=True))

    def _consume(self) -> None:
        client = sync_client(
            self.broker_url,
            socket_connect_timeout=CONNECT_TIMEOUT_S,
            # Each read of the stream sets its own timeout; this bounds the ping.
            socket_timeout=CONNECT_TIMEOUT_S,
            # RESP2: a message is a plain reply. Under RESP3 redis-py hands each one to a push
            # handler that formats it for a debug log, whatever the log level.
            protocol=2,
        )
        pubsub = client.pubsub()  # type: ignore[no-untyped-call]
        try:
            pattern = event_channels(self.app, client)
            pubsub.psubscribe(pattern)
            self.connected.set()
            log.info("consuming events on %s", pattern)
            self.on_connect()
            # Every worker sends a heartbeat at once, so the picture is whole in one round trip.
            self.app.control.broadcast("heartbeat")
            self._listen(pubsub)
        finally:
            pubsub.close()
            client.close()

    def _listen(self, pubsub: PubSub) -> None:
        """Read the subscription's replies off its connection, not through `get_message`.

        `PubSub.get_message` polls the socket twice before every message; this is a blocking
        read bounded by its timeout, then takes the messages already received from the
        parser's buffer without a system call. Measured on 2026-12-04 with `python
        bench/monitor_tricks.py`: 1.8 µs of CPU a message against 4.4 µs (RESP2) or 8.7 µs
        (RESP3, redis-py's default), some 5 µs of the 77 µs the monitor spends on a task.

        It depends on redis-py 8.1's `Connection.read_response(timeout=...,
        disconnect_on_error=False)` and `can_read(timeout=0)`, and on a RESP2 connection
        (`_consume`), whose replies are `[b"pmessage", pattern, channel, data]` lists; under
        RESP3 every message goes to a push handler instead. test_monitor_wire reads a
        subscription this way and fails when either changes.
        """
        # redis-py types the attribute by its initial None; psubscribe has connected it.
        conn = cast("Connection", pubsub.connection)
        heard = time.monotonic()
        while not self._stop.is_set():
            try:
                reply = conn.read_response(timeout=self._idle_s(), disconnect_on_error=False)
            except redis.TimeoutError:
                if time.monotonic() - heard >= HEALTH_CHECK_S:
                    # A broker gone without closing the socket fails the ping or its reply.
                    pubsub.ping()
                    heard = time.monotonic()
                self._tick()
                continue
            self._take(reply)
            # Then everything already received, and a pause for the next messages to gather:
            # under load the thread wakes once per flush for a bufferful, not once per message
            # (a task sends three).
            while conn.can_read(timeout=0):
                self._take(conn.read_response(disconnect_on_error=False))
                # A stream faster than this thread must still be flushed and maintained.
                self._tick()
            heard = time.monotonic()
            self._tick()
            self._stop.wait(self.flush_s)

    def _idle_s(self) -> float:
        """How long a read may wait for a message: until the next flush or maintenance due."""
        due = self._maintained + MAINTAIN_EVERY_S
        if self.router.buffered:
            due = min(due, self._flushed + self.flush_s)
        return min(max(due - time.monotonic(), 0.001), STOP_CHECK_S)

    def _take(self, reply: list[bytes]) -> None:
        if reply[0] == b"pmessage":
            self._deliver(reply[3])

    def _deliver(self, data: bytes) -> None:
        try:
            events = message_events(data)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning("skipped an event message that is not Celery's JSON: %s", exc)
            return
        handlers, here_h = self.router.handlers, self._here_h
        for event in events:
            handler = handlers.get(event.get("type", "")) if isinstance(event, dict) else None
            if handler is None:
                continue
            try:
                localize(event, here_h)
                handler(event)
            except Exception:
                # A bad event never stops the stream.
                log.exception("could not handle a %s event", event.get("type"))

    def _tick(self) -> None:
        now = time.monotonic()
        if now - self._flushed >= self.flush_s:
            self._flushed = now
            self._safely(self.router.flush)
        if now - self._maintained >= MAINTAIN_EVERY_S:
            self._maintained = now
            self._here_h = utcoffset()
            self._safely(self.router.maintain)

    @staticmethod
    def _safely(duty: Callable[[], None]) -> None:
        # Redis for the history may be away while the broker is not; the events still count.
        try:
            duty()
        except redis.RedisError as exc:
            log.warning("history unavailable: %s", exc)
