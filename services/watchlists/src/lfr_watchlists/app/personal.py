"""An entry's personal details in the vault: sealed when the entry is added, opened for the roles that
may read them, and reported as erased once retention has shredded the key or deleted the blob (the
event, which cannot be changed, keeps only the reference and the SHA-256 of the sealed bytes)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from lfr_platform.blobs import BlobNotFound
from lfr_platform.crypto import KeyDestroyed
from pydantic import TypeAdapter

from lfr_watchlists.app.ports import BiometricReader, BiometricVault
from lfr_watchlists.domain.entry import PersonalDetails, SealedRef
from lfr_watchlists.domain.watchlist import Entry

_CODEC: TypeAdapter[PersonalDetails] = TypeAdapter(PersonalDetails)


class PersonalState(StrEnum):
    AVAILABLE = "available"
    ERASED = "erased"  # retention shredded the key or deleted the blob: gone for good
    RECORDED_IN_CLEAR = "recorded_in_clear"  # a schema-1 event, written before details were sealed


@dataclass(frozen=True, kw_only=True)
class PersonalView:
    state: PersonalState
    details: PersonalDetails | None = None
    sha256: str | None = None


async def seal_personal(vault: BiometricVault, deployment_id: str, details: PersonalDetails) -> SealedRef:
    return await vault.seal_details(deployment_id, _CODEC.dump_json(details))


async def open_personal(vault: BiometricReader, deployment_id: str, entry: Entry) -> PersonalView:
    ref = entry.sealed_details
    if ref is None:
        return PersonalView(state=PersonalState.RECORDED_IN_CLEAR, details=entry.legacy_details)
    try:
        plaintext = await vault.open_details(deployment_id, ref)
    except (KeyDestroyed, BlobNotFound):
        # Erased by retention, as intended; a key service that is down raises something else (503).
        return PersonalView(state=PersonalState.ERASED, sha256=ref.sha256)
    return PersonalView(
        state=PersonalState.AVAILABLE, details=_CODEC.validate_json(plaintext), sha256=ref.sha256
    )
