# syntax=docker/dockerfile:1.7
# The Triton model repository (deploy/triton/) as a small, versioned image. The Triton pod's init container
# copies /models into an emptyDir that tritonserver serves with --model-repository, so a model version bump
# is an image tag bump (and a recalibration: see docs/operations.md).
# Build from the repository root:  docker build -f docker/triton-models.Dockerfile -t lfr-triton-models .
# Pin by digest at release: busybox:1.37.0-musl@sha256:<digest> (placeholder).
FROM busybox:1.37.0-musl
COPY --chown=10001:10001 deploy/triton/ /models/
USER 10001:10001
ENTRYPOINT ["cp", "-R", "/models/.", "/model-repository/"]
