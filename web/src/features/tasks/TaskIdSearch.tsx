import { useNavigate } from "@tanstack/react-router";
import { type FormEvent, useState } from "react";

import { Field } from "../../ui/Field";

/** Opens a task by its id, whether or not the history's filters would show it. */
export function TaskIdSearch({ current }: { current?: string }) {
  const navigate = useNavigate({ from: "/tasks" });
  const [id, setId] = useState(current ?? "");

  function submit(event: FormEvent) {
    event.preventDefault();
    const task = id.trim();
    if (task) void navigate({ search: (prev) => ({ ...prev, task }) });
  }

  return (
    <form
      className="filters task-id-search"
      role="search"
      aria-label="Open a task"
      onSubmit={submit}
    >
      <Field label="Task id">
        <input
          type="search"
          value={id}
          onChange={(event) => setId(event.target.value)}
          spellCheck={false}
          autoComplete="off"
          className="mono"
        />
      </Field>
      <button type="submit">Open</button>
    </form>
  );
}
