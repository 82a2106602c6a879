import { createRoute, lazyRouteComponent } from "@tanstack/react-router";

import { rootRoute } from "./__root";
import { oneOf, text } from "./search";

export const WORKER_SHOW = ["online", "offline"] as const;

export interface WorkersSearch {
  /** Only the workers online (or offline); every worker when absent. */
  show?: (typeof WORKER_SHOW)[number];
  /** The worker whose full stats are open. */
  worker?: string;
}

export const workersRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: "/workers",
  validateSearch: (search: Record<string, unknown>): WorkersSearch => ({
    show: oneOf(WORKER_SHOW, search.show),
    worker: text(search.worker),
  }),
  component: lazyRouteComponent(() => import("../features/workers/WorkersPage"), "WorkersPage"),
});
