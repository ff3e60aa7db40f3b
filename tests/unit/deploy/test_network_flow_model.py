"""The NetworkPolicy model in tools/check_k8s.py decides flows as Kubernetes does (checked on small cases),
so its verdict on the rendered prod policies (run by CI) can be trusted."""

from __future__ import annotations

import importlib.util
from types import ModuleType

import pytest

from .conftest import ROOT


@pytest.fixture(scope="module")
def check_k8s() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_k8s", ROOT / "tools" / "check_k8s.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def policy(selector: dict, types: list[str], ingress: list | None = None, egress: list | None = None) -> dict:
    spec: dict = {"podSelector": selector, "policyTypes": types}
    if ingress is not None:
        spec["ingress"] = ingress
    if egress is not None:
        spec["egress"] = egress
    return {"kind": "NetworkPolicy", "spec": spec}


API = ("lfr", {"app.kubernetes.io/name": "api"}, None)
DB = ("lfr", {"app.kubernetes.io/name": "db"}, None)
NGINX = ("ingress-nginx", {"app": "nginx"}, None)


def allowed(module: ModuleType, policies: list[dict], src: tuple, dst: tuple, port: int) -> bool:
    return (module.direction_allows(policies, "Egress", src, dst, port, "TCP")
            and module.direction_allows(policies, "Ingress", dst, src, port, "TCP"))


def test_no_policy_allows_everything_and_default_deny_blocks_everything(check_k8s: ModuleType) -> None:
    assert allowed(check_k8s, [], API, DB, 5432)
    deny = [policy({}, ["Ingress", "Egress"])]
    assert not allowed(check_k8s, deny, API, DB, 5432)


def test_a_flow_needs_both_the_egress_and_the_ingress_allow(check_k8s: ModuleType) -> None:
    deny = policy({}, ["Ingress", "Egress"])
    egress = policy({"matchLabels": {"app.kubernetes.io/name": "api"}}, ["Egress"], egress=[
        {"to": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "db"}}}],
         "ports": [{"port": 5432, "protocol": "TCP"}]}])
    ingress = policy({"matchLabels": {"app.kubernetes.io/name": "db"}}, ["Ingress"], ingress=[
        {"from": [{"podSelector": {"matchExpressions": [
            {"key": "app.kubernetes.io/name", "operator": "In", "values": ["api", "other"]}]}}]}])
    assert not allowed(check_k8s, [deny, egress], API, DB, 5432)
    assert allowed(check_k8s, [deny, egress, ingress], API, DB, 5432)
    assert not allowed(check_k8s, [deny, egress, ingress], API, DB, 5433)
    assert not allowed(check_k8s, [deny, egress, ingress], DB, API, 5432)


def test_namespace_selectors_and_ip_blocks(check_k8s: ModuleType) -> None:
    from_nginx = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}
    assert check_k8s.peer_matches(from_nginx, NGINX)
    assert not check_k8s.peer_matches(from_nginx, API)
    assert not check_k8s.peer_matches({"podSelector": {}}, NGINX), "a bare podSelector means this namespace"
    public = {"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}}
    assert check_k8s.peer_matches(public, (None, {}, "203.0.113.7"))
    assert not check_k8s.peer_matches(public, (None, {}, "10.1.2.3"))
    assert not check_k8s.peer_matches(public, API), "an ipBlock does not select pods by label here"


def test_the_expected_flows_follow_the_grpc_call_graph(check_k8s: ModuleType) -> None:
    needed, blocked = check_k8s.expected_flows()
    assert ("watchlists", "inference", 9090) in needed and ("inference", "watchlists", 9090) in needed
    assert ("audit", "ingest", 9090) in needed and ("ingest", "audit", 9090) in blocked
    assert not set(needed) & set(blocked)
