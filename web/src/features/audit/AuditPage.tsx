import { useInfiniteQuery } from "@tanstack/react-query";
import { useNavigate } from "@tanstack/react-router";
import { type FormEvent, useState } from "react";

import { monitor, unwrap } from "../../api/client";
import { ApiError } from "../../api/errors";
import type { MonitorSchemas } from "../../api/types";
import { AUDIT_RESULTS, type AuditResult, type AuditSearch, auditRoute } from "../../routes/audit";
import { fromLocalInput, toLocalInput } from "../../ui/datetime";
import { Field } from "../../ui/Field";
import { formatTimestamp } from "../../ui/format";
import { StateBadge } from "../../ui/StateBadge";

type AuditEntry = MonitorSchemas["AuditEntryOut"];

const PAGE_SIZE = 100;
const LABELS = { action: "Action", subject: "Who", target: "Target starts with" } as const;
/** What the monitor audits, offered as suggestions (any action name is accepted). */
const ACTIONS = [
  "worker.shutdown",
  "worker.pool_restart",
  "worker.autoscale",
  "worker.pool_grow",
  "worker.pool_shrink",
  "worker.add_consumer",
  "worker.cancel_consumer",
  "queue.purge",
  "task.cancel",
  "task.retry",
];

const TEXT_FILTERS = ["action", "subject", "target"] as const;

function useAudit(search: AuditSearch) {
  return useInfiniteQuery({
    queryKey: ["audit", search],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam, signal }) =>
      unwrap(
        monitor.GET("/api/v1/celery/audit", {
          params: { query: { ...search, cursor: pageParam, limit: PAGE_SIZE } },
          signal,
        }),
      ),
    getNextPageParam: (page) => page.next_cursor ?? undefined,
  });
}

/** The monitor's audit log of operator and admin actions, filterable, newest first. */
export function AuditPage() {
  const search = auditRoute.useSearch();
  const navigate = useNavigate({ from: auditRoute.fullPath });
  const query = useAudit(search);
  const [draft, setDraft] = useState<AuditSearch>(search);
  const [shownFor, setShownFor] = useState(search);
  if (shownFor !== search) {
    // A link, Back or a reload changed the URL: the form shows what is applied.
    setShownFor(search);
    setDraft(search);
  }

  const items: AuditEntry[] = query.data?.pages.flatMap((page) => page.items) ?? [];
  const error = query.error instanceof ApiError ? query.error : null;

  function apply(event: FormEvent) {
    event.preventDefault();
    const next: AuditSearch = {};
    for (const key of [...TEXT_FILTERS, "since", "until"] as const) {
      const value = draft[key]?.trim();
      if (value) next[key] = value;
    }
    if (draft.result) next.result = draft.result;
    void navigate({ search: next });
  }

  return (
    <section aria-labelledby="audit-title">
      <div className="page-header">
        <h1 id="audit-title">Audit</h1>
        <p className="muted">Who did what to which workers, queues and tasks, newest first.</p>
      </div>
      <form className="panel filters" onSubmit={apply} aria-label="Audit filters">
        {TEXT_FILTERS.map((key) => (
          <Field key={key} label={LABELS[key]} name={key} error={error}>
            <input
              value={draft[key] ?? ""}
              list={key === "action" ? "audit-actions" : undefined}
              onChange={(event) => setDraft({ ...draft, [key]: event.target.value })}
            />
          </Field>
        ))}
        <datalist id="audit-actions">
          {ACTIONS.map((action) => (
            <option key={action} value={action} />
          ))}
        </datalist>
        <Field label="Result" name="result" error={error}>
          <select
            value={draft.result ?? ""}
            onChange={(event) =>
              setDraft({
                ...draft,
                result: (event.target.value || undefined) as AuditResult | undefined,
              })
            }
          >
            <option value="">Any</option>
            {AUDIT_RESULTS.map((result) => (
              <option key={result} value={result}>
                {result}
              </option>
            ))}
          </select>
        </Field>
        {(["since", "until"] as const).map((key) => (
          <Field key={key} label={key === "since" ? "From" : "To"} name={key} error={error}>
            <input
              type="datetime-local"
              step={1}
              value={toLocalInput(draft[key])}
              onChange={(event) =>
                setDraft({ ...draft, [key]: fromLocalInput(event.target.value) })
              }
            />
          </Field>
        ))}
        <button type="submit" className="primary">
          Filter
        </button>
        <button type="button" onClick={() => void navigate({ search: {} })}>
          Clear
        </button>
      </form>

      <div className="panel">
        {query.isPending && <p role="status">Loading the audit log…</p>}
        {query.isError && (
          <p role="alert" className="field-error">
            {query.error.message}
          </p>
        )}
        {query.isSuccess && items.length === 0 && !query.hasNextPage && (
          <p role="status">No audit entries match.</p>
        )}
        {items.length > 0 && (
          <div className="table-wrap">
            <table>
              <caption>
                {items.length} {items.length === 1 ? "entry" : "entries"}
                {query.hasNextPage ? " so far" : ""}
              </caption>
              <thead>
                <tr>
                  <th scope="col">At</th>
                  <th scope="col">Who</th>
                  <th scope="col">Action</th>
                  <th scope="col">Target</th>
                  <th scope="col">Result</th>
                  <th scope="col">Detail</th>
                </tr>
              </thead>
              <tbody>
                {items.map((entry) => (
                  <tr key={entry.id}>
                    <td>{formatTimestamp(entry.at)}</td>
                    <td>
                      {entry.subject} <span className="muted">({entry.role})</span>
                    </td>
                    <td>
                      <code>{entry.action}</code>
                    </td>
                    <td>
                      <code>{entry.target}</code>
                    </td>
                    <td>
                      <StateBadge state={entry.result} />
                    </td>
                    <td className="audit-detail">{entry.detail}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {query.hasNextPage && (
          <button
            type="button"
            onClick={() => void query.fetchNextPage()}
            disabled={query.isFetchingNextPage}
          >
            {query.isFetchingNextPage ? "Loading…" : "Load more"}
          </button>
        )}
      </div>
    </section>
  );
}
