/**
 * The monitor's live events applied to what the overview shows. Pure functions: the same
 * snapshot, events and `now` always give the same result, and nothing is changed in place, so
 * the query cache sees new objects and the tests need no browser.
 */
import type { SseMessage } from "../../api/sse";
import type { MonitorSchemas } from "../../api/types";

export type CeleryStatus = MonitorSchemas["CeleryStatus"];
export type WorkerList = MonitorSchemas["WorkerList"];
export type WorkerOut = MonitorSchemas["WorkerOut"];
/** `GET /api/v1/celery/series`: per-second rates and queue depths (null: no sample) per step. */
export type Series = MonitorSchemas["CelerySeries"];

export interface WorkerEvent {
  type: "worker";
  name: string;
  online: boolean;
  purged: boolean;
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
/** The step until the monitor's series says its own. */
export const SERIES_STEP_S = 5;
// Tasks followed at once; the oldest are forgotten first (the poll re-anchors the counters).
const TRACKED_MAX = 5_000;
const FINISHED = new Set(["SUCCESS", "FAILURE", "REVOKED", "REJECTED"]);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function finite(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

function text(value: unknown): string | null {
  return typeof value === "string" && value !== "" ? value : null;
}

/**
 * A `worker` or `task` message as an event, every field checked; anything else (or
 * malformed) is null. A task without a time happened `now` (epoch seconds).
 */
export function parseEvent(message: SseMessage, now: number): LiveEvent | null {
  let data: unknown;
  try {
    data = JSON.parse(message.data);
  } catch {
    return null;
  }
  if (!isRecord(data)) return null;
  if (message.event === "worker" && text(data.name) !== null) {
    const processed = finite(data.processed);
    const loadavg = Array.isArray(data.loadavg) ? data.loadavg.map(finite) : undefined;
    return {
      type: "worker",
      name: data.name as string,
      online: data.online === true,
      purged: data.purged === true,
      last_heartbeat: finite(data.last_heartbeat),
      processed: processed !== undefined && processed >= 0 ? Math.floor(processed) : undefined,
      loadavg: loadavg?.every((value) => value !== undefined) ? (loadavg as number[]) : undefined,
    };
  }
  if (message.event === "task" && text(data.id) !== null && text(data.state) !== null) {
    return {
      type: "task",
      id: data.id as string,
      state: data.state as string,
      name: text(data.name),
      worker: text(data.worker),
      queue: text(data.queue),
      at: finite(data.at) ?? now,
    };
  }
  return null;
}

function stepStart(at: number, step: number): number {
  return Math.floor(at / step) * step;
}

/** The last `minutes` in steps of `step` seconds, all nought, the last step the one under way. */
export function emptySeries(now: number, minutes = SERIES_MINUTES, step = SERIES_STEP_S): Series {
  const last = stepStart(now, step);
  const count = Math.round((minutes * 60) / step);
  const t = Array.from({ length: count }, (_, index) => last - (count - 1 - index) * step);
  return { step_s: step, t, succeeded: t.map(() => 0), failed: t.map(() => 0), queues: {} };
}

/** The series moved on to `now`: new steps at the end, as many dropped at the start. */
export function advanceSeries(series: Series, now: number): Series {
  const step = series.step_s;
  const last = stepStart(now, step);
  const newest = series.t[series.t.length - 1];
  if (newest === undefined || newest >= last) return series;
  const missing = Math.min(Math.round((last - newest) / step), series.t.length);
  const added = Array.from({ length: missing }, (_, index) => last - (missing - 1 - index) * step);
  const keep = series.t.length - missing;
  const shift = <T>(values: T[], fill: T): T[] => [
    ...values.slice(Math.max(0, values.length - keep)),
    ...added.map(() => fill),
  ];
  const queues: Series["queues"] = {};
  for (const [name, values] of Object.entries(series.queues)) {
    // A depth holds until the next reading; rates start at nought.
    queues[name] = shift(values, values[values.length - 1] ?? null);
  }
  return {
    step_s: step,
    t: [...series.t.slice(series.t.length - keep), ...added],
    succeeded: shift(series.succeeded, 0),
    failed: shift(series.failed, 0),
    queues,
  };
}

/**
 * The monitor's series (complete steps only) brought up to `now`, keeping what `local` counted
 * in the steps the monitor has not closed yet. In a closed step the larger count wins: the
 * monitor may close a step before the last of its events reached it, and the page never saw
 * what finished before it opened.
 */
export function anchorSeries(local: Series | undefined, server: Series, now: number): Series {
  const base = advanceSeries(server, now);
  if (!local || local.step_s !== server.step_s) return base;
  const closed = server.t[server.t.length - 1] ?? -Infinity;
  const at = new Map(local.t.map((start, index) => [start, index]));
  const succeeded = [...base.succeeded];
  const failed = [...base.failed];
  const queues: Series["queues"] = {};
  for (const name of new Set([...Object.keys(base.queues), ...Object.keys(local.queues)])) {
    queues[name] = base.queues[name] ? [...base.queues[name]] : base.t.map(() => null);
  }
  base.t.forEach((start, index) => {
    const from = at.get(start);
    if (from === undefined) return;
    const mine = { succeeded: local.succeeded[from] ?? 0, failed: local.failed[from] ?? 0 };
    if (start <= closed) {
      succeeded[index] = Math.max(succeeded[index] ?? 0, mine.succeeded);
      failed[index] = Math.max(failed[index] ?? 0, mine.failed);
      return;
    }
    succeeded[index] = mine.succeeded;
    failed[index] = mine.failed;
    for (const [name, values] of Object.entries(queues)) {
      const depth = local.queues[name]?.[from];
      if (depth !== undefined) values[index] = depth;
    }
  });
  return { ...base, succeeded, failed, queues };
}

function applyWorker(list: WorkerOut[], event: WorkerEvent, now: number): WorkerOut[] {
  if (event.purged) return list.filter((worker) => worker.name !== event.name);
  const index = list.findIndex((worker) => worker.name === event.name);
  const known = list[index];
  const heartbeat = new Date((event.last_heartbeat ?? now) * 1000).toISOString();
  if (!known) {
    // Its pool and queues come with the next poll.
    const fresh: WorkerOut = {
      name: event.name,
      online: event.online,
      last_heartbeat: heartbeat,
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
    last_heartbeat: event.last_heartbeat === undefined ? known.last_heartbeat : heartbeat,
    processed: event.processed ?? known.processed,
    loadavg: event.loadavg ?? known.loadavg,
    ...(event.online ? {} : { active: 0, utilisation: known.concurrency ? 0 : known.utilisation }),
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

function add(table: Record<string, number>, key: string | null, by: number): void {
  if (key !== null) table[key] = (table[key] ?? 0) + by;
}

/** What one task's step from `before` to `after` does to the counters. */
function move(moves: Moves, before: Tracked | undefined, after: Tracked): void {
  if (before?.state === after.state) return;
  const queue = after.queue ?? before?.queue ?? null;
  if (before) {
    if (before.state === "PENDING") add(moves.pending, queue, -1);
    if (before.state === "RECEIVED") moves.reserved -= 1;
    if (before.state === "STARTED") {
      add(moves.processing, queue, -1);
      add(moves.active, before.worker ?? after.worker, -1);
      moves.activeTotal -= 1;
    }
  }
  if (after.state === "PENDING") add(moves.pending, queue, 1);
  if (after.state === "RECEIVED") moves.reserved += 1;
  if (after.state === "STARTED") {
    add(moves.processing, queue, 1);
    add(moves.active, after.worker, 1);
    moves.activeTotal += 1;
  }
}

function clampAdd(value: number, by: number): number {
  return Math.max(0, value + by);
}

/**
 * The snapshot after a batch of events, in arrival order, at `now` (epoch seconds). A task
 * that finished is counted once, in the step of its event's time (one ahead of this clock
 * counts in the step under way, as the monitor does).
 */
export function applyEvents(
  snapshot: LiveSnapshot,
  events: readonly LiveEvent[],
  now: number,
): LiveSnapshot {
  let series = advanceSeries(snapshot.series, now);
  if (events.length === 0) {
    if (snapshot.status) series = withDepths(series, snapshot.status);
    return series === snapshot.series ? snapshot : { ...snapshot, series };
  }
  let workers = snapshot.workers?.items;
  const tasks = new Map(snapshot.tasks);
  const moves: Moves = { pending: {}, processing: {}, active: {}, reserved: 0, activeTotal: 0 };
  const succeeded = [...series.succeeded];
  const failed = [...series.failed];
  const first = series.t[0] ?? 0;
  const step = series.step_s;
  let counted = false;

  for (const event of events) {
    if (event.type === "worker") {
      if (workers) workers = applyWorker(workers, event, now);
      continue;
    }
    const before = tasks.get(event.id);
    const wasFinished = before !== undefined && FINISHED.has(before.state);
    // Events of several producers arrive out of order (the API's task-sent after the worker's
    // task-succeeded): a finished task never goes back.
    if (wasFinished && !FINISHED.has(event.state)) continue;
    const after: Tracked = {
      state: event.state,
      queue: event.queue ?? before?.queue ?? null,
      worker: event.worker ?? before?.worker ?? null,
    };
    move(moves, before, after);
    // Re-inserted, so the map's order is the order last heard and the oldest go first.
    tasks.delete(event.id);
    tasks.set(event.id, after);
    if ((event.state === "SUCCESS" || event.state === "FAILURE") && !wasFinished) {
      const index = Math.min(Math.floor((event.at - first) / step), series.t.length - 1);
      if (index >= 0) {
        // A rate per second over the step.
        if (event.state === "SUCCESS") succeeded[index] = (succeeded[index] ?? 0) + 1 / step;
        else failed[index] = (failed[index] ?? 0) + 1 / step;
        counted = true;
      }
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
        utilisation: worker.concurrency
          ? Math.min(1, active / worker.concurrency)
          : worker.utilisation,
      };
    });
  }
  const status = snapshot.status && applyToStatus(snapshot.status, moves, workers);
  if (status) series = withDepths(series, status);
  return {
    status,
    workers: workers && snapshot.workers && { ...snapshot.workers, items: workers },
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

/** Each queue's pending count as its depth in the step under way. */
export function withDepths(series: Series, status: CeleryStatus): Series {
  const last = series.t.length - 1;
  if (last < 0) return series;
  const queues: Series["queues"] = { ...series.queues };
  let changed = false;
  for (const [name, load] of Object.entries(status.queues)) {
    const values = queues[name];
    if (values && values[last] === load.pending) continue;
    const copy = values ? [...values] : series.t.map(() => null);
    copy[last] = load.pending;
    queues[name] = copy;
    changed = true;
  }
  return changed ? { ...series, queues } : series;
}
