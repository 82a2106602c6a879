"""`/api/v1/scheduler/status`: which engine fires schedules, who leads, and whether it is up."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from sdp_api.deps import DefinitionsDep, EngineDep
from sdp_core.heartbeat import read_heartbeat
from sdp_http.auth import ViewerDep
from sdp_http.schemas import error_responses

router = APIRouter(prefix="/scheduler", tags=["schedules"])


class SchedulerStatus(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "engine": "celery",
                    "healthy": True,
                    "leader": "beat-1:4242",
                    "this_replica_leads": False,
                    "last_tick_age_s": 0.4,
                    "schedules_active": 1200,
                    "schedules_paused": 35,
                    "schedules_finished": 4,
                    "schedules_set_aside": 0,
                }
            ]
        }
    )

    engine: str = Field(description="`celery` (beat fires onto the queues) or `apscheduler`.")
    healthy: bool = Field(description="Some replica leads and is firing.")
    leader: str | None = Field(description="The replica that fires schedules now.")
    this_replica_leads: bool = Field(description="apscheduler: this API replica is the leader.")
    last_tick_age_s: float | None = Field(description="celery: age of beat's last heartbeat.")
    schedules_active: int
    schedules_paused: int
    schedules_finished: int
    schedules_set_aside: int = Field(description="Beat could not fire them; see each one.")


@router.get("/status", response_model=SchedulerStatus, responses=error_responses(401, 403, 503))
def scheduler_status(
    _: ViewerDep, definitions: DefinitionsDep, engine: EngineDep
) -> SchedulerStatus:
    counts = definitions.counts()
    if engine is None:
        beat = read_heartbeat(definitions.client)
        return SchedulerStatus(
            engine="celery",
            healthy=beat is not None,
            leader=None if beat is None else beat.node,
            this_replica_leads=False,
            last_tick_age_s=None if beat is None else beat.age_s(),
            schedules_active=counts.active,
            schedules_paused=counts.paused,
            schedules_finished=counts.finished,
            schedules_set_aside=counts.set_aside,
        )
    leader = engine.lock.holder()
    return SchedulerStatus(
        engine="apscheduler",
        healthy=leader is not None,
        leader=leader,
        this_replica_leads=engine.leading,
        last_tick_age_s=None,
        schedules_active=counts.active,
        schedules_paused=counts.paused,
        schedules_finished=counts.finished,
        schedules_set_aside=counts.set_aside,
    )
