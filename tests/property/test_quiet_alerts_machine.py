"""Random histories of contact, transitions and alerts against a plain-Python model.

The model states the alert rules of DESIGN.md in its own words: a transition is quiet when
no *reached* contact has happened for longer than the threshold of the phase it is in (7
days, 5 in the first three weeks of a new education; 14 and 10 to escalate). It finds the
moment a threshold is crossed by trying every moment at which the answer can change,
rather than by the domain's span arithmetic. After every step the application must agree
with the model, a refused command must write nothing, and replaying the stream from the
store must give the live aggregate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from uuid import UUID

from eventsourcing.application import project_aggregate
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from domain import errors as e
from domain.actors import Actor, Role
from domain.application import CommandContext, CommandResult, Overgang
from domain.vocabulary import AlertLevel, AlertSeverity, CaseOutcome, TransitionKind
from tests.factories import (
    a_contact,
    a_context,
    a_transition,
    an_institution,
    enrolled_young_person,
    log_position,
    new_app,
)
from tests.fakes import FakeClock

SWEEPER = CommandContext(actor=Actor(id="alert-sweeper", role=Role.SYSTEM))
FIRST_WEEKS = timedelta(weeks=3)
QUIET = {"general": timedelta(days=7), "new_education": timedelta(days=5)}
ESCALATE = {"general": timedelta(days=14), "new_education": timedelta(days=10)}
Error = type[e.DomainError] | None


@dataclass
class TransitionModel:
    id: UUID
    started_at: datetime
    open: bool = True
    education_at: datetime | None = None
    reset_at: datetime | None = None  # the last hand-resolution of its alert


@dataclass
class AlertModel:
    id: UUID
    transition: TransitionModel
    escalated: bool = False
    severity: AlertSeverity = AlertSeverity.WARNING


@dataclass
class Model:
    closed: bool = False
    last_reached: datetime | None = None
    absent_until: date | None = None
    transitions: list[TransitionModel] = field(default_factory=list)
    alerts: list[AlertModel] = field(default_factory=list)  # open ones

    def quiet_since(self, transition: TransitionModel) -> datetime:
        moments = [transition.started_at, transition.reset_at, self.last_reached]
        return max(moment for moment in moments if moment is not None)

    def crossed_at(self, transition: TransitionModel, limits: dict[str, timedelta]) -> datetime:
        """The first moment at which the transition has been quiet past its threshold."""
        since = self.quiet_since(transition)

        def limit_at(moment: datetime) -> timedelta:
            start = transition.education_at
            new = start is not None and start <= moment < start + FIRST_WEEKS
            return limits["new_education" if new else "general"]

        # The answer changes only when the phase changes or a threshold runs out.
        candidates = [since + limit for limit in limits.values()]
        if transition.education_at is not None:
            candidates += [transition.education_at, transition.education_at + FIRST_WEEKS]
        return min(c for c in candidates if c >= since and c - since >= limit_at(c))

    def severity(self, transition: TransitionModel) -> AlertSeverity:
        absent = self.absent_until
        quiet = absent is not None and absent >= self.quiet_since(transition).date()
        return AlertSeverity.HIGH if quiet else AlertSeverity.WARNING

    def alert_of(self, transition: TransitionModel) -> AlertModel | None:
        return next((a for a in self.alerts if a.transition is transition), None)


class QuietAlerts(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock()
        self.app: Overgang = new_app(self.clock, snapshot_interval=7)
        self.model = Model()
        self.institution_id = an_institution(self.app)
        self.young_person_id = enrolled_young_person(self.app).young_person_id

    # --- running commands ----------------------------------------------------------------

    def run(self, command: object, expected: Error) -> CommandResult | None:
        before = log_position(self.app)
        try:
            result = command() if callable(command) else None
        except e.DomainError as error:
            assert type(error) is expected, f"expected {expected}, got {error!r}"
            assert log_position(self.app) == before, "a refused command wrote"
            return None
        assert expected is None, f"expected {expected.__name__}, got success"
        assert isinstance(result, CommandResult)
        return result

    def open_case_error(self) -> Error:
        return e.CaseClosedError if self.model.closed else None

    def transition(self, index: int) -> TransitionModel | None:
        ts = self.model.transitions
        return ts[index % len(ts)] if ts else None

    def alert(self, index: int) -> AlertModel | None:
        alerts = self.model.alerts
        return alerts[index % len(alerts)] if alerts else None

    @initialize()
    def start(self) -> None:
        self.start_transition(TransitionKind.OFFER_TO_OFFER)

    # --- the world moves -----------------------------------------------------------------

    @rule(hours=st.integers(min_value=1, max_value=96))
    def time_passes(self, hours: int) -> None:
        self.clock.advance(hours=hours)

    @precondition(lambda self: self.model.transitions)
    @rule(index=st.integers(0, 5), escalation=st.booleans(), early=st.booleans())
    def time_runs_to_a_deadline(self, index: int, escalation: bool, early: bool) -> None:
        # Deadlines are exact: land on one, or a minute short of it, then let a sweep try.
        transition = self.transition(index)
        assert transition is not None
        deadline = self.model.crossed_at(transition, ESCALATE if escalation else QUIET)
        target = deadline - timedelta(minutes=1) if early else deadline
        if target > self.clock.now:
            self.clock.set(target)

    @rule(reached=st.booleans(), hours_ago=st.sampled_from([0, 0, 0, 5, 30, 200]))
    def contact(self, reached: bool, hours_ago: int) -> None:
        at = self.clock.now - timedelta(hours=hours_ago)
        quiet_before = {id(a): self.model.quiet_since(a.transition) for a in self.model.alerts}
        result = self.run(
            lambda: self.app.record_contact(
                self.young_person_id, a_contact(reached=reached), a_context(occurred_at=at)
            ),
            self.open_case_error(),
        )
        if result is not None and reached:
            if self.model.last_reached is None or at > self.model.last_reached:
                self.model.last_reached = at
            self.model.alerts = [a for a in self.model.alerts if not at > quiet_before[id(a)]]

    @rule(kind=st.sampled_from(TransitionKind))
    def start_transition(self, kind: TransitionKind) -> None:
        result = self.run(
            lambda: self.app.start_transition(
                self.young_person_id, a_transition(kind=kind), a_context()
            ),
            self.open_case_error(),
        )
        if result is not None:
            transition = TransitionModel(result.ids["transition_id"], self.clock.now)
            self.model.transitions.append(transition)

    @precondition(lambda self: self.model.transitions)
    @rule(index=st.integers(0, 5))
    def start_education(self, index: int) -> None:
        transition = self.transition(index)
        assert transition is not None
        expected = self.open_case_error() or (
            e.TransitionNotOpenError
            if not transition.open
            else e.EducationAlreadyStartedError
            if transition.education_at
            else None
        )
        if self.run(
            lambda: self.app.start_education(
                self.young_person_id, transition.id, None, a_context()
            ),
            expected,
        ):
            transition.education_at = self.clock.now

    @precondition(lambda self: self.model.transitions)
    @rule(index=st.integers(0, 5), complete=st.booleans())
    def end_transition(self, index: int, complete: bool) -> None:
        transition = self.transition(index)
        assert transition is not None
        expected = self.open_case_error() or (None if transition.open else e.TransitionNotOpenError)

        def end() -> CommandResult:
            if complete:
                return self.app.complete_transition(
                    self.young_person_id, transition.id, a_context()
                )
            return self.app.abandon_transition(
                self.young_person_id, transition.id, "reason", a_context()
            )

        if self.run(end, expected):
            transition.open = False
            self.model.alerts = [a for a in self.model.alerts if a.transition is not transition]

    @rule(days_ago=st.integers(min_value=0, max_value=20), length=st.integers(0, 5))
    def absence(self, days_ago: int, length: int) -> None:
        start = self.clock.now.date() - timedelta(days=days_ago)
        end = start + timedelta(days=length)
        if self.run(
            lambda: self.app.report_absence(
                self.young_person_id, self.institution_id, start, end, "note", a_context()
            ),
            self.open_case_error(),
        ):
            if self.model.absent_until is None or end > self.model.absent_until:
                self.model.absent_until = end
            for alert in self.model.alerts:
                alert.severity = max(
                    alert.severity,
                    self.model.severity(alert.transition),
                    key=[AlertSeverity.WARNING, AlertSeverity.HIGH].index,
                )

    @rule(close=st.booleans())
    def close_or_reopen(self, close: bool) -> None:
        if close:
            expected: Error = e.CaseClosedError if self.model.closed else None
            act = lambda: self.app.close_case(  # noqa: E731
                self.young_person_id, CaseOutcome.MOVED, "note", a_context()
            )
        else:
            expected = None if self.model.closed else e.CaseNotClosedError
            act = lambda: self.app.reopen_case(  # noqa: E731
                self.young_person_id, "reason", None, a_context()
            )
        if self.run(act, expected):
            self.model.closed = close
            if close:
                self.model.alerts = []

    # --- the alerts --------------------------------------------------------------------------

    @precondition(lambda self: self.model.transitions)
    @rule(index=st.integers(0, 5))
    def sweep_raises(self, index: int) -> None:
        transition = self.transition(index)
        assert transition is not None
        model = self.model
        if model.closed:
            expected: Error = e.CaseClosedError
        elif not transition.open:
            expected = e.TransitionNotOpenError
        elif model.alert_of(transition) is not None:
            expected = e.AlertAlreadyOpenError
        elif self.clock.now < model.crossed_at(transition, QUIET):
            expected = e.TransitionNotQuietError
        else:
            expected = None
        result = self.run(
            lambda: self.app.raise_quiet_alert(self.young_person_id, transition.id, SWEEPER),
            expected,
        )
        if result is not None:
            alert = AlertModel(result.ids["alert_id"], transition)
            alert.severity = model.severity(transition)
            model.alerts.append(alert)

    @precondition(lambda self: self.model.alerts)
    @rule(index=st.integers(0, 5))
    def sweep_escalates(self, index: int) -> None:
        alert = self.alert(index)
        assert alert is not None
        if self.model.closed:
            expected: Error = e.CaseClosedError
        elif alert.escalated:
            expected = e.AlertAlreadyEscalatedError
        elif self.clock.now < self.model.crossed_at(alert.transition, ESCALATE):
            expected = e.TransitionNotQuietError
        else:
            expected = None
        if self.run(
            lambda: self.app.escalate_quiet_alert(self.young_person_id, alert.id, SWEEPER),
            expected,
        ):
            alert.escalated = True

    @precondition(lambda self: self.model.alerts)
    @rule(index=st.integers(0, 5), by_hand=st.booleans())
    def counsellor_acts(self, index: int, by_hand: bool) -> None:
        alert = self.alert(index)
        assert alert is not None
        if by_hand:
            if self.run(
                lambda: self.app.resolve_alert(self.young_person_id, alert.id, "away", a_context()),
                None,
            ):
                self.model.alerts.remove(alert)
                alert.transition.reset_at = self.clock.now
        else:
            self.run(
                lambda: self.app.acknowledge_alert(
                    self.young_person_id, alert.id, "calling", a_context()
                ),
                None,
            )

    # --- what must always hold ---------------------------------------------------------------

    @invariant()
    def alerts_agree_with_the_model(self) -> None:
        person = self.app.young_person(self.young_person_id)
        expected_levels = {
            a.id.hex: AlertLevel.ESCALATED if a.escalated else AlertLevel.RAISED
            for a in self.model.alerts
        }
        assert person.alert_levels == expected_levels
        assert person.open_alerts == {a.id.hex: a.transition.id.hex for a in self.model.alerts}
        assert person.alert_severities == {a.id.hex: a.severity for a in self.model.alerts}

    @invariant()
    def deadlines_agree_with_the_model(self) -> None:
        person = self.app.young_person(self.young_person_id)
        policy = self.app.quiet_policy
        for transition in self.model.transitions:
            key = transition.id.hex
            quiet_since = person.quiet_since(transition.id)
            assert quiet_since == self.model.quiet_since(transition)
            for limits, escalation in ((QUIET, False), (ESCALATE, True)):
                deadline = policy.deadline(
                    person.transition_kinds.get(key),
                    quiet_since,
                    person.education_started_at.get(key),
                    escalation=escalation,
                )
                assert deadline == self.model.crossed_at(transition, limits)

    @invariant()
    def replay_gives_the_live_aggregate(self) -> None:
        live = self.app.young_person(self.young_person_id)
        replayed = project_aggregate(None, self.app.events.get(self.young_person_id))
        assert replayed == live


TestQuietAlerts = QuietAlerts.TestCase
# settings() is the loaded profile (default: 25 examples, ci: 200); histories long enough
# for transitions to go quiet, escalate and be resolved.
TestQuietAlerts.settings = settings(settings(), stateful_step_count=60)
