"""The operator's reference image: the watchlist entry's first image, as the watchlists service stored it.

The watchlists service owns watchlist media: it seals each image under the deployment's
`watchlist_media` key at `watchlist_media/<deployment>/<image_blob_id>` (blob key = associated data) and
publishes the blob ids in `WatchlistEntryAdded`. Its REST image route is for watchlist managers and AOs
only, so the alerts service does not forward the operator's token there; instead it follows the
watchlists topic (which entry has which image, which watchlist belongs to which deployment) and opens the
blob with the key the deployments service hands out, for `alerts.view_media` holders only.
"""

from __future__ import annotations

from typing import Any

from lfr_platform.blobs import BlobStore, blob_key
from lfr_platform.crypto import DataClass, open_
from lfr_platform.errors import NotFound
from lfr_platform.eventstore import UnitOfWork
from lfr_platform.messaging.wire import EventMessage
from sqlalchemy import Boolean, Column, MetaData, String, Table, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from lfr_alerts.adapters.media import sniff_media_type
from lfr_alerts.app.errors import ServiceUnavailable
from lfr_alerts.app.ports import DataKeys, Image

metadata = MetaData()
watchlist_deployments = Table(
    "alerts_watchlist_deployments",
    metadata,
    Column("watchlist_id", String(128), primary_key=True),
    Column("deployment_id", String(128), nullable=False),
)
entry_images = Table(
    "alerts_watchlist_entry_images",
    metadata,
    Column("watchlist_id", String(128), primary_key=True),
    Column("entry_id", String(128), primary_key=True),
    Column("image_blob_id", String(128), nullable=False),
    Column("removed", Boolean, nullable=False, default=False),
)


class WatchlistMediaIndex:
    """Which image blob is each entry's reference image (ids only; the images stay in the blob store)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert

    async def create_tables(self) -> None:
        async with self._engine.begin() as connection:
            await connection.run_sync(metadata.create_all)

    async def on_event(self, uow: UnitOfWork, message: EventMessage) -> None:
        connection: AsyncConnection = uow.connection
        data: dict[str, Any] = message.data
        watchlist_id = message.stream_id
        if message.event_type == "WatchlistCreated":
            await connection.execute(
                self._insert(watchlist_deployments)
                .values(watchlist_id=watchlist_id, deployment_id=str(data["deployment_id"]))
                .on_conflict_do_nothing()
            )
        elif message.event_type == "WatchlistEntryAdded" and data.get("images"):
            await connection.execute(
                self._insert(entry_images)
                .values(watchlist_id=watchlist_id, entry_id=str(data["entry_id"]),
                        image_blob_id=str(data["images"][0]["image_blob_id"]), removed=False)
                .on_conflict_do_nothing()
            )  # fmt: skip
        elif message.event_type == "WatchlistEntryRemoved":
            await connection.execute(
                update(entry_images)
                .where(
                    entry_images.c.watchlist_id == watchlist_id, entry_images.c.entry_id == data["entry_id"]
                )
                .values(removed=True)
            )
        elif message.event_type == "WatchlistPurged":
            await connection.execute(delete(entry_images).where(entry_images.c.watchlist_id == watchlist_id))

    async def lookup(self, watchlist_id: str, entry_id: str) -> tuple[str, str, bool] | None:
        """(deployment id, image blob id, removed) or None when the entry is not known (yet)."""
        query = (
            select(
                watchlist_deployments.c.deployment_id, entry_images.c.image_blob_id, entry_images.c.removed
            )
            .join(entry_images, entry_images.c.watchlist_id == watchlist_deployments.c.watchlist_id)
            .where(entry_images.c.watchlist_id == watchlist_id, entry_images.c.entry_id == entry_id)
        )
        async with self._engine.connect() as connection:
            row = (await connection.execute(query)).first()
        return (str(row[0]), str(row[1]), bool(row[2])) if row is not None else None


class SealedWatchlistImages:
    def __init__(self, index: WatchlistMediaIndex, blobs: BlobStore, keys: DataKeys) -> None:
        self._index = index
        self._blobs = blobs
        self._keys = keys

    async def entry_image(self, deployment_id: str, watchlist_id: str, entry_id: str) -> Image:
        found = await self._index.lookup(watchlist_id, entry_id) if watchlist_id else None
        if found is None:
            raise ServiceUnavailable(
                f"no image is known yet for watchlist entry {entry_id!r}: the watchlists service's events "
                "have not reached the alerts service",
                code="watchlist_media_unavailable",
                details={"entry_id": entry_id},
            )
        owner, image_blob_id, removed = found
        if owner != deployment_id:  # an alert may only show its own deployment's watchlist
            raise NotFound(f"entry {entry_id!r} is not on deployment {deployment_id!r}'s watchlist")
        if removed:
            raise NotFound(f"entry {entry_id!r} was removed from the watchlist", code="entry_removed")
        key = blob_key(DataClass.WATCHLIST_MEDIA, deployment_id, image_blob_id)
        sealed = await self._blobs.get(key)
        data_key = await self._keys.data_key(deployment_id, DataClass.WATCHLIST_MEDIA.value)
        content = open_(data_key, sealed, key.encode())
        return Image(content, sniff_media_type(content))
