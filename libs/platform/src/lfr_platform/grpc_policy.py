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

GetDataKey is narrowed once more, per data class (`DATA_KEY_CLASSES`): the deployments servicer refuses a
class its caller's code never opens or seals, so a compromised ingest cannot fetch watchlist image keys.
`SERVED_BY` says which services serve each gRPC service, so the allow-list also gives the network flows
(`grpc_peers`; tools/check_k8s.py checks the NetworkPolicies against them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Final

from lfr_platform.crypto import DataClass

SERVICES: Final = frozenset(
    {"deployments", "watchlists", "inference", "ingest", "alerts", "audit", "retention"}
)

# Which per-deployment data keys each service may fetch (GetDataKey), from the code that fetches them
# (lfr_platform.data_keys is the client); tests/security/test_data_key_classes.py holds the call sites.
DATA_KEY_CLASSES: Final[Mapping[str, frozenset[DataClass]]] = MappingProxyType(
    {
        # Seals frames (lfr_ingest.adapters.publisher).
        "ingest": frozenset({DataClass.FRAMES}),
        # Opens frames, seals face crops (lfr_inference.app.recognition).
        "inference": frozenset({DataClass.FRAMES, DataClass.ALERT_MEDIA}),
        # Opens crops (lfr_alerts.adapters.media) and alerted entries' images (adapters.watchlist_images).
        "alerts": frozenset({DataClass.ALERT_MEDIA, DataClass.WATCHLIST_MEDIA}),
        # Seals and opens watchlist images (lfr_watchlists.adapters.vault).
        "watchlists": frozenset({DataClass.WATCHLIST_MEDIA}),
    }
)

ALLOWED_CALLERS: Final[Mapping[str, frozenset[str]]] = MappingProxyType(
    {
        # Per-deployment data keys, each class only to its services (DATA_KEY_CLASSES).
        "/lfr.keys.v1.DataKeys/GetDataKey": frozenset(DATA_KEY_CLASSES),
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


# The platform services serving each gRPC service: every ServiceKit serves its own event log and health.
SERVED_BY: Final[Mapping[str, frozenset[str]]] = MappingProxyType(
    {
        "lfr.keys.v1.DataKeys": frozenset({"deployments"}),
        "lfr.watchlists.v1.Gallery": frozenset({"watchlists"}),
        "lfr.inference.v1.FaceEnrolment": frozenset({"inference"}),
        "lfr.eventlog.v1.EventLog": SERVICES,
        "grpc.health.v1.Health": SERVICES,
    }
)
# Carries no data and no service calls it across the network (kubelet probes use HTTP): no flow for it.
_NO_FLOW: Final = frozenset({"grpc.health.v1.Health"})


def may_call(caller: str | None, method: str) -> bool:
    """Whether `caller` (a service name; None: unidentified) may invoke `method` (`/pkg.Service/Method`)."""
    return caller is not None and caller in ALLOWED_CALLERS.get(method, frozenset())


def may_get_data_key(caller: str, data_class: str) -> bool:
    """Whether the `caller` service may fetch data keys of `data_class` (`frames`, ...)."""
    return data_class in DATA_KEY_CLASSES.get(caller, frozenset())


def grpc_peers(caller: str) -> frozenset[str]:
    """The other services whose gRPC `caller` calls: the network flows the allow-list needs."""
    return frozenset(
        server
        for method, callers in ALLOWED_CALLERS.items()
        if caller in callers and (grpc_service := method.split("/")[1]) not in _NO_FLOW
        for server in SERVED_BY[grpc_service]
        if server != caller
    )


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
