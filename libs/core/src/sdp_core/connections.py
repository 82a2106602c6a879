"""Redis URLs, plain or through Sentinel, turned into clients and Celery settings.

Every process connects through this module, so ``REDIS_URL``, ``CELERY_BROKER_URL`` and
``CELERY_RESULT_BACKEND`` accept the same two forms:

* ``redis://``, ``rediss://`` or ``unix://``, handed to redis-py's ``from_url`` unchanged;
* ``sentinel://[[username]:password@]host1[:port],host2[:port]…/db?master_name=NAME
  [&sentinel_password=SECRET]``: the sentinels to ask (port 26379 by default), the master's
  name, the database, the master's credentials in the user part and the sentinels' own
  password, when they require one, as a query parameter. TLS through Sentinel is not supported.

A client from a sentinel URL asks the sentinels for the master on each new connection, so after
a failover its next connection reaches the promoted replica. Celery takes the same URL as
kombu's and its result backend's ``sentinel://h1:26379;sentinel://h2:26379`` form plus transport
options (`celery_url`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, quote, unquote

import redis
import redis.asyncio as aioredis
import redis.asyncio.sentinel as aiosentinel
from pydantic import RedisDsn, TypeAdapter, ValidationError
from redis import sentinel

__all__ = [
    "SENTINEL_PORT",
    "SENTINEL_TIMEOUT_S",
    "SentinelTarget",
    "async_client",
    "celery_url",
    "parse_sentinel",
    "sync_client",
    "validate_redis_url",
    "validate_url",
]

SCHEME = "sentinel"
SENTINEL_PORT = 26379
# A sentinel answers a master lookup at once, or is down: a dead one must not hold a connection
# up for longer than this before the next sentinel is asked.
SENTINEL_TIMEOUT_S = 2.0
_QUERY = frozenset({"master_name", "sentinel_password"})
_REDIS_DSN: TypeAdapter[RedisDsn] = TypeAdapter(RedisDsn)


@dataclass(frozen=True, slots=True)
class SentinelTarget:
    """What a ``sentinel://`` URL names."""

    hosts: tuple[tuple[str, int], ...]
    master_name: str
    db: int = 0
    username: str | None = None
    password: str | None = None
    sentinel_password: str | None = None

    def sentinel_kwargs(self) -> dict[str, Any]:
        """redis-py's connection options for the sentinels themselves."""
        options: dict[str, Any] = {
            "socket_timeout": SENTINEL_TIMEOUT_S,
            "socket_connect_timeout": SENTINEL_TIMEOUT_S,
        }
        if self.sentinel_password is not None:
            options["password"] = self.sentinel_password
        return options

    def master_kwargs(self) -> dict[str, Any]:
        """redis-py's connection options for the master: its database and credentials."""
        options: dict[str, Any] = {"db": self.db}
        if self.username is not None:
            options["username"] = self.username
        if self.password is not None:
            options["password"] = self.password
        return options


def _host(part: str) -> tuple[str, int]:
    if part.startswith("["):  # an IPv6 address: [::1]:26379
        host, _, rest = part[1:].partition("]")
        port = rest.removeprefix(":")
    else:
        host, _, port = part.partition(":")
    if not host:
        raise ValueError(f"sentinel host {part!r} has no name")
    if not port:
        return host, SENTINEL_PORT
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"sentinel host {part!r} has a bad port")
    return host, int(port)


def parse_sentinel(url: str) -> SentinelTarget | None:
    """The target of a ``sentinel://`` URL, None for any other scheme; ValueError if bad."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() != SCHEME:
        return None
    rest, _, query_text = rest.partition("?")
    netloc, _, path = rest.partition("/")
    userinfo, at, hostlist = netloc.rpartition("@")
    username = password = None
    if at:
        user, colon, secret = userinfo.partition(":")
        username = unquote(user) or None
        password = unquote(secret) if colon else None
    hosts = tuple(_host(part.strip()) for part in hostlist.split(",") if part.strip())
    if not hosts:
        raise ValueError("a sentinel URL names at least one sentinel host")
    db_text = path.strip("/") or "0"
    if not db_text.isdigit():
        raise ValueError(f"the database must be a number, not {db_text!r}")
    query = parse_qs(query_text, keep_blank_values=True)
    unknown = sorted(set(query) - _QUERY)
    if unknown:
        raise ValueError(f"unknown sentinel URL parameter(s): {', '.join(unknown)}")
    master_name = query.get("master_name", [""])[-1]
    if not master_name:
        raise ValueError("a sentinel URL needs ?master_name=<the master's name>")
    sentinel_password = query.get("sentinel_password", [None])[-1]
    return SentinelTarget(
        hosts, master_name, int(db_text), username, password, sentinel_password or None
    )


def validate_url(url: str) -> str:
    """A broker or backend URL, checked when it is a sentinel one; Celery checks the others."""
    if "://" not in url:
        raise ValueError("must be a URL such as redis://host:6379/0")
    parse_sentinel(url)
    return url


def validate_redis_url(url: str) -> str:
    """A Redis URL: a sentinel one checked, any other normalised as pydantic's `RedisDsn`."""
    if parse_sentinel(url) is not None:
        return url
    try:
        return str(_REDIS_DSN.validate_python(url))
    except ValidationError as exc:
        raise ValueError("; ".join(str(err["msg"]) for err in exc.errors())) from None


class _SentinelPool(sentinel.SentinelConnectionPool):
    """Also closes the connections to the sentinels, which only this pool's client uses."""

    def close(self) -> None:
        super().close()
        for client in self.sentinel_manager.sentinels:
            client.close()


class _AsyncSentinelPool(aiosentinel.SentinelConnectionPool):
    """Also closes the connections to the sentinels, which only this pool's client uses."""

    async def aclose(self) -> None:
        await super().aclose()
        for client in self.sentinel_manager.sentinels:
            await client.aclose()


def _master_pool(target: SentinelTarget, flavour: Any, pool_class: Any, options: Any) -> Any:
    """A pool of connections to the master the sentinels name: `flavour` is redis-py's sentinel
    module, sync or asyncio, and `pool_class` its pool subclassed above."""
    manager = flavour.Sentinel(list(target.hosts), sentinel_kwargs=target.sentinel_kwargs())
    return pool_class(
        target.master_name, manager, is_master=True, **target.master_kwargs(), **options
    )


def sync_client(url: str, **options: Any) -> redis.Redis:
    """A redis-py client for the URL; `options` as `Redis.from_url` takes them."""
    target = parse_sentinel(url)
    if target is None:
        return redis.Redis.from_url(url, **options)
    single = bool(options.pop("single_connection_client", False))
    pool = _master_pool(target, sentinel, _SentinelPool, options)
    client = redis.Redis(connection_pool=pool, single_connection_client=single)
    client.auto_close_connection_pool = True
    return client


def async_client(url: str, **options: Any) -> aioredis.Redis:
    """A redis.asyncio client for the URL; `options` as `Redis.from_url` takes them."""
    target = parse_sentinel(url)
    if target is None:
        return aioredis.Redis.from_url(url, **options)
    single = bool(options.pop("single_connection_client", False))
    pool = _master_pool(target, aiosentinel, _AsyncSentinelPool, options)
    client = aioredis.Redis(connection_pool=pool, single_connection_client=single)
    client.auto_close_connection_pool = True
    return client


def celery_url(url: str) -> tuple[str, Mapping[str, Any]]:
    """The URL as kombu and Celery's result backend take it, and the transport options it needs.

    A sentinel URL becomes one ``sentinel://[credentials@]host:port/db`` per sentinel joined by
    ``;``, with the master's name and the sentinels' options as transport options; any other is
    returned as it is, with none.
    """
    target = parse_sentinel(url)
    if target is None:
        return url, {}
    credentials = quote(target.username or "", safe="")
    if target.password is not None:
        credentials += f":{quote(target.password, safe='')}"
    if credentials:
        credentials += "@"

    def address(host: str) -> str:
        return f"[{host}]" if ":" in host else host

    urls = ";".join(
        f"{SCHEME}://{credentials}{address(host)}:{port}/{target.db}" for host, port in target.hosts
    )
    return urls, {"master_name": target.master_name, "sentinel_kwargs": target.sentinel_kwargs()}
