/** The overview's server state: what it asks the services for, and under which cache keys. */
import type { QueryClient } from "@tanstack/react-query";

import { api, monitor, unwrap } from "../../api/client";
import {
  anchorSeries,
  type CeleryStatus,
  type Series,
  SERIES_MINUTES,
  type WorkerList,
} from "./live";

export const statusKey = ["overview", "status"] as const;
export const workersKey = ["overview", "workers"] as const;
export const seriesKey = ["overview", "series", SERIES_MINUTES] as const;
export const flowerKey = ["overview", "flower"] as const;
export const schedulerKey = ["overview", "scheduler"] as const;

/** Polled every 5 s without the stream; with it, now and then to re-anchor what events moved. */
export const POLL_MS = 5_000;
export const REANCHOR_MS = 30_000;

export function statusQuery(poll: number) {
  return {
    queryKey: statusKey,
    queryFn: (): Promise<CeleryStatus> => unwrap(monitor.GET("/api/v1/celery/status")),
    refetchInterval: poll,
  };
}

export function workersQuery(poll: number) {
  return {
    queryKey: workersKey,
    queryFn: (): Promise<WorkerList> => unwrap(monitor.GET("/api/v1/celery/workers")),
    refetchInterval: poll,
  };
}

/** The monitor's steps, and the one under way as the events counted it so far. */
export function seriesQuery(client: QueryClient, poll: number) {
  return {
    queryKey: seriesKey,
    queryFn: async (): Promise<Series> => {
      const server = await unwrap(
        monitor.GET("/api/v1/celery/series", { params: { query: { minutes: SERIES_MINUTES } } }),
      );
      // Read after the answer, so what the stream counted meanwhile is kept.
      return anchorSeries(client.getQueryData<Series>(seriesKey), server, Date.now() / 1000);
    },
    refetchInterval: poll,
  };
}

export function flowerQuery() {
  return {
    queryKey: flowerKey,
    queryFn: () => unwrap(monitor.GET("/api/v1/celery/flower/url")),
    staleTime: 5 * 60_000,
  };
}

export function schedulerQuery() {
  return {
    queryKey: schedulerKey,
    queryFn: () => unwrap(api.GET("/api/v1/scheduler/status")),
    refetchInterval: POLL_MS,
  };
}
