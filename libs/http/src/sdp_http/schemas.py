"""Response models shared by the HTTP services (the error envelope, health)."""

from __future__ import annotations

from pydantic import BaseModel

__all__ = ["ErrorBody", "ErrorField", "ErrorResponse", "Health", "error_responses"]


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


def error_responses(*statuses: int) -> dict[int | str, dict[str, object]]:
    """OpenAPI `responses=` entries documenting the error envelope for these statuses."""
    return {status: {"model": ErrorResponse} for status in statuses}
