import { checkPage, expect, test, type Platform } from "./fixtures";
import { monitorReady, startProgram, supervisorctl } from "./platform";

// The last test stops the monitor; nothing may run beside it.
test.describe.configure({ mode: "serial" });

function unique(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e4)}`;
}

interface Schedule {
  id: string;
  run_count: number;
  state: string;
}

async function runCount(sdp: Platform, id: string): Promise<number> {
  return ((await sdp.call("GET", `/api/v1/schedules/${id}`, undefined, "viewer")) as Schedule)
    .run_count;
}

async function createThroughApi(sdp: Platform, name: string): Promise<Schedule> {
  return (await sdp.call("POST", "/api/v1/schedules", {
    name,
    task: "system.noop",
    trigger: { type: "interval", every: 1, unit: "hours" },
  })) as Schedule;
}

test("an operator creates a 2 s schedule, watches it run, pauses, runs it now and deletes it", async ({
  page,
  loginAs,
  sdp,
}) => {
  test.setTimeout(120_000);
  const name = unique("e2e-noop");
  await loginAs("operator");
  await page.goto("/schedules");
  await expect(page.getByRole("heading", { name: "Schedules", level: 1 })).toBeVisible();
  await checkPage(page, "schedules");

  await page.getByRole("button", { name: "New schedule" }).click();
  const form = page.getByRole("form", { name: "New schedule" });
  await form.getByLabel("Name").fill(name);
  await form.getByLabel("Task").selectOption("system.noop");
  await form.getByRole("radio", { name: "Interval" }).check();
  await form.getByLabel("Every").fill("2");
  await form.getByLabel("Unit").selectOption("seconds");
  await checkPage(page, "schedule-form");
  await form.getByRole("button", { name: "Create schedule" }).click();

  await expect(page.getByRole("heading", { name: `Schedule ${name}` })).toBeVisible();
  const id = new URL(page.url()).searchParams.get("schedule") ?? "";
  expect(id).not.toBe("");
  const row = page.getByRole("row").filter({ has: page.getByRole("rowheader", { name }) });
  await expect(row.getByRole("cell", { name: "every 2 s" })).toBeVisible();
  const shown = async () =>
    Number(((await row.getByTestId("run-count").textContent()) ?? "").replace(/\D/g, ""));
  await expect.poll(shown, { timeout: 45_000 }).toBeGreaterThanOrEqual(2);
  const detail = page.getByRole("region", { name: `Schedule ${name}` });
  await expect(detail.getByRole("link", { name: /^[0-9a-f-]{36}$/ }).first()).toBeVisible();
  await checkPage(page, "schedule-detail");

  await row.getByRole("button", { name: `Pause ${name}` }).click();
  await expect(row.getByText("paused", { exact: true })).toBeVisible();
  // A slot fired just before the pause may still be counted; then the count must hold.
  await page.waitForTimeout(2_500);
  const paused = await runCount(sdp, id);
  await page.waitForTimeout(6_000);
  expect(await runCount(sdp, id)).toBe(paused);
  await expect.poll(shown).toBe(paused);

  await row.getByRole("button", { name: `Run ${name} now` }).click();
  const sent = page.getByRole("status").getByRole("link", { name: /^[0-9a-f-]{36}$/ });
  await expect(sent).toBeVisible();
  const taskId = (await sent.textContent()) ?? "";
  await expect(sent).toHaveAttribute("href", `/tasks?task=${taskId}`);
  await sdp.waitForTask(taskId, ["SUCCESS"]);

  await row.getByRole("button", { name: `Delete ${name}` }).click();
  const dialog = page.getByRole("dialog", { name: "Delete schedule" });
  await expect(dialog).toContainText(name);
  await dialog.getByRole("button", { name: "Delete" }).click();
  await expect(page.getByRole("rowheader", { name })).toHaveCount(0);
  await expect(page.getByRole("region", { name: `Schedule ${name}` })).toHaveCount(0);
});

test("a bad crontab minute shows the API's message at the minute field", async ({
  page,
  loginAs,
  sdp,
}) => {
  const name = unique("e2e-cron");
  const doc = {
    name,
    task: "system.noop",
    trigger: {
      type: "crontab",
      minute: "61",
      hour: "*",
      day_of_month: "*",
      month_of_year: "*",
      day_of_week: "*",
      timezone: "UTC",
    },
  };
  const refused = await sdp.call("POST", "/api/v1/schedules", doc, "operator").then(
    () => null,
    (error: Error) => error.message,
  );
  const body = JSON.parse(refused?.slice(refused.indexOf("{")) ?? "{}") as {
    error: { fields: { field: string; message: string }[] };
  };
  const message = body.error.fields.find((entry) => entry.field.endsWith("minute"))?.message ?? "";
  expect(message).not.toBe("");

  await loginAs("operator");
  await page.goto("/schedules?new=1");
  const form = page.getByRole("form", { name: "New schedule" });
  await form.getByLabel("Name").fill(name);
  await form.getByLabel("Task").selectOption("system.noop");
  await form.getByRole("radio", { name: "Crontab" }).check();
  await form.getByLabel("Minute").fill("61");
  await form.getByLabel("Time zone").fill("Europe/Berlin");
  await form.getByRole("button", { name: "Create schedule" }).click();
  const minute = form.getByLabel("Minute");
  await expect(minute).toHaveAttribute("aria-invalid", "true");
  await expect(minute).toHaveAccessibleDescription(
    new RegExp(message.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")),
  );
  await expect(form.getByLabel("Hour")).not.toHaveAttribute("aria-invalid", "true");
  await expect(form.getByRole("alert").first()).toContainText("not saved");
});

test("an operator edits a schedule's trigger and arguments", async ({ page, loginAs, sdp }) => {
  const name = unique("e2e-edit");
  const schedule = (await sdp.call("POST", "/api/v1/schedules", {
    name,
    task: "system.sleep",
    kwargs: { seconds: 1 },
    trigger: { type: "interval", every: 1, unit: "hours" },
    enabled: false,
  })) as Schedule;
  try {
    await loginAs("operator");
    await page.goto(`/schedules?schedule=${schedule.id}`);
    const row = page.getByRole("row").filter({ has: page.getByRole("rowheader", { name }) });
    await row.getByRole("link", { name: `Edit ${name}` }).click();
    const form = page.getByRole("form", { name: `Edit ${name}` });
    await expect(form.getByLabel("Seconds (required)")).toHaveValue("1");
    await form.getByLabel("Seconds (required)").fill("0.5");
    await form.getByRole("radio", { name: "Crontab" }).check();
    await form.getByLabel("Minute").fill("30");
    await form.getByLabel("Hour").fill("2");
    await form.getByLabel("Day of week").fill("1-5");
    await form.getByLabel("Time zone").fill("Europe/Berlin");
    await form.getByRole("button", { name: "Save schedule" }).click();
    await expect(form).toHaveCount(0);
    await expect(row.getByRole("cell", { name: "02:30 on weekdays, Europe/Berlin" })).toBeVisible();
    const stored = (await sdp.call("GET", `/api/v1/schedules/${schedule.id}`)) as {
      kwargs: Record<string, unknown>;
      enabled: boolean;
    };
    expect(stored.kwargs).toEqual({ seconds: 0.5 });
    expect(stored.enabled).toBe(false);
  } finally {
    await sdp.call("DELETE", `/api/v1/schedules/${schedule.id}`);
  }
});

test("a viewer sees schedules but no create, pause, run or delete control", async ({
  page,
  loginAs,
  sdp,
}) => {
  const name = unique("e2e-viewer");
  const schedule = await createThroughApi(sdp, name);
  try {
    await loginAs("viewer");
    await page.goto(`/schedules?schedule=${schedule.id}`);
    await expect(page.getByRole("heading", { name: `Schedule ${name}` })).toBeVisible();
    await expect(page.getByRole("rowheader", { name })).toBeVisible();
    await expect(page.getByRole("button", { name: "New schedule" })).toHaveCount(0);
    await expect(page.getByRole("button", { name: /^(Pause|Resume|Delete|Run) / })).toHaveCount(0);
    await expect(page.getByRole("link", { name: /^Edit / })).toHaveCount(0);
    await page.goto("/schedules?new=1");
    await expect(page.getByRole("form", { name: "New schedule" })).toHaveCount(0);
  } finally {
    await sdp.call("DELETE", `/api/v1/schedules/${schedule.id}`);
  }
});

test("with the monitor stopped a banner names it and schedules still list and create", async ({
  page,
  loginAs,
  sdp,
}) => {
  test.setTimeout(180_000);
  const listed = unique("e2e-listed");
  const created = unique("e2e-nomonitor");
  const existing = await createThroughApi(sdp, listed);
  supervisorctl("stop", "monitor");
  try {
    await loginAs("operator");
    await page.goto("/schedules");
    await expect(page.getByRole("alert").filter({ hasText: "monitor is down" })).toBeVisible({
      timeout: 30_000,
    });
    await expect(page.getByRole("rowheader", { name: listed })).toBeVisible();

    await page.getByRole("button", { name: "New schedule" }).click();
    const form = page.getByRole("form", { name: "New schedule" });
    await form.getByLabel("Name").fill(created);
    await form.getByLabel("Task").selectOption("system.noop");
    await form.getByLabel("Every").fill("1");
    await form.getByLabel("Unit").selectOption("hours");
    await form.getByRole("button", { name: "Create schedule" }).click();
    await expect(page.getByRole("heading", { name: `Schedule ${created}` })).toBeVisible();
    await expect(page.getByRole("rowheader", { name: created })).toBeVisible();
  } finally {
    await startProgram("monitor", monitorReady);
    await sdp.call("DELETE", `/api/v1/schedules/${existing.id}`);
    const page1 = (await sdp.call("GET", `/api/v1/schedules?name=${created}`)) as {
      items: Schedule[];
    };
    for (const item of page1.items) await sdp.call("DELETE", `/api/v1/schedules/${item.id}`);
  }
});
