import type { Page } from "@playwright/test";

import { checkPage, expect, test } from "./fixtures";

function detail(page: Page, id: string) {
  return page.getByRole("region", { name: `Task ${id}` });
}

/** The value beside a label in the detail's list. */
function field(page: Page, id: string, label: string) {
  return detail(page, id)
    .locator("dt", { hasText: new RegExp(`^${label}$`) })
    .locator("+ dd");
}

test("find a task by name in the history and open it", async ({ page, loginAs, sdp }) => {
  const id = await sdp.submitTask("system.noop");
  await sdp.waitForTask(id, ["SUCCESS"]);
  await loginAs("viewer");

  await page.goto("/tasks");
  await page.getByLabel("Name").fill("system.noop");
  await page.getByRole("button", { name: "Search" }).click();
  await expect(page).toHaveURL(/name=system\.noop/);
  const history = page.getByRole("table", { name: "Task history" });
  const link = history.getByRole("link", { name: `Open task ${id}` });
  // The monitor records the task from its events, a moment after the API reports it done.
  await expect(async () => {
    await page.getByRole("button", { name: "Refresh" }).click();
    await expect(link).toBeVisible({ timeout: 2_000 });
  }).toPass();
  await checkPage(page, "tasks");

  await link.click();
  await expect(page).toHaveURL(new RegExp(`task=${id}`));
  await expect(field(page, id, "State")).toContainText("SUCCESS");
  await expect(field(page, id, "Name")).toHaveText("system.noop");
  await checkPage(page, "task-detail");
});

test("open a task by id, and a reload keeps the filters and the open task", async ({
  page,
  loginAs,
  sdp,
}) => {
  const id = await sdp.submitTask("system.noop");
  await sdp.waitForTask(id, ["SUCCESS"]);
  await loginAs("viewer");

  await page.goto("/tasks?state=SUCCESS&queue=system");
  await page.getByLabel("Task id").fill(id);
  await page.getByRole("button", { name: "Open" }).click();
  await expect(field(page, id, "State")).toContainText("SUCCESS");

  await page.reload();
  await expect(page.getByLabel("State")).toHaveValue("SUCCESS");
  await expect(page.getByLabel("Queue")).toHaveValue("system");
  await expect(field(page, id, "State")).toContainText("SUCCESS");

  await page.getByLabel("Task id").fill("no-such-task");
  await page.getByRole("button", { name: "Open" }).click();
  await expect(detail(page, "no-such-task").getByRole("alert")).toHaveText("No task with that id");
});

test("cancel a running task with terminate and see it REVOKED", async ({ page, loginAs, sdp }) => {
  const id = await sdp.submitTask("system.sleep", { seconds: 60 });
  await sdp.waitForTask(id, ["STARTED"]);
  await loginAs("operator");

  await page.goto(`/tasks?task=${id}`);
  await expect(field(page, id, "State")).toContainText("STARTED");
  await detail(page, id).getByRole("button", { name: "Cancel task" }).click();
  const dialog = page.getByRole("dialog", { name: "Cancel this task?" });
  await expect(dialog).toContainText(id);
  await dialog.getByLabel("Terminate the running process").check();
  await dialog.getByRole("button", { name: "Revoke task" }).click();

  await expect(detail(page, id).getByRole("status")).toContainText("the task is REVOKED");
  await expect(field(page, id, "State")).toContainText("REVOKED");
  await sdp.waitForTask(id, ["REVOKED"]);
});

test("retry a failed task and see the new task with retry_of", async ({ page, loginAs, sdp }) => {
  // No payload under this id: the transform fails at once, with no retry of its own.
  const id = await sdp.submitTask("etl.transform", { source: "e2e-missing-payload" });
  await sdp.waitForTask(id, ["FAILURE"]);
  await loginAs("operator");

  await page.goto(`/tasks?task=${id}`);
  await expect(field(page, id, "State")).toContainText("FAILURE");
  await expect(field(page, id, "Exception")).toContainText("not found");
  await detail(page, id).getByRole("button", { name: "Retry" }).click();

  await expect(page).not.toHaveURL(new RegExp(`task=${id}`));
  const retried = new URL(page.url()).searchParams.get("task");
  expect(retried).toBeTruthy();
  const retryOf = field(page, retried!, "Retry of");
  await expect(retryOf.getByRole("link", { name: id })).toBeVisible();
  await expect(field(page, retried!, "State")).toContainText("FAILURE");

  await retryOf.getByRole("link", { name: id }).click();
  await expect(field(page, id, "State")).toContainText("FAILURE");
});

test("a viewer sees no cancel or retry", async ({ page, loginAs, sdp }) => {
  const id = await sdp.submitTask("etl.transform", { source: "e2e-missing-payload" });
  await sdp.waitForTask(id, ["FAILURE"]);
  await loginAs("viewer");

  await page.goto(`/tasks?task=${id}`);
  await expect(field(page, id, "State")).toContainText("FAILURE");
  await expect(detail(page, id).getByRole("button")).toHaveCount(0);
});
