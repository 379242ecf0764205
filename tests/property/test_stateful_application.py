"""Random command sequences against the application, checked against a plain-Python model.

The model is written from the rules as DESIGN.md states them, not from the domain's code:
for every command it predicts either the new state or the exact error, and after every
step the application must agree on case status, caseloads (never above the limit unless
overridden), contacts, milestones, transitions and decisions. A refused command must
write nothing at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from uuid import UUID

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from domain import errors as e
from domain.application import CommandResult
from domain.values import ContactDetails, ReferralDetails
from domain.vocabulary import (
    AppealOutcome,
    CaseOutcome,
    CaseStatus,
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
from tests import strategies as s
from tests.factories import a_context, log_position

CASELOAD_LIMITS = (1, 2, 3)
STEP = s.Timing(advance=timedelta(hours=2), ago=None)
Error = type[e.DomainError] | None
OPEN_OR_MISSED = {MilestoneStatus.OPEN, MilestoneStatus.MISSED}
# What each act on a milestone may start from, and what it leads to.
MILESTONE_MOVES: dict[str, tuple[set[MilestoneStatus], MilestoneStatus]] = {
    "reach": (OPEN_OR_MISSED, MilestoneStatus.REACHED),
    "miss": ({MilestoneStatus.OPEN}, MilestoneStatus.MISSED),
    "reschedule": (OPEN_OR_MISSED, MilestoneStatus.OPEN),
    "drop": (OPEN_OR_MISSED, MilestoneStatus.DROPPED),
}

# --- the model -------------------------------------------------------------------------------


@dataclass
class PersonModel:
    handles: s.PersonHandles
    status: CaseStatus = CaseStatus.REFERRED
    counsellor: UUID | None = None
    plan: bool = False
    contacts: int = 0
    milestones: dict[UUID, MilestoneStatus] = field(default_factory=dict)
    transitions: dict[UUID, TransitionPhase] = field(default_factory=dict)
    decisions: dict[UUID, tuple[DecisionKind, DecisionStatus]] = field(default_factory=dict)

    # The rules, as DESIGN.md states them.

    def erased(self) -> Error:
        return e.PersonalDataErasedError if self.status is CaseStatus.ERASED else None

    def open_case(self) -> Error:
        if self.status in (CaseStatus.CLOSED, CaseStatus.DECLINED):
            return e.CaseClosedError
        return self.erased()

    def enrolled(self) -> Error:
        if (error := self.open_case()) is not None:
            return error
        return e.NotEnrolledError if self.status is not CaseStatus.ENROLLED else None


@dataclass
class CounsellorModel:
    limit: int
    caseload: set[UUID] = field(default_factory=set)
    overrides: int = 0  # cases taken beyond the limit, each with a reason

    def refuses(self, over_limit_reason: str | None) -> Error:
        if over_limit_reason is not None and not over_limit_reason.strip():
            return e.OverrideReasonMissingError
        if len(self.caseload) >= self.limit and over_limit_reason is None:
            return e.CaseloadLimitExceededError
        return None

    def take(self, young_person_id: UUID) -> None:
        if len(self.caseload) >= self.limit:
            self.overrides += 1
        self.caseload.add(young_person_id)

    def release(self, young_person_id: UUID) -> None:
        self.caseload.discard(young_person_id)


def decision_refused(terms: s.DecisionTerms) -> Error:
    if not terms.with_legal_basis:
        return e.InvalidValueError
    if not terms.fully_in_favour and not terms.with_appeal_guidance:
        return e.AppealGuidanceMissingError
    return None


def first_error(*errors: Error) -> Error:
    return next((error for error in errors if error is not None), None)


# --- the machine -------------------------------------------------------------------------------

people = st.integers(min_value=0, max_value=50)
counsellors = st.integers(min_value=0, max_value=len(CASELOAD_LIMITS) - 1)
items = st.integers(min_value=0, max_value=7)


class OvergangMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.world = s.World.new(caseload_limits=CASELOAD_LIMITS)
        self.people: list[PersonModel] = []
        self.counsellors = {
            counsellor_id: CounsellorModel(limit)
            for counsellor_id, limit in zip(self.world.counsellors, CASELOAD_LIMITS, strict=True)
        }

    # --- running a command and checking its outcome --------------------------------------

    def person(self, index: int) -> PersonModel:
        return self.people[index % len(self.people)]

    def run(self, person: PersonModel, command: s.Command, expected: Error) -> CommandResult | None:
        before = log_position(self.world.app)
        outcome = s.perform(self.world, person.handles, s.Step(command, STEP))
        if expected is None:
            assert isinstance(outcome, CommandResult), f"{command} refused: {outcome!r}"
            assert outcome.position == log_position(self.world.app) > before
            return outcome
        assert type(outcome) is expected, (
            f"{command}: expected {expected.__name__}, got {outcome!r}"
        )
        assert log_position(self.world.app) == before, f"refused {command} wrote to the log"
        return None

    # --- intake ------------------------------------------------------------------------------

    def try_referral(self, referral: ReferralDetails) -> PersonModel | None:
        expected: Error = None
        if ConsentScope.CASE_WORK not in referral.consent_scopes:
            expected = e.ConsentMissingError
        elif not referral.name.strip():
            expected = e.InvalidValueError
        before = log_position(self.world.app)
        count = len(self.world.people)
        try:
            s.Refer(referral).run(self.world, a_context())
        except e.DomainError as error:
            assert type(error) is expected
            assert log_position(self.world.app) == before
            return None
        assert expected is None, f"referral accepted, expected {expected}"
        assert len(self.world.people) == count + 1
        self.people.append(PersonModel(self.world.people[-1]))
        return self.people[-1]

    @initialize(counsellor=counsellors)
    def start_with_an_enrolled_young_person(self, counsellor: int) -> None:
        self.intake(s.f.a_referral(), counsellor)

    @rule(referral=s.referrals(valid=False))
    def refer(self, referral: ReferralDetails) -> None:
        self.try_referral(referral)

    @rule(referral=s.referrals(), counsellor=counsellors)
    def intake(self, referral: ReferralDetails, counsellor: int) -> None:
        """The usual path in one rule: referred, accepted at review, enrolled."""
        p = self.try_referral(referral)
        assert p is not None
        index = self.people.index(p)
        self.review(index, ReviewOutcome.ACCEPTED)
        self.enrol(index, counsellor, None)

    @precondition(lambda self: self.people)
    @rule(index=people, outcome=st.sampled_from(ReviewOutcome))
    def review(self, index: int, outcome: ReviewOutcome) -> None:
        p = self.person(index)
        reviewable = (CaseStatus.REFERRED, CaseStatus.WAITLISTED)
        expected = first_error(
            p.erased(), e.ReferralAlreadyReviewedError if p.status not in reviewable else None
        )
        if self.run(p, s.ReviewReferral(outcome), expected):
            p.status = {
                ReviewOutcome.ACCEPTED: CaseStatus.ACCEPTED,
                ReviewOutcome.DECLINED: CaseStatus.DECLINED,
                ReviewOutcome.WAITLISTED: CaseStatus.WAITLISTED,
            }[outcome]

    @precondition(lambda self: self.people)
    @rule(index=people, counsellor=counsellors, reason=s.over_limit_reasons)
    def enrol(self, index: int, counsellor: int, reason: str | None) -> None:
        p = self.person(index)
        counsellor_id = self.world.counsellor(counsellor)
        c = self.counsellors[counsellor_id]
        expected = first_error(
            p.open_case(),
            e.AlreadyEnrolledError if p.status is CaseStatus.ENROLLED else None,
            e.ReferralNotAcceptedError if p.status is not CaseStatus.ACCEPTED else None,
            c.refuses(reason),
        )
        if self.run(p, s.Enrol(counsellor, reason), expected):
            p.status, p.counsellor = CaseStatus.ENROLLED, counsellor_id
            c.take(p.handles.id)

    @precondition(lambda self: self.people)
    @rule(index=people, counsellor=counsellors, reason=s.over_limit_reasons)
    def hand_over(self, index: int, counsellor: int, reason: str | None) -> None:
        p = self.person(index)
        counsellor_id = self.world.counsellor(counsellor)
        c = self.counsellors[counsellor_id]
        expected = first_error(
            p.enrolled(),
            e.AlreadyAssignedError if p.counsellor == counsellor_id else None,
            c.refuses(reason),
        )
        if self.run(p, s.AssignCounsellor(counsellor, reason), expected):
            assert p.counsellor is not None
            self.counsellors[p.counsellor].release(p.handles.id)
            c.take(p.handles.id)
            p.counsellor = counsellor_id

    # --- contact -----------------------------------------------------------------------------

    @precondition(lambda self: self.people)
    @rule(index=people, contact=s.contacts)
    def contact(self, index: int, contact: ContactDetails) -> None:
        p = self.person(index)
        negative = contact.duration_minutes is not None and contact.duration_minutes < 0
        expected = first_error(p.open_case(), e.InvalidValueError if negative else None)
        if self.run(p, s.RecordContact(contact), expected):
            p.contacts += 1

    # --- plan ------------------------------------------------------------------------------

    @precondition(lambda self: self.people)
    @rule(index=people)
    def draft_plan(self, index: int) -> None:
        p = self.person(index)
        if self.run(p, s.DraftPlan("goal"), p.enrolled()):
            p.plan = True

    @precondition(lambda self: self.people)
    @rule(index=people, due=s.dates)
    def set_milestone(self, index: int, due: date) -> None:
        p = self.person(index)
        expected = first_error(p.enrolled(), None if p.plan else e.PlanNotDraftedError)
        if self.run(p, s.SetMilestone(due), expected):
            p.milestones[p.handles.milestones[-1]] = MilestoneStatus.OPEN

    @precondition(lambda self: self.people)
    @rule(
        index=people,
        item=items,
        act=st.sampled_from(["reach", "miss", "reschedule", "drop"]),
    )
    def milestone(self, index: int, item: int, act: str) -> None:
        p = self.person(index)
        milestone_id = s.pick(p.handles.milestones, item)
        status = p.milestones.get(milestone_id)
        allowed_from, to = MILESTONE_MOVES[act]
        rule_error: Error = None
        if status is None:
            rule_error = e.MilestoneNotFoundError
        elif status not in allowed_from:
            # A milestone can be reached once; reaching or missing it again says so.
            reached_again = status is MilestoneStatus.REACHED and act in ("reach", "miss")
            rule_error = (
                e.MilestoneAlreadyReachedError if reached_again else e.MilestoneNotOpenError
            )
        command: s.Command = {
            "reach": s.ReachMilestone(item),
            "miss": s.MissMilestone(item),
            "reschedule": s.RescheduleMilestone(item, date(2024, 9, 1)),
            "drop": s.DropMilestone(item),
        }[act]
        if self.run(p, command, first_error(p.enrolled(), rule_error)):
            p.milestones[milestone_id] = to

    # --- transitions -----------------------------------------------------------------------

    @precondition(lambda self: self.people)
    @rule(index=people, kind=st.sampled_from(TransitionKind))
    def start_transition(self, index: int, kind: TransitionKind) -> None:
        p = self.person(index)
        if self.run(p, s.StartTransition(kind, None), p.enrolled()):
            p.transitions[p.handles.transitions[-1]] = TransitionPhase.PREPARING

    @precondition(lambda self: self.people)
    @rule(
        index=people,
        item=items,
        act=st.sampled_from(["step", "education", "complete", "abandon"]),
    )
    def transition(self, index: int, item: int, act: str) -> None:
        p = self.person(index)
        transition_id = s.pick(p.handles.transitions, item)
        phase = p.transitions.get(transition_id)
        rule_error: Error = None
        if phase is None:
            rule_error = e.TransitionNotFoundError
        elif phase in (TransitionPhase.COMPLETED, TransitionPhase.ABANDONED):
            rule_error = e.TransitionNotOpenError
        elif act == "education" and phase is TransitionPhase.IN_EDUCATION:
            rule_error = e.EducationAlreadyStartedError
        command: s.Command = {
            "step": s.RecordTransitionStep(item, TransitionStep.FIRST_WEEK),
            "education": s.StartEducation(item),
            "complete": s.CompleteTransition(item),
            "abandon": s.AbandonTransition(item),
        }[act]
        if self.run(p, command, first_error(p.enrolled(), rule_error)) and act != "step":
            p.transitions[transition_id] = {
                "education": TransitionPhase.IN_EDUCATION,
                "complete": TransitionPhase.COMPLETED,
                "abandon": TransitionPhase.ABANDONED,
            }[act]

    # --- decisions and appeals ---------------------------------------------------------------

    @precondition(lambda self: self.people)
    @rule(
        index=people,
        terms=s.decision_terms,
        kind=st.sampled_from(
            [
                DecisionKind.READINESS_ASSESSMENT,
                DecisionKind.EDUCATION_INJUNCTION,
                DecisionKind.SANCTION,
            ]
        ),
    )
    def decide(self, index: int, terms: s.DecisionTerms, kind: DecisionKind) -> None:
        p = self.person(index)
        command: s.Command = {
            DecisionKind.READINESS_ASSESSMENT: s.AssessReadiness(
                terms, ReadinessLevel.EDUCATION_READY
            ),
            DecisionKind.EDUCATION_INJUNCTION: s.IssueInjunction(terms),
            DecisionKind.SANCTION: s.DecideSanction(terms),
        }[kind]
        if self.run(p, command, first_error(p.enrolled(), decision_refused(terms))):
            p.decisions[p.handles.decisions[-1]] = (kind, DecisionStatus.IN_FORCE)

    @precondition(lambda self: self.people)
    @rule(index=people, item=items, terms=s.decision_terms)
    def revise_injunction(self, index: int, item: int, terms: s.DecisionTerms) -> None:
        p = self.person(index)
        revises = s.pick(p.handles.decisions, item)
        known = p.decisions.get(revises)
        rule_error: Error = None
        if known is None:
            rule_error = e.DecisionNotFoundError
        elif known[0] is not DecisionKind.EDUCATION_INJUNCTION:
            rule_error = e.NotAnInjunctionError
        elif known[1] in (DecisionStatus.REVOKED, DecisionStatus.SUPERSEDED):
            rule_error = e.DecisionNotInForceError
        expected = first_error(p.enrolled(), rule_error, decision_refused(terms))
        if self.run(p, s.ReviseInjunction(terms, item), expected):
            p.decisions[revises] = (DecisionKind.EDUCATION_INJUNCTION, DecisionStatus.SUPERSEDED)
            p.decisions[p.handles.decisions[-1]] = (
                DecisionKind.EDUCATION_INJUNCTION,
                DecisionStatus.IN_FORCE,
            )

    @precondition(lambda self: self.people)
    @rule(index=people, item=items, act=st.sampled_from(["appeal", "decide", "revoke"]))
    def appeal(self, index: int, item: int, act: str) -> None:
        # Appeals run their course after a case has closed; only erasure stops them.
        p = self.person(index)
        decision_id = s.pick(p.handles.decisions, item)
        known = p.decisions.get(decision_id)
        rule_error: Error = None
        if known is None:
            rule_error = e.DecisionNotFoundError
        elif act == "appeal" and known[1] is DecisionStatus.APPEALED:
            rule_error = e.AppealAlreadyPendingError
        elif act == "appeal" and known[1] is not DecisionStatus.IN_FORCE:
            rule_error = e.DecisionNotInForceError
        elif act == "decide" and known[1] is not DecisionStatus.APPEALED:
            rule_error = e.NoAppealPendingError
        elif act == "revoke" and known[1] in (DecisionStatus.REVOKED, DecisionStatus.SUPERSEDED):
            rule_error = e.DecisionNotInForceError
        command: s.Command = {
            "appeal": s.AppealDecision(item),
            "decide": s.DecideAppeal(item, AppealOutcome.UPHELD),
            "revoke": s.RevokeDecision(item),
        }[act]
        if self.run(p, command, first_error(p.erased(), rule_error)):
            assert known is not None
            p.decisions[decision_id] = (
                known[0],
                {
                    "appeal": DecisionStatus.APPEALED,
                    "decide": DecisionStatus.APPEAL_DECIDED,
                    "revoke": DecisionStatus.REVOKED,
                }[act],
            )

    # --- closing, reopening, erasure -------------------------------------------------------

    @precondition(lambda self: self.people)
    @rule(index=people, now=st.sampled_from([False, False, True]))
    def close(self, index: int, now: bool) -> None:
        # Closing stops most other rules, so it is drawn less often (reopening is not).
        if not now:
            return
        p = self.person(index)
        if self.run(p, s.CloseCase(CaseOutcome.IN_EDUCATION), p.enrolled()):
            assert p.counsellor is not None
            p.status = CaseStatus.CLOSED
            self.counsellors[p.counsellor].release(p.handles.id)

    @precondition(lambda self: self.people)
    @rule(index=people, reason=s.over_limit_reasons)
    def reopen(self, index: int, reason: str | None) -> None:
        p = self.person(index)
        counsellor = self.counsellors[p.counsellor] if p.counsellor else None
        expected = first_error(
            p.erased(),
            e.CaseNotClosedError if p.status is not CaseStatus.CLOSED else None,
            counsellor.refuses(reason) if counsellor else None,
        )
        if self.run(p, s.ReopenCase(reason), expected):
            assert counsellor is not None
            p.status = CaseStatus.ENROLLED
            counsellor.take(p.handles.id)

    @precondition(lambda self: self.people)
    @rule(index=people, now=st.sampled_from([False, False, False, True]))
    def erase(self, index: int, now: bool) -> None:
        # Erasure ends everything for a person, so it is drawn less often than the rest.
        if not now:
            return
        p = self.person(index)
        if self.run(p, s.ErasePersonalData(ErasureRequester.YOUNG_PERSON), p.erased()):
            if p.status is CaseStatus.ENROLLED and p.counsellor is not None:
                self.counsellors[p.counsellor].release(p.handles.id)
            p.status = CaseStatus.ERASED

    # --- after every step --------------------------------------------------------------------

    @invariant()
    def young_people_agree_with_the_model(self) -> None:
        for p in self.people:
            person = self.world.app.young_person(p.handles.id)
            assert person.status is p.status
            assert person.contacts_recorded == p.contacts
            assert person.plan_drafted is p.plan
            assert person.counsellor_id == p.counsellor
            assert person.milestones == {m.hex: status for m, status in p.milestones.items()}
            assert person.transitions == {t.hex: phase for t, phase in p.transitions.items()}
            assert person.decisions == {d.hex: status for d, (_, status) in p.decisions.items()}

    @invariant()
    def caseloads_agree_with_the_model_and_the_limits(self) -> None:
        enrolled = {p.handles.id for p in self.people if p.status is CaseStatus.ENROLLED}
        carried: set[UUID] = set()
        for counsellor_id, model in self.counsellors.items():
            counsellor = self.world.app.counsellor(counsellor_id)
            caseload = {UUID(hex=h) for h in counsellor.caseload}
            assert len(caseload) == len(counsellor.caseload), "a case is carried twice"
            assert caseload == model.caseload
            assert counsellor.caseload_limit == model.limit
            assert len(caseload) <= model.limit + model.overrides, "over the limit unasked"
            assert not caseload & carried, "a case carried by two counsellors"
            carried |= caseload
        assert carried == enrolled


TestOvergangApplication = OvergangMachine.TestCase


def test_the_model_knows_every_case_status() -> None:
    # The model handles each status somewhere; a new status needs a decision here too.
    assert set(CaseStatus) == {
        CaseStatus.REFERRED,
        CaseStatus.WAITLISTED,
        CaseStatus.DECLINED,
        CaseStatus.ACCEPTED,
        CaseStatus.ENROLLED,
        CaseStatus.CLOSED,
        CaseStatus.ERASED,
    }


@pytest.mark.parametrize("limit", CASELOAD_LIMITS)
def test_a_counsellor_model_refuses_at_its_limit(limit: int) -> None:
    model = CounsellorModel(limit, caseload={UUID(int=n) for n in range(limit)})

    assert model.refuses(None) is e.CaseloadLimitExceededError
    assert model.refuses(" ") is e.OverrideReasonMissingError
    assert model.refuses("reason") is None
