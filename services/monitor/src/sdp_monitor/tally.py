"""Task events counted, and their runtimes and queue waits bucketed, outside prometheus_client.

The event consumer's thread tallies into plain dicts under one lock; a collector exports them
at a scrape as prometheus_client's own `Counter` and `Histogram` would. Those objects cost a
lock, a label lookup and several calls per event: measured on 2026-12-04 with `python
bench/monitor_tricks.py` (three runs, two shared cores, Python 3.11), a task's updates (four
events counted, one runtime, one queue wait) cost 8.8 to 11.3 µs through them against 3.0 µs
here: 6 to 8 µs, a tenth of the 77 µs of CPU the whole monitor spends on a task
(bench/results-monitor.md).

What it depends on: prometheus_client 0.26's exposition of a histogram, which
`HistogramMetricFamily` writes from the cumulative buckets given here: `le` as
`floatToGoString` writes it, `_count` from the `+Inf` bucket, `_sum`. Unlike those objects it
writes no `_created` series, which nothing reads. test_monitor_tally scrapes the same
observations made both ways and fails when the two texts differ.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

__all__ = ["RUNTIME_BUCKETS", "WAIT_BUCKETS", "TaskTally"]

# Task runtimes: 10 ms to an hour.
RUNTIME_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600)
# Time from sent to started: 1 ms to an hour.
WAIT_BUCKETS = (0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 3600)


class _Histogram:
    """Observations per bucket (the last is +Inf) and their sum."""

    __slots__ = ("counts", "total")

    def __init__(self, size: int) -> None:
        self.counts = [0] * size
        self.total = 0.0


class _Histograms:
    """One histogram per label value, all with the same buckets."""

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.le = (*(floatToGoString(b) for b in bounds), "+Inf")  # type: ignore[no-untyped-call]
        self.by_label: dict[str, _Histogram] = {}

    def observe(self, label: str, value: float) -> None:
        histogram = self.by_label.get(label)
        if histogram is None:
            histogram = self.by_label[label] = _Histogram(len(self.le))
        # Prometheus buckets are upper bounds, inclusive: the first bound >= value.
        histogram.counts[bisect_left(self.bounds, value)] += 1
        histogram.total += value

    def export(self, family: HistogramMetricFamily) -> None:
        for label, histogram in self.by_label.items():
            cumulative = 0
            buckets: list[tuple[str, float]] = []
            for le, count in zip(self.le, histogram.counts, strict=True):
                cumulative += count
                buckets.append((le, cumulative))
            family.add_metric([label], buckets, sum_value=histogram.total)


class TaskTally(Collector):
    """Task events by name and state, runtimes by name, queue waits by queue.

    Labels come bounded: the caller decides what `other` and `unknown` stand for.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: dict[tuple[str, str], int] = {}
        self._runtimes = _Histograms(RUNTIME_BUCKETS)
        self._waits = _Histograms(WAIT_BUCKETS)

    def task(self, name: str, state: str, runtime: float | None) -> None:
        """One task event, with how long the task ran when it reports a success."""
        key = (name, state)
        with self._lock:
            self._events[key] = self._events.get(key, 0) + 1
            if runtime is not None:
                self._runtimes.observe(name, runtime)

    def waited(self, queue: str, seconds: float) -> None:
        with self._lock:
            self._waits.observe(queue, seconds)

    def collect(self) -> Iterator[Metric]:
        events = CounterMetricFamily(
            "celery_tasks",
            "Task events by task name and the state they report.",
            labels=["name", "state"],
        )
        runtime = HistogramMetricFamily(
            "celery_task_runtime_seconds",
            "How long successful tasks ran, by task name.",
            labels=["name"],
        )
        wait = HistogramMetricFamily(
            "celery_task_queue_wait_seconds",
            "Time from a task being sent to it starting, by queue.",
            labels=["queue"],
        )
        with self._lock:
            for (name, state), count in self._events.items():
                events.add_metric([name, state], count)
            self._runtimes.export(runtime)
            self._waits.export(wait)
        yield from (events, runtime, wait)
