"""The deployments projection: folds `lfr.deployments.events.v1` into `inference_deployment_state` (in
the consumer's unit of work) and into the in-memory `DeploymentRegistry` the frame path reads. Starting
or resuming loads the deployment's gallery; halting or ending drops it (and its tracks) at once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial

from lfr_platform.clock import Clock
from lfr_platform.eventstore.ports import UnitOfWork
from lfr_platform.messaging.wire import EventMessage

from lfr_inference.adapters import deployment_state_sql as table
from lfr_inference.app.galleries import GalleryRegistry
from lfr_inference.domain.deployment_state import STARTS, STOPS, DeploymentState, apply


class DeploymentRegistry:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._states: dict[str, DeploymentState] = {}

    def get(self, deployment_id: str) -> DeploymentState | None:
        return self._states.get(deployment_id)

    def put(self, state: DeploymentState) -> None:
        self._states[state.deployment_id] = state

    def all(self) -> list[DeploymentState]:
        return list(self._states.values())

    def not_live_reason(self, deployment_id: str, now: datetime | None = None) -> str | None:
        """None when frames of the deployment may be processed now; else why not."""
        state = self._states.get(deployment_id)
        if state is None:
            return "unknown_deployment"
        return state.not_live_reason(now or self._clock.now())

    def is_live(self, deployment_id: str) -> bool:
        return self.not_live_reason(deployment_id) is None

    def is_processing(self, deployment_id: str) -> bool:
        """Started or resumed and not halted/ended (the window may not have begun yet)."""
        state = self._states.get(deployment_id)
        return state is not None and state.processing


class DeploymentEventsHandler:
    """The tracked consumer's handler (exactly-once effect: tracking row and projection row commit
    together)."""

    def __init__(
        self,
        registry: DeploymentRegistry,
        galleries: GalleryRegistry,
        on_stopped: Callable[[str], None] = lambda _deployment_id: None,
        on_key_destroyed: Callable[[str], None] = lambda _deployment_id: None,
    ) -> None:
        self._registry = registry
        self._galleries = galleries
        self._on_stopped = on_stopped
        self._on_key_destroyed = on_key_destroyed

    async def __call__(self, uow: UnitOfWork, message: EventMessage) -> None:
        if message.stream_type != "deployment":
            return
        deployment_id = message.stream_id
        if message.event_type == "DataKeyDestroyed":  # crypto-shredded: no cached copy may outlive it
            self._on_key_destroyed(deployment_id)
            return
        connection = uow.connection
        current = None
        if connection is not None:
            current = await table.load(connection, deployment_id)
        if current is None:
            current = self._registry.get(deployment_id) or DeploymentState(deployment_id)
        state = apply(current, message.event_type, message.data)
        if state == current:
            return
        if connection is not None:
            await table.save(connection, state)
        # A halt takes effect in memory before the commit: stopping early is always safe, and a retried
        # delivery applies the same event again.
        self._registry.put(state)
        if message.event_type in STOPS:
            self._galleries.drop(deployment_id)
            self._on_stopped(deployment_id)
        elif message.event_type in STARTS:
            self._galleries.schedule_load(deployment_id, lambda: self._registry.is_processing(deployment_id))


async def restore(uow: UnitOfWork, registry: DeploymentRegistry, galleries: GalleryRegistry) -> None:
    """At start-up: the projection from the table, and the galleries of deployments still processing."""
    connection = uow.connection
    if connection is None:
        return
    await table.create_tables(connection)
    for state in await table.load_all(connection):
        registry.put(state)
        if state.processing:
            galleries.schedule_load(state.deployment_id, partial(registry.is_processing, state.deployment_id))
