from __future__ import annotations

import subprocess
import sys

import pytest

from sdp_api.settings import ApiSettings
from sdp_core.auth import Role, TokenVerifier, generate_secret


def test_own_prefix_and_shared_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDP_API_PORT", "6000")
    monkeypatch.setenv("SDP_ENVIRONMENT", "development")
    monkeypatch.setenv("REDIS_URL", "redis://elsewhere:6379/2")
    settings = ApiSettings()
    assert settings.port == 6000
    assert str(settings.redis_url) == "redis://elsewhere:6379/2"


def test_startup_refuses_a_weak_secret_outside_development() -> None:
    env = {"SDP_ENVIRONMENT": "production", "SDP_JWT_SECRET": "tooshort", "PATH": ""}
    done = subprocess.run(
        [sys.executable, "-m", "sdp_api"], env=env, capture_output=True, text=True, timeout=30
    )
    assert done.returncode != 0
    assert "SDP_JWT_SECRET is too weak" in done.stderr
    assert "tooshort" not in done.stderr


def test_token_command_mints_a_verifiable_token() -> None:
    secret = generate_secret()
    env = {"SDP_ENVIRONMENT": "production", "SDP_JWT_SECRET": secret}
    done = subprocess.run(
        [sys.executable, "-m", "sdp_api.token", "--role", "operator", "--subject", "ops"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    principal = TokenVerifier(secret, "HS256").verify(done.stdout.strip())
    assert (principal.subject, principal.role) == ("ops", Role.operator)
