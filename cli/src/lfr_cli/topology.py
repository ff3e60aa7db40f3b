"""Where each service listens in the embedded stack, and which URL prefixes it owns.

The Kubernetes ingress (deploy/k8s) routes the same prefixes; keep the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    http_port: int
    grpc_port: int
    prefixes: tuple[str, ...]

    @property
    def module(self) -> str:
        return f"lfr_{self.name}"


SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec("deployments", 8101, 9101, ("deployments",)),
    ServiceSpec("watchlists", 8102, 9102, ("watchlists",)),
    ServiceSpec("inference", 8103, 9103, ("inference",)),
    ServiceSpec("ingest", 8104, 9104, ("ingest", "cameras")),
    ServiceSpec("alerts", 8105, 9105, ("alerts",)),
    ServiceSpec("audit", 8106, 9106, ("audit",)),
    ServiceSpec("retention", 8107, 9107, ("retention",)),
)

GATEWAY_PORT = 8000


def route_table(services: tuple[ServiceSpec, ...] = SERVICES, host: str = "127.0.0.1") -> dict[str, str]:
    """URL prefix -> upstream base URL."""
    return {prefix: f"http://{host}:{s.http_port}" for s in services for prefix in s.prefixes}


def grpc_targets(services: tuple[ServiceSpec, ...] = SERVICES, host: str = "127.0.0.1") -> dict[str, str]:
    return {s.name: f"{host}:{s.grpc_port}" for s in services}


def shifted(offset: int, services: tuple[ServiceSpec, ...] = SERVICES) -> tuple[ServiceSpec, ...]:
    """The same services on ports moved by `offset` (a second stack beside a running one, tests)."""
    return tuple(
        ServiceSpec(s.name, s.http_port + offset, s.grpc_port + offset, s.prefixes) for s in services
    )
