"""Run a worker on every configured queue, sending events: `python -m sdp_worker`."""

from __future__ import annotations

from collections.abc import Callable

from celery import Celery

from sdp_core.settings import load_settings
from sdp_core.upgrade import upgrade_at_start
from sdp_worker.app import create_app
from sdp_worker.settings import WorkerSettings


def main(build: Callable[[WorkerSettings], Celery] = create_app) -> None:
    """Start the worker on the app `build` makes; the fault suite's worker adds a test task."""
    settings = load_settings(WorkerSettings)
    upgrade_at_start(settings)
    build(settings).worker_main(
        [
            "worker",
            "--events",
            f"--queues={','.join(settings.queues)}",
            f"--concurrency={settings.concurrency}",
            f"--pool={settings.pool}",
            f"--hostname={settings.hostname}",
            f"--loglevel={settings.log_level}",
        ]
    )


if __name__ == "__main__":
    main()
