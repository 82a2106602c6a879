"""Control calls to named workers: a reply limit, a bounded wait, and 504 naming the silent."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import anyio
import anyio.to_thread
from celery import Celery

from sdp_http.errors import GatewayTimeout, NotFound, ServiceUnavailable
from sdp_monitor.stream.live import LiveState

__all__ = ["Control", "Replies", "broadcast", "read_reply"]

Replies = dict[str, Any]

# Between the questions of `Control.poll`.
POLL_S = 0.1


def broadcast(
    app: Celery, command: str, workers: Sequence[str], timeout_s: float, **arguments: Any
) -> Replies:
    """Send a control command to these workers; their replies by name.

    With the reply limit set to the number addressed, the call returns as soon as every one
    has answered, and waits out `timeout_s` only for a worker that does not.
    """
    replies = app.control.broadcast(
        command,
        arguments=arguments,
        destination=list(workers),
        reply=True,
        limit=len(workers),
        timeout=timeout_s,
    )
    return {name: reply for answer in replies or [] for name, reply in answer.items()}


def read_reply(reply: Any) -> tuple[bool, str]:
    """Whether a worker's reply to a control command says it did it, and what it said."""
    if isinstance(reply, dict) and "error" in reply:
        return False, str(reply["error"])
    message = reply.get("ok", reply) if isinstance(reply, dict) else reply
    return True, str(message)


class Control:
    def __init__(self, app: Celery, live: LiveState, timeout_s: float) -> None:
        self.app = app
        self.live = live
        self.timeout_s = timeout_s
        # Pool resizes run one at a time (sdp_monitor.cluster.pools).
        self.resizing = asyncio.Lock()

    def targets(self, names: Sequence[str] | None) -> list[str]:
        """The named workers, which must be known, or every online one."""
        if names:
            unknown = sorted({n for n in names if self.live.worker(n) is None})
            if unknown:
                raise NotFound(
                    f"no such worker: {', '.join(unknown)}",
                    [("workers", f"unknown worker {n}") for n in unknown],
                )
            return sorted(set(names))
        online = self.live.online()
        if not online:
            raise ServiceUnavailable("no worker is online")
        return online

    async def call(self, command: str, workers: Sequence[str], **arguments: Any) -> Replies:
        """Every addressed worker's reply, off the event loop; 504 naming any that is silent."""
        if not workers:
            # kombu sends a broadcast with no destination to every worker.
            return {}
        replies = await anyio.to_thread.run_sync(
            partial(broadcast, self.app, command, workers, self.timeout_s, **arguments)
        )
        silent = [name for name in workers if name not in replies]
        if silent:
            answered = sorted(replies)
            raise GatewayTimeout(
                f"no reply to {command} within {self.timeout_s:g} s from: {', '.join(silent)}"
                + (f" (answered: {', '.join(answered)})" if answered else ""),
                [("workers", f"{name} did not answer") for name in silent],
            )
        return replies

    async def poll(
        self, command: str, workers: Sequence[str], done: Callable[[Replies], bool], wait_s: float
    ) -> Replies:
        """Ask until the replies show `done`, or for `wait_s`; the last replies.

        A worker acts on some commands after it has answered them (a consumer is added at its
        next loop, a grown pool's processes start at its next maintenance).
        """
        deadline = time.monotonic() + wait_s
        while True:
            replies = await self.call(command, workers)
            if done(replies) or time.monotonic() >= deadline:
                return replies
            await anyio.sleep(POLL_S)

    async def cast(self, command: str, workers: Sequence[str], **arguments: Any) -> None:
        """Send a command that no worker answers (shutdown), after checking each one answers."""
        await self.call("ping", workers)
        await anyio.to_thread.run_sync(
            partial(
                self.app.control.broadcast,
                command,
                arguments=arguments,
                destination=list(workers),
            )
        )
