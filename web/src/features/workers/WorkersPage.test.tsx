import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";

import type { Role } from "../../auth/token";
import type { Worker } from "./api";
import { answer, fakeMonitor, renderAt } from "../../test/app";

const NAME = "celery@alpha";

function worker(name: string, overrides: Partial<Worker> = {}): Worker {
  return {
    name,
    online: true,
    last_heartbeat: new Date().toISOString(),
    pool: "prefork",
    concurrency: 2,
    active: 1,
    processed: 42,
    utilisation: 0.5,
    loadavg: [0.5, 0.25, 0.125],
    queues: ["collect", "etl", "system"],
    software: "celery 5.5",
    system: "Linux",
    pid: 100,
    ...overrides,
  };
}

const WORKERS = {
  items: [worker(NAME), worker("celery@beta", { online: false, utilisation: null })],
};

/** The monitor with two workers; POSTs answered by `post`. */
function platform(
  post: (url: string, init: unknown) => ReturnType<typeof answer> = () => answer(500, {}),
) {
  return fakeMonitor((url, init) =>
    url === "/api/v1/celery/workers" ? answer(200, WORKERS) : post(url, init),
  );
}

const CONTROLS = [
  "Shut down",
  "Restart pool",
  "Grow",
  "Shrink",
  "Autoscale",
  "Add consumer",
  "Cancel consumer",
];

describe("Workers page", () => {
  it.each<Role>(["viewer", "operator"])("shows a %s the workers and no control", async (role) => {
    platform();
    renderAt("/workers", role);
    const row = (await screen.findByRole("link", { name: NAME })).closest("tr");
    expect(row).not.toBeNull();
    const cells = within(row as HTMLElement);
    expect(cells.getByText("online")).toBeInTheDocument();
    expect(cells.getByText("prefork")).toBeInTheDocument();
    expect(cells.getByRole("meter", { name: `Utilisation of ${NAME}` })).toHaveAttribute(
      "value",
      "0.5",
    );
    expect(cells.getByText("0.50 / 0.25 / 0.13")).toBeInTheDocument();
    for (const name of CONTROLS)
      expect(screen.queryByRole("button", { name })).not.toBeInTheDocument();
    expect(screen.queryByRole("checkbox")).not.toBeInTheDocument();
  });

  it("gives an admin every control", async () => {
    platform();
    renderAt("/workers", "admin");
    await screen.findByRole("checkbox", { name: `Select ${NAME}` });
    for (const name of CONTROLS) expect(screen.getByRole("button", { name })).toBeInTheDocument();
  });

  it("names the selected workers in the dialog, and Cancel sends nothing", async () => {
    const user = userEvent.setup();
    const { post } = platform();
    renderAt("/workers", "admin");
    await user.click(await screen.findByRole("checkbox", { name: "Select all workers" }));
    await user.click(screen.getByRole("button", { name: "Shut down" }));
    const dialog = screen.getByRole("dialog", { name: "Shut down workers?" });
    expect(within(dialog).getByText(NAME)).toBeInTheDocument();
    expect(within(dialog).getByText("celery@beta")).toBeInTheDocument();
    await user.click(within(dialog).getByRole("button", { name: "Cancel" }));
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
    expect(post).not.toHaveBeenCalled();
  });

  it("shows each worker's answer to a grow", async () => {
    const user = userEvent.setup();
    const { post } = platform(() =>
      answer(200, {
        action: "worker.pool_grow",
        results: [
          {
            worker: NAME,
            ok: true,
            message: "pool grew by 1",
            processes_before: 2,
            processes_after: 3,
          },
        ],
      }),
    );
    renderAt("/workers", "admin");
    await user.click(await screen.findByRole("checkbox", { name: `Select ${NAME}` }));
    await user.click(screen.getByRole("button", { name: "Grow" }));
    const dialog = screen.getByRole("dialog", { name: "Grow pools?" });
    expect(within(dialog).getByText(NAME)).toBeInTheDocument();
    expect(within(dialog).queryByText("celery@beta")).not.toBeInTheDocument();
    await user.click(within(dialog).getByRole("button", { name: "Grow" }));

    const answers = await screen.findByRole("table", { name: /answer to: grow the pool by 1/ });
    const row = within(answers).getByRole("row", { name: new RegExp(NAME) });
    expect(within(row).getByText("ok")).toBeInTheDocument();
    expect(within(row).getByText("pool grew by 1")).toBeInTheDocument();
    expect(within(row).getByText("2")).toBeInTheDocument();
    expect(within(row).getByText("3")).toBeInTheDocument();
    expect(screen.getByRole("status")).toHaveTextContent("1 of 1 worker did it");
    expect(post).toHaveBeenCalledWith("/api/v1/celery/worker/pool/grow", {
      body: { workers: [NAME], n: 1 },
    });
    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
  });

  it("shows a 409 refusal beside the queue field", async () => {
    const user = userEvent.setup();
    const message = `${NAME} already consumes etl`;
    const { post } = platform(() =>
      answer(409, {
        error: {
          code: "conflict",
          message: `${message} (it consumes: collect, etl, system)`,
          fields: [{ field: "queue", message }],
        },
      }),
    );
    renderAt("/workers", "admin");
    await user.click(await screen.findByRole("checkbox", { name: `Select ${NAME}` }));
    await user.type(screen.getByLabelText("Queue"), "etl");
    await user.click(screen.getByRole("button", { name: "Add consumer" }));
    await user.click(
      within(screen.getByRole("dialog")).getByRole("button", { name: "Add consumer" }),
    );

    expect(await screen.findByText(message)).toBeInTheDocument();
    expect(screen.getByLabelText("Queue")).toHaveAttribute("aria-invalid", "true");
    expect(screen.getByText(/Refused \(409\)/)).toHaveTextContent(
      "it consumes: collect, etl, system",
    );
    expect(post).toHaveBeenCalledWith("/api/v1/celery/worker/{name}/queues", {
      params: { path: { name: NAME } },
      body: { action: "add", queue: "etl" },
    });
  });

  it("shows a 422 beside n, and asks for a whole number before any dialog", async () => {
    const user = userEvent.setup();
    const message = "a pool keeps 1 to 256 processes: celery@alpha would have 302";
    platform(() =>
      answer(422, {
        error: { code: "invalid", message: "n: " + message, fields: [{ field: "n", message }] },
      }),
    );
    renderAt("/workers", "admin");
    await user.click(await screen.findByRole("checkbox", { name: `Select ${NAME}` }));
    const n = screen.getByLabelText("Processes (n)");
    await user.clear(n);
    await user.click(screen.getByRole("button", { name: "Grow" }));
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
    expect(n).toHaveAccessibleDescription("A whole number");

    await user.type(n, "300");
    await user.click(screen.getByRole("button", { name: "Grow" }));
    await user.click(
      within(screen.getByRole("dialog", { name: "Grow pools?" })).getByRole("button", {
        name: "Grow",
      }),
    );
    await waitFor(() => expect(n).toHaveAccessibleDescription(message));
    expect(screen.getByText(/Refused \(422\)/)).toBeInTheDocument();
  });

  it("opens a worker's full stats from the URL and filters by state", async () => {
    platform();
    renderAt(`/workers?worker=${encodeURIComponent(NAME)}&show=offline`, "viewer");
    const detail = await screen.findByRole("region", { name: `Worker ${NAME}` });
    expect(await within(detail).findByText("Linux")).toBeInTheDocument();
    expect(within(detail).getByText("100")).toBeInTheDocument();
    expect(screen.getByLabelText("Show")).toHaveValue("offline");
    const table = screen.getByRole("table", { name: "Workers" });
    expect(within(table).getByRole("link", { name: "celery@beta" })).toBeInTheDocument();
    expect(within(table).queryByRole("link", { name: NAME })).not.toBeInTheDocument();
  });
});
