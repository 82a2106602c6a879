"""The Grafana dashboards: generated from scripts/dashboards.py, complete, on one datasource.

Their JSON is built with grafana-foundation-sdk, Grafana's own builders whose types follow
Grafana's dashboard schema; tests/system/test_dashboards.py runs every query they hold.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from sdp_testing.grafana import load_dashboards, panels

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import dashboards  # noqa: E402

DATASOURCES = ROOT / "deploy" / "grafana" / "provisioning" / "datasources" / "prometheus.yml"
K8S_BASE = ROOT / "deploy" / "k8s" / "base"
COMMITTED = load_dashboards(dashboards.OUT)

# What issue 17 asks of each dashboard, by panel title.
REQUIRED_PANELS = {
    "cluster": {
        "Workers online",
        "Queue depth",
        "Throughput by task and state",
        "Failure ratio by task",
        "Runtime p50/p95/p99 by task",
        "Queue wait p50/p95/p99",
        "Beat up",
        "Beat heartbeat age",
        "Beat schedule lag",
        "HTTP latency p50/p95/p99",
        "HTTP request rate",
        "HTTP error rate (5xx)",
    },
    "task": {
        "Rate by state",
        "Failure ratio",
        "Runtime p50/p95/p99",
        "Succeeded in range",
        "Failed in range",
    },
}
PERCENTILES = ("0.5", "0.95", "0.99")


def test_the_committed_dashboards_are_what_the_generator_writes(tmp_path: Path) -> None:
    written = dashboards.write(tmp_path)
    assert sorted(path.stem for path in written) == sorted(COMMITTED)
    for path in written:
        committed = dashboards.OUT / path.name
        assert committed.read_text() == path.read_text(), (
            f"{committed.relative_to(ROOT)} is stale: run `.venv/bin/python scripts/dashboards.py`"
        )


@pytest.mark.parametrize("name", sorted(REQUIRED_PANELS))
def test_each_dashboard_has_its_required_panels(name: str) -> None:
    titles = [panel["title"] for panel in panels(COMMITTED[name])]
    assert len(titles) == len(set(titles)), f"{name}: two panels share a title"
    assert REQUIRED_PANELS[name] <= set(titles), REQUIRED_PANELS[name] - set(titles)


@pytest.mark.parametrize("name", sorted(COMMITTED))
def test_every_panel_queries_the_provisioned_prometheus(name: str) -> None:
    [source] = yaml.safe_load(DATASOURCES.read_text())["datasources"]
    expected = {"type": "prometheus", "uid": source["uid"]}
    dashboard = COMMITTED[name]
    for panel in panels(dashboard):
        title = panel["title"]
        targets: list[dict[str, Any]] = panel.get("targets", [])
        assert targets, f"{name}: {title!r} has no query"
        assert panel["datasource"] == expected, title
        refs = [target["refId"] for target in targets]
        assert len(refs) == len(set(refs)), f"{name}: {title!r} repeats a refId"
        for target in targets:
            assert target["datasource"] == expected, title
            assert target["expr"].strip(), f"{name}: {title!r} has an empty query"
        if "p50/p95/p99" in title:
            quantiles = [t["expr"].split("histogram_quantile(")[1].split(",")[0] for t in targets]
            assert tuple(quantiles) == PERCENTILES, title
    for variable in dashboard["templating"]["list"]:
        assert variable["datasource"] == expected, variable["name"]
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids)), f"{name}: panel ids repeat"


def test_dashboards_have_their_own_uids_and_the_task_view_picks_a_task() -> None:
    uids = [dashboard["uid"] for dashboard in COMMITTED.values()]
    assert len(uids) == len(set(uids))
    [variable] = COMMITTED["task"]["templating"]["list"]
    assert (variable["name"], variable["query"]) == (
        "task",
        "label_values(celery_tasks_total, name)",
    )
    # A single task: its panels match the name exactly.
    assert not variable.get("multi") and not variable.get("includeAll")


def test_compose_and_kubernetes_run_one_grafana_on_the_dashboards_datasource() -> None:
    """Kubernetes mounts compose's provisioning files (tests/deploy/test_k8s.py checks)."""
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]["grafana"]
    [deployment] = [
        doc
        for doc in yaml.safe_load_all((K8S_BASE / "grafana.yaml").read_text())
        if doc["kind"] == "Deployment"
    ]
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert compose["image"] == container["image"]
    [ours] = yaml.safe_load(DATASOURCES.read_text())["datasources"]
    assert ours["uid"] == dashboards.DATASOURCE_UID
