"""No token, signing secret or password reaches a log: the platform run as `make run` runs it,
called with good and bad credentials, then every log it wrote is searched."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
import pytest

from sdp_core.auth import Role, generate_secret, issue_token
from sdp_testing.auth import bearer
from sdp_testing.platform import Platform
from sdp_testing.processes import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.system]


def logs_of(platform: Platform) -> dict[str, str]:
    """The console output and every file under the run dir's logs/ (supervisord's childlogdir)."""
    found = {"console": platform.process.log()}
    for path in sorted((platform.run_dir / "logs").rglob("*")):
        if path.is_file():
            found[str(path.relative_to(platform.run_dir))] = path.read_text(errors="replace")
    return found


def leaks(logs: dict[str, str], secrets: dict[str, str]) -> list[str]:
    return [
        f"{what} in {where}"
        for what, value in secrets.items()
        for where, text in logs.items()
        if value in text
    ]


def test_no_secret_or_token_is_logged(platform: Platform) -> None:
    run: Path = platform.run_dir
    jwt_secret = (run / "jwt_secret").read_text().strip()
    flower_auth = (run / "flower_auth").read_text().strip()
    flower_user, _, flower_password = flower_auth.partition(":")
    tokens = {role.name: issue_token(jwt_secret, f"logs-{role.name}", role) for role in Role}
    forged = issue_token(generate_secret(), "mallory", Role.admin)
    expired = issue_token(jwt_secret, "late", Role.admin, ttl_s=-60)
    as_role = {name: bearer(t) for name, t in tokens.items()}

    with httpx.Client(timeout=30) as client:
        for base in (platform.api, platform.web):  # directly and through Caddy
            assert client.get(f"{base}/api/v1/jobs", headers=as_role["viewer"]).status_code == 200
            accepted = client.post(
                f"{base}/api/v1/tasks", json={"task": "system.noop"}, headers=as_role["operator"]
            )
            assert accepted.status_code == 202, accepted.text
            for bad in (forged, expired, "not-a-jwt"):
                refused = client.get(f"{base}/api/v1/jobs", headers=bearer(bad))
                assert refused.status_code == 401
            viewer_write = client.post(
                f"{base}/api/v1/tasks", json={"task": "system.noop"}, headers=as_role["viewer"]
            )
            assert viewer_write.status_code == 403
            # A credential pasted into a body field: the 422 must not log the input.
            pasted = client.post(
                f"{base}/api/v1/tasks",
                json={"task": tokens["admin"], "queue": jwt_secret},
                headers=as_role["admin"],
            )
            assert pasted.status_code == 422, pasted.text
        for base in (platform.monitor, platform.web):
            status = client.get(f"{base}/api/v1/celery/status", headers=as_role["viewer"])
            assert status.status_code == 200, status.text
            assert (
                client.get(f"{base}/api/v1/celery/audit", headers=as_role["operator"]).status_code
                == 403
            )
            assert (
                client.get(f"{base}/api/v1/celery/status", headers=bearer(forged)).status_code
                == 401
            )
            bad_body = client.post(
                f"{base}/api/v1/celery/worker/autoscale",
                json={"max": tokens["admin"]},
                headers=as_role["admin"],
            )
            assert bad_body.status_code == 422, bad_body.text
        assert client.get(platform.flower, auth=(flower_user, flower_password)).status_code == 200
        assert client.get(platform.flower, auth=(flower_user, "wrong-password")).status_code == 401

    # Every request is in the access logs before the search: the last ones went to the monitor.
    wait_until(
        lambda: logs_of(platform).get("logs/monitor.log", "").count("/worker/autoscale") >= 2,
        30,
        "the monitor's access log",
    )
    secrets = {
        "the JWT secret": jwt_secret,
        "Flower's password": flower_password,
        "Flower's basic-auth header": base64.b64encode(flower_auth.encode()).decode(),
        "the forged token": forged,
        "the expired token": expired,
        # A token cut short in a log still gives its signature away.
        **{f"the {name} token's signature": t.rpartition(".")[2] for name, t in tokens.items()},
        **{f"the {name} token": t for name, t in tokens.items()},
        **{f"the {name} Authorization header": h["Authorization"] for name, h in as_role.items()},
    }
    logs = logs_of(platform)
    assert {"logs/api.log", "logs/monitor.log", "logs/flower.log", "logs/web.log"} <= set(logs)
    assert leaks(logs, secrets) == []
