import { createRoute } from "@tanstack/react-router";

import { SchedulesPage } from "../features/schedules/SchedulesPage";
import { rootRoute } from "./__root";
import { text } from "./search";

export interface SchedulesSearch {
  state?: string;
  task?: string;
  /** Names starting with this. */
  name?: string;
  /** The open schedule's id. */
  schedule?: string;
}

export const schedulesRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: "/schedules",
  validateSearch: (search: Record<string, unknown>): SchedulesSearch => ({
    state: text(search.state),
    task: text(search.task),
    name: text(search.name),
    schedule: text(search.schedule),
  }),
  component: SchedulesPage,
});
