import "uplot/dist/uPlot.min.css";

import { useEffect, useMemo, useRef, useState } from "react";
import type uPlot from "uplot";

import { formatCount } from "../../ui/format";
import type { Series } from "./live";
import { describe, perMinute } from "./summary";

const HEIGHT = 240;
const REDRAW_MS = 1_000;
// Made once: toLocaleTimeString makes a formatter per call, for every row on every render.
const minuteOfDay = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
// Canvas strokes cannot use CSS variables: these are read from the theme when the chart is made.
const QUEUE_TONES = ["--info", "--busy", "--warn", "--muted"];

function cssVar(element: Element, name: string, fallback: string): string {
  return getComputedStyle(element).getPropertyValue(name).trim() || fallback;
}

function chartData(series: Series, queues: readonly string[]): uPlot.AlignedData {
  return [
    series.t,
    series.succeeded,
    series.failed,
    ...queues.map((name) => series.queues[name] ?? series.t.map(() => null)),
  ];
}

function options(element: HTMLElement, queues: readonly string[], width: number): uPlot.Options {
  const text = cssVar(element, "--muted", "#55606e");
  const grid = cssVar(element, "--border", "#d3d8df");
  const axis = { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid } };
  return {
    width,
    height: HEIGHT,
    // From nought, and not blown up to 0-100 while everything is idle.
    scales: {
      x: { time: true },
      rate: { range: (_u, _min, max) => [0, Math.max(1, max)] },
      depth: { range: (_u, _min, max) => [0, Math.max(5, max)] },
    },
    series: [
      {},
      { label: "succeeded/s", scale: "rate", stroke: cssVar(element, "--ok", "#146c2e"), width: 2 },
      { label: "failed/s", scale: "rate", stroke: cssVar(element, "--bad", "#a4161a"), width: 2 },
      ...queues.map((name, index) => ({
        label: `${name} depth`,
        scale: "depth",
        stroke: cssVar(element, QUEUE_TONES[index % QUEUE_TONES.length] ?? "--muted", "#555"),
        dash: [6, 4],
        width: 1.5,
      })),
    ],
    axes: [
      axis,
      { ...axis, scale: "rate", label: "tasks/s" },
      { ...axis, scale: "depth", label: "waiting", side: 1, grid: { show: false } },
    ],
    legend: { live: false },
  };
}

/**
 * Tasks succeeded and failed per second and each queue's depth, the last `minutes`. The
 * canvas is an image named by a sentence of its latest numbers; the table has them per minute.
 */
const DARK = "(prefers-color-scheme: dark)";

/** Whether the OS asks for dark colours now; the canvas is redrawn in the new ones. */
function useDarkScheme(): boolean {
  // jsdom has no matchMedia; there the scheme never changes.
  const query = typeof window.matchMedia === "function" ? window.matchMedia(DARK) : null;
  const [dark, setDark] = useState(() => query?.matches ?? false);
  useEffect(() => {
    const query = typeof window.matchMedia === "function" ? window.matchMedia(DARK) : null;
    if (!query) return;
    const changed = () => setDark(query.matches);
    query.addEventListener("change", changed);
    return () => query.removeEventListener("change", changed);
  }, []);
  return dark;
}

export function ThroughputChart({ series, minutes }: { series: Series; minutes: number }) {
  const target = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const queues = useMemo(
    () => Object.keys(series.queues).sort((a, b) => a.localeCompare(b)),
    [series.queues],
  );
  const queueKey = queues.join("\n");
  const dark = useDarkScheme();
  const latest = useRef(series);
  latest.current = series;

  useEffect(() => {
    const element = target.current;
    if (!element) return;
    const names = queueKey ? queueKey.split("\n") : [];
    let made: uPlot | null = null;
    let resize: ResizeObserver | null = null;
    let gone = false;
    // Loaded on first use: the library stays out of the first page's bundle, and a page
    // that cannot draw (no canvas) still has the chart's words and table.
    import("uplot")
      .then(({ default: UPlot }) => {
        if (gone) return;
        made = new UPlot(
          options(element, names, element.clientWidth || 600),
          chartData(latest.current, names),
          element,
        );
        plot.current = made;
        const drawn = made;
        resize = new ResizeObserver(() => {
          if (element.clientWidth > 0)
            drawn.setSize({ width: element.clientWidth, height: HEIGHT });
        });
        resize.observe(element);
      })
      .catch((error: unknown) => console.error("the chart could not be drawn", error));
    return () => {
      gone = true;
      resize?.disconnect();
      made?.destroy();
      plot.current = null;
    };
  }, [queueKey, dark]);

  // At most once a second, with the latest numbers: under a busy stream the series changes
  // every frame, and a redraw of the canvas each time is most of that frame's work.
  const drawnAt = useRef(0);
  useEffect(() => {
    const draw = () => {
      drawnAt.current = performance.now();
      plot.current?.setData(chartData(series, queues));
    };
    const wait = drawnAt.current + REDRAW_MS - performance.now();
    if (wait <= 0) {
      draw();
      return;
    }
    const timer = setTimeout(draw, wait);
    return () => clearTimeout(timer);
  }, [series, queues]);

  const label = describe(series, minutes);
  const table = perMinute(series);
  return (
    <figure className="overview-chart">
      <div ref={target} className="chart" role="img" aria-label={label} />
      <figcaption className="muted">{label}</figcaption>
      <details>
        <summary>The chart's numbers per minute</summary>
        <div className="table-wrap">
          <table>
            <caption>Tasks finished and queue depth per minute, oldest first</caption>
            <thead>
              <tr>
                <th scope="col">Minute</th>
                <th scope="col" className="num">
                  Succeeded
                </th>
                <th scope="col" className="num">
                  Failed
                </th>
                {table.queues.map((name) => (
                  <th key={name} scope="col" className="num">
                    {name} depth
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {table.rows.map((row) => (
                <tr key={row.minute}>
                  <th scope="row">{minuteOfDay.format(row.minute * 1000)}</th>
                  <td className="num">{formatCount(row.succeeded)}</td>
                  <td className="num">{formatCount(row.failed)}</td>
                  {row.depths.map((depth, index) => (
                    <td key={table.queues[index]} className="num">
                      {formatCount(depth)}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
}
