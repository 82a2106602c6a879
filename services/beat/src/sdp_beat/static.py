"""Static entries from beat's configuration (``beat_schedule``), kept in the schedule definitions.

They are seeded on start, updated when the configuration changes and deleted when removed
from it; a schedule of the same name created through the API is left alone.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from celery.schedules import crontab, schedule

from sdp_schedules.definitions import ScheduleDefinitions
from sdp_schedules.errors import (
    ScheduleChanged,
    ScheduleConflict,
    ScheduleError,
    ScheduleNotFound,
)
from sdp_schedules.model import ScheduleSpec, parse_spec

__all__ = ["seed_static", "static_spec"]

log = logging.getLogger(__name__)


def _trigger(every: Any, timezone: str) -> dict[str, Any]:
    if isinstance(every, crontab):
        # Celery keeps each field's text as written; the parsed sets lose ranges and steps.
        fields = ("minute", "hour", "day_of_month", "month_of_year", "day_of_week")
        return {
            "type": "crontab",
            **{name: str(getattr(every, f"_orig_{name}")) for name in fields},
            "timezone": timezone,
        }
    if isinstance(every, schedule):
        every = getattr(every, "run_every", every)
    if isinstance(every, timedelta):
        every = every.total_seconds()
    if isinstance(every, int | float):
        return {"type": "interval", "every": max(1, round(every)), "unit": "seconds"}
    raise ScheduleError(f"unsupported schedule type {type(every).__name__}")


def static_spec(name: str, entry: Mapping[str, Any], timezone: str = "UTC") -> ScheduleSpec:
    """The schedule document for one ``beat_schedule`` entry."""
    options = entry.get("options") or {}
    return parse_spec(
        {
            "name": name,
            "task": entry["task"],
            "args": list(entry.get("args") or []),
            "kwargs": dict(entry.get("kwargs") or {}),
            "queue": options.get("queue"),
            "priority": options.get("priority"),
            "expires_s": options.get("expires"),
            "trigger": _trigger(entry["schedule"], timezone),
        }
    )


def seed_static(
    definitions: ScheduleDefinitions, beat_schedule: Mapping[str, Any], timezone: str
) -> None:
    """Bring the store's static entries in line with ``beat_schedule``.

    A bad entry in the configuration is logged and left out; it never stops beat.
    """
    wanted: dict[str, ScheduleSpec] = {}
    for name, entry in beat_schedule.items():
        try:
            wanted[name] = static_spec(name, entry, timezone)
        except Exception as exc:  # any shape of configuration; reading it touches no Redis
            log.error("beat: static entry %r ignored: %s: %s", name, type(exc).__name__, exc)
    for name, spec in wanted.items():
        try:
            _seed(definitions, name, spec)
        except (ScheduleConflict, ScheduleChanged):
            pass  # another replica seeded it first, or is writing it now
        except (ScheduleError, ValueError) as exc:
            # Refused, or the stored one no longer decodes (the firing sets that aside).
            log.error("beat: static entry %r not seeded: %s", name, exc)
    for schedule_id in definitions.static_ids():
        try:
            stored = definitions.get(schedule_id)
        except ScheduleNotFound:
            continue
        except ValueError as exc:
            log.error("beat: static schedule %s does not decode: %s", schedule_id, exc)
            continue
        if stored.spec.name not in wanted:
            log.info("beat: static entry %r removed from configuration", stored.spec.name)
            try:
                definitions.delete(stored.id)
            except ScheduleChanged:
                # Another replica is writing it; the next start that finds it deletes it.
                log.warning("beat: static schedule %s changed while deleting; kept", stored.id)


def _seed(definitions: ScheduleDefinitions, name: str, spec: ScheduleSpec) -> None:
    current = definitions.find(name)
    if current is None:
        definitions.create(spec, static=True)
    elif not current.static:
        log.warning("beat: static entry %r ignored: a schedule has that name", name)
    else:
        # Pausing a static schedule through the API survives a restart.
        desired = spec.model_copy(update={"enabled": current.spec.enabled})
        if current.spec != desired:
            definitions.replace(current.id, desired)
