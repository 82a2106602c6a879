/** The queues' load, a queue's waiting messages and the admin's purge. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { monitor, unwrap } from "../../api/client";
import type { ApiError } from "../../api/errors";
import type { MonitorSchemas } from "../../api/types";

export type Queue = MonitorSchemas["QueueOut"];
export type PurgeResult = MonitorSchemas["PurgeResult"];

export const QUEUES_KEY = ["celery", "queues"] as const;
const POLL_MS = 5_000;
const MESSAGES_LIMIT = 100;

export function useQueues() {
  return useQuery({
    queryKey: QUEUES_KEY,
    queryFn: ({ signal }) => unwrap(monitor.GET("/api/v1/celery/queues", { signal })),
    refetchInterval: POLL_MS,
  });
}

/** The next messages workers will take from `queue`, in that order. */
export function useQueueMessages(queue: string) {
  return useQuery({
    queryKey: [...QUEUES_KEY, queue, "messages"],
    queryFn: ({ signal }) =>
      unwrap(
        monitor.GET("/api/v1/celery/queues/{queue}/messages", {
          params: { path: { queue }, query: { limit: MESSAGES_LIMIT } },
          signal,
        }),
      ),
    refetchInterval: POLL_MS,
  });
}

export function usePurge() {
  const queryClient = useQueryClient();
  return useMutation<PurgeResult, ApiError, string>({
    mutationFn: (queue) =>
      unwrap(monitor.POST("/api/v1/celery/queues/{queue}/purge", { params: { path: { queue } } })),
    onSettled: () => queryClient.invalidateQueries({ queryKey: QUEUES_KEY }),
  });
}
