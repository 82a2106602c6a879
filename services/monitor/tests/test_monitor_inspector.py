"""A worker's inspect answers become its facts only when it answered every question."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from sdp_monitor.cluster.inspector import COMMANDS, facts_from

NAME = "w1@h"


def answers() -> dict[str, Any]:
    """Answers shaped as a Celery 5 worker gives them."""
    request = {
        "id": "t-1",
        "name": "system.sleep",
        "delivery_info": {"exchange": "", "routing_key": "system"},
    }
    return {
        "stats": {
            "pid": 4242,
            "pool": {"implementation": "celery.concurrency.prefork:TaskPool", "max-concurrency": 2},
        },
        "active_queues": [{"name": "system"}, {"name": "collect"}],
        "active": [request],
        "reserved": [{**request, "id": "t-2"}],
        "scheduled": [
            {"eta": "2999-01-01T00:00:00+00:00", "priority": 6, "request": {**request, "id": "t-3"}}
        ],
    }


def test_full_answers_make_the_facts() -> None:
    facts = facts_from(NAME, answers())
    assert facts is not None
    assert (facts.pool, facts.concurrency, facts.pid) == ("prefork", 2, 4242)
    assert facts.queues == ("system", "collect")
    assert [(t.id, t.state, t.queue, t.worker) for t in facts.tasks] == [
        ("t-1", "STARTED", "system", NAME),
        ("t-2", "RECEIVED", "system", NAME),
        ("t-3", "RECEIVED", "system", NAME),
    ]
    assert facts.tasks[2].eta == datetime(2999, 1, 1, tzinfo=UTC).timestamp()


def test_concurrency_is_the_pool_as_it_is_not_as_it_started() -> None:
    # A prefork pool grown from 2 to 3 still reports the 2 it started with as max-concurrency.
    grown = answers()
    grown["stats"]["pool"]["processes"] = [101, 102, 103]
    facts = facts_from(NAME, grown)
    assert facts is not None
    assert facts.concurrency == 3
    threads = answers()
    threads["stats"]["pool"] = {
        "implementation": "celery.concurrency.thread:TaskPool",
        "max-concurrency": 4,
        "threads": 1,
    }
    facts = facts_from(NAME, threads)
    assert facts is not None
    assert (facts.pool, facts.concurrency) == ("thread", 4)


def test_a_worker_holding_nothing_answers_empty_lists() -> None:
    idle = {**answers(), "active": [], "reserved": [], "scheduled": []}
    facts = facts_from(NAME, idle)
    assert facts is not None
    assert facts.tasks == ()


@pytest.mark.parametrize("missing", COMMANDS)
def test_an_unanswered_question_leaves_the_worker_undescribed(missing: str) -> None:
    # Taken as they came, its queues or its tasks would read as none until it restarted.
    partial = {**answers(), missing: None}
    assert facts_from(NAME, partial) is None
