import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";

import { PYTHON, ROOT, type PlatformInfo } from "./platform";

const READY_WITHIN_MS = 180_000;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === "object") resolve(address.port);
        else reject(new Error("no port"));
      });
    });
  });
}

function waitForReady(child: ChildProcess, logFile: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const log = () => readFileSync(logFile, "utf8");
    const timer = setInterval(() => {
      if (log().includes("SDP platform ready in")) {
        stop();
        resolve();
      } else if (Date.now() - started > READY_WITHIN_MS) {
        stop();
        reject(new Error(`the platform was not ready in time:\n${log().slice(-4000)}`));
      }
    }, 250);
    const started = Date.now();
    const onExit = (code: number | null) => {
      stop();
      reject(new Error(`the platform exited (${code}):\n${log().slice(-4000)}`));
    };
    const stop = () => {
      clearInterval(timer);
      child.off("exit", onExit);
    };
    child.on("exit", onExit);
  });
}

/** Start the platform for the whole run; the function returned stops it. */
export default async function globalSetup(): Promise<() => Promise<void>> {
  const [web, api, monitor, flower, redis] = await Promise.all(
    Array.from({ length: 5 }, () => freePort()),
  );
  const runDir = mkdtempSync(path.join(os.tmpdir(), "sdp-e2e-"));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    // Nothing answers on this port, so the launcher starts its own redis-server there.
    REDIS_URL: `redis://127.0.0.1:${redis}/0`,
    SDP_RUN_DIR: runDir,
    SDP_WEB_PORT: String(web),
    SDP_API_PORT: String(api),
    SDP_MONITOR_PORT: String(monitor),
    SDP_FLOWER_PORT: String(flower),
    SDP_WEB_DIST: path.join(ROOT, "web", "dist"),
    SDP_WORKER_HOSTNAME: `e2e-${api}@%h`,
  };
  // A file, not a pipe: supervisord opens /dev/stdout, which a socket (Node's pipes) refuses.
  const logFile = path.join(runDir, "platform.log");
  const output = openSync(logFile, "a");
  const child = spawn(PYTHON, [path.join(ROOT, "scripts", "run.py")], {
    cwd: ROOT,
    env,
    stdio: ["ignore", output, output],
  });
  closeSync(output);
  await waitForReady(child, logFile);
  const info: PlatformInfo = {
    web: `http://127.0.0.1:${web}`,
    api: `http://127.0.0.1:${api}`,
    monitor: `http://127.0.0.1:${monitor}`,
    runDir,
  };
  process.env.SDP_E2E_PLATFORM = JSON.stringify(info);
  process.env.SDP_E2E_BASE_URL = info.web;

  return async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
    // Ctrl-C, as a person stops `make run`: supervisord stops every program in order.
    child.kill("SIGINT");
    const killed = setTimeout(() => child.kill("SIGKILL"), 90_000);
    await exited;
    clearTimeout(killed);
  };
}
