"""Print the URLs and one ready line once every service is ready.

Ready means: Caddy serves the web console's index, the api's and monitor's /readyz answer
200, a worker answers a ping, beat has a heartbeat and Flower answers. If that takes longer
than SDP_READY_TIMEOUT_S, it names the services that are not ready and exits 1; supervisord
starts it once and stops nothing.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable

from devenv import run_dir

TIMEOUT_S = float(os.environ.get("SDP_READY_TIMEOUT_S", "120"))


def http_ok(url: str, basic_auth: str | None = None) -> bool:
    request = urllib.request.Request(url)  # noqa: S310 - our own URL
    if basic_auth:
        token = base64.b64encode(basic_auth.encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=2) as response:  # noqa: S310
            return bool(response.status == 200)
    except OSError:  # HTTPError included: only a 200 means ready
        return False


def command_ok(module: str) -> bool:
    try:
        done = subprocess.run(
            [sys.executable, "-m", module], capture_output=True, timeout=30, check=False
        )
    except subprocess.TimeoutExpired:  # a loaded machine: not ready yet, ask again
        return False
    return done.returncode == 0


def flower_login() -> str:
    """Where Flower's password is: the ready line is logged, so it never holds the password."""
    given = os.environ.get("FLOWER_BASIC_AUTH", "")
    kept = run_dir() / "flower_auth"
    where = kept if kept.is_file() and kept.read_text().strip() == given else "FLOWER_BASIC_AUTH"
    return f"user {given.partition(':')[0]}, password in {where}"


def main() -> int:
    web, api, monitor, flower = sys.argv[1:5]
    started = time.monotonic()
    checks: dict[str, Callable[[], bool]] = {
        "web": lambda: http_ok(web),
        "api": lambda: http_ok(f"{api}/readyz"),
        "monitor": lambda: http_ok(f"{monitor}/readyz"),
        "worker": lambda: command_ok("sdp_worker.health"),
        "beat": lambda: command_ok("sdp_beat.health"),
        "flower": lambda: http_ok(flower, os.environ.get("FLOWER_BASIC_AUTH")),
    }
    while checks:
        checks = {name: check for name, check in checks.items() if not check()}
        if time.monotonic() - started > TIMEOUT_S:
            print(
                f"SDP platform NOT ready after {TIMEOUT_S:.0f} s: {', '.join(checks)} not ready "
                "(their lines above say why; SDP_READY_TIMEOUT_S waits longer)",
                flush=True,
            )
            return 1
        if checks:
            time.sleep(0.5)
    print(
        "\n".join(
            [
                f"  web      {web}",
                f"  api      {api}/docs",
                f"  monitor  {monitor}/docs",
                f"  flower   {flower}  ({flower_login()})",
                "  token    make token ROLE=admin   (viewer | operator | admin)",
                f"SDP platform ready in {time.monotonic() - started:.1f} s: open {web}",
            ]
        ),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
