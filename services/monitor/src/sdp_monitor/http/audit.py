"""Who did which operator or admin action, on what, with what result: a capped Redis stream."""

from __future__ import annotations

import logging
import math
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

__all__ = ["AuditEntry", "AuditFilter", "AuditLog", "Outcome"]

log = logging.getLogger(__name__)

# Milliseconds to the year 33658 and a sequence number: a stream id Redis takes.
_STREAM_ID = re.compile(r"^(\d{1,15})-(\d{1,19})$")
_MAX_SEQ = 2**64 - 1
# A filtered page reads the stream this many entries at a time, and at most SCAN_BUDGET in all,
# so it costs the same however rare the matches are.
SCAN_CHUNK = 500
SCAN_BUDGET = 2_000


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


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Entries with exactly this action, subject and result, a target starting with
    `target_prefix`, stored between `since` and `until` (epoch seconds, both included)."""

    action: str | None = None
    subject: str | None = None
    result: str | None = None
    target_prefix: str = ""
    since: float | None = None
    until: float | None = None

    @property
    def by_field(self) -> bool:
        """Whether entries must be read to be matched (the times are the stream's own range)."""
        return bool(self.action or self.subject or self.result or self.target_prefix)

    def matches(self, entry: AuditEntry) -> bool:
        return (
            (self.action is None or entry.action == self.action)
            and (self.subject is None or entry.subject == self.subject)
            and (self.result is None or entry.result == self.result)
            and entry.target.startswith(self.target_prefix)
        )


def _id_key(stream_id: str) -> tuple[int, int]:
    ms, _, seq = stream_id.partition("-")
    return int(ms), int(seq)


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
        self, cursor: str | None, limit: int, where: AuditFilter | None = None
    ) -> tuple[list[tuple[str, AuditEntry]], str | None]:
        """Newest first; the cursor is the last entry's id.

        Filtered by field, one call reads at most `SCAN_BUDGET` entries: its page may hold
        fewer than `limit`, even none, and still have a cursor to go on from.
        """
        where = where or AuditFilter()
        # The entries' ids are the milliseconds they were stored at, so times bound the range;
        # no id is before 1970, and Redis refuses a negative one.
        if where.until is not None and where.until < 0:
            return [], None
        top = "+" if where.until is None else f"{math.floor(where.until * 1000)}-{_MAX_SEQ}"
        if cursor is not None:
            after = _before(cursor)
            top = after if top == "+" else min(top, after, key=_id_key)
        bottom = "-" if where.since is None else f"{max(math.ceil(where.since * 1000), 0)}-0"
        if not where.by_field:
            items = await self._read(top, bottom, limit)
            return items, items[-1][0] if len(items) == limit else None
        matched: list[tuple[str, AuditEntry]] = []
        examined, last = 0, None
        while examined < SCAN_BUDGET:
            count = min(SCAN_CHUNK, SCAN_BUDGET - examined)
            rows = await self._read(top, bottom, count)
            for entry_id, entry in rows:
                examined += 1
                if where.matches(entry):
                    matched.append((entry_id, entry))
                    if len(matched) == limit:
                        return matched, entry_id
            if len(rows) < count:
                return matched, None
            last = rows[-1][0]
            top = _before(last)
        # The budget is spent: go on from the last entry read.
        return matched, last

    async def _read(self, top: str, bottom: str, count: int) -> list[tuple[str, AuditEntry]]:
        rows: Any = await self.client.xrevrange(
            keys.MONITOR_AUDIT, max=top, min=bottom, count=count
        )
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
        return items
