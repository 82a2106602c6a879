"""A real Prometheus (Debian's binary, from `make tools`) scraping services under test."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from sdp_testing.processes import ServiceProcess, spawn, wait_until
from sdp_testing.redis_server import free_port

__all__ = ["Prometheus", "running_prometheus"]


@dataclass
class Prometheus:
    process: ServiceProcess
    url: str
    client: httpx.Client

    def api(self, path: str, **params: Any) -> dict[str, Any]:
        """The body of an `/api/v1/...` answer, whatever its status: errors are data here."""
        assert self.process.alive(), self.process.log()[-2000:]
        body: dict[str, Any] = self.client.get(f"{self.url}/api/v1/{path}", params=params).json()
        return body

    def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query's series; none while Prometheus is not answering yet."""
        try:
            body = self.api("query", query=expr)
        except httpx.TransportError:
            return []
        result: list[dict[str, Any]] = body["data"]["result"]
        return result


@contextmanager
def running_prometheus(
    binary: str,
    targets: Mapping[str, str],
    workdir: Path,
    scrape_interval_s: int = 1,
    rule_files: Sequence[Path] = (),
) -> Iterator[Prometheus]:
    """Prometheus scraping one job per `targets` entry (job -> base URL), every job up.

    It evaluates `rule_files` as often as it scrapes.
    """
    port = free_port()
    interval = f"{scrape_interval_s}s"
    config = {
        "global": {
            "scrape_interval": interval,
            "scrape_timeout": interval,
            "evaluation_interval": interval,
        },
        "rule_files": [str(path) for path in rule_files],
        "scrape_configs": [
            {"job_name": job, "static_configs": [{"targets": [url.removeprefix("http://")]}]}
            for job, url in targets.items()
        ],
    }
    (workdir / "prometheus.yml").write_text(json.dumps(config))
    args = [
        binary,
        f"--config.file={workdir / 'prometheus.yml'}",
        f"--storage.tsdb.path={workdir / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    with httpx.Client(timeout=10) as client, spawn(args, {}, name="prometheus") as process:
        prometheus = Prometheus(process, f"http://127.0.0.1:{port}", client)

        def all_up() -> bool:
            up = {r["metric"]["job"]: r["value"][1] for r in prometheus.query("up")}
            return up == dict.fromkeys(targets, "1")

        wait_until(all_up, 30, f"prometheus to scrape {', '.join(targets)}", interval_s=0.5)
        yield prometheus
