"""Coalesced reads: shared by concurrent callers, never older than the caller."""

from __future__ import annotations

import asyncio

import pytest

from sdp_monitor.cluster.coalesce import Coalesced


class Reads:
    """A read that returns its own number, started at the time it began."""

    def __init__(self) -> None:
        self.started = 0
        self.release = asyncio.Event()
        self.fail_next = False

    async def __call__(self) -> int:
        self.started += 1
        number = self.started
        await self.release.wait()
        if self.fail_next:
            self.fail_next = False
            raise ConnectionError(f"read {number} failed")
        return number


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def in_flight(
    shared: Coalesced[int], waiting: int
) -> tuple[asyncio.Task[int], list[asyncio.Task[int]]]:
    """A caller whose read is running, then `waiting` callers who arrive while it runs."""
    first = asyncio.ensure_future(shared())
    await settle()
    later = [asyncio.ensure_future(shared()) for _ in range(waiting)]
    await settle()
    return first, later


def test_callers_during_a_read_share_the_next_one() -> None:
    async def scenario() -> None:
        reads = Reads()
        shared = Coalesced(reads)
        first, later = await in_flight(shared, 5)
        assert reads.started == 1
        reads.release.set()
        assert await first == 1
        # Every later caller arrived while read 1 ran, so gets read 2, begun after it asked.
        assert await asyncio.gather(*later) == [2] * 5
        assert reads.started == 2
        assert await shared() == 3

    asyncio.run(scenario())


def test_a_failed_read_fails_its_callers_only() -> None:
    async def scenario() -> None:
        reads = Reads()
        shared = Coalesced(reads)
        first, later = await in_flight(shared, 3)
        reads.fail_next = True
        reads.release.set()
        with pytest.raises(ConnectionError, match="read 1"):
            await first
        assert await asyncio.gather(*later) == [2] * 3
        reads.fail_next = True
        with pytest.raises(ConnectionError, match="read 3"):
            await shared()
        assert await shared() == 4

    asyncio.run(scenario())


def test_a_caller_that_gives_up_leaves_the_others_their_answer() -> None:
    async def scenario() -> None:
        reads = Reads()
        shared = Coalesced(reads)
        first, (impatient, patient) = await in_flight(shared, 2)
        impatient.cancel()
        reads.release.set()
        assert await first == 1
        assert await patient == 2
        assert impatient.cancelled()

    asyncio.run(scenario())
