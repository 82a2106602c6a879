import { Link } from "@tanstack/react-router";

import { Can } from "../../auth/Can";
import { isDecoded, type ListedSchedule, type ScheduleAction } from "./queries";

interface ScheduleActionsProps {
  schedule: ListedSchedule;
  busy: boolean;
  onAction: (schedule: ListedSchedule, action: ScheduleAction) => void;
}

/** Pause or resume, run now, edit and delete, for operators; each names its schedule. */
export function ScheduleActions({ schedule, busy, onAction }: ScheduleActionsProps) {
  const name = schedule.name ?? schedule.id;
  const decoded = isDecoded(schedule);
  return (
    <Can role="operator">
      <span className="row-actions">
        {decoded && schedule.state === "active" && (
          <button
            type="button"
            aria-label={`Pause ${name}`}
            disabled={busy}
            onClick={() => onAction(schedule, "pause")}
          >
            Pause
          </button>
        )}
        {decoded && (schedule.state === "paused" || schedule.state === "set_aside") && (
          <button
            type="button"
            aria-label={`Resume ${name}`}
            disabled={busy}
            onClick={() => onAction(schedule, "resume")}
          >
            Resume
          </button>
        )}
        {decoded && (
          <button
            type="button"
            aria-label={`Run ${name} now`}
            disabled={busy}
            onClick={() => onAction(schedule, "run")}
          >
            Run now
          </button>
        )}
        {decoded && !schedule.static && (
          <Link
            from="/schedules"
            to="/schedules"
            search={(prev) => ({ ...prev, edit: schedule.id, new: undefined })}
            aria-label={`Edit ${name}`}
          >
            Edit
          </Link>
        )}
        {(!schedule.static || !decoded) && (
          <button
            type="button"
            className="danger"
            aria-label={`Delete ${name}`}
            disabled={busy}
            onClick={() => onAction(schedule, "delete")}
          >
            Delete
          </button>
        )}
      </span>
    </Can>
  );
}
