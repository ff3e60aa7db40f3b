"""Ports of the retention service: the data-key shredder (the deployments service's DataKeys gRPC)."""

from __future__ import annotations

from typing import Protocol


class KeyShredder(Protocol):
    async def destroy(self, deployment_id: str, data_class: str, *, reason: str) -> bool:
        """Crypto-shred one data key; False when it was already gone (idempotent). Raises when the key
        service cannot be reached, so the action stays due and is retried at the next run."""
        ...
