"""`/api/v1/jobs`: the job catalogue, for forms that submit or schedule a task."""

from __future__ import annotations

from functools import cache

from fastapi import APIRouter

from sdp_api.schemas import JobList, JobOut
from sdp_http.auth import ViewerDep
from sdp_http.schemas import error_responses
from sdp_jobs.catalogue import CATALOGUE

router = APIRouter(prefix="/jobs", tags=["jobs"])


@cache
def _catalogue() -> JobList:
    # The catalogue is fixed for the process's life, so its schemas are built once.
    return JobList(items=[JobOut.of(CATALOGUE[name]) for name in sorted(CATALOGUE)])


@router.get("", response_model=JobList, responses=error_responses(401, 403))
async def list_jobs(_: ViewerDep) -> JobList:
    """Every job with its queue, its arguments' JSON Schema and the policy workers run it by."""
    return _catalogue()
