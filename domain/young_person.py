"""The young person's stream: the heart of Overgang.

Commands guard first, then record. The state kept here is only what the rules need;
everything people read (names, notes, timelines) lives in the events and the read models.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.domain import CanMutateAggregate

from domain import young_person_events as ev
from domain.alerts import QuietPolicy
from domain.decisions import DecisionContent, check_injunction, check_sanction, check_subject
from domain.errors import (
    AlertAlreadyEscalatedError,
    AlertAlreadyOpenError,
    AlertNotOpenError,
    AlreadyAssignedError,
    AlreadyEnrolledError,
    AppealAlreadyPendingError,
    CaseClosedError,
    CaseNotClosedError,
    ConsentMissingError,
    ConsentNotGivenError,
    DecisionNotFoundError,
    DecisionNotInForceError,
    EducationAlreadyStartedError,
    InvalidValueError,
    MilestoneAlreadyReachedError,
    MilestoneNotFoundError,
    MilestoneNotOpenError,
    NoAppealPendingError,
    NotAnInjunctionError,
    NotEnrolledError,
    PersonalDataErasedError,
    PlanNotDraftedError,
    ReferralAlreadyReviewedError,
    ReferralNotAcceptedError,
    TransitionNotFoundError,
    TransitionNotOpenError,
    TransitionNotQuietError,
    WakeUpNotAgreedError,
)
from domain.recording import RecordingAggregate, Stamp
from domain.values import ContactDetails, InjunctionDetails, ReferralDetails, TransitionDetails
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
    ErasureRequester,
    MilestoneStatus,
    ReadinessLevel,
    ReviewOutcome,
    TransitionKind,
    TransitionPhase,
    TransitionStep,
)

_OPEN_TRANSITION = (TransitionPhase.PREPARING, TransitionPhase.IN_EDUCATION)


def _hours(span: timedelta) -> int:
    return int(span.total_seconds() // 3600)


class YoungPerson(RecordingAggregate):
    # Version 2 added the state that quiet-transition alerts need (see upcast_v1_v2).
    class_version = 2

    def __init__(self) -> None:
        self.status = CaseStatus.REFERRED
        self.counsellor_id: UUID | None = None
        self.team_id: str | None = None
        self.consents: dict[str, bool] = {}
        self.wake_up_agreed = False
        self.plan_drafted = False
        self.milestones: dict[str, MilestoneStatus] = {}
        self.transitions: dict[str, TransitionPhase] = {}
        self.decisions: dict[str, DecisionStatus] = {}
        self.decision_kinds: dict[str, DecisionKind] = {}
        self.contacts_recorded = 0
        # What quiet-transition alerts need: when contact was last reached (attempts do
        # not count), each transition's kind and education start, absences, open alerts.
        self.last_reached_contact_at: datetime | None = None
        self.absent_until: date | None = None
        self.transition_kinds: dict[str, TransitionKind] = {}
        self.quiet_counted_from: dict[str, datetime] = {}
        self.education_started_at: dict[str, datetime] = {}
        self.open_alerts: dict[str, str] = {}  # alert id -> transition id (hex)
        self.alert_levels: dict[str, AlertLevel] = {}
        self.alert_severities: dict[str, AlertSeverity] = {}
        # The institutions the young person is linked with (hex): the one that referred
        # them, those of their transitions and educations, and those they consented to
        # share with. Only these may report signals about them (see api.access).
        self.linked_institutions: dict[str, bool] = {}

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        # A snapshot taken before alerts existed: the alert state starts empty. Contacts
        # and transitions before it are unknown to the alert rules, so such a transition
        # counts as quiet from the first reached contact or hand-resolution after it.
        # Their institution links start empty too: a partner may report signals again
        # once a later referral, transition, education or consent links them.
        state.setdefault("linked_institutions", {})
        state.setdefault("last_reached_contact_at", None)
        state.setdefault("absent_until", None)
        for name in (
            "transition_kinds",
            "quiet_counted_from",
            "education_started_at",
            "open_alerts",
            "alert_levels",
            "alert_severities",
        ):
            state.setdefault(name, {})

    def link_institution(self, institution_id: UUID | None) -> None:
        if institution_id is not None:
            self.linked_institutions[institution_id.hex] = True

    # --- guards ----------------------------------------------------------------------------

    def _record(
        self, event_class: type[CanMutateAggregate[UUID]], stamp: Stamp, **fields: Any
    ) -> None:
        # The one place that keeps "nothing may follow PersonalDataErased" true; guards
        # call it earlier too, so that erasure is reported before any other rule.
        self._require_not_erased()
        super()._record(event_class, stamp, **fields)

    def _require_not_erased(self) -> None:
        if self.status is CaseStatus.ERASED:
            raise PersonalDataErasedError(f"young person {self.id} has been erased")

    def _require_open_case(self) -> None:
        self._require_not_erased()
        if self.status is CaseStatus.CLOSED:
            raise CaseClosedError(f"the case of young person {self.id} is closed")
        if self.status is CaseStatus.DECLINED:
            raise CaseClosedError(f"the referral of young person {self.id} was declined")

    def _require_enrolled(self) -> None:
        self._require_open_case()
        if self.status is not CaseStatus.ENROLLED:
            raise NotEnrolledError(f"young person {self.id} is not enrolled")

    def _milestone(self, milestone_id: UUID) -> MilestoneStatus:
        try:
            return self.milestones[milestone_id.hex]
        except KeyError:
            raise MilestoneNotFoundError(f"milestone {milestone_id} not found") from None

    def _open_transition(self, transition_id: UUID) -> TransitionPhase:
        try:
            phase = self.transitions[transition_id.hex]
        except KeyError:
            raise TransitionNotFoundError(f"transition {transition_id} not found") from None
        if phase not in _OPEN_TRANSITION:
            raise TransitionNotOpenError(f"transition {transition_id} is {phase.value}")
        return phase

    def _decision(self, decision_id: UUID) -> DecisionStatus:
        try:
            return self.decisions[decision_id.hex]
        except KeyError:
            raise DecisionNotFoundError(f"decision {decision_id} not found") from None

    # --- intake and consent ----------------------------------------------------------------

    @classmethod
    def refer(cls, young_person_id: UUID, referral: ReferralDetails, stamp: Stamp) -> YoungPerson:
        if ConsentScope.CASE_WORK not in referral.consent_scopes:
            raise ConsentMissingError("a referral needs the young person's consent to case work")
        if not referral.name.strip():
            raise InvalidValueError("a referral must name the young person")
        return cls._begin(
            ev.Referred,
            young_person_id,
            stamp,
            name=referral.name,
            date_of_birth=referral.date_of_birth,
            phone=referral.phone,
            institution_id=referral.institution_id,
            referrer_name=referral.referrer_name,
            reason=referral.reason,
            consent_scopes=list(referral.consent_scopes),
        )

    def review_referral(
        self, outcome: ReviewOutcome, review_date: date, note: str, stamp: Stamp
    ) -> None:
        self._require_not_erased()
        if self.status not in (CaseStatus.REFERRED, CaseStatus.WAITLISTED):
            raise ReferralAlreadyReviewedError(
                f"the referral of young person {self.id} is already {self.status.value}"
            )
        self._record(
            ev.ReferralReviewed, stamp, outcome=outcome, review_date=review_date, note=note
        )

    def enrol(self, counsellor_id: UUID, team_id: str, stamp: Stamp) -> None:
        self._require_open_case()
        if self.status is CaseStatus.ENROLLED:
            raise AlreadyEnrolledError(f"young person {self.id} is already enrolled")
        if self.status is not CaseStatus.ACCEPTED:
            raise ReferralNotAcceptedError(
                f"the referral of young person {self.id} has not been accepted"
            )
        self._record(ev.Enrolled, stamp, counsellor_id=counsellor_id, team_id=team_id)

    def assign_counsellor(
        self, counsellor_id: UUID, team_id: str, reason: str, stamp: Stamp
    ) -> UUID | None:
        """Hand the case over; returns the previous counsellor, who lets go of it."""
        self._require_enrolled()
        if self.counsellor_id == counsellor_id:
            raise AlreadyAssignedError(f"counsellor {counsellor_id} already has this case")
        previous = self.counsellor_id
        self._record(
            ev.CounsellorAssigned,
            stamp,
            counsellor_id=counsellor_id,
            previous_counsellor_id=previous,
            team_id=team_id,
            reason=reason,
        )
        return previous

    def record_consent(
        self, scope: ConsentScope, institution_id: UUID | None, stamp: Stamp
    ) -> None:
        self._require_open_case()
        self._record(ev.ConsentRecorded, stamp, scope=scope, institution_id=institution_id)

    def withdraw_consent(
        self, scope: ConsentScope, institution_id: UUID | None, stamp: Stamp
    ) -> None:
        # Withdrawing consent is the young person's right, also after the case closed.
        self._require_not_erased()
        if ev.consent_key(scope, institution_id) not in self.consents:
            raise ConsentNotGivenError(f"no consent within scope {scope.value} to withdraw")
        self._record(ev.ConsentWithdrawn, stamp, scope=scope, institution_id=institution_id)

    # --- contact ---------------------------------------------------------------------------

    def record_contact(self, contact_id: UUID, contact: ContactDetails, stamp: Stamp) -> None:
        self._require_open_case()
        quiet_before = self._quiet_of_open_alerts()
        if contact.duration_minutes is not None and contact.duration_minutes < 0:
            raise InvalidValueError("a contact cannot last a negative number of minutes")
        self._record(
            ev.ContactRecorded,
            stamp,
            contact_id=contact_id,
            channel=contact.channel,
            direction=contact.direction,
            place=contact.place,
            purpose=contact.purpose,
            reached=contact.reached,
            duration_minutes=contact.duration_minutes,
            note=contact.note,
        )
        if contact.reached and quiet_before:
            self._alerts_after_contact(quiet_before, stamp)

    def agree_wake_up(
        self, wake_up_time: time, weekdays: list[int], channel: Channel, stamp: Stamp
    ) -> None:
        self._require_open_case()
        if not weekdays or any(day < 1 or day > 7 for day in weekdays):
            raise InvalidValueError("weekdays must be ISO weekdays 1 (Monday) to 7 (Sunday)")
        self._record(
            ev.WakeUpAgreed,
            stamp,
            wake_up_time=wake_up_time,
            weekdays=sorted(set(weekdays)),
            channel=channel,
        )

    def end_wake_up(self, reason: str, stamp: Stamp) -> None:
        self._require_open_case()
        if not self.wake_up_agreed:
            raise WakeUpNotAgreedError(f"young person {self.id} has no wake-up agreement")
        self._record(ev.WakeUpEnded, stamp, reason=reason)

    # --- plan ------------------------------------------------------------------------------

    def draft_plan(self, goal: str, drafted_together: bool, stamp: Stamp) -> None:
        self._require_enrolled()
        self._record(ev.PlanDrafted, stamp, goal=goal, drafted_together=drafted_together)

    def set_milestone(self, milestone_id: UUID, title: str, due: date, stamp: Stamp) -> None:
        self._require_enrolled()
        if not self.plan_drafted:
            raise PlanNotDraftedError(f"young person {self.id} has no plan yet")
        self._record(ev.MilestoneSet, stamp, milestone_id=milestone_id, title=title, due=due)

    def reach_milestone(self, milestone_id: UUID, note: str, stamp: Stamp) -> None:
        self._require_enrolled()
        status = self._milestone(milestone_id)
        if status is MilestoneStatus.REACHED:
            raise MilestoneAlreadyReachedError(f"milestone {milestone_id} is already reached")
        if status is MilestoneStatus.DROPPED:
            raise MilestoneNotOpenError(f"milestone {milestone_id} was dropped")
        self._record(ev.MilestoneReached, stamp, milestone_id=milestone_id, note=note)

    def miss_milestone(self, milestone_id: UUID, note: str, stamp: Stamp) -> None:
        self._require_enrolled()
        status = self._milestone(milestone_id)
        if status is MilestoneStatus.REACHED:
            raise MilestoneAlreadyReachedError(f"milestone {milestone_id} is already reached")
        if status is not MilestoneStatus.OPEN:
            raise MilestoneNotOpenError(f"milestone {milestone_id} is {status.value}")
        self._record(ev.MilestoneMissed, stamp, milestone_id=milestone_id, note=note)

    def reschedule_milestone(
        self, milestone_id: UUID, due: date, reason: str, stamp: Stamp
    ) -> None:
        self._require_enrolled()
        status = self._milestone(milestone_id)
        if status not in (MilestoneStatus.OPEN, MilestoneStatus.MISSED):
            raise MilestoneNotOpenError(f"milestone {milestone_id} is {status.value}")
        self._record(
            ev.MilestoneRescheduled, stamp, milestone_id=milestone_id, due=due, reason=reason
        )

    def drop_milestone(self, milestone_id: UUID, reason: str, stamp: Stamp) -> None:
        self._require_enrolled()
        status = self._milestone(milestone_id)
        if status not in (MilestoneStatus.OPEN, MilestoneStatus.MISSED):
            raise MilestoneNotOpenError(f"milestone {milestone_id} is {status.value}")
        self._record(ev.MilestoneDropped, stamp, milestone_id=milestone_id, reason=reason)

    def review_plan(self, note: str, next_review: date | None, stamp: Stamp) -> None:
        self._require_enrolled()
        if not self.plan_drafted:
            raise PlanNotDraftedError(f"young person {self.id} has no plan yet")
        self._record(ev.PlanReviewed, stamp, note=note, next_review=next_review)

    # --- transitions -----------------------------------------------------------------------

    def start_transition(
        self, transition_id: UUID, transition: TransitionDetails, stamp: Stamp
    ) -> None:
        self._require_enrolled()
        self._record(
            ev.TransitionStarted,
            stamp,
            transition_id=transition_id,
            kind=transition.kind,
            from_situation=transition.from_situation,
            to_institution_id=transition.to_institution_id,
            programme=transition.programme,
            expected_start=transition.expected_start,
        )

    def record_transition_step(
        self, transition_id: UUID, step: TransitionStep, note: str, stamp: Stamp
    ) -> None:
        self._require_enrolled()
        self._open_transition(transition_id)
        self._record(
            ev.TransitionStepRecorded, stamp, transition_id=transition_id, step=step, note=note
        )

    def start_education(
        self, transition_id: UUID, institution_id: UUID | None, stamp: Stamp
    ) -> None:
        self._require_enrolled()
        if self._open_transition(transition_id) is TransitionPhase.IN_EDUCATION:
            raise EducationAlreadyStartedError(
                f"education of transition {transition_id} has already started"
            )
        self._record(
            ev.EducationStarted,
            stamp,
            transition_id=transition_id,
            institution_id=institution_id,
        )

    def complete_transition(self, transition_id: UUID, stamp: Stamp) -> None:
        self._require_enrolled()
        self._open_transition(transition_id)
        self._record(ev.TransitionCompleted, stamp, transition_id=transition_id)
        self._resolve_alerts(AlertResolution.TRANSITION_ENDED, stamp, transition_id)

    def abandon_transition(self, transition_id: UUID, reason: str, stamp: Stamp) -> None:
        self._require_enrolled()
        self._open_transition(transition_id)
        self._record(ev.TransitionAbandoned, stamp, transition_id=transition_id, reason=reason)
        self._resolve_alerts(AlertResolution.TRANSITION_ENDED, stamp, transition_id)

    # --- institution signals ---------------------------------------------------------------

    def report_absence(
        self,
        institution_id: UUID,
        absent_from: date,
        absent_to: date,
        note: str,
        stamp: Stamp,
    ) -> None:
        self._require_open_case()
        if absent_to < absent_from:
            raise InvalidValueError("an absence cannot end before it begins")
        self._record(
            ev.AbsenceReported,
            stamp,
            institution_id=institution_id,
            absent_from=absent_from,
            absent_to=absent_to,
            note=note,
        )
        self._alerts_after_absence(stamp)

    def report_concern(self, institution_id: UUID, note: str, stamp: Stamp) -> None:
        self._require_open_case()
        self._record(ev.ConcernReported, stamp, institution_id=institution_id, note=note)

    def report_dropout(self, institution_id: UUID, note: str, stamp: Stamp) -> None:
        self._require_open_case()
        self._record(ev.DropoutReported, stamp, institution_id=institution_id, note=note)

    # --- authority -------------------------------------------------------------------------

    def assess_readiness(
        self, decision_id: UUID, level: ReadinessLevel, content: DecisionContent, stamp: Stamp
    ) -> None:
        self._decide(ev.ReadinessAssessed, decision_id, content, stamp, level=level)

    def issue_injunction(
        self,
        decision_id: UUID,
        injunction: InjunctionDetails,
        content: DecisionContent,
        stamp: Stamp,
    ) -> None:
        self._require_enrolled()  # the state first, then the content
        check_injunction(injunction)
        self._decide(
            ev.EducationInjunctionIssued,
            decision_id,
            content,
            stamp,
            education_goal=injunction.education_goal,
            deadline=injunction.deadline,
            support_offered=injunction.support_offered,
            drawn_up_with_young_person=injunction.drawn_up_with_young_person,
        )

    def revise_injunction(
        self,
        decision_id: UUID,
        revises_decision_id: UUID,
        injunction: InjunctionDetails,
        changes: str,
        content: DecisionContent,
        stamp: Stamp,
    ) -> None:
        self._require_enrolled()
        status = self._decision(revises_decision_id)
        if self.decision_kinds[revises_decision_id.hex] is not DecisionKind.EDUCATION_INJUNCTION:
            raise NotAnInjunctionError(f"decision {revises_decision_id} is not an injunction")
        if status in (DecisionStatus.REVOKED, DecisionStatus.SUPERSEDED):
            raise DecisionNotInForceError(f"decision {revises_decision_id} is {status.value}")
        check_injunction(injunction)
        self._decide(
            ev.EducationInjunctionRevised,
            decision_id,
            content,
            stamp,
            revises_decision_id=revises_decision_id,
            education_goal=injunction.education_goal,
            deadline=injunction.deadline,
            support_offered=injunction.support_offered,
            drawn_up_with_young_person=injunction.drawn_up_with_young_person,
            changes=changes,
        )

    def decide_sanction(
        self, decision_id: UUID, reduction: str, content: DecisionContent, stamp: Stamp
    ) -> None:
        self._require_enrolled()
        check_sanction(reduction)
        self._decide(ev.SanctionDecided, decision_id, content, stamp, reduction=reduction)

    def make_other_decision(
        self, decision_id: UUID, subject: str, content: DecisionContent, stamp: Stamp
    ) -> None:
        self._require_enrolled()
        check_subject(subject)
        self._decide(ev.OtherDecisionMade, decision_id, content, stamp, subject=subject)

    def _decide(
        self,
        event_class: type[ev.DecisionRecorded],
        decision_id: UUID,
        content: DecisionContent,
        stamp: Stamp,
        **specific: Any,
    ) -> None:
        self._require_enrolled()
        content.check()
        self._record(
            event_class, stamp, decision_id=decision_id, **content.event_fields(), **specific
        )

    def appeal_decision(self, decision_id: UUID, note: str, stamp: Stamp) -> None:
        # Appeals run their course after a case has closed, so only erasure stops them.
        self._require_not_erased()
        status = self._decision(decision_id)
        if status is DecisionStatus.APPEALED:
            raise AppealAlreadyPendingError(f"decision {decision_id} is already appealed")
        if status is not DecisionStatus.IN_FORCE:
            raise DecisionNotInForceError(f"decision {decision_id} is {status.value}")
        self._record(ev.DecisionAppealed, stamp, decision_id=decision_id, note=note)

    def decide_appeal(
        self, decision_id: UUID, outcome: AppealOutcome, note: str, stamp: Stamp
    ) -> None:
        self._require_not_erased()
        if self._decision(decision_id) is not DecisionStatus.APPEALED:
            raise NoAppealPendingError(f"decision {decision_id} has no pending appeal")
        self._record(ev.AppealDecided, stamp, decision_id=decision_id, outcome=outcome, note=note)

    def revoke_decision(self, decision_id: UUID, reason: str, stamp: Stamp) -> None:
        self._require_not_erased()
        status = self._decision(decision_id)
        if status in (DecisionStatus.REVOKED, DecisionStatus.SUPERSEDED):
            raise DecisionNotInForceError(f"decision {decision_id} is {status.value}")
        self._record(ev.DecisionRevoked, stamp, decision_id=decision_id, reason=reason)

    # --- alerts ------------------------------------------------------------------------------

    def _open_alert(self, alert_id: UUID) -> str:
        """The open alert's transition (hex); refuses an unknown or ended alert."""
        try:
            return self.open_alerts[alert_id.hex]
        except KeyError:
            raise AlertNotOpenError(f"alert {alert_id} is not open") from None

    def quiet_since(self, transition_id: UUID) -> datetime | None:
        """Since when the transition has been quiet: its last reached contact, its start or
        the last hand-resolution of its alert, whichever is latest (None: unknown)."""
        moments = [
            moment
            for moment in (
                self.last_reached_contact_at,
                self.quiet_counted_from.get(transition_id.hex),
            )
            if moment is not None
        ]
        return max(moments) if moments else None

    def _quiet_deadline(
        self, transition_id: UUID, policy: QuietPolicy, *, escalation: bool
    ) -> tuple[datetime, datetime]:
        quiet_since = self.quiet_since(transition_id)
        if quiet_since is None:
            raise TransitionNotQuietError(f"transition {transition_id} has no quiet period")
        deadline = policy.deadline(
            self.transition_kinds.get(transition_id.hex),
            quiet_since,
            self.education_started_at.get(transition_id.hex),
            escalation=escalation,
        )
        return quiet_since, deadline

    def _severity(self, quiet_since: datetime) -> AlertSeverity:
        # An institution's absence report overlapping the quiet period raises the severity.
        if self.absent_until is not None and self.absent_until >= quiet_since.date():
            return AlertSeverity.HIGH
        return AlertSeverity.WARNING

    def raise_quiet_alert(
        self, alert_id: UUID, transition_id: UUID, policy: QuietPolicy, stamp: Stamp
    ) -> None:
        """Raise the alert of a transition that has been quiet past its threshold."""
        self._require_enrolled()
        self._open_transition(transition_id)
        if transition_id.hex in self.open_alerts.values():
            raise AlertAlreadyOpenError(f"transition {transition_id} already has an open alert")
        quiet_since, deadline = self._quiet_deadline(transition_id, policy, escalation=False)
        if stamp.occurred_at < deadline:
            raise TransitionNotQuietError(f"transition {transition_id} is not quiet yet")
        education_started_at = self.education_started_at.get(transition_id.hex)
        kind = self.transition_kinds.get(transition_id.hex)
        phase = policy.phase_at(education_started_at, deadline)
        self._record(
            ev.AlertRaised,
            stamp,
            alert_id=alert_id,
            transition_id=transition_id,
            transition_kind=kind,
            phase=phase,
            quiet_since=quiet_since,
            due_at=deadline,
            threshold_hours=_hours(policy.limits(kind, phase).quiet),
            severity=self._severity(quiet_since),
            counsellor_id=self.counsellor_id,
            team_id=self.team_id,
        )

    def escalate_quiet_alert(self, alert_id: UUID, policy: QuietPolicy, stamp: Stamp) -> None:
        """Escalate an open alert whose transition stayed quiet past the second threshold."""
        self._require_enrolled()
        transition_id = UUID(self._open_alert(alert_id))
        if self.alert_levels.get(alert_id.hex) is AlertLevel.ESCALATED:
            raise AlertAlreadyEscalatedError(f"alert {alert_id} is already escalated")
        quiet_since, deadline = self._quiet_deadline(transition_id, policy, escalation=True)
        if stamp.occurred_at < deadline:
            raise TransitionNotQuietError(f"transition {transition_id} is not due to escalate")
        kind = self.transition_kinds.get(transition_id.hex)
        phase = policy.phase_at(self.education_started_at.get(transition_id.hex), deadline)
        self._record(
            ev.AlertEscalated,
            stamp,
            alert_id=alert_id,
            transition_id=transition_id,
            due_at=deadline,
            threshold_hours=_hours(policy.limits(kind, phase).escalate),
            severity=self._severity(quiet_since),
            team_id=self.team_id,
        )

    def acknowledge_alert(self, alert_id: UUID, note: str, stamp: Stamp) -> None:
        self._require_not_erased()
        transition_id = UUID(self._open_alert(alert_id))
        if not note.strip():
            raise InvalidValueError("an acknowledgement needs a note")
        self._record(
            ev.AlertAcknowledged, stamp, alert_id=alert_id, transition_id=transition_id, note=note
        )

    def resolve_alert(self, alert_id: UUID, reason: str, stamp: Stamp) -> None:
        """Resolve an alert by hand, with a reason (contact reached resolves it by itself)."""
        self._require_not_erased()
        transition_id = UUID(self._open_alert(alert_id))
        if not reason.strip():
            raise InvalidValueError("resolving an alert by hand needs a reason")
        self._resolve(alert_id.hex, transition_id, AlertResolution.BY_HAND, stamp, reason=reason)

    def _resolve(
        self,
        alert: str,
        transition_id: UUID,
        resolution: AlertResolution,
        stamp: Stamp,
        reason: str | None = None,
    ) -> None:
        self._record(
            ev.AlertResolved,
            stamp,
            alert_id=UUID(alert),
            transition_id=transition_id,
            resolution=resolution,
            reason=reason,
        )

    def _resolve_alerts(
        self, resolution: AlertResolution, stamp: Stamp, transition_id: UUID | None = None
    ) -> None:
        """Resolve the open alerts (of one transition, or all) as part of another fact."""
        for alert, transition in sorted(self.open_alerts.items()):
            if transition_id is None or transition == transition_id.hex:
                self._resolve(alert, UUID(transition), resolution, stamp)

    def _quiet_of_open_alerts(self) -> dict[str, datetime | None]:
        return {
            alert: self.quiet_since(UUID(transition))
            for alert, transition in self.open_alerts.items()
        }

    def _alerts_after_contact(self, quiet_before: dict[str, datetime | None], stamp: Stamp) -> None:
        # A reached contact ends the quiet of every transition it happened after, even one
        # recorded late: the transition was not as quiet as it looked.
        for alert, transition in sorted(self.open_alerts.items()):
            quiet_since = quiet_before.get(alert)
            if quiet_since is None or stamp.occurred_at > quiet_since:
                self._resolve(alert, UUID(transition), AlertResolution.CONTACT_REACHED, stamp)

    def _alerts_after_absence(self, stamp: Stamp) -> None:
        for alert, transition in sorted(self.open_alerts.items()):
            if self.alert_severities.get(alert) is AlertSeverity.HIGH:
                continue
            quiet_since = self.quiet_since(UUID(transition))
            if quiet_since is not None and self._severity(quiet_since) is AlertSeverity.HIGH:
                self._record(
                    ev.AlertSeverityRaised,
                    stamp,
                    alert_id=UUID(alert),
                    transition_id=UUID(transition),
                    severity=AlertSeverity.HIGH,
                )

    # --- closing and privacy ---------------------------------------------------------------

    def close_case(self, outcome: CaseOutcome, note: str, stamp: Stamp) -> None:
        self._require_enrolled()
        self._record(ev.CaseClosed, stamp, outcome=outcome, note=note)
        self._resolve_alerts(AlertResolution.CASE_CLOSED, stamp)

    def reopen_case(self, reason: str, stamp: Stamp) -> None:
        self._require_not_erased()
        if self.status is not CaseStatus.CLOSED:
            raise CaseNotClosedError(f"the case of young person {self.id} is not closed")
        self._record(ev.CaseReopened, stamp, reason=reason)

    def record_subject_access_export(
        self, export_format: str, format_version: int, stamp: Stamp
    ) -> None:
        # A young person may see what is held about them at any stage, also after closing;
        # after erasure there is nothing left to export (_record refuses).
        if not export_format.strip():
            raise InvalidValueError("an export must name its format")
        if format_version < 1:
            raise InvalidValueError("an export's format version starts at 1")
        self._record(
            ev.SubjectAccessExported,
            stamp,
            export_format=export_format,
            format_version=format_version,
        )

    def erase_personal_data(
        self, requested_by: ErasureRequester, legal_basis: str, stamp: Stamp
    ) -> None:
        self._record(
            ev.PersonalDataErased, stamp, requested_by=requested_by, legal_basis=legal_basis
        )

    @property
    def holds_a_caseload_place(self) -> bool:
        """Whether the case counts against its counsellor's caseload."""
        return self.status is CaseStatus.ENROLLED
