"""`/api/v1/celery/events`: worker and task changes as Server-Sent Events."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from sdp_http.auth import ViewerDep
from sdp_http.schemas import error_responses
from sdp_monitor.http.deps import FeedDep, LiveDep, SettingsDep
from sdp_monitor.stream.feed import Change, ChangeFeed, worker_change
from sdp_monitor.stream.live import LiveState

router = APIRouter(tags=["events"])


def _sse(change: Change) -> str:
    return f"event: {change['type']}\ndata: {json.dumps(change, separators=(',', ':'))}\n\n"


async def _stream(feed: ChangeFeed, live: LiveState, keepalive_s: float) -> AsyncIterator[str]:
    with feed.subscribe() as changes:
        # Every worker first, so a client starts from the whole picture.
        for worker, online in live.workers():
            yield _sse(worker_change(worker.name, (worker, online)))
        while True:
            try:
                batch = await asyncio.wait_for(changes.get(), keepalive_s)
            except TimeoutError:
                yield ": keepalive\n\n"
                continue
            yield "".join(_sse(change) for change in batch)


@router.get(
    "/events",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "`worker` and `task` events."},
        **error_responses(401, 403),
    },
)
async def events(
    _: ViewerDep, feed: FeedDep, live: LiveDep, settings: SettingsDep
) -> StreamingResponse:
    """`event: worker` (name, online, last_heartbeat, processed, loadavg) and `event: task`
    (id, state, name, worker, queue, at) as they happen, batched every history flush."""
    return StreamingResponse(
        _stream(feed, live, settings.sse_keepalive_s),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
