"""Keep the messages a live worker holds from being handed out again: they run once.

Why
===
With `acks_late`, kombu's Redis transport keeps each delivered message in its unacked hash,
and its delivery time in the unacked index (a ZSET, delivery tag -> epoch s), until the worker
acknowledges it. Any kombu consumer's `QoS.restore_visible` puts back in its queue every
message delivered longer than `visibility_timeout` ago, whether or not a live worker still
holds it. So a task that waits for its countdown (ETA), runs, or waits in the worker's reserved
buffer for longer than that ran once per timeout: Celery's ETA-on-Redis caveat. With a 30 s
timeout, a countdown of 75 s was received and run three times.

What this does
==============
A consumer bootstep, started and stopped with the consumer (so a reconnect restarts it on the
new channel), runs a daemon thread that every `visibility_timeout / 4` (at least
`MIN_INTERVAL_S`) sets the index score of every delivery tag the worker still holds to now,
in one `ZADD XX`: a tag acknowledged or already put back meanwhile is not in the index any
more, and XX never adds it again. The thread is its own, not the worker's event loop, so a long
task under `--pool solo` or `threads`, which blocks that loop, is kept alive too.

A worker that dies stops refreshing, and its messages come back after the visibility timeout
as before: `SDP_VISIBILITY_TIMEOUT_S` is how long a dead worker's messages wait, no longer a
limit on countdowns or run times.

What it relies on
=================
kombu 5.7's Redis transport: the index's name (`unacked_index_key` and `global_keyprefix`,
as `sdp_core.keys.kombu_unacked_index` resolves them) and its scores compared with
`time() - visibility_timeout`; and the private state of kombu's virtual `QoS`: `_delivered`
(delivery tag -> message, changed by the consumer's thread only) minus `_dirty` (tags acked by
any thread, not yet dropped from `_delivered`). `require_supported_kombu` refuses another
kombu minor version at app creation, and the step refuses to start when that state is not
there, so a kombu upgrade fails loudly instead of bringing the duplicates back;
services/worker/tests/test_worker_keepalive.py fails too.

Cost and limits
===============
One ZADD of the held tags (a handful: prefetch is one per process plus the ETA tasks) per
`visibility_timeout / 4`, 900 s by default, on a connection of kombu's own pool. A refresh
later than three quarters of the timeout (Redis unreachable that long) lets the message be put
back as before. A broker reconnect closes the old channel, and kombu puts back what it held
at once, as it always did. A worker process that lives on while its consumer hangs keeps its
messages until it is killed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from importlib.metadata import version
from typing import Any

import redis
from celery import Celery, bootsteps
from celery.exceptions import ImproperlyConfigured
from kombu.exceptions import VersionMismatch
from kombu.transport import redis as kombu_redis
from kombu.transport.virtual.base import QoS

from sdp_core import keys
from sdp_worker.outage import Outage

__all__ = [
    "KeepHeldMessages",
    "MessageKeeper",
    "held_tags",
    "install",
    "require_supported_kombu",
]

log = logging.getLogger(__name__)

SUPPORTED_KOMBU = (5, 7)
MIN_INTERVAL_S = 0.5
# A stop waits this long for a refresh under way (a Redis that stopped answering) to end.
STOP_WAIT_S = 5
# The copy of the held tags is retried if another thread changed them while it ran.
COPY_ATTEMPTS = 5


def require_supported_kombu(installed: str | None = None) -> None:
    """Refuse a kombu whose private QoS state this module has not been checked against."""
    found = installed or version("kombu")
    if tuple(int(part) for part in found.split(".")[:2]) != SUPPORTED_KOMBU:
        raise VersionMismatch(
            f"sdp_worker.keepalive relies on kombu {'.'.join(map(str, SUPPORTED_KOMBU))}'s "
            f"Redis QoS internals; kombu {found} is installed: check it and update the module"
        )


def held_tags(qos: QoS) -> list[str]:
    """The delivery tags the channel holds and has not acknowledged, copied from any thread."""
    for _ in range(COPY_ATTEMPTS):
        try:
            # Each copy runs in C under the GIL; a change between them raises, and is retried.
            acked = set(qos._dirty or ())
            return [tag for tag in tuple(qos._delivered or ()) if tag not in acked]
        except RuntimeError:
            continue
    log.warning("the held messages kept changing; refreshing them at the next round")
    return []


class MessageKeeper:
    """The thread that refreshes the held tags' delivery times in kombu's unacked index."""

    def __init__(self, qos: QoS, client: redis.Redis, index_key: str, interval_s: float) -> None:
        self.qos = qos
        self.client = client
        self.index_key = index_key
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sdp-keepalive", daemon=True)
        self.outage = Outage(log, "keeping the held messages alive")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(STOP_WAIT_S)

    def refresh(self) -> int:
        """Mark every held message as delivered now; the number of index entries refreshed."""
        tags = held_tags(self.qos)
        if not tags:
            return 0
        refreshed = self.client.zadd(
            self.index_key, dict.fromkeys(tags, time.time()), xx=True, ch=True
        )
        return int(refreshed or 0)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.refresh()
            except redis.RedisError as exc:
                self.outage.failed(exc)
            else:
                self.outage.ok()


def _index_key(channel: kombu_redis.Channel, options: Mapping[str, Any]) -> str:
    """The unacked index as keys.py names it, checked against the name kombu resolved."""
    name = keys.kombu_unacked_index(options)
    resolved = f"{channel.global_keyprefix}{channel.unacked_index_key}"
    if name != resolved:
        raise VersionMismatch(
            f"kombu's unacked index is {resolved!r}, not {name!r} as keys.py has it"
        )
    return name


class KeepHeldMessages(bootsteps.StartStopStep):
    """Consumer bootstep: a `MessageKeeper` on the task consumer's channel, per connection."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self.keeper: MessageKeeper | None = None

    def start(self, parent: Any) -> None:
        channel = parent.task_consumer.channel
        if not isinstance(channel, kombu_redis.Channel):
            raise ImproperlyConfigured(
                f"the broker's channel is {type(channel).__name__}, not Redis"
            )
        qos = channel.qos
        if not isinstance(getattr(qos, "_delivered", None), dict) or not isinstance(
            getattr(qos, "_dirty", None), set
        ):
            raise VersionMismatch("kombu's QoS no longer keeps _delivered and _dirty")
        options: Mapping[str, Any] = parent.app.conf.broker_transport_options or {}
        timeout_s = float(channel.visibility_timeout)
        self.keeper = MessageKeeper(
            qos,
            redis.Redis(connection_pool=channel.pool),
            _index_key(channel, options),
            max(MIN_INTERVAL_S, timeout_s / 4),
        )
        self.keeper.start()

    def stop(self, parent: Any) -> None:
        if self.keeper is not None:
            self.keeper.stop()
            self.keeper = None

    shutdown = stop


def install(app: Celery) -> None:
    require_supported_kombu()
    app.steps["consumer"].add(KeepHeldMessages)
