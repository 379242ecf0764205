"""Every fact in a young person's stream, in the past tense.

Each class states in its docstring the fact it records, declares which of its fields are
personal (see :class:`~domain.recording.RecordedEvent`) and, in ``evolve``, changes only
the state that the aggregate's rules need. Names, notes and other personal data are never
kept in the aggregate's state, so snapshots hold none of it.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import TYPE_CHECKING
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.publishing import Published
from domain.recording import RecordedEvent
from domain.vocabulary import (
    AlertLevel,
    AlertResolution,
    AlertSeverity,
    AppealOutcome,
    CaseOutcome,
    CaseStatus,
    Channel,
    ConsentScope,
    DecisionKind,
    DecisionStatus,
    DeclaredRole,
    Direction,
    ErasureRequester,
    MilestoneStatus,
    NotificationMethod,
    Place,
    Purpose,
    QuietPhase,
    ReadinessLevel,
    ReviewOutcome,
    TransitionKind,
    TransitionPhase,
    TransitionStep,
)

if TYPE_CHECKING:
    from domain.young_person import YoungPerson


def consent_key(scope: ConsentScope, institution_id: UUID | None) -> str:
    return f"{scope.value}:{institution_id.hex if institution_id else ''}"


class YoungPersonEvent(RecordedEvent):
    def evolve(self, person: YoungPerson) -> None:
        """Most facts change nothing the rules need."""


# --- intake and consent ------------------------------------------------------------------


class Referred(YoungPersonEvent, Aggregate.Created):
    """A partner referred the young person to the team, with the young person's consent."""

    name: str
    date_of_birth: date
    phone: str | None
    institution_id: UUID | None
    referrer_name: str
    reason: str
    consent_scopes: list[ConsentScope]

    PERSONAL = frozenset({"name", "date_of_birth", "phone", "referrer_name", "reason"})

    def evolve(self, person: YoungPerson) -> None:
        person.status = CaseStatus.REFERRED
        person.link_institution(self.institution_id)
        for scope in self.consent_scopes:
            # Only consent to sharing is bound to an institution: the referring one.
            bound_to = (
                self.institution_id if scope is ConsentScope.SHARING_WITH_INSTITUTION else None
            )
            person.consents[consent_key(scope, bound_to)] = True


class ReferralReviewed(YoungPersonEvent):
    """The team reviewed the referral at its weekly review."""

    outcome: ReviewOutcome
    review_date: date
    note: str

    PERSONAL = frozenset({"note"})

    def evolve(self, person: YoungPerson) -> None:
        person.status = {
            ReviewOutcome.ACCEPTED: CaseStatus.ACCEPTED,
            ReviewOutcome.DECLINED: CaseStatus.DECLINED,
            ReviewOutcome.WAITLISTED: CaseStatus.WAITLISTED,
        }[self.outcome]


class Enrolled(YoungPersonEvent):
    """The young person was taken on by a counsellor of a team."""

    counsellor_id: UUID
    team_id: str

    NON_IDENTIFYING = frozenset({"team_id"})

    def evolve(self, person: YoungPerson) -> None:
        person.status = CaseStatus.ENROLLED
        person.counsellor_id = self.counsellor_id
        person.team_id = self.team_id


class CounsellorAssigned(YoungPersonEvent):
    """The case was handed over to another counsellor."""

    counsellor_id: UUID
    previous_counsellor_id: UUID | None
    team_id: str
    reason: str

    PERSONAL = frozenset({"reason"})
    NON_IDENTIFYING = frozenset({"team_id"})

    def evolve(self, person: YoungPerson) -> None:
        person.counsellor_id = self.counsellor_id
        person.team_id = self.team_id


class ConsentRecorded(YoungPersonEvent):
    """The young person gave consent within a scope."""

    scope: ConsentScope
    institution_id: UUID | None

    def evolve(self, person: YoungPerson) -> None:
        person.consents[consent_key(self.scope, self.institution_id)] = True
        person.link_institution(self.institution_id)


class ConsentWithdrawn(YoungPersonEvent):
    """The young person withdrew a consent."""

    scope: ConsentScope
    institution_id: UUID | None

    def evolve(self, person: YoungPerson) -> None:
        person.consents.pop(consent_key(self.scope, self.institution_id), None)


# --- contact -----------------------------------------------------------------------------


class ContactRecorded(YoungPersonEvent):
    """A contact with the young person happened, or was attempted and not answered."""

    contact_id: UUID
    channel: Channel
    direction: Direction
    place: Place | None
    purpose: Purpose
    reached: bool
    duration_minutes: int | None
    note: str

    PERSONAL = frozenset({"note"})

    def evolve(self, person: YoungPerson) -> None:
        person.contacts_recorded += 1
        if self.reached and (
            person.last_reached_contact_at is None
            or self.occurred_at > person.last_reached_contact_at
        ):
            # Facts may be recorded late: the latest contact in the world counts.
            person.last_reached_contact_at = self.occurred_at


class WakeUpAgreed(YoungPersonEvent):
    """The young person and the counsellor agreed on morning wake-up calls or texts."""

    wake_up_time: time
    weekdays: list[int]  # ISO weekdays, 1 = Monday
    channel: Channel

    def evolve(self, person: YoungPerson) -> None:
        person.wake_up_agreed = True


class WakeUpEnded(YoungPersonEvent):
    """The wake-up agreement ended."""

    reason: str

    PERSONAL = frozenset({"reason"})

    def evolve(self, person: YoungPerson) -> None:
        person.wake_up_agreed = False


# --- plan ------------------------------------------------------------------------------


class PlanDrafted(YoungPersonEvent):
    """A plan was written down: what the course is for (drafting again replaces the goal)."""

    goal: str
    drafted_together: bool

    PERSONAL = frozenset({"goal"})

    def evolve(self, person: YoungPerson) -> None:
        person.plan_drafted = True


class MilestoneSet(YoungPersonEvent):
    """A milestone was added to the plan."""

    milestone_id: UUID
    title: str
    due: date

    PERSONAL = frozenset({"title"})

    def evolve(self, person: YoungPerson) -> None:
        person.milestones[self.milestone_id.hex] = MilestoneStatus.OPEN


class MilestoneReached(YoungPersonEvent):
    """A milestone was reached."""

    milestone_id: UUID
    note: str

    PERSONAL = frozenset({"note"})

    def evolve(self, person: YoungPerson) -> None:
        person.milestones[self.milestone_id.hex] = MilestoneStatus.REACHED


class MilestoneMissed(YoungPersonEvent):
    """A milestone's due date passed without it being reached."""

    milestone_id: UUID
    note: str

    PERSONAL = frozenset({"note"})

    def evolve(self, person: YoungPerson) -> None:
        person.milestones[self.milestone_id.hex] = MilestoneStatus.MISSED


class MilestoneRescheduled(YoungPersonEvent):
    """A milestone was given a new due date."""

    milestone_id: UUID
    due: date
    reason: str

    PERSONAL = frozenset({"reason"})

    def evolve(self, person: YoungPerson) -> None:
        person.milestones[self.milestone_id.hex] = MilestoneStatus.OPEN


class MilestoneDropped(YoungPersonEvent):
    """A milestone was taken out of the plan."""

    milestone_id: UUID
    reason: str

    PERSONAL = frozenset({"reason"})

    def evolve(self, person: YoungPerson) -> None:
        person.milestones[self.milestone_id.hex] = MilestoneStatus.DROPPED


class PlanReviewed(YoungPersonEvent):
    """The plan was reviewed together with the young person."""

    note: str
    next_review: date | None

    PERSONAL = frozenset({"note"})


# --- transitions -------------------------------------------------------------------------


class TransitionStarted(YoungPersonEvent):
    """Work on a transition began: from one situation towards an education, offer or job."""

    transition_id: UUID
    kind: TransitionKind
    from_situation: str
    to_institution_id: UUID | None
    programme: str
    expected_start: date | None

    PERSONAL = frozenset({"from_situation", "programme"})

    def evolve(self, person: YoungPerson) -> None:
        person.transitions[self.transition_id.hex] = TransitionPhase.PREPARING
        person.transition_kinds[self.transition_id.hex] = self.kind
        person.link_institution(self.to_institution_id)
        person.quiet_counted_from[self.transition_id.hex] = self.occurred_at


class TransitionStepRecorded(YoungPersonEvent):
    """A step of an open transition happened (applied, admitted, first day, ...)."""

    transition_id: UUID
    step: TransitionStep
    note: str

    PERSONAL = frozenset({"note"})


class EducationStarted(YoungPersonEvent):
    """The young person started the education (or trial) the transition led to."""

    transition_id: UUID
    institution_id: UUID | None

    def evolve(self, person: YoungPerson) -> None:
        person.transitions[self.transition_id.hex] = TransitionPhase.IN_EDUCATION
        person.education_started_at[self.transition_id.hex] = self.occurred_at
        person.link_institution(self.institution_id)


class TransitionCompleted(YoungPersonEvent):
    """The transition was completed: the young person is settled where it led."""

    transition_id: UUID

    def evolve(self, person: YoungPerson) -> None:
        person.transitions[self.transition_id.hex] = TransitionPhase.COMPLETED


class TransitionAbandoned(YoungPersonEvent):
    """The transition was given up."""

    transition_id: UUID
    reason: str

    PERSONAL = frozenset({"reason"})

    def evolve(self, person: YoungPerson) -> None:
        person.transitions[self.transition_id.hex] = TransitionPhase.ABANDONED


# --- institution signals -----------------------------------------------------------------


class AbsenceReported(YoungPersonEvent):
    """An institution reported the young person absent."""

    institution_id: UUID
    absent_from: date
    absent_to: date
    note: str

    PERSONAL = frozenset({"note"})

    def evolve(self, person: YoungPerson) -> None:
        if person.absent_until is None or self.absent_to > person.absent_until:
            person.absent_until = self.absent_to


class ConcernReported(YoungPersonEvent):
    """An institution reported concern for the young person."""

    institution_id: UUID
    note: str

    PERSONAL = frozenset({"note"})


class DropoutReported(YoungPersonEvent):
    """An institution reported that the young person has left its education."""

    institution_id: UUID
    note: str

    PERSONAL = frozenset({"note"})


# --- authority ---------------------------------------------------------------------------


class DecisionRecorded(YoungPersonEvent):
    """Base of the authority decisions: the content the law requires of each of them."""

    decision_id: UUID
    legal_basis: str
    reasons: str
    main_considerations: str
    facts_relied_on: str
    fully_in_favour: bool
    hearing_held_on: date | None
    hearing_omitted_reason: str | None
    appeal_guidance: str | None
    notified_via: NotificationMethod
    decided_by: UUID
    declared_role: DeclaredRole

    DECISION_KIND = DecisionKind.OTHER
    PERSONAL = frozenset(
        {
            "reasons",
            "main_considerations",
            "facts_relied_on",
            "hearing_omitted_reason",
            "appeal_guidance",
        }
    )
    NON_IDENTIFYING = frozenset({"legal_basis"})

    def evolve(self, person: YoungPerson) -> None:
        person.decisions[self.decision_id.hex] = DecisionStatus.IN_FORCE
        person.decision_kinds[self.decision_id.hex] = self.DECISION_KIND


class ReadinessAssessed(DecisionRecorded):
    """The young person's readiness for education was assessed (visitation)."""

    level: ReadinessLevel

    DECISION_KIND = DecisionKind.READINESS_ASSESSMENT


class EducationInjunctionIssued(DecisionRecorded):
    """An education injunction (uddannelsespålæg) was issued."""

    education_goal: str
    deadline: date | None
    support_offered: str
    drawn_up_with_young_person: bool

    DECISION_KIND = DecisionKind.EDUCATION_INJUNCTION
    PERSONAL = DecisionRecorded.PERSONAL | {"education_goal", "support_offered"}


class EducationInjunctionRevised(DecisionRecorded):
    """An education injunction was replaced by a revised one."""

    revises_decision_id: UUID
    education_goal: str
    deadline: date | None
    support_offered: str
    drawn_up_with_young_person: bool
    changes: str

    DECISION_KIND = DecisionKind.EDUCATION_INJUNCTION
    PERSONAL = DecisionRecorded.PERSONAL | {"education_goal", "support_offered", "changes"}

    def evolve(self, person: YoungPerson) -> None:
        super().evolve(person)
        person.decisions[self.revises_decision_id.hex] = DecisionStatus.SUPERSEDED


class SanctionDecided(DecisionRecorded):
    """A sanction (a reduction of benefit) was decided."""

    reduction: str

    DECISION_KIND = DecisionKind.SANCTION
    PERSONAL = DecisionRecorded.PERSONAL | {"reduction"}


class OtherDecisionMade(DecisionRecorded):
    """Another decision under the law was made."""

    subject: str

    PERSONAL = DecisionRecorded.PERSONAL | {"subject"}


class DecisionAppealed(YoungPersonEvent):
    """The young person appealed a decision."""

    decision_id: UUID
    note: str

    PERSONAL = frozenset({"note"})

    def evolve(self, person: YoungPerson) -> None:
        person.decisions[self.decision_id.hex] = DecisionStatus.APPEALED


class AppealDecided(YoungPersonEvent):
    """The appeal body decided an appeal."""

    decision_id: UUID
    outcome: AppealOutcome
    note: str

    PERSONAL = frozenset({"note"})

    def evolve(self, person: YoungPerson) -> None:
        person.decisions[self.decision_id.hex] = DecisionStatus.APPEAL_DECIDED


class DecisionRevoked(YoungPersonEvent):
    """A decision was revoked by the municipality."""

    decision_id: UUID
    reason: str

    PERSONAL = frozenset({"reason"})

    def evolve(self, person: YoungPerson) -> None:
        person.decisions[self.decision_id.hex] = DecisionStatus.REVOKED


# --- alerts ------------------------------------------------------------------------------
# A quiet transition's alert lives in the young person's stream: it is part of their record,
# replays with it, and two sweepers racing to raise it meet in the stream's version check.


class AlertEvent(YoungPersonEvent):
    alert_id: UUID
    transition_id: UUID

    def _payload(self, **facts: object) -> dict[str, object]:
        # Announced to other systems: ids and vocabulary only, the young person by id.
        return {
            "alertId": str(self.alert_id),
            "youngPersonId": str(self.originator_id),
            "transitionId": str(self.transition_id),
            "occurredAt": self.occurred_at.isoformat(),
            **facts,
        }


class AlertRaised(AlertEvent, Published):
    """A transition went quiet: nobody reached the young person within its threshold."""

    transition_kind: TransitionKind | None  # None: unknown (a transition from before alerts)
    phase: QuietPhase  # the phase the transition was in when it went quiet
    quiet_since: datetime  # the last reached contact, or the start of the transition
    due_at: datetime  # when the threshold was crossed
    threshold_hours: int
    severity: AlertSeverity
    counsellor_id: UUID | None
    team_id: str | None

    NON_IDENTIFYING = frozenset({"team_id"})
    public_name = "alert.raised"

    def public_payload(self) -> dict[str, object]:
        return self._payload(
            level=AlertLevel.RAISED.value,
            severity=self.severity.value,
            phase=self.phase.value,
            quietSince=self.quiet_since.isoformat(),
            counsellorId=str(self.counsellor_id) if self.counsellor_id else None,
            teamId=self.team_id,
        )

    def evolve(self, person: YoungPerson) -> None:
        person.open_alerts[self.alert_id.hex] = self.transition_id.hex
        person.alert_levels[self.alert_id.hex] = AlertLevel.RAISED
        person.alert_severities[self.alert_id.hex] = self.severity


class AlertEscalated(AlertEvent, Published):
    """The transition stayed quiet past the second threshold: the team lead is told too."""

    due_at: datetime
    threshold_hours: int
    severity: AlertSeverity
    team_id: str | None

    NON_IDENTIFYING = frozenset({"team_id"})
    public_name = "alert.escalated"

    def public_payload(self) -> dict[str, object]:
        return self._payload(
            level=AlertLevel.ESCALATED.value, severity=self.severity.value, teamId=self.team_id
        )

    def evolve(self, person: YoungPerson) -> None:
        person.alert_levels[self.alert_id.hex] = AlertLevel.ESCALATED
        person.alert_severities[self.alert_id.hex] = self.severity


class AlertSeverityRaised(AlertEvent):
    """An institution reported the young person absent while the transition was quiet."""

    severity: AlertSeverity

    def evolve(self, person: YoungPerson) -> None:
        person.alert_severities[self.alert_id.hex] = self.severity


class AlertAcknowledged(AlertEvent):
    """Someone saw the alert and noted what they are doing about it."""

    note: str

    PERSONAL = frozenset({"note"})


class AlertResolved(AlertEvent, Published):
    """The alert ended: contact was reached, or it was resolved by hand with a reason, or
    its transition or the case ended."""

    resolution: AlertResolution
    reason: str | None  # given when resolved by hand

    PERSONAL = frozenset({"reason"})
    public_name = "alert.resolved"

    def public_payload(self) -> dict[str, object]:
        return self._payload(resolution=self.resolution.value)

    def evolve(self, person: YoungPerson) -> None:
        person.open_alerts.pop(self.alert_id.hex, None)
        person.alert_levels.pop(self.alert_id.hex, None)
        person.alert_severities.pop(self.alert_id.hex, None)
        if self.resolution is AlertResolution.BY_HAND:
            # Resolved by hand (say, the young person is away with family): the transition
            # counts as quiet again only from now.
            person.quiet_counted_from[self.transition_id.hex] = self.occurred_at


# --- closing and privacy -----------------------------------------------------------------


class CaseClosed(YoungPersonEvent):
    """The case was closed with an outcome."""

    outcome: CaseOutcome
    note: str

    PERSONAL = frozenset({"note"})

    def evolve(self, person: YoungPerson) -> None:
        person.status = CaseStatus.CLOSED
        person.wake_up_agreed = False


class CaseReopened(YoungPersonEvent):
    """A closed case was opened again with the same counsellor."""

    reason: str

    PERSONAL = frozenset({"reason"})

    def evolve(self, person: YoungPerson) -> None:
        person.status = CaseStatus.ENROLLED


class SubjectAccessExported(YoungPersonEvent):
    """Everything held about the young person was exported to them (a subject access request).

    Records that the export happened, in which format, never what it contained.
    """

    export_format: str
    format_version: int

    NON_IDENTIFYING = frozenset({"export_format"})


class PersonalDataErased(YoungPersonEvent):
    """The young person's personal data was erased; nothing may follow this fact."""

    requested_by: ErasureRequester
    legal_basis: str

    NON_IDENTIFYING = frozenset({"legal_basis"})

    def evolve(self, person: YoungPerson) -> None:
        person.status = CaseStatus.ERASED
        person.wake_up_agreed = False
        person.open_alerts.clear()
        person.alert_levels.clear()
        person.alert_severities.clear()
