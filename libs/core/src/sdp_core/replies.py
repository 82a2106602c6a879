"""Redis replies as text, whether the client decodes them or not."""

from __future__ import annotations

from typing import Any

__all__ = ["text"]


def text(value: Any) -> str:
    """Bytes decoded as UTF-8 (an invalid byte shown as U+FFFD), anything else as `str`."""
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)
