"""REST under /api/v1/watchlists: parse, authorise, dispatch; the handlers and queries do the rest.

Every state-changing route sends one command carrying the caller's subject and role, so each change is
an event attributable to a person. Entry images are served decrypted, to `watchlists.view_media` only;
an entry's personal details, to `watchlists.view_personal` only (everyone else sees their hash).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, TypedDict

from fastapi import APIRouter, Depends, Query, Request, Response
from lfr_platform.auth import Principal, require
from lfr_platform.clock import Clock
from lfr_platform.eventstore import EventDatabase, StoredEvent
from lfr_platform.http import current_correlation_id
from lfr_platform.images import ImageLimits

from lfr_watchlists.app import commands as c
from lfr_watchlists.app.biometrics import entry_image, entry_with_personal_details
from lfr_watchlists.app.handlers import WatchlistBus
from lfr_watchlists.app.ports import BiometricReader
from lfr_watchlists.app.queries import get_watchlist, list_watchlists, watchlist_summary
from lfr_watchlists.entrypoints.http.intake import entry_fields, uploaded_images
from lfr_watchlists.entrypoints.http.schemas import (
    ChangeOut,
    CreateWatchlistBody,
    EntryAddedOut,
    EntryOut,
    PersonalDetailsOut,
    SummaryOut,
    WarningOut,
    WatchlistOut,
)

Reason = Annotated[str, Query(min_length=1, max_length=2000, description="why (recorded in the event)")]


@dataclass
class WatchlistsHttp:
    bus: WatchlistBus
    db: EventDatabase
    vault: BiometricReader
    clock: Clock
    image_limits: ImageLimits


class Requester(TypedDict):
    """The `Command` fields every state-changing route fills in: who asks, and the request's correlation."""

    actor: str
    role: str
    correlation_id: str | None


def _who(principal: Principal) -> Requester:
    return {"actor": principal.subject, "role": principal.role.value,
            "correlation_id": current_correlation_id()}


def _change(watchlist_id: str, stored: list[StoredEvent]) -> ChangeOut:
    last = stored[-1] if stored else None
    return ChangeOut(watchlist_id=watchlist_id, revision=int(last.data.get("revision", 0)) if last else 0,
                     event=last.event_type if last else "none")


def watchlists_router(http: WatchlistsHttp) -> APIRouter:
    router = APIRouter(prefix="/watchlists", tags=["watchlists"])

    @router.post("", status_code=201, response_model=WatchlistOut)
    async def create_watchlist(
        body: CreateWatchlistBody, principal: Annotated[Principal, Depends(require("watchlists.create"))]
    ) -> WatchlistOut:
        watchlist_id = body.watchlist_id or f"wl-{uuid.uuid4().hex[:12]}"
        await http.bus.handle(c.CreateWatchlist(watchlist_id=watchlist_id, deployment_id=body.deployment_id,
                                                name=body.name, **_who(principal)))
        return WatchlistOut.of(await get_watchlist(http.db.reader(), watchlist_id), with_entries=False)

    @router.get("", response_model=list[WatchlistOut])
    async def list_all(
        _: Annotated[Principal, Depends(require("watchlists.read"))], deployment_id: str | None = None
    ) -> list[WatchlistOut]:
        return [WatchlistOut.of(v, with_entries=False)
                for v in await list_watchlists(http.db.reader(), deployment_id)]

    @router.get("/{watchlist_id}", response_model=WatchlistOut)
    async def get_one(
        watchlist_id: str, _: Annotated[Principal, Depends(require("watchlists.read"))]
    ) -> WatchlistOut:
        return WatchlistOut.of(await get_watchlist(http.db.reader(), watchlist_id), with_entries=True)

    @router.get("/{watchlist_id}/summary", response_model=SummaryOut)
    async def summary(
        watchlist_id: str, _: Annotated[Principal, Depends(require("watchlists.read"))]
    ) -> SummaryOut:
        return SummaryOut.of(await watchlist_summary(http.db.reader(), watchlist_id))

    @router.get("/{watchlist_id}/entries/{entry_id}", response_model=EntryOut)
    async def get_entry(
        watchlist_id: str, entry_id: str, response: Response,
        _: Annotated[Principal, Depends(require("watchlists.view_personal"))],
    ) -> EntryOut:
        entry, personal = await entry_with_personal_details(http.db.reader(), http.vault, watchlist_id,
                                                            entry_id)
        response.headers["Cache-Control"] = "no-store"
        return EntryOut.of(entry, PersonalDetailsOut.of(personal))

    @router.post(
        "/{watchlist_id}/entries", status_code=201, response_model=EntryAddedOut,
        openapi_extra={"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["images", "image_taken_on"],
            "properties": {
                "images": {"type": "array", "items": {"type": "string", "format": "binary"}},
                "image_taken_on": {"type": "array", "items": {"type": "string", "format": "date"}},
                "details": {"type": "string", "description": "JSON object with the entry's fields"},
            }}}}}},
    )
    async def add_entry(
        watchlist_id: str, request: Request,
        principal: Annotated[Principal, Depends(require("watchlists.add_entry"))],
    ) -> EntryAddedOut:
        async with request.form(max_files=20, max_fields=50) as form:
            fields = entry_fields(form)
            images = await uploaded_images(form, fields, http.image_limits)
        entry_id = fields.entry_id or f"ent-{uuid.uuid4().hex[:12]}"
        stored = await http.bus.handle(c.AddWatchlistEntry(
            watchlist_id=watchlist_id, entry_id=entry_id, details=fields.details(), images=images,
            **_who(principal)))
        added = stored[-1].data
        return EntryAddedOut(watchlist_id=watchlist_id, entry_id=entry_id, revision=added["revision"],
                             warnings=[WarningOut(**w) for w in added.get("warnings", [])])

    @router.delete("/{watchlist_id}/entries/{entry_id}", response_model=ChangeOut)
    async def remove_entry(
        watchlist_id: str, entry_id: str, reason: Reason,
        principal: Annotated[Principal, Depends(require("watchlists.remove_entry"))],
    ) -> ChangeOut:
        stored = await http.bus.handle(c.RemoveWatchlistEntry(
            watchlist_id=watchlist_id, entry_id=entry_id, reason=reason, **_who(principal)))
        return _change(watchlist_id, stored)

    @router.delete("/{watchlist_id}", response_model=ChangeOut)
    async def delete_watchlist(
        watchlist_id: str, reason: Reason,
        principal: Annotated[Principal, Depends(require("watchlists.delete"))],
    ) -> ChangeOut:
        stored = await http.bus.handle(c.PurgeWatchlist(watchlist_id=watchlist_id, reason=reason,
                                                        **_who(principal)))
        return _change(watchlist_id, stored)

    @router.get("/{watchlist_id}/entries/{entry_id}/images/{index}",
                responses={200: {"content": {"image/jpeg": {}}}}, response_class=Response)
    async def get_entry_image(
        watchlist_id: str, entry_id: str, index: int,
        _: Annotated[Principal, Depends(require("watchlists.view_media"))],
    ) -> Response:
        content = await entry_image(http.db.reader(), http.vault, watchlist_id, entry_id, index)
        return Response(content, media_type="image/jpeg",
                        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})

    return router
