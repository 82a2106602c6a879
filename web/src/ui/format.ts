/** How durations, ages and times read everywhere in the console. */

const units: [number, string][] = [
  [86_400, "d"],
  [3_600, "h"],
  [60, "min"],
  [1, "s"],
];

/** 0.25 -> "250 ms", 75 -> "1 min 15 s", 90000 -> "1 d 1 h". */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds == null || !Number.isFinite(seconds)) return "—";
  const sign = seconds < 0 ? "-" : "";
  const abs = Math.abs(seconds);
  if (abs < 1) return `${sign}${Math.round(abs * 1000)} ms`;
  if (abs < 10) return `${sign}${abs.toFixed(1)} s`;
  const parts: string[] = [];
  let rest = Math.round(abs);
  for (const [size, unit] of units) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)} ${unit}`);
      rest %= size;
    }
    if (parts.length === 2) break;
  }
  return sign + parts.join(" ");
}

function toMillis(at: Date | string | number): number {
  if (at instanceof Date) return at.getTime();
  return typeof at === "number" ? at : Date.parse(at);
}

/** "12 s ago", "in 3 min"; `at` is a Date, an ISO string or epoch milliseconds. */
export function formatAge(
  at: Date | string | number | null | undefined,
  now: number = Date.now(),
): string {
  if (at == null) return "—";
  const millis = toMillis(at);
  if (Number.isNaN(millis)) return "—";
  const seconds = (now - millis) / 1000;
  if (Math.abs(seconds) < 1) return "just now";
  return seconds > 0 ? `${formatDuration(seconds)} ago` : `in ${formatDuration(-seconds)}`;
}

const timestamp = new Intl.DateTimeFormat(undefined, {
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
});

/** A local date and time, to the second. */
export function formatTimestamp(at: Date | string | number | null | undefined): string {
  if (at == null) return "—";
  const millis = toMillis(at);
  return Number.isNaN(millis) ? "—" : timestamp.format(millis);
}

/** 0.42 -> "42 %". */
export function formatPercent(ratio: number | null | undefined): string {
  return ratio == null ? "—" : `${Math.round(ratio * 100)} %`;
}

const counts = new Intl.NumberFormat();

export function formatCount(value: number | null | undefined): string {
  return value == null ? "—" : counts.format(value);
}
