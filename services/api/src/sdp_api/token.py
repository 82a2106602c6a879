"""Mint a bearer token signed with SDP_JWT_SECRET: `python -m sdp_api.token --role admin`."""

from __future__ import annotations

import argparse

from sdp_core.auth import AuthSettings, Role, issue_token
from sdp_core.settings import load_settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--role", type=Role.parse, default=Role.viewer, help="viewer, operator or admin"
    )
    parser.add_argument("--subject", default="local-user", help="the `sub` claim")
    parser.add_argument("--ttl", type=int, default=12 * 3600, help="lifetime in seconds")
    options = parser.parse_args(argv)
    settings = load_settings(AuthSettings)
    if settings.jwt_algorithm != "HS256" or settings.jwt_secret is None:
        parser.error(
            "SDP_JWT_SECRET must be set (HS256); RS256 tokens come from your identity provider"
        )
    print(
        issue_token(
            settings.jwt_secret.get_secret_value(), options.subject, options.role, options.ttl
        )
    )


if __name__ == "__main__":
    main()
