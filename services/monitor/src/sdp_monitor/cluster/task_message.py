"""Celery task messages as kombu's Redis transport keeps them in a queue, read without kombu.

Each message is the JSON of kombu's envelope: `headers`, `properties` (`priority`,
`body_encoding`), `content-type` and `body`. Celery's protocol 2 puts what a task is in the
headers (`task`, `id`, `eta`, `expires`, and `argsrepr` and `kwargsrepr`: the arguments as the
sender chose to show them, which may hide a secret), and the arguments themselves in the body,
`[args, kwargs, embed]`, base64-encoded when `properties.body_encoding` says so. The arguments
are shown as the sender's representation; the body is read only for a message without one.

What it depends on: kombu 5.7's Redis envelope and Celery 5.7's protocol 2 headers.
test_monitor_queues_messages reads messages a Celery app sends both ways, with kombu's own code
and with this module's, and fails on an upgrade that changes either.
"""

from __future__ import annotations

import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

__all__ = ["TaskMessage", "read_task_message"]


@dataclass(frozen=True, slots=True)
class TaskMessage:
    """What could be read of one message; `error` says what could not, if anything."""

    size: int
    id: str | None = None
    task: str | None = None
    eta: datetime | None = None
    expires: datetime | None = None
    args: str | None = None
    kwargs: str | None = None
    error: str | None = None


class _Unreadable(Exception):
    pass


def read_task_message(data: bytes, cap: int) -> TaskMessage:
    """One message as stored in a queue's list; the arguments' text cut to `cap` characters.

    Never raises for what the message holds: a message that does not decode is returned with
    the fields read before the failure and an `error`.
    """
    read: dict[str, Any] = {}
    try:
        _read(data, cap, read)
    except _Unreadable as exc:
        return TaskMessage(size=len(data), **read, error=str(exc))
    return TaskMessage(size=len(data), **read)


def _read(data: bytes, cap: int, read: dict[str, Any]) -> None:
    """Fill `read` field by field, so a failure leaves what was read before it."""
    try:
        envelope = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise _Unreadable(f"not JSON: {exc}") from None
    headers = envelope.get("headers") if isinstance(envelope, dict) else None
    if not isinstance(headers, dict) or "task" not in headers or "id" not in headers:
        raise _Unreadable("not a Celery protocol 2 message: no task and id in its headers")
    read["id"], read["task"] = _str(headers["id"]), _str(headers["task"])
    for field in ("eta", "expires"):
        read[field] = _moment(field, headers.get(field))
    shown = headers.get("argsrepr"), headers.get("kwargsrepr")
    if None in shown:
        shown = _arguments(envelope)
    read["args"], read["kwargs"] = (None if text is None else str(text)[:cap] for text in shown)


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def _moment(field: str, value: Any) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        raise _Unreadable(f"{field} is not an ISO 8601 time: {str(value)[:64]!r}") from None


def _arguments(envelope: dict[str, Any]) -> tuple[str, str]:
    """The body's args and kwargs as Python shows them, for a sender that gave no repr."""
    content_type = envelope.get("content-type")
    if content_type != "application/json":
        raise _Unreadable(f"its arguments are {content_type}, not JSON")
    properties = envelope.get("properties")
    try:
        body = envelope["body"]
        if isinstance(properties, dict) and properties.get("body_encoding") == "base64":
            body = binascii.a2b_base64(body)
        decoded = orjson.loads(body)
    except (KeyError, TypeError, ValueError) as exc:  # binascii.Error is a ValueError
        raise _Unreadable(f"its body does not decode: {exc}") from None
    if not isinstance(decoded, list) or len(decoded) < 2:
        raise _Unreadable("its body is not [args, kwargs, embed]")
    return repr(decoded[0]), repr(decoded[1])
