"""`/api/v1/celery/workers` and `/worker/*`: every worker from live state, and their controls."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends

from sdp_core.auth import Principal
from sdp_http.auth import AdminDep, ViewerDep
from sdp_http.errors import Conflict
from sdp_http.schemas import ErrorBody, ErrorResponse, error_responses
from sdp_monitor.cluster import pools
from sdp_monitor.cluster.control import Control, Replies, read_reply
from sdp_monitor.cluster.inspector import Inspector
from sdp_monitor.http.audit import AuditLog
from sdp_monitor.http.deps import AuditDep, ControlDep, InspectorDep, LiveDep
from sdp_monitor.http.schemas import (
    AutoscaleRequest,
    ConsumerRequest,
    ControlResponse,
    ControlResult,
    PoolResizeRequest,
    WorkerList,
    WorkerOut,
    WorkersRequest,
)

router = APIRouter(tags=["workers"])


def _control_errors() -> dict[int | str, dict[str, Any]]:
    """The errors of a control call, saying what each means when the workers are the cause."""
    responses: dict[int | str, dict[str, Any]] = error_responses(401, 403, 404, 409, 422, 503, 504)
    responses[404]["description"] = "A named worker is unknown (never seen, or purged)."
    # No worker online is the cluster's state, not the request's fault: retry once one is.
    unavailable = responses[503]
    unavailable["description"] = (
        "No worker is online to address (no names given), or Redis or the broker is not "
        "answering; nothing was sent."
    )
    none_online = ErrorResponse(error=ErrorBody(code="unavailable", message="no worker is online"))
    unavailable["content"]["application/json"]["examples"]["no_worker_online"] = {
        "value": none_online.model_dump()
    }
    responses[504]["description"] = (
        "A named or online worker did not answer within SDP_MONITOR_INSPECT_TIMEOUT_S; the "
        "message names it."
    )
    return responses


_CONTROL_ERRORS = _control_errors()


@router.get("/workers", response_model=WorkerList, responses=error_responses(401, 403))
async def list_workers(_: ViewerDep, live: LiveDep) -> WorkerList:
    """Fresh to the last heartbeat; offline workers stay listed until purged."""
    active = live.counts().active_by_worker
    items = []
    for worker, online in live.workers():
        running = active[worker.name] if online else 0
        items.append(
            WorkerOut(
                name=worker.name,
                online=online,
                last_heartbeat=datetime.fromtimestamp(worker.last_heartbeat, UTC),
                pool=worker.pool,
                concurrency=worker.concurrency,
                active=running,
                processed=worker.processed,
                utilisation=running / worker.concurrency if worker.concurrency else None,
                loadavg=list(worker.loadavg),
                queues=list(worker.queues),
                software=worker.software,
                system=worker.system,
                pid=worker.pid,
            )
        )
    return WorkerList(items=items)


def _results(workers: Sequence[str], replies: Replies) -> list[ControlResult]:
    results = []
    for name in workers:
        ok, message = read_reply(replies[name])
        results.append(ControlResult(worker=name, ok=ok, message=message))
    return results


def _verdict(results: Sequence[ControlResult]) -> str:
    """The audit's result: `ok` only when every worker addressed did what was asked."""
    refused = sum(not r.ok for r in results)
    return "ok" if not refused else "failed" if refused == len(results) else "partial"


Perform = Callable[[list[str]], Awaitable[list[ControlResult]]]


@dataclass(frozen=True, slots=True)
class _Controller:
    """An admin's control call: audited, and followed by a fresh inspect of the workers."""

    principal: Principal
    audit: AuditLog
    control: Control
    inspector: Inspector

    async def run(self, action: str, names: list[str] | None, perform: Perform) -> ControlResponse:
        """`perform` on the named or every online worker; a refusal it raises changes nothing."""
        target = ",".join(names or ["all"])
        async with self.audit.action(self.principal, action, target) as outcome:
            workers = self.control.targets(names)
            results = await perform(workers)
            outcome.result = _verdict(results)
            outcome.detail = "; ".join(f"{r.worker}: {r.message}" for r in results)
        # Their pool or queues changed.
        self.inspector.refresh(workers)
        return ControlResponse(action=action, results=results)

    async def command(
        self, action: str, command: str, names: list[str] | None, **arguments: Any
    ) -> ControlResponse:
        """Send one control command; each worker answers for itself."""

        async def perform(workers: list[str]) -> list[ControlResult]:
            return _results(workers, await self.control.call(command, workers, **arguments))

        return await self.run(action, names, perform)


def _controller(
    principal: AdminDep, audit: AuditDep, control: ControlDep, inspector: InspectorDep
) -> _Controller:
    return _Controller(principal, audit, control, inspector)


ControllerDep = Annotated[_Controller, Depends(_controller)]


@router.post("/worker/shutdown", response_model=ControlResponse, responses=_CONTROL_ERRORS)
async def shutdown(
    principal: AdminDep,
    audit: AuditDep,
    control: ControlDep,
    body: Annotated[WorkersRequest | None, Body()] = None,
) -> ControlResponse:
    """Warm shutdown: running tasks finish first. Each worker must answer a ping beforehand."""
    names = body.workers if body else None
    async with audit.action(principal, "worker.shutdown", ",".join(names or ["all"])) as outcome:
        workers = control.targets(names)
        await control.cast("shutdown", workers)
        outcome.detail = f"shutdown sent to {', '.join(workers)}"
    return ControlResponse(
        action="worker.shutdown",
        results=[ControlResult(worker=w, ok=True, message="shutdown sent") for w in workers],
    )


@router.post("/worker/pool/restart", response_model=ControlResponse, responses=_CONTROL_ERRORS)
async def pool_restart(
    controller: ControllerDep, body: Annotated[WorkersRequest | None, Body()] = None
) -> ControlResponse:
    """Replace each pool's processes; each worker answers for itself."""
    names = body.workers if body else None
    return await controller.command("worker.pool_restart", "pool_restart", names)


@router.post("/worker/autoscale", response_model=ControlResponse, responses=_CONTROL_ERRORS)
async def autoscale(body: AutoscaleRequest, controller: ControllerDep) -> ControlResponse:
    """Set the autoscaler's bounds; a worker started without one answers an error."""
    return await controller.command(
        "worker.autoscale", "autoscale", body.workers, max=body.max, min=body.min
    )


@router.post("/worker/pool/grow", response_model=ControlResponse, responses=_CONTROL_ERRORS)
async def pool_grow(body: PoolResizeRequest, controller: ControllerDep) -> ControlResponse:
    """Add `n` processes to each prefork pool; answered once they run (or after a wait)."""
    return await controller.run(
        "worker.pool_grow", body.workers, partial(pools.grow, controller.control, n=body.n)
    )


@router.post("/worker/pool/shrink", response_model=ControlResponse, responses=_CONTROL_ERRORS)
async def pool_shrink(body: PoolResizeRequest, controller: ControllerDep) -> ControlResponse:
    """Stop `n` idle processes of each prefork pool; refused if fewer than 1 would remain."""
    return await controller.run(
        "worker.pool_shrink", body.workers, partial(pools.shrink, controller.control, n=body.n)
    )


# A worker starts or stops consuming at its next loop, after it has answered.
CONSUMER_WAIT_S = 5.0


def _consumed(reply: Any) -> list[str]:
    """The queues in a worker's answer to `active_queues`."""
    return sorted(str(q["name"]) for q in reply) if isinstance(reply, list) else []


@router.post("/worker/{name}/queues", response_model=ControlResponse, responses=_CONTROL_ERRORS)
async def consumer(name: str, body: ConsumerRequest, controller: ControllerDep) -> ControlResponse:
    """Start (`add`) or stop (`cancel`) consuming a queue on one worker.

    Celery answers both as done whatever the worker consumed, so a queue it already consumes
    (add) or does not consume (cancel) is a 409 and nothing is sent; `ok` is true once the
    worker says it consumes the queue (or no longer does).
    """
    command, adding, queue = f"{body.action}_consumer", body.action == "add", body.queue

    async def perform(workers: list[str]) -> list[ControlResult]:
        [worker] = workers
        control = controller.control
        consumed = _consumed((await control.call("active_queues", workers))[worker])
        if (queue in consumed) == adding:
            state = "already consumes" if adding else "does not consume"
            raise Conflict(
                f"{worker} {state} {queue} (it consumes: {', '.join(consumed) or 'none'})",
                [("queue", f"{worker} {state} {queue}")],
            )
        accepted, said = read_reply((await control.call(command, workers, queue=queue))[worker])
        if accepted:
            replies = await control.poll(
                "active_queues",
                workers,
                lambda replies: (queue in _consumed(replies[worker])) == adding,
                CONSUMER_WAIT_S,
            )
            consumed = _consumed(replies[worker])
            if (queue in consumed) != adding:
                accepted = False
                said += f", but after {CONSUMER_WAIT_S:g} s it consumes: {', '.join(consumed)}"
        return [ControlResult(worker=worker, ok=accepted, message=said)]

    return await controller.run(f"worker.{command}", [name], perform)
