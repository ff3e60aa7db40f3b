"""AES-256-GCM for biometric payloads, and per-deployment data keys under a master key (envelope encryption).

Blob format (version 1): `0x01 | nonce (12 random bytes) | ciphertext | tag (16)`. The associated data
(`aad`) binds a ciphertext to its context (e.g. its blob key), so a blob moved elsewhere fails to open.

Each deployment has one data key per data class (`frames`, `alert_media`, `watchlist_media`). Data keys
are stored only wrapped (AES-GCM under the master key, bound to deployment and class). Destroying a data
key deletes the wrapped key and leaves a tombstone: every copy of that data, in Kafka, blob stores or
backups, becomes unreadable (crypto-shredding), and attempts to open it raise `KeyDestroyed`.

Master-key rotation: each wrapped key records the id of the master key that wrapped it
(`master_key_id`). A key ring holds the current master key (wraps new keys) and, during a rotation,
previous ones (unwrap only); `lfr_platform.key_rotation` re-wraps every live key under the current one.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    LargeBinary,
    MetaData,
    String,
    Table,
    inspect,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from lfr_platform.errors import LfrError, NotFound

FORMAT_V1 = b"\x01"
NONCE_BYTES = 12
TAG_BYTES = 16
KEY_BYTES = 32
OVERHEAD = len(FORMAT_V1) + NONCE_BYTES + TAG_BYTES


class DataClass(StrEnum):
    FRAMES = "frames"
    ALERT_MEDIA = "alert_media"
    WATCHLIST_MEDIA = "watchlist_media"


class DecryptionFailed(LfrError):
    """Wrong key, wrong associated data, or tampered/corrupt ciphertext: nothing is returned."""

    code = "decryption_failed"
    http_status = 500


class DataKeyError(LfrError):
    """A data key cannot be used now: shredded, never created, or its owner cannot hand it out."""


class KeyDestroyed(DataKeyError):
    """The data key was crypto-shredded: the data it protected is gone for good."""

    code = "key_destroyed"
    http_status = 410


class KeyNotFound(DataKeyError, NotFound):
    code = "key_not_found"
    http_status = 404


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def seal(key: bytes, plaintext: bytes, aad: bytes = b"") -> bytes:
    _check_key(key)
    nonce = os.urandom(NONCE_BYTES)  # random 96-bit nonces: safe far beyond any one key's message count here
    return FORMAT_V1 + nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def open_(key: bytes, blob: bytes, aad: bytes = b"") -> bytes:
    _check_key(key)
    if len(blob) < OVERHEAD:
        raise DecryptionFailed("ciphertext is too short to be an LFR sealed blob")
    if blob[:1] != FORMAT_V1:
        raise DecryptionFailed(f"unknown sealed-blob format version {blob[0]}")
    nonce, body = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
    try:
        return AESGCM(key).decrypt(nonce, body, aad)
    except InvalidTag:
        raise DecryptionFailed(
            "ciphertext failed authentication (wrong key, wrong context, or tampered)"
        ) from None


def _check_key(key: bytes) -> None:
    if len(key) != KEY_BYTES:
        raise ValueError(f"AES-256 key must be {KEY_BYTES} bytes, got {len(key)}")


# ---------------------------------------------------------------------------------------------------------
# Master keys: the current one wraps, previous ones (during a rotation) only unwrap


class MasterKeyUnavailable(DecryptionFailed):
    """A wrapped key names a master key this process was not given: nothing is returned."""

    code = "master_key_unavailable"


def master_key_id(master_key: bytes) -> str:
    """A short public name for a master key (16 hex digits), safe to store, log and show to oversight.

    A domain-separated SHA-256 of 256 random bits reveals nothing usable about the key.
    """
    _check_key(master_key)
    return hashlib.sha256(b"lfr-master-key-id:v1:" + master_key).hexdigest()[:16]


def wrap_context(deployment_id: str, data_class: DataClass | str) -> bytes:
    """Associated data of a wrapped data key: a wrapped key moved to another slot fails to open."""
    return f"lfr-data-key:v1:{deployment_id}:{DataClass(data_class).value}".encode()


class MasterKeys:
    """The current master key and, during a rotation, previous ones (read-only). Never printed."""

    def __init__(self, current: bytes, previous: Iterable[bytes] = ()) -> None:
        self.current_id = master_key_id(current)
        self._by_id: dict[str, bytes] = {self.current_id: current}  # current first: tried first
        for key in previous:
            self._by_id.setdefault(master_key_id(key), key)  # the current key listed again is harmless

    def __repr__(self) -> str:
        return f"MasterKeys(current={self.current_id}, previous={list(self.previous_ids)})"

    @property
    def previous_ids(self) -> tuple[str, ...]:
        return tuple(kid for kid in self._by_id if kid != self.current_id)

    def wrap(self, data_key: bytes, context: bytes) -> bytes:
        return seal(self._by_id[self.current_id], data_key, context)

    def unwrap(self, wrapped: bytes, context: bytes, key_id: str | None) -> tuple[bytes, str]:
        """(data key, id of the master key that opened it).

        A key wrapped before ids were recorded (`key_id` None) is presumed the current master's; if the
        current key does not open it, the previous ones are tried (GCM authentication tells the right one).
        """
        if key_id is not None:
            master = self._by_id.get(key_id)
            if master is None:
                raise MasterKeyUnavailable(
                    f"wrapped under master key {key_id}, which is neither the current master key nor one of "
                    "the previous ones this process was given"
                )
            return open_(master, wrapped, context), key_id
        for kid, master in self._by_id.items():
            try:
                return open_(master, wrapped, context), kid
            except DecryptionFailed:
                continue
        raise MasterKeyUnavailable(
            "wrapped before master key ids were recorded, and no configured master key (current or "
            "previous) opens it"
        )


# ---------------------------------------------------------------------------------------------------------
# Wrapped-key storage (a port: in-memory for tests, SQL for services; the deployments service owns the table)


@dataclass(frozen=True, slots=True)
class WrappedKey:
    deployment_id: str
    data_class: DataClass
    wrapped: bytes | None  # None once destroyed
    created_at: datetime
    destroyed_at: datetime | None = None
    master_key_id: str | None = None  # None: wrapped before ids were recorded (see MasterKeys.unwrap)

    @property
    def destroyed(self) -> bool:
        return self.wrapped is None

    @property
    def slot(self) -> tuple[str, DataClass]:
        return self.deployment_id, self.data_class


class WrappedKeyStore(Protocol):
    async def get(self, deployment_id: str, data_class: DataClass) -> WrappedKey | None: ...

    async def add(self, key: WrappedKey) -> WrappedKey:
        """Insert unless a record exists for (deployment, class); return whichever record is stored."""
        ...

    async def destroy(self, deployment_id: str, data_class: DataClass, at: datetime) -> bool:
        """Delete the wrapped key material, keeping a tombstone; True if a live key was destroyed."""
        ...

    async def scan(self, after: tuple[str, DataClass] | None, limit: int) -> list[WrappedKey]:
        """Up to `limit` records (tombstones too) in (deployment, class) order, strictly after `after`."""
        ...

    async def replace_wrapped(
        self, deployment_id: str, data_class: DataClass, expected: bytes, wrapped: bytes, master_key_id: str
    ) -> bool:
        """Compare-and-set: store `wrapped` only if the record still holds `expected` (so never over a
        tombstone, nor over another writer's change); True if it did."""
        ...


class InMemoryWrappedKeyStore:
    def __init__(self) -> None:
        self._keys: dict[tuple[str, DataClass], WrappedKey] = {}

    async def get(self, deployment_id: str, data_class: DataClass) -> WrappedKey | None:
        return self._keys.get((deployment_id, DataClass(data_class)))

    async def add(self, key: WrappedKey) -> WrappedKey:
        return self._keys.setdefault((key.deployment_id, key.data_class), key)

    async def destroy(self, deployment_id: str, data_class: DataClass, at: datetime) -> bool:
        slot = (deployment_id, DataClass(data_class))
        current = self._keys.get(slot)
        if current is None or current.destroyed:
            if current is None:
                self._keys[slot] = WrappedKey(deployment_id, DataClass(data_class), None, at, at)
            return False
        self._keys[slot] = WrappedKey(deployment_id, current.data_class, None, current.created_at, at)
        return True

    async def scan(self, after: tuple[str, DataClass] | None, limit: int) -> list[WrappedKey]:
        slots = sorted(s for s in self._keys if after is None or s > after)
        return [self._keys[s] for s in slots[:limit]]

    async def replace_wrapped(
        self, deployment_id: str, data_class: DataClass, expected: bytes, wrapped: bytes, master_key_id: str
    ) -> bool:
        slot = (deployment_id, DataClass(data_class))
        current = self._keys.get(slot)
        if current is None or current.wrapped != expected:
            return False
        self._keys[slot] = WrappedKey(
            deployment_id, current.data_class, wrapped, current.created_at, None, master_key_id
        )
        return True


# ---------------------------------------------------------------------------------------------------------
# The key ring


class KeyRing:
    """Creates, unwraps and destroys per-deployment, per-data-class data keys.

    Unwrapped keys are not cached: a key destroyed by one process must stop working in every process at
    once, and one AES-GCM unwrap per operation costs microseconds. New keys are wrapped under the current
    master key; `previous_master_keys` only unwrap (while `lfr_platform.key_rotation` re-wraps).
    """

    def __init__(
        self, master_key: bytes, store: WrappedKeyStore, previous_master_keys: Iterable[bytes] = ()
    ) -> None:
        self.masters = MasterKeys(master_key, previous_master_keys)
        self._store = store

    @property
    def store(self) -> WrappedKeyStore:
        return self._store

    async def ensure_key(self, deployment_id: str, data_class: DataClass | str) -> None:
        """Create the data key unless it exists (idempotent). Refuses to resurrect a destroyed key."""
        data_class = DataClass(data_class)
        existing = await self._store.get(deployment_id, data_class)
        if existing is not None:
            if existing.destroyed:
                raise KeyDestroyed(f"the {data_class} key of deployment {deployment_id} was destroyed")
            return
        wrapped = self.masters.wrap(new_key(), wrap_context(deployment_id, data_class))
        await self._store.add(
            WrappedKey(deployment_id, data_class, wrapped, datetime.now(UTC), None, self.masters.current_id)
        )

    async def data_key(self, deployment_id: str, data_class: DataClass | str) -> bytes:
        data_class = DataClass(data_class)
        record = await self._store.get(deployment_id, data_class)
        if record is None:
            raise KeyNotFound(f"no {data_class} key for deployment {deployment_id}")
        if record.wrapped is None:
            raise KeyDestroyed(
                f"the {data_class} key of deployment {deployment_id} was destroyed "
                f"at {record.destroyed_at:%Y-%m-%dT%H:%M:%SZ}; its data cannot be recovered",
                details={"deployment_id": deployment_id, "data_class": data_class.value},
            )
        key, _opened_by = self.masters.unwrap(
            record.wrapped, wrap_context(deployment_id, data_class), record.master_key_id
        )
        return key

    async def seal(
        self, deployment_id: str, data_class: DataClass | str, plaintext: bytes, aad: bytes
    ) -> bytes:
        return seal(await self.data_key(deployment_id, data_class), plaintext, aad)

    async def open_(self, deployment_id: str, data_class: DataClass | str, blob: bytes, aad: bytes) -> bytes:
        return open_(await self.data_key(deployment_id, data_class), blob, aad)

    async def destroy(self, deployment_id: str, data_class: DataClass | str) -> bool:
        """Crypto-shred one data key. Returns False if it was already destroyed (idempotent)."""
        return await self._store.destroy(deployment_id, DataClass(data_class), datetime.now(UTC))


# ---------------------------------------------------------------------------------------------------------
# SQL adapter. The deployments service owns the table (`migrate_data_keys_table` at its start).

data_keys_metadata = MetaData()
data_keys_table = Table(
    "data_keys",
    data_keys_metadata,
    Column("deployment_id", String(64), primary_key=True),
    Column("data_class", String(32), primary_key=True),
    Column("wrapped", LargeBinary, nullable=True),  # NULL = destroyed (tombstone row stays)
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("destroyed_at", DateTime(timezone=True), nullable=True),
    # Added after the first release: NULL on rows wrapped before ids were recorded.
    Column("master_key_id", String(64), nullable=True),
)


def migrate_data_keys_table(connection: Connection) -> None:
    """Create the table, or bring an older one up to date; idempotent (run inside `run_sync`).

    The table is created with `create_all` rather than an Alembic history, so a column added later is
    added here. Concurrent starts are safe: SQLite writers are serialised (BEGIN IMMEDIATE), and
    PostgreSQL's `IF NOT EXISTS` makes a second `ADD COLUMN` a no-op.
    """
    data_keys_metadata.create_all(connection)
    columns = {c["name"] for c in inspect(connection).get_columns(data_keys_table.name)}
    if "master_key_id" in columns:
        return
    exists = " IF NOT EXISTS" if connection.dialect.name == "postgresql" else ""
    connection.execute(
        text(f"ALTER TABLE {data_keys_table.name} ADD COLUMN{exists} master_key_id VARCHAR(64)")
    )


class SqlWrappedKeyStore:
    """Wrapped keys in one SQL table (PostgreSQL or SQLite).

    Destruction overwrites the wrapped key with NULL. The database may keep the old page until it is
    reused (PostgreSQL: until VACUUM; SQLite: unless `PRAGMA secure_delete=ON`), and backups keep it for
    their retention; all of those copies are still sealed under the master key, which never leaves the
    key-management boundary, so rotate the master key if a backup must be shredded too.
    """

    def __init__(self, engine: AsyncEngine, table: Table = data_keys_table) -> None:
        self._engine = engine
        self._table = table

    async def get(self, deployment_id: str, data_class: DataClass) -> WrappedKey | None:
        t = self._table
        query = select(t).where(
            t.c.deployment_id == deployment_id, t.c.data_class == DataClass(data_class).value
        )
        async with self._engine.connect() as connection:
            row = (await connection.execute(query)).mappings().first()
        return None if row is None else _record(row)

    async def scan(self, after: tuple[str, DataClass] | None, limit: int) -> list[WrappedKey]:
        t = self._table
        query = select(t).order_by(t.c.deployment_id, t.c.data_class).limit(limit)
        if after is not None:
            deployment_id, data_class = after[0], DataClass(after[1]).value
            query = query.where(
                or_(
                    t.c.deployment_id > deployment_id,
                    (t.c.deployment_id == deployment_id) & (t.c.data_class > data_class),
                )
            )
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).mappings().all()
        return [_record(row) for row in rows]

    async def replace_wrapped(
        self, deployment_id: str, data_class: DataClass, expected: bytes, wrapped: bytes, master_key_id: str
    ) -> bool:
        t = self._table
        async with self._engine.begin() as connection:  # one short transaction per key
            result = await connection.execute(
                update(t)
                .where(
                    t.c.deployment_id == deployment_id,
                    t.c.data_class == DataClass(data_class).value,
                    t.c.wrapped == expected,
                )
                .values(wrapped=wrapped, master_key_id=master_key_id)
            )
        return bool(result.rowcount)

    async def add(self, key: WrappedKey) -> WrappedKey:
        values = {
            "deployment_id": key.deployment_id,
            "data_class": key.data_class.value,
            "wrapped": key.wrapped,
            "created_at": key.created_at,
            "destroyed_at": key.destroyed_at,
            "master_key_id": key.master_key_id,
        }
        try:
            async with self._engine.begin() as connection:
                await connection.execute(self._table.insert().values(**values))
        except IntegrityError:  # a concurrent creator won; theirs is the key
            pass
        stored = await self.get(key.deployment_id, key.data_class)
        assert stored is not None
        return stored

    async def destroy(self, deployment_id: str, data_class: DataClass, at: datetime) -> bool:
        t = self._table
        data_class = DataClass(data_class)
        async with self._engine.begin() as connection:
            result = await connection.execute(
                update(t)
                .where(
                    t.c.deployment_id == deployment_id,
                    t.c.data_class == data_class.value,
                    t.c.wrapped.is_not(None),
                )
                .values(wrapped=None, destroyed_at=at)
            )
            if result.rowcount:
                return True
        if await self.get(deployment_id, data_class) is None:  # never created: record the decision anyway
            await self.add(WrappedKey(deployment_id, data_class, None, at, at))
        return False


def _record(row: Any) -> WrappedKey:
    return WrappedKey(
        row["deployment_id"],
        DataClass(row["data_class"]),
        row["wrapped"],
        _utc(row["created_at"]),
        _utc(row["destroyed_at"]) if row["destroyed_at"] else None,
        row["master_key_id"],
    )


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
