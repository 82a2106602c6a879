"""Who did which operator or admin action, on what, with what result: a capped Redis stream."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from typing import Any

import redis.asyncio as aioredis

from sdp_core import keys
from sdp_core.auth import Principal
from sdp_core.replies import text
from sdp_http.errors import ApiError, ValidationFailed

__all__ = ["AuditEntry", "AuditLog", "Outcome"]

log = logging.getLogger(__name__)

_STREAM_ID = re.compile(r"^(\d+)-(\d+)$")
_MAX_SEQ = 2**64 - 1


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: float
    subject: str
    role: str
    action: str
    target: str
    result: str
    detail: str = ""


@dataclass(slots=True)
class Outcome:
    """What the action reports back for its audit entry."""

    # "ok", or what the action says of workers that did not do it ("partial", "failed").
    result: str = "ok"
    detail: str = ""


def _before(stream_id: str) -> str:
    """The id just before `stream_id`, for an exclusive XREVRANGE that Redis 6 also accepts."""
    match = _STREAM_ID.match(stream_id)
    if match is None:
        raise ValidationFailed(
            "cursor: not a cursor this endpoint returned", [("cursor", "malformed cursor")]
        )
    ms, seq = int(match.group(1)), int(match.group(2))
    return f"{ms}-{seq - 1}" if seq else f"{max(ms - 1, 0)}-{_MAX_SEQ}"


class AuditLog:
    def __init__(self, client: aioredis.Redis, max_entries: int) -> None:
        self.client = client
        self.max_entries = max_entries

    @asynccontextmanager
    async def action(
        self, principal: Principal, action: str, target: str
    ) -> AsyncIterator[Outcome]:
        """Record the action when it ends: the outcome's result, or the error code it failed
        with."""
        outcome = Outcome()
        # Stays so only if the request is cancelled mid-action.
        result, detail = "interrupted", ""
        try:
            yield outcome
            result, detail = outcome.result, outcome.detail
        except ApiError as exc:
            result, detail = exc.code, exc.message
            raise
        except Exception as exc:
            result, detail = "error", f"{type(exc).__name__}: {exc}"
            raise
        finally:
            await self._write(
                AuditEntry(
                    time.time(),
                    principal.subject,
                    principal.role.name,
                    action,
                    target,
                    result,
                    detail,
                )
            )

    async def _write(self, entry: AuditEntry) -> None:
        fields: dict[Any, Any] = {k: str(v) for k, v in asdict(entry).items()}
        try:
            await self.client.xadd(
                keys.MONITOR_AUDIT, fields, maxlen=self.max_entries, approximate=True
            )
        except aioredis.RedisError as exc:
            # The action happened; the service log keeps what the stream could not.
            log.error("audit entry not stored (%s): %s", exc, fields)

    async def page(
        self, cursor: str | None, limit: int
    ) -> tuple[list[tuple[str, AuditEntry]], str | None]:
        """Newest first; the cursor is the last entry's id."""
        top = "+" if cursor is None else _before(cursor)
        rows: Any = await self.client.xrevrange(keys.MONITOR_AUDIT, max=top, min="-", count=limit)
        items = []
        for raw_id, raw in rows or []:
            fields = {text(k): text(v) for k, v in raw.items()}
            items.append(
                (
                    text(raw_id),
                    AuditEntry(
                        at=float(fields.get("at", 0)),
                        subject=fields.get("subject", ""),
                        role=fields.get("role", ""),
                        action=fields.get("action", ""),
                        target=fields.get("target", ""),
                        result=fields.get("result", ""),
                        detail=fields.get("detail", ""),
                    ),
                )
            )
        next_cursor = items[-1][0] if len(items) == limit else None
        return items, next_cursor
