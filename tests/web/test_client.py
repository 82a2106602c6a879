"""The committed web client is what `make web-client` writes from the services' OpenAPI today."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import web  # noqa: E402


def test_the_committed_client_is_generated_from_both_services(tmp_path: Path) -> None:
    written = web.write_client(tmp_path)
    assert sorted(path.name for path in written) == ["api.ts", "monitor.ts"]
    for path in written:
        committed = web.GENERATED / path.name
        assert committed.read_text() == path.read_text(), (
            f"{committed.relative_to(ROOT)} is stale: run `make web-client` and commit it"
        )
    # Both documents made it in, with a route each service alone serves.
    assert '"/api/v1/jobs"' in (web.GENERATED / "api.ts").read_text()
    assert '"/api/v1/celery/events"' in (web.GENERATED / "monitor.ts").read_text()
