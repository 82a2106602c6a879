/**
 * The monitor's live events applied to what the overview shows. Pure functions: the same
 * snapshot and events always give the same result, and nothing is changed in place, so the
 * query cache sees new objects and the tests need no browser.
 */
import type { SseMessage } from "../../api/sse";
import type { MonitorSchemas } from "../../api/types";

export type CeleryStatus = MonitorSchemas["CeleryStatus"];
export type WorkerList = MonitorSchemas["WorkerList"];
export type WorkerOut = MonitorSchemas["WorkerOut"];

export interface WorkerEvent {
  type: "worker";
  name: string;
  online: boolean;
  purged?: boolean;
  /** Epoch seconds. */
  last_heartbeat?: number;
  processed?: number;
  loadavg?: number[];
}

export interface TaskEvent {
  type: "task";
  id: string;
  state: string;
  name: string | null;
  worker: string | null;
  queue: string | null;
  /** Epoch seconds. */
  at: number;
}

export type LiveEvent = WorkerEvent | TaskEvent;

/** The shape of `GET /api/v1/celery/series`: per-second rates and queue depths per step. */
export interface Series {
  step_s: number;
  /** Epoch seconds, the start of each step, oldest first. */
  t: number[];
  succeeded: number[];
  failed: number[];
  queues: Record<string, number[]>;
}

/** Where a task was last seen, to move the counters when it moves on. */
interface Tracked {
  state: string;
  queue: string | null;
  worker: string | null;
}

export interface LiveSnapshot {
  status: CeleryStatus | undefined;
  workers: WorkerList | undefined;
  series: Series;
  tasks: ReadonlyMap<string, Tracked>;
}

export const SERIES_MINUTES = 15;
export const SERIES_STEP_S = 5;
// Tasks followed at once; the oldest are forgotten first (the poll re-anchors the counters).
const TRACKED_MAX = 5_000;
const FINISHED = new Set(["SUCCESS", "FAILURE", "REVOKED", "REJECTED"]);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

/** A `worker` or `task` message as an event; anything else (or malformed) is null. */
export function parseEvent(message: SseMessage): LiveEvent | null {
  let data: unknown;
  try {
    data = JSON.parse(message.data);
  } catch {
    return null;
  }
  if (!isRecord(data)) return null;
  if (message.event === "worker" && typeof data.name === "string") {
    return { ...data, type: "worker", name: data.name, online: data.online === true };
  }
  if (message.event === "task" && typeof data.id === "string" && typeof data.state === "string") {
    return {
      type: "task",
      id: data.id,
      state: data.state,
      name: typeof data.name === "string" ? data.name : null,
      worker: typeof data.worker === "string" ? data.worker : null,
      queue: typeof data.queue === "string" ? data.queue : null,
      at: typeof data.at === "number" ? data.at : Date.now() / 1000,
    };
  }
  return null;
}

export function emptySeries(now: number, minutes = SERIES_MINUTES, step = SERIES_STEP_S): Series {
  const last = Math.floor(now / step) * step;
  const count = Math.round((minutes * 60) / step);
  const t = Array.from({ length: count }, (_, index) => last - (count - 1 - index) * step);
  return { step_s: step, t, succeeded: t.map(() => 0), failed: t.map(() => 0), queues: {} };
}

/** The series moved on to `now`: new empty steps at the end, as many dropped at the start. */
export function advanceSeries(series: Series, now: number): Series {
  const step = series.step_s;
  const last = Math.floor(now / step) * step;
  const newest = series.t[series.t.length - 1];
  if (newest === undefined || newest >= last) return series;
  const missing = Math.min(Math.round((last - newest) / step), series.t.length);
  const added = Array.from({ length: missing }, (_, index) => last - (missing - 1 - index) * step);
  const keep = series.t.length - missing;
  const shift = (values: number[], fill: number): number[] => [
    ...values.slice(values.length - keep),
    ...added.map(() => fill),
  ];
  const queues: Record<string, number[]> = {};
  for (const [name, values] of Object.entries(series.queues)) {
    // Depth carries over until a new reading comes; rates start at nought.
    queues[name] = shift(values, values[values.length - 1] ?? 0);
  }
  return {
    step_s: step,
    t: [...series.t.slice(series.t.length - keep), ...added],
    succeeded: shift(series.succeeded, 0),
    failed: shift(series.failed, 0),
    queues,
  };
}

function bump(values: number[], index: number, by: number): void {
  values[index] = (values[index] ?? 0) + by;
}

function clampAdd(value: number, by: number): number {
  return Math.max(0, value + by);
}

function applyWorker(list: WorkerOut[], event: WorkerEvent): WorkerOut[] {
  if (event.purged) return list.filter((worker) => worker.name !== event.name);
  const index = list.findIndex((worker) => worker.name === event.name);
  const known = list[index];
  const heartbeat =
    event.last_heartbeat === undefined
      ? undefined
      : new Date(event.last_heartbeat * 1000).toISOString();
  if (!known) {
    // Its pool and queues come with the next poll.
    const fresh: WorkerOut = {
      name: event.name,
      online: event.online,
      last_heartbeat: heartbeat ?? new Date().toISOString(),
      pool: null,
      concurrency: null,
      active: 0,
      processed: event.processed ?? 0,
      utilisation: null,
      loadavg: event.loadavg ?? [],
      queues: [],
      software: null,
      system: null,
      pid: null,
    };
    return [...list, fresh];
  }
  const updated: WorkerOut = {
    ...known,
    online: event.online,
    last_heartbeat: heartbeat ?? known.last_heartbeat,
    processed: event.processed ?? known.processed,
    loadavg: event.loadavg ?? known.loadavg,
  };
  return list.map((worker, at) => (at === index ? updated : worker));
}

interface Moves {
  pending: Record<string, number>;
  processing: Record<string, number>;
  active: Record<string, number>;
  reserved: number;
  activeTotal: number;
}

/** What one task's step from `before` to `after` does to the counters. */
function move(moves: Moves, before: Tracked | undefined, after: Tracked): void {
  const queue = after.queue ?? before?.queue ?? null;
  const add = (table: Record<string, number>, key: string | null, by: number) => {
    if (key !== null) table[key] = (table[key] ?? 0) + by;
  };
  const leave = (state: string) => {
    if (state === "PENDING") add(moves.pending, queue, -1);
    if (state === "RECEIVED") moves.reserved -= 1;
    if (state === "STARTED") {
      add(moves.processing, queue, -1);
      add(moves.active, before?.worker ?? after.worker, -1);
      moves.activeTotal -= 1;
    }
  };
  const enter = (state: string) => {
    if (state === "PENDING") add(moves.pending, queue, 1);
    if (state === "RECEIVED") moves.reserved += 1;
    if (state === "STARTED") {
      add(moves.processing, queue, 1);
      add(moves.active, after.worker, 1);
      moves.activeTotal += 1;
    }
  };
  if (before?.state === after.state) return;
  if (before) leave(before.state);
  enter(after.state);
}

/** The snapshot after a batch of events, in arrival order. */
export function applyEvents(snapshot: LiveSnapshot, events: readonly LiveEvent[], now: number): LiveSnapshot {
  let workers = snapshot.workers?.items;
  let series = advanceSeries(snapshot.series, now);
  const tasks = new Map(snapshot.tasks);
  const moves: Moves = { pending: {}, processing: {}, active: {}, reserved: 0, activeTotal: 0 };
  const succeeded = [...series.succeeded];
  const failed = [...series.failed];
  const first = series.t[0] ?? 0;
  let counted = false;

  for (const event of events) {
    if (event.type === "worker") {
      if (workers) workers = applyWorker(workers, event);
      continue;
    }
    const before = tasks.get(event.id);
    const after: Tracked = {
      state: event.state,
      queue: event.queue ?? before?.queue ?? null,
      worker: event.worker ?? before?.worker ?? null,
    };
    move(moves, before, after);
    tasks.delete(event.id);
    if (FINISHED.has(event.state)) {
      const index = Math.floor((event.at - first) / series.step_s);
      if (index >= 0 && index < series.t.length && before?.state !== event.state) {
        // A rate per second over the step.
        if (event.state === "SUCCESS") bump(succeeded, index, 1 / series.step_s);
        if (event.state === "FAILURE") bump(failed, index, 1 / series.step_s);
        counted = true;
      }
    } else {
      tasks.set(event.id, after);
    }
  }
  while (tasks.size > TRACKED_MAX) {
    const oldest = tasks.keys().next().value;
    if (oldest === undefined) break;
    tasks.delete(oldest);
  }
  if (counted) series = { ...series, succeeded, failed };

  if (workers) {
    workers = workers.map((worker) => {
      const by = moves.active[worker.name];
      if (!by) return worker;
      const active = clampAdd(worker.active, by);
      return {
        ...worker,
        active,
        utilisation: worker.concurrency ? Math.min(1, active / worker.concurrency) : worker.utilisation,
      };
    });
  }
  const status = snapshot.status && applyToStatus(snapshot.status, moves, workers);
  if (status) series = withDepths(series, status);
  return {
    status,
    workers: workers && { ...snapshot.workers, items: workers },
    series,
    tasks,
  };
}

function applyToStatus(
  status: CeleryStatus,
  moves: Moves,
  workers: WorkerOut[] | undefined,
): CeleryStatus {
  const queues: CeleryStatus["queues"] = {};
  for (const name of new Set([
    ...Object.keys(status.queues),
    ...Object.keys(moves.pending),
    ...Object.keys(moves.processing),
  ])) {
    const load = status.queues[name] ?? { pending: 0, processing: 0 };
    queues[name] = {
      pending: clampAdd(load.pending, moves.pending[name] ?? 0),
      processing: clampAdd(load.processing, moves.processing[name] ?? 0),
    };
  }
  const online = workers?.filter((worker) => worker.online).map((worker) => worker.name);
  return {
    ...status,
    queues,
    tasks_active: clampAdd(status.tasks_active, moves.activeTotal),
    tasks_reserved: clampAdd(status.tasks_reserved, moves.reserved),
    workers: online ?? status.workers,
    workers_online: online?.length ?? status.workers_online,
  };
}

/** Each queue's pending count as the depth of the current step. */
export function withDepths(series: Series, status: CeleryStatus): Series {
  const last = series.t.length - 1;
  if (last < 0) return series;
  const queues: Record<string, number[]> = { ...series.queues };
  let changed = false;
  for (const [name, load] of Object.entries(status.queues)) {
    const values = queues[name] ?? series.t.map(() => 0);
    if (values[last] === load.pending && queues[name]) continue;
    const copy = [...values];
    copy[last] = load.pending;
    queues[name] = copy;
    changed = true;
  }
  return changed ? { ...series, queues } : series;
}
