"""Run celery beat with the platform's scheduler: `python -m sdp_beat`."""

from __future__ import annotations

from sdp_beat.app import create_app
from sdp_beat.settings import BeatSettings
from sdp_core.settings import load_settings


def main() -> None:
    settings = load_settings(BeatSettings)
    app = create_app(settings)
    app.Beat(
        scheduler="sdp_beat.scheduler:HeartbeatScheduler",
        schedule=str(settings.schedule_file),
        loglevel=settings.log_level,
        max_interval=settings.max_interval_s,
    ).run()


if __name__ == "__main__":
    main()
