"""A clock that tests set by hand, for code that takes its time from an injected callable."""

from __future__ import annotations

from typing import Generic

from typing_extensions import TypeVar

__all__ = ["T0", "Clock"]

# Epoch milliseconds (the schedule store, the default) or seconds (the monitor): the unit of the
# code under test.
N = TypeVar("N", int, float, default=int)

# A fixed "now" in epoch milliseconds (2026-09-21), where a test's clock starts.
T0 = 1_790_000_000_000


class Clock(Generic[N]):
    """Reads `now`, which only the test moves."""

    def __init__(self, now: N) -> None:
        self.now: N = now

    def __call__(self) -> N:
        return self.now
