import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";

import type { Role } from "../../auth/token";
import { answer, fakeMonitor, renderAt } from "../../test/app";

const QUEUES = {
  items: [
    { name: "collect", pending: 0, processing: 0, consumers: ["celery@alpha"] },
    { name: "etl", pending: 3, processing: 1, consumers: ["celery@alpha"] },
    { name: "system", pending: 0, processing: 0, consumers: [] },
  ],
};

function platform() {
  return fakeMonitor((url, init) => {
    if (url === "/api/v1/celery/queues") return answer(200, QUEUES);
    const queue = (init as { params: { path: { queue: string } } }).params.path.queue;
    return queue === "system"
      ? answer(409, { error: { code: "conflict", message: "the broker refused", fields: [] } })
      : answer(200, { queue, purged: 3 });
  });
}

describe("Queues page", () => {
  it.each<Role>(["viewer", "operator"])("shows a %s every queue and no purge", async (role) => {
    platform();
    renderAt("/queues", role);
    const row = (await screen.findByRole("rowheader", { name: "etl" })).closest(
      "tr",
    ) as HTMLElement;
    expect(within(row).getByText("3")).toBeInTheDocument();
    expect(within(row).getByText("celery@alpha")).toBeInTheDocument();
    expect(screen.getByRole("rowheader", { name: "system" })).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: /Purge/ })).not.toBeInTheDocument();
  });

  it("purges a queue for an admin after the dialog names it and its count", async () => {
    const user = userEvent.setup();
    const { post } = platform();
    renderAt("/queues", "admin");
    await user.click(await screen.findByRole("button", { name: "Purge etl" }));
    const dialog = screen.getByRole("dialog", { name: "Purge etl?" });
    expect(dialog).toHaveTextContent("Delete the 3 waiting messages");
    expect(within(dialog).getByText("etl")).toBeInTheDocument();
    await user.click(within(dialog).getByRole("button", { name: "Cancel" }));
    expect(post).not.toHaveBeenCalled();

    await user.click(screen.getByRole("button", { name: "Purge etl" }));
    await user.click(within(screen.getByRole("dialog")).getByRole("button", { name: "Purge" }));
    expect(await screen.findByRole("status")).toHaveTextContent("Purged 3 messages from etl.");
    expect(post).toHaveBeenCalledWith("/api/v1/celery/queues/{queue}/purge", {
      params: { path: { queue: "etl" } },
    });
    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
  });

  it("shows a refused purge", async () => {
    const user = userEvent.setup();
    platform();
    renderAt("/queues", "admin");
    await user.click(await screen.findByRole("button", { name: "Purge system" }));
    await user.click(within(screen.getByRole("dialog")).getByRole("button", { name: "Purge" }));
    expect(await screen.findByRole("alert")).toHaveTextContent(
      "The purge was refused (409): the broker refused",
    );
  });

  it("filters by name from the URL", async () => {
    platform();
    renderAt("/queues?name=co", "viewer");
    expect(await screen.findByRole("rowheader", { name: "collect" })).toBeInTheDocument();
    expect(screen.queryByRole("rowheader", { name: "etl" })).not.toBeInTheDocument();
    expect(screen.getByLabelText("Name contains")).toHaveValue("co");
  });
});
