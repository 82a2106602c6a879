"""Run the monitor service: `python -m sdp_monitor`."""

from __future__ import annotations

import uvicorn

from sdp_core.settings import load_settings
from sdp_monitor.app import create_app
from sdp_monitor.settings import MonitorSettings


def main() -> None:
    settings = load_settings(MonitorSettings)
    uvicorn.run(
        create_app(settings), host=settings.host, port=settings.port, log_level=settings.log_level
    )


if __name__ == "__main__":
    main()
