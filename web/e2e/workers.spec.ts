import type { Page } from "@playwright/test";

import { checkPage, expect, test } from "./fixtures";

interface WorkerInfo {
  name: string;
  online: boolean;
  concurrency: number | null;
  pool: string | null;
}

const EXTRA_QUEUE = "e2e-workers-extra";
const CONTROLS = [
  "Shut down",
  "Restart pool",
  "Grow",
  "Shrink",
  "Autoscale",
  "Add consumer",
  "Cancel consumer",
];

async function onlineWorker(
  call: (method: "GET", url: string) => Promise<unknown>,
): Promise<WorkerInfo> {
  let found: WorkerInfo | undefined;
  await expect
    .poll(async () => {
      const list = (await call("GET", "/api/v1/celery/workers")) as { items: WorkerInfo[] };
      found = list.items.find((worker) => worker.online && worker.concurrency !== null);
      return found !== undefined;
    })
    .toBe(true);
  return found as WorkerInfo;
}

/** Open the dialog of `control` for the selected workers, check it names `worker`, confirm. */
async function confirmControl(
  page: Page,
  control: string,
  title: string,
  worker: string,
  screenshot?: string,
) {
  await page.getByRole("button", { name: control, exact: true }).click();
  const dialog = page.getByRole("dialog", { name: title });
  await expect(dialog).toBeVisible();
  await expect(dialog.getByRole("listitem")).toHaveText([worker]);
  if (screenshot) await checkPage(page, screenshot);
  await dialog.getByRole("button", { name: control, exact: true }).click();
  await expect(dialog).toBeHidden({ timeout: 30_000 });
}

function answers(page: Page, what: string) {
  return page.getByRole("table", { name: `Each worker's answer to: ${what}` });
}

test("an admin resizes a worker's pool and adds and cancels a consumer, each confirmed", async ({
  page,
  loginAs,
  sdp,
}) => {
  const worker = await onlineWorker(sdp.call);
  const before = worker.concurrency as number;
  await loginAs("admin");
  await page
    .getByRole("navigation", { name: "Main" })
    .getByRole("link", { name: "Workers" })
    .click();

  const row = page
    .getByRole("table", { name: "Workers", exact: true })
    .getByRole("row", { name: new RegExp(worker.name) });
  await expect(row.getByText("online")).toBeVisible();
  await expect(row.getByRole("cell", { name: String(worker.pool), exact: true })).toBeVisible();
  await expect(row.getByRole("cell", { name: String(before), exact: true }).first()).toBeVisible();
  await expect(row.getByRole("meter", { name: `Utilisation of ${worker.name}` })).toBeVisible();
  await checkPage(page, "workers");

  await page.getByRole("checkbox", { name: `Select ${worker.name}` }).check();

  // Shutdown only as far as the dialog: the other specs need this worker.
  await page.getByRole("button", { name: "Shut down", exact: true }).click();
  const shutdown = page.getByRole("dialog", { name: "Shut down workers?" });
  await expect(shutdown.getByRole("listitem")).toHaveText([worker.name]);
  await shutdown.getByRole("button", { name: "Cancel", exact: true }).click();
  await expect(shutdown).toBeHidden();

  await page.getByLabel("Processes (n)").fill("1");
  await confirmControl(page, "Grow", "Grow pools?", worker.name, "workers-dialog");
  const grew = answers(page, "grow the pool by 1").getByRole("row", {
    name: new RegExp(worker.name),
  });
  await expect(grew.getByRole("cell")).toHaveText(["ok", /.*/, String(before), String(before + 1)]);
  await expect(
    row.getByRole("cell", { name: String(before + 1), exact: true }).first(),
  ).toBeVisible();

  await confirmControl(page, "Shrink", "Shrink pools?", worker.name);
  const shrank = answers(page, "shrink the pool by 1").getByRole("row", {
    name: new RegExp(worker.name),
  });
  await expect(shrank.getByRole("cell")).toHaveText([
    "ok",
    /.*/,
    String(before + 1),
    String(before),
  ]);

  await page.getByLabel("Queue").fill(EXTRA_QUEUE);
  await confirmControl(page, "Add consumer", "Add a consumer?", worker.name);
  await expect(
    answers(page, `start consuming ${EXTRA_QUEUE}`).getByRole("row", {
      name: new RegExp(worker.name),
    }),
  ).toContainText("ok");
  await expect(row).toContainText(EXTRA_QUEUE);

  await confirmControl(page, "Cancel consumer", "Cancel a consumer?", worker.name);
  await expect(
    answers(page, `stop consuming ${EXTRA_QUEUE}`).getByRole("row", {
      name: new RegExp(worker.name),
    }),
  ).toContainText("ok");
  await expect(row).not.toContainText(EXTRA_QUEUE);

  // Cancelling it again is refused by the API, and the refusal shows beside the field.
  await confirmControl(page, "Cancel consumer", "Cancel a consumer?", worker.name);
  await expect(page.getByRole("alert").filter({ hasText: "Refused (409)" })).toContainText(
    "does not consume",
  );
  await expect(page.getByLabel("Queue")).toHaveAttribute("aria-invalid", "true");
});

test("an admin purges a queue that filled up, after a dialog naming it and its count", async ({
  page,
  loginAs,
  sdp,
}) => {
  const worker = await onlineWorker(sdp.call);
  const consumers = `/api/v1/celery/worker/${encodeURIComponent(worker.name)}/queues`;
  // No consumer on etl for a while, so what is sent there waits to be purged.
  await sdp.call("POST", consumers, { action: "cancel", queue: "etl" });
  try {
    for (let i = 0; i < 3; i += 1) await sdp.submitTask("system.noop", {}, { queue: "etl" });
    await loginAs("admin");
    await page
      .getByRole("navigation", { name: "Main" })
      .getByRole("link", { name: "Queues" })
      .click();
    const table = page.getByRole("table", { name: "Queues", exact: true });
    for (const name of ["collect", "etl", "system"]) {
      await expect(table.getByRole("rowheader", { name, exact: true })).toBeVisible();
    }
    const etl = table
      .getByRole("row")
      .filter({ has: page.getByRole("rowheader", { name: "etl", exact: true }) });
    await expect(etl.getByRole("cell").first()).toHaveText("3");
    await checkPage(page, "queues");

    await etl.getByRole("button", { name: "Purge etl" }).click();
    const dialog = page.getByRole("dialog", { name: "Purge etl?" });
    await expect(dialog).toContainText("Delete the 3 waiting messages");
    await expect(dialog.getByRole("listitem")).toHaveText(["etl"]);
    await checkPage(page, "queues-dialog");
    await dialog.getByRole("button", { name: "Purge", exact: true }).click();
    await expect(page.getByRole("status")).toHaveText("Purged 3 messages from etl.");
    await expect(etl.getByRole("cell").first()).toHaveText("0");
  } finally {
    await sdp.call("POST", consumers, { action: "add", queue: "etl" });
  }
});

test("a viewer sees workers and queues but no control on either", async ({
  page,
  loginAs,
  sdp,
}) => {
  const worker = await onlineWorker(sdp.call);
  await loginAs("viewer");
  await page.goto("/workers");
  await expect(
    page
      .getByRole("table", { name: "Workers", exact: true })
      .getByRole("row", { name: new RegExp(worker.name) }),
  ).toContainText("online");
  for (const name of CONTROLS) await expect(page.getByRole("button", { name })).toHaveCount(0);
  await expect(page.getByRole("checkbox")).toHaveCount(0);
  await expect(page.getByLabel("Queue")).toHaveCount(0);

  // The open worker is a deep link that survives a reload.
  await page.getByRole("link", { name: worker.name, exact: true }).click();
  await expect(page).toHaveURL(/[?&]worker=/);
  await page.reload();
  const detail = page.getByRole("region", { name: `Worker ${worker.name}` });
  await expect(detail).toContainText(String(worker.pool));
  await expect(detail).toContainText("Load (1, 5, 15 min)");

  await page.goto("/queues");
  await expect(page.getByRole("rowheader", { name: "system", exact: true })).toBeVisible();
  await expect(page.getByRole("button", { name: /purge/i })).toHaveCount(0);
});
