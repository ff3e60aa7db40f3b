"""Every service under services/ is buildable and deployable, and every pod runs locked down.

The service list comes from the services/ folder, so a new service fails here until it has a Dockerfile,
a skaffold artifact, a Deployment, a Service and a NetworkPolicy. Rendering with real kustomize and the
kubernetes-validate / checkov / yamllint checks are in tools/check_k8s.py (run by CI).
"""

from __future__ import annotations

import re
import subprocess
from typing import Any

import pytest
import yaml

from .conftest import K8S, ROOT, architecture_prefixes, load_documents

Manifest = dict[str, Any]
POD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"}


def find(resources: list[Manifest], kind: str, name: str) -> Manifest:
    matches = [r for r in resources if r.get("kind") == kind and r["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind} named {name!r}, found {len(matches)}"
    return matches[0]


def skaffold() -> Manifest:
    return load_documents(ROOT / "skaffold.yaml")[0]


def test_every_service_has_a_dockerfile_built_from_the_lock(services: list[str]) -> None:
    for service in services:
        dockerfile = ROOT / "docker" / f"{service}.Dockerfile"
        assert dockerfile.exists(), f"{dockerfile.relative_to(ROOT)} is missing"
        text = dockerfile.read_text()
        stages = re.findall(r"^FROM \S+", text, flags=re.M)
        assert len(stages) >= 3, f"{service}: expected a multi-stage build (uv, build, runtime)"
        pinned = re.search(r"^ARG PYTHON_IMAGE=python:3\.11\.\d+-slim", text, flags=re.M)
        assert pinned, f"{service}: the base must be a pinned Python 3.11 slim tag"
        assert f"uv sync --frozen --no-dev --no-editable --package lfr-{service}" in text
        assert re.search(r"^USER \d+:\d+$", text, flags=re.M), f"{service}: needs a numeric non-root USER"
        assert f'ENTRYPOINT ["python", "-m", "lfr_{service}"]' in text
        assert "HEALTHCHECK" not in re.sub(r"#.*", "", text), f"{service}: Kubernetes probes, not HEALTHCHECK"
        for copied in ("libs/", "proto/"):
            assert f"COPY {copied}" in text, f"{service}: {copied} must be in the build"


def test_every_service_has_a_skaffold_artifact_built_from_the_repository_root(services: list[str]) -> None:
    config = skaffold()
    assert config["apiVersion"].startswith("skaffold/v4beta")
    artifacts = {a["image"]: a for a in config["build"]["artifacts"]}
    for service in [*services, "gateway"]:
        artifact = artifacts.get(f"lfr-{service}")
        assert artifact is not None, f"skaffold.yaml has no artifact lfr-{service}"
        assert artifact["context"] == "."
        assert artifact["docker"]["dockerfile"] == f"docker/{service}.Dockerfile"
        assert (ROOT / artifact["docker"]["dockerfile"]).exists()
    for artifact in artifacts.values():
        assert (ROOT / artifact["docker"]["dockerfile"]).exists(), artifact["image"]
    profiles = {p["name"]: p for p in config["profiles"]}
    for name in ("dev", "prod"):
        (path,) = profiles[name]["manifests"]["kustomize"]["paths"]
        assert path == f"deploy/k8s/overlays/{name}" and (ROOT / path / "kustomization.yaml").exists()


def test_every_service_has_deployment_service_and_network_policy(services: list[str], prod_resources) -> None:
    artifacts = {a["image"] for a in skaffold()["build"]["artifacts"]}
    for service in services:
        deployment = find(prod_resources, "Deployment", service)
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert container["image"] in artifacts, f"{service}: {container['image']} is no skaffold artifact"
        assert {p["containerPort"] for p in container["ports"]} == {8080, 9090}

        svc = find(prod_resources, "Service", service)
        assert all(labels.get(k) == v for k, v in svc["spec"]["selector"].items()), f"{service}: selector"
        assert {p["port"] for p in svc["spec"]["ports"]} == {8080, 9090}

        policy = find(prod_resources, "NetworkPolicy", service)
        assert policy["spec"]["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": service}
        assert set(policy["spec"]["policyTypes"]) == {"Ingress", "Egress"}

        account = find(prod_resources, "ServiceAccount", service)
        assert account["automountServiceAccountToken"] is False
        assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == service


def test_namespace_default_denies_and_enforces_restricted_pod_security(prod_resources) -> None:
    labels = find(prod_resources, "Namespace", "lfr")["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    deny = find(prod_resources, "NetworkPolicy", "default-deny")["spec"]
    assert deny["podSelector"] == {} and set(deny["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in deny and "egress" not in deny


def _effective(container: Manifest, pod: Manifest, key: str) -> Any:
    return container.get("securityContext", {}).get(key, pod.get("securityContext", {}).get(key))


def test_every_container_runs_with_the_restricted_security_context(overlay_resources) -> None:
    overlay, resources = overlay_resources
    pods = [(path, doc) for path, doc in resources if doc["kind"] in POD_KINDS]
    assert len(pods) >= 10, overlay
    for path, doc in pods:
        pod = doc["spec"]["template"]["spec"]
        where = f"{overlay}: {doc['kind']}/{doc['metadata']['name']} ({path.relative_to(ROOT)})"
        assert pod.get("automountServiceAccountToken") is False, where
        assert not any(pod.get(k) for k in ("hostNetwork", "hostPID", "hostIPC")), where
        for container in [*pod.get("initContainers", []), *pod["containers"]]:
            context = container.get("securityContext", {})
            name = f"{where} container {container['name']}"
            assert context.get("allowPrivilegeEscalation") is False, name
            assert context.get("readOnlyRootFilesystem") is True, name
            assert context.get("capabilities", {}).get("drop") == ["ALL"], name
            assert not context.get("capabilities", {}).get("add"), name
            assert context.get("privileged") in (None, False), name
            assert _effective(container, pod, "runAsNonRoot") is True, name
            assert _effective(container, pod, "runAsUser") >= 10000, name
            assert _effective(container, pod, "seccompProfile") == {"type": "RuntimeDefault"}, name
            assert {"requests", "limits"} <= set(container.get("resources", {})), name
            assert {"cpu", "memory"} <= set(container["resources"]["limits"]), name
        for container in pod["containers"]:
            for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                assert probe in container, f"{where} container {container['name']}: {probe}"


def test_service_probes_use_healthz_and_readyz(services: list[str], prod_resources) -> None:
    for service in services:
        (container,) = find(prod_resources, "Deployment", service)["spec"]["template"]["spec"]["containers"]
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"


def test_triton_has_a_gpu_in_prod_and_health_probes(prod_resources) -> None:
    pod = find(prod_resources, "Deployment", "triton")["spec"]["template"]["spec"]
    (triton,) = pod["containers"]
    assert triton["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    assert triton["livenessProbe"]["httpGet"]["path"] == "/v2/health/live"
    assert triton["image"].startswith("nvcr.io/nvidia/tritonserver:")
    # The GPU arrives through the prod overlay's patch; read it the way kustomize merges it.
    patch = load_documents(K8S / "overlays" / "prod" / "patches" / "triton-gpu.yaml")[0]
    (patched,) = patch["spec"]["template"]["spec"]["containers"]
    assert patched["name"] == "triton" and patched["resources"]["limits"]["nvidia.com/gpu"] == 1


def test_ingress_routes_each_rest_prefix_to_its_service_and_the_console_to_gateway(prod_resources) -> None:
    (rule,) = find(prod_resources, "Ingress", "lfr")["spec"]["rules"]
    routes = {p["path"]: p["backend"]["service"]["name"] for p in rule["http"]["paths"]}
    expected = architecture_prefixes()
    assert set(expected) >= {"deployments", "watchlists", "inference", "cameras", "ingest", "alerts", "audit"}
    for prefix, service in expected.items():
        assert routes.get(f"/api/v1/{prefix}") == service, prefix
    assert routes["/"] == "gateway"


def test_no_secret_value_is_committed() -> None:
    for path in sorted((ROOT / "deploy").rglob("*.y*ml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if isinstance(doc, dict) and doc.get("kind") == "Secret":
                assert not doc.get("data") and not doc.get("stringData"), f"secret values in {path}"


def test_generated_secrets_read_only_gitignored_files() -> None:
    kustomizations = sorted(K8S.rglob("kustomization.yaml"))
    generated = 0
    for path in kustomizations:
        for generator in load_documents(path)[0].get("secretGenerator", []):
            assert not generator.get("literals"), f"{path}: secret {generator['name']} has literal values"
            for source in [*generator.get("envs", []), *generator.get("files", [])]:
                file = path.parent / source.split("=")[-1]
                generated += 1
                ignored = subprocess.run(["git", "check-ignore", "-q", str(file)], cwd=ROOT)
                assert ignored.returncode == 0, f"{file} must be gitignored"
                tracked = subprocess.run(["git", "ls-files", "--error-unmatch", str(file)], cwd=ROOT,
                                         capture_output=True)
                assert tracked.returncode != 0, f"{file} is committed"
    assert generated > 0


# The master key wraps the deployments' data keys and seals ingest's camera credentials; the audit signing
# key signs tree heads. No other pod may hold them.
KEY_HOLDERS = {"lfr-master-key": {"deployments", "ingest"}, "lfr-audit-signing-key": {"audit"}}


@pytest.mark.parametrize("secret", sorted(KEY_HOLDERS))
def test_key_material_reaches_only_its_owners(secret: str, prod_resources) -> None:
    holders = set()
    for doc in prod_resources:
        if doc["kind"] in POD_KINDS and secret in yaml.safe_dump(doc):
            holders.add(doc["metadata"]["name"])
    assert holders == KEY_HOLDERS[secret]


def test_retention_enforces_the_shipped_policy_from_a_generated_config_map(prod_resources) -> None:
    # kustomize reads no file outside deploy/k8s/base, so the ConfigMap is generated from a copy.
    canonical = ROOT / "deploy" / "retention-policy.yaml"
    copy = K8S / "base" / "retention-policy.yaml"
    assert copy.read_bytes() == canonical.read_bytes(), f"{copy} differs from {canonical}: copy it again"
    base = load_documents(K8S / "base" / "kustomization.yaml")[0]
    (generator,) = [g for g in base["configMapGenerator"] if g["name"] == "retention-policy"]
    assert generator["files"] == ["retention-policy.yaml"]
    pod = find(prod_resources, "Deployment", "retention")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == "retention-policy"]
    assert mount["readOnly"] is True
    assert env["LFR_RETENTION_POLICY_FILE"] == f"{mount['mountPath']}/retention-policy.yaml"
    (volume,) = [v for v in pod["volumes"] if v["name"] == "retention-policy"]
    assert volume["configMap"]["name"] == "retention-policy"
    assert volume["configMap"]["items"] == [{"key": "retention-policy.yaml", "path": "retention-policy.yaml"}]
