"""The OpenAPI document as the error handler really answers: 422s carry the one envelope, and
every operation that takes a body documents the 422, 413 and 415 a malformed, oversized or
mistyped one gets."""

from __future__ import annotations

import copy
from typing import Any

from fastapi import FastAPI

from sdp_http.schemas import MALFORMED_BODY_EXAMPLE, error_responses

__all__ = ["install_openapi"]

_FASTAPI_422 = "#/components/schemas/HTTPValidationError"
_ENVELOPE = "#/components/schemas/ErrorResponse"
# What the handler answers any operation that takes a body, whatever its route says.
_BODY_ERRORS = (413, 415)


def _documented(status: int) -> dict[str, Any]:
    """The response object of an error status, its content the envelope with an example."""
    entry = error_responses(status)[status]
    content: Any = entry["content"]
    content["application/json"]["schema"] = {"$ref": _ENVELOPE}
    return {"description": entry["description"], "content": content}


def _mend(document: dict[str, Any]) -> dict[str, Any]:
    """Swap FastAPI's default 422 body (which our handler never sends) for the envelope, and add
    the malformed-body answers where a body is taken."""
    for methods in document.get("paths", {}).values():
        for operation in methods.values():
            responses = operation.get("responses", {})
            response = responses.get("422")
            schema = response and response["content"]["application/json"].get("schema", {})
            if schema and schema.get("$ref") == _FASTAPI_422:
                responses["422"] = _documented(422)
            if "requestBody" in operation:
                for status in _BODY_ERRORS:
                    responses.setdefault(str(status), _documented(status))
                # A copy: FastAPI may share one response object between operations.
                invalid = copy.deepcopy(responses.get("422") or _documented(422))
                examples = invalid["content"]["application/json"].setdefault("examples", {})
                examples["malformed_body"] = {"value": MALFORMED_BODY_EXAMPLE}
                responses["422"] = invalid
    schemas = document.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    return document


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            # FastAPI's own builder caches the document on the app; it is then mended in place.
            _mend(FastAPI.openapi(app))
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]
