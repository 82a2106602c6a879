"""`/api/v1/celery/audit`: operator and admin actions, newest first, filtered."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from sdp_http.auth import AdminDep
from sdp_http.schemas import error_responses
from sdp_monitor.http.audit import AuditFilter
from sdp_monitor.http.deps import AuditDep
from sdp_monitor.http.schemas import AuditEntryOut, AuditPage, AuditResult
from sdp_monitor.http.times import since_until

router = APIRouter(prefix="/audit", tags=["audit"])

_WHEN = (
    "ISO 8601 (UTC unless it says otherwise) or epoch seconds; compared with the time the "
    "entry was stored, included."
)


@router.get("", response_model=AuditPage, responses=error_responses(401, 403, 422, 503))
async def list_audit(
    *,
    _: AdminDep,
    audit: AuditDep,
    action: Annotated[
        str | None, Query(description="Exactly this action, e.g. `queue.purge`.")
    ] = None,
    subject: Annotated[str | None, Query(description="Exactly this token subject.")] = None,
    result: AuditResult | None = None,
    target: Annotated[str, Query(description="Targets starting with this.")] = "",
    since: Annotated[datetime | None, Query(description=f"Entries from then on: {_WHEN}")] = None,
    until: Annotated[datetime | None, Query(description=f"Entries until then: {_WHEN}")] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> AuditPage:
    """Newest first. A page filtered by action, subject, result or target examines a bounded
    number of entries, so it may hold fewer than `limit` items while `next_cursor` is set:
    follow it to the end."""
    low, high = since_until(since, until)
    where = AuditFilter(
        action=action or None,
        subject=subject or None,
        result=None if result is None else result.value,
        target_prefix=target,
        since=low,
        until=high,
    )
    entries, next_cursor = await audit.page(cursor, limit, where)
    return AuditPage(
        items=[
            AuditEntryOut(
                id=entry_id,
                at=datetime.fromtimestamp(entry.at, UTC),
                subject=entry.subject,
                role=entry.role,
                action=entry.action,
                target=entry.target,
                result=entry.result,
                detail=entry.detail,
            )
            for entry_id, entry in entries
        ],
        next_cursor=next_cursor,
    )
