"""Authorization headers for the tests of every service that checks bearer tokens."""

from __future__ import annotations

from collections.abc import Callable

from sdp_core.auth import Role, issue_token

__all__ = ["Token", "auth", "auth_headers", "bearer"]

Token = Callable[[str], str]
"""The `token` fixture: a role name in, a signed token out."""


def bearer(token: str) -> dict[str, str]:
    """The header that carries a token."""
    return {"Authorization": f"Bearer {token}"}


def auth(token: Token, role: str) -> dict[str, str]:
    """The header of a role, its token minted by the `token` fixture."""
    return bearer(token(role))


def auth_headers(secret: str, role: Role, subject: str) -> dict[str, str]:
    """The header of a role, its token minted with a deployment's secret."""
    return bearer(issue_token(secret, subject, role))
