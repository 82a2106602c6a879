"""The job catalogue: every task name the platform runs, its queue and its argument model."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from sdp_core import validation
from sdp_core.queues import Queue, TaskName, queue_for
from sdp_jobs import collect, etl, system
from sdp_jobs.context import JobContext
from sdp_jobs.errors import JobArgumentError, UnknownJob

__all__ = ["CATALOGUE", "Job", "get_job", "run_job"]


@dataclass(frozen=True, slots=True)
class Job:
    name: TaskName
    params: type[BaseModel]
    func: Callable[[JobContext, Any], Any]
    description: str

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


def _job(name: TaskName, params: type[BaseModel], func: Callable[[JobContext, Any], Any]) -> Job:
    return Job(name, params, func, (func.__doc__ or "").strip().splitlines()[0])


CATALOGUE: Mapping[str, Job] = {
    job.name.value: job
    for job in (
        _job(TaskName.collect_http, collect.CollectParams, collect.collect_http),
        _job(TaskName.etl_transform, etl.TransformParams, etl.transform),
        _job(TaskName.system_cleanup, system.CleanupParams, system.cleanup),
        _job(TaskName.system_noop, system.NoopParams, system.noop),
        _job(TaskName.system_sleep, system.SleepParams, system.sleep),
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
