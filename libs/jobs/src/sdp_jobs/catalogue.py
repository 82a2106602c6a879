"""The job catalogue: every task name the platform runs, its queue, argument model and policy."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from sdp_core import validation
from sdp_core.queues import Queue, TaskName, queue_for
from sdp_jobs import collect, etl, system
from sdp_jobs.context import JobContext
from sdp_jobs.errors import JobArgumentError, UnknownJob

__all__ = ["CATALOGUE", "Job", "TaskPolicy", "get_job", "run_job"]


@dataclass(frozen=True, slots=True)
class TaskPolicy:
    """Time limits and retries a worker runs the job under."""

    # Served as is by the API's job catalogue: every field is in every answer.
    __pydantic_config__ = ConfigDict(
        use_attribute_docstrings=True, json_schema_serialization_defaults_required=True
    )

    soft_time_limit_s: int
    """Seconds after which the job is asked to stop (SoftTimeLimitExceeded in the task)."""
    time_limit_s: int
    """Seconds after which the worker kills the process running it."""
    max_retries: int = 0
    """Retries after a TransientJobError, each after a jittered wait that doubles."""
    retry_backoff_max_s: int = 600
    """Cap on the wait between those retries, in seconds."""


@dataclass(frozen=True, slots=True)
class Job:
    name: TaskName
    params: type[BaseModel]
    func: Callable[[JobContext, Any], Any]
    description: str
    policy: TaskPolicy

    @property
    def queue(self) -> Queue:
        return queue_for(self.name)

    def validate(
        self, args: Sequence[Any] = (), kwargs: Mapping[str, Any] | None = None
    ) -> BaseModel:
        """Bind positional and keyword arguments to the job's model, or raise naming each field."""
        names = list(self.params.model_fields)
        if len(args) > len(names):
            raise JobArgumentError(
                f"{self.name} takes at most {len(names)} positional arguments, got {len(args)}",
                [("args", f"at most {len(names)} positional arguments")],
            )
        bound = dict(zip(names, args, strict=False))
        for key, value in (kwargs or {}).items():
            if key in bound:
                raise JobArgumentError(
                    f"{self.name}: {key!r} given twice", [(f"kwargs.{key}", "given twice")]
                )
            bound[key] = value
        try:
            return self.params.model_validate(bound)
        except ValidationError as exc:
            fields = validation.field_errors(exc, "kwargs")
            detail = "; ".join(f"{f}: {m}" for f, m in fields)
            raise JobArgumentError(f"{self.name}: bad arguments: {detail}", fields) from None


def _job(
    name: TaskName,
    params: type[BaseModel],
    func: Callable[[JobContext, Any], Any],
    policy: TaskPolicy,
) -> Job:
    return Job(name, params, func, (func.__doc__ or "").strip().splitlines()[0], policy)


CATALOGUE: Mapping[str, Job] = {
    job.name.value: job
    for job in (
        # The collector retries inside the call first; these are the slower retries after that.
        _job(
            TaskName.collect_http,
            collect.CollectParams,
            collect.collect_http,
            TaskPolicy(300, 330, max_retries=5),
        ),
        _job(TaskName.etl_transform, etl.TransformParams, etl.transform, TaskPolicy(600, 630)),
        _job(TaskName.system_cleanup, system.CleanupParams, system.cleanup, TaskPolicy(900, 960)),
        _job(TaskName.system_noop, system.NoopParams, system.noop, TaskPolicy(10, 20)),
        _job(TaskName.system_sleep, system.SleepParams, system.sleep, TaskPolicy(3_600, 3_660)),
    )
}


def get_job(name: str) -> Job:
    try:
        return CATALOGUE[name]
    except KeyError:
        raise UnknownJob(name) from None


def run_job(
    ctx: JobContext, name: str, args: Sequence[Any] = (), kwargs: Mapping[str, Any] | None = None
) -> Any:
    """Validate the arguments and run the job; the return value is JSON-serialisable."""
    job = get_job(name)
    return job.func(ctx, job.validate(args, kwargs))
