import { useState } from "react";

import { ConfirmDialog } from "../../ui/ConfirmDialog";
import { Field } from "../../ui/Field";
import { type Control, inWords, useControl } from "./api";
import { ControlAnswers } from "./ControlAnswers";

const TITLES: Record<Control["kind"], string> = {
  shutdown: "Shut down workers?",
  restart: "Restart pools?",
  autoscale: "Autoscale pools?",
  grow: "Grow pools?",
  shrink: "Shrink pools?",
  add: "Add a consumer?",
  cancel: "Cancel a consumer?",
};

const CONFIRM: Record<Control["kind"], string> = {
  shutdown: "Shut down",
  restart: "Restart pool",
  autoscale: "Autoscale",
  grow: "Grow",
  shrink: "Shrink",
  add: "Add consumer",
  cancel: "Cancel consumer",
};

type NumberField = "n" | "max" | "min";

/** A whole number typed in a field, or null. */
function whole(value: string): number | null {
  const number = Number(value);
  return value.trim() !== "" && Number.isInteger(number) ? number : null;
}

/** The admin's controls on the selected workers, each confirmed in a dialog naming them. */
export function WorkerControls({ selected }: { selected: string[] }) {
  const control = useControl();
  const [pending, setPending] = useState<Control | null>(null);
  const [max, setMax] = useState("4");
  const [min, setMin] = useState("1");
  const [n, setN] = useState("1");
  const [queue, setQueue] = useState("");
  const [wrong, setWrong] = useState<ReadonlySet<NumberField>>(new Set());
  const none = selected.length === 0;
  const error = control.error;
  const workers = selected;

  /** Ask for `make(...)` once every field it reads holds a whole number; the API checks the range. */
  function ask(
    fields: Partial<Record<NumberField, string>>,
    make: (values: Record<NumberField, number>) => Control,
  ) {
    const values: Partial<Record<NumberField, number>> = {};
    const bad = new Set<NumberField>();
    for (const [field, text] of Object.entries(fields) as [NumberField, string][]) {
      const value = whole(text);
      if (value === null) bad.add(field);
      else values[field] = value;
    }
    setWrong(bad);
    if (bad.size === 0) setPending(make(values as Record<NumberField, number>));
  }

  const numberMessage = (field: NumberField) => (wrong.has(field) ? "A whole number" : null);

  function confirm() {
    if (!pending) return;
    control.mutate(pending, { onSettled: () => setPending(null) });
  }

  return (
    <>
      <section className="panel" aria-labelledby="worker-controls">
        <h2 id="worker-controls">Control</h2>
        <p className="muted" id="worker-controls-hint">
          {none
            ? "Select the workers to act on in the table."
            : `Acting on ${selected.length} selected ${selected.length === 1 ? "worker" : "workers"}: ${selected.join(", ")}.`}
        </p>
        <div className="worker-controls">
          <fieldset disabled={none}>
            <legend>Process</legend>
            <div className="form-row">
              <button type="button" onClick={() => setPending({ kind: "restart", workers })}>
                Restart pool
              </button>
              <button
                type="button"
                className="danger"
                onClick={() => setPending({ kind: "shutdown", workers })}
              >
                Shut down
              </button>
            </div>
          </fieldset>
          <fieldset disabled={none}>
            <legend>Pool size</legend>
            <div className="form-row">
              <Field label="Processes (n)" name="n" error={error} message={numberMessage("n")}>
                <input
                  type="number"
                  min={1}
                  max={255}
                  value={n}
                  onChange={(e) => setN(e.target.value)}
                />
              </Field>
              <div className="worker-buttons">
                <button
                  type="button"
                  onClick={() => ask({ n }, (values) => ({ kind: "grow", workers, n: values.n }))}
                >
                  Grow
                </button>
                <button
                  type="button"
                  onClick={() => ask({ n }, (values) => ({ kind: "shrink", workers, n: values.n }))}
                >
                  Shrink
                </button>
              </div>
            </div>
          </fieldset>
          <fieldset disabled={none}>
            <legend>Autoscale</legend>
            <div className="form-row">
              <Field label="Max processes" name="max" error={error} message={numberMessage("max")}>
                <input
                  type="number"
                  min={0}
                  max={256}
                  value={max}
                  onChange={(e) => setMax(e.target.value)}
                />
              </Field>
              <Field label="Min processes" name="min" error={error} message={numberMessage("min")}>
                <input
                  type="number"
                  min={0}
                  max={256}
                  value={min}
                  onChange={(e) => setMin(e.target.value)}
                />
              </Field>
              <div className="worker-buttons">
                <button
                  type="button"
                  onClick={() =>
                    ask({ max, min }, (values) => ({
                      kind: "autoscale",
                      workers,
                      max: values.max,
                      min: values.min,
                    }))
                  }
                >
                  Autoscale
                </button>
              </div>
            </div>
          </fieldset>
          <fieldset disabled={none}>
            <legend>Consumer</legend>
            <div className="form-row">
              <Field label="Queue" name="queue" error={error}>
                <input
                  type="text"
                  value={queue}
                  autoComplete="off"
                  onChange={(e) => setQueue(e.target.value)}
                />
              </Field>
              <div className="worker-buttons">
                <button
                  type="button"
                  onClick={() => setPending({ kind: "add", workers, queue: queue.trim() })}
                >
                  Add consumer
                </button>
                <button
                  type="button"
                  onClick={() => setPending({ kind: "cancel", workers, queue: queue.trim() })}
                >
                  Cancel consumer
                </button>
              </div>
            </div>
          </fieldset>
        </div>
        {error && (
          <p className="field-error" role="alert">
            {error.status ? `Refused (${error.status})` : "Not done"}: {error.message}
          </p>
        )}
      </section>
      {control.data && <ControlAnswers outcome={control.data} />}
      <ConfirmDialog
        open={pending !== null}
        title={pending ? TITLES[pending.kind] : ""}
        targets={pending?.workers}
        confirmLabel={pending ? CONFIRM[pending.kind] : "Confirm"}
        danger={pending?.kind === "shutdown"}
        busy={control.isPending}
        onConfirm={confirm}
        onCancel={() => setPending(null)}
      >
        {pending && (
          <p>
            {pending.workers.length === 1
              ? "This worker"
              : `These ${pending.workers.length} workers`}{" "}
            will {inWords(pending)}:
          </p>
        )}
      </ConfirmDialog>
    </>
  );
}
