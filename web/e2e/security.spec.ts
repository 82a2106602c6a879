import type { Page } from "@playwright/test";

import { expect, test, token } from "./fixtures";

const PAGES = ["Overview", "Workers", "Queues", "Tasks", "Schedules", "Audit"];

/** Every storage the page's origin can read back, as "where key=value" lines. */
async function stored(page: Page): Promise<{ local: string[]; session: string[]; cookie: string }> {
  return page.evaluate(() => {
    const dump = (storage: Storage) =>
      Array.from({ length: storage.length }, (_, i) => storage.key(i) ?? "").map(
        (key) => `${key}=${storage.getItem(key) ?? ""}`,
      );
    return { local: dump(localStorage), session: dump(sessionStorage), cookie: document.cookie };
  });
}

test("the token stays out of every URL, localStorage and cookies, and a logout clears it", async ({
  page,
  loginAs,
  sdp,
}) => {
  const secret = token("admin");
  // A token cut short is still a leak: its signature alone would do for a log reader.
  const signature = secret.split(".")[2] ?? secret;
  const leaks = (text: string) => text.includes(secret) || text.includes(signature);
  const urls: string[] = [];
  let authorized = 0;
  page.on("request", (request) => {
    urls.push(request.url());
    if (request.headers()["authorization"] === `Bearer ${secret}`) authorized += 1;
  });
  page.on("framenavigated", (frame) => urls.push(frame.url()));
  const id = await sdp.submitTask("system.noop");

  await loginAs("admin");
  const nav = page.getByRole("navigation", { name: "Main" });
  for (const name of PAGES) {
    await nav.getByRole("link", { name, exact: true }).click();
    await expect(page.getByRole("heading", { level: 1, name })).toBeVisible();
    urls.push(page.url());
  }
  // Loaded afresh too: the session comes back from this tab's storage, not from the URL.
  for (const path of ["/", "/workers", "/queues", `/tasks?name=system.noop`, "/schedules"]) {
    await page.goto(path);
    await expect(page.getByTestId("role")).toHaveText("admin");
    urls.push(page.url());
  }
  await page.goto(`/tasks?task=${id}`);
  urls.push(page.url());

  expect(authorized, "the API calls carry the token in their header").toBeGreaterThan(5);
  expect(urls.length).toBeGreaterThan(PAGES.length);
  expect(urls.filter(leaks), "URLs holding the token").toEqual([]);
  const { local, session, cookie } = await stored(page);
  expect(local.filter(leaks), "localStorage").toEqual([]);
  expect(leaks(cookie), "document.cookie").toBe(false);
  expect(session.filter(leaks), "sessionStorage holds it once, as the console keeps it").toEqual([
    `sdp.token=${secret}`,
  ]);

  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page.getByRole("status")).toHaveText("You logged out.");
  const after = await stored(page);
  expect([...after.local, ...after.session, after.cookie].filter(leaks), "after logout").toEqual(
    [],
  );
  // Nothing is left to restore a session from.
  await page.goto("/workers");
  await expect(page).toHaveURL(/\/login/);
});
