/**
 * The console's measurements in Chromium against the real platform; bench/web.py runs them and
 * reads the JSON each test writes into SDP_BENCH_OUT (a test that fails writes its error).
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";

import type { Browser, BrowserContext, Page } from "@playwright/test";

import { expect, test, token } from "../e2e/fixtures";
import { PYTHON, ROOT, platform } from "../e2e/platform";

const OUT = process.env.SDP_BENCH_OUT ?? path.join(ROOT, "web", "test-results", "bench");
const SCRIPT = process.env.SDP_BENCH_SCRIPT ?? path.join(ROOT, "bench", "web.py");
const LOADS = Number(process.env.SDP_BENCH_LOADS ?? 5);
const TASKS = Number(process.env.SDP_BENCH_TASKS ?? 100_000);
const SCROLL_ROWS = Number(process.env.SDP_BENCH_SCROLL_ROWS ?? 5_000);
const RATE = Number(process.env.SDP_BENCH_RATE ?? 500);
const EVENTS_S = Number(process.env.SDP_BENCH_EVENTS_S ?? 20);

const LONG_TASK_MS = 50;
// One load that takes longer than this is a failure, not a sample.
const LOAD_TIMEOUT_MS = 15_000;
// The seeded tasks' name: a row showing it is a task, not a header, placeholder or empty state.
const TASK_NAME = "system.noop";
// A scroll that loads nothing new for this long has reached the end (or the page cannot).
const STALL_MS = 10_000;
const SCROLL_BUDGET_MS = 180_000;

type Target = "overview" | "tasks";

interface Probe {
  token: string;
  target: Target;
  /** The overview's live indicator (a role="status" element), when it has one; else "". */
  status: string;
  taskName: string;
}

interface LongTask {
  start: number;
  duration: number;
}

/** What the init script keeps on `window.__bench`. */
interface BenchState {
  /** performance.now() of the first animation frame after the target was in the DOM. */
  ready: number | null;
  longTasks: LongTask[];
  /** `data:` lines read from event-stream responses. */
  events: number;
  /** Event-stream responses the page opened. */
  streams: number;
}

declare global {
  interface Window {
    __bench: BenchState;
  }
}

/**
 * Runs in the page before its scripts: signs in, records long tasks, counts the event stream's
 * messages, and notes when the target first appears. Serialised by Playwright: self-contained.
 */
function install(probe: Probe): void {
  sessionStorage.setItem("sdp.token", probe.token);
  const state: BenchState = { ready: null, longTasks: [], events: 0, streams: 0 };
  window.__bench = state;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      state.longTasks.push({ start: entry.startTime, duration: entry.duration });
    }
  }).observe({ type: "longtask", buffered: true });

  const original = window.fetch.bind(window);
  async function count(body: ReadableStream<Uint8Array>): Promise<void> {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let rest = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      const lines = (rest + decoder.decode(value, { stream: true })).split("\n");
      rest = lines.pop() ?? "";
      state.events += lines.filter((line) => line.startsWith("data:")).length;
    }
  }
  window.fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const response = await original(input, init);
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    if (!url.includes("/api/v1/celery/events") || !response.body) return response;
    state.streams += 1;
    const [mine, theirs] = response.body.tee();
    void count(mine).catch(() => undefined);
    return new Response(theirs, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };

  function headingNamed(name: string): boolean {
    const headings = document.querySelectorAll("h1, h2, h3, h4, h5, h6, [role=heading]");
    return Array.from(headings).some((element) => element.textContent?.trim() === name);
  }
  function present(): boolean {
    if (probe.target === "overview") {
      return (
        headingNamed("Overview") &&
        (probe.status === "" || document.querySelector(probe.status) !== null)
      );
    }
    // A row past the header: one that holds no column header and shows a task.
    const rows = document.querySelectorAll("[role=row], tr");
    return Array.from(rows).some(
      (row) =>
        row.querySelector("th, [role=columnheader]") === null &&
        (row.textContent ?? "").includes(probe.taskName),
    );
  }
  const observer = new MutationObserver(() => {
    if (state.ready !== null || !present()) return;
    observer.disconnect();
    requestAnimationFrame(() => {
      state.ready = performance.now();
    });
  });
  observer.observe(document, { childList: true, subtree: true, characterData: true });
}

function firstLine(error: unknown): string {
  return error instanceof Error ? (error.message.split("\n")[0] ?? "") : String(error);
}

/** Write one test's result, or its error, for bench/web.py; an error fails the test too. */
async function record(
  name: string,
  measure: () => Promise<Record<string, unknown>>,
): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const file = path.join(OUT, `${name}.json`);
  try {
    writeFileSync(file, JSON.stringify(await measure()));
  } catch (error) {
    writeFileSync(file, JSON.stringify({ error: firstLine(error) }));
    throw error;
  }
}

async function open(
  browser: Browser,
  probe: Probe,
): Promise<{ context: BrowserContext; page: Page }> {
  // A new context each time: an empty cache and storage, as a first visit.
  const context = await browser.newContext({ baseURL: platform().web });
  await context.addInitScript(install, probe);
  return { context, page: await context.newPage() };
}

function overviewReady(page: Page) {
  return page.getByRole("heading", { name: "Overview", exact: true });
}

function firstTaskRow(page: Page) {
  return page
    .getByRole("row")
    .filter({ hasNot: page.getByRole("columnheader") })
    .filter({ hasText: TASK_NAME })
    .first();
}

const WAITED_FOR: Record<Target, string> = {
  overview: "the heading Overview (and the live indicator)",
  tasks: `a table row showing a ${TASK_NAME} task`,
};

/** Milliseconds from navigation start until the target was rendered. */
async function readyAt(page: Page, target: Target): Promise<number> {
  try {
    const ready = await page.waitForFunction(() => window.__bench.ready, null, {
      timeout: LOAD_TIMEOUT_MS,
    });
    return Number(await ready.jsonValue());
  } catch (error) {
    const waited = `${WAITED_FOR[target]}: not shown within ${LOAD_TIMEOUT_MS / 1000} s`;
    throw new Error(`${waited} at ${page.url()}`, { cause: error });
  }
}

/** Where a load's time went: ms from navigation start (null: none such). */
interface Breakdown {
  fcp: number | null;
  /** The last script's response end. */
  scripts: number | null;
  /** When the first API request started. */
  firstApi: number | null;
  /** The last API response that ended before the render, and the slowest of those. */
  api: number | null;
  slowestApi: number | null;
}

async function breakdown(page: Page, ready: number): Promise<Breakdown> {
  return page.evaluate((before) => {
    const resources = performance.getEntriesByType("resource") as PerformanceResourceTiming[];
    const scripts = resources.filter((r) => new URL(r.name).pathname.endsWith(".js"));
    const api = resources.filter((r) => r.name.includes("/api/v1/") && r.responseEnd <= before);
    const latest = (list: PerformanceResourceTiming[]) =>
      list.length ? Math.max(...list.map((r) => r.responseEnd)) : null;
    return {
      fcp: performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? null,
      scripts: latest(scripts),
      firstApi: api.length ? Math.min(...api.map((r) => r.startTime)) : null,
      api: latest(api),
      slowestApi: api.length ? Math.max(...api.map((r) => r.duration)) : null,
    };
  }, ready);
}

async function longTasksSince(page: Page, since: number): Promise<LongTask[]> {
  return page.evaluate((from) => window.__bench.longTasks.filter((t) => t.start >= from), since);
}

function summary(tasks: LongTask[]): { longest_ms: number; over: number; count: number } {
  return {
    longest_ms: Math.max(0, ...tasks.map((t) => t.duration)),
    over: tasks.filter((t) => t.duration > LONG_TASK_MS).length,
    count: tasks.length,
  };
}

/** Cold loads of `url`; the first is a warm-up of the platform, not counted. */
async function coldLoads(
  browser: Browser,
  probe: Probe,
  url: string,
  check: (page: Page) => Promise<void>,
): Promise<{ samples: number[]; breakdowns: Breakdown[] }> {
  const samples: number[] = [];
  const breakdowns: Breakdown[] = [];
  for (let n = 0; n <= LOADS; n++) {
    const { context, page } = await open(browser, probe);
    try {
      await page.goto(url);
      const at = await readyAt(page, probe.target);
      await check(page);
      if (n === 0) continue;
      samples.push(at);
      breakdowns.push(await breakdown(page, at));
    } finally {
      await context.close();
    }
  }
  return { samples, breakdowns };
}

function python(args: string[]): string {
  return execFileSync(PYTHON, [SCRIPT, ...args], { cwd: ROOT, encoding: "utf8" });
}

function probeFor(target: Target): Probe {
  return { token: token("admin"), target, status: "", taskName: TASK_NAME };
}

/**
 * The overview's live indicator as a selector: the status named "Updates", else any
 * role="status" (or <output>) that shows within 5 s; "" when there is none.
 */
async function liveIndicator(page: Page): Promise<string> {
  const shows = (selector: string) =>
    page
      .locator(selector)
      .first()
      .waitFor({ timeout: 5_000 })
      .then(
        () => true,
        () => false,
      );
  for (const selector of ['[role=status][aria-label="Updates"]', "[role=status], output"]) {
    if (await shows(selector)) return selector;
  }
  return "";
}

test("overview first render", async ({ browser }) => {
  await record("overview", async () => {
    const probe = probeFor("overview");
    // Whether this overview has a live indicator: then a load is ready when it shows too.
    const { context, page } = await open(browser, probe);
    await page.goto("/");
    await expect(overviewReady(page)).toBeVisible({ timeout: LOAD_TIMEOUT_MS });
    probe.status = await liveIndicator(page);
    await context.close();
    const loads = await coldLoads(browser, probe, "/", async (loaded) => {
      await expect(overviewReady(loaded)).toBeVisible();
      if (probe.status) await expect(loaded.locator(probe.status).first()).toBeVisible();
    });
    return { ...loads, status: probe.status };
  });
});

/** The tasks the page has fetched, from the task-list responses' items; listen before loading. */
function countFetchedRows(page: Page): () => number {
  let fetched = 0;
  page.on("response", (response) => {
    if (!/\/api\/v1\/celery\/tasks(\?|$)/.test(response.url()) || !response.ok()) return;
    response
      .json()
      .then((body: { items?: unknown[] }) => {
        fetched += body.items?.length ?? 0;
      })
      .catch(() => undefined);
  });
  return () => fetched;
}

/** Scroll the rows' container (or the page) a screen at a time, loading more, until `rows`. */
async function scrollThrough(
  page: Page,
  fetched: () => number,
  rows: number,
): Promise<Record<string, unknown>> {
  const more = page.getByRole("button", { name: /load more/i });
  const began = await page.evaluate(() => performance.now());
  const startedAt = Date.now();
  let lastProgress = Date.now();
  let lastSeen = "";
  const going = () =>
    fetched() < rows &&
    Date.now() - lastProgress < STALL_MS &&
    Date.now() - startedAt < SCROLL_BUDGET_MS;
  while (going()) {
    const position = await page.evaluate((name) => {
      const row = Array.from(document.querySelectorAll("[role=row], tr")).find((element) =>
        (element.textContent ?? "").includes(name),
      );
      let box: Element | null = row ?? null;
      while (box && box !== document.body) {
        const overflow = getComputedStyle(box).overflowY;
        const scrolls = overflow === "auto" || overflow === "scroll";
        if (scrolls && box.scrollHeight > box.clientHeight) break;
        box = box.parentElement;
      }
      const scroller =
        box && box !== document.body ? box : (document.scrollingElement ?? document.body);
      scroller.scrollTop += scroller.clientHeight;
      return new Promise<string>((resolve) =>
        requestAnimationFrame(() => resolve(`${scroller.scrollTop}/${scroller.scrollHeight}`)),
      );
    }, TASK_NAME);
    if (await more.first().isVisible()) await more.first().click();
    const seen = `${position}:${fetched()}`;
    if (seen !== lastSeen) lastProgress = Date.now();
    lastSeen = seen;
  }
  const tasks = await longTasksSince(page, began);
  return { rows: fetched(), seconds: (Date.now() - startedAt) / 1000, ...summary(tasks) };
}

test("tasks page over a large history", async ({ browser }) => {
  await record("tasks", async () => {
    const seeding = python(["seed", platform().runDir, String(TASKS)]);
    const seed = JSON.parse(seeding) as Record<string, number>;
    const probe = probeFor("tasks");
    const loads = await coldLoads(browser, probe, "/tasks", async (page) => {
      await expect(firstTaskRow(page)).toBeVisible();
    });
    const { context, page } = await open(browser, probe);
    let scroll: Record<string, unknown>;
    try {
      const fetched = countFetchedRows(page);
      await page.goto("/tasks");
      await readyAt(page, "tasks");
      scroll = await scrollThrough(page, fetched, SCROLL_ROWS);
    } catch (error) {
      scroll = { error: firstLine(error) };
    } finally {
      await context.close();
    }
    return { ...loads, seed, scroll };
  });
});

/** Count the stream's `data:` lines as a client of the console's origin reads them. */
function readStream(): { count: () => number; stop: () => void } {
  const abort = new AbortController();
  let events = 0;
  void (async () => {
    const response = await fetch(`${platform().web}/api/v1/celery/events`, {
      headers: { Authorization: `Bearer ${token("admin")}`, Accept: "text/event-stream" },
      signal: abort.signal,
    });
    if (!response.body) return;
    const decoder = new TextDecoder();
    let rest = "";
    const reader = response.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      const lines = (rest + decoder.decode(value, { stream: true })).split("\n");
      rest = lines.pop() ?? "";
      events += lines.filter((line) => line.startsWith("data:")).length;
    }
  })().catch(() => undefined);
  return { count: () => events, stop: () => abort.abort() };
}

function sendEvents(): Promise<{ sent: number; seconds: number; per_s: number; worker: string }> {
  return new Promise((resolve, reject) => {
    const args = [SCRIPT, "events", platform().runDir, String(RATE), String(EVENTS_S)];
    const child = spawn(PYTHON, args, { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    child.on("error", reject);
    child.on("exit", (code) => {
      if (code === 0) resolve(JSON.parse(out.trim().split("\n").pop() ?? "{}"));
      else reject(new Error(`the event sender exited with ${code}`));
    });
  });
}

test("overview under 500 task events/s", async ({ browser }) => {
  await record("events", async () => {
    const probe = probeFor("overview");
    const { context, page } = await open(browser, probe);
    const stream = readStream();
    try {
      await page.goto("/");
      await readyAt(page, "overview");
      await expect(overviewReady(page)).toBeVisible();
      // The page's first requests and the stream's opening snapshot settle first.
      await page.waitForTimeout(2_000);
      const before = await page.evaluate(() => ({
        at: performance.now(),
        events: window.__bench.events,
      }));
      const streamBefore = stream.count();
      const sent = await sendEvents();
      // The monitor publishes its coalesced changes a moment after they arrive.
      await page.waitForTimeout(1_000);
      const after = await page.evaluate(() => ({
        at: performance.now(),
        events: window.__bench.events,
        streams: window.__bench.streams,
      }));
      // From the sender's start (a Python process starting) to a second after its last event.
      const tasks = (await longTasksSince(page, before.at)).filter((t) => t.start <= after.at);
      const pageEvents = after.events - before.events;
      const streamEvents = stream.count() - streamBefore;
      return {
        sent,
        ...summary(tasks),
        page_events: pageEvents,
        page_streams: after.streams,
        stream_events: streamEvents,
        // Over the seconds the sender sent: the stream is quiet before and after.
        page_per_s: pageEvents / sent.seconds,
        stream_per_s: streamEvents / sent.seconds,
      };
    } finally {
      stream.stop();
      await context.close();
    }
  });
});
