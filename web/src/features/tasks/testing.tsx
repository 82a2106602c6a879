/** This page's tests: the monitor answering by path, over test/app's fakeMonitor. */
import { configure } from "@testing-library/react";
import { vi } from "vitest";

import type { Role } from "../../auth/token";
import { answer, fakeMonitor, renderAt } from "../../test/app";

// Each test renders the whole console (router, query cache, role queries over its DOM); on a
// machine busy with other suites that takes seconds, which is slowness, not failure.
configure({ asyncUtilTimeout: 5_000 });
vi.setConfig({ testTimeout: 20_000 });

type Answer = ReturnType<typeof answer>;
/** A handler's value is the 200 answer's body, or an Answer of `answer(status, body)`. */
export type Handler = (query: Record<string, unknown>) => unknown;

interface Init {
  params?: { path?: Record<string, string>; query?: Record<string, unknown> };
  body?: unknown;
}

export interface Call {
  path: string;
  query: Record<string, unknown>;
  body: unknown;
}

/** Every call the page made since the last `serve`, in order. */
export const calls: Call[] = [];

export function apiError(status: number, message: string): Answer {
  return answer(status, { error: { code: "error", message, fields: [] } });
}

function isAnswer(value: unknown): value is Answer {
  return typeof value === "object" && value !== null && "response" in value;
}

/** Answer each path (its `{task_id}` filled in) with its handler; any other with a 404. */
export function serve(handlers: Record<string, Handler>): void {
  calls.length = 0;
  fakeMonitor((template, init) => {
    const { params, body } = (init ?? {}) as Init;
    const path = template.replace(/\{(\w+)\}/g, (_, name: string) => params?.path?.[name] ?? "");
    const query = params?.query ?? {};
    calls.push({ path, query, body });
    const handler = handlers[path];
    const value = handler ? handler(query) : apiError(404, `no fake for ${path}`);
    return isAnswer(value) ? value : answer(200, value);
  });
}

export function renderTasks(path: string, role: Role = "admin") {
  // The router scrolls to the top on navigation; jsdom has no scrolling.
  vi.spyOn(window, "scrollTo").mockImplementation(() => {});
  return renderAt(path, role);
}

/** The current URL search as the router parsed it. */
export function searchOf(
  router: ReturnType<typeof renderTasks>["router"],
): Record<string, unknown> {
  return router.state.location.search as Record<string, unknown>;
}
