import { describe, expect, it } from "vitest";

import {
  advanceSeries,
  anchorSeries,
  applyEvents,
  type CeleryStatus,
  emptySeries,
  type LiveEvent,
  type LiveSnapshot,
  parseEvent,
  type Series,
  type WorkerOut,
} from "./live";

const NOW = 1_764_770_403; // 3 s into the step starting at 1_764_770_400

function worker(name: string, extra: Partial<WorkerOut> = {}): WorkerOut {
  return {
    name,
    online: true,
    last_heartbeat: new Date(NOW * 1000).toISOString(),
    pool: "prefork",
    concurrency: 4,
    active: 0,
    processed: 10,
    utilisation: 0,
    loadavg: [0.1, 0.2, 0.3],
    queues: ["system"],
    software: null,
    system: null,
    pid: 1,
    ...extra,
  };
}

function status(extra: Partial<CeleryStatus> = {}): CeleryStatus {
  return {
    beat: null,
    beat_running: false,
    enabled: true,
    queues: { system: { pending: 2, processing: 0 }, etl: { pending: 0, processing: 0 } },
    tasks_active: 0,
    tasks_reserved: 0,
    tasks_scheduled: 0,
    workers: ["w1"],
    workers_online: 1,
    ...extra,
  };
}

function snapshot(extra: Partial<LiveSnapshot> = {}): LiveSnapshot {
  return {
    status: status(),
    workers: { items: [worker("w1")] },
    series: emptySeries(NOW, 1, 5),
    tasks: new Map(),
    ...extra,
  };
}

function task(id: string, state: string, at = NOW, extra: Partial<LiveEvent> = {}): LiveEvent {
  const event = { type: "task", id, state, name: "system.noop", worker: "w1", queue: "system", at };
  return { ...event, ...extra } as LiveEvent;
}

describe("parseEvent", () => {
  it("reads worker and task messages", () => {
    expect(
      parseEvent(
        {
          event: "worker",
          data: '{"type":"worker","name":"w1","online":true,"processed":7,"loadavg":[1,2,3],"last_heartbeat":5}',
        },
        NOW,
      ),
    ).toEqual({
      type: "worker",
      name: "w1",
      online: true,
      purged: false,
      processed: 7,
      loadavg: [1, 2, 3],
      last_heartbeat: 5,
    });
    expect(
      parseEvent({ event: "task", data: '{"id":"a","state":"SUCCESS","at":12.5}' }, NOW),
    ).toEqual({
      type: "task",
      id: "a",
      state: "SUCCESS",
      name: null,
      worker: null,
      queue: null,
      at: 12.5,
    });
  });

  it("ignores what is malformed, and drops fields of the wrong type", () => {
    expect(parseEvent({ event: "task", data: "{not json" }, NOW)).toBeNull();
    expect(parseEvent({ event: "task", data: "[1,2]" }, NOW)).toBeNull();
    expect(parseEvent({ event: "task", data: '{"id":1,"state":"SUCCESS"}' }, NOW)).toBeNull();
    expect(parseEvent({ event: "task", data: '{"id":"a"}' }, NOW)).toBeNull();
    expect(parseEvent({ event: "worker", data: '{"online":true}' }, NOW)).toBeNull();
    expect(parseEvent({ event: "message", data: '{"id":"a","state":"SUCCESS"}' }, NOW)).toBeNull();
    expect(parseEvent({ event: "task", data: "null" }, NOW)).toBeNull();
    const odd = parseEvent(
      {
        event: "worker",
        data: '{"name":"w1","online":"yes","processed":"9","loadavg":[1,"x"],"purged":1}',
      },
      NOW,
    );
    expect(odd).toEqual({
      type: "worker",
      name: "w1",
      online: false,
      purged: false,
      processed: undefined,
      loadavg: undefined,
      last_heartbeat: undefined,
    });
    // A task without a time happened now.
    expect(
      parseEvent({ event: "task", data: '{"id":"a","state":"STARTED","at":"x"}' }, NOW),
    ).toMatchObject({ at: NOW });
  });
});

describe("applyEvents", () => {
  it("moves the counters as a task goes from queue to worker to done", () => {
    let state = snapshot();
    state = applyEvents(state, [task("a", "PENDING")], NOW);
    expect(state.status?.queues.system).toEqual({ pending: 3, processing: 0 });
    state = applyEvents(state, [task("a", "RECEIVED")], NOW);
    expect(state.status?.queues.system?.pending).toBe(2);
    expect(state.status?.tasks_reserved).toBe(1);
    state = applyEvents(state, [task("a", "STARTED")], NOW);
    expect(state.status).toMatchObject({ tasks_reserved: 0, tasks_active: 1 });
    expect(state.status?.queues.system?.processing).toBe(1);
    expect(state.workers?.items[0]).toMatchObject({ active: 1, utilisation: 0.25 });
    state = applyEvents(state, [task("a", "SUCCESS")], NOW);
    expect(state.status).toMatchObject({ tasks_active: 0 });
    expect(state.status?.queues.system?.processing).toBe(0);
    expect(state.workers?.items[0]).toMatchObject({ active: 0, utilisation: 0 });
  });

  it("never takes a counter below nought for a task it did not see arrive", () => {
    const state = applyEvents(snapshot(), [task("x", "STARTED"), task("y", "RECEIVED")], NOW);
    const after = applyEvents(state, [task("z", "SUCCESS", NOW, { queue: "etl" })], NOW);
    expect(after.status?.queues.etl).toEqual({ pending: 0, processing: 0 });
    const done = applyEvents(snapshot(), [task("q", "PENDING", NOW, { queue: "etl" })], NOW);
    const left = applyEvents({ ...done, status: status() }, [task("q", "STARTED")], NOW);
    expect(left.status?.queues.etl?.pending).toBe(0);
  });

  it("never takes a finished task back to an earlier state heard late", () => {
    let state = applyEvents(snapshot(), [task("a", "PENDING"), task("a", "SUCCESS")], NOW);
    const pending = state.status?.queues.system?.pending;
    // The API's task-sent heard after the worker's task-succeeded, then heard again.
    state = applyEvents(state, [task("a", "PENDING"), task("a", "STARTED")], NOW);
    expect(state.status?.queues.system?.pending).toBe(pending);
    expect(state.status?.tasks_active).toBe(0);
    state = applyEvents(state, [task("a", "SUCCESS")], NOW);
    expect(state.series.succeeded.reduce((a, b) => a + b, 0) * state.series.step_s).toBeCloseTo(1);
  });

  it("counts SUCCESS and FAILURE once, per second, in the step of their time", () => {
    const series = emptySeries(NOW, 1, 5); // 12 steps, the last starting at NOW - 3
    const last = series.t.length - 1;
    const state = applyEvents(
      snapshot({ series }),
      [
        task("a", "SUCCESS", NOW - 1),
        task("b", "SUCCESS", NOW - 4), // the step before
        task("c", "FAILURE", NOW - 2),
        task("a", "SUCCESS", NOW), // heard twice: counted once
        task("d", "SUCCESS", NOW - 3600), // older than the series
        task("e", "SUCCESS", NOW + 60), // a clock ahead: the step under way
        task("f", "REVOKED", NOW),
      ],
      NOW,
    );
    expect(state.series.succeeded[last]).toBeCloseTo(2 / 5);
    expect(state.series.succeeded[last - 1]).toBeCloseTo(1 / 5);
    expect(state.series.failed[last]).toBeCloseTo(1 / 5);
    expect(state.series.succeeded.reduce((a, b) => a + b, 0) * 5).toBeCloseTo(3);
    // The input is untouched.
    expect(series.succeeded.every((value) => value === 0)).toBe(true);
  });

  it("brings workers online and offline, and forgets a purged one", () => {
    let state = snapshot();
    state = applyEvents(
      state,
      [
        {
          type: "worker",
          name: "w2",
          online: true,
          purged: false,
          processed: 3,
          last_heartbeat: NOW,
        },
      ],
      NOW,
    );
    expect(state.workers?.items.map((item) => item.name)).toEqual(["w1", "w2"]);
    expect(state.status).toMatchObject({ workers_online: 2, workers: ["w1", "w2"] });
    state = applyEvents(
      state,
      [{ type: "worker", name: "w1", online: false, purged: false, processed: 12 }],
      NOW,
    );
    expect(state.workers?.items[0]).toMatchObject({ online: false, processed: 12 });
    expect(state.status).toMatchObject({ workers_online: 1, workers: ["w2"] });
    state = applyEvents(state, [{ type: "worker", name: "w1", online: false, purged: true }], NOW);
    expect(state.workers?.items.map((item) => item.name)).toEqual(["w2"]);
  });

  it("sets the step under way's depth from the queues", () => {
    const state = applyEvents(snapshot(), [task("a", "PENDING")], NOW);
    const system = state.series.queues.system ?? [];
    expect(system[system.length - 1]).toBe(3);
    expect(system[0]).toBeNull();
  });

  it("keeps the same objects when nothing happened", () => {
    const before = snapshot({ series: applyEvents(snapshot(), [], NOW).series });
    expect(applyEvents(before, [], NOW)).toBe(before);
  });
});

describe("the series", () => {
  it("advances: new steps at the end, the oldest dropped, depths carried", () => {
    const series: Series = {
      step_s: 5,
      t: [0, 5, 10],
      succeeded: [1, 2, 3],
      failed: [0, 0, 1],
      queues: { q: [4, null, 6] },
    };
    expect(advanceSeries(series, 12)).toBe(series);
    expect(advanceSeries(series, 21)).toEqual({
      step_s: 5,
      t: [10, 15, 20],
      succeeded: [3, 0, 0],
      failed: [1, 0, 0],
      queues: { q: [6, 6, 6] },
    });
    expect(advanceSeries(series, 1000).t).toEqual([990, 995, 1000]);
    expect(advanceSeries(series, 1000).succeeded).toEqual([0, 0, 0]);
  });

  it("anchors on the monitor's complete steps, keeping the step the events counted", () => {
    // Step 5: the page opened late (the monitor's 2 wins); step 10: the monitor closed it before
    // the last event reached it (the page's 3.2 wins); step 15: not closed (the page's).
    const local: Series = {
      step_s: 5,
      t: [5, 10, 15],
      succeeded: [1, 3.2, 0.4],
      failed: [0, 0.2, 0.2],
      queues: { q: [9, 9, 1] },
    };
    const server: Series = {
      step_s: 5,
      t: [0, 5, 10],
      succeeded: [1, 2, 3],
      failed: [0, 0, 0],
      queues: { q: [4, null, 6], r: [1, 1, 1] },
    };
    expect(anchorSeries(local, server, 16)).toEqual({
      step_s: 5,
      t: [5, 10, 15],
      succeeded: [2, 3.2, 0.4],
      failed: [0, 0.2, 0.2],
      queues: { q: [null, 6, 1], r: [1, 1, 1] },
    });
    expect(anchorSeries(undefined, server, 12)).toBe(server);
  });
});
