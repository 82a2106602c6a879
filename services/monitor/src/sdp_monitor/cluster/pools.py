"""Growing and shrinking worker pools: bounded, never half done, and reported as they ended.

Celery's `pool_shrink` runs billiard's, which stops idle processes one by one and raises "All
processes busy" part way, after stopping some, and which stops a pool's last process as readily
as any other: the worker then stays online while its tasks wait for ever. So here:

- a shrink that would leave no process and a grow past `MAX_POOL_PROCESSES` are refused (422
  naming `n`) before anything is sent, and so are a shrink by more processes than are idle and
  a resize of a pool that has no processes (threads, solo) (409);
- a shrink is sent one process at a time, each step waiting until the stopped process is gone
  (a process still listed would be picked again): billiard does a one-process step whole or
  not at all, so a task that starts meanwhile ends the shrink with exactly what was done;
- each worker's result carries its process count before and after, from fresh `stats`.

Resizes run one at a time, so each reads the pool the one before it left.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sdp_core.celery_config import MAX_POOL_PROCESSES
from sdp_http.errors import Conflict, ValidationFailed
from sdp_monitor.cluster.control import Control, Replies, read_reply
from sdp_monitor.cluster.inspector import pool_kind, pool_processes, pool_size
from sdp_monitor.http.schemas import ControlResult

__all__ = ["GROW_WAIT_S", "grow", "shrink"]

# A prefork pool starts the processes it grew by at its next maintenance, every 5 s.
GROW_WAIT_S = 15.0
# An idle process told to stop is gone within a few tenths of a second.
STEP_WAIT_S = 5.0


@dataclass(frozen=True, slots=True)
class _Pool:
    processes: list[int]
    # Processes running a task, which billiard will not stop.
    busy: frozenset[int]

    @property
    def idle(self) -> int:
        return len(set(self.processes) - self.busy)


def _stats(reply: Any) -> dict[str, Any]:
    return reply if isinstance(reply, dict) else {}


async def _pools(control: Control, workers: Sequence[str], *, busy: bool) -> dict[str, _Pool]:
    """Each worker's pool now; 409 if any has no processes to add or stop."""
    stats = {w: _stats(s) for w, s in (await control.call("stats", workers)).items()}
    fixed = [w for w in workers if pool_processes(stats[w]) is None]
    if fixed:
        raise Conflict(
            "only a prefork pool grows and shrinks: "
            + ", ".join(f"{w} runs {pool_kind(stats[w]) or 'another'}" for w in fixed),
            [("workers", f"{w} runs the {pool_kind(stats[w])} pool") for w in fixed],
        )
    active = await control.call("active", workers) if busy else {}
    return {
        w: _Pool(
            pool_processes(stats[w]) or [],
            frozenset(int(r["worker_pid"]) for r in active.get(w) or [] if r.get("worker_pid")),
        )
        for w in workers
    }


def _sizes(replies: Replies) -> dict[str, int | None]:
    return {w: pool_size(_stats(reply)) for w, reply in replies.items()}


async def _settle(
    control: Control, workers: Sequence[str], want: dict[str, int], wait_s: float
) -> dict[str, int | None]:
    """The workers' pool sizes once those in `want` have reached theirs, or after `wait_s`."""
    replies = await control.poll(
        "stats",
        workers,
        lambda replies: all(_sizes(replies)[w] == n for w, n in want.items()),
        wait_s,
    )
    return _sizes(replies)


def _result(worker: str, ok: bool, message: str, before: int, after: int | None) -> ControlResult:
    return ControlResult(
        worker=worker, ok=ok, message=message, processes_before=before, processes_after=after
    )


async def grow(control: Control, workers: Sequence[str], n: int) -> list[ControlResult]:
    async with control.resizing:
        before = {
            w: len(p.processes) for w, p in (await _pools(control, workers, busy=False)).items()
        }
        over = [w for w in workers if before[w] + n > MAX_POOL_PROCESSES]
        if over:
            raise ValidationFailed(
                f"n: growing by {n} would take "
                + ", ".join(f"{w} to {before[w] + n}" for w in over)
                + f" processes; a pool has at most {MAX_POOL_PROCESSES}",
                [
                    (
                        "n",
                        f"{w} has a pool of {before[w]}: grow it by at most "
                        f"{MAX_POOL_PROCESSES - before[w]}",
                    )
                    for w in over
                ],
            )
        answers = await control.call("pool_grow", workers, n=n)
        replies = {w: read_reply(answers[w]) for w in workers}
        want = {w: before[w] + n for w in workers if replies[w][0]}
        after = await _settle(control, workers, want, GROW_WAIT_S)
    results = []
    for w in workers:
        accepted, said = replies[w]
        if not accepted:
            message = f"{said} ({before[w]} processes)"
        elif after[w] == want[w]:
            message = f"grew from {before[w]} to {after[w]} processes"
        else:
            message = f"{said}: {after[w]} of {want[w]} processes run after {GROW_WAIT_S:g} s"
        results.append(
            _result(w, accepted and after[w] == want.get(w), message, before[w], after[w])
        )
    return results


async def shrink(control: Control, workers: Sequence[str], n: int) -> list[ControlResult]:
    async with control.resizing:
        pools = await _pools(control, workers, busy=True)
        before = {w: len(p.processes) for w, p in pools.items()}
        few = [w for w in workers if before[w] - n < 1]
        if few:
            raise ValidationFailed(
                f"n: shrinking by {n} would leave no process in "
                + ", ".join(f"{w} (it has {before[w]})" for w in few)
                + "; a pool keeps at least 1",
                [
                    ("n", f"{w} has a pool of {before[w]}: shrink it by at most {before[w] - 1}")
                    for w in few
                ],
            )
        busy = [w for w in workers if pools[w].idle < n]
        if busy:
            raise Conflict(
                f"n: shrinking by {n} now would stop part way: "
                + ", ".join(
                    f"{w} runs tasks on {before[w] - pools[w].idle} of {before[w]}" for w in busy
                )
                + " processes, and only idle ones stop",
                [("n", f"{w} has {pools[w].idle} idle processes") for w in busy],
            )
        failed: dict[str, str] = {}
        sizes: dict[str, int | None] = dict(before)
        stepping = list(workers)
        for _ in range(n):
            if not stepping:
                break
            replies = await control.call("pool_shrink", stepping, n=1)
            for w in stepping:
                accepted, said = read_reply(replies[w])
                if not accepted:
                    failed[w] = said
            stepping = [w for w in stepping if w not in failed]
            want = {w: (sizes[w] or 0) - 1 for w in stepping}
            sizes |= await _settle(control, stepping, want, STEP_WAIT_S)
            for w in stepping:
                if sizes[w] != want[w]:
                    failed[w] = f"a stopped process was still listed after {STEP_WAIT_S:g} s"
            stepping = [w for w in stepping if w not in failed]
        after = _sizes(await control.call("stats", workers))
    results = []
    for w in workers:
        if w in failed:
            stopped = before[w] - (after[w] or 0)
            message = (
                f"stopped {stopped} of {n} processes ({before[w]} to {after[w]}), then: {failed[w]}"
            )
        else:
            message = f"shrank from {before[w]} to {after[w]} processes"
        results.append(_result(w, w not in failed, message, before[w], after[w]))
    return results
