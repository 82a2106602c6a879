/**
 * The platform the specs run against: `scripts/run.py`, as `make run` starts it, on free ports
 * with its own redis-server and run directory. The global setup starts it and publishes where
 * it is through SDP_E2E_* variables, which the spec workers inherit.
 */
import { execFileSync, spawn } from "node:child_process";
import path from "node:path";

export const ROOT = path.resolve(import.meta.dirname, "..", "..");
export const PYTHON = process.env.SDP_PYTHON ?? "python3";

export type Role = "viewer" | "operator" | "admin";
export type Program = "api" | "monitor" | "beat" | "worker" | "flower" | "web";

export interface PlatformInfo {
  web: string;
  api: string;
  monitor: string;
  runDir: string;
}

export function platform(): PlatformInfo {
  const info = process.env.SDP_E2E_PLATFORM;
  if (!info)
    throw new Error("SDP_E2E_PLATFORM is unset: run the specs through playwright.config.ts");
  return JSON.parse(info) as PlatformInfo;
}

/** A bearer token of the run's secret, minted by the API's own command. */
export function mintToken(role: Role, ttlS = 3_600, runDir = platform().runDir): string {
  return execFileSync(
    PYTHON,
    ["-m", "sdp_api.token", "--role", role, "--subject", `e2e-${role}`, "--ttl", String(ttlS)],
    {
      cwd: ROOT,
      encoding: "utf8",
      env: { ...process.env, SDP_RUN_DIR: runDir, ...devSecrets(runDir) },
    },
  ).trim();
}

/** The run's development secrets (scripts/devenv.py keeps them in the run directory). */
export function devSecrets(runDir: string): Record<string, string> {
  const out = execFileSync(PYTHON, [path.join(ROOT, "scripts", "devenv.py")], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, SDP_RUN_DIR: runDir },
  });
  const env: Record<string, string> = {};
  for (const line of out.split("\n")) {
    const found = /^export (\w+)=(.*)$/.exec(line);
    if (found?.[1] && found[2] !== undefined) env[found[1]] = found[2];
  }
  return env;
}

/** `supervisorctl stop|start <program>` on the run's supervisord; its output. */
export function supervisorctl(action: "stop" | "start" | "status", program?: Program): string {
  const config = path.join(platform().runDir, "supervisord.conf");
  const args = ["-m", "supervisor.supervisorctl", "-c", config, action];
  if (program) args.push(program);
  try {
    return execFileSync(PYTHON, args, { cwd: ROOT, encoding: "utf8" });
  } catch (error) {
    // `status` exits non-zero while a program is stopped; its output is still the answer.
    const failed = error as { stdout?: string };
    if (failed.stdout !== undefined) return failed.stdout;
    throw error;
  }
}

/**
 * `supervisorctl start <program>` without waiting out supervisord's 60 s start period: done
 * once `ready` says so (supervisorctl goes on waiting by itself).
 */
export async function startProgram(
  program: Program,
  ready: () => Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> {
  const config = path.join(platform().runDir, "supervisord.conf");
  const ctl = spawn(PYTHON, ["-m", "supervisor.supervisorctl", "-c", config, "start", program], {
    cwd: ROOT,
    stdio: "ignore",
  });
  ctl.unref();
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await ready().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`${program} did not come back within ${timeoutMs} ms`);
}

/** Whether the monitor answers its readiness probe (Redis reachable) directly. */
export async function monitorReady(): Promise<boolean> {
  const response = await fetch(`${platform().monitor}/readyz`);
  return response.ok;
}
