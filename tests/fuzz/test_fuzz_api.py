"""Schemathesis over the api's OpenAPI document, against the api on a real server and Redis.

Every operation gets valid and invalid cases from one fixed seed; an admin sends them all. No
answer may be a 5xx, an undocumented status or a body its schema does not describe.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from sdp_api.app import create_app
from sdp_api.settings import ApiSettings
from sdp_testing.serving import serve

from .support import CHECKS, admin, bounded, document, run_stateful

pytestmark = pytest.mark.slow

# Development settings need no secret; the document does not depend on them.
schema = document(create_app(ApiSettings(environment="development")))


@pytest.fixture(scope="module")
def flush(redis_server_url: str) -> Iterator[Callable[[], object]]:
    """Empties the session's Redis: every schedule, task record and queued message."""
    client = redis.Redis.from_url(redis_server_url)
    yield client.flushall
    client.close()


@pytest.fixture(scope="module")
def api(redis_server_url: str, jwt_secret: str, flush: Callable[[], object]) -> Iterator[str]:
    flush()
    settings = ApiSettings(environment="test", jwt_secret=jwt_secret, redis_url=redis_server_url)
    with serve(create_app(settings), "api-under-fuzz") as url:
        yield url


@pytest.fixture(scope="module")
def headers(jwt_secret: str) -> dict[str, str]:
    return admin(jwt_secret)


@schema.parametrize()
@bounded()
def test_every_operation_answers_bad_input_as_documented(
    case: Any, api: str, headers: dict[str, str]
) -> None:
    case.call_and_validate(base_url=api, headers=headers, checks=CHECKS)


def test_linked_calls_answer_as_documented(
    api: str, headers: dict[str, str], flush: Callable[[], object]
) -> None:
    """Created schedules read, changed, paused, run and deleted by the links of their 201."""
    run_stateful(schema, api, headers, flush)
