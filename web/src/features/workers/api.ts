/** The workers' list and the admin's control calls on them. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { monitor, unwrap } from "../../api/client";
import { ApiError } from "../../api/errors";
import type { MonitorSchemas } from "../../api/types";
import { QUEUES_KEY } from "../queues/api";

export type Worker = MonitorSchemas["WorkerOut"];
export type ControlResult = MonitorSchemas["ControlResult"];

export const WORKERS_KEY = ["celery", "workers"] as const;
const POLL_MS = 5_000;

export function useWorkers() {
  return useQuery({
    queryKey: WORKERS_KEY,
    queryFn: ({ signal }) => unwrap(monitor.GET("/api/v1/celery/workers", { signal })),
    refetchInterval: POLL_MS,
  });
}

/** One control call, on the workers named. */
export type Control =
  | { kind: "shutdown" | "restart"; workers: string[] }
  | { kind: "autoscale"; workers: string[]; max: number; min: number }
  | { kind: "grow" | "shrink"; workers: string[]; n: number }
  | { kind: "add" | "cancel"; workers: string[]; queue: string };

export interface ControlOutcome {
  control: Control;
  results: ControlResult[];
}

/** The consumer call is per worker: each answers for itself, a refusal becomes its answer. */
async function consumers(
  action: "add" | "cancel",
  workers: string[],
  queue: string,
): Promise<ControlResult[]> {
  const settled = await Promise.allSettled(
    workers.map((name) =>
      unwrap(
        monitor.POST("/api/v1/celery/worker/{name}/queues", {
          params: { path: { name } },
          body: { action, queue },
        }),
      ),
    ),
  );
  const failures = settled.filter((entry) => entry.status === "rejected");
  // Refused for every worker (a bad queue name, or one worker): the error itself, at the field.
  if (failures.length === settled.length) throw failures[0]?.reason;
  return settled.flatMap((entry, index) =>
    entry.status === "fulfilled"
      ? entry.value.results
      : [
          {
            worker: workers[index] ?? "",
            ok: false,
            message: entry.reason instanceof Error ? entry.reason.message : String(entry.reason),
          },
        ],
  );
}

async function send(control: Control): Promise<ControlResult[]> {
  const { workers } = control;
  switch (control.kind) {
    case "shutdown":
      return (await unwrap(monitor.POST("/api/v1/celery/worker/shutdown", { body: { workers } })))
        .results;
    case "restart":
      return (
        await unwrap(monitor.POST("/api/v1/celery/worker/pool/restart", { body: { workers } }))
      ).results;
    case "autoscale":
      return (
        await unwrap(
          monitor.POST("/api/v1/celery/worker/autoscale", {
            body: { workers, max: control.max, min: control.min },
          }),
        )
      ).results;
    case "grow":
      return (
        await unwrap(
          monitor.POST("/api/v1/celery/worker/pool/grow", { body: { workers, n: control.n } }),
        )
      ).results;
    case "shrink":
      return (
        await unwrap(
          monitor.POST("/api/v1/celery/worker/pool/shrink", { body: { workers, n: control.n } }),
        )
      ).results;
    case "add":
    case "cancel":
      return consumers(control.kind, workers, control.queue);
  }
}

/** Send a control call; the workers and queues are read again afterwards, whatever the answer. */
export function useControl() {
  const queryClient = useQueryClient();
  return useMutation<ControlOutcome, ApiError, Control>({
    mutationFn: async (control) => ({ control, results: await send(control) }),
    onSettled: async () => {
      // Pools and consumers changed: the queues list names the consumers.
      await Promise.all([
        queryClient.invalidateQueries({ queryKey: WORKERS_KEY }),
        queryClient.invalidateQueries({ queryKey: QUEUES_KEY }),
      ]);
    },
  });
}

/** What a control does, in words, for the dialog and the answers. */
export function inWords(control: Control): string {
  switch (control.kind) {
    case "shutdown":
      return "shut down (warm: running tasks finish first)";
    case "restart":
      return "restart the pool";
    case "autoscale":
      return `autoscale between ${control.min} and ${control.max} processes`;
    case "grow":
      return `grow the pool by ${control.n}`;
    case "shrink":
      return `shrink the pool by ${control.n}`;
    case "add":
      return `start consuming ${control.queue}`;
    case "cancel":
      return `stop consuming ${control.queue}`;
  }
}
