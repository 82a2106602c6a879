/** Renders the tasks page at a URL for a role, with the real router and a fresh query cache. */
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { createMemoryHistory, createRouter, RouterProvider } from "@tanstack/react-router";
import { configure, render } from "@testing-library/react";
import { vi } from "vitest";

import { login } from "../../auth/session";
import type { Role } from "../../auth/token";
import { rootRoute } from "../../routes/__root";
import { tasksRoute } from "../../routes/tasks";
import { fakeToken } from "../../test/tokens";

const routeTree = rootRoute.addChildren([tasksRoute]);

// Each test renders the whole page (router, query cache, role queries over its DOM); on a
// machine busy with other suites that takes seconds, which is slowness, not failure.
configure({ asyncUtilTimeout: 5_000 });
vi.setConfig({ testTimeout: 20_000 });

export function renderTasks(url: string, role: Role = "admin") {
  login(fakeToken(role));
  // The router scrolls to the top on navigation; jsdom has no scrolling.
  vi.spyOn(window, "scrollTo").mockImplementation(() => {});
  const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  const router = createRouter({
    routeTree,
    history: createMemoryHistory({ initialEntries: [url] }),
    context: { queryClient },
  });
  const view = render(
    <QueryClientProvider client={queryClient}>
      <RouterProvider router={router} />
    </QueryClientProvider>,
  );
  return { ...view, router };
}

/** The current URL search as the router parsed it. */
export function searchOf(
  router: ReturnType<typeof renderTasks>["router"],
): Record<string, unknown> {
  return router.state.location.search as Record<string, unknown>;
}
