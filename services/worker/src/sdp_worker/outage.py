"""A log of a dependency's outages: the first failure of a run of them, and the recovery."""

from __future__ import annotations

import logging

__all__ = ["Outage"]


class Outage:
    """Tells the log once when `what` starts failing and once when it works again."""

    def __init__(self, log: logging.Logger, what: str) -> None:
        self.log = log
        self.what = what
        self.failing = False

    def failed(self, exc: Exception) -> None:
        if not self.failing:
            self.log.warning("%s failed: %s", self.what, exc)
        self.failing = True

    def ok(self) -> None:
        if self.failing:
            self.log.info("%s works again", self.what)
        self.failing = False
