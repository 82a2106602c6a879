"""Pytest fixtures shared by every suite: a real Redis per session, flushed per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import redis

from sdp_core.auth import Role, generate_secret, issue_token
from sdp_testing.redis_server import run_redis

__all__ = ["jwt_secret", "redis_client", "redis_server_url", "redis_url", "token"]


@pytest.fixture(scope="session")
def redis_server_url() -> Iterator[str]:
    with run_redis() as url:
        yield url


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
def token(jwt_secret: str) -> Callable[[str], str]:
    """Mint a token for a role name: `token("admin")`."""

    def make(role: str) -> str:
        return issue_token(jwt_secret, f"test-{role}", Role.parse(role))

    return make
