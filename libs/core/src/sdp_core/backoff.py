"""Capped exponential backoff between reconnection attempts."""

from __future__ import annotations

__all__ = ["Backoff"]


class Backoff:
    """The wait before each retry: ``start_s``, doubled after each failure up to ``max_s``."""

    # The defaults suit a reconnecting Redis client: a blip costs 0.1 s, an outage a retry
    # every 5 s.
    def __init__(self, start_s: float = 0.1, max_s: float = 5.0) -> None:
        self.start_s = start_s
        self.max_s = max_s
        self._delay_s = 0.0

    def next(self) -> float:
        """The wait after one more failure."""
        self._delay_s = min(self.max_s, self._delay_s * 2 if self._delay_s else self.start_s)
        return self._delay_s

    def reset(self) -> None:
        """After a success: the next failure waits ``start_s`` again."""
        self._delay_s = 0.0
