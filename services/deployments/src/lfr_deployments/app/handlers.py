"""One handler per command: load the Deployment, let it decide, save its events in one unit of work."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from lfr_platform.aggregate import Attribution
from lfr_platform.clock import Clock, SystemClock
from lfr_platform.errors import DomainRuleViolation
from lfr_platform.eventstore import EventDatabase, EventSourcedRepository, StoredEvent

from lfr_deployments.app import commands as c
from lfr_deployments.app.messagebus import Handlers, MessageBus
from lfr_deployments.app.ports import CalibrationTable, DataKeyRing, WatchlistSummaries
from lfr_deployments.domain.deployment import Deployment, FalseAlertEstimate
from lfr_deployments.domain.events import DEPLOYMENT_EVENTS
from lfr_deployments.domain.master_key import MASTER_KEY_EVENTS, STREAM_ID, MasterKeyHistory
from lfr_deployments.domain.policy import GovernancePolicy

REPOSITORY: EventSourcedRepository[Deployment] = EventSourcedRepository(Deployment, DEPLOYMENT_EVENTS)
MASTER_KEY_REPOSITORY: EventSourcedRepository[MasterKeyHistory] = EventSourcedRepository(
    MasterKeyHistory, MASTER_KEY_EVENTS
)


@dataclass
class DeploymentServices:
    db: EventDatabase
    calibration: CalibrationTable
    watchlists: WatchlistSummaries
    policy: GovernancePolicy = field(default_factory=GovernancePolicy)
    clock: Clock = field(default_factory=SystemClock)
    keys: DataKeyRing | None = None  # wired in phase 2, once lfr_platform.crypto lands


async def _change(
    svc: DeploymentServices, cmd: c.Command, deployment_id: str, decide: Callable[[Deployment], None]
) -> list[StoredEvent]:
    async with svc.db.unit_of_work() as uow:
        deployment = await REPOSITORY.get(uow.events, deployment_id)
        decide(deployment)
        stored = await REPOSITORY.save(uow.events, deployment, correlation_id=cmd.correlation_id,
                                       traceparent=cmd.traceparent)
        await uow.commit()
    return stored


def _who(svc: DeploymentServices, cmd: c.Command) -> Attribution:
    return {"actor": cmd.actor, "role": cmd.role, "at": svc.clock.now()}


async def draft(cmd: c.DraftDeployment, svc: DeploymentServices) -> list[StoredEvent]:
    async with svc.db.unit_of_work() as uow:
        if await uow.events.read_stream(cmd.deployment_id):
            raise DomainRuleViolation(f"deployment {cmd.deployment_id!r} already exists",
                                      code="deployment_exists")
        deployment = Deployment.draft(cmd.deployment_id, cmd.form, svc.policy, **_who(svc, cmd))
        stored = await REPOSITORY.save(uow.events, deployment, correlation_id=cmd.correlation_id,
                                       traceparent=cmd.traceparent)
        await uow.commit()
    return stored


async def amend(cmd: c.AmendForm1, svc: DeploymentServices) -> list[StoredEvent]:
    return await _change(svc, cmd, cmd.deployment_id,
                         lambda d: d.amend(cmd.changes(), cmd.reason, **_who(svc, cmd)))


async def change_threshold(cmd: c.ChangeThreshold, svc: DeploymentServices) -> list[StoredEvent]:
    return await _change(svc, cmd, cmd.deployment_id, lambda d: d.change_threshold(
        cmd.threshold, cmd.reason, svc.policy, **_who(svc, cmd)))


async def reassess(cmd: c.ReassessCommunityImpact, svc: DeploymentServices) -> list[StoredEvent]:
    return await _change(svc, cmd, cmd.deployment_id,
                         lambda d: d.reassess_community_impact(cmd.assessment, **_who(svc, cmd)))


async def submit(cmd: c.SubmitDeployment, svc: DeploymentServices) -> list[StoredEvent]:
    return await _change(svc, cmd, cmd.deployment_id, lambda d: d.submit(svc.policy, **_who(svc, cmd)))


async def estimate_false_alerts(
    svc: DeploymentServices, threshold: float, watchlist_size: int
) -> FalseAlertEstimate:
    return FalseAlertEstimate(
        per_1000=svc.calibration.expected_false_alerts_per_1000(threshold, watchlist_size),
        model_version=svc.calibration.model_version,
    )


async def authorise(cmd: c.AuthoriseDeployment, svc: DeploymentServices) -> list[StoredEvent]:
    async with svc.db.unit_of_work() as uow:
        deployment = await REPOSITORY.get(uow.events, cmd.deployment_id)
        form = deployment.form
        assert form is not None
        summary = None
        estimate = FalseAlertEstimate(per_1000=0.0, model_version="")
        if form.watchlist_id:
            # Ages are computed at the start of the window: the youngest anyone will be while it runs.
            summary = await svc.watchlists.summary(form.watchlist_id, on=form.window.start.date())
            estimate = await estimate_false_alerts(svc, form.threshold.value, summary.size)
        deployment.authorise(summary, estimate, svc.policy, notes=cmd.notes, **_who(svc, cmd))
        stored = await REPOSITORY.save(uow.events, deployment, correlation_id=cmd.correlation_id,
                                       traceparent=cmd.traceparent)
        await uow.commit()
    return stored


async def refuse(cmd: c.RefuseAuthorisation, svc: DeploymentServices) -> list[StoredEvent]:
    return await _change(svc, cmd, cmd.deployment_id,
                         lambda d: d.refuse_authorisation(cmd.reason, **_who(svc, cmd)))


async def start(cmd: c.StartDeployment, svc: DeploymentServices) -> list[StoredEvent]:
    async with svc.db.unit_of_work() as uow:
        deployment = await REPOSITORY.get(uow.events, cmd.deployment_id)
        watchlist = None
        if deployment.pinned_watchlist_id and deployment.form is not None:
            watchlist = await svc.watchlists.summary(deployment.pinned_watchlist_id,
                                                     on=deployment.form.window.start.date())
        deployment.start(cmd.reason, watchlist, **_who(svc, cmd))
        stored = await REPOSITORY.save(uow.events, deployment, correlation_id=cmd.correlation_id,
                                       traceparent=cmd.traceparent)
        await uow.commit()
    return stored


async def halt(cmd: c.HaltDeployment, svc: DeploymentServices) -> list[StoredEvent]:
    return await _change(svc, cmd, cmd.deployment_id, lambda d: d.halt(cmd.reason, **_who(svc, cmd)))


async def end(cmd: c.EndDeployment, svc: DeploymentServices) -> list[StoredEvent]:
    return await _change(svc, cmd, cmd.deployment_id, lambda d: d.end(cmd.note, **_who(svc, cmd)))


async def expire(cmd: c.ExpireDeployment, svc: DeploymentServices) -> list[StoredEvent]:
    return await _change(svc, cmd, cmd.deployment_id, lambda d: d.expire(**_who(svc, cmd)))


async def review(cmd: c.RecordPostDeploymentReview, svc: DeploymentServices) -> list[StoredEvent]:
    return await _change(svc, cmd, cmd.deployment_id, lambda d: d.record_review(
        cmd.false_alerts_examined, cmd.findings, cmd.report_reference, **_who(svc, cmd)))


async def record_key_destroyed(cmd: c.RecordDataKeyDestroyed, svc: DeploymentServices) -> list[StoredEvent]:
    return await _change(svc, cmd, cmd.deployment_id, lambda d: d.record_key_destroyed(
        cmd.data_class, cmd.key_id, cmd.reason, **_who(svc, cmd)))


async def record_master_key_rotation(
    cmd: c.RecordMasterKeyRotation, svc: DeploymentServices
) -> list[StoredEvent]:
    async with svc.db.unit_of_work() as uow:
        history = await MASTER_KEY_REPOSITORY.find(uow.events, STREAM_ID) or MasterKeyHistory(STREAM_ID)
        history.record_rotation(
            current_key_id=cmd.current_key_id, previous_key_ids=cmd.previous_key_ids,
            rewrapped=cmd.rewrapped, already_current=cmd.already_current,
            destroyed_skipped=cmd.destroyed_skipped, failures=cmd.failures, reason=cmd.reason,
            **_who(svc, cmd),
        )  # fmt: skip
        stored = await MASTER_KEY_REPOSITORY.save(uow.events, history, correlation_id=cmd.correlation_id,
                                                  traceparent=cmd.traceparent)
        await uow.commit()
    return stored


# The Form 1 lifecycle: each a person's command over REST.
HANDLERS = (
    Handlers[DeploymentServices, list[StoredEvent]]()
    .register(c.DraftDeployment, draft)
    .register(c.AmendForm1, amend)
    .register(c.ChangeThreshold, change_threshold)
    .register(c.ReassessCommunityImpact, reassess)
    .register(c.SubmitDeployment, submit)
    .register(c.AuthoriseDeployment, authorise)
    .register(c.RefuseAuthorisation, refuse)
    .register(c.StartDeployment, start)
    .register(c.HaltDeployment, halt)
    .register(c.EndDeployment, end)
    .register(c.ExpireDeployment, expire)
    .register(c.RecordPostDeploymentReview, review)
)
# Not a person's command over REST: the DataKeys gRPC service records key destruction on its own bus.
KEY_HANDLERS = (
    Handlers[DeploymentServices, list[StoredEvent]]()
    .register(c.RecordDataKeyDestroyed, record_key_destroyed)
    .register(c.RecordMasterKeyRotation, record_master_key_rotation)
)
DeploymentBus = MessageBus[DeploymentServices, list[StoredEvent]]


def build_bus(services: DeploymentServices) -> DeploymentBus:
    return MessageBus(services, HANDLERS)
