"""The Deployment aggregate: Form 1, written authorisation and the live lifecycle.

draft -> submitted -> authorised -> live <-> halted -> ended -> reviewed. A change after
authorisation returns it to draft (AuthorisationLapsed), so it must be submitted and authorised again.
Every refusal is a DomainRuleViolation whose `code` names the rule.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from lfr_platform.aggregate import Aggregate, DomainEvent
from lfr_platform.errors import DomainRuleViolation

from lfr_deployments.domain import events as ev
from lfr_deployments.domain.form1 import CommunityImpactAssessment, Form1, Threshold
from lfr_deployments.domain.policy import GovernancePolicy
from lfr_deployments.domain.roles import AUTHORISING_OFFICER, SILVER_COMMANDER
from lfr_deployments.domain.watchlist_summary import WatchlistSummary


class Status(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    AUTHORISED = "authorised"
    LIVE = "live"
    HALTED = "halted"
    ENDED = "ended"
    REVIEWED = "reviewed"


RUNNING = (Status.AUTHORISED, Status.LIVE, Status.HALTED)
CLOSED = (Status.ENDED, Status.REVIEWED)


@dataclass(frozen=True, kw_only=True)
class FalseAlertEstimate:
    """Expected false alerts per 1,000 faces, looked up in the model's calibration table."""

    per_1000: float
    model_version: str


def _refuse(code: str, message: str, **details: Any) -> DomainRuleViolation:
    return DomainRuleViolation(message, code=code, details=details)


class Deployment(Aggregate):
    stream_type = "deployment"

    def _init_state(self) -> None:
        self.status = Status.DRAFT
        self.form: Form1 | None = None
        self.submitted_by: str | None = None
        self.authorised_by: str | None = None
        self.pinned_watchlist_id: str | None = None
        self.pinned_watchlist_version: int | None = None
        self.assessments: list[CommunityImpactAssessment] = []
        self.destroyed_keys: set[str] = set()

    # ----- commands ---------------------------------------------------------------------------
    @classmethod
    def draft(
        cls, deployment_id: str, form: Form1, policy: GovernancePolicy, *, actor: str, role: str, at: datetime
    ) -> Deployment:
        policy.check_threshold(form.threshold)
        deployment = cls(deployment_id)
        deployment._trigger(ev.DeploymentDrafted, actor=actor, role=role, at=at, form=form)
        return deployment

    def amend(self, changes: dict[str, Any], reason: str, *, actor: str, role: str, at: datetime) -> None:
        self._require_amendable(reason)
        if "threshold" in changes:
            raise _refuse("use_change_threshold", "change the threshold with its own command")
        new_form = replace(self._form, **changes)
        changed = new_form.changed_fields(self._form)
        if not changed:
            raise _refuse("no_change", "the amendment changes nothing")
        lapses = self.status in (Status.AUTHORISED, Status.HALTED)
        self._trigger(ev.Form1Amended, actor=actor, role=role, at=at, form=new_form, changed=changed,
                      reason=reason)
        if lapses:
            self._lapse("form1_amended", actor=actor, role=role, at=at)

    def change_threshold(
        self, threshold: Threshold, reason: str, policy: GovernancePolicy, *, actor: str, role: str,
        at: datetime,
    ) -> None:
        self._require_amendable(reason)
        policy.check_threshold(threshold)
        if threshold == self._form.threshold:
            raise _refuse("no_change", "the threshold is already set to this")
        lapses = self.status in (Status.AUTHORISED, Status.HALTED)
        self._trigger(ev.ThresholdChanged, actor=actor, role=role, at=at, previous=self._form.threshold,
                      threshold=threshold)
        if lapses:
            self._lapse("threshold_changed", actor=actor, role=role, at=at)

    def reassess_community_impact(
        self, assessment: CommunityImpactAssessment, *, actor: str, role: str, at: datetime
    ) -> None:
        self._require_open()
        self._trigger(ev.CommunityImpactReassessed, actor=actor, role=role, at=at, assessment=assessment)

    def submit(self, policy: GovernancePolicy, *, actor: str, role: str, at: datetime) -> None:
        if self.status != Status.DRAFT:
            raise _refuse("not_draft", f"only a draft can be submitted (status {self.status})")
        form = self._form
        self._check_form_complete(form, policy, at)
        self._trigger(ev.DeploymentSubmitted, actor=actor, role=role, at=at)

    def authorise(
        self,
        summary: WatchlistSummary | None,
        estimate: FalseAlertEstimate,
        policy: GovernancePolicy,
        *,
        notes: str = "",
        actor: str,
        role: str,
        at: datetime,
    ) -> None:
        self._require_authoriser(actor, role)
        form = self._form
        self._check_form_complete(form, policy, at)
        assert summary is not None, "a complete form names a watchlist, so the handler fetched it"
        self._check_watchlist(form, summary)
        policy.check_false_alert_rate(estimate.per_1000)
        self._trigger(
            ev.DeploymentAuthorised, actor=actor, role=role, at=at,
            watchlist_id=summary.watchlist_id, watchlist_version=summary.version,
            watchlist_size=summary.size, threshold=form.threshold.value,
            expected_false_alerts_per_1000=estimate.per_1000,
            calibration_model_version=estimate.model_version, notes=notes,
        )

    def refuse_authorisation(self, reason: str, *, actor: str, role: str, at: datetime) -> None:
        self._require_authoriser(actor, role)
        if not reason.strip():
            raise _refuse("refusal_reason_required", "a refusal records its reason")
        self._trigger(ev.AuthorisationRefused, actor=actor, role=role, at=at, reason=reason)

    def start(
        self, reason: str | None, watchlist: WatchlistSummary | None, *, actor: str, role: str, at: datetime
    ) -> None:
        if role != SILVER_COMMANDER:
            raise _refuse("silver_commander_required", "only a Silver Commander starts a deployment")
        if self.status == Status.HALTED:
            if not (reason or "").strip():
                raise _refuse("restart_reason_required",
                              "a halted deployment restarts only with a recorded reason")
        elif self.status != Status.AUTHORISED:
            raise _refuse("not_authorised", f"the deployment is not authorised to start ({self.status})")
        window = self._form.window
        if not window.contains(at):
            raise _refuse("outside_window", "the deployment may run only inside its authorised window",
                          start=window.start.isoformat(), end=window.end.isoformat(), now=at.isoformat())
        # What runs must be exactly what was authorised: the watchlist frozen at the pinned revision.
        if watchlist is None or not watchlist.frozen or watchlist.version != self.pinned_watchlist_version:
            raise _refuse("watchlist_not_frozen",
                          "the watchlist is not frozen at the revision the authorising officer approved",
                          pinned_version=self.pinned_watchlist_version,
                          current_version=watchlist.version if watchlist else None,
                          frozen=watchlist.frozen if watchlist else False)
        if self.status == Status.HALTED:
            self._trigger(ev.DeploymentResumed, actor=actor, role=role, at=at, reason=reason or "")
        else:
            self._trigger(ev.DeploymentStarted, actor=actor, role=role, at=at)

    def halt(self, reason: str, *, actor: str, role: str, at: datetime) -> None:
        if role != SILVER_COMMANDER:
            raise _refuse("silver_commander_required", "only a Silver Commander halts a deployment")
        if self.status != Status.LIVE:
            raise _refuse("not_live", f"only a live deployment can be halted ({self.status})")
        if not reason.strip():
            raise _refuse("halt_reason_required", "a halt records its reason")
        self._trigger(ev.DeploymentHalted, actor=actor, role=role, at=at, reason=reason)

    def end(self, note: str, *, actor: str, role: str, at: datetime) -> None:
        if role != SILVER_COMMANDER:
            raise _refuse("silver_commander_required", "only a Silver Commander ends a deployment early")
        self._require_running()
        self._trigger(ev.DeploymentEnded, actor=actor, role=role, at=at,
                      end_reason=ev.EndReason.ENDED_BY_SILVER, note=note)

    def expire(self, *, actor: str, role: str, at: datetime) -> None:
        self._require_running()
        if at < self._form.window.end:
            raise _refuse("window_not_over", "the window has not ended yet",
                          end=self._form.window.end.isoformat(), now=at.isoformat())
        self._trigger(ev.DeploymentEnded, actor=actor, role=role, at=at,
                      end_reason=ev.EndReason.WINDOW_EXPIRED)

    def record_review(
        self, false_alerts_examined: int, findings: str, report_reference: str | None, *,
        actor: str, role: str, at: datetime,
    ) -> None:
        if self.status != Status.ENDED:
            raise _refuse("not_ended", f"a post-deployment review follows the end ({self.status})")
        if not findings.strip():
            raise _refuse("review_findings_required", "the review records its findings")
        if false_alerts_examined < 0:
            raise _refuse("invalid_false_alert_count", "false alerts examined cannot be negative")
        self._trigger(ev.PostDeploymentReviewRecorded, actor=actor, role=role, at=at,
                      false_alerts_examined=false_alerts_examined, findings=findings,
                      report_reference=report_reference)

    def record_key_destroyed(
        self, data_class: str, key_id: str, reason: str, *, actor: str, role: str, at: datetime
    ) -> None:
        """Once per data class: a retried destroy after the key is gone records nothing more."""
        if data_class in self.destroyed_keys:
            return
        self._trigger(ev.DataKeyDestroyed, actor=actor, role=role, at=at, data_class=data_class,
                      key_id=key_id, reason=reason)

    # ----- rules ------------------------------------------------------------------------------
    @property
    def _form(self) -> Form1:
        assert self.form is not None, "a deployment always starts with DeploymentDrafted"
        return self.form

    def _require_open(self) -> None:
        if self.status in CLOSED:
            raise _refuse("deployment_closed", f"the deployment has {self.status}")

    def _require_running(self) -> None:
        if self.status not in RUNNING:
            raise _refuse("not_running",
                          f"only an authorised, live or halted deployment ends ({self.status})")

    def _require_amendable(self, reason: str) -> None:
        self._require_open()
        if self.status == Status.LIVE:
            raise _refuse("halt_before_amending", "halt the live deployment before changing its Form 1")
        if self.status != Status.DRAFT and not reason.strip():
            raise _refuse("amendment_reason_required", "a change after submission records its reason")

    def _require_authoriser(self, actor: str, role: str) -> None:
        if role != AUTHORISING_OFFICER:
            raise _refuse("authoriser_role_required", "only an authorising officer decides on a Form 1")
        if self.status != Status.SUBMITTED:
            raise _refuse("not_submitted", f"only a submitted Form 1 can be decided ({self.status})")
        if actor == self.submitted_by:
            raise _refuse("authoriser_is_submitter", "the authorising officer cannot be the submitter")
        if actor in self._form.operators:
            raise _refuse("authoriser_is_operator", "the authorising officer cannot be an operator on it")

    def _check_form_complete(self, form: Form1, policy: GovernancePolicy, at: datetime) -> None:
        if not form.purpose.description.strip():
            raise _refuse("purpose_required", "Form 1 states the specific policing purpose")
        if not form.location.zones:
            raise _refuse("zones_required", "Form 1 names at least one zone of recognition")
        if not form.cameras:
            raise _refuse("cameras_required", "Form 1 lists the cameras")
        if not form.watchlist_id:
            raise _refuse("watchlist_required", "Form 1 names the deployment's watchlist")
        if form.composition.needs_legal_advice and not (form.legal_advice_reference or "").strip():
            raise _refuse("legal_advice_required",
                          "under-13 or disability declared: Form 1 needs a legal-advice reference")
        if not self.assessments:
            raise _refuse("community_impact_assessment_required",
                          "Form 1 includes a community impact assessment")
        if at >= form.window.end:
            raise _refuse("window_passed", "the deployment window has already ended",
                          end=form.window.end.isoformat())
        policy.check_threshold(form.threshold)

    def _check_watchlist(self, form: Form1, summary: WatchlistSummary) -> None:
        if summary.watchlist_id != form.watchlist_id:
            raise _refuse("watchlist_mismatch", "the summary is not of the watchlist named on Form 1",
                          expected=form.watchlist_id, got=summary.watchlist_id)
        if summary.deployment_id != self.id:
            raise _refuse("watchlist_not_for_deployment", "a watchlist is built for one deployment only",
                          watchlist_deployment_id=summary.deployment_id)
        if not summary.entries:
            raise _refuse("watchlist_empty", "the watchlist has no entries")
        declared = form.composition
        for attribute in ("under_13", "under_18", "disability"):
            found = [e.entry_id for e in summary.entries if getattr(e, attribute)]
            if found and not getattr(declared, attribute):
                raise _refuse("composition_mismatch",
                              f"watchlist entry {found[0]} is {attribute} but Form 1 declares none",
                              attribute=attribute, entry_id=found[0], entry_ids=found)
            if not found and getattr(declared, attribute):
                raise _refuse("composition_mismatch",
                              f"Form 1 declares {attribute} but no watchlist entry is",
                              attribute=attribute, entry_id=None, entry_ids=[])

    def _lapse(self, cause: str, *, actor: str, role: str, at: datetime) -> None:
        self._trigger(ev.AuthorisationLapsed, actor=actor, role=role, at=at, cause=cause,
                      watchlist_id=self.pinned_watchlist_id)

    # ----- state transitions (pure) -----------------------------------------------------------
    def _apply(self, event: DomainEvent) -> None:
        match event:
            case ev.DeploymentDrafted(form=form):
                self.form = form
            case ev.Form1Amended(form=form):
                self.form = form
                self.status = Status.DRAFT if self.status == Status.SUBMITTED else self.status
            case ev.ThresholdChanged(threshold=threshold):
                self.form = replace(self._form, threshold=threshold)
                self.status = Status.DRAFT if self.status == Status.SUBMITTED else self.status
            case ev.AuthorisationLapsed():
                self.status = Status.DRAFT
                self.authorised_by = None
                self.pinned_watchlist_version = None
                self.pinned_watchlist_id = None
            case ev.CommunityImpactReassessed(assessment=assessment):
                self.assessments.append(assessment)
            case ev.DeploymentSubmitted(actor=actor):
                self.status = Status.SUBMITTED
                self.submitted_by = actor
            case ev.DeploymentAuthorised(actor=actor, watchlist_id=wid, watchlist_version=version):
                self.status = Status.AUTHORISED
                self.authorised_by = actor
                self.pinned_watchlist_version = version
                self.pinned_watchlist_id = wid
            case ev.AuthorisationRefused():
                self.status = Status.DRAFT
            case ev.DeploymentStarted() | ev.DeploymentResumed():
                self.status = Status.LIVE
            case ev.DeploymentHalted():
                self.status = Status.HALTED
            case ev.DeploymentEnded():
                self.status = Status.ENDED
            case ev.PostDeploymentReviewRecorded():
                self.status = Status.REVIEWED
            case ev.DataKeyDestroyed(data_class=data_class):
                self.destroyed_keys.add(data_class)
            case _:
                raise TypeError(f"Deployment cannot apply {type(event).__name__}")
