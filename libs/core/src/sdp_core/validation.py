"""Pydantic's validation errors as the platform reports them: a dotted field and a message."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

__all__ = ["field_errors", "message"]


def message(error: Mapping[str, Any]) -> str:
    """The error's text, without the "Value error, " pydantic puts before a validator's own."""
    text = str(error["msg"])
    return text.removeprefix("Value error, ") if error.get("type") == "value_error" else text


def field_errors(exc: ValidationError, default: str) -> list[tuple[str, str]]:
    """Each bad field as ``("trigger.crontab.minute", "why")``; `default` names the whole."""
    return [
        (".".join(str(part) for part in error["loc"]) or default, message(error))
        for error in exc.errors()
    ]
