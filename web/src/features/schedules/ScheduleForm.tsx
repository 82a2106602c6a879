import { type FormEvent, type InputHTMLAttributes, memo, useId, useMemo, useState } from "react";

import { ApiError, errorMessage, type FieldMessage } from "../../api/errors";
import type { ApiSchemas } from "../../api/types";
import { Field } from "../../ui/Field";
import { ArgumentsForm } from "./ArgumentsForm";
import { type ArgumentField, argumentFields, initialValues } from "./argumentsSchema";
import { NextFires, type Preview, type PreviewRequest } from "./NextFires";
import {
  buildSchedule,
  emptyForm,
  formFromSchedule,
  type ScheduleForm as FormState,
  type ScheduleOut,
  type ScheduleSpec,
  placeFields,
} from "./scheduleDocument";

type Job = ApiSchemas["JobOut"];
type TextKey = {
  [Key in keyof FormState]: FormState[Key] extends string ? Key : never;
}[keyof FormState];

const QUEUES: ApiSchemas["Queue"][] = ["collect", "etl", "system"];
const UNITS = ["seconds", "minutes", "hours", "days"] as const;
const POLICIES = [
  ["run_once", "run once (late slots collapse into one run)"],
  ["run_all", "run all (every late slot runs)"],
  ["skip", "skip (late slots do not run)"],
] as const;
const KINDS = [
  ["interval", "Interval"],
  ["crontab", "Crontab"],
  ["once", "Once"],
] as const;

/** The API's names of the fields in the "More" fieldset. */
const MORE = [
  "queue",
  "priority",
  "start_at",
  "end_at",
  "misfire.policy",
  "misfire.grace_s",
  "max_instances",
  "jitter_s",
  "expires_s",
];

function timeZones(): string[] {
  const zones =
    typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  return zones.includes("UTC") ? zones : ["UTC", ...zones];
}

/** Some 400 zones: drawn once, not on every keystroke. */
const ZoneList = memo(function ZoneList({ id }: { id: string }) {
  const zones = useMemo(timeZones, []);
  return (
    <datalist id={id}>
      {zones.map((zone) => (
        <option key={zone} value={zone} />
      ))}
    </datalist>
  );
});

interface Failure {
  error: ApiError | null;
  /** The API's messages for fields the form does not draw. */
  unplaced: FieldMessage[];
  /** A failure that is not the API's answer. */
  message?: string;
}

interface ScheduleFormProps {
  jobs: Job[];
  /** The schedule being edited; a new one when absent. */
  initial?: ScheduleOut;
  /** Sends the spec; a rejection with an ApiError is shown at the fields it names. */
  onSubmit: (spec: ScheduleSpec) => Promise<unknown>;
  onCancel: () => void;
  /** Asks the API for the trigger's next fires, shown as it is typed; none shown without. */
  preview?: Preview;
}

const PREVIEW_COUNT = 5;
const TIMING_FIELDS = /^(trigger\.|start_at$|end_at$)/;

/** What a preview is asked about, or null while the form's own checks fault the timing. */
function timingOf(form: FormState, fields: ArgumentField[] | null): PreviewRequest | null {
  const { spec, problems } = buildSchedule(form, fields);
  if (Object.keys(problems).some((name) => TIMING_FIELDS.test(name))) return null;
  return {
    trigger: spec.trigger,
    start_at: spec.start_at,
    end_at: spec.end_at,
    count: PREVIEW_COUNT,
  };
}

/** Create or edit a schedule: the task and its arguments, the trigger, and the rest in "More". */
export function ScheduleForm({ jobs, initial, onSubmit, onCancel, preview }: ScheduleFormProps) {
  const zonesId = useId();
  const fieldsOf = (task: string) => {
    const job = jobs.find((candidate) => candidate.name === task);
    return job ? argumentFields(job.arguments) : [];
  };
  const [form, setForm] = useState<FormState>(() => {
    if (initial) return formFromSchedule(initial, fieldsOf(initial.task));
    const first = jobs[0]?.name ?? "";
    return emptyForm(first, initialValues(fieldsOf(first)));
  });
  const [problems, setProblems] = useState<Record<string, string>>({});
  const [failure, setFailure] = useState<Failure>({ error: null, unplaced: [] });
  const [busy, setBusy] = useState(false);
  const [more, setMore] = useState(false);

  const job = jobs.find((candidate) => candidate.name === form.task);
  const fields = job ? argumentFields(job.arguments) : [];
  const set = (change: Partial<FormState>) => setForm((current) => ({ ...current, ...change }));
  const error = failure.error;

  // The API's names of the fields drawn now; a message for any other goes in the summary.
  const placed = new Set<string>(["name", "task", "enabled", ...MORE]);
  if (fields === null) placed.add("kwargs");
  else for (const field of fields) placed.add(`kwargs.${field.name}`);
  const triggerFields = {
    interval: ["trigger.every", "trigger.unit"],
    crontab: [
      "trigger.minute",
      "trigger.hour",
      "trigger.day_of_month",
      "trigger.month_of_year",
      "trigger.day_of_week",
      "trigger.timezone",
    ],
    once: ["trigger.at"],
  }[form.kind];
  for (const name of triggerFields) placed.add(name);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const built = buildSchedule(form, fields);
    setProblems(built.problems);
    setFailure({ error: null, unplaced: [] });
    if (Object.keys(built.problems).length > 0) {
      if (Object.keys(built.problems).some((name) => MORE.includes(name))) setMore(true);
      return;
    }
    setBusy(true);
    try {
      await onSubmit(built.spec);
    } catch (thrown) {
      if (thrown instanceof ApiError) {
        const placedError = placeFields(thrown, placed);
        setFailure(placedError);
        // A message inside the collapsed "More" would go unseen.
        if (placedError.error.fields.some((entry) => MORE.includes(entry.field))) setMore(true);
      } else {
        setFailure({ error: null, unplaced: [], message: errorMessage(thrown) });
      }
    } finally {
      setBusy(false);
    }
  }

  const own = Object.keys(problems).length > 0;
  const failed = own || error !== null || failure.message !== undefined;
  const at = (name: string) => ({ name, error, message: problems[name] });
  // One text control bound to one of the form's text fields.
  const input = (key: TextKey, attributes: InputHTMLAttributes<HTMLInputElement> = {}) => (
    <input
      type="text"
      {...attributes}
      value={form[key]}
      onChange={(event) => set({ [key]: event.target.value } as Partial<FormState>)}
    />
  );

  return (
    <form
      className="schedule-form"
      onSubmit={submit}
      noValidate
      aria-label={initial ? `Edit ${initial.name}` : "New schedule"}
    >
      {failed && (
        <div className="form-summary" role="alert">
          <p>
            <strong>The schedule was not saved.</strong>{" "}
            {failure.message ??
              (error && error.fields.length === 0 ? error.message : "Fix the fields marked below.")}
          </p>
          {failure.unplaced.length > 0 && (
            <ul>
              {failure.unplaced.map((entry) => (
                <li key={entry.field}>
                  <code>{entry.field}</code>: {entry.message}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
      <div className="form-row">
        <Field label="Name" {...at("name")} hint="Letters, digits and . _ : - ; unique.">
          {input("name", { required: true })}
        </Field>
        <Field
          label="Task"
          {...at("task")}
          hint={job ? `${job.description} Queue: ${job.queue}.` : undefined}
        >
          <select
            value={form.task}
            onChange={(event) => {
              const task = event.target.value;
              set({ task, kwargs: initialValues(fieldsOf(task)) });
            }}
          >
            {jobs.map((candidate) => (
              <option key={candidate.name} value={candidate.name}>
                {candidate.name}
              </option>
            ))}
          </select>
        </Field>
      </div>

      <ArgumentsForm
        fields={fields}
        values={form.kwargs}
        onChange={(kwargs) => set({ kwargs })}
        error={error}
        problems={problems}
      />

      <fieldset>
        <legend>Trigger</legend>
        <div className="form-row" role="radiogroup" aria-label="Trigger kind">
          {KINDS.map(([kind, label]) => (
            <label key={kind} className="choice">
              <input
                type="radio"
                name="trigger-kind"
                value={kind}
                checked={form.kind === kind}
                onChange={() => set({ kind })}
              />
              {label}
            </label>
          ))}
        </div>
        {form.kind === "interval" && (
          <div className="form-row">
            <Field label="Every" {...at("trigger.every")}>
              {input("every", { inputMode: "numeric" })}
            </Field>
            <Field label="Unit" {...at("trigger.unit")}>
              <select
                value={form.unit}
                onChange={(event) => set({ unit: event.target.value as FormState["unit"] })}
              >
                {UNITS.map((unit) => (
                  <option key={unit} value={unit}>
                    {unit}
                  </option>
                ))}
              </select>
            </Field>
          </div>
        )}
        {form.kind === "crontab" && (
          <div className="form-row cron-fields">
            <Field label="Minute" {...at("trigger.minute")} hint="0-59">
              {input("minute")}
            </Field>
            <Field label="Hour" {...at("trigger.hour")} hint="0-23">
              {input("hour")}
            </Field>
            <Field label="Day of month" {...at("trigger.day_of_month")} hint="1-31">
              {input("dayOfMonth")}
            </Field>
            <Field label="Month" {...at("trigger.month_of_year")} hint="1-12">
              {input("monthOfYear")}
            </Field>
            <Field
              label="Day of week"
              {...at("trigger.day_of_week")}
              hint="0-6, Sunday 0; or mon-fri"
            >
              {input("dayOfWeek")}
            </Field>
          </div>
        )}
        {form.kind === "once" && (
          <Field label="At" {...at("trigger.at")} hint="On the wall clocks of the time zone below.">
            {input("at", { type: "datetime-local" })}
          </Field>
        )}
        {form.kind !== "interval" && (
          <Field
            label="Time zone"
            {...at("trigger.timezone")}
            hint="An IANA name, e.g. Europe/Berlin."
          >
            <input
              type="text"
              list={zonesId}
              value={form.timezone}
              autoComplete="off"
              onChange={(event) => set({ timezone: event.target.value })}
            />
          </Field>
        )}
        <ZoneList id={zonesId} />
        {preview && <NextFires timing={timingOf(form, fields)} preview={preview} />}
      </fieldset>

      <div className="field">
        <label className="choice">
          <input
            type="checkbox"
            checked={form.enabled}
            onChange={(event) => set({ enabled: event.target.checked })}
          />
          Enabled (fires on its trigger; off is paused)
        </label>
      </div>

      <details className="more" open={more} onToggle={(event) => setMore(event.currentTarget.open)}>
        <summary>More</summary>
        <fieldset>
          <legend>Routing and timing</legend>
          <div className="form-row">
            <Field label="Queue" {...at("queue")}>
              <select value={form.queue} onChange={(event) => set({ queue: event.target.value })}>
                <option value="">{job ? `The task's own (${job.queue})` : "The task's own"}</option>
                {QUEUES.map((queue) => (
                  <option key={queue} value={queue}>
                    {queue}
                  </option>
                ))}
              </select>
            </Field>
            <Field label="Priority" {...at("priority")} hint="Empty: the queue's default.">
              {input("priority", { inputMode: "numeric" })}
            </Field>
            <Field label="Start at (UTC)" {...at("start_at")}>
              {input("startAt", { type: "datetime-local" })}
            </Field>
            <Field label="End at (UTC)" {...at("end_at")}>
              {input("endAt", { type: "datetime-local" })}
            </Field>
          </div>
          <div className="form-row">
            <Field label="Misfire policy" {...at("misfire.policy")}>
              <select
                value={form.misfirePolicy}
                onChange={(event) =>
                  set({ misfirePolicy: event.target.value as FormState["misfirePolicy"] })
                }
              >
                {POLICIES.map(([policy, label]) => (
                  <option key={policy} value={policy}>
                    {label}
                  </option>
                ))}
              </select>
            </Field>
            <Field
              label="Misfire grace (s)"
              {...at("misfire.grace_s")}
              hint="How late a slot may still run."
            >
              {input("graceS", { inputMode: "numeric" })}
            </Field>
            <Field
              label="Max instances"
              {...at("max_instances")}
              hint="Runs unfinished at once, 1 to 100."
            >
              {input("maxInstances", { inputMode: "numeric" })}
            </Field>
            <Field
              label="Jitter (s)"
              {...at("jitter_s")}
              hint="Up to this many seconds late, at random."
            >
              {input("jitterS", { inputMode: "decimal" })}
            </Field>
            <Field
              label="Expires (s)"
              {...at("expires_s")}
              hint="Empty: the sent task never expires."
            >
              {input("expiresS", { inputMode: "numeric" })}
            </Field>
          </div>
        </fieldset>
      </details>

      <div className="form-actions">
        <button type="submit" className="primary" disabled={busy}>
          {busy ? "Saving…" : initial ? "Save schedule" : "Create schedule"}
        </button>
        <button type="button" onClick={onCancel} disabled={busy}>
          Cancel
        </button>
      </div>
    </form>
  );
}
