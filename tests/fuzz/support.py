"""What both fuzz files share: the checks, the bounds, the admin header and the stateful run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.schemas import BaseSchema
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from sdp_core.auth import Role
from sdp_testing.auth import auth_headers

__all__ = ["CHECKS", "EXAMPLES", "STEPS", "admin", "bounded", "document", "run_stateful"]

# Examples per operation: a few seconds each on two shared cores, the file under two minutes.
EXAMPLES = 60
# The stateful phase: scenarios, and the calls in each.
SCENARIOS = 30
STEPS = 8

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def bounded(examples: int = EXAMPLES) -> settings:
    """Derandomized (one fixed seed, the same cases every run), no example database, no
    deadline: the machine is shared, and the cases are about answers, not time."""
    return settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )


def document(app: FastAPI) -> BaseSchema:
    """The service's OpenAPI document, as its app builds it, for schemathesis."""
    return schemathesis.openapi.from_dict(app.openapi())


def admin(jwt_secret: str) -> dict[str, str]:
    """An admin's bearer header, minted as the `token` fixture mints it."""
    return auth_headers(jwt_secret, Role.admin, "fuzz-admin")


def run_stateful(
    schema: BaseSchema, base_url: str, headers: dict[str, str], reset: Callable[[], object]
) -> None:
    """Sequences of calls that follow the document's links, each answer checked.

    `reset` empties the service's state before each sequence: what one sequence created would
    change what the next one draws (a name taken is a 409), and Hypothesis replays sequences.
    """

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            reset()

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"base_url": base_url, "headers": headers}

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            case.validate_response(response, checks=CHECKS)

    Workflow.run(
        settings=settings(
            bounded(SCENARIOS),
            stateful_step_count=STEPS,
            phases=[Phase.generate],
        ),
    )
