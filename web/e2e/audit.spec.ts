import { checkPage, expect, test } from "./fixtures";

test("an admin finds an action in the audit log by its filters", async ({ page, loginAs, sdp }) => {
  // An action to find: a task cancelled (before it runs) through the monitor, as an admin.
  const id = await sdp.submitTask("system.noop", {}, { countdown: 600 });
  await sdp.call("POST", `/api/v1/celery/task/${id}/cancel`, {}, "admin");

  await loginAs("admin");
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Audit" }).click();
  await expect(page.getByRole("heading", { name: "Audit" })).toBeVisible();
  await page.getByLabel("Action").fill("task.cancel");
  await page.getByLabel("Target starts with").fill(id.slice(0, 8));
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page).toHaveURL(/action=task.cancel/);
  const row = page.getByRole("row", { name: new RegExp(id) });
  await expect(row).toContainText("e2e-admin");
  await expect(row).toContainText("OK");
  await checkPage(page, "audit");

  // The filters survive a reload, and another action's filter finds nothing of it.
  await page.reload();
  await expect(page.getByLabel("Action")).toHaveValue("task.cancel");
  await expect(page.getByRole("row", { name: new RegExp(id) })).toBeVisible();
  await page.getByLabel("Action").fill("queue.purge");
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page.getByRole("row", { name: new RegExp(id) })).toHaveCount(0);
});

test("an operator has no audit page", async ({ page, loginAs }) => {
  await loginAs("operator");
  await expect(page.getByRole("link", { name: "Audit" })).toHaveCount(0);
  await page.goto("/audit");
  await expect(page).toHaveURL(/\/$/);
});
