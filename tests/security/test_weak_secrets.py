"""Every service refuses weak or default secrets outside development, naming the variable
and never printing the value; development takes anything."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from sdp_api.settings import ApiSettings
from sdp_core.auth import generate_secret
from sdp_monitor.settings import MonitorSettings

ROOT = Path(__file__).resolve().parents[2]
STRICT = ["production", "test"]
# The seed's defaults, the usual placeholders and what is too short or too plain to sign with.
WEAK_SECRETS = [
    "admin123",
    "changeme",
    "changeme" * 5,
    "change-me-to-something-long-and-random",
    "your-super-secret-jwt-signing-key-here",
    "please-replace-this-default-value-1234",
    "Xk3-short",
    "abcabcabcabcabcabcabcabcabcabcabcabc",
]


def env_example() -> dict[str, str]:
    values = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key] = value
    return values


def test_the_env_example_placeholders_are_refused() -> None:
    # Copied as it is, .env.example must not start a service: its secrets are empty.
    example = env_example()
    for name in ("SDP_JWT_SECRET", "FLOWER_BASIC_AUTH", "GRAFANA_ADMIN_PASSWORD"):
        assert example[name] == "", f"{name} in .env.example must be left for the user to fill"
    with pytest.raises(ValidationError, match="SDP_JWT_SECRET is too weak"):
        ApiSettings(environment="production", jwt_secret=example["SDP_JWT_SECRET"])


@pytest.mark.parametrize("environment", STRICT)
@pytest.mark.parametrize("secret", WEAK_SECRETS)
@pytest.mark.parametrize("settings", [ApiSettings, MonitorSettings])
def test_weak_jwt_secrets_are_refused_outside_development(
    settings: type[ApiSettings | MonitorSettings], environment: str, secret: str
) -> None:
    with pytest.raises(ValidationError, match="SDP_JWT_SECRET is too weak") as raised:
        settings(environment=environment, jwt_secret=secret)
    assert all(secret not in error["msg"] for error in raised.value.errors())
    assert settings(environment="development", jwt_secret=secret)


def test_generated_secrets_pass() -> None:
    for _ in range(50):
        assert ApiSettings(environment="production", jwt_secret=generate_secret())


@pytest.mark.slow
@pytest.mark.parametrize("environment", STRICT)
@pytest.mark.parametrize("module", ["sdp_api", "sdp_monitor"])
def test_a_service_refuses_to_start_with_a_default_secret(module: str, environment: str) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SDP_", "FLOWER_"))},
        "SDP_ENVIRONMENT": environment,
        "SDP_JWT_SECRET": "changeme-changeme-changeme-changeme",
        "REDIS_URL": "redis://127.0.0.1:1/0",
    }
    done = subprocess.run(
        [sys.executable, "-m", module], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert "SDP_JWT_SECRET is too weak" in done.stderr, done.stderr[-2000:]
    assert "changeme" not in done.stderr + done.stdout


@pytest.mark.slow
def test_a_service_starts_in_development_with_any_secret() -> None:
    # The same weak secret is taken in development: the refusal above is the environment's.
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SDP_", "FLOWER_"))},
        "SDP_ENVIRONMENT": "development",
        "SDP_JWT_SECRET": "changeme",
    }
    code = "from sdp_api.settings import ApiSettings; from sdp_core.settings import load_settings;"
    code += " print(load_settings(ApiSettings).environment)"
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "development"
