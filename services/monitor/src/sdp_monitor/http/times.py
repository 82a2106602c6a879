"""The times a request filters by: ISO 8601 (UTC unless it says otherwise) or epoch seconds."""

from __future__ import annotations

from datetime import UTC, datetime

from sdp_http.errors import ValidationFailed

__all__ = ["epoch_s", "since_until"]


def epoch_s(value: datetime | None) -> float | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()


def since_until(
    since: datetime | None, until: datetime | None
) -> tuple[float | None, float | None]:
    """Both as epoch seconds; 422 naming `since` when it is after `until`."""
    low, high = epoch_s(since), epoch_s(until)
    if low is not None and high is not None and low > high:
        raise ValidationFailed("since: after until", [("since", "after until")])
    return low, high
