import { defineConfig } from "@playwright/test";

// Debian's chromium: Playwright's own download is not reachable from every machine.
const executablePath = process.env.SDP_CHROMIUM ?? "/usr/bin/chromium";

export default defineConfig({
  testDir: "e2e",
  // One platform serves every spec; two cores run it, so the specs take turns.
  workers: 1,
  fullyParallel: false,
  forbidOnly: true,
  timeout: 90_000,
  expect: { timeout: 20_000 },
  reporter: [["list"], ["html", { open: "never", outputFolder: "playwright-report" }]],
  outputDir: "test-results/output",
  globalSetup: "./e2e/global-setup.ts",
  use: {
    baseURL: process.env.SDP_E2E_BASE_URL,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    launchOptions: {
      executablePath,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
      ],
    },
  },
});
