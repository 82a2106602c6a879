"""`/healthz` (the process answers) and `/readyz` (Redis answers on a fresh connection)."""

from __future__ import annotations

import redis.asyncio as aioredis
from fastapi import APIRouter, Request

from sdp_core.connections import async_client
from sdp_http.errors import ServiceUnavailable
from sdp_http.schemas import Health, error_responses

__all__ = ["router"]

READY_TIMEOUT_S = 2.0

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    return Health(status="ok")


@router.get("/readyz", response_model=Health, responses=error_responses(503))
async def readyz(request: Request) -> Health:
    # A fresh connection, not the pool: a pooled socket can look alive after Redis went away.
    client = async_client(
        request.app.state.settings.redis_url,
        socket_connect_timeout=READY_TIMEOUT_S,
        socket_timeout=READY_TIMEOUT_S,
        single_connection_client=True,
    )
    try:
        await client.ping()
    except (aioredis.ConnectionError, aioredis.TimeoutError, OSError) as exc:
        raise ServiceUnavailable(f"redis is not answering: {exc}") from None
    finally:
        await client.aclose()
    return Health(status="ready", checks={"redis": "ok"})
