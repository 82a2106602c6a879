"""Bearer-token dependencies: `ViewerDep`, `OperatorDep`, `AdminDep`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from sdp_core.auth import InvalidToken, Principal, Role, TokenVerifier
from sdp_http.errors import Forbidden, Unauthorized

__all__ = ["AdminDep", "OperatorDep", "ViewerDep", "require"]

_bearer = HTTPBearer(auto_error=False, description="JWT with a `role` claim")


def _verifier(request: Request) -> TokenVerifier:
    verifier: TokenVerifier = request.app.state.verifier
    return verifier


def require(role: Role) -> Callable[..., Awaitable[Principal]]:
    # Async so that it runs on the event loop: a sync dependency costs a thread hop per request.
    async def dependency(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        if credentials is None:
            raise Unauthorized("missing bearer token")
        try:
            principal = _verifier(request).verify(credentials.credentials)
        except InvalidToken as exc:
            raise Unauthorized(str(exc)) from None
        if not principal.allows(role):
            raise Forbidden(f"role {principal.role.name} may not do this; needs {role.name}")
        return principal

    return dependency


ViewerDep = Annotated[Principal, Depends(require(Role.viewer))]
OperatorDep = Annotated[Principal, Depends(require(Role.operator))]
AdminDep = Annotated[Principal, Depends(require(Role.admin))]
