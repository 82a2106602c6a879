"""Redis replies as text, whether the client decodes them or not."""

from __future__ import annotations

from typing import Any

__all__ = ["optional_int", "text"]


def text(value: Any) -> str:
    """Bytes decoded as UTF-8 (an invalid byte shown as U+FFFD), anything else as `str`."""
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def optional_int(value: Any) -> int | None:
    """A number reply as an int, None when absent or empty; a float's text ("3.0") reads too."""
    if value is None or value in (b"", ""):
        return None
    try:
        return int(value)
    except ValueError:
        return int(float(value))
