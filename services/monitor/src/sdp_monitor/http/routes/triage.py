"""`/api/v1/celery/failures`: failures by task name and exception type."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from sdp_http.auth import ViewerDep
from sdp_http.schemas import error_responses
from sdp_monitor.history.triage import Triage, TriageFilter, Window
from sdp_monitor.http.deps import HistoryDep
from sdp_monitor.http.schemas import FailureGroup, FailureList, FailureSample
from sdp_monitor.http.times import since_until

router = APIRouter(tags=["triage"])

_WHEN = (
    "ISO 8601 (UTC unless it says otherwise) or epoch seconds; compared with when the task "
    "failed, included."
)


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


@router.get("/failures", response_model=FailureList, responses=error_responses(401, 403, 422, 503))
async def list_failures(
    *,
    _: ViewerDep,
    history: HistoryDep,
    since: Annotated[datetime | None, Query(description=f"Failed then or later: {_WHEN}")] = None,
    until: Annotated[datetime | None, Query(description=f"Failed then or before: {_WHEN}")] = None,
) -> FailureList:
    """The failures in the window grouped by task name and exception type, from indexes kept
    as the history is written: the cost grows with the groups, not with the tasks."""
    window = Window.of(*since_until(since, until))
    summaries = await Triage(history.client).summary(TriageFilter("FAILURE"), window)
    return FailureList(
        items=[
            FailureGroup(
                task=s.group.task or None,
                exception_type=s.group.exception_type,
                count=s.count,
                first_seen=_at(s.first_ms),
                last_seen=_at(s.last_ms),
                sample=FailureSample(id=s.sample_id, message=s.sample_exception),
            )
            for s in summaries
        ]
    )
