import "./workers.css";

import { getRouteApi, Link } from "@tanstack/react-router";
import { useEffect, useRef, useState } from "react";

import { errorMessage } from "../../api/errors";
import { Can, useCan } from "../../auth/Can";
import { formatAge, formatCount, formatPercent, formatTimestamp } from "../../ui/format";
import { useWorkers, type Worker } from "./api";
import { useNow } from "../../ui/useNow";
import { WorkerControls } from "./WorkerControls";

const route = getRouteApi("/workers");

function OnlineBadge({ online }: { online: boolean }) {
  return (
    <span className={online ? "badge badge-ok" : "badge badge-bad"}>
      {online ? "online" : "offline"}
    </span>
  );
}

function Utilisation({ worker }: { worker: Worker }) {
  if (worker.utilisation == null) return <span className="muted">—</span>;
  return (
    <span className="utilisation">
      <meter
        min={0}
        max={1}
        value={worker.utilisation}
        aria-label={`Utilisation of ${worker.name}`}
      />
      <span>{formatPercent(worker.utilisation)}</span>
    </span>
  );
}

function load(worker: Worker): string {
  return worker.loadavg.length ? worker.loadavg.map((value) => value.toFixed(2)).join(" / ") : "—";
}

/** A checkbox that also shows "some selected". */
function SelectAll({
  all,
  some,
  onChange,
}: {
  all: boolean;
  some: boolean;
  onChange: (on: boolean) => void;
}) {
  const ref = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (ref.current) ref.current.indeterminate = some && !all;
  }, [all, some]);
  return (
    <input
      ref={ref}
      type="checkbox"
      aria-label="Select all workers"
      checked={all}
      onChange={(event) => onChange(event.target.checked)}
    />
  );
}

function WorkerDetail({
  name,
  worker,
  loaded,
  now,
}: {
  name: string;
  worker: Worker | undefined;
  /** Whether the list has been read: until then an unknown name may still come. */
  loaded: boolean;
  now: number;
}) {
  return (
    <section className="panel" aria-labelledby="worker-detail">
      <div className="page-header">
        <h2 id="worker-detail">
          Worker <code>{name}</code>
        </h2>
        <div className="actions">
          <Link to="/workers" search={(prev) => ({ ...prev, worker: undefined })}>
            Close
          </Link>
        </div>
      </div>
      {worker ? (
        <dl className="details">
          <dt>State</dt>
          <dd>
            <OnlineBadge online={worker.online} />
          </dd>
          <dt>Last heartbeat</dt>
          <dd>
            {formatTimestamp(worker.last_heartbeat)} ({formatAge(worker.last_heartbeat, now)})
          </dd>
          <dt>Pool</dt>
          <dd>{worker.pool ?? "—"}</dd>
          <dt>Concurrency</dt>
          <dd>{formatCount(worker.concurrency)}</dd>
          <dt>Active</dt>
          <dd>{formatCount(worker.active)}</dd>
          <dt>Processed</dt>
          <dd>{formatCount(worker.processed)}</dd>
          <dt>Utilisation</dt>
          <dd>
            <Utilisation worker={worker} />
          </dd>
          <dt>Load (1, 5, 15 min)</dt>
          <dd>{load(worker)}</dd>
          <dt>Queues</dt>
          <dd>{worker.queues.join(", ") || "none"}</dd>
          <dt>Software</dt>
          <dd>{worker.software ?? "—"}</dd>
          <dt>System</dt>
          <dd>{worker.system ?? "—"}</dd>
          <dt>PID</dt>
          <dd>{worker.pid ?? "—"}</dd>
        </dl>
      ) : !loaded ? (
        <p className="muted">Loading…</p>
      ) : (
        <p>No worker named {name} is known (it may have been purged after going offline).</p>
      )}
    </section>
  );
}

export function WorkersPage() {
  const search = route.useSearch();
  const navigate = route.useNavigate();
  const workers = useWorkers();
  const admin = useCan("admin");
  const now = useNow();
  const [selection, setSelection] = useState<ReadonlySet<string>>(new Set());

  const items = workers.data?.items ?? [];
  const shown = items.filter(
    (worker) => !search.show || worker.online === (search.show === "online"),
  );
  // A worker that left the list (or the filter) is no longer a target.
  const selected = shown.map((worker) => worker.name).filter((name) => selection.has(name));
  const allSelected = shown.length > 0 && selected.length === shown.length;

  function toggle(name: string, on: boolean) {
    setSelection((previous) => {
      const next = new Set(previous);
      if (on) next.add(name);
      else next.delete(name);
      return next;
    });
  }

  const open = search.worker;
  return (
    <section>
      <div className="page-header">
        <h1>Workers</h1>
        <div className="actions filters">
          <div className="field">
            <label htmlFor="workers-show">Show</label>
            <select
              id="workers-show"
              value={search.show ?? ""}
              onChange={(event) =>
                void navigate({
                  search: (prev) => ({
                    ...prev,
                    show:
                      event.target.value === "online" || event.target.value === "offline"
                        ? event.target.value
                        : undefined,
                  }),
                })
              }
            >
              <option value="">All workers</option>
              <option value="online">Online</option>
              <option value="offline">Offline</option>
            </select>
          </div>
        </div>
      </div>
      {workers.error && (
        <p className="panel error-panel" role="alert">
          The workers could not be read: {errorMessage(workers.error)}
        </p>
      )}
      {open && (
        <WorkerDetail
          name={open}
          worker={items.find((w) => w.name === open)}
          loaded={workers.isSuccess}
          now={now}
        />
      )}
      <div className="panel table-wrap">
        <table aria-label="Workers">
          <thead>
            <tr>
              {admin && (
                <th scope="col">
                  <SelectAll
                    all={allSelected}
                    some={selected.length > 0}
                    onChange={(on) =>
                      setSelection(new Set(on ? shown.map((worker) => worker.name) : []))
                    }
                  />
                </th>
              )}
              <th scope="col">Worker</th>
              <th scope="col">State</th>
              <th scope="col">Heartbeat</th>
              <th scope="col">Pool</th>
              <th scope="col" className="num">
                Concurrency
              </th>
              <th scope="col" className="num">
                Active
              </th>
              <th scope="col" className="num">
                Processed
              </th>
              <th scope="col">Utilisation</th>
              <th scope="col">Load (1/5/15)</th>
              <th scope="col">Queues</th>
              <th scope="col">Software</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((worker) => (
              <tr key={worker.name}>
                {admin && (
                  <td>
                    <input
                      type="checkbox"
                      aria-label={`Select ${worker.name}`}
                      checked={selection.has(worker.name)}
                      onChange={(event) => toggle(worker.name, event.target.checked)}
                    />
                  </td>
                )}
                <th scope="row">
                  <Link to="/workers" search={(prev) => ({ ...prev, worker: worker.name })}>
                    {worker.name}
                  </Link>
                </th>
                <td>
                  <OnlineBadge online={worker.online} />
                </td>
                <td title={formatTimestamp(worker.last_heartbeat)}>
                  {formatAge(worker.last_heartbeat, now)}
                </td>
                <td>{worker.pool ?? "—"}</td>
                <td className="num">{formatCount(worker.concurrency)}</td>
                <td className="num">{formatCount(worker.active)}</td>
                <td className="num">{formatCount(worker.processed)}</td>
                <td>
                  <Utilisation worker={worker} />
                </td>
                <td className="num workers-load">{load(worker)}</td>
                <td>{worker.queues.join(", ") || "none"}</td>
                <td>{worker.software ?? "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {workers.isPending && <p className="muted">Loading the workers…</p>}
        {workers.isSuccess && shown.length === 0 && (
          <p className="muted">
            {items.length ? "No worker matches the filter." : "No worker has been seen yet."}
          </p>
        )}
      </div>
      <Can role="admin">
        <WorkerControls selected={selected} />
      </Can>
    </section>
  );
}
