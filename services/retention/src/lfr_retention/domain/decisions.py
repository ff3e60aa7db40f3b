"""What is due for deletion at time T, given the facts: a pure function, so time travel is a unit test.

Facts come from other services' events (deployment windows, alert crops, watchlist blobs), holds from
the Hold aggregate, and `done` from the receipts already issued. Each action has a stable id (the id of
its receipt), so an action is never due twice: enforcement is idempotent by construction.

Rules (deploy/retention-policy.yaml):
* alert crop: due `retention_days` after the alert (or match) unless an active hold covers the alert;
* frames key: destroyed when the deployment ends (frames live <= 60 s in Kafka; the key makes any
  copy left anywhere unreadable);
* watchlist images and templates: deleted, and their key destroyed, `hours_after_deployment_end` after
  the deployment ends;
* alert_media key: destroyed once the deployment has ended and every crop of it has been deleted (a
  held crop keeps the key alive).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from lfr_retention.domain.policy import RetentionPolicy


class ActionKind(StrEnum):
    DELETE_ALERT_CROP = "delete_alert_crop"
    PURGE_WATCHLIST_MEDIA = "purge_watchlist_media"
    DESTROY_KEY = "destroy_key"


@dataclass(frozen=True, slots=True)
class DeploymentFacts:
    deployment_id: str
    ended_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class CropFacts:
    blob_key: str
    deployment_id: str
    created_at: datetime
    alert_id: str | None = None


@dataclass(frozen=True, slots=True)
class HoldFacts:
    hold_id: str
    alert_id: str
    expires_at: datetime
    released: bool = False

    def active_at(self, moment: datetime) -> bool:
        return not self.released and moment < self.expires_at


@dataclass(frozen=True, slots=True)
class RetentionFacts:
    deployments: Mapping[str, DeploymentFacts] = field(default_factory=dict)
    crops: tuple[CropFacts, ...] = ()
    watchlist_blobs: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # deployment -> blob ids
    holds: tuple[HoldFacts, ...] = ()
    done: frozenset[str] = frozenset()  # receipt ids already issued


@dataclass(frozen=True, slots=True)
class Action:
    receipt_id: str
    kind: ActionKind
    data_class: str
    deployment_id: str
    ids: tuple[str, ...]
    blob_keys: tuple[str, ...]
    due_at: datetime
    reason: str


def crop_receipt_id(blob_key: str) -> str:
    return f"crop:{blob_key}"


def key_receipt_id(deployment_id: str, data_class: str) -> str:
    return f"key:{deployment_id}:{data_class}"


def watchlist_receipt_id(deployment_id: str) -> str:
    return f"watchlist-media:{deployment_id}"


def held_alerts(holds: Iterable[HoldFacts], now: datetime) -> set[str]:
    return {hold.alert_id for hold in holds if hold.active_at(now)}


def due_actions(facts: RetentionFacts, policy: RetentionPolicy, now: datetime) -> list[Action]:
    held = held_alerts(facts.holds, now)
    actions: list[Action] = []
    crops_left: dict[str, int] = {}  # deployment -> crops that will still exist after this run
    last_crop_due: dict[str, datetime] = {}  # deployment -> when its last crop falls due

    for crop in facts.crops:
        receipt = crop_receipt_id(crop.blob_key)
        due_at = crop.created_at + policy.alert_media.retention
        last_crop_due[crop.deployment_id] = max(due_at, last_crop_due.get(crop.deployment_id, due_at))
        if receipt in facts.done:
            continue
        if due_at > now or (crop.alert_id is not None and crop.alert_id in held):
            crops_left[crop.deployment_id] = crops_left.get(crop.deployment_id, 0) + 1
            continue
        actions.append(
            Action(
                receipt_id=receipt,
                kind=ActionKind.DELETE_ALERT_CROP,
                data_class="alert_media",
                deployment_id=crop.deployment_id,
                ids=tuple(i for i in (crop.alert_id, crop.blob_key) if i),
                blob_keys=(crop.blob_key,),
                due_at=due_at,
                reason=f"alert data older than {policy.alert_media.retention_days} days and not held",
            )
        )

    for deployment in sorted(facts.deployments.values(), key=lambda d: d.deployment_id):
        if deployment.ended_at is None:
            continue
        actions.extend(_deployment_actions(deployment, facts, policy, now, crops_left, last_crop_due))
    return actions


def _deployment_actions(
    deployment: DeploymentFacts,
    facts: RetentionFacts,
    policy: RetentionPolicy,
    now: datetime,
    crops_left: Mapping[str, int],
    last_crop_due: Mapping[str, datetime],
) -> list[Action]:
    assert deployment.ended_at is not None
    dep = deployment.deployment_id
    actions: list[Action] = []

    def key_action(data_class: str, due_at: datetime, reason: str) -> None:
        receipt = key_receipt_id(dep, data_class)
        if receipt not in facts.done:
            actions.append(
                Action(
                    receipt,
                    ActionKind.DESTROY_KEY,
                    data_class,
                    dep,
                    (f"{dep}/{data_class}",),
                    (),
                    due_at,
                    reason,
                )  # fmt: skip
            )

    if policy.frames.destroy_key_at_deployment_end:
        key_action("frames", deployment.ended_at, "deployment ended: frames key crypto-shredded")

    watchlist_due = deployment.ended_at + policy.watchlist_media.grace
    if watchlist_due <= now:
        receipt = watchlist_receipt_id(dep)
        if receipt not in facts.done:
            blob_ids = tuple(sorted(facts.watchlist_blobs.get(dep, ())))
            actions.append(
                Action(
                    receipt,
                    ActionKind.PURGE_WATCHLIST_MEDIA,
                    "watchlist_media",
                    dep,
                    blob_ids,
                    (),
                    watchlist_due,
                    f"deployment ended {policy.watchlist_media.hours_after_deployment_end} h ago: "
                    "watchlist images and templates deleted",
                )  # fmt: skip
            )
        key_action("watchlist_media", watchlist_due, "watchlist retention ended: key crypto-shredded")

    if crops_left.get(dep, 0) == 0:
        key_action(
            "alert_media",
            max(last_crop_due.get(dep, deployment.ended_at), deployment.ended_at),
            "deployment ended and every alert crop is past retention and not held: key crypto-shredded",
        )
    return actions
