"""API benchmark: schedule create and list latency on one API process over real HTTP.

Run by ``make bench``; never by ``make test``.  Starts its own ``redis-server`` and one
``python -m sdp_api`` process (uvicorn, one process, access log off), then measures over
keep-alive HTTP connections:

1. Create: sequential ``POST /api/v1/schedules`` latency (p50/p99) and throughput, then the
   throughput with concurrent clients.
2. List at 100k schedules (loaded through the store's bulk create): the first page, pages from
   random cursors, filters by task, by name prefix and by state (1 % paused), and one schedule
   by id, and a filter nothing matches (the worst case: one call's bounded scan); p50/p99 each.
3. Fires: ``POST /api/v1/schedules/preview`` (crontabs in zones and intervals, 5 fires each),
   then ``GET /api/v1/schedules/upcoming`` (the next hour, 100 fires a page) over 100k other
   schedules: daily crontabs in four zones and intervals of 1 to 24 hours, so that with no beat
   running few fall overdue while it is measured (beat keeps none overdue; each one overdue
   costs upcoming a projection); p50/p99 each.

Prints a Markdown table and writes it to ``bench/results-api.md``.  ``--quick`` shrinks every
phase for a smoke run (its numbers are not comparable).
"""

from __future__ import annotations

import os
import platform
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import redis
from benchlib import Latency, Processes, log, mark, must, options, publish, redis_server

from sdp_core.auth import Role, generate_secret, issue_token
from sdp_schedules.definitions import ScheduleDefinitions
from sdp_testing.redis_server import free_port

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results-api.md"
BASE = "/api/v1/schedules"
CREATE_TARGET_MS = 5.0
LIST_TARGET_MS = 20.0
PREVIEW_TARGET_MS = 5.0
UPCOMING_TARGET_MS = 20.0
ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo")


@dataclass(frozen=True)
class Config:
    creates: int = 2_000
    concurrent_clients: int = 8
    concurrent_creates: int = 4_000
    stored: int = 100_000
    paused_share: float = 0.01
    list_samples: int = 300
    page_size: int = 50


QUICK = Config(creates=200, concurrent_creates=400, stored=5_000, list_samples=50)


def document(index: int, *, enabled: bool = True) -> dict[str, Any]:
    task = ("system.noop", "collect.http", "system.sleep")[index % 3]
    kwargs = {"url": f"https://example.org/feed/{index}.json"} if task == "collect.http" else {}
    args = [1] if task == "system.sleep" else []
    return {
        "name": f"feed-{index:07d}",
        "task": task,
        "args": args,
        "kwargs": kwargs,
        "trigger": {"type": "interval", "every": 60 + index % 600, "unit": "seconds"},
        "enabled": enabled,
    }


def timed_trigger(index: int) -> dict[str, Any]:
    """A daily crontab in one of four zones, or an interval of 1 to 24 hours."""
    if index % 2:
        minute, hour = str(index % 60), str(index // 60 % 24)
        return {"type": "crontab", "minute": minute, "hour": hour, "timezone": ZONES[index % 4]}
    return {"type": "interval", "every": 1 + index % 24, "unit": "hours"}


def timed_document(index: int) -> dict[str, Any]:
    return {"name": f"timed-{index:07d}", "task": "system.noop", "trigger": timed_trigger(index)}


def create(http: httpx.Client, index: int) -> float:
    began = time.perf_counter()
    response = http.post(BASE, json=document(index))
    elapsed = time.perf_counter() - began
    if response.status_code != 201:
        raise RuntimeError(f"{response.request.url}: {response.status_code} {response.text[:300]}")
    return elapsed


def client(base_url: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"})


def measure_creates(base_url: str, token: str, cfg: Config) -> dict[str, Latency]:
    results: dict[str, Latency] = {}
    with client(base_url, token) as http:
        began = time.perf_counter()
        samples = [create(http, 10_000_000 + i) for i in range(cfg.creates)]
        results["sequential"] = Latency.of(samples, time.perf_counter() - began)

    per_client = cfg.concurrent_creates // cfg.concurrent_clients

    def burst(worker: int) -> list[float]:
        with client(base_url, token) as http:
            start = 20_000_000 + worker * per_client
            return [create(http, start + i) for i in range(per_client)]

    began = time.perf_counter()
    with ThreadPoolExecutor(cfg.concurrent_clients) as pool:
        samples = [s for part in pool.map(burst, range(cfg.concurrent_clients)) for s in part]
    results["concurrent"] = Latency.of(samples, time.perf_counter() - began)
    return results


def load_store(url: str, documents: Iterable[dict[str, Any]]) -> list[str]:
    definitions = ScheduleDefinitions(redis.Redis.from_url(url))
    began = time.perf_counter()
    ids = definitions.create_many(documents)
    log(f"   loaded {len(ids):,} schedules in {time.perf_counter() - began:.1f} s")
    definitions.client.close()
    return ids


def sample_requests(
    cfg: Config, send: Callable[[int], httpx.Response], check: Callable[[Any], bool]
) -> Latency:
    samples: list[float] = []
    began = time.perf_counter()
    for index in range(cfg.list_samples):
        started = time.perf_counter()
        response = send(index)
        samples.append(time.perf_counter() - started)
        if response.status_code != 200 or not check(response.json()):
            raise RuntimeError(
                f"{response.request.url}: {response.status_code} {response.text[:300]}"
            )
    return Latency.of(samples, time.perf_counter() - began)


def sample_reads(
    http: httpx.Client, paths: Callable[[int], str], cfg: Config, check: Callable[[Any], bool]
) -> Latency:
    return sample_requests(cfg, lambda index: http.get(paths(index)), check)


def full_page(cfg: Config) -> Callable[[Any], bool]:
    return lambda body: len(body["items"]) == cfg.page_size


def measure_lists(base_url: str, token: str, ids: list[str], cfg: Config) -> dict[str, Latency]:
    rng = random.Random(7)
    size = cfg.page_size
    names = [f"feed-{i:07d}" for i in range(cfg.stored)]
    with client(base_url, token) as http:
        http.get(f"{BASE}?limit={size}")  # warm the connection
        return {
            "first page": sample_reads(http, lambda _: f"{BASE}?limit={size}", cfg, full_page(cfg)),
            "page at a random cursor": sample_reads(
                http,
                lambda _: f"{BASE}?limit={size}&cursor={rng.choice(names[: -size * 2])}/",
                cfg,
                full_page(cfg),
            ),
            "filter task=collect.http": sample_reads(
                http, lambda _: f"{BASE}?limit={size}&task=collect.http", cfg, full_page(cfg)
            ),
            "filter name prefix (100 match)": sample_reads(
                http,
                lambda _: f"{BASE}?limit={size}&name=feed-{rng.randrange(cfg.stored // 100):05d}",
                cfg,
                full_page(cfg),
            ),
            f"filter state=paused ({cfg.paused_share:.0%})": sample_reads(
                http, lambda _: f"{BASE}?limit={size}&state=paused", cfg, full_page(cfg)
            ),
            "filter task with no match (worst case: one bounded scan)": sample_reads(
                http,
                lambda _: f"{BASE}?limit={size}&task=system.cleanup",
                cfg,
                lambda body: body["items"] == [] and body["next_cursor"],
            ),
            "one schedule by id": sample_reads(
                http, lambda _: f"{BASE}/{rng.choice(ids)}", cfg, lambda body: "id" in body
            ),
        }


def measure_fires(base_url: str, token: str, cfg: Config) -> dict[str, Latency]:
    with client(base_url, token) as http:
        http.get(f"{BASE}/upcoming")  # warm the connection
        return {
            "preview": sample_requests(
                cfg,
                lambda i: http.post(f"{BASE}/preview", json={"trigger": timed_trigger(i)}),
                lambda body: len(body["fires"]) == 5,
            ),
            "upcoming": sample_reads(
                http, lambda _: f"{BASE}/upcoming", cfg, lambda body: len(body["items"]) == 100
            ),
        }


def render(results: dict[str, Any], cfg: Config, elapsed_s: float, quick: bool) -> str:
    creates: dict[str, Latency] = results["creates"]
    lists: dict[str, Latency] = results["lists"]
    seq, conc = creates["sequential"], creates["concurrent"]
    lines = [
        "# API benchmark: schedules" + (" (--quick: not comparable)" if quick else ""),
        "",
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{results['redis_version']}; one `python -m sdp_api` process (uvicorn, access log off), "
        f"keep-alive HTTP; {elapsed_s:.0f} s in all. Reproduce: `make bench` "
        "(or `uv run python bench/api.py`).",
        "",
        "| measurement | target | p50 | p99 | req/s |",
        "|---|---|---|---|---|",
        f"| create, 1 client ({cfg.creates:,}) | p50 ≤ {CREATE_TARGET_MS:.0f} ms"
        f"{mark(seq.p50_ms <= CREATE_TARGET_MS)} | {seq.p50_ms:.2f} ms | {seq.p99_ms:.2f} ms "
        f"| {seq.per_s:,.0f} |",
        f"| create, {cfg.concurrent_clients} clients ({cfg.concurrent_creates:,}) | — "
        f"| {conc.p50_ms:.2f} ms | {conc.p99_ms:.2f} ms | {conc.per_s:,.0f} |",
    ]
    for name, latency in lists.items():
        target = f"p50 ≤ {LIST_TARGET_MS:.0f} ms{mark(latency.p50_ms <= LIST_TARGET_MS)}"
        what = name if "by id" in name else f"{name} (limit {cfg.page_size})"
        lines.append(
            f"| at {cfg.stored:,} schedules: {what} | {target} "
            f"| {latency.p50_ms:.2f} ms | {latency.p99_ms:.2f} ms | {latency.per_s:,.0f} |"
        )
    fires: dict[str, Latency] = results["fires"]
    for what, latency, target_ms in (
        ("preview (5 fires)", fires["preview"], PREVIEW_TARGET_MS),
        (
            f"upcoming over {cfg.stored:,} schedules (next hour, limit 100)",
            fires["upcoming"],
            UPCOMING_TARGET_MS,
        ),
    ):
        lines.append(
            f"| {what} | p50 ≤ {target_ms:.0f} ms{mark(latency.p50_ms <= target_ms)} "
            f"| {latency.p50_ms:.2f} ms | {latency.p99_ms:.2f} ms | {latency.per_s:,.0f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    given = options(__doc__)
    cfg = QUICK if given.quick else Config()
    began = time.monotonic()
    secret = generate_secret()
    token = issue_token(secret, "bench", Role.operator)
    log_dir = Path(tempfile.mkdtemp(prefix="sdp-bench-api-"))
    results: dict[str, Any] = {}
    with redis_server() as url, Processes(log_dir) as procs:
        version = redis.Redis.from_url(url).info()["redis_version"]
        results["redis_version"] = f"redis-server {version}"
        port = free_port()
        api = procs.start(
            [sys.executable, "-m", "sdp_api"],
            {
                "REDIS_URL": url,
                "SDP_JWT_SECRET": secret,
                "SDP_API_PORT": str(port),
                "SDP_API_LOG_LEVEL": "warning",
            },
            "api",
        )
        base_url = f"http://127.0.0.1:{port}"

        def ready() -> bool:
            if not api.alive():
                raise RuntimeError(f"the API exited:\n{api.log()}")
            try:
                return httpx.get(f"{base_url}/readyz").status_code == 200
            except httpx.HTTPError:
                return False

        must(ready, 30, "the API to answer")
        log(f"1. create: {cfg.creates:,} sequential, {cfg.concurrent_creates:,} concurrent")
        results["creates"] = measure_creates(base_url, token, cfg)
        redis.Redis.from_url(url).flushall()
        log(f"2. list at {cfg.stored:,} schedules")
        paused_every = round(1 / cfg.paused_share)
        ids = load_store(
            url, (document(i, enabled=i % paused_every != 0) for i in range(cfg.stored))
        )
        results["lists"] = measure_lists(base_url, token, ids, cfg)
        redis.Redis.from_url(url).flushall()
        log(f"3. preview, and upcoming over {cfg.stored:,} schedules")
        load_store(url, (timed_document(i) for i in range(cfg.stored)))
        results["fires"] = measure_fires(base_url, token, cfg)
    report = render(results, cfg, time.monotonic() - began, given.quick)
    publish(report, RESULTS, write=not given.no_write)


if __name__ == "__main__":
    main()
