"""Development secrets and environment for `make run` and `make token`, kept under .run/."""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

__all__ = ["dev_environment", "run_dir"]

ROOT = Path(__file__).resolve().parent.parent


def run_dir() -> Path:
    path = Path(os.environ.get("SDP_RUN_DIR", ROOT / ".run"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _secret(name: str, make: str) -> str:
    """A value generated on first use and kept, readable by the owner only."""
    path = run_dir() / name
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(make)
    return path.read_text().strip()


def dev_environment() -> dict[str, str]:
    """The variables every local process gets; anything already set in the shell wins."""
    env = {
        "SDP_ENVIRONMENT": "development",
        "SDP_JWT_SECRET": _secret("jwt_secret", secrets.token_urlsafe(48)),
        "FLOWER_BASIC_AUTH": _secret("flower_auth", f"sdp:{secrets.token_urlsafe(18)}"),
    }
    env.update({k: v for k, v in os.environ.items() if k in env})
    return env


if __name__ == "__main__":
    # `eval $(python scripts/devenv.py)` exports the development secrets into a shell.
    for key, value in dev_environment().items():
        sys.stdout.write(f"export {key}={value}\n")
