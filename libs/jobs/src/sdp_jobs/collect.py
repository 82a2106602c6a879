"""The HTTP collector: fetch a URL with bounded size and retries, keep the body for ETL."""

from __future__ import annotations

import hashlib
import random
import re
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Literal, Self, TypedDict

import httpx
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    JsonValue,
    StrictFloat,
    StrictInt,
    field_validator,
    model_validator,
)

from sdp_core import keys
from sdp_jobs.context import JobContext
from sdp_jobs.errors import JobError, TransientJobError

__all__ = ["BACKOFF_CAP_S", "CollectParams", "CollectResult", "backoff_delay", "collect_http"]

MIB = 1024 * 1024
BACKOFF_CAP_S = 30.0

Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]
Status = Annotated[StrictInt, Field(ge=100, le=599)]

# RFC 9110 token characters; anything else in a header name is a mistake or an injection.
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")

# Failures of the network or of the server's side of the exchange, not of the request itself.
_TRANSIENT_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


class CollectParams(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        # The rule of `_one_body`, for a client that checks the schema before it sends.
        json_schema_extra={
            "not": {
                "required": ["json_body", "body"],
                "properties": {"json_body": {"not": {"type": "null"}}, "body": {"type": "string"}},
            }
        },
    )

    url: HttpUrl = Field(
        description="The http or https URL to fetch.",
        examples=["https://example.org/orders.json"],
        # HttpUrl's scheme check; "format: uri" alone would also let ftp:// through.
        json_schema_extra={"pattern": "^[Hh][Tt][Tt][Pp][Ss]?://"},
    )
    method: Method = Field("GET", description="HTTP method (case does not matter).")
    headers: dict[str, str] = Field(
        default_factory=dict,
        description="Request headers: names are RFC 9110 tokens, values hold no line break.",
        examples=[{"Accept": "application/json"}],
        json_schema_extra={
            "propertyNames": {"pattern": _HEADER_NAME.pattern},
            "additionalProperties": {"type": "string", "pattern": "^[^\\r\\n]*$"},
        },
    )
    json_body: JsonValue | None = Field(
        None, description="A body sent as JSON; give this or `body`, not both."
    )
    body: str | None = Field(None, description="A body sent as text; give this or `json_body`.")
    timeout_s: StrictFloat = Field(
        10.0, gt=0, le=300, description="Seconds per read and for the whole body: up to 300."
    )
    max_bytes: StrictInt = Field(
        10 * MIB,
        gt=0,
        le=100 * MIB,
        description="Largest body taken, counted decoded: up to 104,857,600 (100 MiB).",
    )
    attempts: StrictInt = Field(
        3,
        ge=1,
        le=10,
        description="Tries within the call, 1 to 10, for connection errors and `retry_statuses`.",
    )
    backoff_s: StrictFloat = Field(
        0.5,
        ge=0,
        le=60,
        description="Wait after the first failed try, 0 to 60 s; it doubles, capped at 30 s.",
    )
    retry_statuses: frozenset[Status] = Field(
        default_factory=lambda: frozenset(range(500, 600)),
        description="Answer statuses tried again (100 to 599); every 5xx when left out.",
        examples=[[502, 503, 504]],
    )

    @field_validator("method", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("headers")
    @classmethod
    def _header_syntax(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            if not _HEADER_NAME.match(name):
                raise ValueError(f"invalid header name {name!r}")
            if "\r" in text or "\n" in text:
                raise ValueError(f"header {name!r} holds a line break")
        return value

    @model_validator(mode="after")
    def _one_body(self) -> Self:
        if self.json_body is not None and self.body is not None:
            raise ValueError("give json_body or body, not both")
        return self


class CollectResult(TypedDict):
    status: int
    bytes: int
    sha256: str
    elapsed_ms: int
    payload_key: str
    content_type: str
    attempts: int


@dataclass(frozen=True, slots=True)
class _Fetched:
    status: int
    url: str
    content_type: str
    body: bytes


def backoff_delay(base_s: float, attempt: int) -> float:
    """Seconds to wait after failed attempt ``attempt`` (from 1): doubling, capped, jittered."""
    delay = min(base_s * 2.0 ** (attempt - 1), BACKOFF_CAP_S)
    # Up to 10 % jitter keeps many workers retrying one failed host from arriving in step.
    return delay + random.uniform(0, delay / 10)


def collect_http(ctx: JobContext, params: CollectParams) -> CollectResult:
    """Fetch a URL over HTTP and keep its body in Redis for an ETL transform."""
    started = time.monotonic()
    with httpx.Client(timeout=params.timeout_s, follow_redirects=True) as client:
        fetched, attempts = _fetch_with_retries(client, params)
    elapsed_ms = round((time.monotonic() - started) * 1000)

    payload_key = keys.payload(ctx.task_id or uuid.uuid4().hex)
    # MULTI so the body is never visible without its TTL.
    with ctx.redis.pipeline(transaction=True) as pipe:
        pipe.delete(payload_key)
        pipe.hset(
            payload_key,
            mapping={
                "body": fetched.body,
                "content_type": fetched.content_type,
                "url": fetched.url,
                "status": fetched.status,
                "fetched_at": datetime.now(UTC).isoformat(),
            },
        )
        pipe.expire(payload_key, ctx.payload_ttl_s)
        pipe.execute()

    return {
        "status": fetched.status,
        "bytes": len(fetched.body),
        "sha256": hashlib.sha256(fetched.body).hexdigest(),
        "elapsed_ms": elapsed_ms,
        "payload_key": payload_key,
        "content_type": fetched.content_type,
        "attempts": attempts,
    }


def _fetch_with_retries(client: httpx.Client, params: CollectParams) -> tuple[_Fetched, int]:
    attempt = 1
    while True:
        try:
            return _fetch_once(client, params), attempt
        except TransientJobError as exc:
            if attempt >= params.attempts:
                raise TransientJobError(f"{exc} (gave up after {attempt} attempts)") from exc
        time.sleep(backoff_delay(params.backoff_s, attempt))
        attempt += 1


def _describe(params: CollectParams) -> str:
    # Without the query string: it may carry an API key, and messages end up in task results.
    return f"{params.method} {str(params.url).split('?', 1)[0]}"


def _fetch_once(client: httpx.Client, params: CollectParams) -> _Fetched:
    what = _describe(params)
    deadline = time.monotonic() + params.timeout_s
    try:
        with client.stream(
            params.method,
            str(params.url),
            headers=params.headers,
            json=params.json_body,
            content=params.body,
        ) as response:
            status = response.status_code
            if status in params.retry_statuses:
                raise TransientJobError(f"{what} answered {status} {response.reason_phrase}")
            if not 200 <= status < 300:
                raise JobError(f"{what} answered {status} {response.reason_phrase}")
            body = _read_bounded(response, params, deadline)
            return _Fetched(
                status, str(response.url), response.headers.get("content-type", ""), body
            )
    except _TRANSIENT_ERRORS as exc:
        raise TransientJobError(f"{what} failed: {type(exc).__name__}: {exc}") from exc
    except httpx.HTTPError as exc:
        raise JobError(f"{what} failed: {type(exc).__name__}: {exc}") from exc


def _read_bounded(response: httpx.Response, params: CollectParams, deadline: float) -> bytes:
    max_bytes = params.max_bytes
    too_big = f"{_describe(params)}: body exceeds max_bytes={max_bytes}"
    declared = response.headers.get("content-length")
    # Content-Length counts encoded bytes; only an unencoded body can be refused before reading.
    unencoded = "content-encoding" not in response.headers
    if unencoded and declared and declared.isdigit() and int(declared) > max_bytes:
        raise JobError(f"{too_big} (Content-Length {declared})")
    chunks: list[bytes] = []
    size = 0
    # Decoded bytes are counted, so a small compressed body cannot expand past the limit.
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise JobError(too_big)
        # httpx's timeout is per read; this bounds a server that trickles bytes forever.
        if time.monotonic() > deadline:
            raise TransientJobError(
                f"{_describe(params)}: body not received within {params.timeout_s} s"
            )
        chunks.append(chunk)
    return b"".join(chunks)
