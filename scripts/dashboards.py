"""The Grafana dashboards in deploy/grafana/dashboards, built with grafana-foundation-sdk.

`.venv/bin/python scripts/dashboards.py` (after `make sync`) rewrites them, and
tests/deploy/test_grafana.py fails while the committed JSON differs from what this writes.
Every query reads the monitor's `celery_*` metrics or the `http_*` metrics of the `api` and
`monitor` scrape jobs.

Several monitor replicas each hear every event and read the same cluster, so cluster gauges
and event rates take the `max` across them rather than adding them up; histogram quantiles sum
buckets, which replicas that count alike leave unchanged.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from grafana_foundation_sdk.builders import common as common_builder
from grafana_foundation_sdk.builders import dashboard, prometheus, stat, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models.dashboard import (
    DashboardCursorSync,
    DataSourceRef,
    VariableOption,
    VariableRefresh,
    VariableSort,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from devenv import ROOT

__all__ = ["DASHBOARDS", "DATASOURCE_UID", "OUT", "render", "write"]

OUT = ROOT / "deploy" / "grafana" / "dashboards"
# The Prometheus datasource deploy/grafana/provisioning/datasources provisions.
DATASOURCE_UID = "prometheus"
DATASOURCE = DataSourceRef(type_val="prometheus", uid=DATASOURCE_UID)
QUANTILES = (0.5, 0.95, 0.99)
HTTP_JOBS = 'job=~"api|monitor"'
RATE = "[$__rate_interval]"


def _query(
    expr: str, legend: str, ref: str = "A", *, instant: bool = False
) -> prometheus.Dataquery:
    query = (
        prometheus.Dataquery().expr(expr).legend_format(legend).ref_id(ref).datasource(DATASOURCE)
    )
    return query.instant() if instant else query.range()


def _series(
    title: str, description: str, unit: str, targets: list[prometheus.Dataquery]
) -> timeseries.Panel:
    legend = (
        common_builder.VizLegendOptions()
        .display_mode(common.LegendDisplayMode.TABLE)
        .placement(common.LegendPlacement.RIGHT)
        .show_legend(True)
    )
    return (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .unit(unit)
        .min(0)
        .legend(legend)
        .targets(list(targets))
        .height(8)
        .span(12)
    )


def _stat(title: str, description: str, unit: str, target: prometheus.Dataquery) -> stat.Panel:
    return (
        stat.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .unit(unit)
        .with_target(target)
        .reduce_options(common_builder.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .graph_mode(common.BigValueGraphMode.NONE)
        .color_mode(common.BigValueColorMode.VALUE)
        .height(4)
        .span(6)
    )


def _quantiles(bucket: str, by: str, legend: str) -> list[prometheus.Dataquery]:
    """p50, p95 and p99 of a histogram, per value of the `by` label."""
    return [
        _query(
            f"histogram_quantile({q}, sum by ({by}, le) (rate({bucket}{RATE})))",
            f"{legend} p{round(q * 100)}",
            chr(ord("A") + i),
        )
        for i, q in enumerate(QUANTILES)
    ]


def _failure_ratio(selector: str) -> str:
    """Failures over finished tasks, by task name; 0, not a gap, when nothing failed."""
    finished = f'celery_tasks_total{{{selector}state=~"SUCCESS|FAILURE"}}'
    failed = f'celery_tasks_total{{{selector}state="FAILURE"}}'
    total = f"sum by (name) (rate({finished}{RATE}))"
    return f"(sum by (name) (rate({failed}{RATE})) or {total} * 0) / {total}"


def _datasourced(variable: dashboard.QueryVariable) -> dashboard.QueryVariable:
    return variable.datasource(DATASOURCE).refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)


def _dashboard(title: str, uid: str, description: str) -> dashboard.Dashboard:
    # Read-only: the provisioning refuses UI saves, and this file is where changes belong.
    return (
        dashboard.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(["sdp", "celery"])
        .readonly()
        .time("now-1h", "now")
        .refresh("30s")
        .tooltip(DashboardCursorSync.CROSSHAIR)
    )


def cluster() -> dashboard.Dashboard:
    queue = _datasourced(
        dashboard.QueryVariable("queue")
        .label("Queue")
        .query("label_values(celery_queue_length, queue)")
        .multi(True)
        .include_all(True)
        .all_value(".*")
        .current(VariableOption(selected=True, text="All", value="$__all"))
        .sort(VariableSort.ALPHABETICAL_ASC)
    )
    queues = 'queue=~"$queue"'
    http_errors = f'http_requests_total{{{HTTP_JOBS},status=~"5.."}}'
    http_total = f"sum by (job) (rate(http_requests_total{{{HTTP_JOBS}}}{RATE}))"
    return (
        _dashboard(
            "SDP cluster",
            "sdp-cluster",
            "Workers, queues, task throughput and runtimes, beat, and the HTTP services.",
        )
        .with_variable(queue)
        .with_row(dashboard.Row("Cluster"))
        .with_panel(
            _stat(
                "Workers online",
                "Workers sending heartbeats, as the monitor hears them.",
                "none",
                _query("max(celery_workers_online)", "online", instant=True),
            )
        )
        .with_panel(
            _stat(
                "Beat up",
                "1 while a beat leader's heartbeat lives.",
                "none",
                _query("max(celery_beat_up)", "beat", instant=True),
            )
        )
        .with_panel(
            _stat(
                "Beat heartbeat age",
                "Seconds since the beat leader's last tick (+Inf: no leader).",
                "s",
                _query("min(celery_beat_heartbeat_age_seconds)", "age", instant=True),
            )
        )
        .with_panel(
            _stat(
                "Beat schedule lag",
                "How late the leader's latest send was after its slot was due.",
                "s",
                _query("max(celery_schedule_lag_seconds)", "lag", instant=True),
            )
        )
        .with_panel(
            _series(
                "Tasks running per worker",
                "Tasks each online worker runs now.",
                "none",
                [_query("max by (worker) (celery_worker_tasks_active)", "{{worker}}")],
            )
        )
        .with_panel(
            _series(
                "Beat heartbeat age and lag",
                "The leader's heartbeat age and its schedule lag over time.",
                "s",
                [
                    _query("min(celery_beat_heartbeat_age_seconds)", "heartbeat age"),
                    _query("max(celery_schedule_lag_seconds)", "schedule lag", "B"),
                ],
            )
        )
        .with_row(dashboard.Row("Queues"))
        .with_panel(
            _series(
                "Queue depth",
                "Messages waiting in each queue, every priority step summed.",
                "none",
                [_query(f"max by (queue) (celery_queue_length{{{queues}}})", "{{queue}}")],
            )
        )
        .with_panel(
            _series(
                "Tasks running per queue",
                "Tasks taken from each queue and running now.",
                "none",
                [_query(f"max by (queue) (celery_queue_processing{{{queues}}})", "{{queue}}")],
            )
        )
        .with_panel(
            _series(
                "Queue wait p50/p95/p99",
                "Time from a task being sent to it starting, per queue.",
                "s",
                _quantiles(
                    f"celery_task_queue_wait_seconds_bucket{{{queues}}}", "queue", "{{queue}}"
                ),
            )
        )
        .with_panel(
            _series(
                "Broker memory",
                "What the broker Redis uses, and its maxmemory when it has one: at the limit it"
                " refuses new tasks (noeviction).",
                "bytes",
                [
                    _query("max(celery_broker_memory_used_bytes)", "used"),
                    _query("max(celery_broker_memory_max_bytes) > 0", "maxmemory", "B"),
                ],
            )
        )
        .with_row(dashboard.Row("Tasks"))
        .with_panel(
            _series(
                "Throughput by task and state",
                "Task events per second, by task name and the state they report.",
                "ops",
                [
                    _query(
                        f"max by (name, state) (rate(celery_tasks_total{RATE}))",
                        "{{name}} {{state}}",
                    )
                ],
            )
        )
        .with_panel(
            _series(
                "Failure ratio by task",
                "Failed over finished (succeeded or failed) tasks, by task name.",
                "percentunit",
                [_query(_failure_ratio(""), "{{name}}")],
            )
        )
        .with_panel(
            _series(
                "Runtime p50/p95/p99 by task",
                "How long successful tasks ran, by task name.",
                "s",
                _quantiles("celery_task_runtime_seconds_bucket", "name", "{{name}}"),
            )
        )
        .with_row(dashboard.Row("HTTP"))
        .with_panel(
            _series(
                "HTTP latency p50/p95/p99",
                "Time from request to the start of the response, api and monitor.",
                "s",
                _quantiles(
                    f"http_request_duration_seconds_bucket{{{HTTP_JOBS}}}", "job", "{{job}}"
                ),
            )
        )
        .with_panel(
            _series(
                "HTTP request rate",
                "Requests answered per second, api and monitor.",
                "reqps",
                [_query(http_total, "{{job}}")],
            )
        )
        .with_panel(
            _series(
                "HTTP error rate (5xx)",
                "Requests answered with a 5xx status per second; 0 while there are none.",
                "reqps",
                [
                    _query(
                        f"sum by (job) (rate({http_errors}{RATE})) or {http_total} * 0",
                        "{{job}}",
                    )
                ],
            )
        )
    )


def task() -> dashboard.Dashboard:
    name = _datasourced(
        dashboard.QueryVariable("task")
        .label("Task")
        .query("label_values(celery_tasks_total, name)")
        .sort(VariableSort.ALPHABETICAL_ASC)
    )
    selector = 'name="$task"'
    return (
        _dashboard(
            "SDP task", "sdp-task", "One task by name: its events by state, failures and runtimes."
        )
        .with_variable(name)
        .with_panel(
            _stat(
                "Succeeded in range",
                "Successful runs in the dashboard's time range.",
                "none",
                _query(
                    f'max(increase(celery_tasks_total{{{selector},state="SUCCESS"}}[$__range]))',
                    "succeeded",
                    instant=True,
                ),
            )
        )
        .with_panel(
            _stat(
                "Failed in range",
                "Failed runs in the dashboard's time range.",
                "none",
                _query(
                    f'max(increase(celery_tasks_total{{{selector},state="FAILURE"}}[$__range]))',
                    "failed",
                    instant=True,
                ),
            )
        )
        .with_panel(
            _stat(
                "Retried in range",
                "Retries in the dashboard's time range.",
                "none",
                _query(
                    f'max(increase(celery_tasks_total{{{selector},state="RETRY"}}[$__range]))',
                    "retried",
                    instant=True,
                ),
            )
        )
        .with_panel(
            _stat(
                "Events by state since the monitor started",
                "Every event of this task the monitor counted, by state.",
                "none",
                _query(
                    f"max by (state) (celery_tasks_total{{{selector}}})", "{{state}}", instant=True
                ),
            )
        )
        .with_panel(
            _series(
                "Rate by state",
                "Events of this task per second, by the state they report.",
                "ops",
                [
                    _query(
                        f"max by (state) (rate(celery_tasks_total{{{selector}}}{RATE}))",
                        "{{state}}",
                    )
                ],
            )
        )
        .with_panel(
            _series(
                "Failure ratio",
                "Failed over finished (succeeded or failed) runs.",
                "percentunit",
                [_query(_failure_ratio(f"{selector},"), "{{name}}")],
            )
        )
        .with_panel(
            _series(
                "Runtime p50/p95/p99",
                "How long successful runs took.",
                "s",
                _quantiles(f"celery_task_runtime_seconds_bucket{{{selector}}}", "name", "runtime"),
            )
        )
        .with_panel(
            _series(
                "Average runtime",
                "Total runtime over successful runs, per step.",
                "s",
                [
                    _query(
                        f"sum(rate(celery_task_runtime_seconds_sum{{{selector}}}{RATE}))"
                        f" / sum(rate(celery_task_runtime_seconds_count{{{selector}}}{RATE}))",
                        "average",
                    )
                ],
            )
        )
    )


DASHBOARDS = {"cluster": cluster, "task": task}


def render(build: dashboard.Dashboard) -> str:
    model = build.build()
    # Unique ids, which Grafana's panel links (viewPanel=) use; the builder leaves them unset.
    for number, panel in enumerate(model.panels or [], start=1):
        panel.id_val = number
    return json.dumps(model, cls=JSONEncoder, indent=2, sort_keys=True) + "\n"


def write(out: Path) -> list[Path]:
    """Write every dashboard as `<name>.json` into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, make in DASHBOARDS.items():
        path = out / f"{name}.json"
        path.write_text(render(make()))
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=OUT, help="where to write")
    for path in write(parser.parse_args(argv).out):
        print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
