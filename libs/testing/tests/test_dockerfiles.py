"""Reading the image a Dockerfile builds: stages, build arguments and targets."""

from __future__ import annotations

from pathlib import Path

import pytest

from sdp_testing.dockerfiles import Instruction, image

DOCKERFILE = """\
# syntax=docker/dockerfile:1
ARG NAME
ARG FLAVOUR=plain

FROM python:3.11-slim AS base
ENV A=1 \\
    B="two words"

FROM base AS build
ARG NAME
RUN echo "sdp-${NAME}" $FLAVOUR

FROM base AS runtime
COPY --from=build /app /app
USER 10001:10001

FROM runtime AS one
EXPOSE 5500
HEALTHCHECK --interval=10s CMD ["python", "-m", "one.health"]
CMD ["python", "-m", "one"]

FROM runtime AS two
HEALTHCHECK NONE
CMD ["python", "-m", "two"]

FROM ${NAME}
"""


@pytest.fixture
def dockerfile(tmp_path: Path) -> Path:
    path = tmp_path / "Dockerfile"
    path.write_text(DOCKERFILE)
    return path


def test_the_last_stage_named_by_an_argument_inherits_its_bases(dockerfile: Path) -> None:
    one = image(dockerfile, {"NAME": "one"})
    assert one.env == {"A": "1", "B": "two words"}
    assert one.arguments("COPY") == ["--from=build /app /app"]
    assert one.user == "10001:10001"
    assert one.exposed == [5500]
    assert one.healthcheck == ["python", "-m", "one.health"]
    assert one.command == ["python", "-m", "one"]
    two = image(dockerfile, {"NAME": "two"})
    assert (two.exposed, two.healthcheck, two.command) == ([], None, ["python", "-m", "two"])


def test_a_target_expands_only_the_arguments_its_stage_declares(dockerfile: Path) -> None:
    build = image(dockerfile, {"NAME": "one"}, target="build")
    # $FLAVOUR is not declared in the stage: RUN's shell would see it unset, so it stays.
    assert build.arguments("RUN") == ['echo "sdp-one" $FLAVOUR']
    assert build.steps[-2] == Instruction("ARG", "NAME")
