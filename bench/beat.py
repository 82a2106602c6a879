"""Beat benchmark: our Redis beat scheduler next to celery-redbeat 2.4, on one Redis server.

Run by ``make bench`` (which installs the ``bench`` dependency group first); never by
``make test``.  Starts its own ``redis-server`` on a free port, runs every measurement for both
schedulers one after the other (the database is flushed between phases), prints a Markdown
table and writes it to ``bench/results-beat.md``.

1. 200 schedules every 1 s for 60 s: slots fired / expected, lag due -> sent, duplicates.
2. Idle tick (nothing due) at 1k / 10k / 100k schedules and at 10k active + 10k paused,
   measured in-process; time to load 100k schedules; Redis bytes per schedule.
3. Change -> obeyed: a new schedule due 300 ms later, while beat runs (idle, and busy with a
   1 s schedule); actual send minus intended due.
4. kill -9 of the leader with two replicas and 10 one-second schedules: kill -> next send by the
   other replica, and slots lost in that window.

Both tools run with their shipped defaults; the only settings given are the Redis URL, the
replica name (ours) and the key prefix (redbeat).  ``--quick`` shrinks every phase for a smoke
run (its numbers are not comparable).
"""

from __future__ import annotations

import json
import math
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import redis
from benchlib import (
    Proc,
    Processes,
    log,
    mark,
    must,
    options,
    pct,
    publish,
    redis_server,
    wait_until,
)
from redbeat.schedulers import (
    RedBeatScheduler,
    acquire_distributed_beat_lock,
)
from redbeat_app import SENDS_KEY, interval_entry, make_app

from sdp_beat.firing import FiringEngine
from sdp_beat.settings import BeatSettings
from sdp_core import keys
from sdp_schedules.definitions import ScheduleDefinitions
from sdp_schedules.firing import ScheduleFiring
from sdp_schedules.leader import LeaderLock
from sdp_schedules.records import Schedule

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results-beat.md"
REDBEAT_PREFIX = "bench-redbeat:"
NOOP = "system.noop"


@dataclass(frozen=True)
class Config:
    steady_schedules: int = 200
    window_s: float = 60.0
    warmup_s: float = 5.0
    tail_s: float = 2.0
    tick_sizes: tuple[int, ...] = (1_000, 10_000, 100_000)
    paused: int = 10_000
    tick_samples: int = 200
    tick_budget_s: float = 10.0
    change_samples: int = 20
    change_lead_s: float = 0.3
    change_cap_s: float = 5.0
    failover_schedules: int = 10
    # redbeat's standby would need its lock's full timeout (25 min) plus up to one retry
    # interval: the wait is capped and the lock's remaining TTL at the kill is reported instead.
    failover_cap_s: float = 60.0


QUICK = Config(
    steady_schedules=50,
    window_s=10.0,
    warmup_s=3.0,
    tick_sizes=(1_000, 5_000),
    paused=1_000,
    tick_samples=50,
    tick_budget_s=3.0,
    change_samples=5,
    change_cap_s=3.0,
    failover_cap_s=20.0,
)


# -- small helpers ------------------------------------------------------------------------------


def iso(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).isoformat()


def used_memory(client: redis.Redis) -> int:
    return int(client.info("memory")["used_memory"])


def queued(client: redis.Redis) -> int:
    """Task messages waiting on the system queue (no worker consumes them in the bench)."""
    return sum(int(client.llen(key)) for key in keys.queue_keys("system"))


def queue_messages(client: redis.Redis) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    for key in keys.queue_keys("system"):
        messages += [json.loads(raw) for raw in client.lrange(key, 0, -1)]
    return messages


class BeatProcesses(Processes):
    """Our beat and redbeat processes."""

    def ours(self, url: str, node: str) -> Proc:
        env = {"REDIS_URL": url, "SDP_BEAT_NODE_NAME": node}
        return self.start([sys.executable, "-m", "sdp_beat"], env, f"ours-{node}")

    def redbeat(self, url: str, name: str) -> Proc:
        env = {"REDIS_URL": url, "BENCH_REDBEAT_PREFIX": REDBEAT_PREFIX}
        return self.start([sys.executable, str(BENCH / "redbeat_app.py")], env, f"redbeat-{name}")


# -- what both tools' sends look like -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Send:
    schedule: str
    due_s: float
    sent_s: float


def ours_sends(firing: ScheduleFiring, schedule_ids: Sequence[str]) -> list[Send]:
    """Every SENT run record (slot = due time, since no jitter is set)."""
    return [
        Send(schedule_id, run.slot_ms / 1000, run.fired_ms / 1000)
        for schedule_id in schedule_ids
        for run in firing.runs(schedule_id, limit=10_000)
        if run.state == "SENT"
    ]


def ours_duplicates(client: redis.Redis) -> int:
    """Messages in the broker beyond the first for the same (schedule, slot)."""
    slots = Counter(
        (m["headers"]["sdp_schedule"], m["headers"]["sdp_slot"]) for m in queue_messages(client)
    )
    return sum(count - 1 for count in slots.values())


def redbeat_sends(client: redis.Redis) -> list[Send]:
    sends: list[Send] = []
    for raw in client.lrange(SENDS_KEY, 0, -1):
        name, due, sent = json.loads(raw)
        sends.append(Send(name, float(due), float(sent)))
    return sends


def redbeat_duplicates(sends: Sequence[Send]) -> int:
    slots = Counter((s.schedule, round(s.due_s * 1000)) for s in sends)
    return sum(count - 1 for count in slots.values())


def ours_stores(url: str) -> tuple[redis.Redis, ScheduleDefinitions, ScheduleFiring]:
    client = redis.Redis.from_url(url)
    client.flushall()
    return client, ScheduleDefinitions(client), ScheduleFiring(client)


def leader_of(client: redis.Redis) -> str | None:
    return LeaderLock(client, "bench-observer", 1_000).holder()


def interval_doc(name: str, every: int, unit: str = "seconds", **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "task": NOOP,
        "trigger": {"type": "interval", "every": every, "unit": unit},
        # No worker consumes the queue here: let every slot go out (the most allowed).
        "max_instances": 100,
        **extra,
    }


# -- 1. steady load -----------------------------------------------------------------------------


@dataclass
class Steady:
    fired: int
    expected: int
    lag_ms: list[float]
    duplicates: int
    lag_first_p50: float
    lag_last_p50: float
    sent_total: int


def steady_result(
    sends: Sequence[Send], start: float, cfg: Config, duplicates: int, count: int
) -> Steady:
    low, high = start + cfg.warmup_s, start + cfg.warmup_s + cfg.window_s
    window = [s for s in sends if low <= s.due_s < high]
    unique = {(s.schedule, round(s.due_s * 1000)) for s in window}
    lags = [(s.sent_s - s.due_s) * 1000 for s in window]
    first = [(s.sent_s - s.due_s) * 1000 for s in window if s.due_s < low + 10]
    last = [(s.sent_s - s.due_s) * 1000 for s in window if s.due_s >= high - 10]
    return Steady(
        fired=len(unique),
        expected=count * round(cfg.window_s),
        lag_ms=lags,
        duplicates=duplicates,
        lag_first_p50=statistics.median(first) if first else math.nan,
        lag_last_p50=statistics.median(last) if last else math.nan,
        sent_total=len(sends),
    )


def steady_ours(url: str, procs: BeatProcesses, cfg: Config) -> Steady:
    client, definitions, firing = ours_stores(url)
    ids = [definitions.create(interval_doc(f"b-{n:03}", 1)).id for n in range(cfg.steady_schedules)]
    procs.ours(url, "beat-a")
    must(lambda: queued(client) > 0, 60, "our beat's first send")
    start = time.time()
    time.sleep(cfg.warmup_s + cfg.window_s + cfg.tail_s)
    procs.stop_all()
    return steady_result(
        ours_sends(firing, ids), start, cfg, ours_duplicates(client), cfg.steady_schedules
    )


def steady_redbeat(url: str, procs: BeatProcesses, cfg: Config) -> Steady:
    client = redis.Redis.from_url(url)
    client.flushall()
    app = make_app(url, REDBEAT_PREFIX)
    now = datetime.now(UTC)
    for n in range(cfg.steady_schedules):
        interval_entry(app, f"b-{n:03}", timedelta(seconds=1), now).save()
    procs.redbeat(url, "a")
    must(lambda: queued(client) > 0, 60, "redbeat's first send")
    start = time.time()
    time.sleep(cfg.warmup_s + cfg.window_s + cfg.tail_s)
    procs.stop_all()
    sends = redbeat_sends(client)
    app.close()
    return steady_result(sends, start, cfg, redbeat_duplicates(sends), cfg.steady_schedules)


# -- 2. idle tick, load time, memory -----------------------------------------------------------


@dataclass
class Idle:
    tick_ms: dict[str, float] = field(default_factory=dict)
    tick_n: dict[str, int] = field(default_factory=dict)
    ping_ms: dict[str, float] = field(default_factory=dict)
    load_s: float = 0.0
    loaded: int = 0
    bytes_per: float = 0.0


def median_tick_ms(tick: Callable[[], object], cfg: Config) -> tuple[float, int]:
    """Median wall time of one tick, over up to ``tick_samples`` ticks or the time budget."""
    began = time.perf_counter()
    tick()  # connections, lock, scripts
    if time.perf_counter() - began < 0.1:
        for _ in range(20):
            tick()
    times: list[float] = []
    deadline = time.perf_counter() + cfg.tick_budget_s
    while len(times) < cfg.tick_samples and (time.perf_counter() < deadline or len(times) < 3):
        began = time.perf_counter()
        tick()
        times.append(time.perf_counter() - began)
    return statistics.median(times) * 1000, len(times)


def ping_ms(client: redis.Redis, samples: int = 200) -> float:
    """Median PING round trip: most of an idle tick is round trips on this machine."""
    times: list[float] = []
    for _ in range(samples):
        began = time.perf_counter()
        client.ping()
        times.append(time.perf_counter() - began)
    return statistics.median(times) * 1000


def measure_tick(
    result: Idle, label: str, tick: Callable[[], object], client: redis.Redis, cfg: Config
) -> None:
    result.tick_ms[label], result.tick_n[label] = median_tick_ms(tick, cfg)
    result.ping_ms[label] = ping_ms(client)


def _never_send(schedule: Schedule, task_id: str, slot_ms: int) -> None:
    raise AssertionError(f"nothing should be due in the idle bench ({schedule.spec.name})")


def ours_engine(firing: ScheduleFiring) -> FiringEngine:
    defaults = BeatSettings()  # the beat's own defaults for lock TTL, batch size, catch-up
    lock = LeaderLock(firing.client, "bench-tick", int(defaults.lock_ttl_s * 1000))
    return FiringEngine(
        firing,
        lock,
        _never_send,
        lambda task_ids: set(),
        batch_size=defaults.batch_size,
        catchup_limit=defaults.catchup_limit,
    )


def idle_ours(url: str, cfg: Config) -> Idle:
    result = Idle()
    client, definitions, firing = ours_stores(url)
    engine = ours_engine(firing)
    base = used_memory(client)
    created = 0
    for size in cfg.tick_sizes:
        began = time.perf_counter()
        definitions.create_many(
            interval_doc(f"idle-{n:06}", 1, "days") for n in range(created, size)
        )
        result.load_s += time.perf_counter() - began
        created = size
        log(f"  ours: {size} schedules loaded ({result.load_s:.1f} s so far)")
        measure_tick(result, f"{size // 1000}k", engine.tick, client, cfg)
    result.loaded = created
    result.bytes_per = (used_memory(client) - base) / created
    engine.lock.release()

    client, definitions, firing = ours_stores(url)
    engine = ours_engine(firing)
    definitions.create_many(interval_doc(f"act-{n:06}", 1, "days") for n in range(cfg.paused))
    definitions.create_many(
        interval_doc(f"pau-{n:06}", 1, "days", enabled=False) for n in range(cfg.paused)
    )
    measure_tick(
        result, f"{cfg.paused // 1000}k+{cfg.paused // 1000}k paused", engine.tick, client, cfg
    )
    engine.lock.release()
    client.flushall()
    return result


def redbeat_scheduler(app: Any) -> Any:
    """redbeat's scheduler in this process, holding its lock the way `celery beat` takes it."""
    scheduler = RedBeatScheduler(app=app)
    acquire_distributed_beat_lock(sender=SimpleNamespace(scheduler=scheduler))
    return scheduler


def idle_redbeat(url: str, cfg: Config) -> Idle:
    result = Idle()
    client = redis.Redis.from_url(url)
    client.flushall()
    app = make_app(url, REDBEAT_PREFIX)
    scheduler = redbeat_scheduler(app)
    base = used_memory(client)
    now = datetime.now(UTC)
    created = 0
    for size in cfg.tick_sizes:
        began = time.perf_counter()
        for n in range(created, size):
            interval_entry(app, f"idle-{n:06}", timedelta(days=1), now).save()
        result.load_s += time.perf_counter() - began
        created = size
        log(f"  redbeat: {size} entries loaded ({result.load_s:.1f} s so far)")
        measure_tick(result, f"{size // 1000}k", scheduler.tick, client, cfg)
    result.loaded = created
    # The lock key is included in the delta; it is a few dozen bytes over 100k entries.
    result.bytes_per = (used_memory(client) - base) / created
    scheduler.close()
    app.close()

    client.flushall()
    app = make_app(url, REDBEAT_PREFIX)
    scheduler = redbeat_scheduler(app)
    now = datetime.now(UTC)
    # A paused (enabled=False) redbeat entry stays in the schedule ZSET at its old due time;
    # once that has passed -- any entry paused for longer than its interval -- it is in every
    # tick's due range.  Model that steady state: paused two days ago, interval one day.
    for n in range(cfg.paused):
        interval_entry(app, f"act-{n:06}", timedelta(days=1), now).save()
        interval_entry(
            app, f"pau-{n:06}", timedelta(days=1), now - timedelta(days=2), enabled=False
        ).save()
    measure_tick(
        result, f"{cfg.paused // 1000}k+{cfg.paused // 1000}k paused", scheduler.tick, client, cfg
    )
    scheduler.close()
    app.close()
    client.flushall()
    return result


# -- 3. change -> obeyed ------------------------------------------------------------------------


@dataclass
class Change:
    lags_ms: list[float] = field(default_factory=list)
    misses: int = 0  # not sent within change_cap_s
    tried: int = 0


def change_samples(
    create: Callable[[str, float], Callable[[], float | None]], cfg: Config
) -> Change:
    """``create(name, due)`` makes the schedule and returns a probe for its send time."""
    result = Change()
    for n in range(cfg.change_samples):
        due = time.time() + cfg.change_lead_s
        probe = create(f"once-{n:02}", due)
        result.tried += 1
        sent: list[float] = []

        def arrived(probe: Callable[[], float | None] = probe, sent: list[float] = sent) -> bool:
            value = probe()
            if value is not None:
                sent.append(value)
            return value is not None

        if wait_until(arrived, cfg.change_cap_s):
            result.lags_ms.append((sent[0] - due) * 1000)
        else:
            result.misses += 1
            if result.misses >= 2:
                break  # the beat is asleep; more samples would only wait out the cap too
        time.sleep(random.uniform(0.1, 0.4))
    return result


def change_ours(url: str, procs: BeatProcesses, cfg: Config, *, busy: bool) -> Change:
    client, definitions, firing = ours_stores(url)
    if busy:
        definitions.create(interval_doc("busy", 1))
    procs.ours(url, "beat-a")
    must(lambda: leader_of(client) == "beat-a", 60, "our beat to lead")
    if busy:
        must(lambda: queued(client) > 0, 30, "the busy schedule's first send")
    time.sleep(1.5)

    def create(name: str, due: float) -> Callable[[], float | None]:
        schedule_id = definitions.create(
            {"name": name, "task": NOOP, "trigger": {"type": "once", "at": iso(due)}}
        ).id

        def probe() -> float | None:
            runs = [r for r in firing.runs(schedule_id, limit=10) if r.state == "SENT"]
            return runs[0].fired_ms / 1000 if runs else None

        return probe

    result = change_samples(create, cfg)
    procs.stop_all()
    return result


def change_redbeat(url: str, procs: BeatProcesses, cfg: Config, *, busy: bool) -> Change:
    client = redis.Redis.from_url(url)
    client.flushall()
    app = make_app(url, REDBEAT_PREFIX)
    if busy:
        interval_entry(app, "busy", timedelta(seconds=1), datetime.now(UTC)).save()
    beat = procs.redbeat(url, "a")
    must(lambda: "Acquired lock" in beat.log(), 60, "redbeat to take its lock")
    if busy:
        must(lambda: queued(client) > 0, 30, "the busy entry's first send")
    time.sleep(1.5)

    def create(name: str, due: float) -> Callable[[], float | None]:
        # redbeat has no one-off trigger: an hourly entry whose next run is `due` is closest.
        last = datetime.fromtimestamp(due, UTC) - timedelta(hours=1)
        interval_entry(app, name, timedelta(hours=1), last).save()

        def probe() -> float | None:
            found = [s.sent_s for s in redbeat_sends(client) if s.schedule == name]
            return found[0] if found else None

        return probe

    result = change_samples(create, cfg)
    procs.stop_all()
    app.close()
    return result


# -- 4. kill -9 failover ------------------------------------------------------------------------


@dataclass
class Failover:
    takeover_s: float | None  # None: no send by the survivor within the cap
    lost: int
    expected: int
    duplicates: int
    lock_left_s: float | None = None  # the dead leader's lock TTL left at the kill


def lost_slots(sends: Sequence[Send], killed: float, until: float) -> tuple[int, int]:
    """Grid slots (1 s apart) after each schedule's last pre-kill send, up to ``until``.

    Returns (expected, lost): lost are those never sent (checked after the run).
    """
    expected = lost = 0
    for name in {s.schedule for s in sends}:
        own = [s for s in sends if s.schedule == name]
        before = [s.due_s for s in own if s.sent_s <= killed]
        if not before:
            continue
        last = max(before)
        sent_after = [s.due_s for s in own if last < s.due_s <= until + 1e-3]
        grid = math.floor(until - last + 1e-3)
        expected += grid
        # Ours: slots on the exact grid.  redbeat: each send covers one period at most.
        lost += max(0, grid - len(sent_after))
    return expected, lost


def failover_ours(url: str, procs: BeatProcesses, cfg: Config) -> Failover:
    client, definitions, firing = ours_stores(url)
    misfire = {"policy": "run_all", "grace_s": 60}
    ids = [
        definitions.create(interval_doc(f"f-{n:02}", 1, misfire=misfire)).id
        for n in range(cfg.failover_schedules)
    ]
    first = procs.ours(url, "beat-a")
    must(lambda: leader_of(client) == "beat-a", 60, "beat-a to lead")
    procs.ours(url, "beat-b")
    must(lambda: bool(client.exists(keys.beat_node("beat-b"))), 60, "beat-b to stand by")
    time.sleep(2)
    assert leader_of(client) == "beat-a"
    first.kill9()
    killed = time.time()
    lock_left_s = int(client.pttl(keys.SCHEDULE_LEADER)) / 1000
    wait_until(
        lambda: any(s.sent_s > killed for s in ours_sends(firing, ids)), cfg.failover_cap_s, 0.05
    )
    time.sleep(3)
    procs.stop_all()
    sends = ours_sends(firing, ids)
    after = [s.sent_s for s in sends if s.sent_s > killed]
    takeover = min(after) - killed if after else None
    until = killed + (takeover if takeover is not None else cfg.failover_cap_s)
    expected, lost = lost_slots(sends, killed, until)
    return Failover(takeover, lost, expected, ours_duplicates(client), lock_left_s)


def failover_redbeat(url: str, procs: BeatProcesses, cfg: Config) -> Failover:
    client = redis.Redis.from_url(url)
    client.flushall()
    app = make_app(url, REDBEAT_PREFIX)
    now = datetime.now(UTC)
    for n in range(cfg.failover_schedules):
        interval_entry(app, f"f-{n:02}", timedelta(seconds=1), now).save()
    first = procs.redbeat(url, "a")
    must(lambda: queued(client) > 0, 60, "redbeat a's first send")
    second = procs.redbeat(url, "b")
    # b blocks in redbeat's lock acquisition (beat_init), retrying every max_interval.
    must(lambda: "beat: Starting..." in second.log(), 60, "redbeat b to start")
    time.sleep(2)
    first.kill9()
    killed = time.time()
    lock_left_s = int(client.pttl(f"{REDBEAT_PREFIX}:lock")) / 1000
    log(f"  redbeat: leader killed; waiting up to {cfg.failover_cap_s:.0f} s for b")
    wait_until(
        lambda: any(s.sent_s > killed for s in redbeat_sends(client)), cfg.failover_cap_s, 0.05
    )
    time.sleep(3)
    procs.stop_all()
    sends = redbeat_sends(client)
    after = [s.sent_s for s in sends if s.sent_s > killed]
    takeover = min(after) - killed if after else None
    until = killed + (takeover if takeover is not None else cfg.failover_cap_s)
    expected, lost = lost_slots(sends, killed, until)
    app.close()
    return Failover(takeover, lost, expected, redbeat_duplicates(sends), lock_left_s)


# -- the report ---------------------------------------------------------------------------------


def ms(value: float) -> str:
    return f"{value:.1f} ms" if value < 100 else f"{value:,.0f} ms"


def steady_cells(result: Steady) -> list[str]:
    share = result.fired / result.expected
    return [
        f"{result.fired:,} / {result.expected:,} ({share:.1%}){mark(share >= 1)}",
        ms(pct(result.lag_ms, 50)) if result.lag_ms else "n/a",
        (ms(pct(result.lag_ms, 99)) + mark(pct(result.lag_ms, 99) <= 50))
        if result.lag_ms
        else "n/a",
        f"{result.duplicates}{mark(result.duplicates == 0)}",
    ]


def tick_cell(idle: Idle, label: str, flat_ref: float | None = None) -> str:
    value = idle.tick_ms[label]
    ok = value <= 1.0 and (flat_ref is None or value <= flat_ref * 1.5 + 0.05)
    note = "" if idle.tick_n[label] >= 50 else f" (n={idle.tick_n[label]})"
    return f"{value:.3f} ms{note}{mark(ok)}"


def change_cell(result: Change, cfg: Config) -> str:
    if result.misses:
        sent = f"{len(result.lags_ms)}/{result.tried} sent"
        return f"> {cfg.change_cap_s:.0f} s ({sent} within {cfg.change_cap_s:.0f} s){mark(False)}"
    p99 = pct(result.lags_ms, 99)
    return f"{ms(p99)} (n={len(result.lags_ms)}){mark(p99 <= 1000)}"


def failover_cells(result: Failover, cfg: Config) -> list[str]:
    if result.takeover_s is None:
        takeover = f"> {cfg.failover_cap_s:.0f} s"
        if result.lock_left_s is not None and result.lock_left_s > 0:
            takeover += f" (dead leader's lock still held {result.lock_left_s:,.0f} s)"
        takeover += mark(False)
    else:
        takeover = f"{result.takeover_s:.2f} s{mark(result.takeover_s <= 5)}"
    lost = f"{result.lost} of {result.expected}"
    if result.takeover_s is None:
        lost = f"≥ {lost} (still losing)"
    duplicates = f"{result.duplicates}{mark(result.duplicates == 0)}"
    return [takeover, lost + mark(result.lost == 0), duplicates]


def render(results: dict[str, Any], cfg: Config, elapsed_s: float, quick: bool) -> str:
    ours: dict[str, Any] = results["ours"]
    red: dict[str, Any] = results["redbeat"]
    n = cfg.steady_schedules
    window = f"{cfg.window_s:.0f} s"
    rows: list[tuple[str, str, str, str]] = []
    for label, target, a, b in zip(
        [
            f"1. {n} x every 1 s for {window}: slots fired / expected",
            "1. lag due → sent, p50",
            "1. lag due → sent, p99",
            "1. duplicates (same schedule + slot sent twice)",
        ],
        ["100 %", "", "≤ 50 ms", "0"],
        steady_cells(ours["steady"]),
        steady_cells(red["steady"]),
        strict=True,
    ):
        rows.append((label, target, a, b))
    sizes = [f"{s // 1000}k" for s in cfg.tick_sizes]
    paused_label = f"{cfg.paused // 1000}k+{cfg.paused // 1000}k paused"
    for size in sizes:
        rows.append(
            (
                f"2. idle tick, {size} schedules (median)",
                "≤ 1 ms, flat",
                tick_cell(ours["idle"], size, ours["idle"].tick_ms[sizes[0]]),
                tick_cell(red["idle"], size, red["idle"].tick_ms[sizes[0]]),
            )
        )
    ref = f"{cfg.paused // 1000}k"
    rows.append(
        (
            f"2. idle tick, {cfg.paused // 1000}k active + {cfg.paused // 1000}k paused",
            "no extra cost",
            tick_cell(ours["idle"], paused_label, ours["idle"].tick_ms.get(ref)),
            tick_cell(red["idle"], paused_label, red["idle"].tick_ms.get(ref)),
        )
    )
    loaded = ours["idle"].loaded
    for label, target, key in [
        (
            f"2. load {loaded // 1000}k schedules (ours: `create_many`; redbeat: `save()` each)",
            "≤ 5 s",
            "load",
        ),
        (f"2. Redis bytes per schedule (used_memory delta / {loaded // 1000}k)", "≤ 500 B", "mem"),
    ]:
        cells = []
        for side in (ours, red):
            idle: Idle = side["idle"]
            if key == "load":
                per = idle.load_s / idle.loaded * 1e6
                cells.append(f"{idle.load_s:.1f} s ({per:.0f} µs each){mark(idle.load_s <= 5)}")
            else:
                cells.append(f"{idle.bytes_per:,.0f} B{mark(idle.bytes_per <= 500)}")
        rows.append((label, target, cells[0], cells[1]))
    rows.append(
        (
            "3. change → obeyed, p99, beat idle",
            "≤ 1 s",
            change_cell(ours["change_idle"], cfg),
            change_cell(red["change_idle"], cfg),
        )
    )
    rows.append(
        (
            "3. change → obeyed, p99, beat busy with a 1 s schedule",
            "≤ 1 s",
            change_cell(ours["change_busy"], cfg),
            change_cell(red["change_busy"], cfg),
        )
    )
    for label, target, a, b in zip(
        [
            "4. kill -9 of the leader → next send by the other replica",
            "4. slots lost between the kill and the takeover",
            "4. duplicates during failover",
        ],
        ["≤ 5 s", "0", "0"],
        failover_cells(ours["failover"], cfg),
        failover_cells(red["failover"], cfg),
        strict=True,
    ):
        rows.append((label, target, a, b))

    redbeat_version = metadata.version("celery-redbeat")
    sett: dict[str, Any] = results["ours_settings"]
    lines = [
        "# Beat scheduler benchmark: ours vs celery-redbeat",
        "",
        f"Generated by `make bench` (bench/beat.py) on {time.strftime('%Y-%m-%d %H:%M %Z')}"
        + (" — **--quick smoke run, numbers not comparable**" if quick else "")
        + ".",
        f"Machine: {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"{results['redis_version']}, celery {metadata.version('celery')}, "
        f"redis-py {metadata.version('redis')}, celery-redbeat {redbeat_version}. "
        f"Both tools against the same private redis-server (started with the platform's "
        f"`hash-max-listpack-value 1024`, as deploy/redis/redis.conf), flushed between phases. "
        f"Whole run: {elapsed_s:.0f} s.",
        "",
        f"| Measurement | Target | Ours (sdp_beat) | celery-redbeat {redbeat_version} |",
        "| --- | --- | --- | --- |",
        *(f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows),
        "",
        "✓ / ✗: meets the target or not.",
        "",
        "## Settings",
        "",
        "- Ours: `python -m sdp_beat` with only `REDIS_URL` and `SDP_BEAT_NODE_NAME` set, so "
        f"the shipped defaults: lock TTL {sett['lock_ttl_s']} s, standby poll "
        f"{sett['standby_poll_s']} s, batch {sett['batch_size']}, "
        f"{sett['runs_kept']} run records kept. Schedules are created "
        "through `ScheduleDefinitions.create` with `max_instances: 100` (the maximum: no worker "
        "consumes the queue here) and, for the failover, misfire `run_all` with a 60 s grace.",
        "- redbeat: `celery beat` with `redbeat.RedBeatScheduler` (subclassed only to record "
        "each send; bench/redbeat_app.py), settings `redbeat_redis_url`, `redbeat_key_prefix` "
        "and `redbeat_redis_options={}` (what 2.4 does anyway; silences a deprecation warning). "
        "Defaults otherwise: `beat_max_loop_interval` unset → 300 s, lock timeout 5 x 300 s = "
        "1,500 s, a standby retries the lock every 300 s. Entries are interval schedules saved "
        'with `RedBeatSchedulerEntry(...).save()`; a "one-off" is an hourly entry whose next '
        "run is the intended time (redbeat has no one-off trigger).",
        "- Both send through the same Celery configuration (sdp_core.celery_config) to the "
        "`system` queue; nothing consumes it.",
        "",
        "## How each number is taken",
        "",
        f"1. Beat starts with the schedules already stored; the window opens {cfg.warmup_s:.0f} s "
        f"after the first send and lasts {window}. A slot counts when its due time falls in the "
        f"window; expected = {n} x {cfg.window_s:.0f}. Ours: run records (slot, fired) and the "
        "broker's messages (duplicates by `sdp_schedule` + `sdp_slot` header); redbeat: "
        "(name, last_run_at + interval, time.time() after sending) pushed by the subclass. "
        "redbeat reschedules from the send time (last_run_at = now), so its grid drifts by its "
        "lag each period and it fires fewer than one slot per second.",
        f"2. In-process, nothing due (interval 1 day): ours `FiringEngine.tick()` holding the "
        f"leader lock; redbeat `RedBeatScheduler.tick()` holding its lock (taken as "
        f"`celery beat` takes it). Median of up to {cfg.tick_samples} ticks or "
        f"{cfg.tick_budget_s:.0f} s of ticking, whichever ends first (n shown when fewer than "
        "50). Paused: ours `enabled: false` (not in the due set); redbeat `enabled=False` "
        "entries whose due time has passed (any entry paused longer than its interval) — they "
        "stay in redbeat's due range, are loaded and checked on every tick, and make beat wake "
        "every 5 s. Load: one client through each tool's public API (ours: "
        "`ScheduleDefinitions.create_many`, which validates every definition against the model and "
        "the job catalogue, then writes 1,000 per Lua call; redbeat has no bulk API: "
        "`entry.save()` each, one MULTI/EXEC).",
        f"3. While beat runs: a schedule due {cfg.change_lead_s * 1000:.0f} ms after it is "
        f"written (ours: trigger `once`), actual send minus intended due; {cfg.change_samples} "
        f"samples, nearest-rank p99 (= max). A sample not sent within {cfg.change_cap_s:.0f} s "
        "is a miss; sampling stops after two. redbeat's beat sleeps until its next known due "
        "time or `beat_max_loop_interval` (300 s), whichever is first, and does not look at new "
        "entries meanwhile: that interval bounds its change latency.",
        f"4. Two replicas, {cfg.failover_schedules} one-second schedules; the leader's process "
        "group gets SIGKILL. Takeover = first send after the kill (necessarily by the other "
        f"replica) minus the kill time; waiting is capped at {cfg.failover_cap_s:.0f} s. "
        "redbeat's standby cannot take over before the dead leader's lock expires (timeout "
        "1,500 s) and only retries every `beat_max_loop_interval` (300 s), so its takeover "
        "would come 25-30 min after the kill; the lock TTL left at the kill is shown instead. "
        "Lost = 1 s grid slots after each schedule's last pre-kill send up to the takeover (or "
        "the cap) that were never sent, checked 3 s after the takeover.",
        "",
        "## Diagnostics",
        "",
    ]
    for side, name in ((ours, "ours"), (red, "redbeat")):
        steady: Steady = side["steady"]
        lines.append(
            f"- {name}, steady: lag p50 {ms(steady.lag_first_p50)} in the window's first 10 s, "
            f"{ms(steady.lag_last_p50)} in its last 10 s; {steady.sent_total:,} sends in all."
        )
    for side, name in ((ours, "ours"), (red, "redbeat")):
        measured: Idle = side["idle"]
        ticks = ", ".join(
            f"{label} {measured.tick_ms[label]:.3f} ms (PING {measured.ping_ms[label]:.3f} ms)"
            for label in measured.tick_ms
        )
        lines.append(
            f"- {name}, idle tick next to the PING round trip measured right after: {ticks}."
        )
    for side, name in ((ours, "ours"), (red, "redbeat")):
        failover: Failover = side["failover"]
        if failover.lock_left_s is not None:
            lines.append(
                f"- {name}, failover: the dead leader's lock had {failover.lock_left_s:,.1f} s "
                "of its TTL left at the kill."
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    given = options(__doc__)
    cfg = QUICK if given.quick else Config()
    began = time.monotonic()
    defaults = BeatSettings()
    results: dict[str, Any] = {
        "ours": {},
        "redbeat": {},
        "ours_settings": {
            "lock_ttl_s": defaults.lock_ttl_s,
            "standby_poll_s": defaults.standby_poll_s,
            "batch_size": defaults.batch_size,
            "runs_kept": defaults.schedule_runs_kept,
        },
    }
    log_dir = Path(tempfile.mkdtemp(prefix="sdp-bench-beat-"))
    ok = False
    try:
        with redis_server() as url, BeatProcesses(log_dir) as procs:
            info = redis.Redis.from_url(url).info("server")
            results["redis_version"] = f"redis-server {info['redis_version']}"
            ours, red = results["ours"], results["redbeat"]
            log(f"1. steady: {cfg.steady_schedules} x 1 s for {cfg.window_s:.0f} s (ours)")
            ours["steady"] = steady_ours(url, procs, cfg)
            log("1. steady (redbeat)")
            red["steady"] = steady_redbeat(url, procs, cfg)
            log("2. idle tick, load, memory (ours)")
            ours["idle"] = idle_ours(url, cfg)
            log("2. idle tick, load, memory (redbeat)")
            red["idle"] = idle_redbeat(url, cfg)
            for busy in (False, True):
                name = "change_busy" if busy else "change_idle"
                log(f"3. change → obeyed, {'busy' if busy else 'idle'} beat (ours)")
                ours[name] = change_ours(url, procs, cfg, busy=busy)
                log(f"3. change → obeyed, {'busy' if busy else 'idle'} beat (redbeat)")
                red[name] = change_redbeat(url, procs, cfg, busy=busy)
            log("4. kill -9 failover (ours)")
            ours["failover"] = failover_ours(url, procs, cfg)
            log("4. kill -9 failover (redbeat)")
            red["failover"] = failover_redbeat(url, procs, cfg)
        ok = True
    finally:
        if not ok:
            log(f"failed; beat logs kept in {log_dir}")
    shutil.rmtree(log_dir, ignore_errors=True)
    report = render(results, cfg, time.monotonic() - began, given.quick)
    publish(report, RESULTS, write=not given.no_write)


if __name__ == "__main__":
    main()
