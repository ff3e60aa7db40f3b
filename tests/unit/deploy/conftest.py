"""Fixtures that read the deployment sources as kustomize would: follow each kustomization's `resources`
and `components` from an overlay down, so a file that no kustomization includes does not count."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = ("dev", "prod")

Manifest = dict[str, Any]


def load_documents(path: Path) -> list[Manifest]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def kustomization(directory: Path) -> Manifest:
    return load_documents(directory / "kustomization.yaml")[0]


def collect_resources(directory: Path) -> list[tuple[Path, Manifest]]:
    """Every whole object (not patches) a kustomization includes, with the file it came from."""
    found: list[tuple[Path, Manifest]] = []
    config = kustomization(directory)
    for entry in [*config.get("resources", []), *config.get("components", [])]:
        target = (directory / entry).resolve()
        if target.is_dir():
            found += collect_resources(target)
        else:
            found += [(target, doc) for doc in load_documents(target)]
    return found


def service_names() -> list[str]:
    """The services are the folders under services/ (each a uv workspace member)."""
    return sorted(p.name for p in (ROOT / "services").iterdir() if (p / "pyproject.toml").exists())


def architecture_topics() -> dict[str, tuple[str, list[str]]]:
    """topic -> (producer, consumers) from the topics table in docs/architecture.md (DLQ pattern excluded)."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    rows = re.findall(r"^\| `(lfr\.[a-z.]+\.v\d+)` \| ([a-z]+) \| ([^|]+) \|", text, flags=re.M)
    return {topic: (producer, [c.strip() for c in readers.split(",")]) for topic, producer, readers in rows}


def architecture_prefixes() -> dict[str, str]:
    """REST prefix (the part after /api/v1/) -> service, from the services table in docs/architecture.md."""
    prefixes: dict[str, str] = {}
    text = (ROOT / "docs" / "architecture.md").read_text()
    for name, cell in re.findall(r"^\| ([a-z]+) \| `lfr_[a-z]+` \|[^|]*\|([^|]*)\|", text, flags=re.M):
        for prefix in re.findall(r"`/api/v1/([a-z]+)`", cell):
            prefixes[prefix] = name
    return prefixes


@pytest.fixture(scope="session")
def services() -> list[str]:
    names = service_names()
    assert names, "no services found under services/"
    return names


@pytest.fixture(scope="session", params=OVERLAYS)
def overlay_resources(request: pytest.FixtureRequest) -> tuple[str, list[tuple[Path, Manifest]]]:
    return request.param, collect_resources(K8S / "overlays" / request.param)


@pytest.fixture(scope="session")
def prod_resources() -> list[Manifest]:
    return [doc for _, doc in collect_resources(K8S / "overlays" / "prod")]


def find(resources: list[Manifest], kind: str, name: str) -> Manifest | None:
    return next((r for r in resources if r.get("kind") == kind and r["metadata"]["name"] == name), None)
