"""The settings step of tools/check_k8s.py (tools/check_k8s_settings.py) fails a pod that would not start,
naming the pod and the problem, and passes one that would: checked on small pods built here, with the
services' real settings classes. CI runs the step itself on both rendered overlays."""

from __future__ import annotations

import base64
import copy
import importlib.util
import sys
from types import ModuleType
from typing import Any

import pytest

from .conftest import ROOT

Manifest = dict[str, Any]
TLS_DIR = "/etc/lfr/tls/grpc"
MASTER_KEY = base64.b64encode(bytes(range(32))).decode()


@pytest.fixture(scope="module")
def check() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "check_k8s_settings", ROOT / "tools" / "check_k8s_settings.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses resolve their annotations through sys.modules
    spec.loader.exec_module(module)
    return module


def config(**overrides: str) -> Manifest:
    data = {
        "LFR_ENVIRONMENT": "production",
        "LFR_AUTH__MODE": "oidc",
        "LFR_AUTH__ISSUER": "https://idp.example.invalid/realms/lfr",
        "LFR_AUTH__AUDIENCE": "lfr",
        "LFR_AUTH__JWKS_URL": "https://idp.example.invalid/realms/lfr/certs",
        "LFR_GRPC_TARGETS": '{"deployments": "deployments:9090"}',
        **overrides,
    }
    return {"kind": "ConfigMap", "metadata": {"name": "lfr-config"}, "data": data}


def certificate(
    service: str, names: list[str] | None = None, usages: list[str] | None = None, issuer: str = "lfr-ca"
) -> Manifest:
    return {
        "kind": "Certificate",
        "metadata": {"name": f"{service}-grpc"},
        "spec": {
            "secretName": f"{service}-grpc-tls",
            "dnsNames": names if names is not None else [service, f"{service}.lfr.svc.cluster.local"],
            "usages": usages if usages is not None else ["digital signature", "server auth", "client auth"],
            "issuerRef": {"group": "cert-manager.io", "kind": "Issuer", "name": issuer},
        },
    }


TRITON_TLS = [
    "--grpc-use-ssl=true",
    "--grpc-use-ssl-mutual=true",
    f"--grpc-server-cert={TLS_DIR}/tls.crt",
    f"--grpc-server-key={TLS_DIR}/tls.key",
    f"--grpc-root-cert={TLS_DIR}/ca.crt",
]


def triton(tls_args: list[str] = TRITON_TLS, cert: Manifest | None = None) -> list[Manifest]:
    """Triton's Deployment, Service and Certificate, as deploy/k8s/base/triton/triton.yaml has them."""
    labels = {"app.kubernetes.io/name": "triton"}
    container = {
        "name": "triton",
        "image": "nvcr.io/nvidia/tritonserver:25.01-py3",
        "args": ["tritonserver", "--model-repository=/models", "--grpc-port=8001", *tls_args],
        "volumeMounts": [{"name": "grpc-tls", "mountPath": TLS_DIR, "readOnly": True}],
    }
    pod = {
        "containers": [container],
        "volumes": [{"name": "grpc-tls", "secret": {"secretName": "triton-grpc-tls"}}],
    }
    return [
        {"kind": "Service", "metadata": {"name": "triton"}, "spec": {"selector": labels}},
        {
            "kind": "Deployment",
            "metadata": {"name": "triton"},
            "spec": {"template": {"metadata": {"labels": labels}, "spec": pod}},
        },
        cert if cert is not None else certificate("triton", usages=["digital signature", "server auth"]),
    ]


def deployment(service: str, env: list[Manifest] | None = None, tls: bool = True) -> Manifest:
    labels = {"app.kubernetes.io/name": service}
    container: Manifest = {
        "name": service,
        "image": f"registry.example/lfr-{service}:0.1.0",
        "envFrom": [{"configMapRef": {"name": "lfr-config"}}],
        "env": list(env or []),
        "volumeMounts": [],
    }
    volumes: list[Manifest] = []
    if tls:
        container["env"] += [
            {"name": f"LFR_GRPC_TLS__{kind}_FILE", "value": f"{TLS_DIR}/{file}"}
            for kind, file in (("CERT", "tls.crt"), ("KEY", "tls.key"), ("CA", "ca.crt"))
        ]
        container["volumeMounts"].append({"name": "grpc-tls", "mountPath": TLS_DIR, "readOnly": True})
        volumes.append({"name": "grpc-tls", "secret": {"secretName": f"{service}-grpc-tls"}})
    if service == "deployments":  # needs the master key
        container["env"] += [
            {"name": "LFR_MASTER_KEY", "valueFrom": {"secretKeyRef": {"name": "lfr-master-key", "key": "k"}}},
        ]
    if service == "inference":  # runs the models on Triton
        container["env"] += [
            {"name": "LFR_INFERENCE_BACKEND", "value": "triton"},
            {"name": "LFR_TRITON_URL", "value": "triton:8001"},
        ]
    if service == "retention":  # the policy from its ConfigMap
        container["env"].append(
            {"name": "LFR_RETENTION_POLICY_FILE", "value": "/etc/lfr/retention/retention-policy.yaml"}
        )
        container["volumeMounts"].append(
            {"name": "policy", "mountPath": "/etc/lfr/retention", "readOnly": True}
        )
        items = [{"key": "retention-policy.yaml", "path": "retention-policy.yaml"}]
        volumes.append({"name": "policy", "configMap": {"name": "retention-policy", "items": items}})
    if service in ("deployments", "inference"):  # needs its calibration table
        container["env"].append({"name": "LFR_CALIBRATION_FILE", "value": "/etc/lfr/calibration/table.json"})
        container["volumeMounts"].append({"name": "calibration", "mountPath": "/etc/lfr/calibration"})
        volumes.append({"name": "calibration", "emptyDir": {}})
    return {
        "kind": "Deployment",
        "metadata": {"name": service},
        "spec": {
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [container], "volumes": volumes},
            }
        },
    }


def platform(*pods: Manifest, **config_overrides: str) -> list[Manifest]:
    issuer = {"kind": "Issuer", "metadata": {"name": "lfr-ca"}, "spec": {"ca": {"secretName": "lfr-ca"}}}
    services = [
        {
            "kind": "Service",
            "metadata": {"name": name},
            "spec": {"selector": {"app.kubernetes.io/name": name}},
        }
        for name in ("alerts", "deployments")
    ]
    return [
        config(**config_overrides),
        issuer,
        *services,
        certificate("alerts"),
        certificate("deployments"),
        certificate("inference"),
        certificate("retention"),
        *pods,
    ]


SHAPES = {("lfr-master-key", "k"): MASTER_KEY}


def problems(check: ModuleType, docs: list[Manifest]) -> list[str]:
    found: list[str] = check.check_service_settings("test", docs, SHAPES)
    return found


def test_pods_with_mutual_tls_from_cert_manager_pass(check: ModuleType) -> None:
    assert problems(check, platform(deployment("alerts"), deployment("deployments"))) == []


def test_a_pod_without_grpc_tls_fails_naming_the_pod_even_with_tls_set_on_this_machine(
    check: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LFR_GRPC_TLS__CA_FILE", str(ROOT / "pyproject.toml"))  # the pod's env only counts
    (problem,) = problems(check, platform(deployment("alerts", tls=False), deployment("deployments")))
    assert problem.startswith("test: Deployment/alerts container alerts: ")
    assert "LFR_GRPC_TLS__CERT_FILE, LFR_GRPC_TLS__KEY_FILE, LFR_GRPC_TLS__CA_FILE unset" in problem


def test_a_tls_file_no_volume_provides_fails(check: ModuleType) -> None:
    alerts = deployment("alerts")
    alerts["spec"]["template"]["spec"]["containers"][0]["volumeMounts"] = []
    found = problems(check, platform(alerts, deployment("deployments")))
    assert (
        f"LFR_GRPC_TLS__CERT_FILE={TLS_DIR}/tls.crt: no volume mount of the pod provides this file"
        in "".join(found)
    )
    itemised = deployment("alerts")  # a Secret volume with items provides exactly those files
    itemised["spec"]["template"]["spec"]["volumes"][0]["secret"]["items"] = [
        {"key": "tls.crt", "path": "tls.crt"}
    ]
    (key, ca) = problems(check, platform(itemised, deployment("deployments")))
    assert "LFR_GRPC_TLS__KEY_FILE" in key and "LFR_GRPC_TLS__CA_FILE" in ca


def test_a_settings_error_fails_with_the_settings_message(check: ModuleType) -> None:
    alerts, deployments = problems(
        check, platform(deployment("alerts"), deployment("deployments"), LFR_AUTH__MODE="embedded")
    )
    assert alerts.startswith(
        "test: Deployment/alerts container alerts: invalid configuration for AlertsSettings"
    )
    assert "LFR_AUTH__MODE" in alerts
    assert deployments.startswith("test: Deployment/deployments container deployments: invalid configuration")


def test_development_on_kubernetes_fails(check: ModuleType) -> None:
    found = problems(
        check, platform(deployment("alerts"), LFR_ENVIRONMENT="development", LFR_AUTH__MODE="embedded")
    )
    assert any("LFR_ENVIRONMENT is 'development'" in p for p in found), found


def test_files_of_the_checkout_are_not_in_the_pod_and_mounted_ones_are_never_read(check: ModuleType) -> None:
    # /etc/lfr/calibration/table.json exists nowhere on this machine: the emptyDir mount is what counts.
    assert problems(check, platform(deployment("deployments"))) == []
    unmounted = deployment("deployments")
    unmounted["spec"]["template"]["spec"]["containers"][0]["env"] = [
        e
        for e in unmounted["spec"]["template"]["spec"]["containers"][0]["env"]
        if e["name"] != "LFR_CALIBRATION_FILE"
    ]
    # The default table lives in the checkout (deploy/triton/...), which the image does not contain.
    (problem,) = problems(check, platform(unmounted))
    assert "Deployment/deployments" in problem and "LFR_CALIBRATION_FILE: no calibration table" in problem


def test_a_certificate_must_name_the_host_callers_dial_and_allow_client_auth(check: ModuleType) -> None:
    docs = platform(deployment("alerts"), deployment("deployments"))
    renamed = [d for d in docs if d.get("metadata", {}).get("name") != "deployments-grpc"]
    renamed.append(certificate("deployments", names=["deployments.lfr.svc.cluster.local"]))
    (problem,) = problems(check, renamed)
    assert problem == (
        "test: Deployment/alerts container alerts: gRPC target deployments=deployments:9090: "
        "the certificate of test: Deployment/deployments container deployments does not name 'deployments'"
    )
    server_only = copy.deepcopy(docs)
    next(d for d in server_only if d["metadata"]["name"] == "alerts-grpc")["spec"]["usages"] = ["server auth"]
    (problem,) = problems(check, server_only)
    assert "Certificate/alerts-grpc needs the usages ['client auth', 'server auth']" in problem


def test_a_certificate_must_name_its_own_service_to_the_servers_it_calls(check: ModuleType) -> None:
    docs = platform(deployment("alerts"), deployment("deployments"))
    ambiguous = [d for d in docs if d.get("metadata", {}).get("name") != "alerts-grpc"]
    ambiguous.append(certificate("alerts", names=["alerts", "alerts.lfr.svc", "deployments.lfr.svc"]))
    (problem,) = problems(check, ambiguous)
    assert problem.startswith(
        "test: Deployment/alerts container alerts: Certificate/alerts-grpc identifies no single service "
        "to the gRPC servers it calls, not alerts: the first label of its DNS names must be 'alerts'"
    )
    # Triton's certificate comes from the same CA: naming a service would let its holder call as that service.
    pods = (deployment("inference"), deployment("deployments"))
    usurper = certificate("triton", names=["triton", "deployments.lfr.svc"], usages=["server auth"])
    (problem,) = problems(check, platform(*pods, *triton(cert=usurper)))
    assert problem == (
        "Certificate/triton-grpc identifies the deployments service to gRPC servers, but the deployments "
        "pods present Certificate/deployments-grpc: whoever holds it could call as deployments"
    )


def test_kubernetes_variable_expansion(check: ModuleType) -> None:
    env = {"PASSWORD": "s3cret"}
    assert check.expand("u:$(PASSWORD)@h/$(UNSET)", env) == "u:s3cret@h/$(UNSET)"
    assert check.expand("$$(PASSWORD) costs $$5", env) == "$(PASSWORD) costs $5"


def test_inference_on_triton_over_mutual_tls_passes(check: ModuleType) -> None:
    assert problems(check, platform(deployment("inference"), deployment("deployments"), *triton())) == []


def test_inference_running_models_its_image_does_not_have_fails(check: ModuleType) -> None:
    in_process = deployment("inference")
    env = in_process["spec"]["template"]["spec"]["containers"][0]["env"]
    next(e for e in env if e["name"] == "LFR_INFERENCE_BACKEND")["value"] = "onnxruntime"
    # deploy/triton is in this checkout, not in the image: the pod has no models to run in process.
    (problem,) = problems(check, platform(in_process, deployment("deployments"), *triton()))
    assert problem.startswith("test: Deployment/inference container inference: invalid configuration")
    assert "LFR_INFERENCE_BACKEND=onnxruntime runs the models in this process" in problem
    no_table = deployment("inference")
    container = no_table["spec"]["template"]["spec"]["containers"][0]
    container["env"] = [e for e in container["env"] if e["name"] != "LFR_CALIBRATION_FILE"]
    (problem,) = problems(check, platform(no_table, deployment("deployments"), *triton()))
    assert "LFR_CALIBRATION_FILE unset" in problem and "provisional score mapping" in problem


def test_triton_without_mutual_tls_from_the_services_ca_fails(check: ModuleType) -> None:
    pods = (deployment("inference"), deployment("deployments"))
    where = (
        "test: Deployment/inference container inference: "
        "Triton at triton:8001 (Deployment/triton container triton)"
    )
    (plaintext,) = problems(check, platform(*pods, *triton(tls_args=[])))
    assert plaintext.startswith(f"{where} serves gRPC without mutual TLS")
    (one_way,) = problems(check, platform(*pods, *triton(tls_args=TRITON_TLS[:1] + TRITON_TLS[2:])))
    assert "serves gRPC without mutual TLS" in one_way
    renamed = certificate("triton", names=["triton.lfr.svc.cluster.local"], usages=["server auth"])
    (unnamed,) = problems(check, platform(*pods, *triton(cert=renamed)))
    assert unnamed == f"{where} --grpc-server-cert: Certificate/triton-grpc does not name 'triton'"
    foreign = certificate("triton", usages=["server auth"], issuer="another-ca")
    found = problems(check, platform(*pods, *triton(cert=foreign)))
    assert len(found) == 3 and all("is not from the issuer of inference's certificate" in p for p in found)
    (nothing,) = problems(check, [d for d in platform(*pods, *triton()) if d["metadata"]["name"] != "triton"])
    assert nothing.endswith("LFR_TRITON_URL=triton:8001: no Service 'triton' in front of tritonserver")


def test_retention_without_its_mounted_policy_fails(check: ModuleType) -> None:
    assert problems(check, platform(deployment("retention"), deployment("deployments"))) == []
    unmounted = deployment("retention")
    unmounted["spec"]["template"]["spec"]["containers"][0]["volumeMounts"].pop()
    (problem,) = problems(check, platform(unmounted, deployment("deployments")))
    assert (
        "LFR_RETENTION_POLICY_FILE: no retention policy at /etc/lfr/retention/retention-policy.yaml"
        in problem
    )
    unset = deployment("retention")
    container = unset["spec"]["template"]["spec"]["containers"][0]
    container["env"] = [e for e in container["env"] if e["name"] != "LFR_RETENTION_POLICY_FILE"]
    # The default, deploy/retention-policy.yaml, is in this checkout, not in the image.
    (problem,) = problems(check, platform(unset, deployment("deployments")))
    assert problem.startswith("test: Deployment/retention container retention: invalid configuration")
    assert "production refuses to enforce built-in defaults" in problem
