import { useQuery } from "@tanstack/react-query";

import { api, monitor, unwrap } from "../../api/client";
import { formatDuration } from "../../ui/format";

const REFRESH_MS = 5_000;

/**
 * Whether schedules fire (the API's scheduler status) and whether anything runs what they send
 * (the monitor's workers). The monitor's half is optional: without it the page still works.
 */
export function SchedulerStatus() {
  const scheduler = useQuery({
    queryKey: ["scheduler", "status"],
    queryFn: () => unwrap(api.GET("/api/v1/scheduler/status")),
    refetchInterval: REFRESH_MS,
  });
  const celery = useQuery({
    queryKey: ["celery", "status"],
    queryFn: () => unwrap(monitor.GET("/api/v1/celery/status")),
    refetchInterval: REFRESH_MS,
  });
  const status = scheduler.data;
  const workers = celery.data?.workers_online;
  return (
    <p className="scheduler-status">
      {status ? (
        <>
          <span className={status.healthy ? "badge badge-ok" : "badge badge-bad"}>
            {status.healthy ? "firing" : "not firing"}
          </span>{" "}
          Scheduler: {status.engine}
          {status.leader && (
            <>
              , led by <code>{status.leader}</code>
            </>
          )}
          {status.last_tick_age_s != null && (
            <>, last tick {formatDuration(status.last_tick_age_s)} ago</>
          )}
          .{" "}
        </>
      ) : (
        <span className="muted">
          Scheduler status {scheduler.isError ? "unavailable" : "loading"}.{" "}
        </span>
      )}
      {workers === undefined ? (
        <span className="muted">
          Workers: {celery.isError ? "unknown while the monitor is down" : "…"}.
        </span>
      ) : (
        <span className={workers === 0 ? "warn-text" : undefined}>
          {workers === 0
            ? "No worker online: sent runs wait in their queues."
            : `${workers} worker${workers === 1 ? "" : "s"} online.`}
        </span>
      )}
    </p>
  );
}
