"""One place that turns every error into the JSON envelope, never a traceback."""

from __future__ import annotations

import json
import logging

import redis
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from kombu.exceptions import OperationalError
from starlette.exceptions import HTTPException

from sdp_core import validation
from sdp_http.errors import (
    ApiError,
    FieldError,
    MalformedBody,
    ServiceUnavailable,
    UnsupportedMediaType,
)
from sdp_http.schemas import ErrorBody, ErrorField, ErrorResponse

__all__ = ["JSON_MEDIA_TYPE", "error_response", "install_error_handlers"]

log = logging.getLogger(__name__)

# What every operation that takes a body reads (FastAPI also parses `application/*+json`).
JSON_MEDIA_TYPE = "application/json"
# Of a Content-Type a client sent, this much is quoted back.
_QUOTED_MAX_CHARS = 100

_HTTP_CODES = {401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}


def error_response(
    status: int, code: str, message: str, fields: list[FieldError] | None = None
) -> JSONResponse:
    body = ErrorResponse(
        error=ErrorBody(
            code=code,
            message=message,
            fields=[ErrorField(field=f, message=m) for f, m in fields or []],
        )
    )
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def _field_name(loc: tuple[int | str, ...]) -> str:
    # FastAPI prefixes the location with where it came from; the client knows its own body.
    parts = list(loc[1:] if loc and loc[0] in ("body", "query", "path", "header") else loc)
    return ".".join(str(p) for p in parts) or str(loc[0] if loc else "request")


def _answer(error: ApiError) -> JSONResponse:
    return error_response(error.status_code, error.code, error.message, error.fields)


def _about_body(error: type[ApiError], message: str) -> ApiError:
    """An error whose one field is the body: the client's whole body, never a parser offset."""
    return error(message, [("body", message.removeprefix("request body "))])


def _malformed(raw: bytes) -> ApiError:
    """Where the body stops being UTF-8 JSON, in the client's terms rather than the parser's."""
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        return _about_body(
            MalformedBody,
            f"request body is not UTF-8: {exc.reason} at byte {exc.start} (0x{raw[exc.start]:02x})",
        )
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        return _about_body(
            MalformedBody,
            f"request body is not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
        )
    except RecursionError:
        return _about_body(
            MalformedBody, "request body is not JSON this service reads: nested too deeply"
        )
    return _about_body(MalformedBody, "request body could not be read as JSON")


def _unsupported(request: Request) -> ApiError:
    sent = request.headers.get("content-type")
    what = f"Content-Type {sent[:_QUOTED_MAX_CHARS]}" if sent else "a body without a Content-Type"
    return _about_body(
        UnsupportedMediaType, f"{what} is not accepted: send the body as {JSON_MEDIA_TYPE}"
    )


async def _api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return _answer(exc)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # The request is the one the route read, so its body is still at hand.
    if isinstance(exc.body, bytes):
        # FastAPI leaves a body it did not parse, one sent as another media type, as bytes.
        return _answer(_unsupported(request))
    if any(error.get("type") == "json_invalid" for error in exc.errors()):
        return _answer(_malformed(await request.body()))
    fields = [(_field_name(tuple(e["loc"])), validation.message(e)) for e in exc.errors()]
    message = "; ".join(f"{f}: {m}" for f, m in fields)
    return error_response(422, "validation_error", message, fields)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 400 and exc.__cause__ is not None:
        # FastAPI's own 400, raised from what failed while it decoded the body (not UTF-8,
        # nested too deeply).
        return _answer(_malformed(await request.body()))
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    return error_response(exc.status_code, code, str(exc.detail))


async def _backend_down(_: Request, exc: Exception) -> JSONResponse:
    log.warning("backend unavailable: %s", exc)
    error = ServiceUnavailable(f"a backing service is unavailable: {type(exc).__name__}")
    return error_response(error.status_code, error.code, error.message)


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return error_response(500, "internal_error", "internal error; see the service log")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    for exc_type in (redis.ConnectionError, redis.TimeoutError, OperationalError, ConnectionError):
        app.add_exception_handler(exc_type, _backend_down)
    app.add_exception_handler(Exception, _unexpected)
