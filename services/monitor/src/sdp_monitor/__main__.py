"""Run the monitor service: `python -m sdp_monitor`."""

from __future__ import annotations

import gc

import uvicorn

from sdp_core.settings import load_settings
from sdp_core.upgrade import upgrade_at_start
from sdp_monitor.app import create_app
from sdp_monitor.niceness import lower_priority
from sdp_monitor.settings import MonitorSettings


def main() -> None:
    settings = load_settings(MonitorSettings)
    upgrade_at_start(settings)
    lower_priority(settings.nice)
    app = create_app(settings)
    # What the imports made lives as long as the process: frozen, it is left out of every
    # collection, which the event thread's allocations otherwise trigger over the whole heap.
    gc.collect()
    gc.freeze()
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=settings.log_level)


if __name__ == "__main__":
    main()
