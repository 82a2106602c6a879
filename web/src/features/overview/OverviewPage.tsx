import "./overview.css";

import { useQuery, useQueryClient, type UseQueryResult } from "@tanstack/react-query";
import { memo, type ReactNode, useId } from "react";

import { errorMessage } from "../../api/errors";
import { useSession } from "../../auth/session";
import { formatCount, formatDuration, formatPercent } from "../../ui/format";
import { useNow } from "../../ui/useNow";
import { type CeleryStatus, emptySeries, SERIES_MINUTES, type WorkerOut } from "./live";
import {
  flowerQuery,
  POLL_MS,
  REANCHOR_MS,
  schedulerQuery,
  seriesQuery,
  statusQuery,
  workersQuery,
} from "./queries";
import { type LiveMode, liveMode, useLiveStream } from "./stream";
import { ThroughputChart } from "./ThroughputChart";

const MODE_TEXT: Record<LiveMode, string> = {
  live: "Live",
  polling: "Polling",
  disconnected: "Disconnected",
};

const MODE_HINT: Record<LiveMode, string> = {
  live: "Updates arrive from the monitor's event stream as they happen.",
  polling: "The event stream is not open: the page asks again every 5 s.",
  disconnected: "Neither the event stream nor the monitor answers; the console keeps trying.",
};

export function LiveIndicator({ mode }: { mode: LiveMode }) {
  return (
    <span
      role="status"
      aria-label="Updates"
      className={`live-indicator live-${mode}`}
      title={MODE_HINT[mode]}
    >
      {MODE_TEXT[mode]}
    </span>
  );
}

/** A query's failure inline, above what it last showed (if anything). */
function QueryError({ query, what }: { query: UseQueryResult<unknown>; what: string }) {
  if (!query.isError) return null;
  return (
    <p className="notice" role="alert">
      {what} could not be read: {errorMessage(query.error)}.
      {query.data !== undefined && " Showing the last known values."}
    </p>
  );
}

/** One number and its label, found by that label: the group "Processed". */
function Counter({ label, children }: { label: string; children: ReactNode }) {
  const id = useId();
  return (
    <div className="counter" role="group" aria-labelledby={id}>
      <span id={id} className="label">
        {label}
      </span>
      <div className="value">{children}</div>
    </div>
  );
}

function byState(a: WorkerOut, b: WorkerOut): number {
  if (a.online !== b.online) return a.online ? -1 : 1;
  return a.name.localeCompare(b.name);
}

function WorkersTable({ workers }: { workers: WorkerOut[] }) {
  if (workers.length === 0) return <p className="muted">No worker has been seen yet.</p>;
  return (
    <div className="table-wrap">
      <table>
        <caption className="visually-hidden">Workers</caption>
        <thead>
          <tr>
            <th scope="col">Worker</th>
            <th scope="col">State</th>
            <th scope="col">Utilisation</th>
            <th scope="col" className="num">
              Active
            </th>
            <th scope="col" className="num">
              Processed
            </th>
          </tr>
        </thead>
        <tbody>
          {[...workers].sort(byState).map((worker) => (
            <tr key={worker.name}>
              <th scope="row" className="mono">
                {worker.name}
              </th>
              <td>
                <span className={`badge badge-${worker.online ? "ok" : "muted"}`}>
                  {worker.online ? "online" : "offline"}
                </span>
              </td>
              <td>
                {worker.utilisation === null ? (
                  "—"
                ) : (
                  <span className="utilisation">
                    <meter
                      min={0}
                      max={1}
                      low={0.5}
                      high={0.9}
                      optimum={0}
                      value={worker.utilisation}
                      aria-label={`Utilisation of ${worker.name}`}
                    />
                    {formatPercent(worker.utilisation)}
                  </span>
                )}
              </td>
              <td className="num">
                {formatCount(worker.active)}
                {worker.concurrency !== null && ` / ${formatCount(worker.concurrency)}`}
              </td>
              <td className="num">{formatCount(worker.processed)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function QueuesTable({ queues }: { queues: CeleryStatus["queues"] }) {
  const names = Object.keys(queues).sort((a, b) => a.localeCompare(b));
  if (names.length === 0) return <p className="muted">No queue is known yet.</p>;
  return (
    <div className="table-wrap">
      <table>
        <caption className="visually-hidden">Queue lengths</caption>
        <thead>
          <tr>
            <th scope="col">Queue</th>
            <th scope="col" className="num">
              Pending
            </th>
            <th scope="col" className="num">
              Processing
            </th>
          </tr>
        </thead>
        <tbody>
          {names.map((name) => (
            <tr key={name}>
              <th scope="row" className="mono">
                {name}
              </th>
              <td className="num">{formatCount(queues[name]?.pending)}</td>
              <td className="num">{formatCount(queues[name]?.processing)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

// Memoised, as FlowerLink: the page re-renders on every frame of a busy stream, these do not.
const BeatCounters = memo(function BeatCounters({ now }: { now: number }) {
  const scheduler = useQuery(schedulerQuery());
  const data = scheduler.data;
  // The age the answer gave, grown by the time since it came.
  const age =
    data?.last_tick_age_s == null
      ? null
      : data.last_tick_age_s + Math.max(0, now - scheduler.dataUpdatedAt) / 1000;
  return (
    <section className="panel" aria-labelledby="beat-heading">
      <h2 id="beat-heading">Beat</h2>
      <QueryError query={scheduler} what="The scheduler's status" />
      {scheduler.isPending ? (
        <p className="muted">Loading…</p>
      ) : (
        data && (
          <div className="counters">
            <Counter label="Beat">{data.healthy ? "running" : "not running"}</Counter>
            <Counter label="Leader">
              <span className="mono counter-text">{data.leader ?? "none"}</span>
            </Counter>
            <Counter label="Last tick">{age === null ? "—" : `${formatDuration(age)} ago`}</Counter>
            <Counter label="Schedules active">{formatCount(data.schedules_active)}</Counter>
            <Counter label="Schedules paused">{formatCount(data.schedules_paused)}</Counter>
          </div>
        )
      )}
    </section>
  );
});

const FlowerLink = memo(function FlowerLink() {
  const flower = useQuery(flowerQuery());
  if (!flower.data?.enabled || !flower.data.url) return null;
  return (
    <a href={flower.data.url} target="_blank" rel="noopener noreferrer">
      Flower (opens in a new tab)
    </a>
  );
});

/**
 * The page while signed in. Right after a logout the shell can render the old route once more
 * while it moves to the login page; asked then, every call would be a 401 without a token.
 */
export function OverviewPage() {
  return useSession() ? <Overview /> : null;
}

function Overview() {
  const client = useQueryClient();
  const streaming = useLiveStream();
  const poll = streaming ? REANCHOR_MS : POLL_MS;
  const status = useQuery(statusQuery(poll));
  const workers = useQuery(workersQuery(poll));
  const series = useQuery(seriesQuery(client, streaming ? 2 * REANCHOR_MS : POLL_MS));
  const now = useNow(1_000);
  const mode = liveMode(streaming, status.isError);
  const items = workers.data?.items ?? [];
  const processed = items.reduce((sum, worker) => sum + worker.processed, 0);

  return (
    <section>
      <div className="page-header">
        <h1>Overview</h1>
        <div className="actions">
          <LiveIndicator mode={mode} />
          <FlowerLink />
        </div>
      </div>

      <section className="panel" aria-labelledby="cluster-heading">
        <h2 id="cluster-heading">Cluster</h2>
        <QueryError query={status} what="The cluster's status" />
        {status.isPending && <p className="muted">Loading…</p>}
        {status.data && (
          <div className="counters">
            <Counter label="Workers online">{formatCount(status.data.workers_online)}</Counter>
            <Counter label="Tasks active">{formatCount(status.data.tasks_active)}</Counter>
            <Counter label="Tasks reserved">{formatCount(status.data.tasks_reserved)}</Counter>
            <Counter label="Tasks scheduled">{formatCount(status.data.tasks_scheduled)}</Counter>
            <Counter label="Processed">{workers.data ? formatCount(processed) : "—"}</Counter>
          </div>
        )}
      </section>

      <BeatCounters now={now} />

      <section className="panel" aria-labelledby="chart-heading">
        <h2 id="chart-heading">Throughput and queue depth, last {SERIES_MINUTES} minutes</h2>
        <QueryError query={series} what="The history of the last minutes" />
        <ThroughputChart series={series.data ?? emptySeries(now / 1000)} minutes={SERIES_MINUTES} />
      </section>

      <div className="grid">
        <section className="panel" aria-labelledby="workers-heading">
          <h2 id="workers-heading">Workers</h2>
          <QueryError query={workers} what="The workers" />
          {workers.isPending ? <p className="muted">Loading…</p> : <WorkersTable workers={items} />}
        </section>
        <section className="panel" aria-labelledby="queues-heading">
          <h2 id="queues-heading">Queues</h2>
          <QueryError query={status} what="The queue lengths" />
          {status.isPending ? (
            <p className="muted">Loading…</p>
          ) : (
            <QueuesTable queues={status.data?.queues ?? {}} />
          )}
        </section>
      </div>
    </section>
  );
}
