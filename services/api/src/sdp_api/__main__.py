"""Run the API service: `python -m sdp_api`."""

from __future__ import annotations

import uvicorn

from sdp_api.app import create_app
from sdp_api.settings import ApiSettings
from sdp_core.settings import load_settings
from sdp_core.upgrade import upgrade_at_start


def main() -> None:
    settings = load_settings(ApiSettings)
    upgrade_at_start(settings)
    uvicorn.run(
        create_app(settings), host=settings.host, port=settings.port, log_level=settings.log_level
    )


if __name__ == "__main__":
    main()
