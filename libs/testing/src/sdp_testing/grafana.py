"""The dashboards of deploy/grafana as Grafana reads them: JSON models with panels of queries."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["load_dashboards", "panels"]


def load_dashboards(folder: Path) -> dict[str, dict[str, Any]]:
    """Every `*.json` model in `folder`, by file stem."""
    return {path.stem: json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))}


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """The panels that show data, those inside collapsed rows included; rows are not panels."""
    found: list[dict[str, Any]] = []
    for panel in dashboard.get("panels", []):
        if panel.get("type") == "row":
            found.extend(panel.get("panels", []))
        else:
            found.append(panel)
    return found
