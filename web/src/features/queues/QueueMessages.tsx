import { Link } from "@tanstack/react-router";

import { errorMessage } from "../../api/errors";
import { formatCount, formatTimestamp } from "../../ui/format";
import { useQueueMessages } from "./api";

/** The messages waiting in one queue, the next a worker takes first. */
export function QueueMessages({ queue }: { queue: string }) {
  const messages = useQueueMessages(queue);
  const body = messages.data;
  const counts = Object.entries(body?.counts ?? {});

  return (
    <section className="panel" aria-labelledby="queue-messages-title">
      <div className="page-header">
        <h2 id="queue-messages-title">
          Waiting in <code>{queue}</code>
        </h2>
        <div className="actions">
          <Link to="/queues" search={(prev) => ({ ...prev, messages: undefined })}>
            Close
          </Link>
        </div>
      </div>
      {messages.error && (
        <p className="error-panel" role="alert">
          The messages could not be read: {errorMessage(messages.error)}
        </p>
      )}
      {body && (
        <p>
          {body.truncated
            ? `The next ${formatCount(body.items.length)} of ${formatCount(body.total)} messages`
            : `${formatCount(body.total)} ${body.total === 1 ? "message" : "messages"}`}
          , in the order workers take them: priority 0 first, the oldest first within a priority.
        </p>
      )}
      {counts.length > 0 && (
        <ul aria-label="Messages by task" className="details">
          {counts.map(([task, count]) => (
            <li key={task}>
              <code>{task}</code>: {formatCount(count)}
            </li>
          ))}
        </ul>
      )}
      <div className="table-wrap">
        <table aria-label={`Messages waiting in ${queue}`}>
          <thead>
            <tr>
              <th scope="col" className="num">
                #
              </th>
              <th scope="col">Task</th>
              <th scope="col" className="num">
                Priority
              </th>
              <th scope="col">ETA</th>
              <th scope="col">Expires</th>
              <th scope="col">Arguments</th>
              <th scope="col" className="num">
                Size
              </th>
              <th scope="col">Id</th>
            </tr>
          </thead>
          <tbody>
            {body?.items.map((message, index) => (
              // Position is what a message is here: copies may share an id.
              <tr key={index}>
                <td className="num">{index + 1}</td>
                <td>
                  {message.task ? (
                    <code>{message.task}</code>
                  ) : (
                    <span className="muted">unreadable</span>
                  )}
                  {message.error && <p className="field-error">{message.error}</p>}
                </td>
                <td className="num">{message.priority}</td>
                <td>{message.eta ? formatTimestamp(message.eta) : "—"}</td>
                <td>{message.expires ? formatTimestamp(message.expires) : "—"}</td>
                <td className="mono">
                  {message.args ?? "—"} {message.kwargs ?? ""}
                </td>
                <td className="num">{formatCount(message.size)} B</td>
                <td className="mono">{message.id ?? "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {messages.isPending && <p className="muted">Loading the messages…</p>}
        {body && body.items.length === 0 && <p className="muted">No message is waiting.</p>}
      </div>
    </section>
  );
}
