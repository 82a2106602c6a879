import { fireEvent, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it } from "vitest";

import { fromLocalInput } from "../../ui/datetime";
import { answer } from "../../test/app";
import { calls, renderTasks, searchOf, serve } from "./testing";

const EMPTY = { items: [], next_cursor: null };

beforeEach(() => serve({ "/api/v1/celery/tasks": () => EMPTY }));

function historyQueries(): Record<string, unknown>[] {
  return calls.filter((call) => call.path === "/api/v1/celery/tasks").map((call) => call.query);
}

describe("the task filter form", () => {
  it("reads its values from the URL and asks the history with them", async () => {
    const since = "2026-12-01T08:30:15.000Z";
    renderTasks(`/tasks?state=FAILURE&name=etl.transform&queue=etl&since=${since}`);

    expect(await screen.findByLabelText("State")).toHaveValue("FAILURE");
    expect(screen.getByLabelText("Name")).toHaveValue("etl.transform");
    expect(screen.getByLabelText("Queue")).toHaveValue("etl");
    expect(screen.getByLabelText("Worker")).toHaveValue("");
    // Shown in local time, as the browser normalises it: compare the instants.
    expect(fromLocalInput((screen.getByLabelText("Since") as HTMLInputElement).value)).toBe(since);
    await waitFor(() => expect(historyQueries()).toHaveLength(1));
    const query = historyQueries()[0]!;
    expect(query).toEqual({
      state: "FAILURE",
      name: "etl.transform",
      queue: "etl",
      since,
      limit: 100,
    });
  });

  it("writes the submitted filters to the URL, keeping the open task", async () => {
    const user = userEvent.setup();
    serve({
      "/api/v1/celery/tasks": () => EMPTY,
      "/api/v1/celery/task/abc": () => ({ id: "abc", state: "SUCCESS", source: "events" }),
    });
    const { router } = renderTasks("/tasks?task=abc&name=old");

    const name = await screen.findByLabelText("Name");
    await user.clear(name);
    await user.type(name, "system.noop");
    await user.selectOptions(screen.getByLabelText("State"), "SUCCESS");
    await user.type(screen.getByLabelText("Worker"), "celery@w1");
    fireEvent.change(screen.getByLabelText("Until"), { target: { value: "2026-12-03T10:15" } });
    await user.click(screen.getByRole("button", { name: "Search" }));

    await waitFor(() =>
      expect(searchOf(router)).toEqual({
        task: "abc",
        name: "system.noop",
        state: "SUCCESS",
        worker: "celery@w1",
        until: fromLocalInput("2026-12-03T10:15"),
      }),
    );
    // Read back from the new URL, as after a reload.
    expect(screen.getByLabelText("Name")).toHaveValue("system.noop");
    expect(fromLocalInput((screen.getByLabelText("Until") as HTMLInputElement).value)).toBe(
      fromLocalInput("2026-12-03T10:15"),
    );
    await waitFor(() => expect(historyQueries().at(-1)?.name).toBe("system.noop"));

    await user.click(screen.getByRole("button", { name: "Clear" }));
    await waitFor(() => expect(searchOf(router)).toEqual({ task: "abc" }));
    expect(screen.getByLabelText("Name")).toHaveValue("");
  });

  it("shows the API's message beside the field it names", async () => {
    serve({
      "/api/v1/celery/tasks": () =>
        answer(422, {
          error: {
            code: "validation_error",
            message: "since: Input should be a valid datetime",
            fields: [{ field: "since", message: "Input should be a valid datetime" }],
          },
        }),
    });
    renderTasks("/tasks?since=yesterday");
    expect(await screen.findByText("Input should be a valid datetime")).toBeInTheDocument();
    expect(screen.getByLabelText("Since")).toHaveAttribute("aria-invalid", "true");
  });
});
