"""Task messages and their task-sent events for the one-step firing, as kombu would send them.

Celery builds and routes a schedule's message once per definition version, through kombu's
publish-batch hook, which hands over the final Redis commands instead of running them: the
``LPUSH`` of the message and, as Celery's own send does with ``task_send_sent_event``, the
``PUBLISH`` of its task-sent event on the event exchange.  Each send then stamps its own task
id, slot and delivery tags into those templates, and the event its timestamp and logical
clock.  A schedule whose message holds a send-time value (``expires_s`` becomes an absolute
time) is built for every send.  ``MessageEncoder`` is the only way in.

What it saves, measured 2026-12-04 with ``python bench/messages.py`` (five runs on the 2-CPU
development machine, shared, load average 4): 7-9 µs per send stamped against 250-750 µs built
by Celery and kombu (``app.send_task``: ``app.amqp.as_task_v2``, kombu's serialisation and
routing), so a tick of 200 due sends takes under 2 ms instead of 50-150 ms, where
bench/beat.py holds the lag from due to sent under 50 ms at the 99th percentile.

What it depends on (celery 5.7.0 and kombu 5.7.0 in uv.lock):

- kombu's ``Producer.publish`` hands a message to ``_batch_local.current.publish`` when set,
  and the Redis transport's ``basic_publish`` gives that batch ``add("lpush", key, json)``
  (``add("publish", channel, json)`` for the event exchange) instead of running the command;
- the pushed text is kombu's JSON envelope (``body``, ``headers``, ``properties`` with a
  ``delivery_tag``, ...) in which the task id (Celery protocol 2's ``id``, ``root_id`` and
  ``correlation_id``), the ``sdp_slot`` header (a JSON integer) and the delivery tag are plain
  text, each stand-in below occurring nowhere else; no other field varies between sends of one
  version (no time, no counter);
- the event's envelope has ``body_encoding`` base64 over kombu's ``dumps`` of the event fields,
  whose ``uuid`` is the task id and whose ``clock`` and ``timestamp`` vary per send.

When one no longer holds, no template is built and each send is built by Celery (or, when
kombu stops handing over the commands, sent by the claim-then-send firing): correct, slower.
services/beat/tests/test_messages.py then fails: it checks that the templates are used, and
compares the stamped messages for random ids and slots with what Celery sends, field by field
as kombu decodes both.
"""

from __future__ import annotations

import base64
import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from kombu.utils.json import dumps

from sdp_beat.firing import Command
from sdp_schedules.records import Schedule

__all__ = ["MessageEncoder"]

# Stand-ins that occur nowhere else in a message: a task id, a slot header value, and an
# event's logical clock and timestamp.
_TASK_ID = "00000000-0000-4000-8000-0000005d9000"
_SLOT = 9_007_199_254_740_881
_CLOCK = 9_007_199_254_740_771
_TIMESTAMP = 4_102_444_800.123457
# ... as they read in the JSON.
_SLOT_TEXT, _CLOCK_TEXT, _TIMESTAMP_TEXT = str(_SLOT), str(_CLOCK), repr(_TIMESTAMP)
# What a send may leave in the batch: its message, then its task-sent event when enabled.
_OPS = {"lpush", "publish"}
_SHAPES = (["lpush"], ["lpush", "publish"])


def _tag() -> str:
    """A fresh delivery tag shaped like kombu's uuid4, at a fifth of uuid4's cost.

    A tag only has to be unique among unacknowledged messages; it guards no secret.
    """
    digits = f"{random.getrandbits(128):032x}"
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


class _Capture:
    """Takes the place of a producer's publish batch and keeps the transport's commands."""

    def __init__(self) -> None:
        self.commands: list[tuple[str, tuple[Any, ...]]] = []

    def publish(self, channel: Any, message: Any, **kwargs: Any) -> Any:
        return channel.basic_publish(message, _publish_batch=self, **kwargs)

    def add(self, name: str, *args: Any) -> None:
        self.commands.append((name, args))


@dataclass(frozen=True, slots=True)
class _Event:
    """A task-sent event: the envelope split around its base64 body and its delivery tag."""

    channel: str
    body: str  # the event's JSON, with the stand-ins
    head: str
    middle: str
    tail: str

    @classmethod
    def of(cls, channel: str, payload: str) -> _Event | None:
        """The template of a captured event, or None if stamping could not reproduce it."""
        envelope = json.loads(payload)
        encoded, tag = envelope["body"], envelope["properties"]["delivery_tag"]
        if envelope["properties"].get("body_encoding") != "base64":
            return None
        captured = base64.b64decode(encoded).decode()
        fields = json.loads(captured)
        if fields.get("uuid") != _TASK_ID or dumps(fields) != captured:
            return None
        body = dumps(fields | {"clock": _CLOCK, "timestamp": _TIMESTAMP})
        if body.count(_CLOCK_TEXT) != 1 or body.count(_TIMESTAMP_TEXT) != 1:
            return None
        if payload.count(encoded) != 1 or payload.count(tag) != 1:
            return None
        head, rest = payload.split(encoded)
        middle, tail = rest.split(tag)
        return cls(channel, body, head, middle, tail)

    def stamp(self, task_id: str, clock: int, timestamp: float) -> Command:
        body = (
            self.body.replace(_TASK_ID, task_id)
            .replace(_CLOCK_TEXT, str(clock))
            .replace(_TIMESTAMP_TEXT, repr(timestamp))
        )
        encoded = base64.b64encode(body.encode()).decode()
        return ("publish", self.channel, f"{self.head}{encoded}{self.middle}{_tag()}{self.tail}")


@dataclass(frozen=True, slots=True)
class _Template:
    key: str
    payload: str
    tag: str
    event: _Event | None

    def stamp(self, task_id: str, slot_ms: int, clock: Callable[[], int]) -> list[Command]:
        message = (
            self.payload.replace(_TASK_ID, task_id)
            .replace(self.tag, _tag())
            .replace(_SLOT_TEXT, str(slot_ms))
        )
        if self.event is None:
            return [("lpush", self.key, message)]
        return [("lpush", self.key, message), self.event.stamp(task_id, clock(), time.time())]


class MessageEncoder:
    """``clock`` is the one Celery's event dispatcher forwards (``app.clock.forward``)."""

    def __init__(
        self,
        producer: Callable[[], Any],
        send: Callable[[Schedule, str, int], None],
        clock: Callable[[], int],
    ) -> None:
        self._producer = producer
        self._send = send
        self._clock = clock
        self._templates: dict[tuple[str, int], _Template | None] = {}
        self._used: set[tuple[str, int]] = set()

    def encode(self, sends: Sequence[tuple[Schedule, str, int]]) -> list[list[Command]] | None:
        """Each send's commands, or None if the transport did something else."""
        encoded: list[list[Command]] = []
        for schedule, task_id, slot_ms in sends:
            template = self._template(schedule)
            if template is not None:
                encoded.append(template.stamp(task_id, slot_ms, self._clock))
                continue
            commands = self._capture(schedule, task_id, slot_ms)
            if commands is None:
                return None
            encoded.append(commands)
        return encoded

    def forget(self) -> None:
        """Drop the templates no send has used since the last call (deleted or edited ones).

        Templates stay valid while their version does, so live ones are kept: rebuilding them
        all at once would stall the tick that follows.
        """
        self._templates = {k: v for k, v in self._templates.items() if k in self._used}
        self._used = set()

    def _template(self, schedule: Schedule) -> _Template | None:
        key = (schedule.id, schedule.version)
        self._used.add(key)
        if key not in self._templates:
            self._templates[key] = self._build(schedule)
        return self._templates[key]

    def _build(self, schedule: Schedule) -> _Template | None:
        if schedule.spec.expires_s is not None:
            return None
        commands = self._capture(schedule, _TASK_ID, _SLOT)
        if commands is None or [op for op, _, _ in commands] not in _SHAPES:
            return None
        _, queue_key, payload = commands[0]
        tag = str(json.loads(payload)["properties"]["delivery_tag"])
        if payload.count(tag) != 1 or payload.count(_SLOT_TEXT) != 1 or _TASK_ID not in payload:
            return None
        event = None
        if len(commands) == 2:
            _, channel, event_payload = commands[1]
            event = _Event.of(channel, event_payload)
            if event is None:
                return None
        return _Template(queue_key, payload, tag, event)

    def _capture(self, schedule: Schedule, task_id: str, slot_ms: int) -> list[Command] | None:
        # kombu 5.7 routes a producer's publishes through ``_batch_local.current`` when set.
        local = self._producer()._batch_local
        capture = _Capture()
        local.current = capture
        try:
            self._send(schedule, task_id, slot_ms)
        finally:
            del local.current
        if not capture.commands or any(name not in _OPS for name, _ in capture.commands):
            return None
        return [
            (name, str(args[0]), args[1].decode() if isinstance(args[1], bytes) else str(args[1]))
            for name, args in capture.commands
        ]
