"""Run celery beat with the Redis scheduler: `python -m sdp_beat`.

The same as ``celery -A <app> beat --scheduler sdp_beat.scheduler:RedisBeatScheduler``.
"""

from __future__ import annotations

from sdp_beat.app import SCHEDULER, create_app
from sdp_beat.settings import BeatSettings
from sdp_core.settings import load_settings
from sdp_core.upgrade import upgrade_at_start


def main() -> None:
    settings = load_settings(BeatSettings)
    upgrade_at_start(settings)
    app = create_app(settings)
    app.Beat(scheduler=SCHEDULER, loglevel=settings.log_level).run()


if __name__ == "__main__":
    main()
