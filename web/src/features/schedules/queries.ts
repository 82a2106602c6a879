/** The schedules API as TanStack Query hooks; every write refreshes what it changed. */
import {
  type InfiniteData,
  useInfiniteQuery,
  useMutation,
  useQuery,
  useQueryClient,
} from "@tanstack/react-query";
import { useEffect } from "react";

import { api, unwrap } from "../../api/client";
import type { ApiSchemas } from "../../api/types";
import type { PreviewOut, PreviewRequest } from "./NextFires";
import type { ScheduleSpec } from "./scheduleDocument";

export type ListedSchedule = ApiSchemas["ScheduleOut"] | ApiSchemas["UndecodableScheduleOut"];
export type ScheduleState = ApiSchemas["ScheduleState"];

export interface ScheduleFilters {
  state?: ScheduleState;
  task?: string;
  name?: string;
}

const PAGE = 50;
// Run counts and next runs move on their own; a few seconds keeps them current enough.
const REFRESH_MS = 3_000;

/** Whether a listed schedule decoded, i.e. has a definition to show and edit. */
export function isDecoded(schedule: ListedSchedule): schedule is ApiSchemas["ScheduleOut"] {
  return !("stored_definition" in schedule);
}

export function useJobs() {
  return useQuery({
    queryKey: ["jobs"],
    queryFn: () => unwrap(api.GET("/api/v1/jobs")),
    staleTime: Infinity,
  });
}

/**
 * The schedules matching `filters`, page by page. A filtered page may be short, or empty, with
 * more after it, so a short page is followed on at once until a full one or the end.
 */
export function useScheduleList(filters: ScheduleFilters) {
  const query = useInfiniteQuery({
    queryKey: ["schedules", "list", filters],
    queryFn: ({ pageParam }) =>
      unwrap(
        api.GET("/api/v1/schedules", {
          params: { query: { ...filters, limit: PAGE, cursor: pageParam ?? undefined } },
        }),
      ),
    initialPageParam: null as string | null,
    getNextPageParam: (page) => page.next_cursor,
    refetchInterval: REFRESH_MS,
  });
  const { data, hasNextPage, isFetchingNextPage, fetchNextPage, isError } = query;
  const last = data?.pages[data.pages.length - 1];
  const short = last !== undefined && last.items.length < PAGE;
  useEffect(() => {
    if (short && hasNextPage && !isFetchingNextPage && !isError) void fetchNextPage();
  }, [short, hasNextPage, isFetchingNextPage, isError, fetchNextPage]);
  return query;
}

export function useSchedule(id: string | undefined) {
  return useQuery({
    queryKey: ["schedules", "one", id],
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/schedules/{schedule_id}", {
          params: { path: { schedule_id: id ?? "" } },
        }),
      ),
    enabled: id !== undefined,
    refetchInterval: REFRESH_MS,
  });
}

export function useRuns(id: string) {
  return useInfiniteQuery({
    queryKey: ["schedules", "runs", id],
    queryFn: ({ pageParam }) =>
      unwrap(
        api.GET("/api/v1/schedules/{schedule_id}/runs", {
          params: {
            path: { schedule_id: id },
            query: { limit: PAGE, cursor: pageParam ?? undefined },
          },
        }),
      ),
    initialPageParam: null as string | null,
    getNextPageParam: (page) => page.next_cursor,
    refetchInterval: REFRESH_MS,
  });
}

/** All the items of an infinite query's pages. */
export function allItems<T>(data: InfiniteData<{ items: T[] }> | undefined): T[] {
  return data?.pages.flatMap((page) => page.items) ?? [];
}

function useRefresh() {
  const client = useQueryClient();
  return () => client.invalidateQueries({ queryKey: ["schedules"] });
}

/** A trigger's words and next fires, as the API's preview gives them; changes nothing. */
export function previewTiming(timing: PreviewRequest): Promise<PreviewOut> {
  return unwrap(api.POST("/api/v1/schedules/preview", { body: timing }));
}

export function useSaveSchedule(id: string | undefined) {
  const refresh = useRefresh();
  return useMutation({
    mutationFn: (spec: ScheduleSpec) =>
      id === undefined
        ? unwrap(api.POST("/api/v1/schedules", { body: spec }))
        : unwrap(
            api.PUT("/api/v1/schedules/{schedule_id}", {
              params: { path: { schedule_id: id } },
              body: spec,
            }),
          ),
    onSuccess: refresh,
  });
}

export type ScheduleAction = "pause" | "resume" | "run" | "delete";

export function useScheduleAction() {
  const refresh = useRefresh();
  return useMutation({
    /** The sent task's id for "run", else null. */
    mutationFn: async (target: { id: string; action: ScheduleAction }): Promise<string | null> => {
      const path = { params: { path: { schedule_id: target.id } } };
      switch (target.action) {
        case "pause":
          await unwrap(api.POST("/api/v1/schedules/{schedule_id}/pause", path));
          return null;
        case "resume":
          await unwrap(api.POST("/api/v1/schedules/{schedule_id}/resume", path));
          return null;
        case "delete":
          await unwrap(api.DELETE("/api/v1/schedules/{schedule_id}", path));
          return null;
        case "run":
          return (await unwrap(api.POST("/api/v1/schedules/{schedule_id}/run", path))).task_id;
      }
    },
    onSuccess: refresh,
  });
}
