"""The monitor lowers its CPU priority, and its session's autogroup only when it leads it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

from sdp_monitor.niceness import AUTOGROUP

# Runs lower_priority in a fresh process and reports what it then runs at. The kernel prints
# nothing for a process in its default group (one whose session never called setsid), so
# "autogroup" is None there as well as where there are no autogroups at all.
PROBE = """
import json, os, sys
from pathlib import Path
from sdp_monitor.niceness import lower_priority
lower_priority(int(sys.argv[1]))
group = Path("/proc/self/autogroup")
shown = group.read_text().split() if group.exists() else []
print(json.dumps({
    "nice": os.getpriority(os.PRIO_PROCESS, 0),
    "leader": os.getsid(0) == os.getpid(),
    "autogroup": shown[-1] if shown else None,
}))
"""

needs_autogroups = pytest.mark.skipif(not AUTOGROUP.exists(), reason="no autogroups here")


def probe(
    nice: int, *, own_session: bool, preexec: Callable[[], None] | None = None
) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(nice)],
        capture_output=True,
        check=True,
        start_new_session=own_session,
        preexec_fn=preexec,
        timeout=60,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def own_autogroup_nice() -> str | None:
    shown = AUTOGROUP.read_text().split() if AUTOGROUP.exists() else []
    return shown[-1] if shown else None


@needs_autogroups
def test_a_session_leader_lowers_itself_and_its_autogroup() -> None:
    seen = probe(10, own_session=True)
    assert seen == {"nice": 10, "leader": True, "autogroup": "10"}


def test_a_process_in_someone_elses_session_leaves_the_autogroup_alone() -> None:
    before = own_autogroup_nice()
    seen = probe(10, own_session=False)
    assert seen["nice"] == 10
    assert seen["leader"] is False
    # The session it shares (this test's) keeps the niceness it had.
    assert seen["autogroup"] == before == own_autogroup_nice()


def test_zero_changes_nothing() -> None:
    seen = probe(0, own_session=True)
    assert seen["nice"] == os.getpriority(os.PRIO_PROCESS, 0)
    if AUTOGROUP.exists():
        assert seen["autogroup"] == "0"


def test_a_lower_priority_set_by_the_caller_is_kept() -> None:
    seen = probe(5, own_session=True, preexec=lambda: os.setpriority(os.PRIO_PROCESS, 0, 15))
    assert seen["nice"] == 15
    if AUTOGROUP.exists():
        assert seen["autogroup"] == "15"
