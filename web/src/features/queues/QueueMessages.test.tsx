import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";

import { answer, fakeMonitor, renderAt } from "../../test/app";

const QUEUES = {
  items: [{ name: "etl", pending: 5, processing: 0, consumers: [] }],
};

const MESSAGES = {
  queue: "etl",
  items: [
    {
      id: "6a0c1e2f-0000-4000-8000-000000000001",
      task: "etl.transform",
      priority: 0,
      eta: null,
      expires: null,
      args: "[]",
      kwargs: "{'rows': 3}",
      size: 812,
      error: null,
    },
    {
      id: null,
      task: null,
      priority: 5,
      eta: null,
      expires: null,
      args: null,
      kwargs: null,
      size: 17,
      error: "not JSON: unexpected character",
    },
  ],
  counts: { "etl.transform": 1 },
  total: 5,
  truncated: true,
};

function platform(messages: ReturnType<typeof answer> = answer(200, MESSAGES)) {
  return fakeMonitor((url) => (url === "/api/v1/celery/queues" ? answer(200, QUEUES) : messages));
}

describe("A queue's messages", () => {
  it("shows a viewer the next messages in the order workers take them", async () => {
    const user = userEvent.setup();
    const { get } = platform();
    renderAt("/queues", "viewer");
    await user.click(await screen.findByRole("link", { name: "Messages of etl" }));

    const table = await screen.findByRole("table", { name: "Messages waiting in etl" });
    const [, first, second] = within(table).getAllByRole("row");
    expect(first).toHaveTextContent("1etl.transform0");
    expect(first).toHaveTextContent("{'rows': 3}");
    expect(first).toHaveTextContent("812 B");
    expect(second).toHaveTextContent("unreadable");
    expect(second).toHaveTextContent("not JSON: unexpected character");
    expect(
      screen.getByText(/The next 2 of 5 messages, in the order workers take them/),
    ).toBeVisible();
    expect(
      within(screen.getByRole("list", { name: "Messages by task" })).getByRole("listitem"),
    ).toHaveTextContent("etl.transform: 1");
    expect(get).toHaveBeenCalledWith("/api/v1/celery/queues/{queue}/messages", {
      params: { path: { queue: "etl" }, query: { limit: 100 } },
      signal: expect.any(AbortSignal),
    });

    await user.click(screen.getByRole("link", { name: "Close" }));
    expect(
      screen.queryByRole("table", { name: "Messages waiting in etl" }),
    ).not.toBeInTheDocument();
  });

  it("says when the queue is unknown", async () => {
    platform(
      answer(404, { error: { code: "not_found", message: "no queue named gone", fields: [] } }),
    );
    renderAt("/queues?messages=gone", "viewer");
    expect(await screen.findByRole("alert")).toHaveTextContent("The messages could not be read");
    expect(screen.getByRole("alert")).toHaveTextContent("no queue named gone");
  });
});
