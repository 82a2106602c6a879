from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import ValidationError

from sdp_core.auth import (
    LEEWAY_S,
    AuthSettings,
    InvalidToken,
    Principal,
    Role,
    TokenVerifier,
    generate_secret,
    issue_token,
    weak_secret_reason,
)
from sdp_core.settings import load_settings


def test_roles_are_ordered() -> None:
    assert Role.viewer < Role.operator < Role.admin
    assert Role.parse("operator") is Role.operator
    with pytest.raises(ValueError, match="unknown role"):
        Role.parse("root")


def test_token_round_trip_and_role_check() -> None:
    secret = generate_secret()
    principal = TokenVerifier(secret, "HS256").verify(issue_token(secret, "ana", Role.operator))
    assert principal.subject == "ana"
    assert principal.allows(Role.viewer)
    assert principal.allows(Role.operator)
    assert not principal.allows(Role.admin)


def test_rejects_bad_signature_expiry_and_missing_role() -> None:
    secret = generate_secret()
    verifier = TokenVerifier(secret, "HS256")
    with pytest.raises(InvalidToken, match="invalid"):
        verifier.verify(issue_token(generate_secret(), "ana", Role.admin))
    with pytest.raises(InvalidToken, match="expired"):
        verifier.verify(issue_token(secret, "ana", Role.admin, ttl_s=-60))
    no_role = jwt.encode({"sub": "ana", "exp": int(time.time()) + 60}, secret, algorithm="HS256")
    with pytest.raises(InvalidToken):
        verifier.verify(no_role)
    bad_role = jwt.encode(
        {"sub": "ana", "role": "root", "exp": int(time.time()) + 60}, secret, algorithm="HS256"
    )
    with pytest.raises(InvalidToken, match="unknown role"):
        verifier.verify(bad_role)
    with pytest.raises(InvalidToken):
        verifier.verify("not-a-jwt")


def test_a_remembered_token_still_expires_and_a_forged_one_is_not_taken_for_it() -> None:
    secret = generate_secret()
    verifier = TokenVerifier(secret, "HS256")
    # Expired a little under the leeway ago: accepted for about one more second.
    claims = {"sub": "ana", "role": "admin", "exp": int(time.time()) - LEEWAY_S + 1}
    token = jwt.encode(claims, secret, algorithm="HS256")
    assert verifier.verify(token).role is Role.admin
    assert verifier.verify(token).role is Role.admin
    forged = jwt.encode(claims, generate_secret(), algorithm="HS256")
    with pytest.raises(InvalidToken, match="invalid"):
        verifier.verify(forged)
    time.sleep(1.1)
    with pytest.raises(InvalidToken, match="expired"):
        verifier.verify(token)


def test_remembers_at_most_cache_size_tokens() -> None:
    secret = generate_secret()
    verifier = TokenVerifier(secret, "HS256", cache_size=2)
    tokens = [issue_token(secret, f"user-{n}", Role.viewer) for n in range(3)]
    for token in tokens:
        verifier.verify(token)
    assert list(verifier._verified) == tokens[1:]
    assert verifier.verify(tokens[0]).subject == "user-0"


def test_none_algorithm_is_refused() -> None:
    unsigned = jwt.encode(
        {"sub": "x", "role": "admin", "exp": int(time.time()) + 60}, "", algorithm="none"
    )
    with pytest.raises(InvalidToken):
        TokenVerifier(generate_secret(), "HS256").verify(unsigned)


@pytest.mark.parametrize(
    ("secret", "weak"),
    [
        ("short", True),
        ("a" * 64, True),
        ("abcabcabcabcabcabcabcabcabcabcabcabc", True),
        (generate_secret(), False),
    ],
    ids=["short", "one-character", "repeated", "generated"],
)
def test_weak_secrets_are_named(secret: str, weak: bool) -> None:
    assert (weak_secret_reason(secret) is not None) is weak


def test_production_refuses_missing_or_weak_secret() -> None:
    with pytest.raises(ValidationError, match="SDP_JWT_SECRET is required"):
        AuthSettings(environment="production")
    with pytest.raises(ValidationError, match="too weak"):
        AuthSettings(environment="production", jwt_secret="secret")
    assert AuthSettings(environment="production", jwt_secret=generate_secret())


def test_development_accepts_anything_and_rs256_needs_a_key() -> None:
    AuthSettings(environment="development", jwt_secret="dev")
    with pytest.raises(ValidationError, match="SDP_JWT_PUBLIC_KEY"):
        AuthSettings(environment="production", jwt_algorithm="RS256")


def test_configuration_errors_never_echo_the_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDP_ENVIRONMENT", "production")
    monkeypatch.setenv("SDP_JWT_SECRET", "hunter2-is-a-weak-one")
    with pytest.raises(SystemExit) as exit_info:
        load_settings(AuthSettings)
    assert "too weak" in str(exit_info.value)
    assert "hunter2" not in str(exit_info.value)


def rsa_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def test_rs256_verifies_with_the_public_key_and_refuses_the_key_as_an_hmac_secret() -> None:
    private, public = rsa_pair()
    verifier = AuthSettings(
        environment="production", jwt_algorithm="RS256", jwt_public_key=public
    ).verifier()
    token = issue_token(private, "ops", Role.operator, algorithm="RS256")
    assert verifier.verify(token) == Principal("ops", Role.operator)
    other, _ = rsa_pair()
    with pytest.raises(InvalidToken):
        verifier.verify(issue_token(other, "mallory", Role.admin, algorithm="RS256"))
    # The public key is public: a token signed with it as an HS256 secret must not pass.
    claims = {"sub": "mallory", "role": "admin", "exp": int(time.time()) + 60}
    confused = hmac_token(claims, public)
    with pytest.raises(InvalidToken):
        verifier.verify(confused)


def hmac_token(claims: dict[str, object], key: str) -> str:
    """HS256 by hand: PyJWT itself refuses a PEM key as an HMAC secret."""

    def encode(part: bytes) -> bytes:
        return base64.urlsafe_b64encode(part).rstrip(b"=")

    head = encode(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = encode(json.dumps(claims).encode())
    signature = hmac.new(key.encode(), head + b"." + body, hashlib.sha256).digest()
    return (head + b"." + body + b"." + encode(signature)).decode()


def test_a_public_key_that_does_not_load_is_refused_at_startup() -> None:
    with pytest.raises(ValidationError, match="not an RSA public key"):
        AuthSettings(environment="production", jwt_algorithm="RS256", jwt_public_key="nope")
