import { Link } from "@tanstack/react-router";

import { ErrorPanel } from "../../ui/ErrorBoundary";
import { formatAge, formatCount, formatDuration, formatTimestamp } from "../../ui/format";
import { StateBadge } from "../../ui/StateBadge";
import { describeTrigger } from "./describeTrigger";
import {
  allItems,
  isDecoded,
  type ListedSchedule,
  type ScheduleAction,
  useRuns,
  useSchedule,
} from "./queries";
import { ScheduleActions } from "./ScheduleActions";
import { ScheduleStateBadge } from "./ScheduleStateBadge";

function When({ at }: { at: string | null | undefined }) {
  if (!at) return <>—</>;
  return (
    <time dateTime={at}>
      {formatTimestamp(at)} <span className="muted">({formatAge(at)})</span>
    </time>
  );
}

function Runs({ id }: { id: string }) {
  const runs = useRuns(id);
  const items = allItems(runs.data);
  return (
    <section aria-labelledby="runs-title">
      <h3 id="runs-title">Run history</h3>
      {runs.isError && <ErrorPanel error={runs.error} />}
      {runs.isPending ? (
        <p className="muted">Loading runs…</p>
      ) : items.length === 0 ? (
        <p className="muted">No runs yet.</p>
      ) : (
        <div className="table-wrap">
          <table aria-labelledby="runs-title">
            <thead>
              <tr>
                <th scope="col">Slot</th>
                <th scope="col">Fired at</th>
                <th scope="col">Task</th>
                <th scope="col">State</th>
              </tr>
            </thead>
            <tbody>
              {items.map((run) => (
                <tr key={`${run.slot}-${run.fired_at}-${run.task_id ?? run.state}`}>
                  <td>{formatTimestamp(run.slot)}</td>
                  <td>{formatTimestamp(run.fired_at)}</td>
                  <td>
                    {run.task_id ? (
                      <Link to="/tasks" search={{ task: run.task_id }}>
                        <code>{run.task_id}</code>
                      </Link>
                    ) : (
                      <span className="muted">none sent</span>
                    )}
                  </td>
                  <td>
                    <StateBadge state={run.state} />
                    {run.state === "MISSED" && <span> {formatCount(run.count)} slots missed</span>}
                    {run.state === "SKIPPED" && <span> max instances running</span>}
                    {run.detail && <small className="run-detail">{run.detail}</small>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {runs.hasNextPage && (
        <button
          type="button"
          onClick={() => void runs.fetchNextPage()}
          disabled={runs.isFetchingNextPage}
        >
          {runs.isFetchingNextPage ? "Loading…" : "Load older runs"}
        </button>
      )}
    </section>
  );
}

function Definition({ schedule }: { schedule: ListedSchedule }) {
  if (!isDecoded(schedule)) {
    return (
      <dl className="details">
        <dt>State</dt>
        <dd>
          <ScheduleStateBadge state={schedule.state} reason={schedule.set_aside_reason} />
        </dd>
        <dt>Stored definition</dt>
        <dd>
          <pre className="json-view">{schedule.stored_definition}</pre>
        </dd>
        <dt>Last run</dt>
        <dd>
          <When at={schedule.last_run_at} />
        </dd>
        <dt>Run count</dt>
        <dd>{formatCount(schedule.run_count)}</dd>
      </dl>
    );
  }
  return (
    <dl className="details">
      <dt>State</dt>
      <dd>
        <ScheduleStateBadge state={schedule.state} reason={schedule.set_aside_reason} />
      </dd>
      <dt>Task</dt>
      <dd>
        <code>{schedule.task}</code>
      </dd>
      <dt>Arguments</dt>
      <dd>
        <pre className="json-view">{JSON.stringify(schedule.kwargs ?? {}, null, 2)}</pre>
        {(schedule.args ?? []).length > 0 && (
          <pre className="json-view">{JSON.stringify(schedule.args)}</pre>
        )}
      </dd>
      <dt>Trigger</dt>
      <dd>
        {describeTrigger(schedule.trigger)}{" "}
        <code className="muted">{JSON.stringify(schedule.trigger)}</code>
      </dd>
      <dt>Next run</dt>
      <dd>
        <When at={schedule.next_run_at} />
      </dd>
      <dt>Last run</dt>
      <dd>
        <When at={schedule.last_run_at} />
      </dd>
      <dt>Run count</dt>
      <dd>{formatCount(schedule.run_count)}</dd>
      <dt>Queue</dt>
      <dd>{schedule.queue ?? "the task's own"}</dd>
      <dt>Priority</dt>
      <dd>{schedule.priority ?? "the queue's default"}</dd>
      <dt>Window</dt>
      <dd>
        {schedule.start_at ? formatTimestamp(schedule.start_at) : "from now"} to{" "}
        {schedule.end_at ? formatTimestamp(schedule.end_at) : "no end"}
      </dd>
      <dt>Misfire</dt>
      <dd>
        {schedule.misfire?.policy ?? "run_once"}, grace{" "}
        {formatDuration(schedule.misfire?.grace_s ?? 60)}
      </dd>
      <dt>Max instances</dt>
      <dd>{schedule.max_instances}</dd>
      <dt>Jitter</dt>
      <dd>{schedule.jitter_s ? formatDuration(schedule.jitter_s) : "none"}</dd>
      <dt>Expires</dt>
      <dd>
        {schedule.expires_s ? `${formatDuration(schedule.expires_s)} after sending` : "never"}
      </dd>
      <dt>Origin</dt>
      <dd>
        {schedule.static ? "static (beat's configuration): pause it rather than delete" : "the API"}
      </dd>
      <dt>Updated</dt>
      <dd>
        <When at={schedule.updated_at} />
      </dd>
    </dl>
  );
}

interface ScheduleDetailProps {
  id: string;
  busy: boolean;
  onAction: (schedule: ListedSchedule, action: ScheduleAction) => void;
  onClose: () => void;
}

/** One schedule: its definition, actions, and its runs newest first. */
export function ScheduleDetail({ id, busy, onAction, onClose }: ScheduleDetailProps) {
  const schedule = useSchedule(id);
  const name = schedule.data?.name ?? id;
  return (
    <section className="panel schedule-detail" aria-labelledby="schedule-title">
      <div className="page-header">
        <h2 id="schedule-title">Schedule {name}</h2>
        <div className="actions">
          {schedule.data && (
            <ScheduleActions schedule={schedule.data} busy={busy} onAction={onAction} />
          )}
          <button type="button" onClick={onClose}>
            Close
          </button>
        </div>
      </div>
      {schedule.isError && <ErrorPanel error={schedule.error} />}
      {schedule.isPending && <p className="muted">Loading…</p>}
      {schedule.data && <Definition schedule={schedule.data} />}
      <Runs id={id} />
    </section>
  );
}
