"""Per-task retry policy and time limits: the only thing the worker adds to a catalogue job."""

from __future__ import annotations

from dataclasses import dataclass

from sdp_core.queues import TaskName

__all__ = ["POLICIES", "TaskPolicy"]


@dataclass(frozen=True, slots=True)
class TaskPolicy:
    soft_time_limit_s: int
    time_limit_s: int
    max_retries: int = 0
    retry_backoff_max_s: int = 600


POLICIES: dict[TaskName, TaskPolicy] = {
    # The collector retries inside the call first; these are the slower retries after that.
    TaskName.collect_http: TaskPolicy(300, 330, max_retries=5),
    TaskName.etl_transform: TaskPolicy(600, 630),
    TaskName.system_cleanup: TaskPolicy(900, 960),
    TaskName.system_noop: TaskPolicy(10, 20),
    TaskName.system_sleep: TaskPolicy(3_600, 3_660),
}
