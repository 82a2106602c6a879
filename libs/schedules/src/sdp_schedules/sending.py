"""How a schedule's task is sent, whoever sends it: beat at a slot, or the API's run now."""

from __future__ import annotations

from typing import Any

from sdp_schedules.records import Schedule

__all__ = ["send_options"]


def send_options(schedule: Schedule, slot_ms: int) -> dict[str, Any]:
    """Celery ``send_task`` keyword arguments for one send of the schedule's task.

    All but the task id and producer: its arguments, the queue, priority and expiry it sets
    (Celery's routing and defaults otherwise) and headers naming the schedule and the slot.
    """
    spec = schedule.spec
    options: dict[str, Any] = {
        "args": spec.args,
        "kwargs": spec.kwargs,
        "headers": {"sdp_schedule": schedule.id, "sdp_slot": slot_ms},
    }
    if spec.queue is not None:
        options["queue"] = spec.queue.value
    if spec.priority is not None:
        options["priority"] = spec.priority
    if spec.expires_s is not None:
        options["expires"] = spec.expires_s
    return options
