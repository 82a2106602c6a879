import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen, waitFor, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { login } from "../../auth/session";
import { fakeToken } from "../../test/tokens";

// The clients keep the fetch they were made with: this one asks `route`, which each test sets.
type Route = (url: URL, init?: RequestInit) => Response | Promise<Response>;
const fake = vi.hoisted(() => ({ route: null as Route | null }));
vi.hoisted(() => {
  globalThis.fetch = (input: RequestInfo | URL, init?: RequestInit) => {
    const request = input instanceof Request ? input : null;
    const url = new URL(request ? request.url : String(input), "http://localhost");
    if (!fake.route) throw new Error("no route set");
    return Promise.resolve(fake.route(url, request ? { headers: request.headers } : init));
  };
});

// uPlot draws on a canvas, which jsdom has not: a stand-in keeps the data it is given.
const plots = vi.hoisted(() => ({ data: [] as unknown[][] }));
vi.mock("uplot", () => ({
  default: class {
    constructor(_options: unknown, data: unknown[]) {
      plots.data.push(data);
    }
    setData(data: unknown[]) {
      plots.data.push(data);
    }
    setSize() {}
    destroy() {}
  },
}));
vi.stubGlobal(
  "ResizeObserver",
  class {
    observe() {}
    disconnect() {}
  },
);

const { OverviewPage } = await import("./OverviewPage");

// 1 s into a step; only Date is frozen, the timers run.
const NOW_S = 1_764_770_401;

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json" },
  });
}

const STATUS = {
  beat: null,
  beat_running: true,
  enabled: true,
  queues: {
    collect: { pending: 0, processing: 0 },
    etl: { pending: 4, processing: 1 },
    system: { pending: 0, processing: 0 },
  },
  tasks_active: 1,
  tasks_reserved: 2,
  tasks_scheduled: 3,
  workers: ["celery@w1"],
  workers_online: 1,
};

const WORKERS = {
  items: [
    {
      name: "celery@w1",
      online: true,
      last_heartbeat: new Date().toISOString(),
      pool: "prefork",
      concurrency: 4,
      active: 1,
      processed: 41,
      utilisation: 0.25,
      loadavg: [0, 0, 0],
      queues: ["collect", "etl", "system"],
      software: null,
      system: null,
      pid: 1,
    },
  ],
};

const SERIES = {
  step_s: 5,
  t: [NOW_S - 16, NOW_S - 11, NOW_S - 6],
  succeeded: [5, 1, 0.4],
  failed: [0, 0, 0.2],
  queues: { etl: [2, 3, 4] },
};

const SCHEDULER = {
  engine: "celery",
  healthy: true,
  last_tick_age_s: 1.5,
  leader: "beat-1:42",
  schedules_active: 7,
  schedules_finished: 0,
  schedules_paused: 2,
  schedules_set_aside: 0,
  this_replica_leads: false,
};

/** An event stream the test writes to and ends. */
function eventStream() {
  const encoder = new TextEncoder();
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({
    start(started) {
      controller = started;
    },
  });
  return {
    response: () =>
      new Response(body, { status: 200, headers: { "Content-Type": "text/event-stream" } }),
    send: (event: string, data: unknown) =>
      controller.enqueue(encoder.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)),
    end: () => controller.close(),
  };
}

interface Answers {
  status?: () => Response;
  events?: () => Response | Promise<Response>;
}

function serve(answers: Answers = {}): { authorization: (string | null)[] } {
  const seen: { authorization: (string | null)[] } = { authorization: [] };
  fake.route = (url, init) => {
    switch (url.pathname) {
      case "/api/v1/celery/status":
        return answers.status ? answers.status() : json(STATUS);
      case "/api/v1/celery/workers":
        return json(WORKERS);
      case "/api/v1/celery/series":
        return json(SERIES);
      case "/api/v1/celery/flower/url":
        return json({ enabled: true, url: "http://127.0.0.1:5507" });
      case "/api/v1/scheduler/status":
        return json(SCHEDULER);
      case "/api/v1/celery/events":
        seen.authorization.push(new Headers(init?.headers).get("Authorization"));
        expect(url.search).toBe("");
        return answers.events ? answers.events() : new Promise<Response>(() => {});
      default:
        return json({ error: { code: "not_found", message: "no such path" } }, 404);
    }
  };
  return seen;
}

function renderPage() {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  render(
    <QueryClientProvider client={client}>
      <OverviewPage />
    </QueryClientProvider>,
  );
  return client;
}

function chart(): HTMLElement {
  return screen.getByRole("img", { name: /^Tasks over the last 15 minutes/ });
}

function counter(name: string): HTMLElement {
  return screen.getByRole("group", { name });
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(NOW_S * 1000);
  login(fakeToken("admin"));
});

afterEach(() => {
  vi.useRealTimers();
  fake.route = null;
});

// Role queries over the whole page are slow in jsdom.
describe("OverviewPage", { timeout: 20_000 }, () => {
  it("shows the counters, workers, queues, beat, chart words and the Flower link", async () => {
    serve();
    renderPage();
    await waitFor(() => expect(counter("Workers online")).toHaveTextContent("1"));
    expect(counter("Tasks active")).toHaveTextContent("1");
    expect(counter("Tasks reserved")).toHaveTextContent("2");
    expect(counter("Tasks scheduled")).toHaveTextContent("3");
    await waitFor(() => expect(counter("Processed")).toHaveTextContent("41"));
    expect(await screen.findByRole("group", { name: "Leader" })).toHaveTextContent("beat-1:42");
    expect(counter("Schedules active")).toHaveTextContent("7");
    expect(counter("Schedules paused")).toHaveTextContent("2");
    expect(counter("Beat")).toHaveTextContent("running");

    const meter = screen.getByRole("meter", { name: "Utilisation of celery@w1" });
    expect(meter).toHaveAttribute("value", "0.25");
    const queues = screen.getByRole("table", { name: "Queue lengths" });
    for (const name of ["collect", "etl", "system"]) {
      expect(within(queues).getByRole("rowheader", { name })).toBeInTheDocument();
    }
    const etl = within(queues).getByRole("row", { name: /etl/ });
    expect(etl).toHaveTextContent("41");
    await waitFor(() =>
      expect(chart()).toHaveAccessibleName(
        // The oldest step dropped as the series moved on to the step under way.
        "Tasks over the last 15 minutes: 7 succeeded, 1 failed; latest 5 s: 0.4 succeeded and 0.2 failed per second. " +
          "Queue depth: collect 0, etl 4, system 0.",
      ),
    );

    const flower = await screen.findByRole("link", { name: /Flower/ });
    expect(flower).toHaveAttribute("href", "http://127.0.0.1:5507");
    expect(flower).toHaveAttribute("target", "_blank");
    expect(flower.getAttribute("rel")).toContain("noopener");
    expect(screen.getByRole("status")).toHaveTextContent("Polling");
  });

  it("goes live on the stream, applies its events, and falls back to polling when it ends", async () => {
    const streams = [eventStream(), eventStream()];
    const stream = streams[0]!;
    let connects = 0;
    const seen = serve({ events: () => streams[connects++]!.response() });
    renderPage();
    await waitFor(() => expect(screen.getByRole("status")).toHaveTextContent("Live"));
    expect(seen.authorization[0]).toMatch(/^Bearer /);
    await waitFor(() => expect(counter("Processed")).toHaveTextContent("41"));

    stream.send("worker", { name: "celery@w1", online: true, processed: 60, loadavg: [0, 0, 0] });
    stream.send("task", {
      id: "a",
      state: "SUCCESS",
      name: "system.noop",
      worker: "celery@w1",
      queue: "system",
      at: Date.now() / 1000,
    });
    await waitFor(() => expect(counter("Processed")).toHaveTextContent("60"));
    await waitFor(() => expect(chart()).toHaveAccessibleName(/ 8 succeeded, 1 failed;/));
    // The canvas was given the same numbers: the step under way has the task that succeeded.
    // The canvas is redrawn at most once a second: it gets there a moment later.
    await waitFor(() => expect(plots.data.at(-1)?.[1]).toEqual([1, 0.4, 0.2]), { timeout: 3_000 });
    expect(plots.data.at(-1)?.[0]).toHaveLength(3);

    stream.end();
    await waitFor(() => expect(screen.getByRole("status")).toHaveTextContent("Polling"));
    // Asked again after the first backoff step (1 s), with the header again.
    await waitFor(() => expect(screen.getByRole("status")).toHaveTextContent("Live"), {
      timeout: 3_000,
    });
    expect(seen.authorization).toHaveLength(2);
    expect(seen.authorization[1]).toMatch(/^Bearer /);
  });

  it("keeps the page working when one query fails, and says disconnected when nothing answers", async () => {
    serve({
      status: () =>
        json({ error: { code: "unavailable", message: "Redis is not answering" } }, 503),
      events: () => json({ error: { code: "unavailable", message: "down" } }, 503),
    });
    renderPage();
    const cluster = screen.getByRole("region", { name: "Cluster" });
    expect(await within(cluster).findByRole("alert")).toHaveTextContent("Redis is not answering");
    await waitFor(() => expect(screen.getByRole("status")).toHaveTextContent("Disconnected"));
    // The workers come from another read, and still show.
    expect(
      await screen.findByRole("meter", { name: "Utilisation of celery@w1" }),
    ).toBeInTheDocument();
  });
});
