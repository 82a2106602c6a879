"""Web console benchmark: first-load JavaScript, page timings in Chromium, a busy event stream.

Run by ``make bench``; never by ``make test``.  In one run:

1. Bundle: builds the console (``scripts/web.py build``) and sums the gzip -9 sizes of every
   script and modulepreload that ``dist/index.html`` references (the first load), and of the
   other JavaScript chunks (loaded lazily) separately.
2. Browser: ``playwright test --config web/bench/playwright.config.ts`` in Debian's
   ``/usr/bin/chromium`` against the real platform, which ``web/e2e/global-setup.ts`` starts
   (``scripts/run.py`` on free ports with its own Redis) and stops.  The specs in ``web/bench/``
   write JSON files that this script reads:

   - overview: median of N cold loads (a new browser context each, signed in through the
     ``sdp.token`` sessionStorage entry an init script sets) from navigation start to the first
     animation frame after the heading "Overview" is in the page, and the ``role="status"``
     live indicator too when the page has one;
   - tasks: 100k finished tasks written into the monitor's history through its own writer
     (``seed`` below), then the median of N cold loads of ``/tasks`` until the first row past
     the header; then scrolling through several thousand rows, loading more, with the longest
     long task while it scrolls;
   - events: real Celery task events (task-received, task-started, task-succeeded, sent by
     Celery's event dispatcher on the platform's broker) at a steady 500/s for 20 s
     (``events`` below) with the overview open: its long tasks (PerformanceObserver
     ``longtask``), and the events per second the page and a direct reader of the stream got.

Prints a Markdown table and writes it to ``bench/results-web.md``.  ``--quick`` shrinks every
phase for a smoke run (its numbers are not comparable).  ``seed`` and ``events`` are the helpers
the specs run with the platform's run directory.
"""

from __future__ import annotations

import argparse
import configparser
import contextlib
import gzip
import importlib.util
import json
import os
import platform
import shlex
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from types import ModuleType
from typing import Any

import redis
from benchlib import log, mark, publish

from sdp_core import keys
from sdp_core.celery_config import make_celery
from sdp_core.queues import TaskName
from sdp_core.settings import CommonSettings
from sdp_monitor.history.writer import HistoryWriter

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results-web.md"
CONFIG = "bench/playwright.config.ts"
NOOP = TaskName.system_noop.value

FIRST_LOAD_KB = 200.0
TASKS_FIRST_PAGE_MS = 1_000.0
LONG_TASK_MS = 50.0
FIRST_PAGE = f"≤ {TASKS_FIRST_PAGE_MS:,.0f} ms"
# Tasks per history flush while seeding: a few RECORD calls per pipeline.
SEED_BATCH = 5_000


@dataclass(frozen=True)
class Config:
    loads: int = 15
    history_tasks: int = 100_000
    scroll_rows: int = 5_000
    events_per_s: int = 500
    events_s: float = 20.0


QUICK = Config(loads=3, history_tasks=100_000, scroll_rows=1_000, events_s=5.0)


# -- 1. the bundle ------------------------------------------------------------------------------


def web_tool() -> ModuleType:
    """scripts/web.py (Node, npm and the build), by path: this file is also named web.py."""
    spec = importlib.util.spec_from_file_location("sdp_web_tool", ROOT / "scripts" / "web.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Entry(HTMLParser):
    """The scripts and modulepreloads an HTML page references: what its first load fetches."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "script" and found.get("src"):
            self.urls.append(str(found["src"]))
        elif tag == "link" and found.get("rel") == "modulepreload" and found.get("href"):
            self.urls.append(str(found["href"]))


@dataclass(frozen=True)
class Bundle:
    # Each first-load file (relative to dist/) with its gzip -9 size.
    first: dict[str, int]
    first_bytes: int
    first_gzip: int
    lazy_files: int
    lazy_gzip: int
    css_gzip: int


@contextlib.contextmanager
def npm_to_stderr() -> Iterator[None]:
    """npm's and Playwright's output on stderr, as the bench's log: stdout is the report's."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def gzipped(path: Path) -> int:
    return len(gzip.compress(path.read_bytes(), compresslevel=9))


def bundle(dist: Path) -> Bundle:
    entry = _Entry()
    entry.feed((dist / "index.html").read_text())
    first = {(dist / url.split("?")[0].lstrip("/")).resolve() for url in entry.urls}
    missing = [p for p in first if not p.is_file()]
    if missing:
        raise RuntimeError(f"index.html references files the build lacks: {missing}")
    lazy = {p.resolve() for p in dist.rglob("*.js")} - first
    return Bundle(
        first={str(p.relative_to(dist.resolve())): gzipped(p) for p in sorted(first)},
        first_bytes=sum(p.stat().st_size for p in first),
        first_gzip=sum(gzipped(p) for p in first),
        lazy_files=len(lazy),
        lazy_gzip=sum(gzipped(p) for p in lazy),
        css_gzip=sum(gzipped(p) for p in dist.rglob("*.css")),
    )


# -- helpers the specs run ----------------------------------------------------------------------


def platform_redis(run_dir: Path) -> str:
    """The Redis URL of a platform that scripts/run.py started with a redis-server of its own."""
    config = configparser.ConfigParser(interpolation=None)
    config.read(run_dir / "supervisord.conf")
    if not config.has_section("program:redis"):
        raise SystemExit(f"{run_dir}: the platform runs no redis-server of its own")
    args = shlex.split(config["program:redis"]["command"])
    return f"redis://127.0.0.1:{args[args.index('--port') + 1]}/0"


def seed(run_dir: Path, count: int) -> None:
    """Write `count` finished no-op tasks into the monitor's history, newest now."""
    client = redis.Redis.from_url(platform_redis(run_dir))
    # The monitor's defaults: it trims beyond 100,000 tasks or 7 days.
    writer = HistoryWriter(client, max_tasks=count, max_age_s=7 * 86_400)
    began = now = time.time()
    workers = ("bench-1@localhost", "bench-2@localhost")
    for n in range(count):
        # 10 ms apart, the oldest first, so the newest-first page starts at the last one.
        finished = now - (count - n) * 0.01
        fields = {
            "name": NOOP,
            "worker": workers[n % 2],
            "queue": "system",
            "args": "()",
            "kwargs": "{}",
            "retries": "0",
            "sent_at": repr(finished - 0.004),
            "received_at": repr(finished - 0.003),
            "started_at": repr(finished - 0.002),
            "finished_at": repr(finished),
            "runtime": "0.0015",
            "result": "None",
        }
        writer.add(uuid.uuid4().hex, finished - 0.004, "SUCCESS", fields)
        if len(writer) >= SEED_BATCH:
            writer.flush(everything=True)
    writer.flush(everything=True)
    history = client.zcard(keys.MONITOR_TASKS)
    print(json.dumps({"seeded": count, "history": history, "seconds": time.time() - began}))


def events(run_dir: Path, rate: int, seconds: float) -> None:
    """Send task-received, task-started and task-succeeded at `rate` events/s for `seconds`."""
    url = platform_redis(run_dir)
    app = make_celery("bench_web_events", CommonSettings(redis_url=url))
    replies = app.control.ping(timeout=1.0) or []
    # The platform's worker, so the events come from a worker the monitor knows.
    hostname = next((name for reply in replies for name in reply), "bench-events@localhost")
    sent = 0
    with app.connection_for_write() as conn:
        dispatcher = app.events.Dispatcher(conn, hostname=hostname, enabled=True)
        began = time.monotonic()
        task_id = ""
        while (elapsed := time.monotonic() - began) < seconds:
            due = int(elapsed * rate)
            while sent < due:
                step = sent % 3
                if step == 0:
                    task_id = str(uuid.uuid4())
                    dispatcher.send(
                        "task-received",
                        uuid=task_id,
                        name=NOOP,
                        args="()",
                        kwargs="{}",
                        retries=0,
                        eta=None,
                        expires=None,
                        root_id=task_id,
                        parent_id=None,
                    )
                elif step == 1:
                    dispatcher.send("task-started", uuid=task_id)
                else:
                    dispatcher.send("task-succeeded", uuid=task_id, result="None", runtime=0.001)
                sent += 1
            time.sleep(0.002)
        wall = time.monotonic() - began
        dispatcher.close()
    print(json.dumps({"sent": sent, "seconds": wall, "per_s": sent / wall, "worker": hostname}))


# -- 2. the browser ------------------------------------------------------------------------------


def browser(tool: ModuleType, cfg: Config, out: Path) -> int:
    os.environ.update(
        {
            "SDP_BENCH_OUT": str(out),
            "SDP_BENCH_SCRIPT": str(Path(__file__).resolve()),
            "SDP_BENCH_LOADS": str(cfg.loads),
            "SDP_BENCH_TASKS": str(cfg.history_tasks),
            "SDP_BENCH_SCROLL_ROWS": str(cfg.scroll_rows),
            "SDP_BENCH_RATE": str(cfg.events_per_s),
            "SDP_BENCH_EVENTS_S": str(cfg.events_s),
        }
    )
    with npm_to_stderr():
        status: int = tool.npm("exec", "--", "playwright", "test", "--config", CONFIG, check=False)
    return status


# -- report -------------------------------------------------------------------------------------

Row = tuple[str, str, str, str]


def read(out: Path, name: str) -> dict[str, Any]:
    path = out / f"{name}.json"
    if not path.is_file():
        return {"error": "no result (see the notes below and the Playwright output)"}
    result: dict[str, Any] = json.loads(path.read_text())
    return result


def median_ms(samples: list[float]) -> str:
    middle = statistics.median(samples)
    return f"{middle:,.0f} ms (min {min(samples):,.0f}, max {max(samples):,.0f})"


BREAKDOWN = {
    "fcp": "first contentful paint",
    "scripts": "scripts loaded",
    "firstApi": "first API request sent",
    "api": "last API answer before the render",
    "slowestApi": "slowest API request (duration)",
}


def breakdown_row(page: str, result: dict[str, Any]) -> Row:
    """Medians of where the loads' time went, each from navigation start."""
    parts = []
    for key, label in BREAKDOWN.items():
        values = [b[key] for b in result.get("breakdowns", []) if b.get(key) is not None]
        if values:
            parts.append(f"{label} {statistics.median(values):,.0f} ms")
    return (f"{page} load, medians: where the time went", "; ".join(parts) or "—", "—", "—")


def failed(result: dict[str, Any]) -> str | None:
    error = result.get("error")
    return f"**failed: {str(error).replace('|', '/')[:300]}**" if error else None


def files(count: int) -> str:
    return f"{count} file" + ("" if count == 1 else "s")


def bundle_rows(found: Bundle | str) -> list[Row]:
    if isinstance(found, str):
        return [("first-load JavaScript, gzip -9", f"**failed: {found}**", "≤ 200 KB", "✗")]
    kb = found.first_gzip / 1024
    return [
        (
            f"first-load JavaScript, gzip -9 ({files(len(found.first))}: the scripts and "
            "modulepreloads of index.html)",
            f"{kb:,.1f} KB ({found.first_bytes / 1024:,.0f} KB raw)",
            f"≤ {FIRST_LOAD_KB:.0f} KB",
            mark(kb <= FIRST_LOAD_KB).strip(),
        ),
        (
            f"lazy JavaScript chunks, gzip -9 ({files(found.lazy_files)})",
            f"{found.lazy_gzip / 1024:,.1f} KB",
            "—",
            "—",
        ),
        ("CSS, gzip -9", f"{found.css_gzip / 1024:,.1f} KB", "—", "—"),
    ]


def overview_rows(result: dict[str, Any], cfg: Config) -> list[Row]:
    label = f"overview first render, median of {cfg.loads} cold loads"
    error = failed(result)
    if error:
        return [(label, error, "—", "—")]
    waited = "heading and live indicator" if result.get("status") else "heading; no live indicator"
    return [
        (f"{label} ({waited})", median_ms(result["samples"]), "—", "—"),
        breakdown_row("overview", result),
    ]


def tasks_rows(result: dict[str, Any], cfg: Config) -> list[Row]:
    seeded = result.get("seed", {})
    history = int(seeded.get("history", cfg.history_tasks))
    label = f"tasks page first row, {history:,} tasks in the history"
    error = failed(result)
    if error:
        return [(f"{label}, median of {cfg.loads} cold loads", error, FIRST_PAGE, "✗")]
    ms = statistics.median(result["samples"])
    rows: list[Row] = [
        (
            f"{label}, median of {len(result['samples'])} cold loads",
            median_ms(result["samples"]),
            FIRST_PAGE,
            mark(ms <= TASKS_FIRST_PAGE_MS).strip(),
        )
    ]
    rows.append(breakdown_row("tasks page", result))
    scroll = result.get("scroll") or {}
    if scroll.get("error"):
        rows.append(("tasks page scroll", f"**failed: {scroll['error']}**", "—", "—"))
    elif scroll:
        longest = float(scroll["longest_ms"])
        rows.append(
            (
                f"tasks page scrolled through {scroll['rows']:,} rows in {scroll['seconds']:.1f} s "
                f"(asked {cfg.scroll_rows:,}): longest long task",
                f"{longest:,.0f} ms ({scroll['over']} over {LONG_TASK_MS:.0f} ms)",
                f"≤ {LONG_TASK_MS:.0f} ms",
                mark(longest <= LONG_TASK_MS).strip(),
            )
        )
    return rows


def events_rows(result: dict[str, Any], cfg: Config) -> list[Row]:
    label = f"overview with {cfg.events_per_s} task events/s for {cfg.events_s:.0f} s"
    error = failed(result)
    if error:
        return [(label, error, "0", "✗")]
    over, longest = int(result["over"]), float(result["longest_ms"])
    sent = result["sent"]
    return [
        (
            f"{label}: long tasks over {LONG_TASK_MS:.0f} ms (longest)",
            f"{over} ({longest:,.0f} ms)",
            "0",
            mark(over == 0).strip(),
        ),
        ("events sent by the dispatcher", f"{sent['per_s']:,.0f}/s ({sent['sent']:,})", "—", "—"),
        (
            "events/s on the stream while sending: a direct reader / the page",
            f"{result['stream_per_s']:,.0f} / {result['page_per_s']:,.0f} "
            f"({result['stream_events']:,} / {result['page_events']:,} messages"
            + ("; the page opened no event stream)" if not result["page_streams"] else ")"),
            "—",
            "—",
        ),
    ]


def render(rows: list[Row], cfg: Config, elapsed_s: float, quick: bool, notes: list[str]) -> str:
    chromium = os.environ.get("SDP_CHROMIUM", "/usr/bin/chromium")
    lines = [
        "# Web console benchmark" + (" (--quick: a smoke run, not comparable)" if quick else ""),
        "",
        f"Generated by `make bench` (bench/web.py) on {time.strftime('%Y-%m-%d %H:%M %Z')}. "
        f"{platform.machine()}, {os.cpu_count()} cores, headless {chromium} against "
        f"`scripts/run.py` on free ports. Whole run: {elapsed_s / 60:.1f} min. "
        "Reproduce: `make bench` (or `uv run python bench/web.py`).",
        "",
        "| Metric | Value | Target | Met? |",
        "| --- | --- | --- | --- |",
        *(f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows),
        "",
        "## How",
        "",
        "- Times are from navigation start (`performance.timeOrigin`) to the first animation "
        "frame after what is waited for is in the DOM, read in the page by a MutationObserver "
        "an init script installs; Playwright then checks the same element by role. Each load "
        "is cold: a new browser context (empty cache), signed in by an init script that puts "
        "an admin token into sessionStorage (`sdp.token`).",
        "- Overview: waits for the heading named Overview, and for the live indicator when a "
        'first, unmeasured load showed one within 5 s (the `role="status"` named Updates, '
        'else any `role="status"` or `<output>`). Each measurement also takes one unmeasured '
        "load first, so the services' first answers after start-up are not in it.",
        '- Tasks: waits for the first `role="row"` (or `<tr>`) that holds no column header and '
        "shows a `system.noop` task (so no loading or empty-state row counts). "
        f"The history holds {cfg.history_tasks:,} finished `system.noop` tasks written through "
        "the monitor's `HistoryWriter` into the platform's Redis. Scrolling: the scroll "
        'container of the rows (or the page) scrolled a screen at a time, a "load more" button '
        "clicked when there is one; rows counted from the task-list responses' items.",
        "- Events: Celery's event dispatcher on the platform's broker, as the worker's "
        "hostname, sends task-received, task-started and task-succeeded in turn at a steady "
        "rate; long tasks (PerformanceObserver `longtask`) counted from the sender's start (a "
        "Python process starting) to a second after its last event; rates are over the "
        "seconds it sent. The page's events are the `data:` lines of "
        "`/api/v1/celery/events` responses it read (counted by wrapping `fetch`); the direct "
        "reader is a `fetch` in the spec's Node process. The monitor coalesces a task's "
        "changes, so the stream carries fewer events than were sent.",
        *notes,
    ]
    return "\n".join(lines) + "\n"


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--no-write", action="store_true", help="do not write the results file")
    helpers = parser.add_subparsers(dest="helper", help="what the specs run")
    seeding = helpers.add_parser("seed", help="finished tasks into the monitor's history")
    seeding.add_argument("run_dir", type=Path)
    seeding.add_argument("count", type=int)
    sending = helpers.add_parser("events", help="task events at a steady rate")
    sending.add_argument("run_dir", type=Path)
    sending.add_argument("rate", type=int)
    sending.add_argument("seconds", type=float)
    return parser.parse_args()


def main() -> None:
    given = parse()
    if given.helper == "seed":
        seed(given.run_dir, given.count)
        return
    if given.helper == "events":
        events(given.run_dir, given.rate, given.seconds)
        return
    cfg = QUICK if given.quick else Config()
    began = time.monotonic()
    tool = web_tool()
    log("1. build and bundle sizes")
    found: Bundle | str
    try:
        with npm_to_stderr():
            dist = tool.ensure_built()
        found = bundle(dist)
    except (RuntimeError, SystemExit, OSError) as exc:
        found = str(exc)
    out = Path(tempfile.mkdtemp(prefix="sdp-bench-web-"))
    chromium = os.environ.get("SDP_CHROMIUM", tool.CHROMIUM)
    notes: list[str] = []
    if Path(chromium).is_file():
        log(f"2. {chromium} against the platform; results in {out}")
        if (status := browser(tool, cfg, out)) != 0:
            notes.append(f"- Playwright exited with {status}: a spec failed.")
    else:
        log(f"2. skipped: no browser at {chromium}")
        notes.append(f"- No browser at {chromium}: `apt-get install chromium` (or SDP_CHROMIUM).")
    if isinstance(found, Bundle):
        files = ", ".join(f"`{name}` {size / 1024:,.1f} KB" for name, size in found.first.items())
        notes.append(f"- First load (gzip -9): {files}.")
    tasks = read(out, "tasks")
    if "seed" in tasks:
        seeded = tasks["seed"]
        notes.append(
            f"- Seeding: {seeded['seeded']:,} tasks written in {seeded['seconds']:.1f} s; "
            f"the history then held {seeded['history']:,}."
        )
    rows = [
        *bundle_rows(found),
        *overview_rows(read(out, "overview"), cfg),
        *tasks_rows(tasks, cfg),
        *events_rows(read(out, "events"), cfg),
    ]
    shutil.rmtree(out, ignore_errors=True)
    report = render(rows, cfg, time.monotonic() - began, given.quick, notes)
    publish(report, RESULTS, write=not given.no_write)


if __name__ == "__main__":
    main()
