import { createRoute, lazyRouteComponent } from "@tanstack/react-router";

import { rootRoute } from "./__root";
import { text } from "./search";

export interface QueuesSearch {
  /** Only the queues whose name contains this. */
  name?: string;
  /** The queue whose waiting messages are shown. */
  messages?: string;
}

export const queuesRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: "/queues",
  validateSearch: (search: Record<string, unknown>): QueuesSearch => ({
    name: text(search.name),
    messages: text(search.messages),
  }),
  component: lazyRouteComponent(() => import("../features/queues/QueuesPage"), "QueuesPage"),
});
