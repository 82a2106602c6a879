"""The Celery app bench/monitor.py starts Flower with: the platform's shared configuration.

``celery -A flower_app flower`` (env ``REDIS_URL``, this directory on ``PYTHONPATH``), so that
Flower reads the broker transport options the services use: with ``--broker`` alone it would
count queue lengths under kombu's default priority keys and separator and miss every message
(the platform sends at priority 5, to ``<queue>:5``).
"""

from __future__ import annotations

from sdp_core.celery_config import make_celery
from sdp_core.settings import CommonSettings, load_settings

__all__ = ["app"]

app = make_celery("bench_flower", load_settings(CommonSettings))
