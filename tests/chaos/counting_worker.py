"""The platform's worker with one more task, `chaos.count`, whose runs can be counted.

Only the fault suite's workers register it (`python tests/chaos/counting_worker.py`); the
product catalogue does not know it. Unlike every catalogue job, it is not idempotent: each run
appends to a ledger file, a line when it starts and one when it ends, so a run twice shows.
"""

from __future__ import annotations

import os
import time
from typing import Any

from celery import Celery, Task

from sdp_core.queues import Queue
from sdp_worker.__main__ import main
from sdp_worker.app import create_app
from sdp_worker.settings import WorkerSettings

TASK = "chaos.count"


def append(ledger: str, line: str) -> None:
    # One write(2) to an O_APPEND file: lines from concurrent processes never interleave.
    fd = os.open(ledger, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def with_counting_task(settings: WorkerSettings) -> Celery:
    app = create_app(settings)
    # The catalogue's request class, so the stored revocations are honoured as for any job.
    request = app.tasks["system.noop"].Request

    @app.task(name=TASK, bind=True, shared=False, queue=Queue.system.value, Request=request)
    def count(self: Task[Any, Any], ledger: str, seconds: float) -> int:
        append(ledger, f"start {self.request.id} {os.getpid()} {time.time()}\n")
        time.sleep(seconds)
        append(ledger, f"end {self.request.id} {os.getpid()} {time.time()}\n")
        return os.getpid()

    return app


if __name__ == "__main__":
    main(with_counting_task)
