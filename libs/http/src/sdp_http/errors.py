"""The one error hierarchy of the HTTP services; `handlers` turns each into JSON."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "ApiError",
    "Conflict",
    "FieldError",
    "Forbidden",
    "GatewayTimeout",
    "MalformedBody",
    "NotFound",
    "PayloadTooLarge",
    "ServiceUnavailable",
    "Unauthorized",
    "UnsupportedMediaType",
    "ValidationFailed",
]

FieldError = tuple[str, str]


class ApiError(Exception):
    status_code = 500
    code = "internal_error"

    def __init__(self, message: str, fields: Sequence[FieldError] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.fields = list(fields)


class MalformedBody(ApiError):
    """The request body is not JSON (or not UTF-8) at all, so the field it names is `body`."""

    status_code = 422
    code = "malformed_body"


class Unauthorized(ApiError):
    status_code = 401
    code = "unauthorized"


class Forbidden(ApiError):
    status_code = 403
    code = "forbidden"


class NotFound(ApiError):
    status_code = 404
    code = "not_found"


class Conflict(ApiError):
    status_code = 409
    code = "conflict"


class PayloadTooLarge(ApiError):
    """The request body is larger than the service reads (`max_body_bytes`)."""

    status_code = 413
    code = "payload_too_large"


class UnsupportedMediaType(ApiError):
    status_code = 415
    code = "unsupported_media_type"


class ValidationFailed(ApiError):
    status_code = 422
    code = "validation_error"


class ServiceUnavailable(ApiError):
    status_code = 503
    code = "unavailable"


class GatewayTimeout(ApiError):
    status_code = 504
    code = "timeout"
