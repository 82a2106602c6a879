import { Link } from "@tanstack/react-router";
import { type ReactNode, useEffect, useId, useRef } from "react";

import { ApiError, errorMessage } from "../../api/errors";
import { formatDuration, formatTimestamp } from "../../ui/format";
import { StateBadge } from "../../ui/StateBadge";
import { FINISHED_STATES, type TaskDetail, type TaskQuery } from "./queries";
import { TaskActions } from "./TaskActions";

export const NO_SUCH_TASK = "No task with that id";

const SOURCES: Record<TaskDetail["source"], string> = {
  events: "event history",
  result_backend: "result backend (the history no longer holds it)",
};

/** The open task (`?task=`); the page polls it while it can still change. */
export function TaskDetailPanel({ id, task }: { id: string; task: TaskQuery }) {
  const headingId = useId();
  const ref = useRef<HTMLElement>(null);
  const missing = task.error instanceof ApiError && task.error.status === 404;

  useEffect(() => {
    // Opened from a row far down, or above the table on a narrow screen: bring it to the eye
    // and the keyboard.
    ref.current?.focus({ preventScroll: true });
    ref.current?.scrollIntoView?.({ block: "nearest" });
  }, []);

  return (
    <section ref={ref} className="panel task-detail" aria-labelledby={headingId} tabIndex={-1}>
      <div className="task-detail-header">
        <h2 id={headingId}>
          Task <code>{id}</code>
        </h2>
        <Link from="/tasks" to="/tasks" search={(prev) => ({ ...prev, task: undefined })}>
          Close
        </Link>
      </div>
      {task.isPending && <p className="muted">Loading…</p>}
      {task.error && (
        <p role="alert" className="field-error">
          {missing ? NO_SUCH_TASK : errorMessage(task.error)}
        </p>
      )}
      {task.data && <TaskFields task={task.data} />}
    </section>
  );
}

function Block({ label, children }: { label: string; children: string | null | undefined }) {
  return (
    <>
      <dt>{label}</dt>
      <dd>
        {children ? (
          // Focusable: a long text scrolls, and a keyboard must be able to scroll it.
          <pre tabIndex={0} aria-label={label}>
            {children}
          </pre>
        ) : (
          "—"
        )}
      </dd>
    </>
  );
}

function Item({ label, children }: { label: string; children: ReactNode }) {
  return (
    <>
      <dt>{label}</dt>
      <dd>{children ?? "—"}</dd>
    </>
  );
}

function TaskFields({ task }: { task: TaskDetail }) {
  const live = !FINISHED_STATES.has(task.state);
  return (
    <>
      <TaskActions task={task} />
      <dl className="details task-fields">
        <Item label="Name">{task.name}</Item>
        <Item label="State">
          <StateBadge state={task.state} />
          {live && <span className="muted"> (refreshing)</span>}
        </Item>
        <Item label="Worker">{task.worker}</Item>
        <Item label="Queue">{task.queue}</Item>
        <Item label="Sent">{formatTimestamp(task.sent_at)}</Item>
        <Item label="Received">{formatTimestamp(task.received_at)}</Item>
        <Item label="Started">{formatTimestamp(task.started_at)}</Item>
        <Item label="Finished">{formatTimestamp(task.finished_at)}</Item>
        <Item label="Runtime">{formatDuration(task.runtime)}</Item>
        <Item label="Retries">{task.retries}</Item>
        <Item label="Retry of">
          {task.retry_of && (
            <Link
              from="/tasks"
              to="/tasks"
              search={(prev) => ({ ...prev, task: task.retry_of ?? undefined })}
              className="mono"
            >
              {task.retry_of}
            </Link>
          )}
        </Item>
        <Item label="Source">{SOURCES[task.source]}</Item>
        <Block label="Args">{task.args}</Block>
        <Block label="Kwargs">{task.kwargs}</Block>
        <Block label="Result">{task.result}</Block>
        <Block label="Exception">{task.exception}</Block>
        <Block label="Traceback">{task.traceback}</Block>
      </dl>
    </>
  );
}
