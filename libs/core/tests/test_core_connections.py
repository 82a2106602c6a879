"""sentinel:// URLs: parsed, validated in the settings, translated for kombu and Celery, and
followed through a real failover by the sync and async clients."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import redis
from kombu.transport import redis as kombu_redis

from sdp_core.celery_config import make_celery
from sdp_core.connections import (
    SENTINEL_TIMEOUT_S,
    SentinelTarget,
    async_client,
    celery_url,
    parse_sentinel,
    sync_client,
)
from sdp_core.sender_backend import SenderRedisBackend, SenderSentinelBackend
from sdp_core.settings import CommonSettings, load_settings
from sdp_testing.processes import wait_until
from sdp_testing.redis_server import SentinelCluster

URL = "sentinel://:s3cret@h1:26379,h2:26380,[::1]/2?master_name=mymaster&sentinel_password=sp"
SENTINEL_OPTIONS = {
    "socket_timeout": SENTINEL_TIMEOUT_S,
    "socket_connect_timeout": SENTINEL_TIMEOUT_S,
}


def test_a_sentinel_url_names_hosts_master_database_and_both_passwords() -> None:
    assert parse_sentinel(URL) == SentinelTarget(
        hosts=(("h1", 26379), ("h2", 26380), ("::1", 26379)),
        master_name="mymaster",
        db=2,
        password="s3cret",
        sentinel_password="sp",
    )
    assert parse_sentinel("sentinel://u%40x:p%2Fw@h/0?master_name=m") == SentinelTarget(
        (("h", 26379),), "m", 0, username="u@x", password="p/w"
    )
    assert parse_sentinel("redis://localhost:6379/0") is None


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("sentinel://h1:26379/0", "master_name"),
        ("sentinel://h1:26379/0?master_name=", "master_name"),
        ("sentinel:///0?master_name=m", "at least one sentinel host"),
        ("sentinel://h1:notaport/0?master_name=m", "bad port"),
        ("sentinel://h1:70000/0?master_name=m", "bad port"),
        ("sentinel://:26379/0?master_name=m", "no name"),
        ("sentinel://h1/zero?master_name=m", "database"),
        ("sentinel://h1/0?master_name=m&sentinel_pasword=x", "sentinel_pasword"),
    ],
)
def test_a_bad_sentinel_url_is_refused_saying_why(url: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        parse_sentinel(url)


@pytest.mark.parametrize("variable", ["REDIS_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND"])
def test_a_bad_sentinel_url_fails_the_settings_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, "sentinel://h1:26379,h2:26379/0")
    with pytest.raises(SystemExit) as exit_info:
        load_settings(CommonSettings)
    assert f"{variable}: a sentinel URL needs ?master_name=" in str(exit_info.value)
    assert "h1" not in str(exit_info.value)


def test_the_settings_take_sentinel_urls_and_keep_redis_urls_as_before(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REDIS_URL", URL)
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://broker")
    settings = CommonSettings()
    assert settings.redis_url == settings.backend == URL
    assert settings.broker == "redis://broker"
    # As pydantic's RedisDsn has always normalised it.
    assert CommonSettings(redis_url="redis://cache").redis_url == "redis://cache:6379/0"


def test_kombu_and_celery_get_one_url_per_sentinel_and_the_master_in_options() -> None:
    url, options = celery_url(URL)
    assert url == (
        "sentinel://:s3cret@h1:26379/2;sentinel://:s3cret@h2:26380/2;sentinel://:s3cret@[::1]:26379/2"
    )
    assert options == {
        "master_name": "mymaster",
        "sentinel_kwargs": {**SENTINEL_OPTIONS, "password": "sp"},
    }
    assert celery_url("redis://h:6379/1") == ("redis://h:6379/1", {})


def test_celery_is_configured_through_sentinel_for_broker_and_backend() -> None:
    settings = CommonSettings(redis_url="sentinel://a:1,b:2/3?master_name=m")
    app = make_celery("t", settings)
    try:
        conf = app.conf
        assert conf.broker_url == "sentinel://a:1/3;sentinel://b:2/3"
        assert conf.broker_transport_options["master_name"] == "m"
        assert conf.broker_transport_options["sentinel_kwargs"] == SENTINEL_OPTIONS
        # The platform's own options are still there.
        assert conf.broker_transport_options["queue_order_strategy"] == "priority"
        assert conf.result_backend_transport_options == {
            "master_name": "m",
            "sentinel_kwargs": SENTINEL_OPTIONS,
        }
        assert isinstance(app.backend, SenderSentinelBackend)
        backend: Any = app.backend
        assert [(h["host"], h["port"]) for h in backend.connparams["hosts"]] == [
            ("a", 1),
            ("b", 2),
        ]
        assert backend.connparams["db"] == 3
        with app.connection_for_write() as connection:
            assert connection.transport_cls == "sentinel"
            assert connection.alt == ["sentinel://a:1/3", "sentinel://b:2/3"]
    finally:
        app.close()


def test_plain_redis_keeps_its_backend_and_no_sentinel_options() -> None:
    app = make_celery("t", CommonSettings(redis_url="redis://localhost:6379/0"))
    try:
        assert isinstance(app.backend, SenderRedisBackend)
        assert app.conf.result_backend_transport_options == {}
        assert "master_name" not in app.conf.broker_transport_options
    finally:
        app.close()


@pytest.mark.slow
def test_the_clients_kombu_and_the_backend_reach_the_master_and_follow_a_failover(
    redis_sentinel: SentinelCluster,
) -> None:
    url = redis_sentinel.url(db=1)
    client = sync_client(url, socket_timeout=2, socket_connect_timeout=2)
    app = make_celery("t", CommonSettings(redis_url=url))

    async def read_async(key: str) -> object:
        reader = async_client(url, single_connection_client=True, socket_timeout=2)
        try:
            return await reader.get(key)
        finally:
            await reader.aclose()

    try:
        client.set("before", "1")
        assert asyncio.run(read_async("before")) == b"1"
        app.backend.store_result("t-1", 1, "SUCCESS")
        with app.connection_for_write() as connection:
            channel = connection.default_channel
            assert isinstance(channel, kombu_redis.SentinelChannel)
            # What the worker's keepalive does with the channel's pool.
            assert redis.Redis(connection_pool=channel.pool).get("before") == b"1"
        offset = redis_sentinel.master_offset()
        wait_until(lambda: redis_sentinel.replicated_to(offset), 10, "the replica to catch up")

        old = redis_sentinel.master_port()
        assert old is not None
        redis_sentinel.kill(old)
        wait_until(lambda: redis_sentinel.master_port() not in (None, old), 30, "the failover")

        def written() -> bool:
            try:
                client.set("after", "2")
            except (redis.ConnectionError, redis.TimeoutError):
                return False
            return True

        wait_until(written, 30, "the sync client to write to the new master", interval_s=0.2)
        assert client.get("before") == b"1"
        assert asyncio.run(read_async("after")) == b"2"
        assert app.backend.get_task_meta("t-1")["status"] == "SUCCESS"
        promoted = redis.Redis(port=redis_sentinel.master_port() or 0, db=1)
        assert promoted.get("after") == b"2"
        promoted.close()
    finally:
        client.close()
        app.close()


@pytest.mark.slow
def test_a_client_closes_its_connections_to_the_sentinels_too(
    redis_sentinel: SentinelCluster,
) -> None:
    watcher = redis_sentinel.sentinel()
    try:
        before = len(watcher.client_list())
        for _ in range(5):
            client = sync_client(redis_sentinel.url())
            client.ping()
            client.close()
        # A sentinel notices a closed socket on its next turn of the event loop.
        wait_until(
            lambda: len(watcher.client_list()) <= before, 5, "the sentinels' connections to close"
        )
    finally:
        watcher.close()


def test_celery_takes_the_translated_urls_over_its_own_environment_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Celery reads CELERY_BROKER_URL and CELERY_RESULT_BACKEND itself, before its settings."""
    for name in ("REDIS_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND"):
        monkeypatch.setenv(name, "sentinel://a:1,b:2/3?master_name=m")
    app = make_celery("t", load_settings(CommonSettings))
    try:
        assert isinstance(app.backend, SenderSentinelBackend)
        for connection in (app.connection_for_write(), app.connection_for_read()):
            with connection:
                assert connection.transport_cls == "sentinel"
                assert connection.alt == ["sentinel://a:1/3", "sentinel://b:2/3"]
    finally:
        app.close()
    # As compose sets it: the sender backend all the same.
    monkeypatch.setenv("CELERY_RESULT_BACKEND", "redis://localhost:6379/0")
    app = make_celery("t", load_settings(CommonSettings))
    try:
        assert isinstance(app.backend, SenderRedisBackend)
    finally:
        app.close()
