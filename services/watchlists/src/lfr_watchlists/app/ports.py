"""What the watchlist handlers need from outside the service (adapters implement these)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from lfr_watchlists.domain.entry import SealedRef
from lfr_watchlists.domain.watchlist import NearestEntry

Template = Sequence[float]


class EnrolRefusal(StrEnum):
    NO_FACE = "no_face"
    SEVERAL_FACES = "several_faces"
    TOO_SMALL = "too_small"
    TOO_BLURRED = "too_blurred"
    BAD_POSE = "bad_pose"
    UNREADABLE_IMAGE = "unreadable_image"


@dataclass(frozen=True, kw_only=True)
class EnrolResult:
    template: Template | None = None
    refusal: EnrolRefusal | None = None
    model_version: str = ""
    message: str = ""  # the enroller's human explanation of a refusal

    def __post_init__(self) -> None:
        if (self.template is None) == (self.refusal is None):
            raise ValueError("an enrolment gives a template or a refusal, not both or neither")


class Enroller(Protocol):
    """The inference service's Enrol (gRPC in phase 2): one face image in, a template or a refusal."""

    async def enrol(self, image: bytes) -> EnrolResult: ...


class TemplateIndex(Protocol):
    """Templates of a watchlist's entries, for duplicate detection."""

    async def nearest(self, watchlist_id: str, template: Template) -> NearestEntry | None: ...

    async def add(self, watchlist_id: str, entry_id: str, templates: Sequence[Template]) -> None: ...

    async def remove(self, watchlist_id: str, entry_id: str) -> None: ...

    async def drop(self, watchlist_id: str) -> None: ...


class BiometricVault(Protocol):
    """Encrypted blob storage under the deployment's watchlist_media key (lfr_platform.blobs + crypto):
    images, templates and entries' personal details. Returns blob ids; retention deletes the blobs and
    shreds the key."""

    async def put_image(self, deployment_id: str, content: bytes) -> str: ...

    async def put_template(self, deployment_id: str, template: Template) -> str: ...

    async def seal_details(self, deployment_id: str, plaintext: bytes) -> SealedRef:
        """Seal and store; the reference carries the SHA-256 of the sealed bytes."""
        ...


class BiometricReader(Protocol):
    """Decrypting reads from the vault: for the gallery, the image endpoint, the index rebuild and the
    personal-details endpoint. Raise KeyDestroyed or BlobNotFound once retention has erased the data."""

    async def image(self, deployment_id: str, blob_id: str) -> bytes: ...

    async def template(self, deployment_id: str, blob_id: str) -> list[float]: ...

    async def open_details(self, deployment_id: str, ref: SealedRef) -> bytes:
        """The plaintext, after checking the sealed bytes against `ref.sha256`."""
        ...
