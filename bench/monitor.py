"""Monitor benchmark: our monitor next to Flower 2.2 on the same Celery cluster, in one run.

Run by ``make bench``; never by ``make test``.  Starts its own ``redis-server`` and two
``python -m sdp_worker`` processes (prefork, concurrency 2: the default; task events on), then:

1. Throughput: N no-op tasks (``system.noop``) published from this process as fast as it can,
   timed from the first send until the queue and kombu's unacked hash are empty (acks are late,
   so that is when the last task has finished); with no monitor, with ours
   (``python -m sdp_monitor``), with ours at ``SDP_MONITOR_NICE=0`` and with Flower.  One
   cluster throughout, its workers warmed up once; each run starts its monitor (a fresh
   process) and stops it afterwards.  An even number of rounds of (none, ours, ours at nice 0,
   Flower), every other one reversed, so ours always runs next to a
   run without a monitor, as often after it as before; the ratio is the median over rounds of
   each round's pair, since the machine's speed drifts between rounds more than the monitor
   costs (the mean and its standard error are shown beside it).
   The monitor's and the redis-server's CPU time per task, and Redis memory, are read
   alongside.
2. History: 100k no-op tasks with both monitors running; CPU time and RSS of each monitor's
   process group before and after, read from /proc once both have caught up.
3. Endpoints, with those 100k tasks in both histories and the workers idle: the fresh worker
   list and the task list (limit 100), one client on a keep-alive connection; requests/s with
   20 concurrent clients (a thread and a keep-alive http.client connection each) for status,
   workers, task detail, queues and /metrics.
4. Queue peek (ours only; Flower has none): 500 messages read from a queue no worker consumes,
   holding 1M copies of one real task message over its ten priority steps, one client.
5. Failures: a fresh history of as many tasks written straight through the monitor's
   ``HistoryWriter`` (a fifth failed, in 12 task-and-exception groups), then ours alone:
   ``/failures`` over the whole history, one client.

Flower runs as ``celery -A sdp_core.flower flower`` (the platform's Celery configuration, as
``make run`` and compose start it) with basic auth and its shipped defaults otherwise (100k
tasks kept, 1 s inspect timeout); both monitors log at warning level, so neither writes an
access log.  Prints a Markdown table and writes it to ``bench/results-monitor.md``.
``--quick`` shrinks every phase for a smoke run (its numbers are not comparable).
"""

from __future__ import annotations

import base64
import os
import platform
import random
import secrets
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.client import HTTPConnection, HTTPException
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import redis
from benchlib import (
    Latency,
    Proc,
    Processes,
    Usage,
    log,
    mark,
    must,
    options,
    publish,
    redis_server,
    usage,
)

from sdp_core import keys
from sdp_core.auth import Role, generate_secret, issue_token
from sdp_core.celery_config import make_celery
from sdp_core.queues import Queue, TaskName
from sdp_core.settings import CommonSettings
from sdp_monitor.history.writer import HistoryWriter
from sdp_testing.processes import worker_env
from sdp_testing.redis_server import free_port

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results-monitor.md"
NOOP = TaskName.system_noop.value
WORKERS = ("bench-1@localhost", "bench-2@localhost")
API = "/api/v1/celery"
MIB = 1024 * 1024
SIDES = ("ours", "flower")
# Ours without lowering its CPU priority, for comparison: throughput runs only.
OURS_NICE_0 = "ours at nice 0"

FRESH_WORKERS_P50_MS = 5.0
FRESH_WORKERS_VS_FLOWER = 100.0
QUEUES_VS_FLOWER = 4.0
TASK_LIST_P50_MS = 20.0
FAILURES_P50_MS = 50.0
RSS_MIB = 150.0
CPU_PER_TASK_MS = 0.25
THROUGHPUT_RATIO = 0.95
SETTLE_S = 3.0
WARM_UP_TASKS = 2_000
PEEK_P50_MS = 20.0
PEEK_LIMIT = 500
# No bench worker consumes it, so what is put in it stays.
PEEK_QUEUE = "bench-peek"


@dataclass(frozen=True)
class Config:
    throughput_tasks: int = 3_000
    # The machine's speed drifts by a fifth over minutes: many short rounds, compared in pairs,
    # as many with ours before the run without a monitor as after it. A pair's ratio can be off
    # by a tenth, so it takes about 24 to bring the standard error of their mean near 0.02.
    rounds: int = 24
    history_tasks: int = 100_000
    samples: int = 300
    sample_budget_s: float = 10.0
    clients: int = 20
    load_s: float = 5.0
    settle_timeout_s: float = 300.0
    peek_messages: int = 1_000_000


QUICK = Config(
    throughput_tasks=1_000,
    rounds=2,
    history_tasks=5_000,
    samples=50,
    sample_budget_s=3.0,
    load_s=1.5,
    settle_timeout_s=60.0,
    peek_messages=100_000,
)


# -- the monitors under test -------------------------------------------------------------------


def ours_online(body: Any) -> int:
    return sum(1 for worker in body["items"] if worker["online"])


def flower_online(body: Any) -> int:
    # /api/workers?status=1 maps names to alive; ?refresh=1 maps names to what they answered.
    return sum(1 for info in body.values() if info)


@dataclass(frozen=True)
class Kind:
    """What one monitor answers where, and how to read the answers the bench checks."""

    label: str
    paths: Mapping[str, str]
    online: Callable[[Any], int]
    listed: Callable[[Any], int]


OURS = Kind(
    "ours (sdp_monitor)",
    {
        "ready": "/readyz",
        "online": f"{API}/workers",
        "fresh workers": f"{API}/workers",
        "status": f"{API}/status",
        "workers": f"{API}/workers",
        "task": f"{API}/task/{{id}}",
        "queues": f"{API}/queues",
        "metrics": "/metrics",
        "tasks": f"{API}/tasks?limit=100",
        "tasks by worker": f"{API}/tasks?limit=100&worker={WORKERS[0]}",
        "peek": f"{API}/queues/{PEEK_QUEUE}/messages?limit={PEEK_LIMIT}",
        "failures": f"{API}/failures",
    },
    ours_online,
    lambda body: len(body["items"]),
)
FLOWER = Kind(
    f"Flower {metadata.version('flower')}",
    {
        "ready": "/healthcheck",
        "online": "/api/workers?status=1",
        "fresh workers": "/api/workers?refresh=1",
        "status": "/workers?json=1",
        "workers": "/api/workers",
        "task": "/api/task/info/{id}",
        "queues": "/api/queues/length",
        "metrics": "/metrics",
        "tasks": "/api/tasks?limit=100",
        "tasks by worker": f"/api/tasks?limit=100&workername={WORKERS[0]}",
    },
    flower_online,
    len,
)


@dataclass
class Side:
    kind: Kind
    proc: Proc
    base_url: str
    headers: dict[str, str]

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, headers=self.headers, timeout=60)

    def path(self, what: str, task_id: str = "") -> str:
        return self.kind.paths[what].format(id=task_id)

    def answers(self, what: str) -> Any:
        if not self.proc.alive():
            raise RuntimeError(f"{self.kind.label} exited:\n{self.proc.log()[-4000:]}")
        try:
            with self.client() as http:
                response = http.get(self.path(what))
        except httpx.TransportError:
            return None
        if response.status_code != 200:
            return None
        return response.json() if what != "ready" else True

    def wait_online(self, count: int) -> None:
        seen: list[Any] = [None]

        def online() -> bool:
            seen[0] = self.answers("online")
            return seen[0] is not None and self.kind.online(seen[0]) == count

        try:
            must(online, 60, f"{self.kind.label} to show {count} workers online")
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}; it answered {str(seen[0])[:1000]}") from None


class Cluster:
    """The bench's Redis, its Celery app for sending, and the processes it starts on them."""

    def __init__(self, url: str, procs: Processes) -> None:
        self.url = url
        self.procs = procs
        self.redis = redis.Redis.from_url(url)
        self.app = make_celery("bench_monitor", CommonSettings(redis_url=url))
        with self.app.connection_for_write() as conn:
            channel: Any = conn.default_channel  # kombu's Redis channel (untyped)
            self.unacked_key = str(channel.unacked_key)
        self.queue_keys = keys.queue_keys(Queue.system.value)
        self.redis_pid = int(self.redis.info("server")["process_id"])
        self.secret = generate_secret()
        self.token = issue_token(self.secret, "bench", Role.viewer)
        self.flower_auth = ("bench", secrets.token_urlsafe(18))

    def reset(self) -> None:
        self.procs.stop_all()
        self.redis.flushall()

    def start_workers(self) -> None:
        for node in WORKERS:
            env = worker_env(self.url, SDP_WORKER_HOSTNAME=node)
            self.procs.start([sys.executable, "-m", "sdp_worker"], env, node.split("@")[0])

        def answered() -> bool:
            replies = self.app.control.ping(timeout=0.5) or []
            return {name for reply in replies for name in reply} >= set(WORKERS)

        must(answered, 60, "both workers to answer a ping")

    def start(self, side: str) -> Side:
        port = free_port()
        if side in ("ours", OURS_NICE_0):
            env = {
                "REDIS_URL": self.url,
                "SDP_JWT_SECRET": self.secret,
                "SDP_MONITOR_PORT": str(port),
                "SDP_MONITOR_LOG_LEVEL": "warning",
            }
            if side == OURS_NICE_0:
                env["SDP_MONITOR_NICE"] = "0"
            proc = self.procs.start([sys.executable, "-m", "sdp_monitor"], env, "ours")
            started = Side(OURS, proc, f"http://127.0.0.1:{port}", self.bearer())
        else:
            user, password = self.flower_auth
            args = [
                *(sys.executable, "-m", "celery", "-A", "sdp_core.flower", "flower"),
                *(f"--port={port}", "--address=127.0.0.1", f"--basic-auth={user}:{password}"),
                "--logging=warning",
            ]
            env = {"REDIS_URL": self.url}
            proc = self.procs.start(args, env, "flower")
            basic = base64.b64encode(f"{user}:{password}".encode()).decode()
            headers = {"Authorization": f"Basic {basic}"}
            started = Side(FLOWER, proc, f"http://127.0.0.1:{port}", headers)
        must(lambda: started.answers("ready") is not None, 60, f"{started.kind.label} to answer")
        return started

    def used_memory(self) -> int:
        return int(self.redis.info("memory")["used_memory"])

    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def publish(self, count: int) -> list[str]:
        ids = [str(uuid.uuid4()) for _ in range(count)]
        with self.app.producer_or_acquire() as producer:
            for task_id in ids:
                self.app.send_task(NOOP, task_id=task_id, producer=producer)
        return ids

    def drained(self) -> bool:
        with self.redis.pipeline(transaction=False) as pipe:
            for key in self.queue_keys:
                pipe.llen(key)
            pipe.hlen(self.unacked_key)
            return sum(int(n) for n in pipe.execute()) == 0

    def run(self, count: int) -> tuple[list[str], float]:
        """Publish ``count`` no-op tasks; the ids and the seconds until the last has finished."""
        began = time.perf_counter()
        ids = self.publish(count)
        must(self.drained, 120 + count / 50, f"the workers to finish {count:,} tasks")
        return ids, time.perf_counter() - began


# -- 1. throughput -----------------------------------------------------------------------------


def caught_up(proc: Proc, timeout_s: float) -> None:
    """Wait until the process group uses under 3 % of a core over a second: events consumed."""
    last = usage(proc.proc.pid).cpu_s

    def idle() -> bool:
        nonlocal last
        time.sleep(1)
        now = usage(proc.proc.pid).cpu_s
        quiet, last = now - last < 0.03, now
        return quiet

    must(idle, timeout_s, f"{proc.log_path.stem} to catch up with the event stream")


@dataclass
class Runs:
    """One throughput configuration: per run, tasks/s and what each task cost."""

    rates: list[float] = field(default_factory=list)
    monitor_cpu_ms: list[float] = field(default_factory=list)
    redis_cpu_ms: list[float] = field(default_factory=list)
    redis_bytes: list[float] = field(default_factory=list)
    error: str | None = None


def measure_run(cluster: Cluster, side: Side | None, runs: Runs, cfg: Config) -> None:
    tasks = cfg.throughput_tasks
    monitor = usage(side.proc.proc.pid) if side is not None else None
    server, memory = usage(cluster.redis_pid, group=False), cluster.used_memory()
    _, seconds = cluster.run(tasks)
    runs.rates.append(tasks / seconds)
    if side is not None and monitor is not None:
        caught_up(side.proc, cfg.settle_timeout_s)
        runs.monitor_cpu_ms.append((usage(side.proc.proc.pid).cpu_s - monitor.cpu_s) / tasks * 1e3)
    runs.redis_cpu_ms.append(
        (usage(cluster.redis_pid, group=False).cpu_s - server.cpu_s) / tasks * 1e3
    )
    runs.redis_bytes.append((cluster.used_memory() - memory) / tasks)


def throughput(cluster: Cluster, cfg: Config) -> dict[str, Runs]:
    """No monitor, ours, ours at nice 0 and Flower, ``cfg.rounds`` runs each, on one cluster."""
    # Ours next to none in both orders; ours at nice 0 one run further away.
    configs = {"none": Runs(), "ours": Runs(), OURS_NICE_0: Runs(), "flower": Runs()}
    cluster.reset()
    cluster.start_workers()
    # Warm the workers up once; after that only the monitor changes between runs.
    cluster.run(WARM_UP_TASKS)
    for round_no in range(1, cfg.rounds + 1):
        # Every other round in reverse, so that a drift in the machine's load evens out.
        for name in list(configs)[:: 1 if round_no % 2 else -1]:
            runs = configs[name]
            if runs.error is not None:
                continue
            side = None
            try:
                side = cluster.start(name) if name != "none" else None
                if side is not None:
                    side.wait_online(len(WORKERS))
                # Whatever the monitor, the same pause before each run.
                time.sleep(SETTLE_S)
                measure_run(cluster, side, runs, cfg)
            except (RuntimeError, TimeoutError) as exc:
                log(f"   {name}: failed: {exc}")
                runs.error = f"failed: {str(exc).splitlines()[0]}"
                continue
            finally:
                if side is not None:
                    cluster.procs.stop(side.proc)
            log(f"   round {round_no}, monitor {name}: {runs.rates[-1]:,.0f} tasks/s")
    cluster.reset()
    return configs


# -- 2. 100k tasks with both monitors ----------------------------------------------------------


@dataclass
class Footprint:
    before: Usage
    after: Usage
    caught_up_s: float

    def cpu_per_task_ms(self, tasks: int) -> float:
        return (self.after.cpu_s - self.before.cpu_s) / tasks * 1000


@dataclass
class History:
    sides: dict[str, Side] = field(default_factory=dict)
    footprints: dict[str, Footprint | str] = field(default_factory=dict)
    ids: list[str] = field(default_factory=list)
    seconds: float = 0.0


def history(cluster: Cluster, cfg: Config) -> History:
    result = History()
    cluster.reset()
    for name in SIDES:
        try:
            result.sides[name] = cluster.start(name)
        except (RuntimeError, TimeoutError) as exc:
            result.footprints[name] = f"failed: {str(exc).splitlines()[0]}"
    cluster.start_workers()
    for name, side in list(result.sides.items()):
        try:
            side.wait_online(len(WORKERS))
        except (RuntimeError, TimeoutError) as exc:
            result.footprints[name] = f"failed: {str(exc).splitlines()[0]}"
            del result.sides[name]
    before = {name: usage(side.proc.proc.pid) for name, side in result.sides.items()}
    result.ids, result.seconds = cluster.run(cfg.history_tasks)
    drained = time.monotonic()
    log(f"   {cfg.history_tasks:,} tasks in {result.seconds:.0f} s; waiting for the monitors")
    for name, side in result.sides.items():
        try:
            caught_up(side.proc, cfg.settle_timeout_s)
        except (RuntimeError, TimeoutError) as exc:
            result.footprints[name] = f"failed: {exc}"
            continue
        after = usage(side.proc.proc.pid)
        result.footprints[name] = Footprint(before[name], after, time.monotonic() - drained)
    return result


# -- 3. endpoints ------------------------------------------------------------------------------


class BadAnswer(RuntimeError):
    pass


def checked(response: httpx.Response, check: Callable[[Any], bool] | None = None) -> None:
    if response.status_code != 200 or (check is not None and not check(response.json())):
        raise BadAnswer(
            f"{response.request.url.path}: {response.status_code} {response.text[:200]}"
        )


def sequential(
    side: Side, what: str, cfg: Config, check: Callable[[Any], bool] | None = None
) -> Latency:
    """One client, one request at a time: up to ``cfg.samples`` or the time budget."""
    samples: list[float] = []
    with side.client() as http:
        checked(http.get(side.path(what)), check)  # connection, caches
        began = time.perf_counter()
        while len(samples) < cfg.samples and (
            time.perf_counter() - began < cfg.sample_budget_s or len(samples) < 3
        ):
            started = time.perf_counter()
            response = http.get(side.path(what))
            samples.append(time.perf_counter() - started)
            checked(response, check)
        return Latency.of(samples, time.perf_counter() - began)


@dataclass
class Load:
    latency: Latency
    failed: int


def concurrent(side: Side, what: str, ids: list[str], cfg: Config) -> Load:
    """``cfg.clients`` threads with a keep-alive connection each, for ``cfg.load_s``.

    The load goes through http.client, not httpx: all clients share one interpreter, and at
    httpx's cost per request they, not the server, would set the rate.
    """
    ready = threading.Barrier(cfg.clients)
    # The later half: the oldest tasks are the first a bounded history drops.
    recent = ids[len(ids) // 2 :]
    address = urlsplit(side.base_url)

    def connect() -> HTTPConnection:
        return HTTPConnection(address.hostname or "127.0.0.1", address.port, timeout=60)

    def client(number: int) -> tuple[list[float], int, float, float]:
        rng = random.Random(number)
        samples: list[float] = []
        failed = 0
        with side.client() as http:
            checked(http.get(side.path(what, rng.choice(recent))))
        conn = connect()
        try:
            ready.wait()
            began = time.perf_counter()
            while time.perf_counter() - began < cfg.load_s:
                started = time.perf_counter()
                try:
                    conn.request("GET", side.path(what, rng.choice(recent)), headers=side.headers)
                    response = conn.getresponse()
                    response.read()
                    ok = response.status == 200
                except (OSError, HTTPException):
                    ok = False
                    conn.close()
                    conn = connect()
                samples.append(time.perf_counter() - started)
                failed += not ok
            return samples, failed, began, time.perf_counter()
        finally:
            conn.close()

    with ThreadPoolExecutor(cfg.clients) as pool:
        parts = list(pool.map(client, range(cfg.clients)))
    wall = max(p[3] for p in parts) - min(p[2] for p in parts)
    return Load(Latency.of([s for p in parts for s in p[0]], wall), sum(p[1] for p in parts))


def counts(read: Callable[[Any], int], want: int) -> Callable[[Any], bool]:
    return lambda body: read(body) == want


LOADED = ("status", "workers", "fresh workers", "task", "queues", "metrics")


def endpoints(run: History, cfg: Config) -> dict[str, dict[str, Latency | Load | str]]:
    listed = min(100, cfg.history_tasks)
    results: dict[str, dict[str, Latency | Load | str]] = {}
    for name, side in run.sides.items():
        kind, measured = side.kind, results.setdefault(name, {})
        checks = {
            "fresh workers": counts(kind.online, len(WORKERS)),
            "tasks": counts(kind.listed, listed),
            "tasks by worker": counts(kind.listed, listed),
        }
        for what, check in checks.items():
            log(f"   {name}: {what}, 1 client")
            try:
                measured[what] = sequential(side, what, cfg, check)
            except (BadAnswer, httpx.HTTPError) as exc:
                measured[what] = f"failed: {exc}"
        for what in LOADED:
            log(f"   {name}: {what}, {cfg.clients} clients")
            try:
                measured[f"{what} load"] = concurrent(side, what, run.ids, cfg)
            except (BadAnswer, httpx.HTTPError) as exc:
                measured[f"{what} load"] = f"failed: {exc}"
    return results


# -- 4. queue peek -----------------------------------------------------------------------------

# KEYS: one list. ARGV: a message, how many copies to push. In Redis: a million copies take
# about a second, and none crosses the wire.
_FILL = """
for _ = 1, tonumber(ARGV[2]) do redis.call('LPUSH', KEYS[1], ARGV[1]) end
"""


def queue_peek(cluster: Cluster, side: Side, cfg: Config) -> Latency | str:
    """Peek at a queue of ``cfg.peek_messages`` copies of one real message, its steps filled
    alike; the queue is deleted afterwards."""
    lists = keys.queue_keys(PEEK_QUEUE)
    # Sent as any producer sends it, which also declares the queue where the monitor finds it.
    cluster.app.send_task(NOOP, queue=PEEK_QUEUE, priority=0)
    message = cluster.redis.rpop(lists[0])
    fill = cluster.redis.register_script(_FILL)
    per_list = cfg.peek_messages // len(lists)
    try:
        for key in lists:
            fill(keys=[key], args=[message, per_list])

        def listed() -> bool:
            body = side.answers("queues")
            return body is not None and PEEK_QUEUE in {q["name"] for q in body["items"]}

        must(listed, 90, f"{side.kind.label} to list {PEEK_QUEUE}")

        def whole(body: Any) -> bool:
            return len(body["items"]) == PEEK_LIMIT and body["total"] == per_list * len(lists)

        return sequential(side, "peek", cfg, whole)
    except (BadAnswer, httpx.HTTPError, RuntimeError, TimeoutError) as exc:
        return f"failed: {exc}"
    finally:
        cluster.redis.delete(*lists)


# -- 5. failures -------------------------------------------------------------------------------

FAILED_NAMES = ("collect.http", "etl.transform", "system.sleep", "system.cleanup")
FAILED_TYPES = ("JobError('boom')", "TimeLimitExceeded(300,)", "KeyError('k')")
# Tasks per history flush while seeding.
SEED_BATCH = 5_000


def seed_failures(cluster: Cluster, count: int) -> int:
    """A history of `count` finished tasks, 1 ms apart and newest now; how many failed."""
    writer = HistoryWriter(cluster.redis, max_tasks=count, max_age_s=7 * 86_400)
    now, failed = time.time(), 0
    for n in range(count):
        finished = now - (count - n) / 1000
        fields = {"name": FAILED_NAMES[n % 4], "finished_at": repr(finished)}
        if n % 5 == 0:
            failed += 1
            fields["exception"] = FAILED_TYPES[n // 5 % 3]
        writer.add(uuid.uuid4().hex, finished, "FAILURE" if n % 5 == 0 else "SUCCESS", fields)
        if len(writer) >= SEED_BATCH:
            writer.flush(everything=True)
    writer.flush(everything=True)
    return failed


def failures(cluster: Cluster, cfg: Config) -> Latency | str:
    cluster.reset()
    failed = seed_failures(cluster, cfg.history_tasks)
    try:
        side = cluster.start("ours")
        return sequential(
            side, "failures", cfg, counts(lambda b: sum(g["count"] for g in b["items"]), failed)
        )
    except (BadAnswer, httpx.HTTPError, RuntimeError, TimeoutError) as exc:
        return f"failed: {str(exc).splitlines()[0]}"


# -- report ------------------------------------------------------------------------------------


def failure(value: object) -> str | None:
    return f"**{value}**".replace("|", "/") if isinstance(value, str) else None


def latency_cell(value: Latency | Load | str | None, target: float | None = None) -> str:
    if value is None:
        return "not measured"
    if isinstance(value, str):
        return failure(value) or ""
    assert isinstance(value, Latency)
    cell = f"{value.p50_ms:,.2f} / {value.p99_ms:,.2f} ms"
    return cell + (mark(value.p50_ms <= target) if target is not None else "")


def load_cell(value: Latency | Load | str | None) -> str:
    if value is None:
        return "not measured"
    if isinstance(value, str):
        return failure(value) or ""
    assert isinstance(value, Load)
    cell = f"{value.latency.per_s:,.0f} req/s (p50 {value.latency.p50_ms:,.1f} ms)"
    return cell + (f", {value.failed:,} failed" if value.failed else "")


def rate(value: Latency | Load | str | None) -> float | None:
    return value.latency.per_s if isinstance(value, Load) else None


def best(runs: Runs) -> float | None:
    return max(runs.rates) if runs.error is None and runs.rates else None


def mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


Row = tuple[str, str, str, str]
Points = dict[str, Latency | Load | str]


def endpoint_rows(ours: Points, flower: Points, cfg: Config) -> list[Row]:
    fresh_ours, fresh_flower = ours.get("fresh workers"), flower.get("fresh workers")
    cell = latency_cell(fresh_ours, FRESH_WORKERS_P50_MS)
    if isinstance(fresh_ours, Latency) and isinstance(fresh_flower, Latency):
        times = fresh_flower.p50_ms / fresh_ours.p50_ms
        cell += f"; {times:,.0f}x Flower{mark(times >= FRESH_WORKERS_VS_FLOWER)}"
    rows = [
        (
            "Fresh worker list, 1 client: p50 / p99 (ours `/workers`; Flower "
            "`/api/workers?refresh=1`)",
            f"p50 ≤ {FRESH_WORKERS_P50_MS:.0f} ms, ≥ {FRESH_WORKERS_VS_FLOWER:.0f}x faster "
            "than Flower",
            cell,
            latency_cell(fresh_flower),
        )
    ]
    labels = {
        "status": "status (Flower: `/workers?json=1`, its dashboard's data)",
        "workers": "worker list (Flower: `/api/workers`, its cache from the last inspect)",
        "fresh workers": "fresh worker list (Flower: `/api/workers?refresh=1`)",
        "task": "task detail, random ids (Flower: `/api/task/info/<id>`)",
        "queues": "queue lengths (Flower: `/api/queues/length`)",
        "metrics": "`/metrics`",
    }
    for what, label in labels.items():
        mine, theirs = ours.get(f"{what} load"), flower.get(f"{what} load")
        target, cell = "—", load_cell(mine)
        if what == "queues":
            target = f"≥ {QUEUES_VS_FLOWER:.0f}x Flower"
            mine_rate, their_rate = rate(mine), rate(theirs)
            if mine_rate is not None and their_rate is not None:
                times = mine_rate / their_rate
                cell += f"; {times:,.1f}x Flower{mark(times >= QUEUES_VS_FLOWER)}"
        rows.append((f"{cfg.clients} clients: {label}", target, cell, load_cell(theirs)))
    tasks = f"{cfg.history_tasks:,}"
    rows.append(
        (
            f"Task list, limit 100, {tasks} tasks in the history, 1 client: p50 / p99",
            f"p50 ≤ {TASK_LIST_P50_MS:.0f} ms",
            latency_cell(ours.get("tasks"), TASK_LIST_P50_MS),
            latency_cell(flower.get("tasks")),
        )
    )
    rows.append(
        (
            f"Task list, limit 100, filtered by worker (half of {tasks} match): p50 / p99",
            "—",
            latency_cell(ours.get("tasks by worker")),
            latency_cell(flower.get("tasks by worker")),
        )
    )
    rows.append(
        (
            f"Failures by task and exception type (`/failures`), {tasks} tasks in the history "
            "(a fifth failed, 12 groups), 1 client: p50 / p99",
            f"p50 ≤ {FAILURES_P50_MS:.0f} ms",
            latency_cell(ours.get("failures"), FAILURES_P50_MS),
            "no such view",
        )
    )
    return rows


def peek_row(value: Latency | str | None, cfg: Config) -> Row:
    return (
        f"Queue peek, {PEEK_LIMIT} of a {cfg.peek_messages:,}-message queue (10 priority "
        "steps), 1 client: p50 / p99",
        f"p50 ≤ {PEEK_P50_MS:.0f} ms",
        latency_cell(value, PEEK_P50_MS),
        "— (none)",
    )


def footprint_rows(run: History, cfg: Config) -> list[Row]:
    rss: list[str] = []
    cpu: list[str] = []
    for name in SIDES:
        footprint = run.footprints.get(name)
        if isinstance(footprint, Footprint):
            mib = footprint.after.rss_bytes / MIB
            ms = footprint.cpu_per_task_ms(cfg.history_tasks)
            ours_side = name == "ours"
            rss.append(f"{mib:,.0f} MiB" + (mark(mib <= RSS_MIB) if ours_side else ""))
            cpu.append(f"{ms:.3f} ms" + (mark(ms <= CPU_PER_TASK_MS) if ours_side else ""))
        else:
            rss.append(failure(footprint) or "not measured")
            cpu.append(rss[-1])
    tasks = f"{cfg.history_tasks:,}"
    return [
        (f"RSS after {tasks} no-op tasks", f"≤ {RSS_MIB:.0f} MiB", rss[0], rss[1]),
        (f"CPU per task over {tasks} no-op tasks", f"≤ {CPU_PER_TASK_MS} ms", cpu[0], cpu[1]),
    ]


def paired(runs: Runs, bare: Runs) -> list[float]:
    """Per round, the rate with the monitor over the rate without it in that same round."""
    return sorted(a / b for a, b in zip(runs.rates, bare.rates, strict=False))


def throughput_row(configs: dict[str, Runs], cfg: Config) -> Row:
    bare = configs["none"]
    cells: list[str] = []
    for name in SIDES:
        runs = configs[name]
        ratios = paired(runs, bare)
        with_it, without = best(runs), best(bare)
        if not ratios or with_it is None or without is None:
            cells.append(failure(runs.error or bare.error) or "not measured")
            continue
        # The median: one run that stalls must not decide the result, as it would the mean.
        # (Runs at 24 tasks/s were the publisher blocked on Celery's per-send result
        # subscriptions, which sdp_core.sender_backend now avoids.)
        ratio = statistics.median(ratios)
        mean = statistics.fmean(ratios)
        # How far the mean may be off, from how much the rounds' pairs disagree.
        error = statistics.stdev(ratios) / len(ratios) ** 0.5 if len(ratios) > 1 else 0.0
        cells.append(
            f"{ratio:.3f}"
            + (mark(ratio >= THROUGHPUT_RATIO) if name == "ours" else "")
            + f" (mean {mean:.3f} ± {error:.3f} standard error;"
            + f" rounds {ratios[0]:.2f} to {ratios[-1]:.2f}; best of each "
            f"{with_it:,.0f} vs {without:,.0f} tasks/s = {with_it / without:.3f})"
        )
    return (
        f"Cluster throughput with it running / without ({cfg.throughput_tasks:,} tasks; median "
        f"over {cfg.rounds} rounds of each round's pair, in both orders)",
        f"≥ {THROUGHPUT_RATIO}",
        cells[0],
        cells[1],
    )


def throughput_lines(configs: dict[str, Runs]) -> list[str]:
    lines: list[str] = []
    for name, runs in configs.items():
        if runs.error is not None:
            lines.append(f"- Throughput, monitor {name}: {runs.error}")
            continue
        ratios = paired(runs, configs["none"]) if name != "none" else []
        ratio = (
            f" (ratio to none: median {statistics.median(ratios):.3f}, mean {mean(ratios):.3f})"
            if ratios
            else ""
        )
        monitor = f"monitor CPU {mean(runs.monitor_cpu_ms):.3f} ms, " if name != "none" else ""
        stored = "results, history" if name.startswith("ours") else "results"
        lines.append(
            f"- Throughput, monitor {name}: {', '.join(f'{r:,.0f}' for r in runs.rates)} "
            f"tasks/s{ratio}; per task (mean of the runs): {monitor}redis-server CPU "
            f"{mean(runs.redis_cpu_ms):.3f} ms, Redis memory +{mean(runs.redis_bytes):,.0f} B "
            f"({stored})."
        )
    return lines


def setup_lines(run: History, cfg: Config) -> list[str]:
    lines = [
        f"- Cluster: one private `redis-server` (broker, results, our history); {len(WORKERS)} "
        "`python -m sdp_worker` processes with the shipped settings: prefork pool, concurrency "
        "2, prefetch 1, late acks, log level INFO, consuming every queue. Task events are on "
        "in both ways Celery has: `--events` on the worker command line and "
        "`worker_send_task_events` in sdp_core.celery_config, which also sets "
        "`task_send_sent_event` (so `task-sent` comes from the publisher).",
        "- Ours: `python -m sdp_monitor` with `REDIS_URL`, `SDP_JWT_SECRET`, "
        "`SDP_MONITOR_PORT` and `SDP_MONITOR_LOG_LEVEL=warning`; its defaults otherwise "
        "(history of 100,000 tasks, written in batches every 0.1 s; niceness 10, which it "
        "also gives its session's autogroup, since it leads its session). A viewer bearer "
        "token. In the throughput runs also as `SDP_MONITOR_NICE=0` (ours at nice 0), for "
        "comparison.",
        "- Flower: `celery -A sdp_core.flower flower --basic-auth=… --logging=warning` "
        "(sdp_core.flower: the platform's Celery configuration, so it counts the queues' "
        "priority lists where they are); its defaults otherwise (`max_tasks` 100,000, "
        "`inspect_timeout` 1 s). Basic auth sent with every request.",
        "- Throughput: no-op tasks (`system.noop`) sent from the bench process over one "
        "producer as fast as it goes; time from the first send until the queue and kombu's "
        "unacked hash are empty. One cluster for every run, its workers warmed up once with "
        f"{WARM_UP_TASKS:,} tasks: only the monitor changes, a fresh process started before "
        f"its run and stopped after it, and every run starts {SETTLE_S:.0f} s after the "
        "monitor (if any) shows both workers; nothing is flushed between runs, so our "
        "history grows across them; "
        f"{cfg.rounds} round(s) of (none, ours, ours at nice 0, Flower), every other one in "
        "reverse order, "
        "so ours always runs next to a run without a monitor, as often before it as after. The "
        "ratio is the median over the rounds of (rate with the monitor / rate without it in "
        "the same round), so one stalled run does not decide it; the mean and its standard "
        "error are shown too. A drift within a round counts against ours in one order and for "
        "it in the other. The best "
        "rate of each is shown too. Identical runs drift by up to a fifth over minutes on this "
        "kind of machine (CPU time per task for the same work moves with it), so rounds far "
        "apart do not compare. The monitor's CPU is read until it has caught up (as below); "
        "the redis-server's CPU and `used_memory` alongside.",
        f"- History: {cfg.history_tasks:,} no-op tasks with both monitors on the cluster at "
        f"once (in {run.seconds:.0f} s). CPU time (utime + stime) and VmRSS of each monitor's "
        "process group from /proc: CPU from just before the first send until the monitor has "
        "been idle (< 3 % of a core) for a second after the workers finished; RSS then.",
        f"- Endpoints: after that, with the workers idle. 1 client: up to {cfg.samples} "
        f"requests or {cfg.sample_budget_s:.0f} s (at least 3), after one warm-up request. "
        f"{cfg.clients} clients: a thread and a keep-alive `http.client` connection each "
        "(httpx's cost per request would make the clients the limit), "
        f"{cfg.load_s:.0f} s; req/s = answers / wall time. Task detail asks for random ids "
        "among the later half sent.",
        f"- Queue peek: after that, `{PEEK_QUEUE}` (no worker consumes it) holds "
        f"{cfg.peek_messages:,} copies of one real `system.noop` message, as many at each of "
        f"its 10 priority steps; `GET .../queues/{PEEK_QUEUE}/messages?limit={PEEK_LIMIT}` "
        "measured like the 1-client requests above.",
    ]
    for name in SIDES:
        footprint = run.footprints.get(name)
        if isinstance(footprint, Footprint):
            lines.append(
                f"- {name}: RSS {footprint.before.rss_bytes / MIB:,.0f} MiB idle before the "
                f"tasks; CPU {footprint.after.cpu_s - footprint.before.cpu_s:,.1f} s in all; "
                f"caught up {footprint.caught_up_s:.0f} s after the workers had finished."
            )
    return lines


def render(results: dict[str, Any], cfg: Config, elapsed_s: float, quick: bool) -> str:
    configs: dict[str, Runs] = results["throughput"]
    run: History = results["history"]
    points: dict[str, Points] = results["endpoints"]
    rows = [
        *endpoint_rows(points.get("ours", {}), points.get("flower", {}), cfg),
        peek_row(results.get("peek"), cfg),
        *footprint_rows(run, cfg),
        throughput_row(configs, cfg),
    ]
    versions = ", ".join(
        f"{package} {metadata.version(package)}" for package in ("celery", "kombu", "flower")
    )
    lines = [
        "# Monitor benchmark: ours vs Flower" + (" (--quick: not comparable)" if quick else ""),
        "",
        f"Generated by `make bench` (bench/monitor.py) on {time.strftime('%Y-%m-%d %H:%M %Z')}. "
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{results['redis_version']}, {versions}. Whole run: {elapsed_s / 60:.1f} min. "
        "Reproduce: `make bench` (or `uv run python bench/monitor.py`).",
        "",
        f"| Measurement | Target | {OURS.label} | {FLOWER.label} |",
        "| --- | --- | --- | --- |",
        *(f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows),
        "",
        "✓ / ✗: ours meets the target or not. Latencies over keep-alive HTTP from one Python "
        "process on the same machine (httpx for 1 client, http.client for 20); p99 is "
        "nearest-rank.",
        "",
        "## Setup and diagnostics",
        "",
        *setup_lines(run, cfg),
        *throughput_lines(configs),
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    given = options(__doc__)
    cfg = QUICK if given.quick else Config()
    began = time.monotonic()
    log_dir = Path(tempfile.mkdtemp(prefix="sdp-bench-monitor-"))
    results: dict[str, Any] = {}
    ok = False
    try:
        with redis_server() as url, Processes(log_dir) as procs:
            cluster = Cluster(url, procs)
            results["redis_version"] = f"redis-server {cluster.redis.info()['redis_version']}"
            log(f"1. throughput: {cfg.throughput_tasks:,} tasks x {cfg.rounds} round(s)")
            results["throughput"] = throughput(cluster, cfg)
            log(f"2. {cfg.history_tasks:,} tasks with both monitors")
            run = results["history"] = history(cluster, cfg)
            log("3. endpoints")
            results["endpoints"] = endpoints(run, cfg)
            if "ours" in run.sides:
                log(f"4. queue peek: {PEEK_LIMIT} of {cfg.peek_messages:,} messages")
                results["peek"] = queue_peek(cluster, run.sides["ours"], cfg)
            log(f"5. failures over {cfg.history_tasks:,} tasks in the history")
            results["endpoints"].setdefault("ours", {})["failures"] = failures(cluster, cfg)
        ok = True
    finally:
        if not ok:
            log(f"failed; logs kept in {log_dir}")
    shutil.rmtree(log_dir, ignore_errors=True)
    report = render(results, cfg, time.monotonic() - began, given.quick)
    publish(report, RESULTS, write=not given.no_write)


if __name__ == "__main__":
    main()
