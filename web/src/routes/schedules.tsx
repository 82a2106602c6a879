import { createRoute, lazyRouteComponent } from "@tanstack/react-router";

import { rootRoute } from "./__root";
import { oneOf, text } from "./search";

export const SCHEDULE_STATES = ["active", "paused", "finished", "set_aside"] as const;

export interface SchedulesSearch {
  state?: (typeof SCHEDULE_STATES)[number];
  task?: string;
  /** Names starting with this. */
  name?: string;
  /** The open schedule's id. */
  schedule?: string;
  /** "1" while the new-schedule form is open. */
  new?: string;
  /** The id of the schedule whose edit form is open. */
  edit?: string;
}

export const schedulesRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: "/schedules",
  validateSearch: (search: Record<string, unknown>): SchedulesSearch => ({
    state: oneOf(SCHEDULE_STATES, search.state),
    task: text(search.task),
    name: text(search.name),
    schedule: text(search.schedule),
    new: oneOf(["1"], text(search.new)),
    edit: text(search.edit),
  }),
  component: lazyRouteComponent(
    () => import("../features/schedules/SchedulesPage"),
    "SchedulesPage",
  ),
});
