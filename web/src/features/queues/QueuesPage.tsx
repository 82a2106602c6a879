import { getRouteApi, Link } from "@tanstack/react-router";
import { useState } from "react";

import { errorMessage } from "../../api/errors";
import { Can } from "../../auth/Can";
import { ConfirmDialog } from "../../ui/ConfirmDialog";
import { formatCount } from "../../ui/format";
import { type Queue, usePurge, useQueues } from "./api";
import { QueueMessages } from "./QueueMessages";

const route = getRouteApi("/queues");

export function QueuesPage() {
  const search = route.useSearch();
  const navigate = route.useNavigate();
  const queues = useQueues();
  const purge = usePurge();
  const [pendingName, setPending] = useState<string | null>(null);

  const items = queues.data?.items ?? [];
  const filter = search.name?.toLowerCase();
  // The dialog shows the count as the last poll saw it.
  const pending: Queue | null =
    pendingName === null
      ? null
      : (items.find((queue) => queue.name === pendingName) ?? {
          name: pendingName,
          pending: 0,
          processing: 0,
          consumers: [],
        });
  const shown = filter ? items.filter((queue) => queue.name.toLowerCase().includes(filter)) : items;

  function confirm() {
    if (!pending) return;
    purge.mutate(pending.name, { onSettled: () => setPending(null) });
  }

  return (
    <section>
      <div className="page-header">
        <h1>Queues</h1>
        <div className="actions filters">
          <div className="field">
            <label htmlFor="queues-name">Name contains</label>
            <input
              id="queues-name"
              type="search"
              value={search.name ?? ""}
              onChange={(event) =>
                void navigate({
                  search: (prev) => ({ ...prev, name: event.target.value || undefined }),
                  replace: true,
                })
              }
            />
          </div>
        </div>
      </div>
      {queues.error && (
        <p className="panel error-panel" role="alert">
          The queues could not be read: {errorMessage(queues.error)}
        </p>
      )}
      {purge.data && (
        <p className="panel" role="status">
          Purged {formatCount(purge.data.purged)} {purge.data.purged === 1 ? "message" : "messages"}{" "}
          from <code>{purge.data.queue}</code>.
        </p>
      )}
      {purge.error && (
        <p className="panel error-panel" role="alert">
          The purge was refused{purge.error.status ? ` (${purge.error.status})` : ""}:{" "}
          {purge.error.message}
        </p>
      )}
      <div className="panel table-wrap">
        <table aria-label="Queues">
          <thead>
            <tr>
              <th scope="col">Queue</th>
              <th scope="col" className="num">
                Pending
              </th>
              <th scope="col" className="num">
                Processing
              </th>
              <th scope="col">Consumers</th>
              <th scope="col">Messages</th>
              <Can role="admin">
                <th scope="col">Purge</th>
              </Can>
            </tr>
          </thead>
          <tbody>
            {shown.map((queue) => (
              <tr key={queue.name}>
                <th scope="row">
                  <code>{queue.name}</code>
                </th>
                <td className="num">{formatCount(queue.pending)}</td>
                <td className="num">{formatCount(queue.processing)}</td>
                <td>
                  {queue.consumers.length ? (
                    queue.consumers.join(", ")
                  ) : (
                    <span className="muted">none</span>
                  )}
                </td>
                <td>
                  <Link
                    to="/queues"
                    search={(prev) => ({ ...prev, messages: queue.name })}
                    aria-label={`Messages of ${queue.name}`}
                  >
                    Show
                  </Link>
                </td>
                <Can role="admin">
                  <td>
                    <button
                      type="button"
                      className="danger"
                      aria-label={`Purge ${queue.name}`}
                      onClick={() => setPending(queue.name)}
                    >
                      Purge
                    </button>
                  </td>
                </Can>
              </tr>
            ))}
          </tbody>
        </table>
        {queues.isPending && <p className="muted">Loading the queues…</p>}
        {queues.isSuccess && shown.length === 0 && (
          <p className="muted">
            {items.length ? "No queue matches the filter." : "No queue is known yet."}
          </p>
        )}
      </div>
      {search.messages && <QueueMessages queue={search.messages} />}
      <ConfirmDialog
        open={pending !== null}
        title={pending ? `Purge ${pending.name}?` : "Purge"}
        targets={pending ? [pending.name] : undefined}
        confirmLabel="Purge"
        danger
        busy={purge.isPending}
        onConfirm={confirm}
        onCancel={() => setPending(null)}
      >
        {pending && (
          <p>
            Delete the {formatCount(pending.pending)} waiting{" "}
            {pending.pending === 1 ? "message" : "messages"} of this queue, at every priority. Tasks
            already running are not touched; this cannot be undone.
          </p>
        )}
      </ConfirmDialog>
    </section>
  );
}
