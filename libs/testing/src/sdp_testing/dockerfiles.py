"""Dockerfiles read without a Docker engine: the image a build with given arguments produces."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Image", "Instruction", "image", "instructions"]

# Docker expands build arguments in these when it builds (RUN's shell does the same with the
# arguments in scope); CMD, ENTRYPOINT and HEALTHCHECK are left to the container's run.
_RUNTIME = {"CMD", "ENTRYPOINT", "HEALTHCHECK"}
_VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str


def instructions(dockerfile: Path) -> list[Instruction]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    result: list[Instruction] = []
    pending = ""
    for raw in dockerfile.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        keyword, _, arguments = (pending + line).partition(" ")
        result.append(Instruction(keyword.upper(), arguments.strip()))
        pending = ""
    return result


@dataclass(frozen=True)
class Image:
    """The instructions an image is made of: its stage and those it is built FROM, base first."""

    steps: tuple[Instruction, ...]

    def arguments(self, keyword: str) -> list[str]:
        return [step.arguments for step in self.steps if step.keyword == keyword]

    @property
    def env(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for arguments in self.arguments("ENV"):
            found.update(item.partition("=")[::2] for item in shlex.split(arguments))
        return found

    @property
    def user(self) -> str | None:
        users = self.arguments("USER")
        return users[-1] if users else None

    @property
    def exposed(self) -> list[int]:
        return [
            int(port.split("/")[0]) for ports in self.arguments("EXPOSE") for port in ports.split()
        ]

    @property
    def healthcheck(self) -> list[str] | None:
        """The last HEALTHCHECK's command in exec form; None without one or with NONE."""
        checks = self.arguments("HEALTHCHECK")
        if not checks or checks[-1] == "NONE":
            return None
        command: list[str] = json.loads(checks[-1].partition("CMD")[2])
        return command

    @property
    def command(self) -> list[str]:
        [*_, last] = self.arguments("CMD")
        command: list[str] = json.loads(last)
        return command


def image(
    dockerfile: Path, build_args: Mapping[str, str] | None = None, target: str | None = None
) -> Image:
    """What `docker build --build-arg K=V --target T` builds (without a target: the last stage)."""
    build_args = build_args or {}
    global_args: dict[str, str] = {}
    stages: dict[str, tuple[str, list[Instruction]]] = {}
    current: list[Instruction] | None = None
    base = ""
    for step in instructions(dockerfile):
        if step.keyword == "ARG" and current is None:
            name, _, default = step.arguments.partition("=")
            global_args[name] = build_args.get(name, default)
        elif step.keyword == "FROM":
            reference, _, alias = _expand(step.arguments, global_args).partition(" AS ")
            base, current = reference.strip(), []
            stages[alias.strip() or f"#{len(stages)}"] = (base, current)
        elif current is not None:
            current.append(step)
    if target is not None:
        base, current = stages[target]
    chain: list[list[Instruction]] = []
    while True:
        chain.append(current or [])
        if base not in stages:
            break
        base, current = stages[base]
    steps: list[Instruction] = []
    for stage in reversed(chain):
        steps += _with_args(stage, global_args, build_args)
    return Image(tuple(steps))


def _with_args(
    stage: list[Instruction], global_args: Mapping[str, str], build_args: Mapping[str, str]
) -> list[Instruction]:
    """The stage's instructions with the build arguments it declares expanded."""
    scope: dict[str, str] = {}
    result: list[Instruction] = []
    for step in stage:
        if step.keyword == "ARG":
            name, _, default = step.arguments.partition("=")
            scope[name] = build_args.get(name, default or global_args.get(name, ""))
        as_written = step.keyword in _RUNTIME or step.keyword == "ARG"
        result.append(
            step if as_written else Instruction(step.keyword, _expand(step.arguments, scope))
        )
    return result


def _expand(text: str, values: Mapping[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        return values.get(name, match.group(0))

    return _VARIABLE.sub(value, text)
