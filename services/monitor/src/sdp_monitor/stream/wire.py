"""Celery events as a Redis broker carries them, read without kombu and Celery's receiver.

kombu's Redis transport publishes each event message on `<global_keyprefix>/<db>.<event
exchange>/<routing key>` as the JSON of an envelope whose `body` is the event, or a worker's
batch of events as a list, in JSON, base64-encoded when `properties.body_encoding` says so.
Celery's `EventReceiver` then moves each event's timestamp into this host's UTC offset; it also
keeps a Lamport clock and stamps each event's arrival (`clock`, `local_received`), under a lock
and two clock reads per event, which no handler here reads, so neither is done.

What it saves, measured on 2026-12-04 with `python bench/monitor_tricks.py` (three runs, two
shared cores, Python 3.11): a client's `task-sent` message takes 3.6 to 4.1 µs here against 18
to 19 µs through kombu's `Message.decode` and the receiver, a worker's batch of three task
events 6.2 to 6.7 µs against 25 to 28 µs: 33 to 36 µs per task, which would add almost half
again to the 77 µs of CPU the whole monitor spends on a task (bench/results-monitor.md).
Slicing the body out of the envelope's text rather than loading the envelope, as the consumer
did before, saved 0.8 µs on a `task-sent` and 0.3 µs on a batch, about 1 % of the monitor's
CPU per task, and is gone.

What it depends on: kombu 5.7's Redis fanout (the channel name; the envelope's `body` and
`properties.body_encoding`) and Celery 5.7's events (`type`, `timestamp`, `utcoffset`; a list
per batch). test_monitor_wire reads messages a Celery app publishes both ways, with kombu's and
Celery's own code and with this module's, and fails on an upgrade that changes any of these.
"""

from __future__ import annotations

import binascii
from typing import Any

import orjson
import redis
from celery import Celery

__all__ = ["event_channels", "localize", "message_events"]


def event_channels(app: Celery, broker: redis.Redis) -> str:
    """The channel pattern kombu publishes the app's events on (its default fanout prefix)."""
    options: dict[str, Any] = app.conf.broker_transport_options or {}
    prefix = str(options.get("global_keyprefix") or "")
    db = broker.connection_pool.connection_kwargs.get("db", 0)
    return f"{prefix}/{db}.{app.conf.event_exchange}/*"


def message_events(data: bytes) -> list[Any]:
    """The events in one message on an event channel, as sent: not necessarily dicts.

    Raises ValueError, KeyError, TypeError or AttributeError for a message that is not an
    envelope holding JSON.
    """
    envelope = orjson.loads(data)
    body: bytes | str = envelope["body"]
    if envelope.get("properties", {}).get("body_encoding") == "base64":
        body = binascii.a2b_base64(body)
    payload = orjson.loads(body)
    return payload if isinstance(payload, list) else [payload]


def localize(event: dict[str, Any], here_h: float) -> None:
    """Move the event's timestamp from its sender's UTC offset into `here_h` (hours), in place."""
    offset_h, stamp = event.get("utcoffset"), event.get("timestamp")
    if offset_h is not None and stamp is not None:
        event["timestamp"] = stamp - (offset_h - here_h) * 3600
