"""`/api/v1/celery/failures` and `/tasks/retry`: failures by group, and their bulk retry."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from sdp_http.auth import OperatorDep, ViewerDep
from sdp_http.schemas import error_responses
from sdp_monitor.history.triage import Triage, TriageFilter, Window
from sdp_monitor.http import bulk_retry
from sdp_monitor.http.deps import AuditDep, CeleryDep, HistoryDep, SettingsDep
from sdp_monitor.http.schemas import (
    BulkRetryRequest,
    BulkRetryResult,
    FailureGroup,
    FailureList,
    FailureSample,
)
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


def _described(body: BulkRetryRequest) -> str:
    """The filter as an audit target: "<state>:<exception type>:<task>", `*` for any."""
    return ":".join((body.state, body.exception_type or "*", body.task or "*"))


def _when(at: datetime | None) -> str:
    return "-" if at is None else at.isoformat()


@router.post(
    "/tasks/retry",
    response_model=BulkRetryResult,
    responses=error_responses(401, 403, 422, 503),
)
async def retry_matching(
    *,
    body: BulkRetryRequest,
    principal: OperatorDep,
    history: HistoryDep,
    celery: CeleryDep,
    audit: AuditDep,
    settings: SettingsDep,
) -> BulkRetryResult:
    """Send again, each once, the failed or revoked tasks that ended in the window: the
    earliest first, at most 1,000 a call, none retried through the monitor before (so calling
    again goes on with the next ones). A `dry_run` tells which it would send, and is not
    audited; a call that sends is, once, with its counts."""
    window = Window.of(*since_until(body.since, body.until))
    where = TriageFilter(body.state, body.task, body.exception_type)
    triage = Triage(history.client)
    if body.dry_run:
        plan = await bulk_retry.plan(triage, where, window)
        return BulkRetryResult(
            matched=plan.matched, dry_run=True, ids=plan.chosen, retried=[], skipped=plan.skipped
        )
    async with audit.action(principal, "tasks.retry", _described(body)) as outcome:
        plan = await bulk_retry.plan(triage, where, window)
        retried, refused = await bulk_retry.run(
            plan.chosen, history, celery, settings.history_text_max_chars
        )
        if refused:
            outcome.result = "partial" if retried else "failed"
        outcome.detail = (
            f"matched {plan.matched}, retried {len(retried)}, skipped "
            f"{len(plan.skipped) + len(refused)}; since {_when(body.since)}, until "
            f"{_when(body.until)}"
        )
    return BulkRetryResult(
        matched=plan.matched,
        dry_run=False,
        ids=plan.chosen,
        retried=retried,
        skipped=[*plan.skipped, *refused],
    )
