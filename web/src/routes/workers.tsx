import { createRoute } from "@tanstack/react-router";

import { WorkersPage } from "../features/workers/WorkersPage";
import { rootRoute } from "./__root";

export const workersRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: "/workers",
  component: WorkersPage,
});
