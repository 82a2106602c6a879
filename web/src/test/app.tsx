/** Test helpers: the whole app at a path for a role, and canned answers from the monitor. */
import { QueryClientProvider } from "@tanstack/react-query";
import { RouterProvider } from "@tanstack/react-router";
import { render } from "@testing-library/react";
import { vi } from "vitest";

import { monitor } from "../api/client";
import { login } from "../auth/session";
import type { Role } from "../auth/token";
import { createQueryClient } from "../queryClient";
import { createAppRouter } from "../router";
import { fakeToken } from "./tokens";

/** Render the console at `path` signed in as `role`. */
export function renderAt(path: string, role: Role) {
  login(fakeToken(role));
  window.history.replaceState(null, "", path);
  const queryClient = createQueryClient();
  const router = createAppRouter(queryClient);
  render(
    <QueryClientProvider client={queryClient}>
      <RouterProvider router={router} />
    </QueryClientProvider>,
  );
  return { router, queryClient };
}

/** What openapi-fetch resolves to for an answer with `status` and `body`. */
export function answer(status: number, body: unknown) {
  const ok = status >= 200 && status < 300;
  return {
    data: ok ? body : undefined,
    error: ok ? undefined : body,
    response: new Response(null, { status }),
  };
}

type Handler = (url: string, init: unknown) => ReturnType<typeof answer>;

/** Route the monitor client's GET and POST to `handler`; the spies, to read the calls. */
export function fakeMonitor(handler: Handler) {
  const respond = (url: string, init: unknown) => Promise.resolve(handler(url, init));
  return {
    // The clients' generics make a typed fake pointless: tests check the calls instead.
    get: vi.spyOn(monitor, "GET").mockImplementation(respond as never),
    post: vi.spyOn(monitor, "POST").mockImplementation(respond as never),
  };
}
