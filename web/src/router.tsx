import type { QueryClient } from "@tanstack/react-query";
import { createRouter } from "@tanstack/react-router";

import { rootRoute } from "./routes/__root";
import { auditRoute } from "./routes/audit";
import { loginRoute } from "./routes/login";
import { overviewRoute } from "./routes/overview";
import { queuesRoute } from "./routes/queues";
import { schedulesRoute } from "./routes/schedules";
import { tasksRoute } from "./routes/tasks";
import { workersRoute } from "./routes/workers";

const routeTree = rootRoute.addChildren([
  loginRoute,
  overviewRoute,
  workersRoute,
  queuesRoute,
  tasksRoute,
  schedulesRoute,
  auditRoute,
]);

export function createAppRouter(queryClient: QueryClient) {
  return createRouter({
    routeTree,
    context: { queryClient },
    defaultPreload: "intent",
    scrollRestoration: true,
  });
}

declare module "@tanstack/react-router" {
  interface Register {
    router: ReturnType<typeof createAppRouter>;
  }
}
