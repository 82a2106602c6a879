"""The hand-kept task metrics scrape as prometheus_client's own Counter and Histogram would.

Should a prometheus_client upgrade change how it writes a counter or a histogram (bucket
labels, `_count`, `_sum`, their order), this fails: dashboards and alerts would read the
monitor's task metrics otherwise than any other service's.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from sdp_monitor.tally import RUNTIME_BUCKETS, WAIT_BUCKETS, TaskTally

# Bounds themselves, between them, beyond the last, and nothing at all.
RUNTIMES = {"job.a": (0.01, 0.02, 0.5, 1, 3600, 7200.0, 0.0), "job.b": (0.3,)}
WAITS = {"etl": (0.001, 0.0, 42.0), "unknown": (3600.5,)}
STATES = ("PENDING", "RECEIVED", "STARTED", "SUCCESS", "FAILURE")


def scrape(registry: CollectorRegistry) -> list[str]:
    """The exposition's lines, without the `_created` series only library objects write."""
    text = generate_latest(registry).decode()
    return [line for line in text.splitlines() if "_created" not in line]


def test_the_tally_scrapes_as_prometheus_clients_own_metrics() -> None:
    tally = TaskTally()
    ours = CollectorRegistry()
    ours.register(tally)
    theirs = CollectorRegistry()
    events = Counter(
        "celery_tasks",
        "Task events by task name and the state they report.",
        ["name", "state"],
        registry=theirs,
    )
    runtime = Histogram(
        "celery_task_runtime_seconds",
        "How long successful tasks ran, by task name.",
        ["name"],
        buckets=RUNTIME_BUCKETS,
        registry=theirs,
    )
    wait = Histogram(
        "celery_task_queue_wait_seconds",
        "Time from a task being sent to it starting, by queue.",
        ["queue"],
        buckets=WAIT_BUCKETS,
        registry=theirs,
    )
    for name, seconds in RUNTIMES.items():
        for state in STATES:
            tally.task(name, state, None)
            events.labels(name, state).inc()
        for value in seconds:
            tally.task(name, "SUCCESS", value)
            events.labels(name, "SUCCESS").inc()
            runtime.labels(name).observe(value)
    for queue, values in WAITS.items():
        for value in values:
            tally.waited(queue, value)
            wait.labels(queue).observe(value)
    lines = scrape(ours)
    assert 'celery_task_runtime_seconds_bucket{le="3600.0",name="job.a"} 6.0' in lines
    assert lines == scrape(theirs)
