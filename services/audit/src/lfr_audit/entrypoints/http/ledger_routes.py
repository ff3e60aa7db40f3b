"""`/api/v1/audit`: query, live stream, export, tree heads, proofs, public key and verification.

Entries are the ledger's own records (references, hashes and non-biometric facts): the oversight role
never receives images or templates from here, because the ledger never holds them.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import PlainTextResponse, Response, StreamingResponse
from lfr_platform.auth import Principal, require
from lfr_platform.errors import NotFound

from lfr_audit.adapters.ledger_sql import LedgerQuery
from lfr_audit.app.oversight import Oversight
from lfr_audit.domain.export import encode_tree_heads

# Sequences are stored as signed 64-bit integers; a larger number is a client error, not a 500.
MAX_SEQUENCE = 2**63 - 1

NDJSON = "application/x-ndjson"


def _filters(
    deployment_id: str | None = None,
    since: Annotated[datetime | None, Query(description="occurred at or after (RFC 3339)")] = None,
    until: Annotated[datetime | None, Query(description="occurred before (RFC 3339)")] = None,
    event_type: str | None = None,
    actor: str | None = None,
    role: str | None = None,
    source_service: str | None = None,
) -> LedgerQuery:
    return LedgerQuery(
        deployment_id=deployment_id,
        since=since,
        until=until,
        event_type=event_type,
        actor=actor,
        role=role,
        source_service=source_service,
    )


Filters = Annotated[LedgerQuery, Depends(_filters)]


def ledger_router(oversight: Oversight, heartbeat_seconds: float) -> APIRouter:
    router = APIRouter(tags=["audit"])
    ledger = oversight.ledger

    @router.get("/entries", summary="Query the ledger (keyset paging: pass next_after as after)")
    async def query(
        principal: Annotated[Principal, Depends(require("audit.read"))],
        criteria: Filters,
        after: Annotated[int | None, Query(ge=-1, le=MAX_SEQUENCE)] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> dict[str, Any]:
        page = await ledger.query(criteria, after=after, limit=limit)
        return {"entries": [row.as_dict() for row in page.rows], "next_after": page.next_after,
                "tree_size": ledger.size}  # fmt: skip

    @router.get("/entries/{sequence}", summary="One ledger entry")
    async def entry(
        sequence: Annotated[int, Path(ge=0, le=MAX_SEQUENCE)],
        principal: Annotated[Principal, Depends(require("audit.read"))],
    ) -> dict[str, Any]:
        row = await ledger.entry(sequence)
        if row is None:
            raise NotFound(f"no ledger entry {sequence}", code="entry_not_found")
        return row.as_dict()

    @router.get("/entries/{sequence}/inclusion-proof", summary="RFC 6962 inclusion proof of an entry")
    async def inclusion_proof(
        sequence: Annotated[int, Path(ge=0, le=MAX_SEQUENCE)],
        principal: Annotated[Principal, Depends(require("audit.verify"))],
        tree_size: Annotated[int | None, Query(ge=1, le=MAX_SEQUENCE)] = None,
    ) -> dict[str, Any]:
        return await oversight.inclusion(sequence, tree_size)

    @router.get("/consistency-proof", summary="RFC 6962 consistency proof between two tree sizes")
    async def consistency_proof(
        principal: Annotated[Principal, Depends(require("audit.verify"))],
        first: Annotated[int, Query(ge=1, le=MAX_SEQUENCE)],
        second: Annotated[int | None, Query(ge=1, le=MAX_SEQUENCE)] = None,
    ) -> dict[str, Any]:
        return oversight.consistency(first, second)

    @router.get("/stream", summary="Live entries as Server-Sent Events (heartbeat comments)")
    async def stream(
        request: Request,
        principal: Annotated[Principal, Depends(require("audit.read"))],
        criteria: Filters,
        after: Annotated[
            int | None, Query(ge=-1, le=MAX_SEQUENCE, description="resume after this sequence")
        ] = None,
        last_event_id: Annotated[str | None, Header()] = None,
    ) -> StreamingResponse:
        start = after
        if start is None and last_event_id is not None and last_event_id.strip().isdigit():
            start = int(last_event_id)
        if start is None:
            start = ledger.size - 1  # only what is appended from now on
        return StreamingResponse(
            oversight.live(criteria, start, heartbeat_seconds),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    @router.get("/export", summary="The ledger as JSON Lines up to a freshly signed tree head")
    async def export(principal: Annotated[Principal, Depends(require("audit.export"))]) -> StreamingResponse:
        head = await oversight.sign_head()
        return StreamingResponse(
            ledger.export_lines(head.tree_size),
            media_type=NDJSON,
            headers={
                "X-Lfr-Tree-Size": str(head.tree_size),
                "X-Lfr-Tree-Head": json.dumps(json.loads(encode_tree_heads([head])), separators=(",", ":")),
                "Content-Disposition": f'attachment; filename="lfr-audit-{head.tree_size}.jsonl"',
            },
        )

    @router.get("/tree-heads", summary="Signed tree heads (the side-car document of an export)")
    async def tree_heads(
        principal: Annotated[Principal, Depends(require("audit.read"))],
        up_to: Annotated[int | None, Query(ge=0, le=MAX_SEQUENCE)] = None,
    ) -> Response:
        return Response(encode_tree_heads(await ledger.tree_heads(up_to)), media_type="application/json")

    @router.get("/public-key", summary="The tree-head signing public key (PEM)")
    async def public_key(
        principal: Annotated[Principal, Depends(require("audit.read"))],
    ) -> PlainTextResponse:
        return PlainTextResponse(oversight.signer.public_key_pem(), media_type="application/x-pem-file")

    @router.get(
        "/verify", summary="Verify the whole ledger server-side (same JSON as `lfr audit verify --json`)"
    )
    async def verify(principal: Annotated[Principal, Depends(require("audit.verify"))]) -> dict[str, Any]:
        return await oversight.verify()

    return router
