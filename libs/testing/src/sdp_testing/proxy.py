"""A TCP proxy between the services and Redis that a fault test can make flaky.

Threads, not asyncio: the test drives it from plain synchronous code while it forwards.
`drop()` cuts every open connection, `refusing()` closes each new one as soon as it is accepted
(and counts it, so a test can see how often clients try again), `delay_s` holds every chunk
before it is forwarded.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

from sdp_testing.redis_server import free_port

__all__ = ["FlakyProxy", "flaky_proxy"]

CHUNK = 65_536


class FlakyProxy:
    """Forwards 127.0.0.1:`port` to 127.0.0.1:`upstream_port`."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = free_port()
        self.delay_s = 0.0
        # Connections accepted, forwarded or not: a client's every attempt.
        self.attempts = 0
        self._refusing = False
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", self.port), backlog=256)
        self._thread = threading.Thread(target=self._accept, name="flaky-proxy", daemon=True)

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._listener.close()
        self.drop()
        self._thread.join(5)

    def drop(self) -> int:
        """Cut every open connection, both ways; returns how many sockets were open."""
        with self._lock:
            sockets, self._open = self._open, set()
        for sock in sockets:
            _cut(sock)
        return len(sockets)

    @contextlib.contextmanager
    def refusing(self) -> Iterator[None]:
        """While in the block, drop what is open and hang up on every new connection."""
        self._refusing = True
        self.drop()
        try:
            yield
        finally:
            self._refusing = False

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:  # closed
                return
            with self._lock:
                self.attempts += 1
            if self._refusing:
                _cut(client)
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
            except OSError:
                _cut(client)
                continue
            upstream.settimeout(None)
            with self._lock:
                self._open |= {client, upstream}
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while chunk := source.recv(CHUNK):
                if self.delay_s:
                    time.sleep(self.delay_s)
                target.sendall(chunk)
        except OSError:
            pass
        finally:
            with self._lock:
                self._open -= {source, target}
            _cut(source)
            _cut(target)


def _cut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


@contextlib.contextmanager
def flaky_proxy(upstream_port: int) -> Iterator[FlakyProxy]:
    proxy = FlakyProxy(upstream_port)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.close()
