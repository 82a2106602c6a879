"""The README documents every environment variable the services read."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic_settings import BaseSettings

from sdp_api.settings import ApiSettings
from sdp_beat.settings import BeatSettings
from sdp_monitor.settings import MonitorSettings
from sdp_worker.settings import WorkerSettings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def env_names(cls: type[BaseSettings]) -> list[str]:
    prefix = str(cls.model_config.get("env_prefix", ""))
    return [
        info.validation_alias
        if isinstance(info.validation_alias, str)
        else f"{prefix}{name}".upper()
        for name, info in cls.model_fields.items()
    ]


@pytest.mark.parametrize("cls", [ApiSettings, MonitorSettings, BeatSettings, WorkerSettings])
def test_every_variable_is_documented(cls: type[BaseSettings]) -> None:
    missing = [name for name in env_names(cls) if f"`{name}`" not in README]
    assert missing == []


def test_the_two_commands_come_first() -> None:
    head = README[:800]
    assert "make run" in head
    assert "make test" in head


def test_every_variable_of_the_web_server_is_documented() -> None:
    caddyfile = (Path(__file__).resolve().parents[2] / "deploy" / "web" / "Caddyfile").read_text()
    names = {*re.findall(r"\{\$(\w+)[:}]", caddyfile), "SDP_WEB_DIST"}
    assert "SDP_WEB_PORT" in names, "the Caddyfile reads its port as {$SDP_WEB_PORT:...}"
    assert [name for name in sorted(names) if f"`{name}`" not in README] == []
