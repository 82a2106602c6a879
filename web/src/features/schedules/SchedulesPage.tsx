import { Link, useNavigate } from "@tanstack/react-router";
import { useState } from "react";

import { errorMessage } from "../../api/errors";
import { Can } from "../../auth/Can";
import { schedulesRoute, SCHEDULE_STATES, type SchedulesSearch } from "../../routes/schedules";
import { ConfirmDialog } from "../../ui/ConfirmDialog";
import { ErrorPanel } from "../../ui/ErrorBoundary";
import { Field } from "../../ui/Field";
import { formatAge, formatCount, formatTimestamp } from "../../ui/format";
import { describeTrigger } from "./describeTrigger";
import {
  allItems,
  isDecoded,
  type ListedSchedule,
  previewTiming,
  type ScheduleAction,
  useJobs,
  useSaveSchedule,
  useSchedule,
  useScheduleAction,
  useScheduleList,
} from "./queries";
import { ScheduleActions } from "./ScheduleActions";
import { ScheduleDetail } from "./ScheduleDetail";
import { ScheduleForm } from "./ScheduleForm";
import { SchedulerStatus } from "./SchedulerStatus";
import { ScheduleStateBadge } from "./ScheduleStateBadge";
import "./schedules.css";

function When({ at }: { at: string | null | undefined }) {
  if (!at) return <span className="muted">—</span>;
  return (
    <time dateTime={at} title={formatTimestamp(at)}>
      {formatAge(at)}
    </time>
  );
}

/** The create or edit form, once the catalogue (and the schedule edited) have loaded. */
interface FormPanelProps {
  editId?: string;
  onDone: (id: string) => void;
  onCancel: () => void;
}

function FormPanel({ editId, onDone, onCancel }: FormPanelProps) {
  const jobs = useJobs();
  const edited = useSchedule(editId);
  const save = useSaveSchedule(editId);
  const problem = jobs.error ?? edited.error;
  const ready = jobs.data && (editId === undefined || edited.data);
  const title = editId ? `Edit schedule ${edited.data?.name ?? ""}` : "New schedule";
  return (
    <section className="panel" aria-labelledby="schedule-form-title">
      <h2 id="schedule-form-title">{title}</h2>
      {problem && <ErrorPanel error={problem} />}
      {edited.data && !isDecoded(edited.data) && (
        <p>
          This schedule's stored definition no longer decodes; delete it or replace it through the
          API.
        </p>
      )}
      {!problem && !ready && <p className="muted">Loading…</p>}
      {ready && jobs.data && (editId === undefined || (edited.data && isDecoded(edited.data))) && (
        <ScheduleForm
          key={editId ?? "new"}
          jobs={jobs.data.items}
          initial={edited.data && isDecoded(edited.data) ? edited.data : undefined}
          onSubmit={async (spec) => onDone((await save.mutateAsync(spec)).id)}
          onCancel={onCancel}
          preview={previewTiming}
        />
      )}
    </section>
  );
}

function Filters({ search }: { search: SchedulesSearch }) {
  const navigate = useNavigate({ from: schedulesRoute.fullPath });
  const jobs = useJobs();
  const filter = (change: Partial<SchedulesSearch>) =>
    void navigate({ search: (prev) => ({ ...prev, ...change }), replace: true });
  return (
    <form
      className="filters"
      role="search"
      aria-label="Filter schedules"
      onSubmit={(event) => event.preventDefault()}
    >
      <Field label="Name starts with">
        <input
          type="search"
          value={search.name ?? ""}
          onChange={(event) => filter({ name: event.target.value || undefined })}
        />
      </Field>
      <Field label="State">
        <select
          value={search.state ?? ""}
          onChange={(event) =>
            filter({ state: (event.target.value || undefined) as SchedulesSearch["state"] })
          }
        >
          <option value="">Any</option>
          {SCHEDULE_STATES.map((state) => (
            <option key={state} value={state}>
              {state.replace("_", " ")}
            </option>
          ))}
        </select>
      </Field>
      <Field label="Task">
        <select
          value={search.task ?? ""}
          onChange={(event) => filter({ task: event.target.value || undefined })}
        >
          <option value="">Any</option>
          {search.task && !jobs.data?.items.some((job) => job.name === search.task) && (
            <option value={search.task}>{search.task}</option>
          )}
          {jobs.data?.items.map((job) => (
            <option key={job.name} value={job.name}>
              {job.name}
            </option>
          ))}
        </select>
      </Field>
    </form>
  );
}

function ScheduleTable({
  search,
  busy,
  onAction,
}: {
  search: SchedulesSearch;
  busy: boolean;
  onAction: (schedule: ListedSchedule, action: ScheduleAction) => void;
}) {
  const list = useScheduleList({ state: search.state, task: search.task, name: search.name });
  const items = allItems(list.data);
  return (
    <section className="panel" aria-labelledby="schedules-list-title">
      <h2 id="schedules-list-title">All schedules</h2>
      <Filters search={search} />
      {list.isError && <ErrorPanel error={list.error} onRetry={() => void list.refetch()} />}
      {list.isPending ? (
        <p className="muted">Loading…</p>
      ) : items.length === 0 && !list.hasNextPage ? (
        <p className="muted">
          {search.name || search.state || search.task
            ? "No schedules match these filters."
            : "No schedules yet."}
        </p>
      ) : (
        <div className="table-wrap">
          <table aria-labelledby="schedules-list-title">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">State</th>
                <th scope="col">Task</th>
                <th scope="col">Trigger</th>
                <th scope="col">Next run</th>
                <th scope="col">Last run</th>
                <th scope="col" className="num">
                  Runs
                </th>
                <Can role="operator">
                  <th scope="col">Actions</th>
                </Can>
              </tr>
            </thead>
            <tbody>
              {items.map((schedule) => (
                <tr key={schedule.id}>
                  <th scope="row">
                    <Link
                      from="/schedules"
                      to="/schedules"
                      search={(prev) => ({ ...prev, schedule: schedule.id })}
                    >
                      {schedule.name ?? schedule.id}
                    </Link>
                  </th>
                  <td>
                    <ScheduleStateBadge state={schedule.state} reason={schedule.set_aside_reason} />
                  </td>
                  {isDecoded(schedule) ? (
                    <>
                      <td>
                        <code>{schedule.task}</code>
                      </td>
                      <td>{describeTrigger(schedule.trigger)}</td>
                    </>
                  ) : (
                    <td colSpan={2} className="muted">
                      Definition no longer decodes
                    </td>
                  )}
                  <td>
                    <When at={isDecoded(schedule) ? schedule.next_run_at : null} />
                  </td>
                  <td>
                    <When at={schedule.last_run_at} />
                  </td>
                  <td className="num" data-testid="run-count">
                    {formatCount(schedule.run_count)}
                  </td>
                  <Can role="operator">
                    <td>
                      <ScheduleActions schedule={schedule} busy={busy} onAction={onAction} />
                    </td>
                  </Can>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {list.hasNextPage && (
        <button
          type="button"
          onClick={() => void list.fetchNextPage()}
          disabled={list.isFetchingNextPage}
        >
          {list.isFetchingNextPage ? "Loading…" : "Load more"}
        </button>
      )}
    </section>
  );
}

export function SchedulesPage() {
  const search = schedulesRoute.useSearch();
  const navigate = useNavigate({ from: schedulesRoute.fullPath });
  const action = useScheduleAction();
  const [deleting, setDeleting] = useState<ListedSchedule | null>(null);
  const [sent, setSent] = useState<{ name: string; taskId: string } | null>(null);
  const [failed, setFailed] = useState<string | null>(null);
  const go = (change: Partial<SchedulesSearch>) =>
    void navigate({ search: (prev) => ({ ...prev, ...change }) });

  const run = async (schedule: ListedSchedule, kind: ScheduleAction) => {
    setFailed(null);
    const name = schedule.name ?? schedule.id;
    try {
      const taskId = await action.mutateAsync({ id: schedule.id, action: kind });
      if (kind === "run" && taskId) setSent({ name, taskId });
      if (kind === "delete" && search.schedule === schedule.id) go({ schedule: undefined });
    } catch (error) {
      setFailed(`${name}: ${errorMessage(error)}`);
    }
  };
  const onAction = (schedule: ListedSchedule, kind: ScheduleAction) => {
    if (kind === "delete") setDeleting(schedule);
    else void run(schedule, kind);
  };

  return (
    <section className="schedules-page">
      <div className="page-header">
        <h1>Schedules</h1>
        <div className="actions">
          <Can role="operator">
            <button
              type="button"
              className="primary"
              onClick={() => go({ new: "1", edit: undefined })}
            >
              New schedule
            </button>
          </Can>
        </div>
      </div>
      <SchedulerStatus />
      <div role="status" className="schedules-status">
        {sent && (
          <p>
            Sent {sent.name} now as task{" "}
            <Link to="/tasks" search={{ task: sent.taskId }}>
              <code>{sent.taskId}</code>
            </Link>
            .
          </p>
        )}
      </div>
      {failed && (
        <p className="panel error-panel" role="alert">
          {failed}
        </p>
      )}
      {(search.new || search.edit) && (
        <Can role="operator">
          <FormPanel
            editId={search.edit}
            onDone={(id) => go({ new: undefined, edit: undefined, schedule: id })}
            onCancel={() => go({ new: undefined, edit: undefined })}
          />
        </Can>
      )}
      {search.schedule && (
        <ScheduleDetail
          id={search.schedule}
          busy={action.isPending}
          onAction={onAction}
          onClose={() => go({ schedule: undefined })}
        />
      )}
      <ScheduleTable search={search} busy={action.isPending} onAction={onAction} />
      <ConfirmDialog
        open={deleting !== null}
        title="Delete schedule"
        targets={deleting ? [deleting.name ?? deleting.id] : []}
        confirmLabel="Delete"
        danger
        busy={action.isPending}
        onCancel={() => setDeleting(null)}
        onConfirm={() => {
          if (deleting) void run(deleting, "delete").then(() => setDeleting(null));
        }}
      >
        <p>This deletes the schedule and its run history; tasks it already sent are kept.</p>
      </ConfirmDialog>
    </section>
  );
}
