"""Who may call which internal gRPC method: the one allow-list (as `lfr_platform.auth.policy` is the one
role x permission matrix for HTTP). Every gRPC server checks it under mutual TLS
(`lfr_platform.grpc_authorization`, installed by `lfr_platform.runtime.start_grpc`).

A caller is the service its verified client certificate names. cert-manager gives each service a
certificate whose DNS names are `<svc>`, `<svc>.lfr`, `<svc>.lfr.svc` and `<svc>.lfr.svc.cluster.local`
(deploy/k8s/base/services/<svc>.yaml), so the service is the first label of a DNS name;
`tools/check_k8s_settings.py` keeps every certificate of the CA mapping to its own service or to none.

Least privilege, from the clients in the code: a method lists exactly the services that call it. Adding
an RPC to a proto without a line here fails a test (tests/unit/platform/test_grpc_policy.py), and a server
refuses a method that is not listed, so nothing is callable by accident.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Final

SERVICES: Final = frozenset(
    {"deployments", "watchlists", "inference", "ingest", "alerts", "audit", "retention"}
)

ALLOWED_CALLERS: Final[Mapping[str, frozenset[str]]] = MappingProxyType(
    {
        # Per-deployment data keys (deployments serves them, lfr_platform.data_keys is the client): ingest
        # seals frames; inference opens frames and seals crops; alerts opens crops and watchlist images;
        # watchlists seals and opens watchlist images and personal details.
        "/lfr.keys.v1.DataKeys/GetDataKey": frozenset({"ingest", "inference", "alerts", "watchlists"}),
        # Crypto-shredding is retention's alone (lfr_retention.adapters.keys_grpc).
        "/lfr.keys.v1.DataKeys/DestroyDataKey": frozenset({"retention"}),
        # The frozen watchlist's templates, for live matching (lfr_inference.adapters.peer_clients).
        "/lfr.watchlists.v1.Gallery/GetGallery": frozenset({"inference"}),
        # A watchlist image becomes a template (lfr_watchlists.adapters.peers_grpc).
        "/lfr.inference.v1.FaceEnrolment/Enrol": frozenset({"watchlists"}),
        # Every service's event log, for the audit ledger's gap filling (lfr_audit.adapters.eventlog_client).
        "/lfr.eventlog.v1.EventLog/ReadEvents": frozenset({"audit"}),
        # Native gRPC health carries no data: any service of the platform may ask.
        "/grpc.health.v1.Health/Check": SERVICES,
        "/grpc.health.v1.Health/Watch": SERVICES,
    }
)


def may_call(caller: str | None, method: str) -> bool:
    """Whether `caller` (a service name; None: unidentified) may invoke `method` (`/pkg.Service/Method`)."""
    return caller is not None and caller in ALLOWED_CALLERS.get(method, frozenset())


def service_of_dns_name(name: str) -> str | None:
    """`ingest.lfr.svc` -> `ingest`; None when the first label is no service of the platform."""
    label = name.split(".", 1)[0].lower()
    return label if label in SERVICES else None


def caller_service(dns_names: Iterable[str], common_name: str | None = None) -> str | None:
    """The service a verified certificate identifies, or None.

    Its DNS names decide; names of no service (`localhost` on a test server's certificate) are ignored,
    and a certificate naming two services identifies neither. Only a certificate whose DNS names name no
    service falls back to its common name (certificates made by hand, as the tests' throw-away CA does).
    """
    named = {service for service in map(service_of_dns_name, dns_names) if service is not None}
    if len(named) > 1:
        return None
    if named:
        return named.pop()
    common = (common_name or "").lower()
    return common if common in SERVICES else None
