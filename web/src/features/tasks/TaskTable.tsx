import { Link } from "@tanstack/react-router";
import { useVirtualizer } from "@tanstack/react-virtual";
import { memo, useEffect, useRef } from "react";

import { formatDuration, formatTimestamp } from "../../ui/format";
import { StateBadge } from "../../ui/StateBadge";
import type { TaskSummary } from "./queries";

/** Every row is one line of this height (tasks.css keeps it so), so no row needs measuring. */
export const ROW_HEIGHT = 36;
// Six rows each side: enough for a wheel or keyboard scroll, and a smaller table to lay out.
const OVERSCAN = 6;
/** Ask for the next page this many rows before the end, so scrolling rarely waits. */
const PREFETCH_ROWS = 20;
const COLUMNS = 9;

interface Props {
  rows: readonly TaskSummary[];
  /** The open task, marked in the table. */
  openId?: string;
  hasMore: boolean;
  loadingMore: boolean;
  onLoadMore: () => void;
}

const timeOfDay = new Intl.DateTimeFormat(undefined, {
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
});
const dayAndTime = new Intl.DateTimeFormat(undefined, {
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
});

/** A row's time, short enough for its column: the time of day alone when it is today. */
function When({ at }: { at: string | null | undefined }) {
  if (!at) return <>—</>;
  const when = new Date(at);
  if (Number.isNaN(when.getTime())) return <>—</>;
  const today = when.toDateString() === new Date().toDateString();
  return (
    <time dateTime={at} title={formatTimestamp(when)}>
      {(today ? timeOfDay : dayAndTime).format(when)}
    </time>
  );
}

export function shortId(id: string): string {
  return id.length > 8 ? id.slice(0, 8) : id;
}

/**
 * The history as a real table that draws only the rows in view (plus a margin): spacer rows
 * stand for the rest, and aria-rowcount/aria-rowindex tell assistive technology where each
 * drawn row sits. Reaching the end asks for the next page.
 */
export function TaskTable({ rows, openId, hasMore, loadingMore, onLoadMore }: Props) {
  const scrollRef = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: OVERSCAN,
    // Rendered after the scroll event, not inside it: a fast scroll then costs one render per
    // frame, and the browser's scroll handling is never one long task with React's.
    useFlushSync: false,
  });
  const items = virtualizer.getVirtualItems();
  const lastIndex = items.at(-1)?.index ?? -1;

  useEffect(() => {
    if (hasMore && !loadingMore && rows.length > 0 && lastIndex >= rows.length - PREFETCH_ROWS) {
      onLoadMore();
    }
  }, [hasMore, loadingMore, lastIndex, rows.length, onLoadMore]);

  const first = items[0];
  const last = items.at(-1);
  const before = first ? first.start : 0;
  const after = last ? virtualizer.getTotalSize() - last.end : 0;

  return (
    <div ref={scrollRef} className="task-scroll">
      <table
        className="task-table"
        aria-label="Task history"
        // -1: more pages exist, so the total is not known yet.
        aria-rowcount={hasMore ? -1 : rows.length + 1}
      >
        <colgroup>
          <col className="col-state" />
          <col className="col-name" />
          <col className="col-id" />
          <col className="col-worker" />
          <col className="col-queue" />
          <col className="col-time" />
          <col className="col-time" />
          <col className="col-time" />
          <col className="col-runtime" />
        </colgroup>
        <thead>
          <tr aria-rowindex={1}>
            <th scope="col">State</th>
            <th scope="col">Name</th>
            <th scope="col">Id</th>
            <th scope="col">Worker</th>
            <th scope="col">Queue</th>
            <th scope="col">Received</th>
            <th scope="col">Started</th>
            <th scope="col">Finished</th>
            <th scope="col" className="num">
              Runtime
            </th>
          </tr>
        </thead>
        <tbody>
          {before > 0 && (
            <tr aria-hidden="true" className="spacer">
              <td colSpan={COLUMNS} style={{ height: before }} />
            </tr>
          )}
          {items.map((item) => {
            const row = rows[item.index];
            return row ? (
              <TaskRow key={row.id} row={row} index={item.index} open={row.id === openId} />
            ) : null;
          })}
          {after > 0 && (
            <tr aria-hidden="true" className="spacer">
              <td colSpan={COLUMNS} style={{ height: after }} />
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}

/** One row; memoised, so a scroll draws only the rows that come into the window. */
const TaskRow = memo(function TaskRow({
  row,
  index,
  open,
}: {
  row: TaskSummary;
  index: number;
  open: boolean;
}) {
  return (
    <tr aria-rowindex={index + 2} className={open ? "open" : undefined}>
      <td>
        <StateBadge state={row.state} />
      </td>
      <td title={row.name ?? undefined}>{row.name ?? "—"}</td>
      <td className="mono">
        <Link
          from="/tasks"
          to="/tasks"
          search={(prev) => ({ ...prev, task: row.id })}
          aria-label={`Open task ${row.id}`}
          aria-current={open ? "true" : undefined}
        >
          {shortId(row.id)}
        </Link>
      </td>
      <td title={row.worker ?? undefined}>{row.worker ?? "—"}</td>
      <td>{row.queue ?? "—"}</td>
      <td>
        <When at={row.received_at} />
      </td>
      <td>
        <When at={row.started_at} />
      </td>
      <td>
        <When at={row.finished_at} />
      </td>
      <td className="num">{formatDuration(row.runtime)}</td>
    </tr>
  );
});
