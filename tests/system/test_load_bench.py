"""`make bench`'s load test (bench/load.py), run short: its pieces work against the platform."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The platform's start (up to 180 s for its ready line), 3 s of load, the drain, the stop.
RUN_WITHIN_S = 400

pytestmark = [pytest.mark.system, pytest.mark.slow]


@pytest.mark.timeout(RUN_WITHIN_S + 30)
def test_a_short_load_run_passes_and_every_piece_counted() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "load.py"), "--quick", "--no-write"],
        capture_output=True,
        text=True,
        timeout=RUN_WITHIN_S,
        check=False,
    )
    report = done.stdout
    assert done.returncode == 0, f"{report}\n{done.stderr[-4000:]}"
    assert "Result: **pass** — 0 errors" in report, report
    accepted = re.search(r"\| tasks accepted \(202\) \| ([\d,]+) ", report)
    assert accepted is not None, report
    count = int(accepted.group(1).replace(",", ""))
    assert count > 0, report
    assert f"| terminal in the end | {accepted.group(1)} (SUCCESS {accepted.group(1)})" in report
    # Every read answered at least once, and the one stream told this run's tasks finished.
    reads = re.findall(r"^\| monitor: [^|]+\| [^|]+\| ([\d,]+) \|", report, re.MULTILINE)
    assert len(reads) == 6, report
    assert all(int(row.replace(",", "")) > 0 for row in reads), report
    seen = re.search(
        r"finished per client, min / max \(of [\d,]+ terminal\) \| ([\d,]+) / ", report
    )
    assert seen is not None, report
    assert int(seen.group(1).replace(",", "")) > 0, report
