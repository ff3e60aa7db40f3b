"""The gRPC caller allow-list (`lfr_platform.grpc_policy`): it names exactly the methods the protos define
(so a new RPC cannot be forgotten, and a stale line cannot linger), grants them least privilege, and maps
a certificate's names to one service or to none."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from grpc_health.v1 import health_pb2
from lfr_platform.crypto import DataClass
from lfr_platform.grpc_policy import (
    ALLOWED_CALLERS,
    DATA_KEY_CLASSES,
    SERVED_BY,
    SERVICES,
    caller_service,
    grpc_peers,
    may_call,
    may_get_data_key,
)

ROOT = Path(__file__).resolve().parents[3]
HEALTH = {"/grpc.health.v1.Health/Check", "/grpc.health.v1.Health/Watch"}


def _methods(module: Any) -> set[str]:
    descriptor = module.DESCRIPTOR
    return {
        f"/{service.full_name}/{method.name}"
        for service in descriptor.services_by_name.values()
        for method in service.methods
    }


def proto_methods() -> set[str]:
    """Every RPC of every proto/lfr/<area>/v1/*.proto, read from its generated module."""
    found: set[str] = set()
    protos = sorted((ROOT / "proto").glob("lfr/*/v1/*.proto"))
    assert protos, "no protos found: is ROOT the repository?"
    for proto in protos:
        module = ".".join(proto.relative_to(ROOT / "proto").with_suffix("").parts) + "_pb2"
        found |= _methods(importlib.import_module(f"lfr_proto.{module}"))
    return found


def test_every_proto_method_and_nothing_else_is_in_the_allow_list() -> None:
    methods = proto_methods()
    assert "/lfr.keys.v1.DataKeys/DestroyDataKey" in methods  # the reading works
    assert _methods(health_pb2) == HEALTH
    missing = methods - set(ALLOWED_CALLERS)
    assert not missing, f"RPCs nobody may call: add them to lfr_platform.grpc_policy: {sorted(missing)}"
    unknown = set(ALLOWED_CALLERS) - methods - HEALTH
    assert not unknown, f"the allow-list names methods no proto defines: {sorted(unknown)}"
    for method, callers in ALLOWED_CALLERS.items():
        assert callers and callers <= SERVICES, method


def test_least_privilege_for_keys_watchlists_and_enrolment() -> None:
    assert ALLOWED_CALLERS["/lfr.keys.v1.DataKeys/DestroyDataKey"] == {"retention"}
    assert ALLOWED_CALLERS["/lfr.keys.v1.DataKeys/GetDataKey"] == {
        "ingest",
        "inference",
        "alerts",
        "watchlists",
    }
    assert ALLOWED_CALLERS["/lfr.watchlists.v1.Gallery/GetGallery"] == {"inference"}
    assert ALLOWED_CALLERS["/lfr.inference.v1.FaceEnrolment/Enrol"] == {"watchlists"}
    assert ALLOWED_CALLERS["/lfr.eventlog.v1.EventLog/ReadEvents"] == {"audit"}
    assert not may_call("ingest", "/lfr.watchlists.v1.Gallery/GetGallery")
    assert not may_call("ingest", "/lfr.keys.v1.DataKeys/DestroyDataKey")
    assert may_call("ingest", "/grpc.health.v1.Health/Check")
    assert not may_call(None, "/grpc.health.v1.Health/Check")
    assert not may_call("retention", "/lfr.test.v1.Unlisted/Method")  # unlisted: nobody


def test_data_key_classes_narrow_get_data_key() -> None:
    assert set(DATA_KEY_CLASSES) == ALLOWED_CALLERS["/lfr.keys.v1.DataKeys/GetDataKey"]
    assert may_get_data_key("ingest", "frames")
    assert not may_get_data_key("ingest", DataClass.WATCHLIST_MEDIA)
    assert not may_get_data_key("watchlists", "frames")
    assert not may_get_data_key("retention", "frames")  # shreds, never opens
    assert not may_get_data_key("inference", "bogus")


def test_the_network_flows_follow_the_allow_list() -> None:
    """tools/check_k8s.py checks the NetworkPolicies against `grpc_peers`; health needs no flow."""
    assert {method.split("/")[1] for method in ALLOWED_CALLERS} == set(SERVED_BY)
    assert {s: grpc_peers(s) for s in SERVICES} == {
        "deployments": set(),
        "ingest": {"deployments"},
        "alerts": {"deployments"},
        "watchlists": {"deployments", "inference"},
        "inference": {"deployments", "watchlists"},
        "retention": {"deployments"},
        "audit": SERVICES - {"audit"},
    }


def test_a_certificate_names_one_service_or_none() -> None:
    cert_manager = ["ingest", "ingest.lfr", "ingest.lfr.svc", "ingest.lfr.svc.cluster.local"]
    assert caller_service(cert_manager) == "ingest"
    assert caller_service(["Audit.LFR.svc"]) == "audit"
    assert caller_service(["localhost", "alerts.lfr.svc"], "whatever") == "alerts"
    assert caller_service(["ingest.lfr.svc", "deployments.lfr.svc"]) is None  # two services: neither
    assert caller_service(["ingest.lfr.svc"], "deployments") == "ingest"  # DNS names decide
    assert caller_service(["triton", "triton.lfr.svc"]) is None  # same CA, no service
    assert caller_service(["localhost"], "retention") == "retention"  # hand-made: its common name
    assert caller_service([], "rogue") is None
    assert caller_service([], None) is None
    assert caller_service(["ingestor.lfr.svc", "xingest"]) is None  # the whole first label, not a prefix
