"""Commands: imperative requests, each carrying who asks (actor, role) for the audit trail."""

from __future__ import annotations

from dataclasses import dataclass

from lfr_deployments.domain.form1 import (
    CommunityImpactAssessment,
    CompositionDeclaration,
    Form1,
    Location,
    PolicingPurpose,
    Threshold,
    Window,
)
from lfr_deployments.domain.master_key import KeyRewrapFailed


@dataclass(frozen=True, kw_only=True)
class Command:
    actor: str
    role: str
    correlation_id: str | None = None
    traceparent: str | None = None  # W3C trace context of the request, into the event metadata


@dataclass(frozen=True, kw_only=True)
class DraftDeployment(Command):
    deployment_id: str
    form: Form1


@dataclass(frozen=True, kw_only=True)
class AmendForm1(Command):
    """Change Form 1 fields (None = unchanged). The threshold has its own command."""

    deployment_id: str
    reason: str = ""
    purpose: PolicingPurpose | None = None
    location: Location | None = None
    window: Window | None = None
    cameras: tuple[str, ...] | None = None
    watchlist_id: str | None = None
    composition: CompositionDeclaration | None = None
    legal_advice_reference: str | None = None
    operators: tuple[str, ...] | None = None

    def changes(self) -> dict[str, object]:
        names = ("purpose", "location", "window", "cameras", "watchlist_id", "composition",
                 "legal_advice_reference", "operators")
        return {n: getattr(self, n) for n in names if getattr(self, n) is not None}


@dataclass(frozen=True, kw_only=True)
class ChangeThreshold(Command):
    deployment_id: str
    threshold: Threshold
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class ReassessCommunityImpact(Command):
    deployment_id: str
    assessment: CommunityImpactAssessment


@dataclass(frozen=True, kw_only=True)
class SubmitDeployment(Command):
    deployment_id: str


@dataclass(frozen=True, kw_only=True)
class AuthoriseDeployment(Command):
    deployment_id: str
    notes: str = ""


@dataclass(frozen=True, kw_only=True)
class RefuseAuthorisation(Command):
    deployment_id: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class StartDeployment(Command):
    """Start an authorised deployment, or restart a halted one (which needs a reason)."""

    deployment_id: str
    reason: str | None = None


@dataclass(frozen=True, kw_only=True)
class HaltDeployment(Command):
    deployment_id: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class EndDeployment(Command):
    deployment_id: str
    note: str = ""


@dataclass(frozen=True, kw_only=True)
class ExpireDeployment(Command):
    """Sent by the scheduler when a window may have ended; refused while it has not."""

    deployment_id: str


@dataclass(frozen=True, kw_only=True)
class RecordPostDeploymentReview(Command):
    deployment_id: str
    false_alerts_examined: int
    findings: str
    report_reference: str | None = None


@dataclass(frozen=True, kw_only=True)
class RecordDataKeyDestroyed(Command):
    """Sent after the key ring shredded (or found shredded) a data key, so the audit trail has it."""

    deployment_id: str
    data_class: str
    key_id: str
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class RecordMasterKeyRotation(Command):
    """Sent after a re-wrap run, so oversight sees every master-key rotation (ids and counts only)."""

    current_key_id: str
    previous_key_ids: tuple[str, ...]
    rewrapped: int
    already_current: int
    destroyed_skipped: int
    failures: tuple[KeyRewrapFailed, ...] = ()
    reason: str = ""
