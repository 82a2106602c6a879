/** The chart's numbers in words and per minute, for its accessible name and its table. */
import type { Series } from "./live";

export interface SeriesSummary {
  succeeded: number;
  failed: number;
  /** Per second, in the latest complete step (the last one is still under way). */
  succeededRate: number;
  failedRate: number;
  /** Each queue's latest depth known, null when none is. */
  depths: [string, number | null][];
}

function latestKnown(values: readonly (number | null)[]): number | null {
  for (let index = values.length - 1; index >= 0; index--) {
    const value = values[index];
    if (value !== null && value !== undefined) return value;
  }
  return null;
}

function total(rates: readonly number[], step: number): number {
  return Math.round(rates.reduce((sum, rate) => sum + rate * step, 0));
}

export function summarise(series: Series): SeriesSummary {
  return {
    succeeded: total(series.succeeded, series.step_s),
    failed: total(series.failed, series.step_s),
    succeededRate: series.succeeded[series.succeeded.length - 2] ?? 0,
    failedRate: series.failed[series.failed.length - 2] ?? 0,
    depths: Object.entries(series.queues)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, values]) => [name, latestKnown(values)]),
  };
}

function rate(value: number): string {
  return value.toFixed(value > 0 && value < 10 ? 1 : 0);
}

/** One sentence: the totals, the latest rates and the depths. */
export function describe(series: Series, minutes: number): string {
  const summary = summarise(series);
  const depths = summary.depths.map(([name, depth]) => `${name} ${depth ?? "unknown"}`);
  return (
    `Tasks over the last ${minutes} minutes: ${summary.succeeded} succeeded, ` +
    `${summary.failed} failed; latest ${series.step_s} s: ${rate(summary.succeededRate)} ` +
    `succeeded and ${rate(summary.failedRate)} failed per second. ` +
    (depths.length ? `Queue depth: ${depths.join(", ")}.` : "No queue depth yet.")
  );
}

export interface MinuteRow {
  /** Epoch seconds of the minute's start. */
  minute: number;
  succeeded: number;
  failed: number;
  /** Each queue's last depth in the minute, in `queues` order. */
  depths: (number | null)[];
}

/** The series per minute, oldest first, for the table beside the chart. */
export function perMinute(series: Series): { queues: string[]; rows: MinuteRow[] } {
  const queues = Object.keys(series.queues).sort((a, b) => a.localeCompare(b));
  const rows: MinuteRow[] = [];
  series.t.forEach((start, index) => {
    const minute = Math.floor(start / 60) * 60;
    let row = rows[rows.length - 1];
    if (!row || row.minute !== minute) {
      row = { minute, succeeded: 0, failed: 0, depths: queues.map(() => null) };
      rows.push(row);
    }
    row.succeeded += (series.succeeded[index] ?? 0) * series.step_s;
    row.failed += (series.failed[index] ?? 0) * series.step_s;
    queues.forEach((name, at) => {
      const depth = series.queues[name]?.[index];
      if (depth !== null && depth !== undefined && row) row.depths[at] = depth;
    });
  });
  for (const row of rows) {
    row.succeeded = Math.round(row.succeeded);
    row.failed = Math.round(row.failed);
  }
  return { queues, rows };
}
