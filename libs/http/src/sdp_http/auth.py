"""Bearer-token dependencies: `ViewerDep`, `OperatorDep`, `AdminDep`.

Each route declares the least role it needs by one of them; `required_role` reads it back from
the route's dependant, so a test can check every route without a table of its own.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from sdp_core.auth import InvalidToken, Principal, Role, TokenVerifier
from sdp_http.errors import Forbidden, Unauthorized

__all__ = ["AdminDep", "OperatorDep", "RoleRequired", "ViewerDep", "required_role"]

_bearer = HTTPBearer(auto_error=False, description="JWT with a `role` claim")


def _verifier(request: Request) -> TokenVerifier:
    verifier: TokenVerifier = request.app.state.verifier
    return verifier


class RoleRequired:
    """The dependency that lets through a valid token of `role` or above."""

    def __init__(self, role: Role) -> None:
        self.role = role

    # Async so that it runs on the event loop: a sync dependency costs a thread hop per request.
    async def __call__(
        self,
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        if credentials is None:
            raise Unauthorized("missing bearer token")
        try:
            principal = _verifier(request).verify(credentials.credentials)
        except InvalidToken as exc:
            raise Unauthorized(str(exc)) from None
        if not principal.allows(self.role):
            raise Forbidden(f"role {principal.role.name} may not do this; needs {self.role.name}")
        return principal


def _roles(dependant: Dependant) -> list[Role]:
    own = [dependant.call.role] if isinstance(dependant.call, RoleRequired) else []
    return own + [role for sub in dependant.dependencies for role in _roles(sub)]


def required_role(dependant: Dependant) -> Role | None:
    """The highest role a route's dependencies (nested ones too) require; None if public.

    `dependant` is an APIRoute's, or that of an entry of `fastapi.routing.iter_route_contexts`.
    """
    return max(_roles(dependant), default=None)


ViewerDep = Annotated[Principal, Depends(RoleRequired(Role.viewer))]
OperatorDep = Annotated[Principal, Depends(RoleRequired(Role.operator))]
AdminDep = Annotated[Principal, Depends(RoleRequired(Role.admin))]
