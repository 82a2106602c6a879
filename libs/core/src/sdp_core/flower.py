"""The platform's Celery app for Flower: ``celery -A sdp_core.flower flower``.

Built from the environment (``REDIS_URL``…) at import, so that Flower reads the broker
transport options and queues the services use. Started with ``--broker`` alone, Flower inspects
and controls the workers just as well, but counts queue lengths under kombu's four default
priority steps (0, 3, 6, 9) and misses what waits at the others: the platform sends at
priority 5 by default.

The import also refuses to start Flower without basic auth, or with a weak password, outside
development (sdp_core.flower_auth).
"""

from __future__ import annotations

import sys

from sdp_core.celery_config import make_celery
from sdp_core.flower_auth import FlowerSettings, command_line_auth
from sdp_core.settings import load_settings

__all__ = ["app"]

_given = command_line_auth(sys.argv)
_settings = load_settings(FlowerSettings, **({} if _given is None else {"basic_auth": _given}))
app = make_celery("sdp_flower", _settings)
