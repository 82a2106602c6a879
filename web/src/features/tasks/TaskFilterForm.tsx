import { type FormEvent, useState } from "react";

import type { ApiError } from "../../api/errors";
import { TASK_STATES } from "../../routes/tasks";
import { fromLocalInput, toLocalInput } from "../../ui/datetime";
import { Field } from "../../ui/Field";
import type { TaskFilters } from "./queries";

interface Draft {
  state: string;
  name: string;
  worker: string;
  queue: string;
  since: string;
  until: string;
}

function draftOf(filters: TaskFilters): Draft {
  return {
    state: filters.state ?? "",
    name: filters.name ?? "",
    worker: filters.worker ?? "",
    queue: filters.queue ?? "",
    since: toLocalInput(filters.since),
    until: toLocalInput(filters.until),
  };
}

function filtersFrom(draft: Draft): TaskFilters {
  const trimmed = (value: string) => value.trim() || undefined;
  return {
    state: (TASK_STATES as readonly string[]).includes(draft.state)
      ? (draft.state as TaskFilters["state"])
      : undefined,
    name: trimmed(draft.name),
    worker: trimmed(draft.worker),
    queue: trimmed(draft.queue),
    since: fromLocalInput(draft.since),
    until: fromLocalInput(draft.until),
  };
}

interface Props {
  /** The filters in the URL; remount the form (key) when they change from outside. */
  filters: TaskFilters;
  /** The history's error, so a 422 shows beside the field it names. */
  error: ApiError | null;
  onApply: (filters: TaskFilters) => void;
}

/** The history's filters; applied on submit, so typing does not fire a search per key. */
export function TaskFilterForm({ filters, error, onApply }: Props) {
  const [draft, setDraft] = useState(() => draftOf(filters));
  const set = (field: keyof Draft) => (event: { target: { value: string } }) =>
    setDraft((prev) => ({ ...prev, [field]: event.target.value }));

  function submit(event: FormEvent) {
    event.preventDefault();
    onApply(filtersFrom(draft));
  }

  function clear() {
    setDraft(draftOf({}));
    onApply({});
  }

  return (
    <form
      className="filters task-filters"
      role="search"
      aria-label="Task history"
      onSubmit={submit}
    >
      <Field label="State" name="state" error={error}>
        <select value={draft.state} onChange={set("state")}>
          <option value="">Any</option>
          {TASK_STATES.map((state) => (
            <option key={state} value={state}>
              {state}
            </option>
          ))}
        </select>
      </Field>
      <Field label="Name" name="name" error={error}>
        <input type="text" value={draft.name} onChange={set("name")} placeholder="system.noop" />
      </Field>
      <Field label="Worker" name="worker" error={error}>
        <input type="text" value={draft.worker} onChange={set("worker")} />
      </Field>
      <Field label="Queue" name="queue" error={error}>
        <input type="text" value={draft.queue} onChange={set("queue")} />
      </Field>
      <Field label="Since" name="since" error={error}>
        <input type="datetime-local" step={1} value={draft.since} onChange={set("since")} />
      </Field>
      <Field label="Until" name="until" error={error}>
        <input type="datetime-local" step={1} value={draft.until} onChange={set("until")} />
      </Field>
      <div className="filter-actions">
        <button type="submit" className="primary">
          Search
        </button>
        <button type="button" onClick={clear}>
          Clear
        </button>
      </div>
    </form>
  );
}
