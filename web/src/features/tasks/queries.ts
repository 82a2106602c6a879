/** The tasks page's server state: the history pages, one task, and cancel and retry. */
import {
  infiniteQueryOptions,
  keepPreviousData,
  skipToken,
  type UseQueryResult,
  useInfiniteQuery,
  useMutation,
  useQuery,
  useQueryClient,
} from "@tanstack/react-query";

import { monitor, unwrap } from "../../api/client";
import type { MonitorSchemas } from "../../api/types";
import type { TasksSearch } from "../../routes/tasks";

export type TaskSummary = MonitorSchemas["TaskSummary"];
export type TaskDetail = MonitorSchemas["TaskDetail"];
export type CancelResult = MonitorSchemas["CancelResult"];
export type RetryAccepted = MonitorSchemas["RetryAccepted"];

/** The history filters: the URL search without the open task. */
export type TaskFilters = Omit<TasksSearch, "task">;

/** Small, so the first page over a long history comes back fast; more load on scroll. */
export const PAGE_SIZE = 100;

/** States a task does not leave: its detail stops polling there. */
export const FINISHED_STATES: ReadonlySet<string> = new Set([
  "SUCCESS",
  "FAILURE",
  "REVOKED",
  "REJECTED",
]);
export const RETRYABLE_STATES: ReadonlySet<string> = new Set(["FAILURE", "REVOKED"]);

const POLL_MS = 2_000;

export const taskKeys = {
  all: ["tasks"] as const,
  history: (filters: TaskFilters) => ["tasks", "history", filters] as const,
  task: (id: string) => ["tasks", "task", id] as const,
};

export function filtersOf(search: TasksSearch): TaskFilters {
  const { state, name, worker, queue, since, until } = search;
  return { state, name, worker, queue, since, until };
}

/** The history newest first, a page at a time along the API's cursor. */
export function historyQuery(filters: TaskFilters) {
  return infiniteQueryOptions({
    queryKey: taskKeys.history(filters),
    queryFn: ({ pageParam }) =>
      unwrap(
        monitor.GET("/api/v1/celery/tasks", {
          params: { query: { ...filters, cursor: pageParam, limit: PAGE_SIZE } },
        }),
      ),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (page) => page.next_cursor ?? undefined,
  });
}

export function useTaskHistory(filters: TaskFilters) {
  return useInfiniteQuery({
    ...historyQuery(filters),
    // The rows stay while a new filter's first page loads, instead of a flash of nothing.
    placeholderData: keepPreviousData,
  });
}

export type TaskQuery = UseQueryResult<TaskDetail>;

/** The open task (none: nothing asked), polled until it finishes. */
export function useTask(id: string | undefined): TaskQuery {
  return useQuery({
    queryKey: taskKeys.task(id ?? ""),
    queryFn:
      id === undefined
        ? skipToken
        : () =>
            unwrap(
              monitor.GET("/api/v1/celery/task/{task_id}", { params: { path: { task_id: id } } }),
            ),
    refetchInterval: (query) => {
      const state = query.state.data?.state;
      return query.state.error || (state && FINISHED_STATES.has(state)) ? false : POLL_MS;
    },
  });
}

/** The history rows with the open task's row brought up to what its detail reads. */
export function withTask(rows: TaskSummary[], task: TaskDetail | undefined): TaskSummary[] {
  const index = task ? rows.findIndex((row) => row.id === task.id) : -1;
  if (!task || index < 0) return rows;
  const fresh: TaskSummary = {
    id: task.id,
    name: task.name,
    state: task.state,
    worker: task.worker,
    queue: task.queue,
    retries: task.retries,
    runtime: task.runtime,
    sent_at: task.sent_at,
    received_at: task.received_at,
    started_at: task.started_at,
    finished_at: task.finished_at,
  };
  return rows.with(index, fresh);
}

export function useCancelTask(id: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (terminate: boolean) =>
      unwrap(
        monitor.POST("/api/v1/celery/task/{task_id}/cancel", {
          params: { path: { task_id: id } },
          body: { terminate, signal: "SIGTERM" },
        }),
      ),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: taskKeys.all }),
  });
}

export function useRetryTask(id: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: () =>
      unwrap(
        monitor.POST("/api/v1/celery/task/{task_id}/retry", { params: { path: { task_id: id } } }),
      ),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: taskKeys.all }),
  });
}
