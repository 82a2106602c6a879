import { QueryClient } from "@tanstack/react-query";
import { describe, expect, it, vi } from "vitest";

import type { SseMessage } from "../../api/sse";
import { emptySeries, type Series } from "./live";
import { seriesKey, statusKey, workersKey } from "./queries";
import { backoffMs, cacheApplier, FrameBatcher, type Frames, liveMode } from "./stream";

const NOW = 1_764_770_403;

/** Frames that run only when the test says a frame has come. */
function manualFrames(): Frames & { run(): void; waiting(): number } {
  let callbacks = new Map<number, () => void>();
  let next = 1;
  return {
    request(callback) {
      callbacks.set(next, callback);
      return next++;
    },
    cancel(handle) {
      callbacks.delete(handle);
    },
    run() {
      const due = callbacks;
      callbacks = new Map();
      due.forEach((callback) => callback());
    },
    waiting: () => callbacks.size,
  };
}

function taskMessage(id: string, state: string): SseMessage {
  return {
    event: "task",
    data: JSON.stringify({
      type: "task",
      id,
      state,
      name: "system.noop",
      worker: "w1",
      queue: "system",
      at: NOW,
    }),
  };
}

function seeded(): QueryClient {
  const client = new QueryClient();
  client.setQueryData(statusKey, {
    beat: null,
    beat_running: false,
    enabled: true,
    queues: { system: { pending: 0, processing: 0 } },
    tasks_active: 0,
    tasks_reserved: 0,
    tasks_scheduled: 0,
    workers: ["w1"],
    workers_online: 1,
  });
  client.setQueryData(workersKey, {
    items: [
      {
        name: "w1",
        online: true,
        last_heartbeat: new Date(NOW * 1000).toISOString(),
        pool: "prefork",
        concurrency: 2,
        active: 0,
        processed: 0,
        utilisation: 0,
        loadavg: [],
        queues: ["system"],
        software: null,
        system: null,
        pid: 1,
      },
    ],
  });
  client.setQueryData(seriesKey, emptySeries(NOW));
  return client;
}

describe("FrameBatcher", () => {
  it("hands everything pushed before a frame to one flush, in order", () => {
    const frames = manualFrames();
    const flush = vi.fn();
    const batcher = new FrameBatcher<number>(flush, () => {}, frames);
    for (let index = 0; index < 500; index++) batcher.push([index]);
    expect(frames.waiting()).toBe(1);
    expect(flush).not.toHaveBeenCalled();
    frames.run();
    expect(flush).toHaveBeenCalledTimes(1);
    expect(flush.mock.calls[0]?.[0]).toEqual(Array.from({ length: 500 }, (_, index) => index));
    frames.run();
    expect(flush).toHaveBeenCalledTimes(1);
    batcher.push([1]);
    frames.run();
    expect(flush).toHaveBeenCalledTimes(2);
  });

  it("drops a backlog past its limit and says so, instead of replaying it", () => {
    const frames = manualFrames();
    const flush = vi.fn();
    const overflow = vi.fn();
    const batcher = new FrameBatcher<number>(flush, overflow, frames, 10);
    batcher.push([1, 2, 3, 4, 5, 6]);
    batcher.push([7, 8, 9, 10, 11]);
    batcher.push([12]);
    frames.run();
    expect(overflow).toHaveBeenCalledTimes(1);
    expect(flush).toHaveBeenCalledWith([12]);
  });

  it("flushes nothing once disposed", () => {
    const frames = manualFrames();
    const flush = vi.fn();
    const batcher = new FrameBatcher<number>(flush, () => {}, frames);
    batcher.push([1]);
    batcher.dispose();
    frames.run();
    expect(flush).not.toHaveBeenCalled();
  });
});

describe("cacheApplier", () => {
  it("turns many messages in a frame into one update of each query", () => {
    const client = seeded();
    const frames = manualFrames();
    const batcher = new FrameBatcher(
      cacheApplier(client, () => NOW),
      () => {},
      frames,
    );
    const updates: string[] = [];
    client.getQueryCache().subscribe((event) => {
      if (event.type === "updated") updates.push(String(event.query.queryKey[1]));
    });
    for (let index = 0; index < 250; index++) {
      batcher.push([taskMessage(`t${index}`, "STARTED")]);
      batcher.push([taskMessage(`t${index}`, "SUCCESS"), { event: "task", data: "garbage" }]);
    }
    expect(updates).toEqual([]);
    frames.run();
    expect(updates.sort()).toEqual(["series", "status", "workers"]);
    const series = client.getQueryData<Series>(seriesKey);
    const last = (series?.succeeded.length ?? 0) - 1;
    expect((series?.succeeded[last] ?? 0) * (series?.step_s ?? 0)).toBeCloseTo(250);
  });

  it("touches nothing when a frame brings nothing new", () => {
    const client = seeded();
    const apply = cacheApplier(client, () => NOW);
    apply([]);
    const updates = vi.fn();
    client.getQueryCache().subscribe(updates);
    apply([]);
    apply([{ event: "worker", data: "{}" }]);
    expect(updates).not.toHaveBeenCalled();
  });
});

describe("the indicator's state and the backoff", () => {
  it("is live with the stream, polling without it, disconnected when the polls fail too", () => {
    expect(liveMode(true, false)).toBe("live");
    expect(liveMode(true, true)).toBe("live");
    expect(liveMode(false, false)).toBe("polling");
    expect(liveMode(false, true)).toBe("disconnected");
  });

  it("doubles from 1 s up to 30 s", () => {
    expect([1, 2, 3, 4, 5, 6, 7, 20].map(backoffMs)).toEqual([
      1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000,
    ]);
  });
});
