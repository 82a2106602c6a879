"""Beat's message templates next to building each message through Celery and kombu.

A focused micro-benchmark, not part of ``make bench``: ``python bench/messages.py``.  It starts
its own ``redis-server`` (Celery's producer needs a broker connection, though nothing is sent)
and times, per send, for a tick's batch of sends of one schedule:

- templated: ``MessageEncoder.encode`` once the schedule's template is built, as beat fires;
- built: the same commands captured from a full Celery send (``app.send_task``, which builds
  the message with ``app.amqp.as_task_v2`` and has kombu encode and route it), what beat would
  do for every send without the templates.

Prints the medians of ``--rounds`` rounds of ``--batch`` sends.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from collections.abc import Callable
from importlib import metadata
from typing import Any, cast

from benchlib import log, options, redis_server

from sdp_beat.app import create_app
from sdp_beat.messages import MessageEncoder
from sdp_beat.settings import BeatSettings
from sdp_schedules.model import ScheduleSpec
from sdp_schedules.records import Schedule, ScheduleState
from sdp_schedules.sending import send_options


def _schedule() -> Schedule:
    spec = ScheduleSpec.model_validate(
        {
            "name": "bench",
            "task": "system.noop",
            "priority": 2,
            "trigger": {"type": "interval", "every": 1},
        }
    )
    now_ms = int(time.time() * 1000)
    return Schedule(str(uuid.uuid4()), spec, ScheduleState.active, 1, now_ms, now_ms)


def _per_send_us(run: Callable[[], object], batch: int, rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) / batch * 1e6)
    return statistics.median(samples)


def _more(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--batch", type=int, default=200, help="sends per round")
    parser.add_argument("--rounds", type=int, default=50)


def main() -> None:
    args = options(__doc__, _more)
    batch, rounds = (20, 5) if args.quick else (args.batch, args.rounds)
    with redis_server() as url:
        app = create_app(BeatSettings(redis_url=url))
        connection = app.connection_for_write()
        producer = app.amqp.Producer(connection, auto_declare=False)

        def send(schedule: Schedule, task_id: str, slot_ms: int) -> None:
            # As RedisBeatScheduler._send.
            sent = send_options(schedule, slot_ms)
            sent["headers"]["celery_beat_task"] = True
            app.send_task(schedule.spec.task.value, task_id=task_id, producer=producer, **sent)

        encoder = MessageEncoder(lambda: producer, send, cast(Any, app).clock.forward)
        schedule = _schedule()
        sends = [(schedule, str(uuid.uuid4()), 1_790_000_000_000 + n) for n in range(batch)]
        encoder.encode(sends[:1])  # builds the template

        def built() -> None:
            for item in sends:
                encoder._capture(*item)

        templated_us = _per_send_us(lambda: encoder.encode(sends), batch, rounds)
        built_us = _per_send_us(built, batch, rounds)
        connection.release()
    log(f"{rounds} rounds of {batch} sends")
    versions = ", ".join(f"{p} {metadata.version(p)}" for p in ("celery", "kombu"))
    print(f"Per send, median ({versions}):")
    print(f"- templated: {templated_us:.1f} µs")
    print(f"- built by Celery and kombu: {built_us:.1f} µs ({built_us / templated_us:.0f}x)")
    print(f"- a tick of {batch} sends: {templated_us * batch / 1000:.1f} ms templated, ", end="")
    print(f"{built_us * batch / 1000:.1f} ms built")


if __name__ == "__main__":
    main()
