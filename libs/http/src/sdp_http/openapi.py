"""The OpenAPI document as the error handler really answers: 422s carry the one envelope."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from sdp_http.schemas import error_responses

__all__ = ["install_openapi"]

_FASTAPI_422 = "#/components/schemas/HTTPValidationError"


def _envelope_422(document: dict[str, Any]) -> dict[str, Any]:
    """Swap FastAPI's default 422 body (which our handler never sends) for the envelope."""
    envelope: dict[str, Any] = error_responses(422)[422]
    content = envelope["content"]
    content["application/json"]["schema"] = {"$ref": "#/components/schemas/ErrorResponse"}
    for methods in document.get("paths", {}).values():
        for operation in methods.values():
            response = operation.get("responses", {}).get("422")
            schema = response and response["content"]["application/json"].get("schema", {})
            if schema and schema.get("$ref") == _FASTAPI_422:
                response["description"] = envelope["description"]
                response["content"] = content
    schemas = document.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    return document


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            # FastAPI's own builder caches the document on the app; it is then mended in place.
            _envelope_422(FastAPI.openapi(app))
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]
