"""Response models shared by the HTTP services (the error envelope, health)."""

from __future__ import annotations

from pydantic import BaseModel

__all__ = [
    "MALFORMED_BODY_EXAMPLE",
    "ErrorBody",
    "ErrorField",
    "ErrorResponse",
    "Health",
    "error_responses",
]


class ErrorField(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    code: str
    message: str
    fields: list[ErrorField] = []


class ErrorResponse(BaseModel):
    error: ErrorBody


class Health(BaseModel):
    status: str
    checks: dict[str, str] = {}


# The other 422 of an operation that takes a body: the body is not JSON, or not UTF-8, at all.
MALFORMED_BODY_EXAMPLE = ErrorResponse(
    error=ErrorBody(
        code="malformed_body",
        message="request body is not JSON: Expecting property name enclosed in double "
        "quotes at line 1, column 2",
        fields=[
            ErrorField(
                field="body",
                message="is not JSON: Expecting property name enclosed in double quotes "
                "at line 1, column 2",
            )
        ],
    )
).model_dump()

_EXAMPLES: dict[int, tuple[str, str, ErrorBody]] = {
    401: (
        "No valid token.",
        "unauthorized",
        ErrorBody(code="unauthorized", message="token expired"),
    ),
    403: (
        "The token's role is too low.",
        "forbidden",
        ErrorBody(code="forbidden", message="needs role operator, token has viewer"),
    ),
    404: ("Unknown id.", "not_found", ErrorBody(code="not_found", message="no schedule abc123")),
    409: (
        "Conflicts with the current state.",
        "conflict",
        ErrorBody(code="conflict", message="a schedule named nightly-cleanup exists"),
    ),
    413: (
        "The body is larger than the service reads; nothing of it was parsed.",
        "payload_too_large",
        ErrorBody(
            code="payload_too_large",
            message="request body exceeds 1048576 bytes",
            fields=[ErrorField(field="body", message="exceeds 1048576 bytes")],
        ),
    ),
    415: (
        "The body is sent as another media type than application/json.",
        "unsupported_media_type",
        ErrorBody(
            code="unsupported_media_type",
            message="Content-Type text/plain is not accepted: send the body as application/json",
            fields=[
                ErrorField(
                    field="body",
                    message="Content-Type text/plain is not accepted: send the body as "
                    "application/json",
                )
            ],
        ),
    ),
    422: (
        "Invalid input; each field is named.",
        "validation_error",
        ErrorBody(
            code="validation_error",
            message="invalid request",
            fields=[ErrorField(field="trigger.minute", message="bad crontab field: 61")],
        ),
    ),
    503: (
        "Redis or the broker is not answering.",
        "unavailable",
        ErrorBody(code="unavailable", message="redis is not answering"),
    ),
    504: (
        "Workers did not answer in time; the message names them.",
        "timeout",
        ErrorBody(code="timeout", message="no reply from worker celery@host-2 within 1.0 s"),
    ),
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, object]]:
    """OpenAPI `responses=` entries documenting the error envelope, with an example, per status."""
    responses: dict[int | str, dict[str, object]] = {}
    for status in statuses:
        description, name, body = _EXAMPLES[status]
        example = ErrorResponse(error=body).model_dump()
        responses[status] = {
            "model": ErrorResponse,
            "description": description,
            "content": {"application/json": {"examples": {name: {"value": example}}}},
        }
    return responses
