/**
 * The monitor's event stream kept open while the overview is shown, its messages applied to
 * the query cache once per animation frame, and reconnected with a capped backoff when it ends.
 */
import { notifyManager, type QueryClient, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";

import { authHeaders, observe } from "../../api/client";
import { readEventStream, type SseMessage, StreamHttpError } from "../../api/sse";
import {
  applyEvents,
  type CeleryStatus,
  emptySeries,
  type LiveEvent,
  type LiveSnapshot,
  parseEvent,
  type Series,
  type WorkerList,
} from "./live";
import { seriesKey, statusKey, workersKey } from "./queries";

export const EVENTS_URL = "/api/v1/celery/events";

export interface Frames {
  request(callback: () => void): number;
  cancel(handle: number): void;
}

const animationFrames: Frames = {
  request: (callback) => requestAnimationFrame(callback),
  cancel: (handle) => cancelAnimationFrame(handle),
};

// Messages held for one frame at most (about 20 ms of work); a hidden tab gets no frames, and
// past this many the batch is dropped and the cache asked again, cheaper than replaying it.
const MAX_PENDING = 2_000;

/** Collects items and hands them to `flush` all at once on the next frame. */
export class FrameBatcher<T> {
  private pending: T[] = [];
  private frame: number | null = null;
  private overflowed = false;

  constructor(
    private readonly flush: (items: T[]) => void,
    private readonly onOverflow: () => void = () => {},
    private readonly frames: Frames = animationFrames,
    private readonly limit = MAX_PENDING,
  ) {}

  push(items: readonly T[]): void {
    if (this.pending.length + items.length > this.limit) {
      this.pending = [];
      this.overflowed = true;
    } else {
      for (const item of items) this.pending.push(item);
    }
    this.schedule();
  }

  /** A flush on the next frame even with nothing new (the clock moved on). */
  touch(): void {
    this.schedule();
  }

  dispose(): void {
    if (this.frame !== null) this.frames.cancel(this.frame);
    this.frame = null;
    this.pending = [];
  }

  private schedule(): void {
    if (this.frame !== null) return;
    this.frame = this.frames.request(() => {
      this.frame = null;
      const items = this.pending;
      this.pending = [];
      if (this.overflowed) {
        this.overflowed = false;
        this.onOverflow();
      }
      this.flush(items);
    });
  }
}

/** Applies a batch of messages to the cached status, workers and series in one update. */
export function cacheApplier(
  client: QueryClient,
  clock: () => number = () => Date.now() / 1000,
): (messages: readonly SseMessage[]) => void {
  let tasks: LiveSnapshot["tasks"] = new Map();
  return (messages) => {
    const now = clock();
    const events: LiveEvent[] = [];
    for (const message of messages) {
      const event = parseEvent(message, now);
      if (event) events.push(event);
    }
    const before: LiveSnapshot = {
      status: client.getQueryData<CeleryStatus>(statusKey),
      workers: client.getQueryData<WorkerList>(workersKey),
      series: client.getQueryData<Series>(seriesKey) ?? emptySeries(now),
      tasks,
    };
    const after = applyEvents(before, events, now);
    tasks = after.tasks;
    notifyManager.batch(() => {
      if (after.status && after.status !== before.status) {
        client.setQueryData(statusKey, after.status);
      }
      if (after.workers && after.workers !== before.workers) {
        client.setQueryData(workersKey, after.workers);
      }
      if (after.series !== before.series) client.setQueryData(seriesKey, after.series);
    });
  };
}

export type LiveMode = "live" | "polling" | "disconnected";

/** Live while the stream is open; polling while the polls answer; else disconnected. */
export function liveMode(streaming: boolean, pollFailing: boolean): LiveMode {
  if (streaming) return "live";
  return pollFailing ? "disconnected" : "polling";
}

const BACKOFF_FIRST_MS = 1_000;
const BACKOFF_MAX_MS = 30_000;
// A connection open this long was a good one: the next failure starts the backoff over.
const STABLE_MS = 30_000;

/** The wait before reconnect attempt `attempt` (1, 2, …): 1 s, 2 s, 4 s, … up to 30 s. */
export function backoffMs(attempt: number): number {
  return Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** Math.max(0, attempt - 1));
}

/** A status that says no to this request, rather than that the monitor is away. */
function refused(status: number): boolean {
  return status >= 400 && status < 500 && status !== 408 && status !== 429;
}

// How often the chart moves on to a new step when no event comes.
const TICK_MS = 1_000;

/** Keeps the stream open while mounted; whether it is open now. */
export function useLiveStream(): boolean {
  const client = useQueryClient();
  const [streaming, setStreaming] = useState(false);

  useEffect(() => {
    const controller = new AbortController();
    const batcher = new FrameBatcher(cacheApplier(client), () => {
      for (const queryKey of [statusKey, workersKey, seriesKey]) {
        void client.invalidateQueries({ queryKey });
      }
    });
    let attempt = 0;
    let retry: ReturnType<typeof setTimeout> | undefined;

    const connect = async () => {
      let openedAt: number | null = null;
      try {
        await readEventStream(
          EVENTS_URL,
          authHeaders(),
          controller.signal,
          () => {
            openedAt = Date.now();
            observe("monitor", 200);
            setStreaming(true);
          },
          (messages) => batcher.push(messages),
        );
      } catch (error) {
        if (controller.signal.aborted) return;
        // A 401 ends the session; a dropped connection is not yet an outage (the polls say).
        if (error instanceof StreamHttpError) observe("monitor", error.status);
        else if (openedAt === null) observe("monitor", 0);
        if (error instanceof StreamHttpError && refused(error.status)) {
          // Asking again would get the same answer: the polls carry on alone.
          setStreaming(false);
          return;
        }
      }
      if (controller.signal.aborted) return;
      setStreaming(false);
      attempt = openedAt !== null && Date.now() - openedAt >= STABLE_MS ? 1 : attempt + 1;
      retry = setTimeout(() => void connect(), backoffMs(attempt));
    };

    void connect();
    const tick = setInterval(() => batcher.touch(), TICK_MS);
    return () => {
      controller.abort();
      clearTimeout(retry);
      clearInterval(tick);
      batcher.dispose();
    };
  }, [client]);

  return streaming;
}
