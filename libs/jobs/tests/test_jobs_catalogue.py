"""The catalogue: every job is routed and described, and arguments bind like a call."""

from __future__ import annotations

import pytest

from sdp_core.queues import TaskName, queue_for
from sdp_jobs.catalogue import CATALOGUE, get_job
from sdp_jobs.collect import CollectParams
from sdp_jobs.errors import JobArgumentError, UnknownJob


def test_every_task_name_has_a_described_job() -> None:
    assert set(CATALOGUE) == {name.value for name in TaskName}
    for name, job in CATALOGUE.items():
        assert job.queue == queue_for(name)
        assert job.description


def test_positional_arguments_bind_in_field_order() -> None:
    params = get_job("collect.http").validate(["http://example.com/a", "post"], {"attempts": 2})

    assert isinstance(params, CollectParams)
    assert (str(params.url), params.method, params.attempts) == ("http://example.com/a", "POST", 2)


def test_unknown_task() -> None:
    with pytest.raises(UnknownJob) as raised:
        get_job("collect.ftp")

    assert raised.value.fields == [("task", "unknown task 'collect.ftp'")]


def test_too_many_positional_arguments() -> None:
    with pytest.raises(JobArgumentError, match="at most 1 positional") as raised:
        get_job("system.sleep").validate([1, 2])

    assert raised.value.fields[0][0] == "args"


def test_argument_given_twice() -> None:
    with pytest.raises(JobArgumentError, match="'seconds' given twice") as raised:
        get_job("system.sleep").validate([1], {"seconds": 2})

    assert raised.value.fields == [("kwargs.seconds", "given twice")]


def test_missing_and_unexpected_arguments_are_named() -> None:
    with pytest.raises(JobArgumentError) as raised:
        get_job("system.sleep").validate(kwargs={"secs": 1})

    assert sorted(name for name, _ in raised.value.fields) == ["seconds", "secs"]


def test_a_request_names_a_job_s_own_arguments_under_kwargs() -> None:
    names = ["url", "headers.X-A", "kwargs", "kwargs.x", "args", "task"]
    error = JobArgumentError("bad", [(name, "why") for name in names])

    assert [name for name, _ in error.request_fields()] == [
        "kwargs.url",
        "kwargs.headers.X-A",
        "kwargs",
        "kwargs.x",
        "args",
        "task",
    ]
