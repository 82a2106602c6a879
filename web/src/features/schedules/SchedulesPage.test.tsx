import { screen, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";

import { api } from "../../api/client";
import type { ApiSchemas } from "../../api/types";
import { logout } from "../../auth/session";
import type { Role } from "../../auth/token";
import { answer, fakeMonitor, renderAt } from "../../test/app";
import { JOBS } from "./testJobs";

const SCHEDULE: ApiSchemas["ScheduleOut"] = {
  id: "s1",
  name: "collect-orders",
  task: "system.noop",
  kwargs: {},
  args: [],
  trigger: { type: "interval", every: 30, unit: "seconds" },
  state: "active",
  enabled: true,
  static: false,
  run_count: 1440,
  last_run_at: "2026-11-24T09:00:00Z",
  next_run_at: "2026-11-24T09:00:30Z",
  created_at: "2026-11-23T21:00:00Z",
  updated_at: "2026-11-23T21:00:00Z",
  jitter_s: 0,
  max_instances: 1,
};

const ASIDE: ApiSchemas["UndecodableScheduleOut"] = {
  id: "s2",
  name: "collect-ftp-orders",
  state: "set_aside",
  static: false,
  run_count: 311,
  last_run_at: null,
  created_at: null,
  updated_at: null,
  set_aside_at: null,
  set_aside_reason: "the stored definition no longer decodes: task: unknown",
  stored_definition: "{}",
};

const ANSWERS: Record<string, unknown> = {
  "/api/v1/schedules": { items: [SCHEDULE, ASIDE], next_cursor: null },
  "/api/v1/schedules/{schedule_id}": SCHEDULE,
  "/api/v1/schedules/{schedule_id}/runs": {
    items: [
      {
        slot: "2026-11-24T09:00:00Z",
        fired_at: "2026-11-24T09:00:00Z",
        state: "SUCCESS",
        task_id: "t-1",
        count: 1,
      },
      {
        slot: "2026-11-24T08:00:00Z",
        fired_at: "2026-11-24T08:41:02Z",
        state: "MISSED",
        count: 41,
      },
    ],
    next_cursor: null,
  },
  "/api/v1/jobs": { items: JOBS },
  "/api/v1/scheduler/status": {
    engine: "celery",
    healthy: true,
    leader: "beat-1",
    last_tick_age_s: 0.4,
    schedules_active: 1,
    schedules_finished: 0,
    schedules_paused: 0,
    schedules_set_aside: 1,
    this_replica_leads: false,
  },
};

afterEach(() => {
  vi.restoreAllMocks();
  logout();
});

async function show(role: Role, url: string) {
  const respond = (path: string) => Promise.resolve(answer(200, ANSWERS[path]));
  vi.spyOn(api, "GET").mockImplementation(respond as never);
  fakeMonitor(() => answer(200, { workers_online: 1 }));
  renderAt(url, role);
  return await screen.findByRole("rowheader", { name: "collect-orders" });
}

describe("SchedulesPage", () => {
  it("lists each schedule with its trigger in words, and a set-aside one with its reason", async () => {
    const header = await show("viewer", "/schedules");
    const row = header.closest("tr") as HTMLElement;
    expect(within(row).getByText("every 30 s")).toBeInTheDocument();
    expect(within(row).getByText("1,440")).toBeInTheDocument();
    const aside = screen
      .getByRole("rowheader", { name: "collect-ftp-orders" })
      .closest("tr") as HTMLElement;
    expect(within(aside).getByText("set aside")).toBeInTheDocument();
    expect(within(aside).getByText(/no longer decodes: task: unknown/)).toBeInTheDocument();
  });

  it("shows a viewer no create, pause, run, edit or delete control", async () => {
    await show("viewer", "/schedules?schedule=s1");
    await screen.findByRole("heading", { name: "Schedule collect-orders" });
    expect(screen.queryByRole("button", { name: "New schedule" })).toBeNull();
    expect(screen.queryByRole("button", { name: /^(Pause|Resume|Delete|Run) / })).toBeNull();
    expect(screen.queryByRole("link", { name: /^Edit / })).toBeNull();
    expect(screen.queryByRole("columnheader", { name: "Actions" })).toBeNull();
  });

  it("gives an operator the controls, each naming its schedule", async () => {
    const header = await show("operator", "/schedules");
    const row = header.closest("tr") as HTMLElement;
    expect(screen.getByRole("button", { name: "New schedule" })).toBeInTheDocument();
    expect(within(row).getByRole("button", { name: "Pause collect-orders" })).toBeInTheDocument();
    expect(within(row).getByRole("button", { name: "Run collect-orders now" })).toBeInTheDocument();
    expect(within(row).getByRole("button", { name: "Delete collect-orders" })).toBeInTheDocument();
    expect(within(row).getByRole("link", { name: "Edit collect-orders" })).toBeInTheDocument();
    const aside = screen
      .getByRole("rowheader", { name: "collect-ftp-orders" })
      .closest("tr") as HTMLElement;
    expect(within(aside).queryByRole("button", { name: /^Run/ })).toBeNull();
    expect(
      within(aside).getByRole("button", { name: "Delete collect-ftp-orders" }),
    ).toBeInTheDocument();
  });

  it("shows the run history with task links, and a missed run with its count", async () => {
    await show("viewer", "/schedules?schedule=s1");
    const runs = await screen.findByRole("table", { name: "Run history" });
    expect(within(runs).getByRole("link", { name: "t-1" })).toHaveAttribute(
      "href",
      "/tasks?task=t-1",
    );
    expect(within(runs).getByText("MISSED")).toBeInTheDocument();
    expect(within(runs).getByText(/41 slots missed/)).toBeInTheDocument();
  });
});
