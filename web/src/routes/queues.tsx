import { createRoute } from "@tanstack/react-router";

import { QueuesPage } from "../features/queues/QueuesPage";
import { rootRoute } from "./__root";

export const queuesRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: "/queues",
  component: QueuesPage,
});
