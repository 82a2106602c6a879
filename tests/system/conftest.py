"""The platform every system test module starts once, as `make run` starts it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sdp_testing.platform import Platform, running_platform


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    with running_platform(tmp_path_factory.mktemp("run")) as started:
        assert "SDP platform ready in" in started.process.log(), started.process.log()[-4000:]
        yield started
