"""Lowering the monitor's CPU priority, so that workers sharing its host come first.

A monitor that takes a core when it wakes preempts a worker's main process, and that process's
pool waits for it: on a saturated two-core cluster each millisecond the monitor took cost the
workers more than a millisecond. With Linux's autogroups, processes in different sessions share
the CPU by session, whatever their own niceness, so a monitor that leads its own session
(`make run`, a supervisor, `setsid`) lowers its session's group as well. Never the group of a
session it merely joined, such as the shell it was started from.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

__all__ = ["AUTOGROUP", "lower_priority"]

log = logging.getLogger(__name__)

AUTOGROUP = Path("/proc/self/autogroup")


def lower_priority(nice: int) -> None:
    """Run at least at `nice`, before any thread starts (threads inherit it); 0 does nothing."""
    if nice <= 0:
        return
    # Never raise the priority: that needs privileges, and whoever set it lower meant it.
    nice = max(nice, os.getpriority(os.PRIO_PROCESS, 0))
    os.setpriority(os.PRIO_PROCESS, 0, nice)
    if os.getsid(0) != os.getpid():
        return
    try:
        AUTOGROUP.write_text(str(nice))
    except OSError as exc:
        # No autogroups (another kernel, or a container's cgroup decides instead).
        log.debug("autogroup niceness not set: %s", exc)
