"""The Lua scripts and the Python side of the history share one record definition (record.py)."""

from __future__ import annotations

import itertools
from dataclasses import fields

import orjson
import pytest
import redis

from sdp_core import keys
from sdp_monitor.history import record, scripts
from sdp_monitor.history.store import TaskFilter
from sdp_monitor.stream.routing import TASK_EVENTS

# Ranked states, and some that take OTHER_RANK (held by a worker, retried, rejected).
STATES = (*record.STATE_RANKS, "RECEIVED", "STARTED", "RETRY", "REJECTED")


def test_the_scripts_read_the_layout_and_ranks_of_record_py(redis_client: redis.Redis) -> None:
    reply = redis_client.eval(
        scripts.DEFINITIONS
        + "return cjson.encode({SCORE, STATE, INDEXED, AT, RANK, OTHER_RANK,"
        + " {rank('PENDING'), rank('STARTED'), rank('SUCCESS')}})",
        0,
    )
    score, state, indexed, at, ranks, other, ranked = orjson.loads(reply)
    assert (score, state) == (record.SCORE_FIELD, record.STATE_FIELD)
    assert tuple(indexed) == record.INDEXED_FIELDS
    assert indexed[0] == record.STATE_FIELD
    # AT places each indexed field but the state in the reply to HMGET SCORE, unpack(INDEXED).
    assert {name: indexed[n - 2] for name, n in at.items()} == {f: f for f in indexed[1:]}
    assert ranks == dict(record.STATE_RANKS)
    assert other == record.OTHER_RANK
    assert ranked == [record.state_rank(s) for s in ("PENDING", "STARTED", "SUCCESS")]
    for script in (scripts.RECORD, scripts.TRIM):
        assert script.startswith(scripts.DEFINITIONS)


def test_the_scripts_read_the_triage_layout_of_record_py(redis_client: redis.Redis) -> None:
    reply = redis_client.eval(
        scripts.DEFINITIONS
        + "return cjson.encode({GROUP, EXCEPTION_TYPE, ENDED, READ, ALSO, INDEXES, TRIAGE,"
        + " SEP, UNKNOWN_TYPE})",
        0,
    )
    group, kind, ended, read, also, indexes, triage, sep, unknown = orjson.loads(reply)
    assert (group, kind, ended) == (
        record.TRIAGE_FIELD,
        record.EXCEPTION_TYPE_FIELD,
        record.TRIAGE_TIME_FIELD,
    )
    assert {group, kind, ended} <= set(record.FIELDS)
    # What RECORD reads starts as AT expects, then has the triage fields where ALSO says.
    assert read[: len(record.INDEXED_FIELDS) + 1] == [record.SCORE_FIELD, *record.INDEXED_FIELDS]
    assert {name: read[n - 1] for name, n in also.items()} == {f: f for f in (group, kind, ended)}
    assert indexes == [*record.INDEXED_FIELDS, record.TRIAGE_FIELD]
    assert triage == dict(record.TRIAGE_STATES)
    assert (sep, unknown) == (record.TRIAGE_SEP, record.UNKNOWN_EXCEPTION_TYPE)


def test_every_field_the_events_write_is_a_record_field() -> None:
    written = {field for spec in TASK_EVENTS.values() for _, field, _ in spec.picks}
    written |= {spec.time_field for spec in TASK_EVENTS.values() if spec.time_field}
    assert written <= set(record.FIELDS)
    assert set(record.SUMMARY_FIELDS) <= set(record.FIELDS)
    assert record.SCORE_FIELD not in record.FIELDS


def test_a_filter_has_one_attribute_per_indexed_field() -> None:
    assert set(record.INDEXED_FIELDS) <= {f.name for f in fields(TaskFilter)}
    every = TaskFilter(**{f: f"{f}-value" for f in record.INDEXED_FIELDS})  # type: ignore[arg-type]
    assert every.indexes() == [keys.monitor_index(f, f"{f}-value") for f in record.INDEXED_FIELDS]


@pytest.mark.parametrize(("first", "then"), list(itertools.product(STATES, repeat=2)))
def test_the_record_script_ranks_states_as_replaces_does(
    redis_client: redis.Redis, first: str, then: str
) -> None:
    record_script = redis_client.register_script(scripts.RECORD)
    for state in (first, then):
        record_script(
            keys=[keys.MONITOR_TASKS], args=scripts.record_args([("t1", 100_000, state, {})])
        )
    kept = then if record.replaces(then, first) else first
    assert redis_client.hget(keys.monitor_task("t1"), record.STATE_FIELD) == kept.encode()
    assert redis_client.zrange(keys.monitor_index(record.STATE_FIELD, kept), 0, -1) == [b"t1"]
    if kept != first:
        assert not redis_client.exists(keys.monitor_index(record.STATE_FIELD, first))
