# syntax=docker/dockerfile:1.7
# The inference service: `python -m lfr_inference`.
# Build from the REPOSITORY ROOT (libs/ and proto/ must be in the context):
#   docker build -f docker/inference.Dockerfile -t lfr-inference .
# Runs as a numeric non-root user on a read-only root filesystem (mount an emptyDir at /tmp).
# No secrets are baked in: everything sensitive arrives at run time from Kubernetes Secrets.
# Health is checked by Kubernetes probes (/healthz, /readyz, startup), so there is no HEALTHCHECK.

# Base image pinned by version tag; at release also pin by digest:
#   python:3.11.11-slim-bookworm@sha256:<digest>   (placeholder: fill in from `docker buildx imagetools inspect`)
ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

# uv, pinned to the version that wrote uv.lock (copied from its distroless image, per uv's Docker guide).
FROM ghcr.io/astral-sh/uv:0.13.9 AS uv

FROM ${PYTHON_IMAGE} AS build
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.11 \
    UV_PROJECT_ENVIRONMENT=/opt/venv
WORKDIR /src
# The whole uv workspace: `--frozen` needs every member's pyproject.toml to match uv.lock.
COPY pyproject.toml uv.lock ./
COPY proto/ proto/
COPY libs/ libs/
COPY cli/ cli/
COPY services/ services/
# Only this package and its locked dependencies, installed as wheels (not editable), so the runtime stage
# needs /opt/venv and nothing from /src.
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package lfr-inference

FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 lfr \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /tmp --shell /usr/sbin/nologin lfr
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    LFR_HTTP_HOST=0.0.0.0 \
    LFR_HTTP_PORT=8080 \
    LFR_GRPC_PORT=9090
USER 10001:10001
EXPOSE 8080 9090
ENTRYPOINT ["python", "-m", "lfr_inference"]
