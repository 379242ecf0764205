"""The risk-flags read model: explainable dropout-risk flags, one rule each.

Each flag names its rule, the rule's version, its severity, since when it holds and the
events that raised it, with the rule's thresholds in ``details``. The rules and their
versions are data (``projections.risk_rules``); what each one watches is described there.

**Time.** The projection is a pure function of the event log, yet most conditions become
true by the passing of time (seven days without contact). So for each young person it keeps
*candidate* flags in ``risk_flags``: ``active_from``, the moment the condition becomes true
unless a later fact ends it, and ``active_until``, the moment it ends by itself (NULL: only
a fact ends it). The view takes ``now`` from the caller: a flag is open when
``active_from <= now < active_until``. Every moment is the ``occurred_at`` of the facts
(when things happened in the world), so a fact recorded late is placed where it belongs:
"last reached contact" is the latest by ``occurred_at``, and a run of missed wake-ups is
ordered by it. Ties are broken by log position.

**Which version.** The version recorded on a flag is the one in force when its condition
arose: for a condition that arises by time, the earliest moment at which it holds under the
version in force at that moment; for one raised by a fact, the version in force at the fact.

**Cases.** Flags belong to enrolled, open cases: none before enrolment, none while a case is
closed (their ``since`` never lies before the last reopening) and none after erasure. The
one exception is ``let_go_too_early``, which is about the closing itself.

**Event references.** ``raised_by`` (and ``cleared_by`` in the history) name events by their
event log position, with the event's version in the young person's stream (its
``originator_version``; the stream is the row's young person) and its type:
``{"position": 42, "version": 7, "event": "ContactRecorded"}``.

**History.** ``risk_flag_history`` keeps every flag that was open and has ended: cleared by a
fact (``cleared_at`` is that fact's ``occurred_at``, ``cleared_by`` names it) or lapsed by time
and since replaced (``cleared_at`` is its ``active_until``, ``cleared_by`` NULL). A flag that a
late-recorded fact shows never to have been open in the world leaves no history.

**Personal data.** Nothing personal is read or stored: the rules use channels, purposes,
reached-or-not, dates and ids only, so these tables need no purging on erasure (the young
person's candidate flags and state are dropped, the history of non-identifying facts stays).

Per young person, the facts the rules need are kept as JSON in ``risk_flag_state``. A batch
loads the states of the people it touches in one statement, folds its events into them in
log order (recomputing that person's candidates after each event, so the history does not
depend on how the log is cut into batches), and writes states and flags back at the end.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache, singledispatchmethod
from typing import Any, TypeAlias, TypeVar

from domain.vocabulary import Channel, Purpose
from domain.young_person_events import (
    AbsenceReported,
    CaseClosed,
    CaseReopened,
    ConcernReported,
    ContactRecorded,
    EducationStarted,
    Enrolled,
    MilestoneDropped,
    MilestoneMissed,
    MilestoneReached,
    MilestoneRescheduled,
    MilestoneSet,
    PersonalDataErased,
    PlanDrafted,
    PlanReviewed,
    TransitionAbandoned,
    TransitionCompleted,
    TransitionStarted,
    WakeUpAgreed,
    WakeUpEnded,
    YoungPersonEvent,
)
from projections.base import PositionedEvent, Projection
from projections.columns import iso_utc, parse_utc
from projections.risk_rules import (
    DEFAULT_RULES,
    InstitutionSignal,
    LetGoTooEarly,
    MilestoneOverdue,
    MissedMeetings,
    MissedWakeUps,
    NoPlan,
    PlanReviewOverdue,
    QuietTransition,
    RuleBook,
    RuleVersion,
)
from projections.store import Row, ViewCursor

FLAGS = "risk_flags"
HISTORY = "risk_flag_history"
STATE = "risk_flag_state"

Ref: TypeAlias = tuple[int, int, str]
"""An event: its log position, its version in the young person's stream, its type."""

R = TypeVar("R", bound=RuleVersion)


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _ref_json(ref: Ref) -> dict[str, Any]:
    return {"position": ref[0], "version": ref[1], "event": ref[2]}


def _days(n: int) -> timedelta:
    return timedelta(days=n)


def _start_of(day: date) -> datetime:
    """Midnight UTC at the start of ``day``: where date-based rules draw their line."""
    return datetime.combine(day, time(0), tzinfo=UTC)


def _min(a: datetime | None, b: datetime | None) -> datetime | None:
    """The earlier of two moments, where None means "never"."""
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


# --- what the rules need to know of a young person -----------------------------------------


@dataclass(frozen=True)
class Mark:
    """A fact the rules look at: when it happened, and which event recorded it."""

    at: datetime
    ref: Ref

    @property
    def key(self) -> tuple[datetime, int]:
        """World order: by ``occurred_at``, then by log position."""
        return (self.at, self.ref[0])

    def to_json(self) -> list[Any]:
        return [iso_utc(self.at), *self.ref]

    @classmethod
    def from_json(cls, data: list[Any]) -> Mark:
        return cls(parse_utc(data[0]), (int(data[1]), int(data[2]), str(data[3])))


def _after(mark: Mark, reset: Mark | None) -> bool:
    return reset is None or mark.key > reset.key


def _latest(current: Mark | None, candidate: Mark) -> Mark:
    return candidate if current is None or candidate.key > current.key else current


def _insert(marks: list[Mark], mark: Mark) -> None:
    marks.append(mark)
    marks.sort(key=lambda m: m.key)


@dataclass
class Transition:
    started: Mark
    education: Mark | None = None


@dataclass
class Milestone:
    due: date
    set_by: Mark  # MilestoneSet, or the last MilestoneRescheduled


@dataclass
class PlanAnchor:
    """The latest drafting or review of the plan, and the next review it set (if any)."""

    mark: Mark
    next_review: date | None


@dataclass
class PersonState:
    """The non-personal facts about one young person that the rules read."""

    erased: bool = False
    enrolled: Mark | None = None
    closed: Mark | None = None
    reopened: Mark | None = None
    last_reached: Mark | None = None
    wake_up_reset: Mark | None = None
    missed_wake_ups: list[Mark] = field(default_factory=list)
    meeting_reset: Mark | None = None
    missed_meetings: list[Mark] = field(default_factory=list)
    reports: list[Mark] = field(default_factory=list)
    first_plan: Mark | None = None
    plan_anchor: PlanAnchor | None = None
    transitions: dict[str, Transition] = field(default_factory=dict)
    education_starts: list[Mark] = field(default_factory=list)
    milestones: dict[str, Milestone] = field(default_factory=dict)

    def to_json(self) -> str:
        def mark(m: Mark | None) -> list[Any] | None:
            return None if m is None else m.to_json()

        return _dumps(
            {
                "erased": self.erased,
                "enrolled": mark(self.enrolled),
                "closed": mark(self.closed),
                "reopened": mark(self.reopened),
                "last_reached": mark(self.last_reached),
                "wake_up_reset": mark(self.wake_up_reset),
                "missed_wake_ups": [m.to_json() for m in self.missed_wake_ups],
                "meeting_reset": mark(self.meeting_reset),
                "missed_meetings": [m.to_json() for m in self.missed_meetings],
                "reports": [m.to_json() for m in self.reports],
                "first_plan": mark(self.first_plan),
                "plan_anchor": None
                if self.plan_anchor is None
                else [
                    self.plan_anchor.mark.to_json(),
                    None
                    if self.plan_anchor.next_review is None
                    else self.plan_anchor.next_review.isoformat(),
                ],
                "transitions": {
                    tid: [t.started.to_json(), mark(t.education)]
                    for tid, t in self.transitions.items()
                },
                "education_starts": [m.to_json() for m in self.education_starts],
                "milestones": {
                    mid: [m.due.isoformat(), m.set_by.to_json()]
                    for mid, m in self.milestones.items()
                },
            }
        )

    @classmethod
    def from_json(cls, text: str) -> PersonState:
        data = json.loads(text)

        def mark(value: list[Any] | None) -> Mark | None:
            return None if value is None else Mark.from_json(value)

        def marks(values: list[list[Any]]) -> list[Mark]:
            return [Mark.from_json(value) for value in values]

        anchor = data["plan_anchor"]
        return cls(
            erased=data["erased"],
            enrolled=mark(data["enrolled"]),
            closed=mark(data["closed"]),
            reopened=mark(data["reopened"]),
            last_reached=mark(data["last_reached"]),
            wake_up_reset=mark(data["wake_up_reset"]),
            missed_wake_ups=marks(data["missed_wake_ups"]),
            meeting_reset=mark(data["meeting_reset"]),
            missed_meetings=marks(data["missed_meetings"]),
            reports=marks(data["reports"]),
            first_plan=mark(data["first_plan"]),
            plan_anchor=None
            if anchor is None
            else PlanAnchor(
                Mark.from_json(anchor[0]),
                None if anchor[1] is None else date.fromisoformat(anchor[1]),
            ),
            transitions={
                tid: Transition(Mark.from_json(started), mark(education))
                for tid, (started, education) in data["transitions"].items()
            },
            education_starts=marks(data["education_starts"]),
            milestones={
                mid: Milestone(date.fromisoformat(due), Mark.from_json(set_by))
                for mid, (due, set_by) in data["milestones"].items()
            },
        )


# --- candidate flags -------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """A flag as the rules see it: open from ``active_from`` until ``active_until``."""

    rule: str
    subject: str  # what within the case it is about (a transition or milestone id), or ""
    version: int
    severity: str
    active_from: datetime
    active_until: datetime | None
    raised_by: tuple[Ref, ...]
    details: tuple[tuple[str, Any], ...]  # name, value: thresholds and non-personal facts

    @property
    def key(self) -> tuple[str, str]:
        return (self.rule, self.subject)

    def open_at(self, moment: datetime) -> bool:
        return self.active_from <= moment and (
            self.active_until is None or moment < self.active_until
        )

    def raised_by_json(self) -> str:
        return _dumps([_ref_json(ref) for ref in sorted(self.raised_by)])

    def details_json(self) -> str:
        return _dumps(dict(self.details))


@lru_cache(maxsize=256)
def _parameters(rule: RuleVersion) -> tuple[tuple[str, int], ...]:
    # Asked for every candidate the projection computes; a version's thresholds never change.
    return tuple(rule.parameters().items())


def _candidate(
    rule: RuleVersion,
    since: datetime,
    until: datetime | None,
    raised_by: Iterable[Mark],
    subject: str = "",
    **facts: Any,
) -> Candidate:
    return Candidate(
        rule=rule.name,
        subject=subject,
        version=rule.version,
        severity=rule.severity.value,
        active_from=since,
        active_until=until,
        raised_by=tuple(sorted({mark.ref for mark in raised_by})),
        details=(*_parameters(rule), *sorted(facts.items())),
    )


FirstTrue: TypeAlias = Callable[[R, datetime, datetime | None], datetime | None]


def _earliest(
    spans: list[tuple[R, datetime, datetime | None]], lower: datetime, first_true: FirstTrue[R]
) -> tuple[R, datetime] | None:
    """The first moment from ``lower`` on at which a time-driven condition holds, judged
    at each moment by the version in force then; with that version.

    ``first_true(version, lo, hi)`` answers for one version: the earliest moment in
    ``[lo, hi)`` (``hi`` None: unbounded) at which its condition holds, or None.
    """
    for rule, start, end in spans:
        lo = max(lower, start)
        if end is not None and lo >= end:
            continue
        found = first_true(rule, lo, end)
        if found is not None:
            return rule, found
    return None


def _first_at_or_after(moment: datetime, lo: datetime, hi: datetime | None) -> datetime | None:
    """For a condition that holds from ``moment`` on: its first moment within [lo, hi)."""
    first = max(moment, lo)
    return first if hi is None or first < hi else None


class RiskRules:
    """Evaluates a rule book against a young person's facts."""

    def __init__(self, rules: Iterable[RuleVersion]) -> None:
        self.book = RuleBook(rules)

    def evaluate(self, s: PersonState) -> dict[tuple[str, str], Candidate]:
        if s.erased or s.enrolled is None:
            return {}
        if s.closed is not None:
            found = list(self._let_go_too_early(s, s.closed))
        else:
            open_since = (s.reopened or s.enrolled).at
            found = [
                clamped
                for candidate in self._open_case(s, s.enrolled, open_since)
                if (clamped := _clamp(candidate, open_since)) is not None
            ]
        return {candidate.key: candidate for candidate in found}

    def _open_case(
        self, s: PersonState, enrolled: Mark, open_since: datetime
    ) -> Iterator[Candidate]:
        yield from self._quiet_transitions(s, open_since)
        yield from self._missed_wake_ups(s)
        yield from self._institution_signal(s)
        yield from self._missed_meetings(s)
        yield from self._no_plan(s, enrolled, open_since)
        yield from self._milestones_overdue(s, open_since)
        yield from self._plan_review_overdue(s, open_since)

    # --- 1. a quiet transition ---------------------------------------------------------

    def _quiet_transitions(self, s: PersonState, open_since: datetime) -> Iterator[Candidate]:
        for transition_id, transition in s.transitions.items():
            baseline = transition.started
            if s.last_reached is not None and s.last_reached.key > baseline.key:
                baseline = s.last_reached
            yield from self._quiet_transition(transition_id, transition, baseline, open_since)

    def _quiet_transition(
        self, transition_id: str, transition: Transition, baseline: Mark, open_since: datetime
    ) -> Iterator[Candidate]:
        quiet_since = baseline.at
        education = None if transition.education is None else transition.education.at

        def window_end(rule: QuietTransition) -> datetime | None:
            return None if education is None else education + _days(rule.window_days)

        def first_true(rule: QuietTransition, lo: datetime, hi: datetime | None) -> datetime | None:
            hi = _min(hi, window_end(rule))
            for start, end in _quiet_periods(rule, quiet_since, education):
                first, end = max(start, lo), _min(end, hi)
                if end is None or first < end:
                    return first
            return None

        found = _earliest(self.book.spans(QuietTransition), open_since, first_true)
        if found is None:
            return
        rule, since = found
        early = education is not None and (
            education <= since < education + _days(rule.new_education_days)
        )
        raised_by = [transition.started, baseline]
        if transition.education is not None:
            raised_by.append(transition.education)
        yield _candidate(
            rule,
            since,
            window_end(rule),
            raised_by,
            subject=transition_id,
            transition_id=transition_id,
            quiet_since=iso_utc(quiet_since),
            threshold_days_applied=rule.new_education_threshold_days
            if early
            else rule.threshold_days,
        )

    # --- 2. missed wake-ups in a row ---------------------------------------------------

    def _missed_wake_ups(self, s: PersonState) -> Iterator[Candidate]:
        run = s.missed_wake_ups
        for count, miss in enumerate(run, start=1):
            rule = self.book.in_force(MissedWakeUps, miss.at)
            if rule is not None and count >= rule.in_a_row:
                yield _candidate(rule, miss.at, None, run, missed_in_a_row=len(run))
                return

    # --- 3. absence or concern reported ------------------------------------------------

    def _institution_signal(self, s: PersonState) -> Iterator[Candidate]:
        episode: list[Mark] = []
        episode_rule: InstitutionSignal | None = None
        for report in s.reports:  # only reports after the last reached contact are kept
            if episode_rule is not None and report.at < episode[-1].at + _days(
                episode_rule.clears_after_days
            ):
                episode.append(report)
                continue
            episode_rule = self.book.in_force(InstitutionSignal, report.at)
            episode = [report] if episode_rule is not None else []
        if episode_rule is None or not episode:
            return
        kinds = [report.ref[2] for report in episode]
        yield _candidate(
            episode_rule,
            episode[0].at,
            episode[-1].at + _days(episode_rule.clears_after_days),
            episode,
            absences_reported=kinds.count(AbsenceReported.__name__),
            concerns_reported=kinds.count(ConcernReported.__name__),
        )

    # --- 4. missed meetings within a window --------------------------------------------

    def _missed_meetings(self, s: PersonState) -> Iterator[Candidate]:
        misses = s.missed_meetings  # only misses after the last attended meeting are kept
        current: tuple[MissedMeetings, datetime, datetime, list[Mark]] | None = None
        for last, miss in enumerate(misses):
            rule = self.book.in_force(MissedMeetings, miss.at)
            if rule is None or last + 1 < rule.missed:
                continue
            first = misses[last + 1 - rule.missed]
            until = first.at + _days(rule.within_days)
            if miss.at >= until:
                continue
            together = misses[last + 1 - rule.missed : last + 1]
            if current is not None and miss.at < current[2]:
                # Overlapping windows make one flag, raised under the first one's version.
                kept_rule, since, kept_until, kept = current
                current = (kept_rule, since, max(kept_until, until), [*kept, *together])
            else:
                current = (rule, miss.at, until, together)
        if current is None:
            return
        rule, since, until, raised_by = current
        yield _candidate(
            rule, since, until, raised_by, missed_meetings=len({m.ref for m in raised_by})
        )

    # --- 5. no plan after enrolment ----------------------------------------------------

    def _no_plan(self, s: PersonState, enrolled: Mark, open_since: datetime) -> Iterator[Candidate]:
        if s.first_plan is not None:
            return
        found = _earliest(
            self.book.spans(NoPlan),
            open_since,
            lambda rule, lo, hi: _first_at_or_after(
                enrolled.at + _days(rule.days_after_enrolment), lo, hi
            ),
        )
        if found is not None:
            rule, since = found
            yield _candidate(rule, since, None, [enrolled])

    # --- 6. a milestone overdue --------------------------------------------------------

    def _milestones_overdue(self, s: PersonState, open_since: datetime) -> Iterator[Candidate]:
        for milestone_id, milestone in s.milestones.items():
            candidate = self._milestone_overdue(milestone_id, milestone, open_since)
            if candidate is not None:
                yield candidate

    def _milestone_overdue(
        self, milestone_id: str, milestone: Milestone, open_since: datetime
    ) -> Candidate | None:
        day_after_due = milestone.due + _days(1)
        found = _earliest(
            self.book.spans(MilestoneOverdue),
            open_since,
            lambda rule, lo, hi: _first_at_or_after(
                _start_of(day_after_due + _days(rule.grace_days)), lo, hi
            ),
        )
        if found is None:
            return None
        rule, since = found
        return _candidate(
            rule,
            since,
            None,
            [milestone.set_by],
            subject=milestone_id,
            milestone_id=milestone_id,
            due=milestone.due.isoformat(),
        )

    # --- 7. a plan review overdue ------------------------------------------------------

    def _plan_review_overdue(self, s: PersonState, open_since: datetime) -> Iterator[Candidate]:
        anchor = s.plan_anchor
        if anchor is None:
            return
        next_review = anchor.next_review

        def due(rule: PlanReviewOverdue) -> datetime:
            if next_review is not None:
                return _start_of(next_review + _days(1 + rule.grace_days))
            return anchor.mark.at + _days(rule.interval_days)

        found = _earliest(
            self.book.spans(PlanReviewOverdue),
            open_since,
            lambda rule, lo, hi: _first_at_or_after(due(rule), lo, hi),
        )
        if found is not None:
            rule, since = found
            yield _candidate(
                rule,
                since,
                None,
                [anchor.mark],
                next_review=None if next_review is None else next_review.isoformat(),
                last_planned_at=iso_utc(anchor.mark.at),
            )

    # --- 8. let go too early -----------------------------------------------------------

    def _let_go_too_early(self, s: PersonState, closed: Mark) -> Iterator[Candidate]:
        rule = self.book.in_force(LetGoTooEarly, closed.at)
        started = [m for m in s.education_starts if m.key <= closed.key]
        if rule is None or not started:
            return
        education = started[-1]
        if closed.at - education.at < _days(rule.window_days):
            yield _candidate(
                rule,
                closed.at,
                closed.at + _days(rule.stays_open_days),
                [education, closed],
                days_in_education=(closed.at - education.at).days,
            )


def _quiet_periods(
    rule: QuietTransition, quiet_since: datetime, education: datetime | None
) -> list[tuple[datetime, datetime | None]]:
    """When, without a new reached contact, the quiet threshold is crossed: [start, end)
    periods in time order, following the threshold that applies at each moment."""
    general = quiet_since + _days(rule.threshold_days)
    if education is None:
        return [(general, None)]
    early_end = education + _days(rule.new_education_days)
    periods: list[tuple[datetime, datetime | None]] = [
        (general, education),
        (max(education, quiet_since + _days(rule.new_education_threshold_days)), early_end),
        (max(early_end, general), None),
    ]
    return [(start, end) for start, end in periods if end is None or start < end]


def _clamp(candidate: Candidate, open_since: datetime) -> Candidate | None:
    """The candidate as it applies to the open case: not before it was (re)opened."""
    if candidate.active_from >= open_since:
        return candidate
    if candidate.active_until is not None and candidate.active_until <= open_since:
        return None
    return replace(candidate, active_from=open_since)


@dataclass(frozen=True)
class Ended:
    """A flag that was open and has ended: a row of ``risk_flag_history``."""

    young_person_id: str
    flag: Candidate
    cleared_at: datetime
    cleared_by: Ref | None


def _ended(
    young_person_id: str,
    before: dict[tuple[str, str], Candidate],
    after: dict[tuple[str, str], Candidate],
    moment: datetime,
    ref: Ref,
) -> Iterator[Ended]:
    """The flags that a fact at ``moment`` (event ``ref``) ended, or found lapsed."""
    for key, old in before.items():
        new = after.get(key)
        if new == old:
            continue
        if old.active_until is not None and old.active_until <= moment:
            replaced = new is None or new.active_from != old.active_from
            if replaced and old.active_from < old.active_until:
                yield Ended(young_person_id, old, old.active_until, None)
        elif old.active_from <= moment and (new is None or not new.open_at(moment)):
            yield Ended(young_person_id, old, moment, ref)


# --- the projection --------------------------------------------------------------------------

_FLAG_COLUMNS = (
    "young_person_id, rule, subject, rule_version, severity, active_from, active_until, "
    "raised_by, details"
)
_HISTORY_COLUMNS = (
    "young_person_id, rule, subject, rule_version, severity, since, cleared_at, cleared_by, "
    "raised_by, details"
)


_FACTS = (
    Enrolled,
    ContactRecorded,
    WakeUpAgreed,
    WakeUpEnded,
    PlanDrafted,
    PlanReviewed,
    MilestoneSet,
    MilestoneRescheduled,
    MilestoneReached,
    MilestoneMissed,
    MilestoneDropped,
    TransitionStarted,
    EducationStarted,
    TransitionCompleted,
    TransitionAbandoned,
    AbsenceReported,
    ConcernReported,
    CaseClosed,
    CaseReopened,
    PersonalDataErased,
)
"""The events the rules read; every other event leaves the flags as they are."""


class RiskFlagsProjection(Projection):
    """Keeps ``risk_flags``, ``risk_flag_history`` and ``risk_flag_state`` up to date."""

    name = "risk_flags"
    base_tables = (FLAGS, HISTORY, STATE)

    def __init__(self, rules: Iterable[RuleVersion] = DEFAULT_RULES) -> None:
        super().__init__()
        self.rules = RiskRules(rules)

    def create_tables(self, cur: ViewCursor) -> None:
        flags, history, state = self.table(FLAGS), self.table(HISTORY), self.table(STATE)
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {flags} ("
            "young_person_id TEXT NOT NULL, rule TEXT NOT NULL, subject TEXT NOT NULL, "
            "rule_version INTEGER NOT NULL, severity TEXT NOT NULL, "
            "active_from TEXT NOT NULL, active_until TEXT, "
            "raised_by TEXT NOT NULL, details TEXT NOT NULL, "
            "PRIMARY KEY (young_person_id, rule, subject))"
        )
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {history} ("
            "young_person_id TEXT NOT NULL, rule TEXT NOT NULL, subject TEXT NOT NULL, "
            "rule_version INTEGER NOT NULL, severity TEXT NOT NULL, "
            "since TEXT NOT NULL, cleared_at TEXT NOT NULL, cleared_by TEXT, "
            "raised_by TEXT NOT NULL, details TEXT NOT NULL, "
            "PRIMARY KEY (young_person_id, rule, subject, since, cleared_at))"
        )
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {state} ("
            "young_person_id TEXT PRIMARY KEY, state TEXT NOT NULL)"
        )

    def process(self, cur: ViewCursor, events: Sequence[PositionedEvent]) -> None:
        relevant = [
            (position, event) for position, event in events if isinstance(event, YoungPersonEvent)
        ]
        if not relevant:
            return
        people = list(dict.fromkeys(event.originator_id.hex for _, event in relevant))
        states = self._load(cur, people)
        flags: dict[str, dict[tuple[str, str], Candidate]] = {}
        changed: dict[str, None] = {}
        ended: list[Ended] = []
        for position, event in relevant:
            person = event.originator_id.hex
            state = states[person]
            if state.erased or not isinstance(event, _FACTS):
                continue  # nothing follows an erasure; its state is gone for good
            if person not in flags:
                flags[person] = self.rules.evaluate(state)
            ref = (position, event.originator_version, type(event).__name__)
            if not self.apply(event, state, Mark(event.occurred_at, ref)):
                continue
            changed[person] = None
            before, after = flags[person], self.rules.evaluate(state)
            ended.extend(_ended(person, before, after, event.occurred_at, ref))
            flags[person] = after
        if changed:
            self._save(cur, list(changed), states, flags, ended)

    def _load(self, cur: ViewCursor, people: list[str]) -> dict[str, PersonState]:
        rows = cur.execute(
            f"SELECT young_person_id, state FROM {self.table(STATE)} "
            "WHERE young_person_id = ANY(%s)",
            [people],
        ).fetchall()
        stored = {row["young_person_id"]: PersonState.from_json(row["state"]) for row in rows}
        return {person: stored.get(person) or PersonState() for person in people}

    def _save(
        self,
        cur: ViewCursor,
        people: list[str],
        states: dict[str, PersonState],
        flags: dict[str, dict[tuple[str, str], Candidate]],
        ended: list[Ended],
    ) -> None:
        state_table, flag_table = self.table(STATE), self.table(FLAGS)
        cur.executemany(
            f"INSERT INTO {state_table} (young_person_id, state) VALUES (%s, %s) "
            "ON CONFLICT (young_person_id) DO UPDATE SET state = EXCLUDED.state",
            [(person, states[person].to_json()) for person in people],
        )
        cur.execute(f"DELETE FROM {flag_table} WHERE young_person_id = ANY(%s)", [people])
        rows = [
            (
                person,
                flag.rule,
                flag.subject,
                flag.version,
                flag.severity,
                iso_utc(flag.active_from),
                None if flag.active_until is None else iso_utc(flag.active_until),
                flag.raised_by_json(),
                flag.details_json(),
            )
            for person in people
            for flag in flags[person].values()
        ]
        if rows:
            cur.executemany(
                f"INSERT INTO {flag_table} ({_FLAG_COLUMNS}) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                rows,
            )
        if ended:
            # DO NOTHING: the same ending recorded again (a rebuild over a kept table) is
            # the same row.
            cur.executemany(
                f"INSERT INTO {self.table(HISTORY)} ({_HISTORY_COLUMNS}) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (young_person_id, rule, subject, since, cleared_at) DO NOTHING",
                [
                    (
                        e.young_person_id,
                        e.flag.rule,
                        e.flag.subject,
                        e.flag.version,
                        e.flag.severity,
                        iso_utc(e.flag.active_from),
                        iso_utc(e.cleared_at),
                        None if e.cleared_by is None else _dumps(_ref_json(e.cleared_by)),
                        e.flag.raised_by_json(),
                        e.flag.details_json(),
                    )
                    for e in ended
                ],
            )

    # --- folding one event into a young person's facts -----------------------------------
    # Each returns whether the event changed anything the rules read.

    @singledispatchmethod
    def apply(self, event: YoungPersonEvent, s: PersonState, mark: Mark) -> bool:
        return False

    @apply.register
    def _(self, event: Enrolled, s: PersonState, mark: Mark) -> bool:
        if s.enrolled is None:
            s.enrolled = mark
        return True

    @apply.register
    def _(self, event: ContactRecorded, s: PersonState, mark: Mark) -> bool:
        wake_up, meeting = event.purpose is Purpose.WAKE_UP, event.channel is Channel.MEETING
        if event.reached:
            s.last_reached = _latest(s.last_reached, mark)
            s.reports = [r for r in s.reports if _after(r, s.last_reached)]
            if wake_up:
                _reset_wake_ups(s, mark)
            if meeting:
                s.meeting_reset = _latest(s.meeting_reset, mark)
                s.missed_meetings = [m for m in s.missed_meetings if _after(m, s.meeting_reset)]
            return True
        # An attempt that did not reach the young person matters only as a missed wake-up
        # or a missed meeting (and only after the last reached one).
        missed = False
        if wake_up and _after(mark, s.wake_up_reset):
            _insert(s.missed_wake_ups, mark)
            missed = True
        if meeting and _after(mark, s.meeting_reset):
            _insert(s.missed_meetings, mark)
            missed = True
        return missed

    @apply.register
    def _(self, event: WakeUpAgreed, s: PersonState, mark: Mark) -> bool:
        _reset_wake_ups(s, mark)
        return True

    @apply.register
    def _(self, event: WakeUpEnded, s: PersonState, mark: Mark) -> bool:
        _reset_wake_ups(s, mark)
        return True

    @apply.register
    def _(self, event: PlanDrafted, s: PersonState, mark: Mark) -> bool:
        if s.first_plan is None or mark.key < s.first_plan.key:
            s.first_plan = mark
        if s.plan_anchor is None or mark.key > s.plan_anchor.mark.key:
            s.plan_anchor = PlanAnchor(mark, None)
        return True

    @apply.register
    def _(self, event: PlanReviewed, s: PersonState, mark: Mark) -> bool:
        if s.plan_anchor is None or mark.key > s.plan_anchor.mark.key:
            s.plan_anchor = PlanAnchor(mark, event.next_review)
        return True

    @apply.register
    def _(self, event: MilestoneSet, s: PersonState, mark: Mark) -> bool:
        s.milestones[event.milestone_id.hex] = Milestone(event.due, mark)
        return True

    @apply.register
    def _(self, event: MilestoneRescheduled, s: PersonState, mark: Mark) -> bool:
        s.milestones[event.milestone_id.hex] = Milestone(event.due, mark)
        return True

    @apply.register(MilestoneReached)
    @apply.register(MilestoneMissed)
    @apply.register(MilestoneDropped)
    def _(
        self, event: MilestoneReached | MilestoneMissed | MilestoneDropped, s: PersonState, _: Mark
    ) -> bool:
        # A missed milestone has been dealt with (recorded as missed): no longer overdue.
        return s.milestones.pop(event.milestone_id.hex, None) is not None

    @apply.register
    def _(self, event: TransitionStarted, s: PersonState, mark: Mark) -> bool:
        s.transitions[event.transition_id.hex] = Transition(mark)
        return True

    @apply.register
    def _(self, event: EducationStarted, s: PersonState, mark: Mark) -> bool:
        transition = s.transitions.get(event.transition_id.hex)
        if transition is not None:
            transition.education = mark
        _insert(s.education_starts, mark)
        return True

    @apply.register(TransitionCompleted)
    @apply.register(TransitionAbandoned)
    def _(self, event: TransitionCompleted | TransitionAbandoned, s: PersonState, _: Mark) -> bool:
        return s.transitions.pop(event.transition_id.hex, None) is not None

    @apply.register(AbsenceReported)
    @apply.register(ConcernReported)
    def _(self, event: AbsenceReported | ConcernReported, s: PersonState, mark: Mark) -> bool:
        if not _after(mark, s.last_reached):
            return False  # followed up already: a reached contact came after it
        _insert(s.reports, mark)
        return True

    @apply.register
    def _(self, event: CaseClosed, s: PersonState, mark: Mark) -> bool:
        s.closed = mark
        # Closing ends the wake-up arrangement (as in the domain): a run does not survive it.
        _reset_wake_ups(s, mark)
        return True

    @apply.register
    def _(self, event: CaseReopened, s: PersonState, mark: Mark) -> bool:
        s.closed = None
        s.reopened = mark
        return True

    @apply.register
    def _(self, event: PersonalDataErased, s: PersonState, mark: Mark) -> bool:
        # Keep only the fact of the erasure: no flags, now or later.
        for name, value in vars(PersonState(erased=True)).items():
            setattr(s, name, value)
        return True


def _reset_wake_ups(s: PersonState, mark: Mark) -> None:
    s.wake_up_reset = _latest(s.wake_up_reset, mark)
    s.missed_wake_ups = [m for m in s.missed_wake_ups if _after(m, s.wake_up_reset)]


# --- the view: reads for the API ------------------------------------------------------------

_SEVERITY_ORDER = "CASE severity WHEN 'high' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END"

_OPEN_AT = (
    # Candidates open at now, and flags that have ended since but were open then (so a
    # past "now" is answered as the facts known today tell it).
    "SELECT young_person_id, rule, subject, rule_version, severity, active_from AS since, "
    f"active_until AS open_until, raised_by, details FROM {FLAGS} "
    "WHERE young_person_id = ANY(%(ids)s) AND active_from <= %(now)s "
    "AND (active_until IS NULL OR active_until > %(now)s) "
    "UNION ALL "
    "SELECT young_person_id, rule, subject, rule_version, severity, since, "
    f"cleared_at AS open_until, raised_by, details FROM {HISTORY} h "
    "WHERE young_person_id = ANY(%(also_ids)s) AND since <= %(now)s AND cleared_at > %(now)s "
    # A flag that ended and was raised again (a milestone rescheduled into the past) is
    # counted once.
    f"AND NOT EXISTS (SELECT 1 FROM {FLAGS} f WHERE f.young_person_id = h.young_person_id "
    "AND f.rule = h.rule AND f.subject = h.subject AND f.active_from <= %(now)s "
    "AND (f.active_until IS NULL OR f.active_until > %(now)s))"
)


def _params(ids: list[str], now: datetime) -> dict[str, Any]:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must carry a time zone")
    # The ids twice under two names: SQLite's translation expands each ANY(...) once.
    return {"ids": ids, "also_ids": ids, "now": iso_utc(now)}


class RiskFlagsView:
    """Queries of the risk flags, each one statement however many young people.

    ``now`` is the caller's clock (the read side's "now"): whether a flag is open depends
    on it. Ids are young person ids as hex.
    """

    @staticmethod
    def open_flags(
        cur: ViewCursor, young_person_ids: Sequence[str], now: datetime
    ) -> dict[str, list[Row]]:
        """The flags open at ``now`` of each young person (``[]`` when none).

        Each row: ``young_person_id``, ``rule``, ``subject`` (a transition or milestone id
        hex, or ``""``), ``rule_version``, ``severity`` (high, medium, low), ``since`` (ISO
        UTC: when the condition became true), ``open_until`` (ISO UTC when the flag is known
        to end: by itself or, for a past ``now``, by a later fact; else None),
        ``raised_by`` (JSON list of ``{"position", "version", "event"}``) and ``details``
        (JSON: the rule version's thresholds and non-personal facts). Most severe first,
        then oldest first.
        """
        ids = list(dict.fromkeys(young_person_ids))
        grouped: dict[str, list[Row]] = {young_person_id: [] for young_person_id in ids}
        if not ids:
            return grouped
        rows = cur.execute(
            f"SELECT * FROM ({_OPEN_AT}) open_flags "
            f"ORDER BY young_person_id, {_SEVERITY_ORDER}, since, rule, subject",
            _params(ids, now),
        ).fetchall()
        for row in rows:
            grouped[row["young_person_id"]].append(row)
        return grouped

    @staticmethod
    def open_counts(
        cur: ViewCursor, young_person_ids: Sequence[str], now: datetime
    ) -> dict[str, int]:
        """How many flags each young person has open at ``now`` (0 when none)."""
        ids = list(dict.fromkeys(young_person_ids))
        counts = dict.fromkeys(ids, 0)
        if not ids:
            return counts
        rows = cur.execute(
            f"SELECT young_person_id, COUNT(*) AS open_flags FROM ({_OPEN_AT}) open_flags "
            "GROUP BY young_person_id",
            _params(ids, now),
        ).fetchall()
        for row in rows:
            counts[row["young_person_id"]] = int(row["open_flags"])
        return counts

    @staticmethod
    def ended_flags(
        cur: ViewCursor, young_person_ids: Sequence[str], now: datetime
    ) -> dict[str, list[Row]]:
        """The flags of each young person that were open and had ended by ``now``, in the
        order they ended: cleared by a fact (``cleared_by`` names it, JSON like a
        ``raised_by`` entry) or lapsed by time (``cleared_by`` None). Rows as in
        ``open_flags``, with ``cleared_at`` and ``cleared_by`` in place of ``open_until``.
        """
        ids = list(dict.fromkeys(young_person_ids))
        grouped: dict[str, list[Row]] = {young_person_id: [] for young_person_id in ids}
        if not ids:
            return grouped
        rows = cur.execute(
            "SELECT * FROM ("
            "SELECT young_person_id, rule, subject, rule_version, severity, since, "
            f"cleared_at, cleared_by, raised_by, details FROM {HISTORY} "
            "WHERE young_person_id = ANY(%(ids)s) AND cleared_at <= %(now)s "
            "UNION ALL "
            "SELECT young_person_id, rule, subject, rule_version, severity, "
            "active_from AS since, active_until AS cleared_at, NULL AS cleared_by, "
            f"raised_by, details FROM {FLAGS} "
            "WHERE young_person_id = ANY(%(also_ids)s) AND active_until <= %(now)s "
            "AND active_from < active_until) ended_flags "
            "ORDER BY young_person_id, cleared_at, since, rule, subject",
            _params(ids, now),
        ).fetchall()
        for row in rows:
            grouped[row["young_person_id"]].append(row)
        return grouped
