"""How the watchlists service reacts to deployment events (the Kafka consumer calls this).

The command keeps the deployment event's actor and role, so the audit trail shows the authorising
officer froze the watchlist, not a machine.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lfr_platform.eventstore import StoredEvent

from lfr_watchlists.app import commands as c


def command_for(event_type: str, deployment_id: str, data: Mapping[str, Any], *, actor: str, role: str,
                correlation_id: str | None) -> c.FreezeWatchlist | c.ReopenWatchlist | None:
    if event_type == "DeploymentAuthorised":
        return c.FreezeWatchlist(watchlist_id=data["watchlist_id"], deployment_id=deployment_id,
                                 revision=int(data["watchlist_version"]), actor=actor, role=role,
                                 correlation_id=correlation_id)
    if event_type == "AuthorisationLapsed" and data.get("watchlist_id"):
        return c.ReopenWatchlist(watchlist_id=data["watchlist_id"],
                                 reason=f"deployment {deployment_id} needs re-authorisation: "
                                        f"{data.get('cause', '')}", actor=actor, role=role,
                                 correlation_id=correlation_id)
    return None


def command_for_deployment_event(event: StoredEvent) -> c.Command | None:
    return command_for(event.event_type, event.stream_id, event.data, actor=event.metadata.actor,
                       role=event.metadata.role, correlation_id=event.metadata.correlation_id)
