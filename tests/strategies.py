"""Hypothesis strategies for Overgang's commands, and the small world they run in.

A generated command names what it acts on by index ("the second milestone so far"), because
ids are only known once the application has made them; an index with nothing behind it
becomes an id the application has never seen, so not-found paths are generated too.
Generated sequences are valid inputs in the type sense; many are refused by the rules,
which is the point: refusals must write nothing.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from uuid import UUID

from hypothesis import strategies as st

from domain.application import CommandContext, CommandResult, Overgang
from domain.decisions import DecisionContent
from domain.errors import DomainError
from domain.values import ContactDetails, ReferralDetails
from domain.vocabulary import (
    AppealOutcome,
    CaseOutcome,
    Channel,
    ConsentScope,
    Direction,
    ErasureRequester,
    Place,
    Purpose,
    ReadinessLevel,
    ReviewOutcome,
    TransitionKind,
    TransitionStep,
)
from tests import factories as f
from tests.fakes import FakeClock

# An id that no stream has: commands that point at nothing use it.
UNKNOWN_ID = UUID(int=0)

# --- the world commands run in -------------------------------------------------------------


@dataclass
class PersonHandles:
    """A young person's id and the ids the application made in their stream so far."""

    id: UUID
    milestones: list[UUID] = field(default_factory=list)
    transitions: list[UUID] = field(default_factory=list)
    decisions: list[UUID] = field(default_factory=list)
    alerts: list[UUID] = field(default_factory=list)


def pick(ids: list[UUID], index: int) -> UUID:
    return ids[index % len(ids)] if ids else UNKNOWN_ID


@dataclass
class World:
    app: Overgang
    clock: FakeClock
    counsellors: list[UUID]
    institutions: list[UUID]
    people: list[PersonHandles] = field(default_factory=list)

    @classmethod
    def new(
        cls,
        clock: FakeClock | None = None,
        *,
        caseload_limits: tuple[int, ...] = (1, 2),
        institutions: int = 1,
        **app_kwargs: Any,
    ) -> World:
        clock = clock or FakeClock()
        app = f.new_app(clock, **app_kwargs)
        return cls(
            app=app,
            clock=clock,
            counsellors=[f.a_counsellor(app, caseload_limit=n) for n in caseload_limits],
            institutions=[f.an_institution(app) for _ in range(institutions)],
        )

    def counsellor(self, index: int) -> UUID:
        return pick(self.counsellors, index)

    def institution(self, index: int | None) -> UUID | None:
        return None if index is None else pick(self.institutions, index)


@dataclass(frozen=True)
class Timing:
    """How far the clock moves before a command, and how long ago its fact happened."""

    advance: timedelta
    ago: timedelta | None  # None: it happened as it is recorded

    def context(self, world: World) -> CommandContext:
        now = world.clock.advance(self.advance)
        occurred_at = None if self.ago is None else now - self.ago
        return f.a_context(occurred_at=occurred_at)


# --- commands --------------------------------------------------------------------------------


class Command(ABC):
    """One command about an existing young person."""

    @abstractmethod
    def run(self, world: World, person: PersonHandles, ctx: CommandContext) -> CommandResult:
        """Send the command through the application; raises DomainError when refused."""


@dataclass(frozen=True)
class Refer:
    referral: ReferralDetails

    def run(self, world: World, ctx: CommandContext) -> CommandResult:
        result = world.app.refer(self.referral, ctx)
        world.people.append(PersonHandles(result.ids["young_person_id"]))
        return result


@dataclass(frozen=True)
class ReviewReferral(Command):
    outcome: ReviewOutcome

    def run(self, world: World, person: PersonHandles, ctx: CommandContext) -> CommandResult:
        return world.app.review_referral(person.id, self.outcome, date(2024, 3, 1), "n", ctx)


@dataclass(frozen=True)
class Enrol(Command):
    counsellor: int
    over_limit_reason: str | None

    def run(self, world: World, person: PersonHandles, ctx: CommandContext) -> CommandResult:
        counsellor_id = world.counsellor(self.counsellor)
        return world.app.enrol(person.id, counsellor_id, self.over_limit_reason, ctx)


@dataclass(frozen=True)
class AssignCounsellor(Command):
    counsellor: int
    over_limit_reason: str | None

    def run(self, world: World, person: PersonHandles, ctx: CommandContext) -> CommandResult:
        counsellor_id = world.counsellor(self.counsellor)
        return world.app.assign_counsellor(
            person.id, counsellor_id, "hand-over", self.over_limit_reason, ctx
        )


@dataclass(frozen=True)
class RecordConsent(Command):
    scope: ConsentScope
    institution: int | None

    def run(self, world: World, person: PersonHandles, ctx: CommandContext) -> CommandResult:
        institution_id = world.institution(self.institution)
        return world.app.record_consent(person.id, self.scope, institution_id, ctx)


@dataclass(frozen=True)
class WithdrawConsent(Command):
    scope: ConsentScope
    institution: int | None

    def run(self, world: World, person: PersonHandles, ctx: CommandContext) -> CommandResult:
        institution_id = world.institution(self.institution)
        return world.app.withdraw_consent(person.id, self.scope, institution_id, ctx)


@dataclass(frozen=True)
class RecordContact(Command):
    contact: ContactDetails

    def run(self, world: World, person: PersonHandles, ctx: CommandContext) -> CommandResult:
        return world.app.record_contact(person.id, self.contact, ctx)


@dataclass(frozen=True)
class AgreeWakeUp(Command):
    weekdays: tuple[int, ...]

    def run(self, world: World, person: PersonHandles, ctx: CommandContext) -> CommandResult:
        return world.app.agree_wake_up(
            person.id, f.WAKE_UP_TIME, list(self.weekdays), Channel.SMS, ctx
        )


@dataclass(frozen=True)
class EndWakeUp(Command):
    def run(self, world: World, person: PersonHandles, ctx: CommandContext) -> CommandResult:
        return world.app.end_wake_up(person.id, "reason", ctx)


@dataclass(frozen=True)
class DraftPlan(Command):
    goal: str

    def run(self, world: World, person: PersonHandles, ctx: CommandContext) -> CommandResult:
        return world.app.draft_plan(person.id, self.goal, True, ctx)


@dataclass(frozen=True)
class SetMilestone(Command):
    due: date

    def run(self, world: World, person: PersonHandles, ctx: CommandContext) -> CommandResult:
        result = world.app.set_milestone(person.id, "milestone", self.due, ctx)
        person.milestones.append(result.ids["milestone_id"])
        return result


@dataclass(frozen=True)
class ReachMilestone(Command):
    milestone: int

    def run(self, world: World, person: PersonHandles, ctx: CommandContext) -> CommandResult:
        milestone_id = pick(person.milestones, self.milestone)
        return world.app.reach_milestone(person.id, milestone_id, "note", ctx)


@dataclass(frozen=True)
class MissMilestone(Command):
    milestone: int

    def run(self, world: World, person: PersonHandles, ctx: CommandContext) -> CommandResult:
        milestone_id = pick(person.milestones, self.milestone)
        return world.app.miss_milestone(person.id, milestone_id, "note", ctx)


@dataclass(frozen=True)
class RescheduleMilestone(Command):
    milestone: int
    due: date

    def run(self, world: World, person: PersonHandles, ctx: CommandContext) -> CommandResult:
        milestone_id = pick(person.milestones, self.milestone)
        return world.app.reschedule_milestone(person.id, milestone_id, self.due, "reason", ctx)


@dataclass(frozen=True)
class DropMilestone(Command):
    milestone: int

    def run(self, world: World, person: PersonHandles, ctx: CommandContext) -> CommandResult:
        milestone_id = pick(person.milestones, self.milestone)
        return world.app.drop_milestone(person.id, milestone_id, "reason", ctx)


@dataclass(frozen=True)
class ReviewPlan(Command):
    next_review: date | None

    def run(self, world: World, person: PersonHandles, ctx: CommandContext) -> CommandResult:
        return world.app.review_plan(person.id, "note", self.next_review, ctx)


@dataclass(frozen=True)
class StartTransition(Command):
    kind: TransitionKind
    institution: int | None

    def run(self, world: World, person: PersonHandles, ctx: CommandContext) -> CommandResult:
        details = f.a_transition(
            kind=self.kind, to_institution_id=world.institution(self.institution)
        )
        result = world.app.start_transition(person.id, details, ctx)
        person.transitions.append(result.ids["transition_id"])
        return result


@dataclass(frozen=True)
class RecordTransitionStep(Command):
    transition: int
    step: TransitionStep

    def run(self, world: World, person: PersonHandles, ctx: CommandContext) -> CommandResult:
        transition_id = pick(person.transitions, self.transition)
        return world.app.record_transition_step(person.id, transition_id, self.step, "n", ctx)


@dataclass(frozen=True)
class StartEducation(Command):
    transition: int

    def run(self, world: World, person: PersonHandles, ctx: CommandContext) -> CommandResult:
        transition_id = pick(person.transitions, self.transition)
        return world.app.start_education(person.id, transition_id, world.institution(0), ctx)


@dataclass(frozen=True)
class CompleteTransition(Command):
    transition: int

    def run(self, world: World, person: PersonHandles, ctx: CommandContext) -> CommandResult:
        transition_id = pick(person.transitions, self.transition)
        return world.app.complete_transition(person.id, transition_id, ctx)


@dataclass(frozen=True)
class AbandonTransition(Command):
    transition: int

    def run(self, world: World, person: PersonHandles, ctx: CommandContext) -> CommandResult:
        transition_id = pick(person.transitions, self.transition)
        return world.app.abandon_transition(person.id, transition_id, "reason", ctx)


@dataclass(frozen=True)
class ReportAbsence(Command):
    absent_from: date
    days: int  # negative: an absence that ends before it begins (refused)

    def run(self, world: World, person: PersonHandles, ctx: CommandContext) -> CommandResult:
        institution_id = pick(world.institutions, 0)
        absent_to = self.absent_from + timedelta(days=self.days)
        return world.app.report_absence(
            person.id, institution_id, self.absent_from, absent_to, "note", ctx
        )


@dataclass(frozen=True)
class ReportConcern(Command):
    def run(self, world: World, person: PersonHandles, ctx: CommandContext) -> CommandResult:
        return world.app.report_concern(person.id, pick(world.institutions, 0), "note", ctx)


@dataclass(frozen=True)
class ReportDropout(Command):
    def run(self, world: World, person: PersonHandles, ctx: CommandContext) -> CommandResult:
        return world.app.report_dropout(person.id, pick(world.institutions, 0), "note", ctx)


@dataclass(frozen=True)
class DecisionTerms:
    """The legally relevant shape of a decision's content; the text itself is fixed."""

    fully_in_favour: bool
    with_appeal_guidance: bool
    with_legal_basis: bool = True

    def content(self, world: World) -> DecisionContent:
        return f.decision_content(
            decided_by=world.counsellor(0),
            fully_in_favour=self.fully_in_favour,
            appeal_guidance="guidance" if self.with_appeal_guidance else None,
            legal_basis="LAB § 21 b" if self.with_legal_basis else " ",
        )


class DecisionCommand(Command):
    terms: DecisionTerms

    def record(self, person: PersonHandles, result: CommandResult) -> CommandResult:
        person.decisions.append(result.ids["decision_id"])
        return result


@dataclass(frozen=True)
class AssessReadiness(DecisionCommand):
    terms: DecisionTerms
    level: ReadinessLevel

    def run(self, world: World, person: PersonHandles, ctx: CommandContext) -> CommandResult:
        content = self.terms.content(world)
        return self.record(person, world.app.assess_readiness(person.id, self.level, content, ctx))


@dataclass(frozen=True)
class IssueInjunction(DecisionCommand):
    terms: DecisionTerms

    def run(self, world: World, person: PersonHandles, ctx: CommandContext) -> CommandResult:
        content = self.terms.content(world)
        return self.record(
            person, world.app.issue_injunction(person.id, f.injunction(), content, ctx)
        )


@dataclass(frozen=True)
class ReviseInjunction(DecisionCommand):
    terms: DecisionTerms
    decision: int

    def run(self, world: World, person: PersonHandles, ctx: CommandContext) -> CommandResult:
        revises = pick(person.decisions, self.decision)
        content = self.terms.content(world)
        result = world.app.revise_injunction(
            person.id, revises, f.injunction(), "changes", content, ctx
        )
        return self.record(person, result)


@dataclass(frozen=True)
class DecideSanction(DecisionCommand):
    terms: DecisionTerms

    def run(self, world: World, person: PersonHandles, ctx: CommandContext) -> CommandResult:
        content = self.terms.content(world)
        return self.record(person, world.app.decide_sanction(person.id, "20 %", content, ctx))


@dataclass(frozen=True)
class AppealDecision(Command):
    decision: int

    def run(self, world: World, person: PersonHandles, ctx: CommandContext) -> CommandResult:
        decision_id = pick(person.decisions, self.decision)
        return world.app.appeal_decision(person.id, decision_id, "note", ctx)


@dataclass(frozen=True)
class DecideAppeal(Command):
    decision: int
    outcome: AppealOutcome

    def run(self, world: World, person: PersonHandles, ctx: CommandContext) -> CommandResult:
        decision_id = pick(person.decisions, self.decision)
        return world.app.decide_appeal(person.id, decision_id, self.outcome, "note", ctx)


@dataclass(frozen=True)
class RevokeDecision(Command):
    decision: int

    def run(self, world: World, person: PersonHandles, ctx: CommandContext) -> CommandResult:
        decision_id = pick(person.decisions, self.decision)
        return world.app.revoke_decision(person.id, decision_id, "reason", ctx)


@dataclass(frozen=True)
class CloseCase(Command):
    outcome: CaseOutcome

    def run(self, world: World, person: PersonHandles, ctx: CommandContext) -> CommandResult:
        return world.app.close_case(person.id, self.outcome, "note", ctx)


@dataclass(frozen=True)
class ReopenCase(Command):
    over_limit_reason: str | None

    def run(self, world: World, person: PersonHandles, ctx: CommandContext) -> CommandResult:
        return world.app.reopen_case(person.id, "reason", self.over_limit_reason, ctx)


@dataclass(frozen=True)
class ErasePersonalData(Command):
    requested_by: ErasureRequester

    def run(self, world: World, person: PersonHandles, ctx: CommandContext) -> CommandResult:
        return world.app.erase_personal_data(person.id, self.requested_by, "GDPR art. 17", ctx)


def _now(ctx: CommandContext) -> CommandContext:
    return CommandContext(actor=ctx.actor)


@dataclass(frozen=True)
class RaiseQuietAlert(Command):
    transition: int

    def run(self, world: World, person: PersonHandles, ctx: CommandContext) -> CommandResult:
        transition_id = pick(person.transitions, self.transition)
        # The sweeper raises an alert as of now, never back-dated.
        result = world.app.raise_quiet_alert(person.id, transition_id, _now(ctx))
        person.alerts.append(result.ids["alert_id"])
        return result


@dataclass(frozen=True)
class EscalateQuietAlert(Command):
    alert: int

    def run(self, world: World, person: PersonHandles, ctx: CommandContext) -> CommandResult:
        alert_id = pick(person.alerts, self.alert)
        return world.app.escalate_quiet_alert(person.id, alert_id, _now(ctx))


@dataclass(frozen=True)
class AcknowledgeAlert(Command):
    alert: int
    note: str

    def run(self, world: World, person: PersonHandles, ctx: CommandContext) -> CommandResult:
        alert_id = pick(person.alerts, self.alert)
        return world.app.acknowledge_alert(person.id, alert_id, self.note, ctx)


@dataclass(frozen=True)
class ResolveAlert(Command):
    alert: int

    def run(self, world: World, person: PersonHandles, ctx: CommandContext) -> CommandResult:
        alert_id = pick(person.alerts, self.alert)
        return world.app.resolve_alert(person.id, alert_id, "reason", ctx)


@dataclass(frozen=True)
class Step:
    command: Command
    timing: Timing


def perform(world: World, person: PersonHandles, step: Step) -> CommandResult | DomainError:
    """Run one step; a refusal is returned (not raised) so sequences can go on."""
    ctx = step.timing.context(world)
    try:
        return step.command.run(world, person, ctx)
    except DomainError as error:
        return error


# --- strategies ------------------------------------------------------------------------------

# Text without lone surrogates: JSON can carry them, but they cannot be stored (see
# test_a_note_that_is_not_valid_unicode_is_refused_as_invalid, a known gap).
texts = st.text(st.characters(codec="utf-8"), max_size=40)
indexes = st.integers(min_value=0, max_value=7)
dates = st.dates(min_value=date(2023, 1, 1), max_value=date(2026, 12, 31))
over_limit_reasons = st.one_of(st.none(), st.just("urgent: no one else free"), st.just("  "))

timings = st.builds(
    Timing,
    advance=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3)),
    ago=st.one_of(st.none(), st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=30))),
)


def _with_case_work(scopes: list[ConsentScope]) -> tuple[ConsentScope, ...]:
    return tuple(dict.fromkeys([ConsentScope.CASE_WORK, *scopes]))


def referrals(valid: bool = True) -> st.SearchStrategy[ReferralDetails]:
    """Referrals; with ``valid=False`` the consent or the name may be missing (refused)."""
    names = st.one_of(st.just("Test Person"), texts if not valid else texts.filter(str.strip))
    scopes = st.lists(st.sampled_from(ConsentScope), unique=True, max_size=4)
    consent_scopes = scopes.map(_with_case_work) if valid else scopes.map(tuple)
    return st.builds(
        f.a_referral,
        name=names,
        date_of_birth=st.dates(min_value=date(1995, 1, 1), max_value=date(2012, 12, 31)),
        phone=st.one_of(st.none(), st.just("+45 00 00 00 00")),
        reason=texts,
        consent_scopes=consent_scopes,
    )


contacts = st.builds(
    f.a_contact,
    channel=st.sampled_from(Channel),
    direction=st.sampled_from(Direction),
    place=st.one_of(st.none(), st.sampled_from(Place)),
    purpose=st.sampled_from(Purpose),
    reached=st.booleans(),
    duration_minutes=st.one_of(st.none(), st.integers(min_value=-5, max_value=240)),
    note=texts,
)

decision_terms = st.builds(
    DecisionTerms,
    fully_in_favour=st.booleans(),
    with_appeal_guidance=st.booleans(),
    with_legal_basis=st.sampled_from([True, True, True, False]),  # mostly complete
)

intake_commands: st.SearchStrategy[Command] = st.one_of(
    st.builds(ReviewReferral, st.sampled_from(ReviewOutcome)),
    st.builds(Enrol, indexes, over_limit_reasons),
    st.builds(AssignCounsellor, indexes, over_limit_reasons),
    st.builds(RecordConsent, st.sampled_from(ConsentScope), st.one_of(st.none(), indexes)),
    st.builds(WithdrawConsent, st.sampled_from(ConsentScope), st.one_of(st.none(), indexes)),
)

contact_commands: st.SearchStrategy[Command] = st.one_of(
    st.builds(RecordContact, contacts),
    st.builds(
        AgreeWakeUp,
        st.lists(st.integers(min_value=0, max_value=8), max_size=7).map(tuple),
    ),
    st.builds(EndWakeUp),
)

plan_commands: st.SearchStrategy[Command] = st.one_of(
    st.builds(DraftPlan, texts),
    st.builds(SetMilestone, dates),
    st.builds(ReachMilestone, indexes),
    st.builds(MissMilestone, indexes),
    st.builds(RescheduleMilestone, indexes, dates),
    st.builds(DropMilestone, indexes),
    st.builds(ReviewPlan, st.one_of(st.none(), dates)),
)

transition_commands: st.SearchStrategy[Command] = st.one_of(
    st.builds(StartTransition, st.sampled_from(TransitionKind), st.one_of(st.none(), indexes)),
    st.builds(RecordTransitionStep, indexes, st.sampled_from(TransitionStep)),
    st.builds(StartEducation, indexes),
    st.builds(CompleteTransition, indexes),
    st.builds(AbandonTransition, indexes),
)

signal_commands: st.SearchStrategy[Command] = st.one_of(
    st.builds(ReportAbsence, dates, st.integers(min_value=-3, max_value=30)),
    st.builds(ReportConcern),
    st.builds(ReportDropout),
)

decision_commands: st.SearchStrategy[Command] = st.one_of(
    st.builds(AssessReadiness, decision_terms, st.sampled_from(ReadinessLevel)),
    st.builds(IssueInjunction, decision_terms),
    st.builds(ReviseInjunction, decision_terms, indexes),
    st.builds(DecideSanction, decision_terms),
    st.builds(AppealDecision, indexes),
    st.builds(DecideAppeal, indexes, st.sampled_from(AppealOutcome)),
    st.builds(RevokeDecision, indexes),
)

closing_commands: st.SearchStrategy[Command] = st.one_of(
    st.builds(CloseCase, st.sampled_from(CaseOutcome)),
    st.builds(ReopenCase, over_limit_reasons),
)

alert_commands: st.SearchStrategy[Command] = st.one_of(
    st.builds(RaiseQuietAlert, indexes),
    st.builds(EscalateQuietAlert, indexes),
    st.builds(AcknowledgeAlert, indexes, texts),
    st.builds(ResolveAlert, indexes),
)

erasure_commands: st.SearchStrategy[Command] = st.builds(
    ErasePersonalData, st.sampled_from(ErasureRequester)
)

# Commands that make something later commands can act on, drawn as often again, so that
# histories reach milestones, transitions and decisions with a history of their own.
creating_commands: st.SearchStrategy[Command] = st.one_of(
    st.builds(SetMilestone, dates),
    st.builds(StartTransition, st.sampled_from(TransitionKind), st.none()),
    st.builds(IssueInjunction, decision_terms),
    st.builds(AssessReadiness, decision_terms, st.sampled_from(ReadinessLevel)),
    st.builds(RaiseQuietAlert, indexes),
)

# Closing and intake are drawn less often than the work in between, and come last
# (Hypothesis leans towards the first branches), so that histories spend most of their
# length in an open case and go deep into plans, transitions and decisions.
commands: st.SearchStrategy[Command] = st.one_of(
    creating_commands,
    contact_commands,
    plan_commands,
    transition_commands,
    decision_commands,
    creating_commands,
    plan_commands,
    transition_commands,
    decision_commands,
    alert_commands,
    alert_commands,
    signal_commands,
    intake_commands,
    closing_commands,
)

steps: st.SearchStrategy[Step] = st.builds(Step, commands, timings)

# Most interesting histories begin with an accepted referral and an enrolment, so three
# in four generated histories start that way; the rest start anywhere.
_ENROLMENT = [
    Step(ReviewReferral(ReviewOutcome.ACCEPTED), Timing(timedelta(hours=1), None)),
    Step(Enrol(0, None), Timing(timedelta(hours=1), None)),
    Step(DraftPlan("goal"), Timing(timedelta(hours=1), None)),
]


@st.composite
def histories(draw: st.DrawFn, max_steps: int = 40) -> tuple[ReferralDetails, list[Step]]:
    """A referral and the commands that follow it, ending now and then with an erasure."""
    referral = draw(referrals())
    prefix = _ENROLMENT if draw(st.sampled_from([True, True, True, False])) else []
    body = draw(st.lists(steps, min_size=min(10, max_steps), max_size=max_steps))
    # False first: shrinking goes towards histories without an erasure.
    if draw(st.sampled_from([False] * 9 + [True])):
        erasure = Step(draw(erasure_commands), draw(timings))
        body = [*body, erasure, *draw(st.lists(steps, max_size=3))]
    return referral, [*prefix, *body]
