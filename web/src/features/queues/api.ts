/** The queues' load and the admin's purge. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { monitor, unwrap } from "../../api/client";
import type { ApiError } from "../../api/errors";
import type { MonitorSchemas } from "../../api/types";

export type Queue = MonitorSchemas["QueueOut"];
export type PurgeResult = MonitorSchemas["PurgeResult"];

export const QUEUES_KEY = ["celery", "queues"] as const;
const POLL_MS = 5_000;

export function useQueues() {
  return useQuery({
    queryKey: QUEUES_KEY,
    queryFn: ({ signal }) => unwrap(monitor.GET("/api/v1/celery/queues", { signal })),
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
