# syntax=docker/dockerfile:1
# The image of every Switchboard service, chosen by build arguments. Build from the repository root (the uv
# workspace is the build context), as docker-compose.yml does:
#   docker build -t switchboard/registry --build-arg SERVICE=registry
#     --build-arg MODULE=switchboard_registry --build-arg PORT=8081 .     (one command line)
#
# SERVICE is the directory under services/ (its workspace package is switchboard-<SERVICE>), MODULE the Python
# package that holds main.py:create_app, PORT the port it serves. tests/deploy/test_compose.py checks that
# compose passes all three for every service and that they match the workspace.
# CMD and HEALTHCHECK are exec form, which expands no variables, so uvicorn reads its app, host and port from
# the UVICORN_* variables set below (uvicorn's CLI reads UVICORN_<OPTION>, and UVICORN_APP for its argument).
# Pattern: astral-sh/uv-docker-example (multistage), adapted to a workspace with one root uv.lock.

# ---- builder: resolve from uv.lock into /app/.venv; uv itself never reaches the runtime image ----
FROM python:3.11-slim AS builder
COPY --from=ghcr.io/astral-sh/uv:0.13.8 /uv /bin/uv

# Compile bytecode at build time (the runtime filesystem is read-only); copy rather than hardlink out of
# the cache mount; use the image's Python 3.11, which is the same path in the runtime stage.
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=0
WORKDIR /app

ARG SERVICE
ARG MODULE
ARG PORT
RUN test -n "$SERVICE" && test -n "$MODULE" && test -n "$PORT" \
    || { echo "build with --build-arg SERVICE=<services/ dir> MODULE=<package> PORT=<port>" >&2; exit 1; }

# Dependency layer: only the lock and the workspace's pyproject files, so it is rebuilt only when they
# change. uv needs every member's pyproject.toml to recognise the workspace that uv.lock describes.
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    --mount=type=bind,source=shared/contracts/pyproject.toml,target=shared/contracts/pyproject.toml \
    --mount=type=bind,source=shared/platform/pyproject.toml,target=shared/platform/pyproject.toml \
    --mount=type=bind,source=shared/testing/pyproject.toml,target=shared/testing/pyproject.toml \
    --mount=type=bind,source=services/registry/pyproject.toml,target=services/registry/pyproject.toml \
    --mount=type=bind,source=services/ingress/pyproject.toml,target=services/ingress/pyproject.toml \
    --mount=type=bind,source=services/dispatcher/pyproject.toml,target=services/dispatcher/pyproject.toml \
    --mount=type=bind,source=services/ai-responder/pyproject.toml,target=services/ai-responder/pyproject.toml \
    --mount=type=bind,source=cli/pyproject.toml,target=cli/pyproject.toml \
    uv sync --locked --no-dev --no-install-workspace --package switchboard-${SERVICE}

# Project layer: the workspace sources (tests and caches are excluded by .dockerignore). --no-editable
# installs switchboard-contracts, switchboard-platform and the service as wheels, so the venv does not point
# back at /app/shared.
COPY pyproject.toml uv.lock /app/
COPY shared/contracts /app/shared/contracts
COPY shared/platform /app/shared/platform
COPY services /app/services
# The CLI and the test support are workspace members too: uv needs their pyproject.toml, never their code, to
# build a service.
COPY shared/testing/pyproject.toml /app/shared/testing/pyproject.toml
COPY cli/pyproject.toml /app/cli/pyproject.toml
# Browser assets a service serves itself (the registry's console: htmx) from the npm registry, pinned by SHA-256
# in the script; never from a CDN at run time. Fetched before the install below so they are part of the wheel.
COPY deploy/local/vendor_assets.py /app/deploy/local/vendor_assets.py
RUN --mount=type=cache,target=/root/.cache/switchboard python deploy/local/vendor_assets.py /app
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev --no-editable --package switchboard-${SERVICE}

# ---- runtime: the same Python image, the venv and nothing else ----
FROM python:3.11-slim

# A fixed numeric uid so Kubernetes' runAsNonRoot can verify it and volume ownership is predictable.
RUN groupadd --system --gid 10001 switchboard \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin switchboard

# Owned by root on purpose: the service can read and run its code but not modify it.
COPY --from=builder /app/.venv /app/.venv

ARG SERVICE
ARG MODULE
ARG PORT
ENV PATH="/app/.venv/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    UVICORN_APP="${MODULE}.main:create_app" \
    UVICORN_FACTORY=true \
    UVICORN_HOST=0.0.0.0 \
    UVICORN_PORT="${PORT}"
WORKDIR /app

LABEL org.opencontainers.image.title="switchboard-${SERVICE}"

EXPOSE ${PORT}

# Liveness only: /healthz answers 200 while the process serves HTTP. Readiness (/readyz) depends on Kafka
# and MongoDB and belongs to the orchestrator's readiness probe, not to restarting this container.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ['UVICORN_PORT'] + '/healthz', timeout=3)"]

USER 10001

# uvicorn --factory ${MODULE}.main:create_app --host 0.0.0.0 --port ${PORT}, from the UVICORN_* variables.
CMD ["uvicorn"]
