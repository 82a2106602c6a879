"""The fault tests' TCP proxy, against a real Redis: it forwards, cuts and hangs up."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

from sdp_testing.proxy import flaky_proxy


def ping(port: int) -> tuple[socket.socket, bytes]:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(b"PING\r\n")
    return sock, sock.recv(64)


def test_it_forwards_cuts_and_hangs_up(redis_url: str) -> None:
    with flaky_proxy(urlsplit(redis_url).port or 6379) as proxy:
        sock, answer = ping(proxy.port)
        assert answer == b"+PONG\r\n"
        assert proxy.drop() == 2
        # The cut connection ends: no more answers on it.
        assert sock.recv(64) == b""
        sock.close()
        # Nothing sent: a request the proxy never read could turn its close into a reset.
        with (
            proxy.refusing(),
            socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as refused,
        ):
            assert refused.recv(64) == b""
        sock, answer = ping(proxy.port)
        sock.close()
        assert answer == b"+PONG\r\n"
        assert proxy.attempts == 3
