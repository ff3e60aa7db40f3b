"""One handler per command or upstream event: load, let the aggregate decide, save, commit, refresh.

After each commit the registry (the in-memory view) is refreshed and `on_change` wakes the streaming
supervisor, so a halt reaches the decoder threads within one pass."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace

from lfr_platform.aggregate import Attribution
from lfr_platform.clock import Clock, SystemClock
from lfr_platform.errors import DomainRuleViolation, NotFound
from lfr_platform.eventstore import EventDatabase, UnitOfWork
from lfr_platform.messaging.wire import EventMessage

from lfr_ingest.adapters.credentials import SourceUrlVault
from lfr_ingest.app import commands as c
from lfr_ingest.app.registry import CAMERAS, DEPLOYMENTS, Registry
from lfr_ingest.domain.authority import DeploymentStatus, ObservedDeployment
from lfr_ingest.domain.camera import SERVICE_ACTOR, SERVICE_ROLE, Camera
from lfr_ingest.domain.events import CameraSettings
from lfr_ingest.domain.roi import ZoneOfRecognition
from lfr_ingest.domain.source_url import RtspTransport, parse_source_url

CAMERA_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class Limits:
    media_root: str
    default_fps: float = 5.0
    max_fps: float = 30.0
    max_width: int = 1920
    max_height: int = 1080


@dataclass
class IngestApp:
    db: EventDatabase
    vault: SourceUrlVault
    limits: Limits
    registry: Registry = field(default_factory=Registry)
    clock: Clock = field(default_factory=SystemClock)
    on_change: Callable[[], None] = lambda: None

    async def start(self) -> None:
        await self.registry.load(self.db.reader())

    async def reseal_sources(self) -> list[str]:
        """Re-seal, under the current master key, every active camera's source URL that only a previous
        master key opens (after a rotation). Recorded as `CameraUpdated` by the service itself, so the
        audit trail shows when each camera's credentials moved keys. Returns the cameras re-sealed."""
        resealed = []
        for camera in list(self.registry.cameras.values()):
            if not camera.active or camera.settings is None:
                continue
            sealed = camera.settings.source_url_sealed
            if self.vault.sealed_under_current_key(camera.id, sealed):
                continue
            url = self.vault.open(camera.id, sealed)

            async def decide(current: Camera, url: str = url) -> None:
                assert current.settings is not None
                resealed_settings = replace(
                    current.settings, source_url_sealed=self.vault.seal(current.id, url)
                )
                current.update(resealed_settings, actor=SERVICE_ACTOR, role=SERVICE_ROLE, at=self.clock.now())

            await self._change(camera.id, decide, correlation_id=None)
            resealed.append(camera.id)
        return resealed

    # Camera registry ----------------------------------------------------------------------------------

    async def register(self, cmd: c.RegisterCamera) -> Camera:
        if not CAMERA_ID.match(cmd.camera_id):
            raise DomainRuleViolation(
                "camera ids are 1-64 characters: lower-case letters, digits, '.', '_' or '-'",
                code="camera_id_invalid",
            )
        settings = self._settings(
            cmd.camera_id,
            cmd.name,
            cmd.source_url,
            cmd.rtsp_transport,
            cmd.zone,
            cmd.fps if cmd.fps is not None else self.limits.default_fps,
            cmd.max_width or self.limits.max_width,
            cmd.max_height or self.limits.max_height,
        )
        async with self.db.unit_of_work() as uow:
            if await uow.events.read_stream(cmd.camera_id):
                raise DomainRuleViolation(f"camera {cmd.camera_id!r} already exists", code="camera_exists")
            camera = Camera.register(cmd.camera_id, settings, **self._who(cmd))
            await self._save(uow, camera, cmd.correlation_id)
        return camera

    async def update(self, cmd: c.UpdateCamera) -> Camera:
        async def decide(camera: Camera) -> None:
            old = camera.settings
            assert old is not None
            url = (
                cmd.source_url
                if cmd.source_url is not None
                else self.vault.open(camera.id, old.source_url_sealed)
            )
            zone = None if cmd.clear_zone else (cmd.zone if cmd.zone is not None else old.zone)
            new = self._settings(
                camera.id,
                cmd.name or old.name,
                url,
                cmd.rtsp_transport or old.rtsp_transport,
                zone,
                cmd.fps or old.fps,
                cmd.max_width or old.max_width,
                cmd.max_height or old.max_height,
            )
            if cmd.source_url is None:  # keep the same ciphertext: nothing changed
                new = CameraSettings(**{**new.__dict__, "source_url_sealed": old.source_url_sealed})
            camera.update(new, **self._who(cmd))

        return await self._change(cmd.camera_id, decide, cmd.correlation_id)

    async def decommission(self, cmd: c.DecommissionCamera) -> Camera:
        async def decide(camera: Camera) -> None:
            camera.decommission(cmd.reason, **self._who(cmd))

        return await self._change(cmd.camera_id, decide, cmd.correlation_id)

    async def attach(self, cmd: c.AttachCamera) -> Camera:
        view = self.registry.deployments.get(cmd.deployment_id)
        if view is None:
            raise DomainRuleViolation(
                f"deployment {cmd.deployment_id!r} is not known to ingest (not drafted, or not yet received)",
                code="deployment_unknown",
            )
        if view.status is DeploymentStatus.ENDED:
            raise DomainRuleViolation(f"deployment {cmd.deployment_id!r} has ended", code="deployment_ended")
        if cmd.camera_id not in view.cameras:
            raise DomainRuleViolation(
                f"camera {cmd.camera_id!r} is not on the Form 1 of deployment {cmd.deployment_id!r}",
                code="camera_not_on_form1",
            )

        async def decide(camera: Camera) -> None:
            camera.attach(cmd.deployment_id, **self._who(cmd))

        return await self._change(cmd.camera_id, decide, cmd.correlation_id)

    async def detach(self, cmd: c.DetachCamera) -> Camera:
        async def decide(camera: Camera) -> None:
            camera.detach(cmd.deployment_id, cmd.reason, **self._who(cmd))

        return await self._change(cmd.camera_id, decide, cmd.correlation_id)

    # Up/down (recorded by the streaming supervisor) ---------------------------------------------------

    async def record_connected(
        self, camera_id: str, deployment_id: str, width: int, height: int, codec: str
    ) -> None:
        async def decide(camera: Camera) -> None:
            camera.record_connected(deployment_id, width, height, codec, at=self.clock.now())

        await self._change(camera_id, decide, None)

    async def record_disconnected(self, camera_id: str, deployment_id: str | None, reason: str) -> None:
        async def decide(camera: Camera) -> None:
            camera.record_disconnected(deployment_id, reason, at=self.clock.now())

        await self._change(camera_id, decide, None)

    async def record_error(self, camera_id: str, deployment_id: str | None, code: str, message: str) -> None:
        async def decide(camera: Camera) -> None:
            camera.record_error(deployment_id, code, message, at=self.clock.now())

        await self._change(camera_id, decide, None)

    # Upstream: the deployments service's events ------------------------------------------------------

    async def observe_deployment(self, uow: UnitOfWork, message: EventMessage) -> None:
        """Consumer handler (runs inside the consumer's unit of work, which it commits)."""
        deployment_id = message.stream_id
        stream_id = ObservedDeployment.stream_id_for(deployment_id)
        observed = await DEPLOYMENTS.find(uow.events, stream_id) or ObservedDeployment(stream_id)
        actor = message.metadata.get("actor") or "unknown"
        role = message.metadata.get("role") or "unknown"
        at = message.occurred_at
        if not observed.observe(
            message.event_type, str(message.event_id), message.data, actor=actor, role=role, at=at
        ):
            return
        await DEPLOYMENTS.save(uow.events, observed, causation_id=str(message.event_id))
        touched: list[Camera] = []
        view = observed.view
        if message.event_type == "DeploymentAuthorised":  # the Form 1 cameras are attached for the AO
            for camera_id in view.cameras:
                camera = await CAMERAS.find(uow.events, camera_id)
                if camera is not None and camera.active and camera.deployment_id is None:
                    camera.attach(deployment_id, actor=actor, role=role, at=at)
                    touched.append(camera)
        elif view.status is DeploymentStatus.ENDED:
            for camera in list(self.registry.cameras.values()):
                if camera.deployment_id == deployment_id:
                    fresh = await CAMERAS.get(uow.events, camera.id)
                    fresh.detach(deployment_id, "deployment_ended", actor=actor, role=role, at=at)
                    touched.append(fresh)
        for camera in touched:
            await CAMERAS.save(uow.events, camera, causation_id=str(message.event_id))
        # Applied before the consumer commits: a failed commit is retried and re-applies the same state.
        self.registry.deployments[deployment_id] = view
        for camera in touched:
            self.registry.cameras[camera.id] = camera
        self.on_change()

    # Helpers ------------------------------------------------------------------------------------------

    def _settings(
        self,
        camera_id: str,
        name: str,
        url: str,
        transport: str,
        zone: tuple[tuple[float, float], ...] | None,
        fps: float,
        max_width: int,
        max_height: int,
    ) -> CameraSettings:
        source = parse_source_url(url, self.limits.media_root)
        if not name.strip() or len(name) > 200:
            raise DomainRuleViolation("a camera needs a name (1-200 characters)", code="camera_name_invalid")
        try:
            transport = RtspTransport(transport.lower()).value
        except ValueError:
            raise DomainRuleViolation(
                "rtsp_transport is 'tcp' or 'udp'", code="rtsp_transport_invalid"
            ) from None
        if not 0 < fps <= self.limits.max_fps:
            raise DomainRuleViolation(
                f"sampling rate must be above 0 and at most {self.limits.max_fps:g} fps",
                code="fps_out_of_range",
            )
        if not (16 <= max_width <= self.limits.max_width and 16 <= max_height <= self.limits.max_height):
            raise DomainRuleViolation(
                f"maximum resolution is at most {self.limits.max_width}x{self.limits.max_height}",
                code="resolution_out_of_range",
            )
        checked_zone = ZoneOfRecognition(zone).points if zone is not None else None
        return CameraSettings(
            name=name.strip(),
            source_kind=source.kind.value,
            source_url=source.redacted,
            source_url_sealed=self.vault.seal(camera_id, url.strip()),
            rtsp_transport=transport,
            zone=checked_zone,
            fps=float(fps),
            max_width=max_width,
            max_height=max_height,
        )

    async def _change(
        self, camera_id: str, decide: Callable[[Camera], Awaitable[None]], correlation_id: str | None
    ) -> Camera:
        async with self.db.unit_of_work() as uow:
            camera = await CAMERAS.find(uow.events, camera_id)
            if camera is None:
                raise NotFound(f"camera {camera_id!r} does not exist")
            await decide(camera)
            await self._save(uow, camera, correlation_id)
        return camera

    async def _save(self, uow: UnitOfWork, camera: Camera, correlation_id: str | None) -> None:
        if camera.pending:
            await CAMERAS.save(uow.events, camera, correlation_id=correlation_id)
            await uow.commit()
        self.registry.cameras[camera.id] = camera
        self.on_change()

    def _who(self, cmd: c.Command) -> Attribution:
        return {"actor": cmd.actor, "role": cmd.role, "at": self.clock.now()}


__all__ = ["IngestApp", "Limits", "SERVICE_ACTOR", "SERVICE_ROLE"]
