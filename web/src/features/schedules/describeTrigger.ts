/** A schedule's trigger in words: "every 30 s", "02:30 on weekdays, Europe/Berlin". */
import type { ApiSchemas } from "../../api/types";

export type Trigger =
  ApiSchemas["IntervalTrigger"] | ApiSchemas["CrontabTrigger"] | ApiSchemas["OnceTrigger"];

const UNITS: Record<ApiSchemas["IntervalTrigger"]["unit"], [string, string]> = {
  seconds: ["s", "second"],
  minutes: ["min", "minute"],
  hours: ["h", "hour"],
  days: ["d", "day"],
};

// Vixie cron counts Sunday as both 0 and 7.
const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const WEEKDAY_NAMES = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const MONTH_NAMES = MONTHS.map((month) => month.toLowerCase());

const NUMBER = /^\d+$/;
const EVERY = /^\*\/(\d+)$/;

function pad(value: string): string {
  return value.padStart(2, "0");
}

const SECONDS: Record<ApiSchemas["IntervalTrigger"]["unit"], number> = {
  seconds: 1,
  minutes: 60,
  hours: 3_600,
  days: 86_400,
};
const LARGEST_FIRST = ["days", "hours", "minutes", "seconds"] as const;

/** In the largest unit that divides the period: 3600 seconds read "every hour". */
function describeInterval(trigger: ApiSchemas["IntervalTrigger"]): string {
  const seconds = trigger.every * SECONDS[trigger.unit ?? "seconds"];
  const unit = LARGEST_FIRST.find((candidate) => seconds % SECONDS[candidate] === 0) ?? "seconds";
  const every = seconds / SECONDS[unit];
  const [short, long] = UNITS[unit];
  return every === 1 ? `every ${long}` : `every ${every} ${short}`;
}

/** A day-of-week or month item (number or name) as its short English name. */
function nameOf(item: string, names: string[], labels: string[], base: number): string {
  const index = NUMBER.test(item) ? Number(item) - base : names.indexOf(item.toLowerCase());
  return labels[index] ?? item;
}

/** "1-5" -> "Mon–Fri", "1,3" -> "Mon, Wed"; items cron cannot name are kept as written. */
function listOf(field: string, names: string[], labels: string[], base: number): string {
  return field
    .split(",")
    .map((item) => {
      const [from, to, ...rest] = item.split("-");
      if (to !== undefined && rest.length === 0 && from !== undefined && !to.includes("/")) {
        return `${nameOf(from, names, labels, base)}–${nameOf(to, names, labels, base)}`;
      }
      return nameOf(item, names, labels, base);
    })
    .join(", ");
}

function weekdaySet(field: string): Set<number> | null {
  const days = new Set<number>();
  for (const item of field.toLowerCase().split(",")) {
    const [from, to, ...rest] = item.split("-");
    if (rest.length > 0 || from === undefined) return null;
    const toDay = (part: string) =>
      NUMBER.test(part) ? Number(part) % 7 : WEEKDAY_NAMES.indexOf(part);
    const start = toDay(from);
    const end = to === undefined ? start : toDay(to);
    if (start < 0 || end < 0) return null;
    // "5-7" runs Friday to Sunday (7), which % 7 made 0.
    const last = to !== undefined && end < start ? end + 7 : end;
    for (let day = start; day <= last; day++) days.add(day % 7);
  }
  return days;
}

function describeWeekdays(field: string): string {
  const days = weekdaySet(field);
  const key = days ? [...days].sort().join("") : "";
  if (key === "12345") return "on weekdays";
  if (key === "06") return "on weekends";
  if (key === "0123456") return "every day";
  return `on ${listOf(field, WEEKDAY_NAMES, WEEKDAYS, 0)}`;
}

/** Whether the time reads as clock times ("02:30"), which then need "every day". */
function isClock(minute: string, hour: string): boolean {
  return NUMBER.test(minute) && hour.split(",").every((item) => NUMBER.test(item));
}

function describeTime(minute: string, hour: string): string {
  if (isClock(minute, hour)) {
    return hour
      .split(",")
      .map((item) => `${pad(item)}:${pad(minute)}`)
      .join(", ");
  }
  const minutes =
    minute === "*"
      ? "every minute"
      : EVERY.test(minute)
        ? `every ${EVERY.exec(minute)?.[1]} min`
        : NUMBER.test(minute)
          ? `at :${pad(minute)}`
          : `at minute ${minute}`;
  if (hour === "*") return NUMBER.test(minute) ? `${minutes} every hour` : minutes;
  const step = EVERY.exec(hour)?.[1];
  if (step) return `${minutes} every ${step} h`;
  return `${minutes} in hour ${hour}`;
}

function describeCrontab(trigger: ApiSchemas["CrontabTrigger"]): string {
  const minute = trigger.minute ?? "*";
  const hour = trigger.hour ?? "*";
  const dom = trigger.day_of_month ?? "*";
  const month = trigger.month_of_year ?? "*";
  const dow = trigger.day_of_week ?? "*";
  const days: string[] = [];
  // Cron runs on a day that matches either restricted field, not both.
  if (dom !== "*") days.push(`on day ${dom.split(",").join(", ")} of the month`);
  if (dow !== "*") days.push(describeWeekdays(dow));
  const parts = [describeTime(minute, hour)];
  if (days.length > 0) parts.push(days.join(" or "));
  else if (month === "*" && isClock(minute, hour)) parts.push("every day");
  if (month !== "*") parts.push(`in ${listOf(month, MONTH_NAMES, MONTHS, 1)}`);
  return `${parts.join(" ")}, ${trigger.timezone ?? "UTC"}`;
}

/** An instant as "2026-12-24 18:00 UTC" (seconds only when there are some). */
export function formatUtc(at: string): string {
  const millis = Date.parse(at);
  if (Number.isNaN(millis)) return at;
  const iso = new Date(millis).toISOString();
  const seconds = iso.slice(17, 19);
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)}${seconds === "00" ? "" : `:${seconds}`} UTC`;
}

export function describeTrigger(trigger: Trigger): string {
  switch (trigger.type) {
    case "interval":
      return describeInterval(trigger);
    case "crontab":
      return describeCrontab(trigger);
    case "once":
      return `at ${formatUtc(trigger.at)} once`;
  }
}
