"""Load test: concurrent clients against the platform as `make run` starts it, for a bounded time.

Run by ``make bench``; never by ``make test``.  Starts the platform with
``sdp_testing.platform.running_platform`` (scripts/run.py on free ports with its own
redis-server; one ``python -m sdp_worker`` process, prefork pool, ``SDP_WORKER_CONCURRENCY=2``:
two tasks at a time) and, for ``--seconds`` (60), drives it through the console's origin
(Caddy, the way the browser reaches the api and the monitor) with ``--clients`` (50)
concurrent clients, each on its own keep-alive ``httpx.AsyncClient`` connection, none pausing:

- readers (2/5 of the clients, viewer token): the monitor's reads the console's overview and
  tasks pages make, each client taking them in turn: status, workers, queues, series, tasks;
- submitters (2/5, operator token): ``POST /api/v1/tasks`` of ``system.noop``, 202 expected;
- streams (the other 1/5, viewer token): ``GET /api/v1/celery/events`` held open, as the
  overview holds it, counting its events; for the first ``task`` event telling a task this
  run submitted in a terminal state, the gap from the worker's event time to its arrival here.

When the time is up the readers and submitters stop; the streams stay open while the run waits
(up to ``DRAIN_S``) for every accepted task's result in Celery's result backend to be
terminal, then (up to ``STREAM_CATCH_UP_S``) for every stream to have told each of them
finished, and counts the accepted tasks the monitor's history holds terminal.  A stream that
misses some is reported, not failed: the monitor drops a slow subscriber's oldest batches by
design (the console then reads its state afresh).

Errors: any answer but the expected one (200; 202 for a submission), any transport error
(each request may take up to ``REQUEST_TIMEOUT_S``) and any stream that ends while it is
wanted, counted by status or kind.  The platform has no admission control (no 429, no 503 for
a busy service), so nothing is an expected answer to load and every error counts; a 503 is
shown by its status like any other.  The exit status is 1 when any error was counted or any
accepted task is not terminal in the end.

Prints a Markdown table and writes it to ``bench/results-load.md`` (not with ``--no-write``).
``--quick`` is ``--seconds 3 --clients 5``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis.asyncio as aioredis
from benchlib import Latency, log, options, pct, publish

from sdp_core import keys
from sdp_core.auth import Role
from sdp_core.queues import TaskName
from sdp_testing.platform import Platform, running_platform

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results-load.md"
MONITOR = "/api/v1/celery"
EVENTS = f"{MONITOR}/events"
SUBMIT = "/api/v1/tasks"
# The console's reads: the overview's status, workers and series, the queues page, the tasks
# page's first page (web/src/features/*/queries.ts).
READS = {
    "monitor: status": f"{MONITOR}/status",
    "monitor: workers": f"{MONITOR}/workers",
    "monitor: queues": f"{MONITOR}/queues",
    "monitor: series, 15 min": f"{MONITOR}/series?minutes=15",
    "monitor: tasks, limit 100": f"{MONITOR}/tasks?limit=100",
}
SUBMISSION = "api: submit system.noop"
NOOP = {"task": TaskName.system_noop.value}
WORKER_CONCURRENCY = 2
REQUEST_TIMEOUT_S = 30.0
DRAIN_S = 300.0
DRAIN_POLL_S = 0.5
# How long the streams may take, after the last task is terminal, to have told every finish.
STREAM_CATCH_UP_S = 120.0
TERMINAL = frozenset({"SUCCESS", "FAILURE", "REVOKED"})
MGET_CHUNK = 1_000


@dataclass
class Endpoint:
    # 0 for the reads, which every reader takes in turn.
    clients: int = 0
    # Seconds per answered request, whatever its status.
    seconds: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)


@dataclass
class Stream:
    connections: int = 0
    events: int = 0
    # Each task this stream told in a terminal state: seconds from its finishing event (the
    # worker's clock) to its arrival here. Taken for any id, since a 202 may reach its client
    # after the task's end reached a stream; the report keeps this run's.
    finished: dict[str, float] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)


@dataclass
class Run:
    wall_s: float = 0.0
    readers: int = 0
    endpoints: dict[str, Endpoint] = field(default_factory=dict)
    streams: list[Stream] = field(default_factory=list)
    # Accepted task ids, in order.
    accepted: list[str] = field(default_factory=list)
    states: Counter[str] = field(default_factory=Counter)
    terminal_at_stop: int = 0
    drain_s: float = 0.0
    # From the last task terminal until every stream had told each finish; None: not in time.
    streams_caught_up_s: float | None = None
    # Accepted tasks the monitor's history holds in a terminal state, once the streams were done.
    history_terminal: int = 0
    # CPU time of this process (the clients) during the load.
    clients_cpu_s: float = 0.0
    ready_after_s: float = 0.0
    load_before: tuple[float, float, float] = (0.0, 0.0, 0.0)
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)

    @property
    def errors(self) -> int:
        counts: list[Counter[str]] = [part.errors for part in self.endpoints.values()]
        counts += [stream.errors for stream in self.streams]
        return sum(sum(count.values()) for count in counts)

    @property
    def terminal(self) -> int:
        return sum(n for state, n in self.states.items() if state in TERMINAL)


def client(base_url: str, headers: dict[str, str]) -> httpx.AsyncClient:
    # One connection per client, as one browser tab or script holds one.
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    return httpx.AsyncClient(
        base_url=base_url, headers=headers, timeout=REQUEST_TIMEOUT_S, limits=limits
    )


async def call(
    http: httpx.AsyncClient, into: Endpoint, path: str, expected: int, body: Any = None
) -> httpx.Response | None:
    """One request, its time and any error counted in ``into``; the response if as expected."""
    began = time.perf_counter()
    try:
        if body is None:
            response = await http.get(path)
        else:
            response = await http.post(path, json=body)
    except httpx.HTTPError as exc:
        into.errors[type(exc).__name__] += 1
        return None
    into.seconds.append(time.perf_counter() - began)
    if response.status_code != expected:
        into.errors[str(response.status_code)] += 1
        return None
    return response


async def reader(http: httpx.AsyncClient, first: int, stop_at: float, run: Run) -> None:
    labels = list(READS)
    turn = first
    while time.monotonic() < stop_at:
        label = labels[turn % len(labels)]
        turn += 1
        await call(http, run.endpoints[label], READS[label], 200)


async def submitter(http: httpx.AsyncClient, stop_at: float, run: Run) -> None:
    into = run.endpoints[SUBMISSION]
    while time.monotonic() < stop_at:
        response = await call(http, into, SUBMIT, 202, NOOP)
        if response is not None:
            run.accepted.append(response.json()["id"])


def take(stream: Stream, data: str) -> None:
    """One `data:` line of the event stream."""
    stream.events += 1
    change = json.loads(data)
    if change["type"] != "task" or change["state"] not in TERMINAL:
        return
    task_id = change["id"]
    if task_id not in stream.finished:
        stream.finished[task_id] = time.time() - float(change["at"])


async def listen(http: httpx.AsyncClient, stream: Stream) -> None:
    """Hold the event stream open until cancelled; reconnect (after a second) if it ends."""
    while True:
        try:
            async with http.stream(
                "GET", EVENTS, headers={"Accept": "text/event-stream"}, timeout=None
            ) as response:
                if response.status_code != 200:
                    stream.errors[str(response.status_code)] += 1
                else:
                    stream.connections += 1
                    async for line in response.aiter_lines():
                        if line.startswith("data:"):
                            take(stream, line[5:].strip())
                    stream.errors["stream ended"] += 1
        except httpx.HTTPError as exc:
            stream.errors[type(exc).__name__] += 1
        await asyncio.sleep(1)


async def states(backend: aioredis.Redis, ids: list[str]) -> dict[str, str]:
    """Each id's state in Celery's result backend; ids without a result yet are left out."""
    found: dict[str, str] = {}
    for start in range(0, len(ids), MGET_CHUNK):
        chunk = ids[start : start + MGET_CHUNK]
        values = await backend.mget([keys.celery_result(task_id) for task_id in chunk])
        for task_id, value in zip(chunk, values, strict=True):
            if value is not None:
                found[task_id] = json.loads(value)["status"]
    return found


async def drain(backend: aioredis.Redis, run: Run) -> None:
    """Wait up to DRAIN_S for every accepted task to be terminal; count the states in the end."""
    pending = list(run.accepted)
    began = time.monotonic()
    finished: dict[str, str] = {}
    first = True
    while True:
        found = await states(backend, pending)
        done = {task_id: state for task_id, state in found.items() if state in TERMINAL}
        finished.update(done)
        pending = [task_id for task_id in pending if task_id not in done]
        if first:
            run.terminal_at_stop, first = len(finished), False
        if not pending or time.monotonic() - began > DRAIN_S:
            break
        await asyncio.sleep(DRAIN_POLL_S)
    run.drain_s = time.monotonic() - began
    run.states = Counter(finished.values())
    left = await states(backend, pending)
    run.states.update(left.get(task_id, "no result") for task_id in pending)


async def history_terminal(backend: aioredis.Redis, ids: list[str]) -> int:
    """How many of ``ids`` the monitor's history holds in a terminal state."""
    count = 0
    for start in range(0, len(ids), MGET_CHUNK):
        async with backend.pipeline(transaction=False) as pipe:
            for task_id in ids[start : start + MGET_CHUNK]:
                pipe.hget(keys.monitor_task(task_id), "state")
            found = await pipe.execute()
        count += sum(1 for state in found if state is not None and state.decode() in TERMINAL)
    return count


def ours(run: Run, stream: Stream) -> list[float]:
    """The gaps of the tasks this run submitted that ``stream`` told finished."""
    return [stream.finished[task_id] for task_id in run.accepted if task_id in stream.finished]


async def catch_up(run: Run) -> None:
    """Wait up to STREAM_CATCH_UP_S for every stream to have told every terminal task."""
    began = time.monotonic()
    expected = run.terminal
    while time.monotonic() - began <= STREAM_CATCH_UP_S:
        if all(len(ours(run, stream)) >= expected for stream in run.streams):
            run.streams_caught_up_s = time.monotonic() - began
            return
        await asyncio.sleep(DRAIN_POLL_S)


async def drive(started: Platform, seconds: float, clients: int, run: Run) -> None:
    streams = max(1, clients // 5)
    submitters = max(1, (clients - streams) // 2)
    readers = max(1, clients - streams - submitters)
    viewer, operator = started.token(Role.viewer), started.token(Role.operator)
    run.readers = readers
    run.endpoints = {label: Endpoint() for label in READS}
    run.endpoints[SUBMISSION] = Endpoint(clients=submitters)
    run.streams = [Stream() for _ in range(streams)]
    stream_clients = [client(started.web, viewer) for _ in range(streams)]
    load_clients = [client(started.web, viewer) for _ in range(readers)]
    load_clients += [client(started.web, operator) for _ in range(submitters)]
    backend = aioredis.Redis.from_url(started.redis_url)
    listening = [
        asyncio.create_task(listen(http, stream))
        for http, stream in zip(stream_clients, run.streams, strict=True)
    ]
    try:
        # The streams open first, as the console's overview is open before anything happens.
        await asyncio.sleep(1)
        log(f"load: {readers} readers, {submitters} submitters, {streams} streams, {seconds:.0f} s")
        began, cpu = time.monotonic(), time.process_time()
        stop_at = began + seconds
        await asyncio.gather(
            *(reader(http, i, stop_at, run) for i, http in enumerate(load_clients[:readers])),
            *(submitter(http, stop_at, run) for http in load_clients[readers:]),
        )
        run.wall_s = time.monotonic() - began
        run.clients_cpu_s = time.process_time() - cpu
        log(f"drain: {len(run.accepted):,} accepted tasks, up to {DRAIN_S:.0f} s")
        await drain(backend, run)
        await catch_up(run)
        run.history_terminal = await history_terminal(backend, run.accepted)
    finally:
        for task in listening:
            task.cancel()
        await asyncio.gather(*listening, return_exceptions=True)
        for http in (*stream_clients, *load_clients):
            await http.aclose()
        await backend.aclose()


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms"


def errors_cell(errors: Counter[str]) -> str:
    if not errors:
        return "0"
    parts = ", ".join(f"{kind}: {n:,}" for kind, n in errors.most_common())
    return f"**{sum(errors.values()):,}** ({parts})"


def endpoint_rows(run: Run) -> list[str]:
    rows = []
    reads = Endpoint(clients=run.readers)
    for label, point in run.endpoints.items():
        if label != SUBMISSION:
            reads.seconds += point.seconds
            reads.errors += point.errors
    for label, point in {**run.endpoints, "monitor: all five reads": reads}.items():
        clients = str(point.clients) if point.clients else "in turn"
        if not point.seconds:
            rows.append(f"| {label} | {clients} | 0 | — | — | — | {errors_cell(point.errors)} |")
            continue
        latency = Latency.of(point.seconds, run.wall_s)
        rows.append(
            f"| {label} | {clients} | {len(point.seconds):,} | {latency.per_s:,.0f} "
            f"| {latency.p50_ms:,.1f} ms | {latency.p99_ms:,.1f} ms | {errors_cell(point.errors)} |"
        )
    return rows


def stream_lines(run: Run) -> list[str]:
    streams = run.streams
    events = [s.events for s in streams]
    seen = [len(ours(run, s)) for s in streams]
    gaps = [gap for s in streams for gap in ours(run, s)]
    errors: Counter[str] = Counter()
    for s in streams:
        errors += s.errors
    caught_up = run.streams_caught_up_s
    lines = [
        f"| event stream: clients | {len(streams)} |",
        f"| event stream: connections (1 each unless one ended) | "
        f"{sum(s.connections for s in streams):,} |",
        f"| event stream: events per client, min / median / max | "
        f"{min(events):,} / {statistics.median(events):,.0f} / {max(events):,} |",
        f"| event stream: this run's tasks told finished per client, min / max "
        f"(of {run.terminal:,} terminal) | {min(seen):,} / {max(seen):,} |",
        f"| the monitor's history: this run's tasks recorded terminal (after the streams) | "
        f"{run.history_terminal:,} |",
        "| event stream: every client told every finish, after the last task was terminal | "
        + (
            f"{caught_up:,.1f} s |"
            if caught_up is not None
            else f"**not within {STREAM_CATCH_UP_S:.0f} s** |"
        ),
    ]
    if gaps:
        lines.append(
            "| event stream: a task's finishing event to its arrival here, p50 / p99 / max | "
            f"{ms(pct(gaps, 50))} / {ms(pct(gaps, 99))} / {ms(max(gaps))} |"
        )
    lines.append(f"| event stream: errors | {errors_cell(errors)} |")
    return lines


def task_lines(run: Run) -> list[str]:
    accepted = len(run.accepted)
    not_terminal = accepted - run.terminal
    by_state = ", ".join(f"{state} {n:,}" for state, n in sorted(run.states.items()))
    return [
        f"| tasks accepted (202) | {accepted:,} ({accepted / run.wall_s:,.0f}/s) |",
        f"| terminal when the load stopped | {run.terminal_at_stop:,} |",
        f"| terminal in the end | {run.terminal:,} ({by_state or 'none'}) |",
        f"| drain: load stopped to last task terminal | {run.drain_s:,.1f} s |",
        f"| never terminal (within {DRAIN_S:.0f} s of the stop) | "
        f"{'**' + format(not_terminal, ',') + '**' if not_terminal else '0'} |",
        f"| tasks finished per second, load start to drained | "
        f"{run.terminal / (run.wall_s + run.drain_s):,.0f} |",
    ]


def render(run: Run, seconds: float, clients: int, ok: bool) -> str:
    load = ", ".join(f"{x:.2f}" for x in run.load_before)
    after = ", ".join(f"{x:.2f}" for x in run.load_after)
    when = time.strftime("%Y-%m-%d %H:%M %Z")
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    lines = [
        f"# Load test: {clients} clients for {seconds:.0f} s",
        "",
        f"Generated by `make bench` (bench/load.py) on {when}. {machine}; load average {load} "
        f"before the platform started, {after} at the end. Reproduce: `make bench` (or "
        f"`uv run python bench/load.py --seconds {seconds:g} --clients {clients}`).",
        "",
        "The platform as `make run` starts it (scripts/run.py: Redis, api, monitor, beat, "
        f"Flower, Caddy; ready in {run.ready_after_s:.0f} s) with one `sdp_worker` process, "
        f"prefork pool, concurrency {WORKER_CONCURRENCY}; every client on its own keep-alive "
        "connection through Caddy (the console's origin), from one asyncio process on the "
        "same machine, none pausing between requests. Each reader takes the five reads in "
        "turn. Latency is per answered request (p99 nearest-rank); req/s over the "
        f"{run.wall_s:.1f} s of load. The clients' process used {run.clients_cpu_s:.1f} s of "
        "CPU during it.",
        "",
        f"Result: **{'pass' if ok else 'FAIL'}** — {run.errors:,} errors; "
        f"{run.terminal:,} of {len(run.accepted):,} accepted tasks terminal.",
        "",
        "| endpoint | clients | requests | req/s | p50 | p99 | errors |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        *endpoint_rows(run),
        "",
        "| tasks and the event stream | |",
        "| --- | --- |",
        *task_lines(run),
        *stream_lines(run),
        "",
        "Errors: every answer but 200 (202 for a submission), every transport error (a "
        f"request may take {REQUEST_TIMEOUT_S:.0f} s) and every stream that ended; the "
        "platform has no admission control, so none is an expected answer to load and "
        "any fails the run, as does an accepted task not terminal (SUCCESS, FAILURE or "
        f"REVOKED in Celery's result backend) within {DRAIN_S:.0f} s of the stop.",
    ]
    return "\n".join(lines) + "\n"


def more_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the load lasts")
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients, at least 3")


def main() -> int:
    given = options(__doc__, more_options)
    seconds, clients = (3.0, 5) if given.quick else (given.seconds, given.clients)
    if not 0 < seconds <= 60 or clients < 3:
        raise SystemExit("--seconds must be in (0, 60] and --clients at least 3")
    run = Run(load_before=os.getloadavg())
    run_dir = Path(tempfile.mkdtemp(prefix="sdp-bench-load-"))
    ok = False
    try:
        with running_platform(run_dir, SDP_WORKER_CONCURRENCY=str(WORKER_CONCURRENCY)) as started:
            if "SDP platform ready in" not in started.process.log():
                raise RuntimeError(f"the platform is not ready:\n{started.process.log()[-4000:]}")
            run.ready_after_s = started.ready_after_s
            asyncio.run(drive(started, seconds, clients, run))
        run.load_after = os.getloadavg()
        ok = run.errors == 0 and run.terminal == len(run.accepted)
    finally:
        if ok:
            shutil.rmtree(run_dir, ignore_errors=True)
        else:
            log(f"logs kept in {run_dir}/logs")
    publish(render(run, seconds, clients, ok), RESULTS, write=not given.no_write)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
