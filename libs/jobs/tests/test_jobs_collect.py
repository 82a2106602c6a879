"""The HTTP collector against a local server and a real Redis."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from sdp_core import keys
from sdp_jobs.catalogue import get_job
from sdp_jobs.collect import BACKOFF_CAP_S, CollectParams, backoff_delay, collect_http
from sdp_jobs.context import JobContext
from sdp_jobs.errors import JobArgumentError, JobError, TransientJobError
from sdp_testing.redis_server import free_port


def params(url: str, **kwargs: Any) -> CollectParams:
    kwargs.setdefault("backoff_s", 0.001)
    kwargs.setdefault("timeout_s", 2)
    return CollectParams.model_validate({"url": url, **kwargs})


def hits(server: HTTPServer, path: str) -> int:
    # By path: the server may log a slow request of the previous test just after it ended.
    return sum(request.path == path for request, _ in server.log)


def test_success_stores_body_with_ttl(ctx: JobContext, httpserver: HTTPServer) -> None:
    body = b'[{"id": 1}, {"id": 2}]'
    httpserver.expect_request("/orders").respond_with_data(body, content_type="application/json")

    result = collect_http(ctx, params(httpserver.url_for("/orders")))

    assert result["status"] == 200
    assert result["bytes"] == len(body)
    assert result["sha256"] == hashlib.sha256(body).hexdigest()
    assert result["payload_key"] == keys.payload("task-1")
    assert result["content_type"] == "application/json"
    assert result["attempts"] == 1
    assert result["elapsed_ms"] >= 0
    stored = ctx.redis.hgetall(keys.payload("task-1"))
    assert stored[b"body"] == body
    assert stored[b"content_type"] == b"application/json"
    assert stored[b"status"] == b"200"
    assert stored[b"url"] == httpserver.url_for("/orders").encode()
    assert stored[b"fetched_at"]
    assert 0 < ctx.redis.ttl(keys.payload("task-1")) <= ctx.payload_ttl_s


def test_without_task_id_a_fresh_payload_id(ctx: JobContext, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/").respond_with_data("ok")
    anonymous = JobContext(ctx.redis, payload_ttl_s=60)

    first = collect_http(anonymous, params(httpserver.url_for("/")))
    second = collect_http(anonymous, params(httpserver.url_for("/")))

    assert first["payload_key"] != second["payload_key"]
    assert first["payload_key"].startswith(keys.PAYLOAD_PREFIX)


def test_sends_method_headers_and_json(ctx: JobContext, httpserver: HTTPServer) -> None:
    httpserver.expect_request(
        "/in", method="POST", headers={"X-Token": "abc"}, json={"a": [1, 2]}
    ).respond_with_data("created", status=201)

    result = collect_http(
        ctx,
        params(
            httpserver.url_for("/in"),
            method="post",
            headers={"X-Token": "abc"},
            json_body={"a": [1, 2]},
        ),
    )

    assert result["status"] == 201


def test_retries_a_5xx_then_succeeds(ctx: JobContext, httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request("/flaky").respond_with_data("down", status=503)
    httpserver.expect_request("/flaky").respond_with_data("up")

    result = collect_http(ctx, params(httpserver.url_for("/flaky"), attempts=3))

    assert result["attempts"] == 2
    assert ctx.redis.hget(keys.payload("task-1"), "body") == b"up"


def test_always_5xx_raises_transient_after_all_attempts(
    ctx: JobContext, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/down").respond_with_data("no", status=500)

    with pytest.raises(TransientJobError, match=r"500.*after 4 attempts"):
        collect_http(ctx, params(httpserver.url_for("/down"), attempts=4))

    assert hits(httpserver, "/down") == 4
    assert not ctx.redis.exists(keys.payload("task-1"))


def test_status_outside_retry_statuses_is_not_retried(
    ctx: JobContext, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/x").respond_with_data("no", status=500)

    with pytest.raises(JobError, match="500") as raised:
        collect_http(ctx, params(httpserver.url_for("/x"), retry_statuses=[503]))

    assert not isinstance(raised.value, TransientJobError)
    assert hits(httpserver, "/x") == 1


def test_connection_refused_is_transient(ctx: JobContext) -> None:
    url = f"http://127.0.0.1:{free_port()}/"

    with pytest.raises(TransientJobError, match=r"ConnectError.*after 2 attempts"):
        collect_http(ctx, params(url, attempts=2))


def test_read_timeout_is_transient(ctx: JobContext, httpserver: HTTPServer) -> None:
    answered = threading.Event()

    def slow(_request: Request) -> Response:
        time.sleep(0.2)
        answered.set()
        return Response("late")

    httpserver.expect_request("/slow").respond_with_handler(slow)

    with pytest.raises(TransientJobError, match="Timeout"):
        collect_http(ctx, params(httpserver.url_for("/slow"), attempts=1, timeout_s=0.05))

    # The server handles one request at a time; let it finish before the next test uses it.
    assert answered.wait(2)


def test_trickling_body_hits_the_overall_deadline(ctx: JobContext, httpserver: HTTPServer) -> None:
    def trickle() -> Iterator[bytes]:
        for _ in range(10):
            time.sleep(0.03)
            yield b"."

    httpserver.expect_request("/trickle").respond_with_response(Response(trickle()))

    with pytest.raises(TransientJobError, match=r"not received within 0\.1 s"):
        collect_http(ctx, params(httpserver.url_for("/trickle"), attempts=1, timeout_s=0.1))


def test_404_is_a_permanent_error(ctx: JobContext, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/missing").respond_with_data("nope", status=404)

    with pytest.raises(JobError, match="404") as raised:
        collect_http(ctx, params(httpserver.url_for("/missing") + "?api_key=secret"))

    assert not isinstance(raised.value, TransientJobError)
    assert "secret" not in str(raised.value)
    assert hits(httpserver, "/missing") == 1


def test_declared_body_over_max_bytes_is_refused(ctx: JobContext, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/big").respond_with_data(b"x" * 2000)

    with pytest.raises(JobError, match="max_bytes=1000") as raised:
        collect_http(ctx, params(httpserver.url_for("/big"), max_bytes=1000))

    assert not isinstance(raised.value, TransientJobError)
    assert not ctx.redis.exists(keys.payload("task-1"))


def test_streamed_body_over_max_bytes_stops_reading(
    ctx: JobContext, httpserver: HTTPServer
) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(1000):
            yield b"y" * 100

    # A generator body goes out chunked, with no Content-Length to refuse it up front.
    httpserver.expect_request("/stream").respond_with_response(Response(chunks()))

    with pytest.raises(JobError, match="max_bytes=1000"):
        collect_http(ctx, params(httpserver.url_for("/stream"), max_bytes=1000))

    assert not ctx.redis.exists(keys.payload("task-1"))


def test_body_at_max_bytes_is_kept(ctx: JobContext, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/exact").respond_with_data(b"z" * 1000)

    assert collect_http(ctx, params(httpserver.url_for("/exact"), max_bytes=1000))["bytes"] == 1000


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"url": "ftp://example.com/file"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"url": "http://example.com", "method": "FETCH"}, "method"),
        ({"url": "http://example.com", "timeout_s": 0}, "timeout_s"),
        ({"url": "http://example.com", "attempts": 11}, "attempts"),
        ({"url": "http://example.com", "max_bytes": 200 * 1024 * 1024}, "max_bytes"),
        ({"url": "http://example.com", "headers": {"X-A": "1\r\nX-B: 2"}}, "headers"),
        ({"url": "http://example.com", "retry_statuses": [700]}, "retry_statuses.0"),
        ({"url": "http://example.com", "verb": "GET"}, "verb"),
    ],
)
def test_bad_arguments_name_the_field(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(JobArgumentError) as raised:
        get_job("collect.http").validate(kwargs=kwargs)

    assert [name for name, _ in raised.value.fields] == [field]


def test_json_and_text_body_together_are_refused() -> None:
    with pytest.raises(JobArgumentError, match="not both"):
        get_job("collect.http").validate(
            kwargs={"url": "http://example.com", "json_body": {}, "body": "x"}
        )


def test_backoff_doubles_and_is_capped() -> None:
    assert 1.0 <= backoff_delay(1.0, 1) <= 1.1
    assert 4.0 <= backoff_delay(1.0, 3) <= 4.4
    assert BACKOFF_CAP_S <= backoff_delay(1.0, 30) <= BACKOFF_CAP_S * 1.1
