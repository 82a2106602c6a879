"""Run a worker on every configured queue, sending events: `python -m sdp_worker`."""

from __future__ import annotations

from sdp_core.settings import load_settings
from sdp_core.upgrade import upgrade_at_start
from sdp_worker.app import create_app
from sdp_worker.settings import WorkerSettings


def main() -> None:
    settings = load_settings(WorkerSettings)
    upgrade_at_start(settings)
    create_app(settings).worker_main(
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
