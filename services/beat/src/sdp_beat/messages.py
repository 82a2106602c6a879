"""Task messages for the one-step firing, as kombu would LPUSH them onto their queues.

Celery builds and routes a schedule's message once per definition version, through kombu's
publish-batch hook, which hands over the final Redis command instead of running it.  Each send
then stamps its own task id, slot and delivery tag into that template, which costs
microseconds where building a message costs most of a millisecond.  A schedule whose message
holds a send-time value (``expires_s`` becomes an absolute time) is built for every send.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sdp_schedules.records import Schedule

__all__ = ["MessageEncoder"]

# Stand-ins that occur nowhere else in a message: a task id and a slot header value.
_TASK_ID = "00000000-0000-4000-8000-0000005d9000"
_SLOT = 9_007_199_254_740_881

Message = tuple[str, str]  # (queue list key, payload)


class _Capture:
    """Takes the place of a producer's publish batch and keeps the transport's commands."""

    def __init__(self) -> None:
        self.commands: list[tuple[str, tuple[Any, ...]]] = []

    def publish(self, channel: Any, message: Any, **kwargs: Any) -> Any:
        return channel.basic_publish(message, _publish_batch=self, **kwargs)

    def add(self, name: str, *args: Any) -> None:
        self.commands.append((name, args))


@dataclass(frozen=True, slots=True)
class _Template:
    key: str
    payload: str
    tag: str

    def stamp(self, task_id: str, slot_ms: int) -> str:
        return (
            self.payload.replace(_TASK_ID, task_id)
            .replace(self.tag, str(uuid.uuid4()))
            .replace(str(_SLOT), str(slot_ms))
        )


class MessageEncoder:
    def __init__(
        self, producer: Callable[[], Any], send: Callable[[Schedule, str, int], None]
    ) -> None:
        self._producer = producer
        self._send = send
        self._templates: dict[tuple[str, int], _Template | None] = {}
        self._used: set[tuple[str, int]] = set()

    def encode(self, sends: Sequence[tuple[Schedule, str, int]]) -> list[list[Message]] | None:
        """Each send's messages, or None if the transport did something other than LPUSH."""
        encoded: list[list[Message]] = []
        for schedule, task_id, slot_ms in sends:
            template = self._template(schedule)
            if template is not None:
                encoded.append([(template.key, template.stamp(task_id, slot_ms))])
                continue
            messages = self._capture(schedule, task_id, slot_ms)
            if messages is None:
                return None
            encoded.append(messages)
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
        messages = self._capture(schedule, _TASK_ID, _SLOT)
        if messages is None or len(messages) != 1:
            return None
        queue_key, payload = messages[0]
        tag = str(json.loads(payload)["properties"]["delivery_tag"])
        if payload.count(tag) != 1 or payload.count(str(_SLOT)) != 1 or _TASK_ID not in payload:
            return None
        return _Template(queue_key, payload, tag)

    def _capture(self, schedule: Schedule, task_id: str, slot_ms: int) -> list[Message] | None:
        # kombu 5.7 routes a producer's publishes through ``_batch_local.current`` when set.
        local = self._producer()._batch_local
        capture = _Capture()
        local.current = capture
        try:
            self._send(schedule, task_id, slot_ms)
        finally:
            del local.current
        if not capture.commands or any(name != "lpush" for name, _ in capture.commands):
            return None
        return [
            (str(args[0]), args[1].decode() if isinstance(args[1], bytes) else str(args[1]))
            for _, args in capture.commands
        ]
