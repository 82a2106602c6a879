from __future__ import annotations

import pytest

from sdp_core.queues import Queue
from sdp_core.settings import load_settings
from sdp_worker.settings import WorkerSettings


def test_queues_from_a_comma_separated_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDP_WORKER_QUEUES", "etl, system")
    assert WorkerSettings().queues == [Queue.etl, Queue.system]


def test_bad_values_fail_fast_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDP_WORKER_QUEUES", "etl,billing")
    monkeypatch.setenv("SDP_WORKER_CONCURRENCY", "0")
    with pytest.raises(SystemExit) as exit_info:
        load_settings(WorkerSettings)
    message = str(exit_info.value)
    assert "SDP_WORKER_QUEUES.1" in message
    assert "SDP_WORKER_CONCURRENCY" in message


def test_unknown_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="Extra inputs"):
        WorkerSettings(concurency=4)  # type: ignore[call-arg]
