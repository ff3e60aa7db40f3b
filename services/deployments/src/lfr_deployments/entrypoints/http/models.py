"""Request and response bodies of /api/v1/deployments. They parse and describe; the domain decides."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

from lfr_deployments.app.queries import DeploymentView
from lfr_deployments.domain import form1 as f
from lfr_deployments.domain.deployment import Status

Text = Annotated[str, Field(max_length=4000)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
DeploymentId = Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]{1,64}$", description="letters, digits . _ -")]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PurposeBody(_Body):
    aim: f.LegitimateAim = Field(description="the Article 8(2) legitimate aim pursued")
    description: Text = Field(description="the specific policing purpose of this deployment")


class LocationBody(_Body):
    name: Name = Field(description="where the zone of recognition is")
    zones: list[Name] = Field(default_factory=list, description="zones of recognition (one+ to submit)")


class WindowBody(_Body):
    start: AwareDatetime = Field(description="authorised start (inclusive), with a time zone")
    end: AwareDatetime = Field(description="authorised end (exclusive)")


class ThresholdBody(_Body):
    value: float = Field(default=f.DEFAULT_THRESHOLD, description="face-match threshold (calibrated)")
    justification: Text | None = Field(
        default=None, description="required (specific, written) when the value is below 0.60"
    )


class CompositionBody(_Body):
    under_18: bool = Field(default=False, description="the watchlist contains people believed under 18")
    under_13: bool = Field(default=False, description="... believed under 13 (needs legal advice)")
    disability: bool = Field(default=False, description="... with a disability (needs legal advice)")


class Form1Body(_Body):
    """Form 1: what the authorising officer approves in writing."""

    purpose: PurposeBody
    location: LocationBody
    window: WindowBody
    cameras: list[Name] = Field(default_factory=list, description="camera ids (at least one to submit)")
    threshold: ThresholdBody = Field(default_factory=ThresholdBody)
    watchlist_id: Name | None = Field(default=None, description="the deployment's own watchlist")
    composition: CompositionBody = Field(default_factory=CompositionBody)
    legal_advice_reference: Text | None = Field(
        default=None, description="mandatory when under-13 or disability is declared"
    )
    operators: list[Name] = Field(
        default_factory=list, description="people monitoring alerts; the authorising officer may not be one"
    )

    def to_domain(self) -> f.Form1:
        return f.Form1(
            purpose=purpose(self.purpose),
            location=location(self.location),
            window=window(self.window),
            cameras=tuple(self.cameras),
            threshold=threshold(self.threshold),
            watchlist_id=self.watchlist_id,
            composition=composition(self.composition),
            legal_advice_reference=self.legal_advice_reference,
            operators=tuple(self.operators),
        )


def purpose(body: PurposeBody) -> f.PolicingPurpose:
    return f.PolicingPurpose(aim=body.aim, description=body.description)


def location(body: LocationBody) -> f.Location:
    return f.Location(name=body.name, zones=tuple(body.zones))


def window(body: WindowBody) -> f.Window:
    return f.Window(start=body.start, end=body.end)


def threshold(body: ThresholdBody) -> f.Threshold:
    return f.Threshold(value=body.value, justification=body.justification)


def composition(body: CompositionBody) -> f.CompositionDeclaration:
    return f.CompositionDeclaration(**body.model_dump())


class DraftBody(_Body):
    deployment_id: DeploymentId | None = Field(default=None, description="chosen id; minted when omitted")
    form: Form1Body


class AmendBody(_Body):
    """Form 1 fields to change (omitted = unchanged). After submission a reason is required; after
    authorisation the change lapses the authorisation (re-authorisation needed)."""

    reason: Text = ""
    purpose: PurposeBody | None = None
    location: LocationBody | None = None
    window: WindowBody | None = None
    cameras: list[Name] | None = None
    watchlist_id: Name | None = None
    composition: CompositionBody | None = None
    legal_advice_reference: Text | None = None
    operators: list[Name] | None = None


class ChangeThresholdBody(_Body):
    threshold: ThresholdBody
    reason: Text = Field(default="", description="why it changes (required after submission)")


class TensionBody(_Body):
    experienced: int = Field(description="1 (imminent) .. 6 (normal)")
    evidenced: int = Field(description="1 (imminent) .. 6 (normal)")
    potential: int = Field(description="1 (imminent) .. 6 (normal)")


class AssessmentBody(_Body):
    """A community impact (re)assessment, timestamped, naming the stakeholders consulted."""

    scores: TensionBody
    assessed_at: AwareDatetime
    stakeholders_consulted: list[Name]
    notes: Text = ""

    def to_domain(self) -> f.CommunityImpactAssessment:
        return f.CommunityImpactAssessment(
            scores=f.TensionScores(**self.scores.model_dump()), assessed_at=self.assessed_at,
            stakeholders_consulted=tuple(self.stakeholders_consulted), notes=self.notes)


class NotesBody(_Body):
    notes: Text = Field(default="", description="the authorising officer's written reasoning")


class ReasonBody(_Body):
    reason: Text = Field(description="recorded in the event and the audit trail")


class StartBody(_Body):
    pass


class EndBody(_Body):
    note: Text = ""


class ReviewBody(_Body):
    false_alerts_examined: int = Field(description="how many false alerts the review examined")
    findings: Text = Field(description="trends or causes found")
    report_reference: Text | None = None


# Responses ------------------------------------------------------------------------------------------------

class AssessmentOut(BaseModel):
    scores: TensionBody
    assessed_at: AwareDatetime
    stakeholders_consulted: list[str]
    notes: str


class DeploymentOut(BaseModel):
    deployment_id: str
    version: int = Field(description="the stream version (number of events)")
    status: Status
    form: Form1Body
    submitted_by: str | None
    authorised_by: str | None
    watchlist_version: int | None = Field(description="the watchlist revision the authorisation pinned")
    assessments: list[AssessmentOut]


class DeploymentList(BaseModel):
    deployments: list[DeploymentOut]


class RecordedEvent(BaseModel):
    event_id: str
    event_type: str
    version: int


class CommandResult(BaseModel):
    deployment_id: str
    status: Status
    version: int
    events: list[RecordedEvent] = Field(description="what the command recorded, in order")


class FalseAlertRateOut(BaseModel):
    deployment_id: str
    threshold: float
    watchlist_id: str | None
    watchlist_size: int
    expected_false_alerts_per_1000: float = Field(description="from the model's calibration table")
    max_false_alerts_per_1000: float = Field(description="the standing direction; above it, no authorisation")
    within_direction: bool
    calibration_model_version: str


_FORM = TypeAdapter(f.Form1)
_ASSESSMENT = TypeAdapter(f.CommunityImpactAssessment)


def deployment_out(view: DeploymentView) -> DeploymentOut:
    form: dict[str, Any] = _FORM.dump_python(view.form, mode="json")
    return DeploymentOut(
        deployment_id=view.deployment_id, version=view.version, status=view.status,
        form=Form1Body.model_validate(form), submitted_by=view.submitted_by,
        authorised_by=view.authorised_by, watchlist_version=view.watchlist_version,
        assessments=[AssessmentOut.model_validate(_ASSESSMENT.dump_python(a, mode="json"))
                     for a in view.assessments],
    )
