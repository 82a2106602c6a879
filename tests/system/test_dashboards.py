"""Every query of the committed Grafana dashboards, run by a real Prometheus on the platform.

The platform starts as `make run` starts it and Prometheus (Debian's, from `make tools`)
scrapes its api and monitor every second. Tasks run in two waves, so every counter and
histogram series already exists when it grows and its rate is not zero. Each panel target is
then interpolated as Grafana's Prometheus datasource does (template variables from their
`label_values` queries, `$__rate_interval`, `$__interval`, `$__range`) and sent as Grafana
sends it: an instant query or a range query over the time the test ran.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from sdp_core.auth import Role
from sdp_testing.grafana import load_dashboards, panels
from sdp_testing.platform import Platform
from sdp_testing.processes import wait_until
from sdp_testing.prometheus import Prometheus, running_prometheus

pytestmark = [pytest.mark.system, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = load_dashboards(ROOT / "deploy" / "grafana" / "dashboards")
SCRAPE_S = 1
SUCCEEDS = "system.noop"
FAILS = "collect.http"
# Panels whose every query must return a number once the tasks ran, by dashboard; the task
# view's for the task named after it.
KEY_PANELS = {
    "cluster": {
        "Workers online",
        "Beat up",
        "Queue depth",
        "Queue wait p50/p95/p99",
        "Throughput by task and state",
        "Failure ratio by task",
        "Runtime p50/p95/p99 by task",
        "HTTP latency p50/p95/p99",
        "HTTP request rate",
        "HTTP error rate (5xx)",
    },
    SUCCEEDS: {"Rate by state", "Runtime p50/p95/p99", "Succeeded in range", "Average runtime"},
    FAILS: {"Rate by state", "Failure ratio", "Failed in range"},
}
VARIABLE = re.compile(r"\$(\w+)|\$\{(\w+)(?::\w+)?\}")
LABEL_VALUES = re.compile(r"label_values\((\w+),\s*(\w+)\)")


@dataclass(frozen=True)
class Window:
    """The dashboard's time range and the step Grafana picks for it."""

    start: float
    end: float
    interval_s: int

    def builtins(self) -> dict[str, str]:
        range_s = math.ceil(self.end - self.start)
        return {
            "__interval": f"{self.interval_s}s",
            "__interval_ms": str(self.interval_s * 1000),
            # Grafana's: the larger of four scrape intervals and one step plus a scrape.
            "__rate_interval": f"{max(4 * SCRAPE_S, self.interval_s + SCRAPE_S)}s",
            "__range": f"{range_s}s",
            "__range_s": str(range_s),
            "__range_ms": str(range_s * 1000),
        }


def regex_escape(value: str) -> str:
    """Grafana's prometheusSpecialRegexEscape, for a multi-value or All variable."""
    return re.sub(r"[$^*{}\[\]'+?.()|]", lambda m: "\\\\" + m[0], value.replace("\\", "\\\\\\\\"))


def plain_escape(value: str) -> str:
    """Grafana's prometheusRegularEscape, for a single-value variable."""
    return value.replace("\\", "\\\\").replace("'", "\\\\'")


def variable_values(prometheus: Prometheus, variable: dict[str, Any], window: Window) -> list[str]:
    """What a `label_values(metric, label)` query variable offers, as Grafana asks for it."""
    found = LABEL_VALUES.fullmatch(variable["query"])
    assert found, f"${variable['name']}: not a label_values query: {variable['query']}"
    metric, label = found.groups()
    body = prometheus.api(
        f"label/{label}/values", **{"match[]": metric, "start": window.start, "end": window.end}
    )
    assert body["status"] == "success", body
    values: list[str] = body["data"]
    return values


def interpolate(expr: str, values: dict[str, str]) -> str:
    def substitute(match: re.Match[str]) -> str:
        name = match[1] or match[2]
        assert name in values, f"${name} is no variable Grafana would know: {expr}"
        return values[name]

    return VARIABLE.sub(substitute, expr)


def run(prometheus: Prometheus, target: dict[str, Any], expr: str, window: Window) -> list[Any]:
    """The target's series as Grafana asks for them; asserts that Prometheus took the query."""
    if target.get("instant"):
        body = prometheus.api("query", query=expr, time=window.end)
    else:
        body = prometheus.api(
            "query_range", query=expr, start=window.start, end=window.end, step=window.interval_s
        )
    assert body.get("status") == "success", f"{expr}\n{body}"
    result: list[Any] = body["data"]["result"]
    return result


def numbers(series: dict[str, Any]) -> list[float]:
    samples = series["values"] if "values" in series else [series["value"]]
    return [value for _, text in samples if math.isfinite(value := float(text))]


@dataclass(frozen=True)
class Answer:
    dashboard: str
    panel: str
    expr: str
    series: list[dict[str, Any]]


def answers(prometheus: Prometheus, window: Window) -> Iterator[Answer]:
    """Every target of every dashboard, once per value of a single-value variable."""
    builtins = window.builtins()
    for name, dashboard in DASHBOARDS.items():
        choices: list[dict[str, str]] = [{}]
        for variable in dashboard["templating"]["list"]:
            offered = variable_values(prometheus, variable, window)
            assert offered, f"{name}: ${variable['name']} offers nothing"
            if variable.get("includeAll") and variable.get("allValue"):
                # The default selection, All, stands for its allValue unescaped.
                choices = [{**c, variable["name"]: variable["allValue"]} for c in choices]
            elif variable.get("multi") or variable.get("includeAll"):
                every = "(" + "|".join(map(regex_escape, offered)) + ")"
                choices = [{**c, variable["name"]: every} for c in choices]
            else:
                choices = [
                    {**c, variable["name"]: plain_escape(v)} for c in choices for v in offered
                ]
        for chosen in choices:
            label = chosen.get("task", name)
            for panel in panels(dashboard):
                for target in panel["targets"]:
                    expr = interpolate(target["expr"], {**builtins, **chosen})
                    yield Answer(label, panel["title"], expr, run(prometheus, target, expr, window))


def submit(client: httpx.Client, platform: Platform, task: str, **kwargs: Any) -> str:
    sent = client.post(
        f"{platform.api}/api/v1/tasks",
        json={"task": task, "kwargs": kwargs},
        headers=platform.token(Role.operator),
    )
    assert sent.status_code == 202, sent.text
    task_id: str = sent.json()["id"]
    return task_id


def finished(client: httpx.Client, platform: Platform, ids: list[str]) -> dict[str, int]:
    """Waits for every task to end; how many ended in each state."""
    states: dict[str, str] = {}

    def done() -> bool:
        for task_id in ids:
            if task_id not in states:
                body = client.get(
                    f"{platform.api}/api/v1/tasks/{task_id}", headers=platform.token(Role.viewer)
                ).json()
                if body["state"] in ("SUCCESS", "FAILURE"):
                    states[task_id] = body["state"]
        return len(states) == len(ids)

    wait_until(done, 30, "the tasks to finish", interval_s=0.2)
    counts: dict[str, int] = {}
    for state in states.values():
        counts[state] = counts.get(state, 0) + 1
    return counts


def scraped(prometheus: Prometheus, expr: str, at_least: float) -> bool:
    return any(float(s["value"][1]) >= at_least for s in prometheus.query(expr))


@pytest.mark.timeout(240)
def test_every_dashboard_query_runs_and_the_key_ones_show_the_tasks(
    platform: Platform, tmp_path: Path, tool: Callable[[str], str], httpserver: Any
) -> None:
    httpserver.expect_request("/missing").respond_with_data("gone", status=404)
    missing = httpserver.url_for("/missing")
    targets = {"api": platform.api, "monitor": platform.monitor}
    with (
        running_prometheus(tool("prometheus"), targets, tmp_path, SCRAPE_S) as prometheus,
        httpx.Client(timeout=10) as client,
    ):
        start = time.time()
        succeeded = failed = 0
        for _wave in range(2):
            ids = [submit(client, platform, SUCCEEDS) for _ in range(3)]
            ids += [submit(client, platform, FAILS, url=missing) for _ in range(2)]
            counts = finished(client, platform, ids)
            assert counts == {"SUCCESS": 3, "FAILURE": 2}, counts
            succeeded += 3
            failed += 2
            # Scraped after the wave: the next one grows series Prometheus already has.
            for task, state, count in (
                (SUCCEEDS, "SUCCESS", succeeded),
                (FAILS, "FAILURE", failed),
            ):
                expr = f'celery_tasks_total{{name="{task}",state="{state}"}}'
                wait_until(
                    partial(scraped, prometheus, expr, count),
                    15,
                    f"{count} {task} {state} in prometheus",
                    interval_s=0.5,
                )
        # Two more scrapes of both jobs, so a step's rate window holds the last wave's growth.
        after = time.time() + 2 * SCRAPE_S
        wait_until(partial(scraped, prometheus, "min(timestamp(up))", after), 15, "two scrapes")
        window = Window(start, time.time(), SCRAPE_S)
        results = list(answers(prometheus, window))

    seen = {(a.dashboard, a.panel) for a in results}
    missing_panels = {(d, p) for d, titles in KEY_PANELS.items() for p in titles} - seen
    assert missing_panels == set(), f"no such dashboard and panel: {missing_panels}"
    empty = [
        f"{a.dashboard} / {a.panel}: {a.expr}"
        for a in results
        if a.panel in KEY_PANELS.get(a.dashboard, ())
        and not any(numbers(series) for series in a.series)
    ]
    assert empty == [], "key queries without data:\n" + "\n".join(empty)
    by_panel: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for a in results:
        by_panel.setdefault((a.dashboard, a.panel), []).extend(a.series)
    latency_jobs = {s["metric"]["job"] for s in by_panel["cluster", "HTTP latency p50/p95/p99"]}
    assert any(numbers(s) for s in by_panel["cluster", "Broker memory"]), "no broker memory"
    assert latency_jobs == {"api", "monitor"}
    failure_ratio = [max(numbers(s)) for s in by_panel[FAILS, "Failure ratio"]]
    assert failure_ratio == [1.0], "every run of the failing task failed"
