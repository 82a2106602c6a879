/** The specs' fixtures: the platform's URL as baseURL, sign-in by role, and API calls. */
import AxeBuilder from "@axe-core/playwright";
import { type APIRequestContext, type Page, expect, test as base } from "@playwright/test";

import { mintToken, platform, type Role } from "./platform";

export { expect } from "@playwright/test";

const tokens = new Map<Role, string>();

/** One token per role for the whole run (minting starts a Python process). */
export function token(role: Role): string {
  let minted = tokens.get(role);
  if (!minted) {
    minted = mintToken(role);
    tokens.set(role, minted);
  }
  return minted;
}

export interface Platform {
  /** Calls through the console's origin, as the browser makes them. */
  call(
    method: "GET" | "POST" | "PATCH" | "DELETE",
    url: string,
    body?: unknown,
    role?: Role,
  ): Promise<unknown>;
  /** Submit a catalogue task through the API; its id. */
  submitTask(
    task: string,
    kwargs?: Record<string, unknown>,
    options?: Record<string, unknown>,
  ): Promise<string>;
  /** Wait until the API reports the task in one of `states`; its status. */
  waitForTask(
    id: string,
    states: readonly string[],
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
}

async function call(
  request: APIRequestContext,
  method: string,
  url: string,
  body: unknown,
  role: Role,
): Promise<unknown> {
  const response = await request.fetch(url, {
    method,
    headers: { Authorization: `Bearer ${token(role)}` },
    ...(body === undefined ? {} : { data: body }),
  });
  const text = await response.text();
  if (!response.ok()) throw new Error(`${method} ${url}: ${response.status()} ${text}`);
  return text ? (JSON.parse(text) as unknown) : null;
}

export const test = base.extend<{
  loginAs: (role: Role) => Promise<void>;
  sdp: Platform;
}>({
  // The global setup chose the ports; the config file was read before it ran.
  baseURL: async ({}, use) => {
    await use(platform().web);
  },
  // No spec passes with an uncaught error in the page or a resource the CSP refused.
  page: async ({ page }, use) => {
    const problems: string[] = [];
    page.on("pageerror", (error) => problems.push(`uncaught: ${error.message}`));
    page.on("console", (message) => {
      if (message.type() === "error" && message.text().includes("Content Security Policy")) {
        problems.push(`csp: ${message.text()}`);
      }
    });
    await use(page);
    expect(problems, "errors in the page").toEqual([]);
  },
  loginAs: async ({ page }, use) => {
    await use(async (role: Role) => {
      await page.goto("/login");
      await page.getByLabel("Bearer token").fill(token(role));
      await page.getByRole("button", { name: "Sign in" }).click();
      await expect(page.getByTestId("role")).toHaveText(role);
    });
  },
  sdp: async ({ request }, use) => {
    const sdp: Platform = {
      call: (method, url, body, role = "admin") => call(request, method, url, body, role),
      async submitTask(task, kwargs = {}, options = {}) {
        const accepted = (await call(
          request,
          "POST",
          "/api/v1/tasks",
          { task, kwargs, ...options },
          "operator",
        )) as { id: string };
        return accepted.id;
      },
      async waitForTask(id, states, timeoutMs = 60_000) {
        let last: Record<string, unknown> = {};
        await expect
          .poll(
            async () => {
              last = (await call(
                request,
                "GET",
                `/api/v1/tasks/${id}`,
                undefined,
                "viewer",
              )) as Record<string, unknown>;
              return String(last.state);
            },
            { timeout: timeoutMs },
          )
          .toMatch(new RegExp(`^(${states.join("|")})$`));
        return last;
      },
    };
    await use(sdp);
  },
});

/**
 * No serious or critical axe violation on the page as it is now, and a screenshot of it kept
 * as a test artifact (test-results/screenshots/<name>.png).
 */
export async function checkPage(page: Page, name: string): Promise<void> {
  const results = await new AxeBuilder({ page }).analyze();
  const serious = results.violations
    .filter((violation) => violation.impact === "serious" || violation.impact === "critical")
    .map((violation) => ({
      id: violation.id,
      impact: violation.impact,
      help: violation.help,
      targets: violation.nodes.map((node) => node.target.join(" ")).slice(0, 5),
    }));
  expect(serious, `axe on ${name}`).toEqual([]);
  await page.screenshot({ path: `test-results/screenshots/${name}.png`, fullPage: true });
}
