"""`/api/v1/celery/audit`: operator and admin actions, newest first."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from sdp_http.auth import AdminDep
from sdp_http.schemas import error_responses
from sdp_monitor.deps import AuditDep
from sdp_monitor.schemas import AuditEntryOut, AuditPage

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("", response_model=AuditPage, responses=error_responses(401, 403, 422, 503))
async def list_audit(
    _: AdminDep,
    audit: AuditDep,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> AuditPage:
    entries, next_cursor = await audit.page(cursor, limit)
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
