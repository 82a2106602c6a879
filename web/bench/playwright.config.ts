/**
 * The console's benchmark (bench/web.py runs it): the e2e suite's browser and platform, with
 * the specs in this folder, which write their measurements as JSON into SDP_BENCH_OUT.
 */
import { defineConfig } from "@playwright/test";

import e2e from "../playwright.config";

export default defineConfig({
  ...e2e,
  testDir: ".",
  testMatch: "*.bench.ts",
  // Seeding, many cold loads and a 20 s event stream: far beyond a spec's usual time.
  timeout: 600_000,
  retries: 0,
  reporter: [["list"]],
  outputDir: "../test-results/bench",
  globalSetup: "../e2e/global-setup.ts",
});
