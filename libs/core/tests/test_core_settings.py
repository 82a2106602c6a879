from __future__ import annotations

import pytest
from pydantic import ValidationError

from sdp_core.settings import CommonSettings, Environment, load_settings


def test_defaults_are_strict_and_local(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SDP_ENVIRONMENT", "REDIS_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND"):
        monkeypatch.delenv(name, raising=False)
    settings = CommonSettings()
    assert settings.environment is Environment.production
    assert settings.broker == settings.backend == "redis://localhost:6379/0"


def test_reads_unprefixed_shared_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://cache:6380/3")
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://broker:6379/1")
    settings = CommonSettings()
    assert settings.broker == "redis://broker:6379/1"
    assert settings.backend == "redis://cache:6380/3"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("REDIS_URL", "localhost:6379"),
        ("CELERY_BROKER_URL", "just-a-host"),
        ("SDP_ENVIRONMENT", "staging"),
        ("SDP_RESULT_EXPIRES_S", "5"),
    ],
)
def test_bad_configuration_fails_fast_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError):
        CommonSettings()
    with pytest.raises(SystemExit) as exit_info:
        load_settings(CommonSettings)
    assert variable in str(exit_info.value)
