import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";

import { answer, fakeMonitor, renderAt } from "../../test/app";

const ENTRY = {
  id: "1764770400000-0",
  at: "2026-12-03T14:00:00Z",
  subject: "ada",
  role: "admin",
  action: "queue.purge",
  target: "etl",
  result: "ok",
  detail: "purged 3",
};

describe("Audit page", () => {
  it("lists entries and pages on along the cursor", async () => {
    const user = userEvent.setup();
    const { get } = fakeMonitor((_url, init) => {
      const query = (init as { params: { query: { cursor?: string } } }).params.query;
      return query.cursor
        ? answer(200, {
            items: [{ ...ENTRY, id: "2", action: "task.cancel", target: "t-1" }],
            next_cursor: null,
          })
        : answer(200, { items: [ENTRY], next_cursor: "c1" });
    });
    renderAt("/audit", "admin");
    expect(await screen.findByText("queue.purge")).toBeInTheDocument();
    expect(screen.getByText("purged 3")).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Load more" }));
    expect(await screen.findByText("task.cancel")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Load more" })).not.toBeInTheDocument();
    expect(get).toHaveBeenLastCalledWith(
      "/api/v1/celery/audit",
      expect.objectContaining({ params: { query: expect.objectContaining({ cursor: "c1" }) } }),
    );
  });

  it("puts the filters in the URL and sends them", async () => {
    const user = userEvent.setup();
    const { get } = fakeMonitor(() => answer(200, { items: [], next_cursor: null }));
    const { router } = renderAt("/audit", "admin");
    await user.type(await screen.findByLabelText("Action"), "queue.purge");
    await user.type(screen.getByLabelText("Target starts with"), "et");
    await user.selectOptions(screen.getByLabelText("Result"), "partial");
    await user.click(screen.getByRole("button", { name: "Filter" }));
    await waitFor(() =>
      expect(router.state.location.search).toEqual({
        action: "queue.purge",
        target: "et",
        result: "partial",
      }),
    );
    await waitFor(() =>
      expect(get).toHaveBeenLastCalledWith(
        "/api/v1/celery/audit",
        expect.objectContaining({
          params: {
            query: expect.objectContaining({
              action: "queue.purge",
              target: "et",
              result: "partial",
            }),
          },
        }),
      ),
    );
    expect(await screen.findByText("No audit entries match.")).toBeInTheDocument();
  });

  it("shows the monitor's message beside the field it names", async () => {
    fakeMonitor(() =>
      answer(422, {
        error: {
          code: "validation_error",
          message: "invalid query",
          fields: [{ field: "since", message: "since is after until" }],
        },
      }),
    );
    renderAt("/audit?since=2026-12-03T15:00:00.000Z&until=2026-12-03T14:00:00.000Z", "admin");
    expect(await screen.findByText("since is after until")).toBeInTheDocument();
    expect(screen.getByLabelText("From")).toHaveAttribute("aria-invalid", "true");
  });

  it("is not shown to an operator", async () => {
    fakeMonitor(() => answer(200, { items: [], next_cursor: null }));
    const { router } = renderAt("/audit", "operator");
    await waitFor(() => expect(router.state.location.pathname).toBe("/"));
    expect(screen.queryByRole("link", { name: "Audit" })).not.toBeInTheDocument();
  });
});
