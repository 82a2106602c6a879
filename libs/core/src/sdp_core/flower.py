"""The platform's Celery app for Flower: ``celery -A sdp_core.flower flower``.

Built from the environment (``REDIS_URL``…) at import, so that Flower reads the broker
transport options and queues the services use. Started with ``--broker`` alone, Flower inspects
and controls the workers just as well, but counts queue lengths under kombu's four default
priority steps (0, 3, 6, 9) and misses what waits at the others: the platform sends at
priority 5 by default.
"""

from __future__ import annotations

from sdp_core.celery_config import make_celery
from sdp_core.settings import CommonSettings, load_settings

__all__ = ["app"]

app = make_celery("sdp_flower", load_settings(CommonSettings))
