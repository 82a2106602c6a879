/** The schedule form's state, and the ScheduleSpec JSON it stands for. */
import { ApiError, type FieldMessage } from "../../api/errors";
import type { ApiSchemas } from "../../api/types";
import {
  type ArgumentField,
  type ArgumentValues,
  buildKwargs,
  initialValues,
} from "./argumentsSchema";

export type ScheduleSpec = ApiSchemas["ScheduleSpec"];
export type ScheduleOut = ApiSchemas["ScheduleOut"];
export type TriggerKind = "interval" | "crontab" | "once";
export type IntervalUnit = ApiSchemas["IntervalTrigger"]["unit"];
export type MisfirePolicy = ApiSchemas["Misfire"]["policy"];

export interface ScheduleForm {
  name: string;
  task: string;
  /** Positional arguments are not edited here; an edited schedule keeps its own. */
  args: unknown[];
  kwargs: ArgumentValues;
  kind: TriggerKind;
  every: string;
  unit: IntervalUnit;
  minute: string;
  hour: string;
  dayOfMonth: string;
  monthOfYear: string;
  dayOfWeek: string;
  /** The crontab's zone, and the zone the once trigger's wall-clock time is in. */
  timezone: string;
  /** A datetime-local value, "2026-12-24T18:00". */
  at: string;
  enabled: boolean;
  queue: string;
  priority: string;
  /** datetime-local values, read as UTC. */
  startAt: string;
  endAt: string;
  misfirePolicy: MisfirePolicy;
  graceS: string;
  maxInstances: string;
  jitterS: string;
  expiresS: string;
}

export function emptyForm(task = "", kwargs: ArgumentValues = {}): ScheduleForm {
  return {
    name: "",
    task,
    args: [],
    kwargs,
    kind: "interval",
    every: "30",
    unit: "seconds",
    minute: "0",
    hour: "*",
    dayOfMonth: "*",
    monthOfYear: "*",
    dayOfWeek: "*",
    timezone: "UTC",
    at: "",
    enabled: true,
    queue: "",
    priority: "",
    startAt: "",
    endAt: "",
    misfirePolicy: "run_once",
    graceS: "60",
    maxInstances: "1",
    jitterS: "0",
    expiresS: "",
  };
}

/** An instant as a datetime-local value in UTC. */
function utcLocal(at: string | null | undefined): string {
  if (!at) return "";
  const millis = Date.parse(at);
  return Number.isNaN(millis) ? "" : new Date(millis).toISOString().slice(0, 16);
}

function text(value: number | null | undefined): string {
  return value == null ? "" : String(value);
}

/** The form for editing a stored schedule; a once trigger's time is shown in UTC. */
export function formFromSchedule(
  schedule: ScheduleOut,
  fields: ArgumentField[] | null,
): ScheduleForm {
  const form: ScheduleForm = {
    ...emptyForm(schedule.task, initialValues(fields, schedule.kwargs ?? {})),
    name: schedule.name,
    args: schedule.args ?? [],
    enabled: schedule.enabled,
    queue: schedule.queue ?? "",
    priority: text(schedule.priority),
    startAt: utcLocal(schedule.start_at),
    endAt: utcLocal(schedule.end_at),
    misfirePolicy: schedule.misfire?.policy ?? "run_once",
    graceS: text(schedule.misfire?.grace_s ?? 60),
    maxInstances: text(schedule.max_instances),
    jitterS: text(schedule.jitter_s),
    expiresS: text(schedule.expires_s),
  };
  const trigger = schedule.trigger;
  if (trigger.type === "interval") {
    return { ...form, kind: "interval", every: String(trigger.every), unit: trigger.unit };
  }
  if (trigger.type === "crontab") {
    return {
      ...form,
      kind: "crontab",
      minute: trigger.minute,
      hour: trigger.hour,
      dayOfMonth: trigger.day_of_month,
      monthOfYear: trigger.month_of_year,
      dayOfWeek: trigger.day_of_week,
      timezone: trigger.timezone,
    };
  }
  return { ...form, kind: "once", at: utcLocal(trigger.at), timezone: "UTC" };
}

function offsetAt(zone: string, millis: number): number {
  const name = new Intl.DateTimeFormat("en-US", { timeZone: zone, timeZoneName: "longOffset" })
    .formatToParts(millis)
    .find((part) => part.type === "timeZoneName")?.value;
  const found = /^GMT(?:([+-])(\d{2}):?(\d{2})?)?$/.exec(name ?? "");
  if (!found) throw new RangeError(`no offset for ${zone}`);
  if (!found[1]) return 0;
  const minutes = Number(found[2]) * 60 + Number(found[3] ?? 0);
  return (found[1] === "-" ? -minutes : minutes) * 60_000;
}

function offsetText(offsetMs: number): string {
  const minutes = Math.abs(offsetMs) / 60_000;
  const sign = offsetMs < 0 ? "-" : "+";
  const two = (value: number) => String(value).padStart(2, "0");
  return `${sign}${two(Math.floor(minutes / 60))}:${two(minutes % 60)}`;
}

/** "2026-12-24T18:00" on the wall clocks of `zone` as ISO with its offset, or null. */
export function zonedToIso(local: string, zone: string): string | null {
  const found = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(local);
  if (!found) return null;
  const [, y, mo, d, h, mi, s] = found.map(Number) as number[];
  const wall = Date.UTC(y ?? 0, (mo ?? 1) - 1, d ?? 1, h ?? 0, mi ?? 0, s || 0);
  try {
    // The offset at the wall time read as UTC is a guess; the offset at the instant it gives
    // is right except inside a DST change, where either reading is as good.
    const offset = offsetAt(zone, wall - offsetAt(zone, wall));
    const seconds = String(s || 0).padStart(2, "0");
    return `${local.slice(0, 16)}:${seconds}${offsetText(offset)}`;
  } catch {
    return null;
  }
}

export interface BuiltSchedule {
  spec: ScheduleSpec;
  /** The form's own messages, by the API's field names; the spec is not sent while any. */
  problems: Record<string, string>;
}

/** The ScheduleSpec the form says; numbers the API takes are read, ranges are the API's to check. */
export function buildSchedule(form: ScheduleForm, fields: ArgumentField[] | null): BuiltSchedule {
  const { kwargs, problems } = buildKwargs(fields, form.kwargs);
  const number = (value: string, field: string, integer = true): number | null => {
    if (value.trim() === "") return null;
    const read = Number(value);
    if (!Number.isFinite(read) || (integer && !Number.isInteger(read))) {
      problems[field] = integer ? "Must be a whole number" : "Must be a number";
      return null;
    }
    return read;
  };
  const needed = (value: number | null, field: string, fallback: number): number => {
    if (value === null && !problems[field]) problems[field] = "Required";
    return value ?? fallback;
  };
  const instant = (local: string, field: string): string | null => {
    if (local === "") return null;
    const iso = zonedToIso(local, "UTC");
    if (iso === null) problems[field] = "Not a valid date and time";
    return iso;
  };

  let trigger: ScheduleSpec["trigger"];
  if (form.kind === "interval") {
    trigger = {
      type: "interval",
      every: needed(number(form.every, "trigger.every"), "trigger.every", 0),
      unit: form.unit,
    };
  } else if (form.kind === "crontab") {
    trigger = {
      type: "crontab",
      minute: form.minute.trim(),
      hour: form.hour.trim(),
      day_of_month: form.dayOfMonth.trim(),
      month_of_year: form.monthOfYear.trim(),
      day_of_week: form.dayOfWeek.trim(),
      timezone: form.timezone.trim(),
    };
  } else {
    const at = form.at === "" ? null : zonedToIso(form.at, form.timezone.trim());
    if (form.at === "") problems["trigger.at"] = "Required";
    else if (at === null) problems["trigger.at"] = "Not a valid date and time in that zone";
    trigger = { type: "once", at: at ?? "" };
  }

  const spec: ScheduleSpec = {
    name: form.name.trim(),
    task: form.task as ScheduleSpec["task"],
    args: form.args,
    kwargs,
    trigger,
    enabled: form.enabled,
    queue: form.queue === "" ? null : (form.queue as ScheduleSpec["queue"]),
    priority: number(form.priority, "priority"),
    start_at: instant(form.startAt, "start_at"),
    end_at: instant(form.endAt, "end_at"),
    expires_s: number(form.expiresS, "expires_s"),
    misfire: {
      policy: form.misfirePolicy,
      grace_s: needed(number(form.graceS, "misfire.grace_s"), "misfire.grace_s", 60),
    },
    max_instances: needed(number(form.maxInstances, "max_instances"), "max_instances", 1),
    jitter_s: needed(number(form.jitterS, "jitter_s", false), "jitter_s", 0),
  };
  return { spec, problems };
}

const TRIGGER_TYPE = /^trigger\.(interval|crontab|once)\./;

/**
 * The API's field messages placed on the form's fields: `trigger.crontab.minute` (the union's
 * member named) reads as `trigger.minute`, and `kwargs.headers.X-A` as `kwargs.headers` when
 * only the latter is a field. The rest are `unplaced`, for the summary.
 */
export function placeFields(
  error: ApiError,
  placed: ReadonlySet<string>,
): { error: ApiError; unplaced: FieldMessage[] } {
  const unplaced: FieldMessage[] = [];
  const fields = error.fields.map(({ field, message }) => {
    let name = field.replace(TRIGGER_TYPE, "trigger.");
    const parts = name.split(".");
    while (!placed.has(name) && parts.length > 1) {
      parts.pop();
      name = parts.join(".");
    }
    if (!placed.has(name)) {
      unplaced.push({ field, message });
      return { field, message };
    }
    return { field: name, message };
  });
  return { error: new ApiError(error.status, error.code, error.message, fields), unplaced };
}
