# syntax=docker/dockerfile:1
# The image of one service, `python -m sdp_<SERVICE>` for SERVICE api, monitor, beat or
# worker, or Flower for SERVICE flower. Build from the repository root:
#   docker build --build-arg SERVICE=api -f deploy/service.Dockerfile .
# SERVICE picks the last stage, which holds what differs between the services (port,
# healthcheck and command), and with it the build it copies: BuildKit builds only the stages
# the last one needs. There is no default: an image names its service.
ARG SERVICE

FROM ghcr.io/astral-sh/uv:0.9.30 AS uv

FROM python:3.11-slim-bookworm AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

# Only the lock and every member's pyproject.toml: uv needs the whole workspace to resolve
# one package or export the lock, and the dependency layer must not change with source code.
FROM base AS manifests
WORKDIR /workspace
COPY pyproject.toml uv.lock ./
COPY libs libs
COPY services services
RUN find libs services -type f ! -name pyproject.toml -delete

# What both builds start from: uv, installing into the virtualenv the runtime stages copy.
FROM base AS tools
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /workspace

FROM tools AS build
ARG SERVICE
# Layer 1: third-party dependencies from the lock, cached until a pyproject or uv.lock changes.
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,from=manifests,source=/workspace,target=/workspace \
    uv sync --frozen --no-dev --no-install-workspace --package "sdp-${SERVICE}"
# Layer 2: the service and the libraries it imports, installed as wheels (not editable).
COPY pyproject.toml uv.lock ./
COPY libs libs
COPY services services
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package "sdp-${SERVICE}"

# Flower, built from the workspace lock so it speaks the same Celery and kombu versions as the
# services (a prebuilt Flower image pins its own), with sdp-core for the platform's Celery app.
FROM tools AS flower-build
# Layer 1: sdp-core's third-party dependencies from the lock, as in the service builds. Flower
# is a development dependency of the workspace root, not of any package: install it with every
# version (and hash) pinned by the lock, without the rest of the dev group.
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,from=manifests,source=/workspace,target=/workspace \
    uv sync --frozen --no-dev --no-install-workspace --package sdp-core \
    && uv export --frozen --only-group dev --no-emit-workspace --quiet \
        --output-file /tmp/locked.txt \
    && uv pip install --python /app/.venv/bin/python --constraints /tmp/locked.txt \
        --verify-hashes flower
# Layer 2: sdp-core as a wheel (not editable), for `celery -A sdp_core.flower`. --inexact:
# sync would otherwise remove Flower, which sdp-core does not depend on.
COPY pyproject.toml uv.lock ./
COPY libs libs
COPY services services
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --inexact --package sdp-core

# What every image runs as. COPY still writes as root, so the virtualenv the stages below copy
# stays owned by root: the service can read its code, not rewrite it.
FROM base AS accounts
RUN groupadd --system --gid 10001 sdp \
    && useradd --system --uid 10001 --gid sdp --no-log-init --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin sdp
ENV PATH="/app/.venv/bin:${PATH}"
WORKDIR /app
USER 10001:10001

FROM accounts AS runtime
COPY --from=build /app/.venv /app/.venv

# --- what differs per service: one stage each, named after it --------------------------------

FROM runtime AS api
ENV SDP_API_HOST=0.0.0.0 \
    SDP_API_PORT=5500
EXPOSE 5500
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ['SDP_API_PORT'], timeout=4)"]
CMD ["python", "-m", "sdp_api"]

FROM runtime AS monitor
ENV SDP_MONITOR_HOST=0.0.0.0 \
    SDP_MONITOR_PORT=5502
EXPOSE 5502
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ['SDP_MONITOR_PORT'], timeout=4)"]
CMD ["python", "-m", "sdp_monitor"]

FROM runtime AS beat
HEALTHCHECK --interval=30s --timeout=15s --start-period=30s --retries=3 \
    CMD ["python", "-m", "sdp_beat.health"]
CMD ["python", "-m", "sdp_beat"]

FROM runtime AS worker
HEALTHCHECK --interval=30s --timeout=15s --start-period=30s --retries=3 \
    CMD ["python", "-m", "sdp_worker.health"]
CMD ["python", "-m", "sdp_worker"]

# Started with the platform's Celery app from sdp-core, so it counts the queues' priority
# lists. Basic-auth credentials come only from the environment (FLOWER_BASIC_AUTH=user:password).
FROM accounts AS flower
COPY --from=flower-build /app/.venv /app/.venv
ENV FLOWER_PORT=5507
EXPOSE 5507
# /healthcheck is the one Flower page that needs no credentials.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthcheck' % os.environ['FLOWER_PORT'], timeout=4)"]
CMD ["celery", "-A", "sdp_core.flower", "flower"]

# The image: the stage SERVICE names. BuildKit builds only the stages it leads to.
FROM ${SERVICE}
