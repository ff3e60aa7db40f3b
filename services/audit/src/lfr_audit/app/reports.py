"""Gathers a deployment's ledger entries and folds them into the post-deployment report.

The ledger indexes entries by the deployment they name (`data.deployment_id`, or a deployment stream).
Later events of an alert or a watchlist often do not repeat the deployment id, so every stream that
named the deployment once (except cameras, which serve many deployments) is followed in full, as are the
watchlists the deployment's Form 1 and authorisation name.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from lfr_platform.errors import NotFound

from lfr_audit.adapters.ledger_sql import LedgerQuery, SqlLedger
from lfr_audit.domain.report import ReportFold, fold
from lfr_audit.domain.report_summary import summarise

_STREAM_CHUNK = 500
_NOT_FOLLOWED = ("deployment", "camera")


class ReportBuilder:
    def __init__(self, ledger: SqlLedger) -> None:
        self._ledger = ledger

    async def fold(self, deployment_id: str) -> ReportFold:
        rows = await self._all(LedgerQuery(deployment_id=deployment_id))
        if not rows:
            raise NotFound(
                f"the ledger holds nothing about deployment {deployment_id}", code="deployment_not_found"
            )
        streams = set()
        for entry in rows.values():
            if not str(entry["stream_type"]).lower().startswith(_NOT_FOLLOWED):
                streams.add(str(entry["stream_id"]))
            streams |= _named_watchlists(entry.get("data") or {})
        ordered = sorted(streams)
        for start in range(0, len(ordered), _STREAM_CHUNK):
            chunk = tuple(ordered[start : start + _STREAM_CHUNK])
            rows |= await self._all(LedgerQuery(stream_ids=chunk))
        return fold(deployment_id, sorted(rows.items()))

    async def document(self, deployment_id: str, *, public: bool, at: datetime) -> dict[str, Any]:
        state = await self.fold(deployment_id)
        return summarise(state, public=public, generated_at=at, tree_size=self._ledger.size)

    async def _all(self, criteria: LedgerQuery) -> dict[int, dict[str, Any]]:
        found: dict[int, dict[str, Any]] = {}
        after: int | None = None
        while True:
            page = await self._ledger.query(criteria, after=after, limit=1000)
            found |= {row.sequence: row.entry for row in page.rows}
            if page.next_after is None:
                return found
            after = page.next_after


def _named_watchlists(data: dict[str, Any]) -> set[str]:
    names = {data.get("watchlist_id"), (data.get("form") or {}).get("watchlist_id")}
    return {str(name) for name in names if isinstance(name, str) and name}
