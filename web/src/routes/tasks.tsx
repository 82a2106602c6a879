import { createRoute } from "@tanstack/react-router";

import { TasksPage } from "../features/tasks/TasksPage";
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
  component: TasksPage,
});
