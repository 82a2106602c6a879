"""The API app on the test's real Redis, and bearer headers by role."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from sdp_api.app import create_app
from sdp_api.settings import ApiSettings

Token = Callable[[str], str]


@pytest.fixture
def client(redis_url: str, jwt_secret: str) -> Iterator[TestClient]:
    settings = ApiSettings(environment="test", jwt_secret=jwt_secret, redis_url=redis_url)
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def operator(token: Token) -> dict[str, str]:
    return {"Authorization": f"Bearer {token('operator')}"}


@pytest.fixture
def viewer(token: Token) -> dict[str, str]:
    return {"Authorization": f"Bearer {token('viewer')}"}
