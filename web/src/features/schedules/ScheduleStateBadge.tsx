import type { ScheduleState } from "./queries";

const TONES: Record<ScheduleState, string> = {
  active: "ok",
  paused: "warn",
  finished: "muted",
  set_aside: "bad",
};

/** A schedule's state as a label; a set-aside one says why beneath it. */
export function ScheduleStateBadge({
  state,
  reason,
}: {
  state: ScheduleState;
  reason?: string | null;
}) {
  return (
    <span className="schedule-state">
      <span className={`badge badge-${TONES[state]}`}>{state.replace("_", " ")}</span>
      {state === "set_aside" && reason && <small className="set-aside-reason">{reason}</small>}
    </span>
  );
}
