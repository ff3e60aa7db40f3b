"""Would each LFR service start with what its rendered pod gives it? (a step of tools/check_k8s.py)

For every rendered Deployment/StatefulSet whose container runs an `lfr-<service>` image (`<service>` a
folder under services/), the container's environment is rebuilt as the kubelet builds it (`envFrom`
ConfigMaps, `env` in order with `$(VAR)` expansion; Secret values replaced by values of the right shape,
taken from the dev overlay's generated Secrets) and the service's settings class is validated from it,
as `python -m lfr_<service>` does first thing. On top of the class's own rules, a pod on Kubernetes runs
as production, and production gRPC is mutual TLS: `LFR_GRPC_TLS__CERT_FILE`, `KEY_FILE` and `CA_FILE` set,
each a file some volume mount provides, the certificate written by a cert-manager `Certificate` with
server and client usages from the same CA as every other service's, naming every host its callers dial,
and naming its own service to the servers it calls (the first label of each DNS name: the caller that
`lfr_platform.grpc_policy` checks), which no other certificate of that CA may name.
An inference pod on the Triton backend sends face crops to LFR_TRITON_URL, so the tritonserver behind
that Service must serve gRPC with mutual TLS from a Certificate of the same CA naming the host dialled.

No file is read on the pod's behalf. While a settings class validates, `os.stat` and `open` answer from a
model of the pod: its volume mounts (a file exists when the volume provides it: a Secret's or ConfigMap's
items or keys, a cert-manager Secret's tls.crt/tls.key/ca.crt, anything in an emptyDir, which an init
container may fill) and its image, which holds the installed Python packages and nothing else of the
repository checkout (the Dockerfiles copy only the venv into the runtime stage).
"""

from __future__ import annotations

import base64
import builtins
import contextlib
import errno
import importlib
import importlib.util
import io
import os
import re
import secrets
import stat
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
POD_OWNERS = ("Deployment", "StatefulSet")
CERT_MANAGER_KEYS = frozenset({"tls.crt", "tls.key", "ca.crt"})
GRPC_TLS_FILES = ("cert_file", "key_file", "ca_file")
KAFKA_TLS_FILES = ("ssl_ca_file", "ssl_cert_file", "ssl_key_file")
GRPC_USAGES = frozenset({"server auth", "client auth"})
_EXPANSION = re.compile(r"\$\$|\$\(([^)]*)\)")

Manifest = dict[str, Any]


def lfr_services() -> set[str]:
    return {p.name for p in (ROOT / "services").iterdir() if (p / "pyproject.toml").is_file()}


def service_of(image: str) -> str | None:
    """`lfr-alerts`, `registry/lfr-alerts:0.1.0` or `...@sha256:...` -> `alerts` (when it is a service)."""
    name = image.rsplit("/", 1)[-1].split("@")[0].split(":")[0]
    service = name.removeprefix("lfr-")
    return service if name != service and service in lfr_services() else None


# --- the container's environment ------------------------------------------------------------------


def secret_values(docs: Iterable[Manifest]) -> dict[tuple[str, str], str]:
    """(Secret name, key) -> value of every rendered Secret (the dev overlay's throw-away ones)."""
    values = {}
    for doc in docs:
        if doc.get("kind") == "Secret":
            name = doc["metadata"]["name"]
            for key, encoded in (doc.get("data") or {}).items():
                values[(name, key)] = base64.b64decode(encoded).decode()
            for key, value in (doc.get("stringData") or {}).items():
                values[(name, key)] = value
    return values


def expand(value: str, env: dict[str, str]) -> str:
    """Kubernetes' `$(VAR)` expansion: defined variables only, `$$` escapes a dollar."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        return env.get(match.group(1), match.group(0))

    return _EXPANSION.sub(replace, value)


def container_env(
    container: Manifest, docs: list[Manifest], shapes: dict[tuple[str, str], str]
) -> dict[str, str]:
    """The environment the kubelet gives `container`; a Secret value is a valid stand-in, never a real one."""
    config_maps = {d["metadata"]["name"]: d.get("data") or {} for d in docs if d.get("kind") == "ConfigMap"}
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        prefix = source.get("prefix", "")
        if "configMapRef" in source:
            ref = source["configMapRef"]
            if ref["name"] not in config_maps and not ref.get("optional"):
                raise ValueError(f"envFrom ConfigMap {ref['name']!r} is not in the rendered objects")
            values = config_maps.get(ref["name"], {})
        else:
            name = source["secretRef"]["name"]
            values = {key: value for (secret, key), value in shapes.items() if secret == name}
        env.update({prefix + key: str(value) for key, value in values.items()})
    for item in container.get("env", []):
        if "value" in item or "valueFrom" not in item:
            env[item["name"]] = expand(str(item.get("value", "")), env)
            continue
        value = _referenced(item["valueFrom"], config_maps, shapes)
        if value is not None:
            env[item["name"]] = value
    return env


def _referenced(
    source: Manifest, config_maps: dict[str, dict[str, str]], shapes: dict[tuple[str, str], str]
) -> str | None:
    if "secretKeyRef" in source:
        ref = source["secretKeyRef"]
        value = shapes.get((ref["name"], ref["key"]))
        if value is None and ref.get("optional"):
            return None  # an optional key is usually absent (e.g. previous master keys outside a rotation)
        return value if value is not None else secrets.token_hex(24)
    if "configMapKeyRef" in source:
        ref = source["configMapKeyRef"]
        value = config_maps.get(ref["name"], {}).get(ref["key"])
        if value is None and not ref.get("optional"):
            raise ValueError(f"ConfigMap key {ref['name']}/{ref['key']} is not in the rendered objects")
        return value
    return "placeholder-from-the-downward-api"


# --- the pod's files ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mount:
    path: PurePosixPath
    volume: str
    secret: str | None  # the Secret a secret volume projects
    files: frozenset[str] | None  # what the volume provides; None: whatever is there at run time
    single_file: bool = False  # a subPath mount of one file


class PodFiles:
    """What a container sees: its volume mounts, and the image (the installed Python packages)."""

    def __init__(self, mounts: list[Mount]) -> None:
        self.mounts = sorted(mounts, key=lambda m: len(m.path.parts), reverse=True)
        self.image_roots = _image_roots()  # after the service's settings module is imported

    def mount_of(self, path: str) -> Mount | None:
        where = _pod_path(path)
        return next((m for m in self.mounts if m.path == where or m.path in where.parents), None)

    def kind(self, path: str) -> str | None:
        """What `path` is in the pod: a "file" or "dir" of a mount (anything under a mount whose content is
        known only at run time counts as a file), "image" (the installed packages), or None: not there."""
        where = _pod_path(path)
        mount = self.mount_of(path)
        if mount is not None:
            if where == mount.path:
                return "file" if mount.single_file else "dir"
            relative = where.relative_to(mount.path).as_posix()
            if mount.files is None or relative in mount.files:
                return "file"
            return "dir" if any(f.startswith(relative + "/") for f in mount.files) else None
        if any(where in m.path.parents for m in self.mounts):
            return "dir"
        real = Path(os.path.abspath(path))
        return "image" if any(real == r or r in real.parents for r in self.image_roots) else None


def _pod_path(path: str) -> PurePosixPath:
    return PurePosixPath(os.path.normpath(os.path.join("/", path)))  # the images have no WORKDIR: "/"


def _image_roots() -> list[Path]:
    """The interpreter, the venv and each `lfr_*` package's folder (editable here, a wheel in the image)."""
    roots = {Path(sys.prefix), Path(sys.base_prefix)}
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if name.startswith("lfr_") and "." not in name and file:
            roots.add(Path(os.path.realpath(file)).parent)
    return sorted(roots)


def pod_files(pod: Manifest, container: Manifest, docs: list[Manifest]) -> PodFiles:
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    certificate_secrets = {d["spec"].get("secretName") for d in docs if d.get("kind") == "Certificate"}
    rendered: dict[tuple[str, str], set[str]] = {}
    for doc in docs:
        if doc.get("kind") in ("Secret", "ConfigMap"):
            keys = {*(doc.get("data") or {}), *(doc.get("stringData") or {})}
            rendered[(doc["kind"], doc["metadata"]["name"])] = keys
    mounts = []
    for mount in container.get("volumeMounts", []):
        volume = volumes.get(mount["name"])
        if volume is None:
            raise ValueError(f"volumeMount {mount['name']!r} names no volume of the pod")
        secret = volume.get("secret", {}).get("secretName")
        files: set[str] | None = None
        if "secret" in volume or "configMap" in volume:
            source = volume.get("secret") or volume["configMap"]
            if source.get("items"):
                files = {item["path"] for item in source["items"]}
            elif secret in certificate_secrets:
                files = set(CERT_MANAGER_KEYS)
            else:
                kind = "Secret" if secret else "ConfigMap"
                files = rendered.get((kind, secret or source.get("name")))  # None: made by an operator
        if mount.get("subPath"):
            files, single = None, True
        else:
            single = False
        frozen = frozenset(files) if files is not None else None
        mounts.append(Mount(PurePosixPath(mount["mountPath"]), mount["name"], secret, frozen, single))
    return PodFiles(mounts)


@contextlib.contextmanager
def pod_filesystem(files: PodFiles) -> Iterator[None]:
    """`os.stat` and `open` (and so pathlib) answer from `files` instead of this machine's disk."""
    real_stat, real_open = os.stat, io.open

    def fake_stat(path: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        if isinstance(path, int) or kwargs.get("dir_fd") is not None:
            return real_stat(path, *args, **kwargs)
        name = os.fsdecode(path)
        kind = files.kind(name)
        if kind == "image":
            return real_stat(path, *args, **kwargs)
        if kind is None:
            raise FileNotFoundError(errno.ENOENT, "not in the pod (no volume mount, not in the image)", name)
        mode = stat.S_IFREG | 0o440 if kind == "file" else stat.S_IFDIR | 0o555
        return os.stat_result((mode, 0, 0, 1, 10001, 10001, 0, 0, 0, 0))

    def fake_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(file, int):
            return real_open(file, *args, **kwargs)
        name = os.fsdecode(file)
        kind = files.kind(name)
        if kind == "image":
            return real_open(file, *args, **kwargs)
        if kind == "file":
            raise PermissionError(
                errno.EACCES, "check_k8s checks that a mount provides this file, never reads it", name
            )
        raise FileNotFoundError(errno.ENOENT, "not in the pod (no volume mount, not in the image)", name)

    saved = (os.stat, io.open, builtins.open)
    os.stat, io.open, builtins.open = fake_stat, fake_open, fake_open
    try:
        yield
    finally:
        os.stat, io.open, builtins.open = saved


@contextlib.contextmanager
def environment(env: dict[str, str]) -> Iterator[None]:
    """Exactly the container's variables, none of this machine's (an `LFR_*` here must not leak in)."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


# --- the checks -----------------------------------------------------------------------------------


@dataclass
class ServicePod:
    where: str  # "<overlay>: Deployment/<name> container <name>"
    service: str
    pod: Manifest
    labels: dict[str, str]
    files: PodFiles
    settings: Any


def service_pods(
    overlay: str, docs: list[Manifest]
) -> Iterator[tuple[str, str, Manifest, Manifest, Manifest]]:
    for doc in docs:
        if doc.get("kind") in POD_OWNERS:
            pod = doc["spec"]["template"]["spec"]
            for container in pod["containers"]:
                service = service_of(container.get("image", ""))
                if service is not None:
                    where = (
                        f"{overlay}: {doc['kind']}/{doc['metadata']['name']} container {container['name']}"
                    )
                    yield where, service, doc, pod, container


def load_settings(
    overlay: str, docs: list[Manifest], shapes: dict[tuple[str, str], str]
) -> tuple[list[ServicePod], list[str]]:
    """Each service pod's settings, validated as its process would at start; problems name the pod."""
    from lfr_platform.settings import service_settings_class

    loaded, problems = [], []
    for where, service, doc, pod, container in service_pods(overlay, docs):
        try:
            cls = service_settings_class(service)  # first: PodFiles notes where its package lives
            env = container_env(container, docs, shapes)
            files = pod_files(pod, container, docs)
        except ValueError as error:
            problems.append(f"{where}: {error}")
            continue
        try:
            with environment(env), pod_filesystem(files):
                settings = cls.load()
        except Exception as error:  # ConfigurationError, or anything a validator raised on the pod's files
            problems.append(f"{where}: {error}")
            continue
        labels = doc["spec"]["template"]["metadata"].get("labels", {})
        loaded.append(ServicePod(where, service, pod, labels, files, settings))
        problems += [f"{where}: {p}" for p in production_problems(settings, files)]
    return loaded, problems


def production_problems(settings: Any, files: PodFiles) -> list[str]:
    if settings.environment != "production":
        return [
            f"LFR_ENVIRONMENT is {settings.environment!r}: on Kubernetes a service runs as production "
            "(plaintext gRPC, the embedded token issuer and generated keys are for `lfr up` only)"
        ]
    problems = []
    for name in GRPC_TLS_FILES:
        path = getattr(settings.grpc_tls, name)
        if path is not None and files.kind(str(path)) != "file":
            variable = f"LFR_GRPC_TLS__{name.upper()}"
            problems.append(f"{variable}={path}: no volume mount of the pod provides this file")
    # A service's settings refuse this when it serves gRPC; a pod that only calls peers needs it too.
    if unset := settings.grpc_tls.production_server_problem():
        problems.append(unset)
    for name in KAFKA_TLS_FILES:
        path = getattr(settings.kafka, name)
        if path is not None and files.kind(str(path)) != "file":
            problems.append(
                f"LFR_KAFKA__{name.upper()}={path}: no volume mount of the pod provides this file"
            )
    return problems


def certificate_problems(pods: list[ServicePod], docs: list[Manifest]) -> list[str]:
    """The gRPC certificates: cert-manager `Certificate`s from one CA issuer, with server and client usages,
    naming every host a caller dials (a client verifies the server's name against the target's host)."""
    by_secret = {d["spec"].get("secretName"): d for d in docs if d.get("kind") == "Certificate"}
    issuers = {
        (d["kind"], d["metadata"]["name"]): d for d in docs if d.get("kind") in ("Issuer", "ClusterIssuer")
    }
    problems: list[str] = []
    names: dict[str, set[str]] = {}  # pod -> the DNS names of its certificate
    issuer_of: dict[str, tuple[str, str]] = {}
    own: dict[str, str] = {}  # service -> the Certificate its pods present
    for pod in pods:
        tls = pod.settings.grpc_tls
        if tls.cert_file is None or tls.ca_file is None:
            continue  # reported by production_problems
        cert_mount, ca_mount = pod.files.mount_of(str(tls.cert_file)), pod.files.mount_of(str(tls.ca_file))
        certificate = by_secret.get(cert_mount.secret) if cert_mount else None
        ca_source = by_secret.get(ca_mount.secret) if ca_mount else None
        if certificate is None or ca_source is None:
            problems.append(
                f"{pod.where}: gRPC cert and CA files must come from a cert-manager Certificate's Secret"
            )
            continue
        spec, ref = certificate["spec"], certificate["spec"].get("issuerRef", {})
        issuer = issuer_of[pod.where] = (ref.get("kind", "Issuer"), ref.get("name"))
        names[pod.where] = set(spec.get("dnsNames", []))
        label = f"Certificate/{certificate['metadata']['name']}"
        own[pod.service] = certificate["metadata"]["name"]
        problems += _identity_problems(pod, label, spec)
        if ca_source["spec"].get("issuerRef", {}) != ref:
            problems.append(f"{pod.where}: the CA file is not from the issuer of {label}")
        if not GRPC_USAGES <= set(spec.get("usages", [])):
            problems.append(f"{pod.where}: {label} needs the usages {sorted(GRPC_USAGES)}")
        if issuer[0] == "Issuer" and "ca" not in issuers.get(issuer, {}).get("spec", {}):
            problems.append(f"{pod.where}: {label}: {issuer[0]}/{issuer[1]} is no CA issuer of the overlay")
    if len(set(issuer_of.values())) > 1:
        problems.append(
            f"the services' gRPC certificates have different issuers: {sorted(set(issuer_of.values()))}"
        )
    problems += _impersonations(by_secret.values(), set(issuer_of.values()), own)
    services = {d["metadata"]["name"]: d for d in docs if d.get("kind") == "Service"}
    for caller in pods:
        for peer, target in (getattr(caller.settings, "grpc_targets", None) or {}).items():
            problems += _unnamed_target(caller, peer, target, pods, services, names)
    return problems


def _identity_problems(pod: ServicePod, label: str, spec: Manifest) -> list[str]:
    """A gRPC server knows its caller by the service its certificate's DNS names name (the first label:
    `ingest.lfr.svc` is ingest) and answers what lfr_platform.grpc_policy grants that service."""
    from lfr_platform.grpc_policy import caller_service

    identity = caller_service(spec.get("dnsNames", []), spec.get("commonName"))
    if identity == pod.service:
        return []
    who = f"the {identity} service" if identity else "no single service"
    return [
        f"{pod.where}: {label} identifies {who} to the gRPC servers it calls, not {pod.service}: the first "
        f"label of its DNS names must be {pod.service!r} (lfr_platform.grpc_policy reads callers from them)"
    ]


def _impersonations(
    certificates: Iterable[Manifest], issuers: set[tuple[str, str]], own: dict[str, str]
) -> list[str]:
    """Another certificate of the services' CA (Triton's, say) that names a service could call as it."""
    from lfr_platform.grpc_policy import caller_service

    problems = []
    for certificate in certificates:
        spec, name = certificate["spec"], certificate["metadata"]["name"]
        ref = spec.get("issuerRef", {})
        if (ref.get("kind", "Issuer"), ref.get("name")) not in issuers:
            continue  # another CA: the services' servers refuse it at the handshake
        identity = caller_service(spec.get("dnsNames", []), spec.get("commonName"))
        if identity in own and own[identity] != name:
            problems.append(
                f"Certificate/{name} identifies the {identity} service to gRPC servers, but the {identity} "
                f"pods present Certificate/{own[identity]}: whoever holds it could call as {identity}"
            )
    return problems


def _unnamed_target(
    caller: ServicePod,
    peer: str,
    target: str,
    pods: list[ServicePod],
    services: dict[str, Manifest],
    names: dict[str, set[str]],
) -> list[str]:
    from lfr_platform.grpc_security import target_host

    host = target_host(target)
    service = services.get(host.split(".")[0])
    if service is None:
        return [f"{caller.where}: gRPC target {peer}={target}: no Service {host.split('.')[0]!r}"]
    selector = service["spec"].get("selector") or {}
    behind = [p for p in pods if selector and all(p.labels.get(k) == v for k, v in selector.items())]
    return [
        f"{caller.where}: gRPC target {peer}={target}: the certificate of {p.where} does not name {host!r}"
        for p in behind
        if p.where in names and host not in names[p.where]
    ]


def triton_problems(pods: list[ServicePod], docs: list[Manifest]) -> list[str]:
    """Face crops go from an inference pod on the Triton backend to LFR_TRITON_URL: the tritonserver pods
    behind that Service must serve gRPC with mutual TLS (--grpc-use-ssl-mutual=true) from mounted files of
    a cert-manager Certificate that names the host dialled, issued (and trusting clients) by the CA of the
    services' own certificates."""
    from lfr_platform.grpc_security import target_host

    by_secret = {d["spec"].get("secretName"): d for d in docs if d.get("kind") == "Certificate"}
    services = {d["metadata"]["name"]: d for d in docs if d.get("kind") == "Service"}
    problems: list[str] = []
    for pod in pods:
        if getattr(pod.settings, "inference_backend", None) != "triton":
            continue
        url, host = pod.settings.triton_url, target_host(pod.settings.triton_url)
        servers = list(_tritonservers_behind(services.get(host.split(".")[0]), docs))
        if not servers:
            problems.append(
                f"{pod.where}: LFR_TRITON_URL={url}: no Service {host!r} in front of tritonserver"
            )
        own = pod.files.mount_of(str(pod.settings.grpc_tls.cert_file or "/"))
        issuer = by_secret.get(own.secret if own else None, {}).get("spec", {}).get("issuerRef")
        for where, spec, container in servers:
            flags = dict(
                a.removeprefix("--").split("=", 1) for a in container.get("args", []) if a.startswith("--")
            )
            found = _triton_tls_problems(flags, pod_files(spec, container, docs), by_secret, host, issuer)
            problems += [f"{pod.where}: Triton at {url} ({where}) {p}" for p in found]
    return problems


def _tritonservers_behind(
    service: Manifest | None, docs: list[Manifest]
) -> Iterator[tuple[str, Manifest, Manifest]]:
    """(where, pod spec, container) of each tritonserver container in the pods `service` selects."""
    selector = (service or {}).get("spec", {}).get("selector") or {}
    for doc in docs:
        if doc.get("kind") not in POD_OWNERS or not selector:
            continue
        template = doc["spec"]["template"]
        labels = template["metadata"].get("labels", {})
        if all(labels.get(key) == value for key, value in selector.items()):
            for container in template["spec"]["containers"]:
                if "tritonserver" in [*container.get("command", []), *container.get("args", [])]:
                    where = f"{doc['kind']}/{doc['metadata']['name']} container {container['name']}"
                    yield where, template["spec"], container


def _triton_tls_problems(
    flags: dict[str, str],
    files: PodFiles,
    by_secret: dict[str, Manifest],
    host: str,
    issuer: Manifest | None,
) -> list[str]:
    if flags.get("grpc-use-ssl-mutual") != "true":
        return [
            "serves gRPC without mutual TLS: face crops would cross the network in clear text "
            "(--grpc-use-ssl-mutual=true, --grpc-server-cert/-key, --grpc-root-cert)"
        ]
    problems = []
    for flag in ("grpc-server-cert", "grpc-server-key", "grpc-root-cert"):
        path = flags.get(flag)
        mount = files.mount_of(path) if path else None
        certificate = by_secret.get(mount.secret) if mount and mount.secret else None
        if path is None or files.kind(path) != "file" or certificate is None:
            problems.append(f"--{flag}={path}: not a file of a mounted cert-manager Certificate's Secret")
            continue
        label, spec = f"Certificate/{certificate['metadata']['name']}", certificate["spec"]
        if spec.get("issuerRef") != issuer:
            problems.append(f"--{flag}: {label} is not from the issuer of inference's certificate")
        if flag == "grpc-server-cert" and host not in spec.get("dnsNames", []):
            problems.append(f"--{flag}: {label} does not name {host!r}")
        if flag == "grpc-server-cert" and "server auth" not in spec.get("usages", []):
            problems.append(f"--{flag}: {label} needs the usage 'server auth'")
    return problems


def check_service_settings(
    overlay: str, docs: list[Manifest], shapes: dict[tuple[str, str], str]
) -> list[str]:
    if importlib.util.find_spec("lfr_platform") is None:
        return ["the service packages are not importable: run with the workspace venv (.venv/bin/python)"]
    pods, problems = load_settings(overlay, docs, shapes)
    problems += certificate_problems(pods, docs)
    problems += triton_problems(pods, docs)
    if not pods and not problems:
        problems.append(f"{overlay}: no pod runs an lfr-<service> image")
    print("\n".join(problems) or f"{len(pods)} service pods: settings valid as production, gRPC mutual TLS")
    return problems
