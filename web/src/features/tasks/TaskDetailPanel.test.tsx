import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";

import type { TaskDetail } from "./queries";
import { answer } from "../../test/app";
import { apiError, calls, type Handler, renderTasks, searchOf, serve } from "./testing";

const ID = "6f1c2a4e-0000-4000-8000-000000000001";
const ORIGINAL = "0a0b0c0d-0000-4000-8000-000000000002";
const EMPTY = { items: [], next_cursor: null };

const FAILED: TaskDetail = {
  id: ID,
  name: "etl.transform",
  state: "FAILURE",
  worker: "celery@w1",
  queue: "etl",
  sent_at: "2026-12-03T10:00:00Z",
  received_at: "2026-12-03T10:00:01Z",
  started_at: "2026-12-03T10:00:02Z",
  finished_at: "2026-12-03T10:00:04Z",
  runtime: 2.5,
  retries: 3,
  retry_of: ORIGINAL,
  args: "()",
  kwargs: "{'source': 'missing'}",
  result: null,
  exception: "JobError('payload sdp:payload:missing not found')",
  traceback: 'Traceback (most recent call last):\n  File "etl.py", line 335\nJobError: not found',
  source: "events",
};

function serveTask(task: TaskDetail, more: Record<string, Handler> = {}): void {
  serve({
    "/api/v1/celery/tasks": () => EMPTY,
    [`/api/v1/celery/task/${task.id}`]: () => task,
    ...more,
  });
}

function field(panel: HTMLElement, label: string): HTMLElement {
  const term = within(panel).getByText(label, { selector: "dt" });
  return term.nextElementSibling as HTMLElement;
}

async function openPanel(id = ID): Promise<HTMLElement> {
  return screen.findByRole("region", { name: `Task ${id}` });
}

describe("the task detail", () => {
  it("shows every field, the traceback in a pre, and links the task it retried", async () => {
    const user = userEvent.setup();
    serveTask(FAILED, {
      [`/api/v1/celery/task/${ORIGINAL}`]: () => ({ ...FAILED, id: ORIGINAL, retry_of: null }),
    });
    const { router } = renderTasks(`/tasks?task=${ID}`, "viewer");
    const panel = await openPanel();

    await within(panel).findByText("FAILURE");
    expect(field(panel, "Name")).toHaveTextContent("etl.transform");
    expect(field(panel, "State")).toHaveTextContent("FAILURE");
    expect(field(panel, "Worker")).toHaveTextContent("celery@w1");
    expect(field(panel, "Queue")).toHaveTextContent("etl");
    for (const label of ["Sent", "Received", "Started", "Finished"]) {
      expect(field(panel, label).textContent).toMatch(/\d{2}:\d{2}:\d{2}/);
    }
    expect(field(panel, "Runtime")).toHaveTextContent("2.5 s");
    expect(field(panel, "Retries")).toHaveTextContent("3");
    expect(field(panel, "Source")).toHaveTextContent("event history");
    expect(field(panel, "Args")).toHaveTextContent("()");
    expect(field(panel, "Kwargs")).toHaveTextContent("{'source': 'missing'}");
    expect(field(panel, "Result")).toHaveTextContent("—");
    expect(field(panel, "Exception")).toHaveTextContent("JobError('payload");
    const traceback = field(panel, "Traceback").querySelector("pre");
    expect(traceback?.textContent).toBe(FAILED.traceback);

    await user.click(within(field(panel, "Retry of")).getByRole("link", { name: ORIGINAL }));
    await waitFor(() => expect(searchOf(router)).toEqual({ task: ORIGINAL }));
    expect(await openPanel(ORIGINAL)).toBeInTheDocument();
  });

  it("says so when no task has that id", async () => {
    serve({
      "/api/v1/celery/tasks": () => EMPTY,
      "/api/v1/celery/task/nope": () => apiError(404, "no task with id nope"),
    });
    renderTasks("/tasks");
    const user = userEvent.setup();
    await user.type(await screen.findByLabelText("Task id"), "nope");
    await user.click(screen.getByRole("button", { name: "Open" }));

    const panel = await openPanel("nope");
    expect(await within(panel).findByRole("alert")).toHaveTextContent("No task with that id");
  });

  it("cancels with terminate after the confirmation, and shows the answer", async () => {
    const user = userEvent.setup();
    let state = "STARTED";
    serve({
      "/api/v1/celery/tasks": () => EMPTY,
      [`/api/v1/celery/task/${ID}`]: () => ({ ...FAILED, state, retry_of: null }),
      [`/api/v1/celery/task/${ID}/cancel`]: () => {
        state = "REVOKED";
        return { id: ID, state, terminated: true, workers: ["celery@w1"] };
      },
    });
    renderTasks(`/tasks?task=${ID}`, "operator");
    const panel = await openPanel();

    await user.click(await within(panel).findByRole("button", { name: "Cancel task" }));
    const dialog = screen.getByRole("dialog", { name: "Cancel this task?" });
    expect(dialog).toHaveTextContent(ID);
    await user.click(within(dialog).getByLabelText("Terminate the running process"));
    await user.click(within(dialog).getByRole("button", { name: "Revoke task" }));

    expect(await within(panel).findByRole("status")).toHaveTextContent(
      "the task is REVOKED (terminate requested); acknowledged by celery@w1.",
    );
    const cancel = calls.find((call) => call.path.endsWith("/cancel"));
    expect(cancel?.body).toEqual({ terminate: true, signal: "SIGTERM" });
    // The detail reads the task again and shows its new state.
    await waitFor(() => expect(field(panel, "State")).toHaveTextContent("REVOKED"));
  });

  it("shows the API's message when an action is refused", async () => {
    const user = userEvent.setup();
    serveTask(
      { ...FAILED, retry_of: null },
      {
        [`/api/v1/celery/task/${ID}/retry`]: () =>
          answer(409, {
            error: { code: "conflict", message: "the original arguments are no longer kept" },
          }),
      },
    );
    renderTasks(`/tasks?task=${ID}`, "operator");
    const panel = await openPanel();

    await user.click(await within(panel).findByRole("button", { name: "Retry" }));
    expect(await within(panel).findByRole("alert")).toHaveTextContent(
      "Retry failed: the original arguments are no longer kept",
    );
  });

  it("retries a failed task and opens the new one", async () => {
    const user = userEvent.setup();
    const NEW = "99999999-0000-4000-8000-000000000003";
    serveTask(
      { ...FAILED, retry_of: null },
      {
        [`/api/v1/celery/task/${ID}/retry`]: () =>
          answer(202, { id: NEW, retry_of: ID, state: "PENDING" }),
        [`/api/v1/celery/task/${NEW}`]: () => ({
          id: NEW,
          name: "etl.transform",
          state: "PENDING",
          retry_of: ID,
          source: "events",
        }),
      },
    );
    const { router } = renderTasks(`/tasks?task=${ID}&state=FAILURE`, "operator");

    await user.click(await within(await openPanel()).findByRole("button", { name: "Retry" }));
    await waitFor(() => expect(searchOf(router)).toEqual({ state: "FAILURE", task: NEW }));
    const panel = await openPanel(NEW);
    expect(await within(panel).findByRole("link", { name: ID })).toBeInTheDocument();
  });

  it.each([
    ["STARTED", "Cancel task"],
    ["FAILURE", "Retry"],
  ])("shows a viewer no action on a %s task", async (state, action) => {
    serveTask({ ...FAILED, state });
    renderTasks(`/tasks?task=${ID}`, "viewer");
    const panel = await openPanel();
    await within(panel).findByText(state);
    expect(within(panel).queryByRole("button", { name: action })).not.toBeInTheDocument();
    expect(within(panel).queryByRole("button")).not.toBeInTheDocument();
  });

  it.each([
    ["STARTED", "Cancel task"],
    ["REVOKED", "Retry"],
  ])("shows an operator the action on a %s task", async (state, action) => {
    serveTask({ ...FAILED, state });
    renderTasks(`/tasks?task=${ID}`, "operator");
    const panel = await openPanel();
    expect(await within(panel).findByRole("button", { name: action })).toBeInTheDocument();
  });
});
