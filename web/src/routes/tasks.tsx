import { createRoute, lazyRouteComponent } from "@tanstack/react-router";

import { filtersOf, historyQuery } from "../features/tasks/queries";
import { rootRoute } from "./__root";
import { oneOf, text } from "./search";

export const TASK_STATES = [
  "PENDING",
  "RECEIVED",
  "STARTED",
  "RETRY",
  "SUCCESS",
  "FAILURE",
  "REVOKED",
  "REJECTED",
] as const;

export interface TasksSearch {
  state?: (typeof TASK_STATES)[number];
  name?: string;
  worker?: string;
  queue?: string;
  /** ISO timestamps: first seen at or after / at or before. */
  since?: string;
  until?: string;
  /** The open task's id. */
  task?: string;
}

export const tasksRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: "/tasks",
  validateSearch: (search: Record<string, unknown>): TasksSearch => ({
    state: oneOf(TASK_STATES, search.state),
    name: text(search.name),
    worker: text(search.worker),
    queue: text(search.queue),
    since: text(search.since),
    until: text(search.until),
    task: text(search.task),
  }),
  loaderDeps: ({ search }) => filtersOf(search),
  // Ask for the first page as soon as the URL is known, not once the page has rendered; not
  // awaited, so the page draws at once. Only when nothing is cached: opening a task must not
  // fetch every loaded page again.
  loader: ({ context: { queryClient }, deps }) => {
    const query = historyQuery(deps);
    if (!queryClient.getQueryData(query.queryKey)) void queryClient.prefetchInfiniteQuery(query);
  },
  component: lazyRouteComponent(() => import("../features/tasks/TasksPage"), "TasksPage"),
});
