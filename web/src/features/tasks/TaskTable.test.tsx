import { fireEvent, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";

import type { TaskSummary } from "./queries";
import { ROW_HEIGHT } from "./TaskTable";
import { calls, renderTasks, searchOf, serve } from "./testing";

const VIEWPORT = 360;

function task(index: number): TaskSummary {
  return {
    id: `${String(index).padStart(8, "0")}-0000-4000-8000-000000000000`,
    name: index % 2 ? "system.noop" : "etl.transform",
    state: index % 3 ? "SUCCESS" : "FAILURE",
    worker: "celery@w1",
    queue: "system",
    received_at: "2026-12-03T10:00:00Z",
    started_at: "2026-12-03T10:00:01Z",
    finished_at: "2026-12-03T10:00:02Z",
    runtime: 0.25,
  };
}

/**
 * The drawn data rows (not the header row, nor the spacers, which have no index). A selector,
 * not a role query: those compute every element's style, and this runs in a polling loop.
 */
function dataRows(): HTMLElement[] {
  const table = screen.getByRole("table", { name: "Task history" });
  return Array.from(table.querySelectorAll<HTMLElement>("tbody tr[aria-rowindex]"));
}

beforeEach(() => {
  // jsdom lays nothing out: give the scroll box a height so the virtualiser has a window.
  vi.spyOn(HTMLElement.prototype, "clientHeight", "get").mockReturnValue(VIEWPORT);
});

describe("the task table", () => {
  it("draws only a window of 5,000 rows, and the rows further down once scrolled", async () => {
    const items = Array.from({ length: 5_000 }, (_, index) => task(index));
    serve({ "/api/v1/celery/tasks": () => ({ items, next_cursor: null }) });
    renderTasks("/tasks");

    const table = await screen.findByRole("table", { name: "Task history" });
    expect(table).toHaveAttribute("aria-rowcount", "5001");
    const drawn = dataRows();
    expect(drawn.length).toBeGreaterThan(VIEWPORT / ROW_HEIGHT);
    expect(drawn.length).toBeLessThan(50);
    expect(drawn[0]).toHaveAttribute("aria-rowindex", "2");
    expect(screen.getByText("5,000 tasks shown · end of the history")).toBeInTheDocument();

    const scroller = table.parentElement!;
    scroller.scrollTop = 3_000 * ROW_HEIGHT;
    fireEvent.scroll(scroller);
    await waitFor(() =>
      expect(
        dataRows().some((row) => row.getAttribute("aria-rowindex") === String(3_000 + 2)),
      ).toBe(true),
    );
    expect(dataRows().length).toBeLessThan(50);
  });

  it("opens a task from its row's link", async () => {
    const user = userEvent.setup();
    serve({
      "/api/v1/celery/tasks": () => ({ items: [task(7)], next_cursor: null }),
      [`/api/v1/celery/task/${task(7).id}`]: () => ({ ...task(7), source: "events" }),
    });
    const { router } = renderTasks("/tasks?name=system.noop");

    await user.click(await screen.findByRole("link", { name: `Open task ${task(7).id}` }));
    await waitFor(() =>
      expect(searchOf(router)).toEqual({ name: "system.noop", task: task(7).id }),
    );
    expect(await screen.findByRole("region", { name: `Task ${task(7).id}` })).toHaveFocus();
  });

  it("brings the open task's row up to what its detail reads", async () => {
    const running = { ...task(7), state: "STARTED", finished_at: null };
    serve({
      "/api/v1/celery/tasks": () => ({ items: [running], next_cursor: null }),
      [`/api/v1/celery/task/${running.id}`]: () => ({ ...task(7), source: "events" }),
    });
    renderTasks(`/tasks?task=${running.id}`);

    await waitFor(() => expect(dataRows()[0]).toHaveTextContent("SUCCESS"));
    expect(calls.filter((call) => call.path === "/api/v1/celery/tasks")).toHaveLength(1);
  });

  it("loads the next page by itself when the end is in view", async () => {
    serve({
      "/api/v1/celery/tasks": (query) =>
        query.cursor === "page-2"
          ? { items: [task(2)], next_cursor: null }
          : { items: [task(1)], next_cursor: "page-2" },
    });
    renderTasks("/tasks");

    // One row fills no window, so reaching the end asks for the next page by itself.
    await waitFor(() => expect(dataRows()).toHaveLength(2));
    expect(calls.map((call) => call.query.cursor)).toEqual([undefined, "page-2"]);
    expect(screen.queryByRole("button", { name: "Load more" })).not.toBeInTheDocument();
  });

  it("loads more on request while the end is out of view", async () => {
    const user = userEvent.setup();
    const first = Array.from({ length: 100 }, (_, index) => task(index));
    serve({
      "/api/v1/celery/tasks": (query) =>
        query.cursor === "page-2"
          ? { items: [task(100)], next_cursor: null }
          : { items: first, next_cursor: "page-2" },
    });
    renderTasks("/tasks");

    const table = await screen.findByRole("table", { name: "Task history" });
    expect(table).toHaveAttribute("aria-rowcount", "-1");
    await user.click(screen.getByRole("button", { name: "Load more" }));
    await waitFor(() => expect(table).toHaveAttribute("aria-rowcount", "102"));
    expect(calls).toHaveLength(2);
  });
});
