"""The alert rules: promtool passes them and their unit tests, every alert has a runbook and a
test that fires it and one that does not, and every metric they read is one the platform
exports."""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from sdp_core.heartbeat import BeatHeartbeat, write_heartbeat
from sdp_monitor.app import create_app
from sdp_monitor.metrics import MonitorMetrics
from sdp_monitor.settings import MonitorSettings

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"
CONFIG = PROMETHEUS / "prometheus.yml"
ALERTS = PROMETHEUS / "alerts.yml"
ALERTS_TEST = PROMETHEUS / "alerts_test.yml"
OPERATIONS = ROOT / "docs" / "operations.md"

SEVERITIES = {"critical", "warning"}
# What Prometheus itself records for every target.
PROMETHEUS_SERIES = {"up"}
# Words of PromQL that are neither metrics nor followed by a parenthesis.
KEYWORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan"}
# Sample names a family exports, by its type.
SUFFIXES = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_count", "_sum"),
    "gauge": ("",),
}


def alerts() -> list[dict[str, Any]]:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def alert_names() -> list[str]:
    return [rule["alert"] for rule in alerts()]


def alert_sections() -> dict[str, str]:
    """The `###` headings under `## Alerts` in docs/operations.md, by their anchor."""
    text = OPERATIONS.read_text()
    start = text.find("\n## Alerts\n")
    assert start >= 0, "docs/operations.md has no `## Alerts` section"
    section = re.split(r"\n## ", text[start + 1 :])[0]
    return {anchor(title): title for title in re.findall(r"^### (.+)$", section, re.M)}


def anchor(title: str) -> str:
    """The anchor GitHub gives a heading."""
    kept = re.sub(r"[^\w\- ]", "", title.strip().lower())
    return kept.replace(" ", "-")


def metric_names(expr: str) -> set[str]:
    """The metrics a PromQL expression selects: names that are neither keywords nor calls."""
    bare = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)
    bare = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", bare)
    bare = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", bare)
    return {
        match.group(1)
        for match in re.finditer(r"(?<![\w.])([a-zA-Z_:][\w:]*)\b(?!\s*\()", bare)
        if match.group(1).lower() not in KEYWORDS
    }


# --- promtool ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [("check", "config", CONFIG), ("check", "rules", ALERTS), ("test", "rules", ALERTS_TEST)],
    ids=lambda command: " ".join(map(str, command[:2])),
)
def test_promtool_passes(tool: Callable[[str], str], command: tuple[str, str, Path]) -> None:
    result = subprocess.run(
        [tool("promtool"), *map(str, command)],
        cwd=PROMETHEUS,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- every alert labelled, documented and tested ----------------------------------------------


def test_prometheus_loads_the_alert_rules() -> None:
    config = yaml.safe_load(CONFIG.read_text())
    assert [CONFIG.parent / name for name in config["rule_files"]] == [ALERTS]
    assert yaml.safe_load(ALERTS_TEST.read_text())["rule_files"] == ["alerts.yml"]


@pytest.mark.parametrize("rule", alerts(), ids=lambda rule: str(rule["alert"]))
def test_every_alert_has_a_severity_a_summary_and_its_runbook(rule: dict[str, Any]) -> None:
    assert rule["labels"]["severity"] in SEVERITIES
    annotations = rule["annotations"]
    assert "{{" in annotations["summary"], "the summary names what fired: its labels or value"
    assert annotations["description"].strip()
    # One scheme: the alert's own section under "## Alerts", named after it.
    name = rule["alert"]
    assert annotations["runbook_url"] == f"docs/operations.md#{name.lower()}"
    assert alert_sections().get(name.lower()) == name, f"no `### {name}` under ## Alerts"


def test_every_runbook_section_is_an_alert() -> None:
    assert sorted(alert_sections().values()) == sorted(alert_names())


def test_every_alert_is_tested_firing_and_silent() -> None:
    fired: set[str] = set()
    silent: set[str] = set()
    for case in yaml.safe_load(ALERTS_TEST.read_text())["tests"]:
        for check in case.get("alert_rule_test", []):
            (fired if check.get("exp_alerts") else silent).add(check["alertname"])
    names = set(alert_names())
    assert len(names) == len(alert_names()), "two alerts share a name"
    # An expectation about an alert that does not exist passes in promtool: catch it here.
    assert (fired | silent) <= names
    assert sorted(names - fired) == [], "alerts no test fires"
    assert sorted(names - silent) == [], "alerts no test shows silent"


def test_the_scrape_jobs_the_alerts_name_are_configured() -> None:
    jobs = {job["job_name"] for job in yaml.safe_load(CONFIG.read_text())["scrape_configs"]}
    named = {job for rule in alerts() for job in re.findall(r'job="(\w+)"', rule["expr"])}
    assert named
    assert named <= jobs


# --- every metric exported ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def exported(redis_server_url: str, jwt_secret: str) -> set[str]:
    """Every sample name a real monitor's /metrics serves, families without samples included."""
    client = redis.Redis.from_url(redis_server_url)
    try:
        write_heartbeat(client, BeatHeartbeat(node="beat-1", last_tick=time.time(), lag_s=0.5), 60)
    finally:
        client.close()
    settings = MonitorSettings(
        environment="test", jwt_secret=jwt_secret, redis_url=redis_server_url
    )
    app = create_app(settings)
    metrics: MonitorMetrics = app.state.metrics
    metrics.task("system.noop", "SUCCESS", 0.1)
    metrics.waited("system", 0.1)
    with TestClient(app) as client:
        scrape = client.get("/metrics")
    assert scrape.status_code == 200
    return {
        family.name + suffix
        for family in text_string_to_metric_families(scrape.text)
        for suffix in SUFFIXES[family.type]
    }


def test_the_metric_name_parser_finds_names_not_functions_labels_or_keywords() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (name, le) (rate(a_bucket{le="+Inf"}[5m])))'
        " / on (name) max by (name) (b:rate5m) > 0.8 and c unless d == Inf"
    )
    assert metric_names(expr) == {"a_bucket", "b:rate5m", "c", "d"}


@pytest.mark.parametrize("rule", alerts(), ids=lambda rule: str(rule["alert"]))
def test_every_metric_an_alert_reads_is_exported(rule: dict[str, Any], exported: set[str]) -> None:
    names = metric_names(rule["expr"])
    assert names, rule["expr"]
    assert sorted(names - exported - PROMETHEUS_SERIES) == []
