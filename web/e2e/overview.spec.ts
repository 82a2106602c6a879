import { type Page } from "@playwright/test";

import { checkPage, expect, test } from "./fixtures";

const TASKS = 20;

async function processed(page: Page): Promise<number> {
  const text = await page.getByRole("group", { name: "Processed" }).textContent();
  return Number((text ?? "").replace(/\D/g, ""));
}

async function succeededInChart(page: Page): Promise<number> {
  const chart = page.getByRole("img", { name: /^Tasks over the last 15 minutes/ });
  const label = await chart.getAttribute("aria-label");
  const found = /(\d+) succeeded/.exec(label ?? "");
  if (!found?.[1]) throw new Error(`no count in the chart's name: ${label}`);
  return Number(found[1]);
}

test("the overview shows the worker and the queues, and moves live with 20 tasks", async ({
  page,
  loginAs,
  sdp,
}) => {
  await loginAs("admin");
  await expect(page.getByRole("heading", { name: "Overview", level: 1 })).toBeVisible();
  const indicator = page.getByRole("status", { name: "Updates" });
  await expect(indicator).toHaveText("Live");

  const workers = page.getByRole("table", { name: "Workers" });
  await expect(workers.getByRole("row").filter({ hasText: "online" })).toHaveCount(1);
  await expect(page.getByRole("meter", { name: /^Utilisation of / })).toHaveCount(1);
  await expect(page.getByRole("group", { name: "Workers online" })).toHaveText("Workers online1");
  const queues = page.getByRole("table", { name: "Queue lengths" });
  for (const name of ["collect", "etl", "system"]) {
    await expect(queues.getByRole("rowheader", { name, exact: true })).toBeVisible();
  }
  await expect(page.getByRole("group", { name: "Processed" })).toHaveText(/^Processed\d/);
  await checkPage(page, "overview");

  // A mark on this document: it is still there at the end only if the page never reloaded.
  await page.evaluate(() => document.documentElement.setAttribute("data-e2e-mark", "kept"));
  const processedBefore = await processed(page);
  const succeededBefore = await succeededInChart(page);

  const ids = await Promise.all(Array.from({ length: TASKS }, () => sdp.submitTask("system.noop")));
  await Promise.all(ids.map((id) => sdp.waitForTask(id, ["SUCCESS"])));

  await expect
    .poll(() => processed(page), { timeout: 30_000 })
    .toBeGreaterThanOrEqual(processedBefore + TASKS);
  await expect
    .poll(() => succeededInChart(page), { timeout: 30_000 })
    .toBeGreaterThanOrEqual(succeededBefore + TASKS);
  // The per-minute table beside the chart has them too.
  await page.getByText("The chart's numbers per minute").click();
  const table = page.getByRole("table", { name: /Tasks finished and queue depth per minute/ });
  await expect(table).toBeVisible();
  await expect(indicator).toHaveText("Live");
  await expect(page.locator("html")).toHaveAttribute("data-e2e-mark", "kept");
  await checkPage(page, "overview-after-tasks");
});
