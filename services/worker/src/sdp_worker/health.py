"""Exit 0 when this host's worker answers a ping, 1 otherwise: `python -m sdp_worker.health`."""

from __future__ import annotations

import sys

from celery.utils.nodenames import host_format
from kombu.exceptions import OperationalError

from sdp_core.celery_config import make_celery
from sdp_core.settings import load_settings
from sdp_worker.settings import WorkerSettings


def worker_answers(settings: WorkerSettings) -> bool:
    app = make_celery("sdp_worker_health", settings)
    node = host_format(settings.hostname)
    try:
        replies = app.control.ping(destination=[node], timeout=settings.health_timeout_s, limit=1)
    except (OSError, OperationalError):
        return False
    finally:
        app.close()
    return any(node in reply for reply in replies or [])


def main() -> int:
    settings = load_settings(WorkerSettings)
    healthy = worker_answers(settings)
    print(f"worker {host_format(settings.hostname)}: {'ok' if healthy else 'not answering'}")
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
