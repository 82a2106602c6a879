"""Capped backoff: doubling from the start to the cap, and back to the start after a success."""

from __future__ import annotations

from sdp_core.backoff import Backoff


def test_waits_double_up_to_the_cap_and_start_again_after_a_reset() -> None:
    backoff = Backoff(0.1, 1.0)
    assert [backoff.next() for _ in range(6)] == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    backoff.reset()
    assert backoff.next() == 0.1


def test_a_cap_below_the_start_is_every_wait() -> None:
    backoff = Backoff(0.5, 0.2)
    assert [backoff.next() for _ in range(3)] == [0.2, 0.2, 0.2]
