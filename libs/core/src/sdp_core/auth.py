"""Bearer tokens: JWT with a role claim, viewer < operator < admin (HS256 or RS256)."""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from enum import IntEnum
from typing import Literal

import jwt
from jwt.algorithms import RSAAlgorithm
from pydantic import Field, SecretStr, model_validator

from sdp_core.settings import CommonSettings, Environment

__all__ = [
    "LEEWAY_S",
    "AuthSettings",
    "InvalidToken",
    "Principal",
    "Role",
    "TokenVerifier",
    "generate_secret",
    "issue_token",
    "weak_password_reason",
    "weak_secret_reason",
]

MIN_SECRET_LENGTH = 32
MIN_DISTINCT_CHARS = 12
# A password a person types (Flower's, Grafana's) is shorter than a signing key.
MIN_PASSWORD_LENGTH = 16
MIN_PASSWORD_DISTINCT_CHARS = 8
# Defaults and placeholders that get copied into configurations (the seed's among them),
# found in a value whatever its case and punctuation. Kept as the first 16 hex digits of each
# word's SHA-256, so that the code itself carries no credential to copy; each value is checked
# by hashing its substrings of these lengths.
_KNOWN_DEFAULT_DIGESTS = frozenset(
    {
        "240be518fabd2724",
        "057ba03d6c441048",
        "62f196fe59c6f78d",
        "5e884898da280471",
        "8f0e2f76e22b43e2",
        "2bb80d537b1da3e3",
        "37a8eec1ce19687d",
        "50d858e0985ecc7f",
        "4097889236a2af26",
        "1c8bfe8f801d7974",
        "f52fbd32b2b3b86f",
        "65e84be33532fb78",
        "8d969eef6ecad3c2",
    }
)
_KNOWN_DEFAULT_LENGTHS = (6, 7, 8, 10, 11)
LEEWAY_S = 5


class Role(IntEnum):
    viewer = 1
    operator = 2
    admin = 3

    @classmethod
    def parse(cls, value: str) -> Role:
        try:
            return cls[value]
        except KeyError:
            raise ValueError(
                f"unknown role {value!r}; expected one of {[r.name for r in cls]}"
            ) from None


@dataclass(frozen=True, slots=True)
class Principal:
    subject: str
    role: Role

    def allows(self, needed: Role) -> bool:
        return self.role >= needed


class InvalidToken(Exception):
    """The token is missing, malformed, expired, badly signed or lacks a known role."""


def _contains_known_default(value: str) -> bool:
    folded = re.sub(r"[^a-z0-9]", "", value.lower())
    return any(
        hashlib.sha256(folded[start : start + length].encode()).hexdigest()[:16]
        in _KNOWN_DEFAULT_DIGESTS
        for length in _KNOWN_DEFAULT_LENGTHS
        for start in range(len(folded) - length + 1)
    )


def _weakness(value: str, min_length: int, min_distinct: int) -> str | None:
    if _contains_known_default(value):
        return "must not be or contain a known default or placeholder word"
    if len(value) < min_length:
        return f"must be at least {min_length} characters"
    if len(set(value)) < min_distinct:
        return f"must use at least {min_distinct} distinct characters"
    return None


def weak_secret_reason(secret: str) -> str | None:
    """Why a shared secret is too weak to sign tokens, or None when it will do."""
    return _weakness(secret, MIN_SECRET_LENGTH, MIN_DISTINCT_CHARS)


def weak_password_reason(password: str) -> str | None:
    """Why a login password (Flower's, Grafana's) is too weak, or None when it will do."""
    return _weakness(password, MIN_PASSWORD_LENGTH, MIN_PASSWORD_DISTINCT_CHARS)


def generate_secret() -> str:
    return secrets.token_urlsafe(48)


class AuthSettings(CommonSettings):
    jwt_algorithm: Literal["HS256", "RS256"] = Field("HS256", validation_alias="SDP_JWT_ALGORITHM")
    jwt_secret: SecretStr | None = Field(
        None, validation_alias="SDP_JWT_SECRET", description="HS256 shared secret."
    )
    jwt_public_key: str | None = Field(
        None, validation_alias="SDP_JWT_PUBLIC_KEY", description="RS256 public key (PEM)."
    )

    @model_validator(mode="after")
    def _key_is_usable(self) -> AuthSettings:
        if self.jwt_algorithm == "RS256":
            if not self.jwt_public_key:
                raise ValueError("SDP_JWT_PUBLIC_KEY is required when SDP_JWT_ALGORITHM=RS256")
            # A key that does not load would refuse every token, request after request.
            try:
                RSAAlgorithm(RSAAlgorithm.SHA256).prepare_key(self.jwt_public_key)
            except (ValueError, TypeError, jwt.InvalidKeyError):
                raise ValueError("SDP_JWT_PUBLIC_KEY is not an RSA public key in PEM") from None
            return self
        if self.environment is Environment.development:
            return self
        if self.jwt_secret is None:
            raise ValueError("SDP_JWT_SECRET is required outside development")
        reason = weak_secret_reason(self.jwt_secret.get_secret_value())
        if reason:
            raise ValueError(f"SDP_JWT_SECRET is too weak: it {reason}")
        return self

    def verifier(self) -> TokenVerifier:
        if self.jwt_algorithm == "RS256":
            assert self.jwt_public_key is not None  # checked by the validator
            return TokenVerifier(self.jwt_public_key, "RS256")
        # Development without a secret gets one that lives as long as the process.
        secret = self.jwt_secret.get_secret_value() if self.jwt_secret else generate_secret()
        return TokenVerifier(secret, "HS256")


class TokenVerifier:
    """Checks bearer tokens; a token once verified is remembered until it expires.

    A dashboard sends the same token with every request, and checking its signature costs
    more than the rest of a small read. Only tokens that passed every check are remembered,
    each until its own `exp`, and at most `cache_size` of them.
    """

    def __init__(self, key: str, algorithm: str, cache_size: int = 1024) -> None:
        self._key = key
        self._algorithm = algorithm
        self._cache_size = cache_size
        self._verified: OrderedDict[str, tuple[Principal, float]] = OrderedDict()
        self._lock = threading.Lock()

    def verify(self, token: str) -> Principal:
        with self._lock:
            known = self._verified.get(token)
        if known is not None:
            principal, expires_at = known
            if time.time() < expires_at:
                return principal
        principal, expires_at = self._check(token)
        with self._lock:
            self._verified[token] = (principal, expires_at)
            self._verified.move_to_end(token)
            while len(self._verified) > self._cache_size:
                self._verified.popitem(last=False)
        return principal

    def _check(self, token: str) -> tuple[Principal, float]:
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[self._algorithm],
                options={"require": ["exp", "sub", "role"]},
                leeway=LEEWAY_S,
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("token has expired") from None
        except jwt.InvalidTokenError as exc:
            raise InvalidToken(f"invalid token: {exc}") from None
        try:
            role = Role.parse(str(claims["role"]))
        except ValueError as exc:
            raise InvalidToken(str(exc)) from None
        # As jwt.decode judges expiry: with the same leeway.
        return Principal(subject=str(claims["sub"]), role=role), float(claims["exp"]) + LEEWAY_S


def issue_token(
    key: str, subject: str, role: Role, ttl_s: int = 3600, algorithm: str = "HS256"
) -> str:
    now = int(time.time())
    claims = {"sub": subject, "role": role.name, "iat": now, "exp": now + ttl_s}
    return jwt.encode(claims, key, algorithm=algorithm)
