"""The monitor's Prometheus metrics, on one object with its own registry.

Task counters and histograms are tallied by the event consumer as events arrive
(`sdp_monitor.tally`, which says why not with prometheus_client's own metric objects).
Cluster gauges (workers, queues, beat, the broker's memory) are read just before each scrape
(`refresh`) and exported by a collector, so a purged worker or a vanished queue simply stops
appearing. Label values are bounded: workers by the purge, queues by the queue book, task
names and queues in task metrics by `MAX_LABEL_VALUES` (the rest count as `other`), soft time
limits by the job catalogue; task ids never become labels.

A worker that stopped without a goodbye (killed, out of memory, hung, its node lost) is `lost`
until it beats again or is purged; one that said goodbye (a warm shutdown: a scale-down, a
rolling update) is only not `up`. A gauge, not a counter of losses: it clears when the worker
is back under its name, and a restarted monitor exports no reset for Prometheus to mistake.
alerts.yml reads its last 15 minutes, which outlive the purge and a monitor restart.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field

import redis.asyncio as aioredis
from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from sdp_core.heartbeat import BeatHeartbeat
from sdp_jobs.catalogue import CATALOGUE
from sdp_monitor.stream.live import LiveState
from sdp_monitor.tally import TaskTally

__all__ = ["MAX_LABEL_VALUES", "ClusterSources", "MonitorMetrics"]

MAX_LABEL_VALUES = 200
OTHER = "other"
# Each catalogue job's own runtime threshold, for alerts that compare its runtime with it.
SOFT_TIME_LIMITS = {name: job.policy.soft_time_limit_s for name, job in CATALOGUE.items()}


class _Bounded:
    """Admits the first `limit` distinct values of a label; later ones are `other`.

    Only the event consumer's thread uses it.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._seen: set[str] = set()

    def __call__(self, value: str | None) -> str:
        if value is None:
            return "unknown"
        if value not in self._seen:
            if len(self._seen) >= self.limit:
                return OTHER
            self._seen.add(value)
        return value


@dataclass(frozen=True, slots=True)
class ClusterSources:
    """What a scrape reads the cluster gauges from."""

    live: LiveState
    # Pending messages per listed queue.
    queue_lengths: Callable[[], Awaitable[dict[str, int]]]
    # The beat leader's heartbeat; None when no leader beats.
    beat: Callable[[], Awaitable[BeatHeartbeat | None]]
    broker: aioredis.Redis


@dataclass(slots=True)
class _Cluster:
    """What the last refresh read; the collector exports it."""

    # (name, up, lost, tasks running)
    workers: list[tuple[str, bool, bool, int]] = field(default_factory=list)
    queues: dict[str, tuple[int, int]] = field(default_factory=dict)
    beat: BeatHeartbeat | None = None
    # The broker Redis's used_memory and maxmemory (0: no limit); None when INFO failed.
    broker_memory: tuple[int, int] | None = None


class _ClusterCollector(Collector):
    def __init__(self, metrics: MonitorMetrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        cluster = self.metrics.cluster
        online = GaugeMetricFamily("celery_workers_online", "Workers sending heartbeats.")
        online.add_metric([], sum(1 for _, up, _, _ in cluster.workers if up))
        up = GaugeMetricFamily(
            "celery_worker_up",
            "1 while a worker sends heartbeats, 0 once it missed them, until it is purged.",
            labels=["worker"],
        )
        lost = GaugeMetricFamily(
            "celery_worker_lost",
            "1 once a worker missed its heartbeats without saying goodbye, until it beats again "
            "or is purged; 0 while it is up or after it left cleanly.",
            labels=["worker"],
        )
        active = GaugeMetricFamily(
            "celery_worker_tasks_active", "Tasks running on a worker.", labels=["worker"]
        )
        for name, is_up, is_lost, running in cluster.workers:
            up.add_metric([name], 1 if is_up else 0)
            lost.add_metric([name], 1 if is_lost else 0)
            active.add_metric([name], running)
        length = GaugeMetricFamily(
            "celery_queue_length",
            "Messages waiting in a queue, every priority step summed.",
            labels=["queue"],
        )
        processing = GaugeMetricFamily(
            "celery_queue_processing", "Tasks from a queue running now.", labels=["queue"]
        )
        for queue, (pending, running) in cluster.queues.items():
            length.add_metric([queue], pending)
            processing.add_metric([queue], running)
        limits = GaugeMetricFamily(
            "celery_task_soft_time_limit_seconds",
            "The soft time limit a catalogue job runs under, by task name.",
            labels=["name"],
        )
        for name, seconds in SOFT_TIME_LIMITS.items():
            limits.add_metric([name], seconds)
        yield from (online, up, lost, active, length, processing, limits, *self._beat(cluster.beat))
        if cluster.broker_memory is not None:
            used, limit = cluster.broker_memory
            yield GaugeMetricFamily(
                "celery_broker_memory_used_bytes", "Memory the broker Redis uses.", value=used
            )
            yield GaugeMetricFamily(
                "celery_broker_memory_max_bytes",
                "The broker Redis's maxmemory; 0 when it has no limit.",
                value=limit,
            )

    def _beat(self, beat: BeatHeartbeat | None) -> Iterator[Metric]:
        running = GaugeMetricFamily("celery_beat_up", "1 while a beat leader's heartbeat lives.")
        running.add_metric([], 0 if beat is None else 1)
        age = GaugeMetricFamily(
            "celery_beat_heartbeat_age_seconds",
            "Seconds since the beat leader's last tick; +Inf without a heartbeat.",
        )
        age.add_metric([], math.inf if beat is None else beat.age_s())
        yield from (running, age)
        if beat is None:
            return
        schedules = GaugeMetricFamily(
            "celery_schedules",
            "Schedules by state, as the beat leader counts them.",
            labels=["state"],
        )
        schedules.add_metric(["active"], beat.active)
        schedules.add_metric(["paused"], beat.paused)
        schedules.add_metric(["finished"], beat.finished)
        schedules.add_metric(["set_aside"], beat.set_aside)
        yield schedules
        if beat.lag_s is not None:
            lag = GaugeMetricFamily(
                "celery_schedule_lag_seconds",
                "How late the beat leader's latest send was after its slot was due.",
            )
            lag.add_metric([], beat.lag_s)
            yield lag


class MonitorMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.cluster = _Cluster()
        self._tally = TaskTally()
        self.registry.register(self._tally)
        self.registry.register(_ClusterCollector(self))
        self._names = _Bounded(MAX_LABEL_VALUES)
        self._queues = _Bounded(MAX_LABEL_VALUES)
        self._sources: ClusterSources | None = None

    def task(self, name: str | None, state: str, runtime: float | None) -> None:
        """One task event (consumer thread)."""
        self._tally.task(self._names(name), state, runtime)

    def waited(self, queue: str | None, seconds: float) -> None:
        """A task started this long after it was sent (consumer thread)."""
        self._tally.waited(self._queues(queue), max(seconds, 0.0))

    def read_from(self, sources: ClusterSources) -> None:
        """Where the scrapes that follow read the cluster gauges (once the lifespan opened it)."""
        self._sources = sources

    async def refresh(self) -> None:
        """Read workers, queues and beat for the scrape that follows."""
        sources = self._sources
        if sources is None:
            raise RuntimeError("the cluster's sources are not open yet")
        live = sources.live
        counts = live.counts()
        pending = await sources.queue_lengths()
        self.cluster = _Cluster(
            workers=[
                (w.name, up, not (up or w.left), counts.active_by_worker[w.name] if up else 0)
                for w, up in live.workers()
            ],
            queues={q: (n, counts.processing[q]) for q, n in pending.items()},
            beat=await sources.beat(),
            broker_memory=await _broker_memory(sources.broker),
        )


async def _broker_memory(broker: aioredis.Redis) -> tuple[int, int] | None:
    """used_memory and maxmemory in one INFO; None if Redis refuses, so the scrape still works."""
    try:
        info = await broker.info("memory")
    except aioredis.RedisError:
        return None
    return int(info["used_memory"]), int(info["maxmemory"])
