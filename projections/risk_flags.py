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
log order (bringing that person's candidates up to date after each event, so the history
does not depend on how the log is cut into batches), and writes back at the end the states
and candidates that changed.

**Speed.** Catch-up folds the whole log, so the work per event is kept small:

- each event says which rules' facts it changed, and only those rules are evaluated again
  (a rule's candidates depend on its own facts and on whether and since when the case is
  open, nothing else; a change to the latter evaluates every rule);
- the stored candidates are always those of the stored state, so only the candidates that
  differ from them are written, and states are written by hand from their marks' kept JSON;
- the states and candidates this projection last wrote are kept in memory (a bounded
  cache) with the exact text written; a loaded row with that very text is that state, so
  it is neither parsed nor evaluated again. Any other text (another process wrote the row,
  a transaction was rolled back, the tables were reset) is parsed as usual, so the cache
  never changes a result.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence, Set
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from operator import attrgetter
from typing import Any, NamedTuple, Self, TypeAlias, TypeVar

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
    RULE_KINDS,
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
from projections.store import Row, ViewCursor, rows_by

FLAGS = "risk_flags"
HISTORY = "risk_flag_history"
STATE = "risk_flag_state"

CACHED_PEOPLE = 10_000
"""How many young people's states the projection keeps in memory between batches, by
default: more than the open cases of a large municipality, at about 7 KB each."""

Ref: TypeAlias = tuple[int, int, str]
"""An event: its log position, its version in the young person's stream, its type."""

R = TypeVar("R", bound=RuleVersion)


_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"))


def _dumps(value: Any) -> str:
    # One encoder for every call: json.dumps with options builds a new one each time.
    return _ENCODER.encode(value)


def _ref_json(ref: Ref) -> str:
    """``{"event": ..., "position": ..., "version": ...}`` as ``_dumps`` writes it."""
    # Written by hand (a flag's refs are written on every change): event type names need
    # no escaping.
    return f'{{"event":"{ref[2]}","position":{ref[0]},"version":{ref[1]}}}'


def _days(n: int) -> timedelta:
    return timedelta(days=n)


def _date_json(day: date | None) -> str:
    return "null" if day is None else f'"{day.isoformat()}"'


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


class Mark:
    """A fact the rules look at: when it happened, and which event recorded it."""

    __slots__ = ("_json", "_text", "at", "key", "ref")

    at: datetime
    key: tuple[datetime, int]
    """World order: by ``occurred_at``, then by log position."""
    ref: Ref

    def __init__(self, at: datetime, ref: Ref, text: str | None = None) -> None:
        self.at = at
        self.ref = ref
        self.key = (at, ref[0])
        self._text = text
        self._json: str | None = None

    @property
    def text(self) -> str:
        """``at`` as stored."""
        if self._text is None:
            self._text = iso_utc(self.at)
        return self._text

    @property
    def json(self) -> str:
        """The mark as stored in a state: ``["<at>",<position>,<version>,"<event type>"]``.

        Kept, since a state is written back far more often than its marks change. ISO
        times and event type names need no escaping.
        """
        if self._json is None:
            self._json = f'["{self.text}",{self.ref[0]},{self.ref[1]},"{self.ref[2]}"]'
        return self._json

    @classmethod
    def from_json(cls, data: list[Any]) -> Mark:
        # The text was written by iso_utc, so it is kept as it is.
        return cls(parse_utc(data[0]), (int(data[1]), int(data[2]), str(data[3])), data[0])


_by_key = attrgetter("key")


def _after(mark: Mark, reset: Mark | None) -> bool:
    return reset is None or mark.key > reset.key


def _latest(current: Mark | None, candidate: Mark) -> Mark:
    return candidate if current is None or candidate.key > current.key else current


def _insert(marks: list[Mark], mark: Mark) -> None:
    marks.append(mark)
    marks.sort(key=_by_key)


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
        """The state as JSON, keys sorted and without spaces (as ``_dumps`` writes it).

        Written by hand from each mark's kept JSON: the state of every young person a
        batch changes is written back. Ids are hex, dates ISO: nothing needs escaping.
        """

        def one(m: Mark | None) -> str:
            return "null" if m is None else m.json

        def many(marks: list[Mark]) -> str:
            return "[" + ",".join(m.json for m in marks) + "]"

        anchor = self.plan_anchor
        plan_anchor = (
            "null" if anchor is None else f"[{anchor.mark.json},{_date_json(anchor.next_review)}]"
        )
        transitions = ",".join(
            f'"{tid}":[{t.started.json},{one(t.education)}]'
            for tid, t in sorted(self.transitions.items())
        )
        milestones = ",".join(
            f'"{mid}":["{m.due.isoformat()}",{m.set_by.json}]'
            for mid, m in sorted(self.milestones.items())
        )
        return (
            f'{{"closed":{one(self.closed)},"education_starts":{many(self.education_starts)},'
            f'"enrolled":{one(self.enrolled)},"erased":{"true" if self.erased else "false"},'
            f'"first_plan":{one(self.first_plan)},"last_reached":{one(self.last_reached)},'
            f'"meeting_reset":{one(self.meeting_reset)},"milestones":{{{milestones}}},'
            f'"missed_meetings":{many(self.missed_meetings)},'
            f'"missed_wake_ups":{many(self.missed_wake_ups)},"plan_anchor":{plan_anchor},'
            f'"reopened":{one(self.reopened)},"reports":{many(self.reports)},'
            f'"transitions":{{{transitions}}},"wake_up_reset":{one(self.wake_up_reset)}}}'
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


class Candidate(NamedTuple):
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
        return "[" + ",".join(_ref_json(ref) for ref in sorted(self.raised_by)) + "]"

    def details_json(self) -> str:
        return _dumps(dict(self.details))


CandidateKey: TypeAlias = tuple[str, str]

Case: TypeAlias = tuple[Any, ...]
"""What every rule's result hinges on: ``()`` (no flags: not enrolled, or erased),
``("closed", key of the closing)`` or ``("open", since when)``."""


def _case(s: PersonState) -> Case:
    if s.erased or s.enrolled is None:
        return ()
    if s.closed is not None:
        return ("closed", s.closed.key)
    return ("open", (s.reopened or s.enrolled).at)


@dataclass(frozen=True)
class Flags:
    """A young person's candidate flags rule by rule, in the order the rules are evaluated,
    and the case they were evaluated for. A rule whose candidates did not change keeps the
    very same dict, so comparing two evaluations skips it by identity."""

    case: Case
    by_rule: dict[str, dict[CandidateKey, Candidate]]


_NO_CANDIDATES: dict[CandidateKey, Candidate] = {}

EVERY_RULE: frozenset[str] = frozenset(kind.name for kind in RULE_KINDS)

Dirty: TypeAlias = Set[str] | None
"""What folding an event changed: None, nothing; else the names of the rules whose facts
changed (possibly none, when only bookkeeping the rules do not read changed)."""


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


OpenCaseRule: TypeAlias = Callable[["PersonState", datetime], Iterator[Candidate]]


class RiskRules:
    """Evaluates a rule book against a young person's facts."""

    def __init__(self, rules: Iterable[RuleVersion]) -> None:
        self.book = RuleBook(rules)
        # Asked for on every evaluation; the book never changes, so asked once.
        self._spans_by_kind: dict[type[RuleVersion], list[Any]] = {
            kind: self.book.spans(kind) for kind in RULE_KINDS
        }
        # By identity: the book keeps its versions, and hashing one hashes every field.
        self._parameters = {
            id(rule): tuple(rule.parameters().items())
            for kind in RULE_KINDS
            for rule in self.book.versions(kind)
        }
        # In evaluation order: the order of a person's candidates, and of history rows.
        self._open_case_rules: dict[str, OpenCaseRule] = {
            QuietTransition.name: self._quiet_transitions,
            MissedWakeUps.name: self._missed_wake_ups,
            InstitutionSignal.name: self._institution_signal,
            MissedMeetings.name: self._missed_meetings,
            NoPlan.name: self._no_plan,
            MilestoneOverdue.name: self._milestones_overdue,
            PlanReviewOverdue.name: self._plan_review_overdue,
        }

    def _spans(self, kind: type[R]) -> list[tuple[R, datetime, datetime | None]]:
        return self._spans_by_kind[kind]

    def _in_force(self, kind: type[R], at: datetime) -> R | None:
        for rule, start, end in self._spans(kind):
            if start <= at and (end is None or at < end):
                return rule
        return None

    def _candidate(
        self,
        rule: RuleVersion,
        since: datetime,
        until: datetime | None,
        raised_by: Iterable[Mark],
        subject: str = "",
        **facts: Any,
    ) -> Candidate:
        return Candidate(
            rule.name,
            subject,
            rule.version,
            rule.severity.value,
            since,
            until,
            tuple(sorted({mark.ref for mark in raised_by})),
            (*self._parameters[id(rule)], *sorted(facts.items())),
        )

    def evaluate(
        self, s: PersonState, previous: Flags | None = None, dirty: Set[str] = EVERY_RULE
    ) -> Flags:
        """The candidate flags of ``s``.

        Given the ``previous`` evaluation (of the same young person before the facts of
        the ``dirty`` rules changed), only those rules are evaluated again; the result is
        the same as evaluating every rule.
        """
        case = _case(s)
        if previous is not None and previous.case == case:
            stale = [name for name in previous.by_rule if name in dirty]
            if not stale:
                return previous
            by_rule = dict(previous.by_rule)  # the stale rules keep their place in it
        else:
            if not case:
                return Flags(case, {})
            stale = [LetGoTooEarly.name] if s.closed is not None else list(self._open_case_rules)
            by_rule = {}
        if s.closed is not None:
            by_rule[LetGoTooEarly.name] = {
                candidate.key: candidate for candidate in self._let_go_too_early(s, s.closed)
            }
            return Flags(case, by_rule)
        open_since: datetime = case[1]
        for name in stale:
            by_rule[name] = {
                clamped.key: clamped
                for candidate in self._open_case_rules[name](s, open_since)
                if (clamped := _clamp(candidate, open_since)) is not None
            }
        return Flags(case, by_rule)

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
        # As _earliest, written out without closures: evaluated after most events of a
        # young person in transition.
        for rule, start, end in self._spans(QuietTransition):
            lo = max(open_since, start)
            if end is not None and lo >= end:
                continue
            window_end = None if education is None else education + _days(rule.window_days)
            since = _first_quiet(rule, quiet_since, education, lo, _min(end, window_end))
            if since is not None:
                break
        else:
            return
        early = education is not None and (
            education <= since < education + _days(rule.new_education_days)
        )
        raised_by = [transition.started, baseline]
        if transition.education is not None:
            raised_by.append(transition.education)
        yield self._candidate(
            rule,
            since,
            window_end,
            raised_by,
            subject=transition_id,
            transition_id=transition_id,
            quiet_since=baseline.text,
            threshold_days_applied=rule.new_education_threshold_days
            if early
            else rule.threshold_days,
        )

    # --- 2. missed wake-ups in a row ---------------------------------------------------

    def _missed_wake_ups(self, s: PersonState, open_since: datetime) -> Iterator[Candidate]:
        run = s.missed_wake_ups
        for count, miss in enumerate(run, start=1):
            rule = self._in_force(MissedWakeUps, miss.at)
            if rule is not None and count >= rule.in_a_row:
                yield self._candidate(rule, miss.at, None, run, missed_in_a_row=len(run))
                return

    # --- 3. absence or concern reported ------------------------------------------------

    def _institution_signal(self, s: PersonState, open_since: datetime) -> Iterator[Candidate]:
        episode: list[Mark] = []
        episode_rule: InstitutionSignal | None = None
        for report in s.reports:  # only reports after the last reached contact are kept
            if episode_rule is not None and report.at < episode[-1].at + _days(
                episode_rule.clears_after_days
            ):
                episode.append(report)
                continue
            episode_rule = self._in_force(InstitutionSignal, report.at)
            episode = [report] if episode_rule is not None else []
        if episode_rule is None or not episode:
            return
        kinds = [report.ref[2] for report in episode]
        yield self._candidate(
            episode_rule,
            episode[0].at,
            episode[-1].at + _days(episode_rule.clears_after_days),
            episode,
            absences_reported=kinds.count(AbsenceReported.__name__),
            concerns_reported=kinds.count(ConcernReported.__name__),
        )

    # --- 4. missed meetings within a window --------------------------------------------

    def _missed_meetings(self, s: PersonState, open_since: datetime) -> Iterator[Candidate]:
        misses = s.missed_meetings  # only misses after the last attended meeting are kept
        current: tuple[MissedMeetings, datetime, datetime, list[Mark]] | None = None
        for last, miss in enumerate(misses):
            rule = self._in_force(MissedMeetings, miss.at)
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
        yield self._candidate(
            rule, since, until, raised_by, missed_meetings=len({m.ref for m in raised_by})
        )

    # --- 5. no plan after enrolment ----------------------------------------------------

    def _no_plan(self, s: PersonState, open_since: datetime) -> Iterator[Candidate]:
        enrolled = s.enrolled
        if enrolled is None or s.first_plan is not None:
            return
        found = _earliest(
            self._spans(NoPlan),
            open_since,
            lambda rule, lo, hi: _first_at_or_after(
                enrolled.at + _days(rule.days_after_enrolment), lo, hi
            ),
        )
        if found is not None:
            rule, since = found
            yield self._candidate(rule, since, None, [enrolled])

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
            self._spans(MilestoneOverdue),
            open_since,
            lambda rule, lo, hi: _first_at_or_after(
                _start_of(day_after_due + _days(rule.grace_days)), lo, hi
            ),
        )
        if found is None:
            return None
        rule, since = found
        return self._candidate(
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
            self._spans(PlanReviewOverdue),
            open_since,
            lambda rule, lo, hi: _first_at_or_after(due(rule), lo, hi),
        )
        if found is not None:
            rule, since = found
            yield self._candidate(
                rule,
                since,
                None,
                [anchor.mark],
                next_review=None if next_review is None else next_review.isoformat(),
                last_planned_at=anchor.mark.text,
            )

    # --- 8. let go too early -----------------------------------------------------------

    def _let_go_too_early(self, s: PersonState, closed: Mark) -> Iterator[Candidate]:
        rule = self._in_force(LetGoTooEarly, closed.at)
        started = [m for m in s.education_starts if m.key <= closed.key]
        if rule is None or not started:
            return
        education = started[-1]
        if closed.at - education.at < _days(rule.window_days):
            yield self._candidate(
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


def _first_quiet(
    rule: QuietTransition,
    quiet_since: datetime,
    education: datetime | None,
    lo: datetime,
    hi: datetime | None,
) -> datetime | None:
    """The first moment in [lo, hi) at which ``rule``'s quiet threshold is crossed."""
    for start, end in _quiet_periods(rule, quiet_since, education):
        first, end = max(start, lo), _min(end, hi)
        if end is None or first < end:
            return first
    return None


def _clamp(candidate: Candidate, open_since: datetime) -> Candidate | None:
    """The candidate as it applies to the open case: not before it was (re)opened."""
    if candidate.active_from >= open_since:
        return candidate
    if candidate.active_until is not None and candidate.active_until <= open_since:
        return None
    return candidate._replace(active_from=open_since)


@dataclass(frozen=True)
class Ended:
    """A flag that was open and has ended: a row of ``risk_flag_history``."""

    young_person_id: str
    flag: Candidate
    cleared_at: datetime
    cleared_by: Ref | None


def _changed_rules(
    before: Flags, after: Flags
) -> list[tuple[dict[CandidateKey, Candidate], dict[CandidateKey, Candidate]]]:
    """The candidates before and after of each rule whose candidates may differ."""
    changed = [
        (olds, news)
        for rule, olds in before.by_rule.items()
        if (news := after.by_rule.get(rule, _NO_CANDIDATES)) is not olds
    ]
    changed.extend(
        (_NO_CANDIDATES, news) for rule, news in after.by_rule.items() if rule not in before.by_rule
    )
    return changed


def _ended(
    young_person_id: str, before: Flags, after: Flags, moment: datetime, ref: Ref
) -> list[Ended]:
    """The flags that a fact at ``moment`` (event ``ref``) ended, or found lapsed."""
    ended: list[Ended] = []
    for rule, olds in before.by_rule.items():
        news = after.by_rule.get(rule, _NO_CANDIDATES)
        if news is olds:
            continue
        for key, old in olds.items():
            new = news.get(key)
            if new == old:
                continue
            if old.active_until is not None and old.active_until <= moment:
                replaced = new is None or new.active_from != old.active_from
                if replaced and old.active_from < old.active_until:
                    ended.append(Ended(young_person_id, old, old.active_until, None))
            elif old.active_from <= moment and (new is None or not new.open_at(moment)):
                ended.append(Ended(young_person_id, old, moment, ref))
    return ended


# --- folding one event into a young person's facts -------------------------------------------
# Each returns what the event changed (see ``Dirty``).

_QUIET = frozenset({QuietTransition.name})
_WAKE_UPS = frozenset({MissedWakeUps.name})
_SIGNAL = frozenset({InstitutionSignal.name})
_MEETINGS = frozenset({MissedMeetings.name})
_MILESTONES = frozenset({MilestoneOverdue.name})
_REVIEW = frozenset({PlanReviewOverdue.name})
_BOOKKEEPING: frozenset[str] = frozenset()


def _reset_wake_ups(s: PersonState, mark: Mark) -> Dirty:
    reset = _latest(s.wake_up_reset, mark)
    run = [m for m in s.missed_wake_ups if _after(m, reset)]
    moved, shortened = reset is not s.wake_up_reset, len(run) != len(s.missed_wake_ups)
    s.wake_up_reset, s.missed_wake_ups = reset, run
    if shortened:
        return _WAKE_UPS
    return _BOOKKEEPING if moved else None


def _reset_meetings(s: PersonState, mark: Mark) -> Dirty:
    reset = _latest(s.meeting_reset, mark)
    misses = [m for m in s.missed_meetings if _after(m, reset)]
    moved, shortened = reset is not s.meeting_reset, len(misses) != len(s.missed_meetings)
    s.meeting_reset, s.missed_meetings = reset, misses
    if shortened:
        return _MEETINGS
    return _BOOKKEEPING if moved else None


def _union(*changes: Dirty) -> Dirty:
    done = [change for change in changes if change is not None]
    if not done:
        return None
    return frozenset().union(*done)


def _enrolled(event: Enrolled, s: PersonState, mark: Mark) -> Dirty:
    if s.enrolled is not None:
        return None
    s.enrolled = mark
    return EVERY_RULE


def _contact(event: ContactRecorded, s: PersonState, mark: Mark) -> Dirty:
    wake_up, meeting = event.purpose is Purpose.WAKE_UP, event.channel is Channel.MEETING
    if event.reached:
        last_reached = _latest(s.last_reached, mark)
        # Reports followed up by a reached contact no longer count.
        reports = [r for r in s.reports if _after(r, last_reached)]
        reached = _QUIET if last_reached is not s.last_reached else None
        followed_up = _SIGNAL if len(reports) != len(s.reports) else None
        s.last_reached, s.reports = last_reached, reports
        return _union(
            reached,
            followed_up,
            _reset_wake_ups(s, mark) if wake_up else None,
            _reset_meetings(s, mark) if meeting else None,
        )
    # An attempt that did not reach the young person matters only as a missed wake-up
    # or a missed meeting (and only after the last reached one).
    missed: Dirty = None
    if wake_up and _after(mark, s.wake_up_reset):
        _insert(s.missed_wake_ups, mark)
        missed = _WAKE_UPS
    if meeting and _after(mark, s.meeting_reset):
        _insert(s.missed_meetings, mark)
        missed = _union(missed, _MEETINGS)
    return missed


def _wake_up_arrangement(event: WakeUpAgreed | WakeUpEnded, s: PersonState, mark: Mark) -> Dirty:
    return _reset_wake_ups(s, mark)


def _plan_drafted(event: PlanDrafted, s: PersonState, mark: Mark) -> Dirty:
    changed: set[str] = set()
    if s.first_plan is None or mark.key < s.first_plan.key:
        s.first_plan = mark
        changed.add(NoPlan.name)
    if s.plan_anchor is None or mark.key > s.plan_anchor.mark.key:
        s.plan_anchor = PlanAnchor(mark, None)
        changed.add(PlanReviewOverdue.name)
    return changed or None


def _plan_reviewed(event: PlanReviewed, s: PersonState, mark: Mark) -> Dirty:
    if s.plan_anchor is None or mark.key > s.plan_anchor.mark.key:
        s.plan_anchor = PlanAnchor(mark, event.next_review)
        return _REVIEW
    return None


def _milestone_due(event: MilestoneSet | MilestoneRescheduled, s: PersonState, mark: Mark) -> Dirty:
    s.milestones[event.milestone_id.hex] = Milestone(event.due, mark)
    return _MILESTONES


def _milestone_settled(
    event: MilestoneReached | MilestoneMissed | MilestoneDropped, s: PersonState, _: Mark
) -> Dirty:
    # A missed milestone has been dealt with (recorded as missed): no longer overdue.
    return _MILESTONES if s.milestones.pop(event.milestone_id.hex, None) is not None else None


def _transition_started(event: TransitionStarted, s: PersonState, mark: Mark) -> Dirty:
    s.transitions[event.transition_id.hex] = Transition(mark)
    return _QUIET


def _education_started(event: EducationStarted, s: PersonState, mark: Mark) -> Dirty:
    transition = s.transitions.get(event.transition_id.hex)
    if transition is not None:
        transition.education = mark
    _insert(s.education_starts, mark)
    return frozenset({QuietTransition.name, LetGoTooEarly.name})


def _transition_ended(
    event: TransitionCompleted | TransitionAbandoned, s: PersonState, _: Mark
) -> Dirty:
    return _QUIET if s.transitions.pop(event.transition_id.hex, None) is not None else None


def _reported(event: AbsenceReported | ConcernReported, s: PersonState, mark: Mark) -> Dirty:
    if not _after(mark, s.last_reached):
        return None  # followed up already: a reached contact came after it
    _insert(s.reports, mark)
    return _SIGNAL


def _closed(event: CaseClosed, s: PersonState, mark: Mark) -> Dirty:
    s.closed = mark
    # Closing ends the wake-up arrangement (as in the domain): a run does not survive it.
    _reset_wake_ups(s, mark)
    return EVERY_RULE


def _reopened(event: CaseReopened, s: PersonState, mark: Mark) -> Dirty:
    s.closed = None
    s.reopened = mark
    return EVERY_RULE


def _erased(event: PersonalDataErased, s: PersonState, mark: Mark) -> Dirty:
    # Keep only the fact of the erasure: no flags, now or later.
    for name, value in vars(PersonState(erased=True)).items():
        setattr(s, name, value)
    return EVERY_RULE


Fold: TypeAlias = Callable[[Any, PersonState, Mark], Dirty]

_FOLDS: dict[type[YoungPersonEvent], Fold] = {
    Enrolled: _enrolled,
    ContactRecorded: _contact,
    WakeUpAgreed: _wake_up_arrangement,
    WakeUpEnded: _wake_up_arrangement,
    PlanDrafted: _plan_drafted,
    PlanReviewed: _plan_reviewed,
    MilestoneSet: _milestone_due,
    MilestoneRescheduled: _milestone_due,
    MilestoneReached: _milestone_settled,
    MilestoneMissed: _milestone_settled,
    MilestoneDropped: _milestone_settled,
    TransitionStarted: _transition_started,
    EducationStarted: _education_started,
    TransitionCompleted: _transition_ended,
    TransitionAbandoned: _transition_ended,
    AbsenceReported: _reported,
    ConcernReported: _reported,
    CaseClosed: _closed,
    CaseReopened: _reopened,
    PersonalDataErased: _erased,
}
"""The events the rules read; every other event leaves the flags as they are."""

_fold_by_type: dict[type, Fold | None] = {}


def _fold_for(kind: type) -> Fold | None:
    """How to fold an event of type ``kind`` (a subclass folds as its base), or None."""
    try:
        return _fold_by_type[kind]
    except KeyError:
        fold = next((_FOLDS[base] for base in kind.__mro__ if base in _FOLDS), None)
        _fold_by_type[kind] = fold
        return fold


# --- the projection --------------------------------------------------------------------------

_STATE_COLUMNS = ("young_person_id", "state")
_FLAG_KEY = ("young_person_id", "rule", "subject")
_FLAG_COLUMNS = (
    *_FLAG_KEY,
    "rule_version",
    "severity",
    "active_from",
    "active_until",
    "raised_by",
    "details",
)
_HISTORY_KEY = ("young_person_id", "rule", "subject", "since", "cleared_at")
_HISTORY_COLUMNS = (
    *_FLAG_KEY,
    "rule_version",
    "severity",
    "since",
    "cleared_at",
    "cleared_by",
    "raised_by",
    "details",
)


@dataclass
class _Person:
    """One young person in a batch: as stored, and as the batch leaves them."""

    state: PersonState
    stored_text: str | None  # None: no row yet
    stored_flags: Flags
    flags: Flags
    changed: bool = False


class _StateCache:
    """The states (and their candidates) this projection last wrote, with their text.

    A state is taken out while a batch folds events into it, and put back with the text
    it was written with, so an entry always matches its text: a batch that fails leaves
    no entry whose state ran ahead of the stored row. The least recently used go first.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: dict[str, tuple[str, PersonState, Flags]] = {}
        self._lock = threading.Lock()

    def take(self, stored: dict[str, str | None]) -> dict[str, tuple[PersonState, Flags]]:
        """The cached state and candidates of each person whose stored text they match."""
        found: dict[str, tuple[PersonState, Flags]] = {}
        with self._lock:
            for person, text in stored.items():
                entry = self._entries.pop(person, None)
                if entry is not None and text is not None and entry[0] == text:
                    found[person] = (entry[1], entry[2])
        return found

    def put(self, entries: Iterable[tuple[str, str, PersonState, Flags]]) -> None:
        if self.size <= 0:
            return
        with self._lock:
            for person, text, state, flags in entries:
                self._entries[person] = (text, state, flags)
            while len(self._entries) > self.size:
                del self._entries[next(iter(self._entries))]


class RiskFlagsProjection(Projection):
    """Keeps ``risk_flags``, ``risk_flag_history`` and ``risk_flag_state`` up to date."""

    name = "risk_flags"
    base_tables = (FLAGS, HISTORY, STATE)

    def __init__(
        self, rules: Iterable[RuleVersion] = DEFAULT_RULES, *, cached_people: int = CACHED_PEOPLE
    ) -> None:
        super().__init__()
        self.rules = RiskRules(rules)
        self._cache = _StateCache(cached_people)

    def building(self) -> Self:
        clone = super().building()
        clone._cache = _StateCache(self._cache.size)  # its own tables, its own rows
        return clone

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
        facts: list[tuple[int, YoungPersonEvent, str, Fold]] = []
        for position, event in events:
            fold = _fold_for(type(event))
            if fold is not None:
                assert isinstance(event, YoungPersonEvent)
                facts.append((position, event, event.originator_id.hex, fold))
        if not facts:
            return
        people = self._load(cur, list(dict.fromkeys(fact[2] for fact in facts)))
        ended: list[Ended] = []
        for position, event, person_id, fold in facts:
            person = people[person_id]
            if person.state.erased:
                continue  # nothing follows an erasure; its state is gone for good
            ref = (position, event.originator_version, type(event).__name__)
            dirty = fold(event, person.state, Mark(event.occurred_at, ref))
            if dirty is None:
                continue
            person.changed = True
            before = person.flags
            after = self.rules.evaluate(person.state, before, dirty)
            if after is not before:
                ended.extend(_ended(person_id, before, after, event.occurred_at, ref))
                person.flags = after
        self._save(cur, people, ended)

    def _load(self, cur: ViewCursor, people: list[str]) -> dict[str, _Person]:
        rows = cur.execute(
            f"SELECT young_person_id, state FROM {self.table(STATE)} "
            "WHERE young_person_id = ANY(%s)",
            [people],
        ).fetchall()
        stored: dict[str, str | None] = dict.fromkeys(people)
        stored.update((row["young_person_id"], row["state"]) for row in rows)
        cached = self._cache.take(stored)
        loaded: dict[str, _Person] = {}
        for person, text in stored.items():
            if person in cached:
                state, flags = cached[person]
            else:
                state = PersonState() if text is None else PersonState.from_json(text)
                flags = self.rules.evaluate(state)
            loaded[person] = _Person(state, text, flags, flags)
        return loaded

    def _save(self, cur: ViewCursor, people: dict[str, _Person], ended: list[Ended]) -> None:
        states: list[tuple[str, str]] = []
        removed: list[tuple[str, str, str]] = []
        upserted: list[tuple[str, Candidate]] = []
        cache: list[tuple[str, str, PersonState, Flags]] = []
        for person_id, person in people.items():
            text = person.stored_text
            if person.changed:
                text = person.state.to_json()
                if text != person.stored_text:
                    states.append((person_id, text))
                # Only the candidates that differ from the stored ones (which are the
                # stored state's) are written.
                for olds, news in _changed_rules(person.stored_flags, person.flags):
                    removed.extend((person_id, *key) for key in olds.keys() - news.keys())
                    upserted.extend(
                        (person_id, new) for key, new in news.items() if olds.get(key) != new
                    )
            if text is not None:
                cache.append((person_id, text, person.state, person.flags))
        # In bulk: on PostgreSQL one statement for each, whatever the number of rows.
        cur.upsert_rows(self.table(STATE), _STATE_COLUMNS, states, key=_STATE_COLUMNS[:1])
        cur.delete_rows(self.table(FLAGS), _FLAG_KEY, removed)
        cur.upsert_rows(
            self.table(FLAGS),
            _FLAG_COLUMNS,
            [
                (
                    person_id,
                    flag.rule,
                    flag.subject,
                    flag.version,
                    flag.severity,
                    iso_utc(flag.active_from),
                    None if flag.active_until is None else iso_utc(flag.active_until),
                    flag.raised_by_json(),
                    flag.details_json(),
                )
                for person_id, flag in upserted
            ],
            key=_FLAG_KEY,
        )
        # Not replaced: the same ending recorded again (a rebuild over a kept table) is the
        # same row.
        cur.upsert_rows(
            self.table(HISTORY),
            _HISTORY_COLUMNS,
            [
                (
                    e.young_person_id,
                    e.flag.rule,
                    e.flag.subject,
                    e.flag.version,
                    e.flag.severity,
                    iso_utc(e.flag.active_from),
                    iso_utc(e.cleared_at),
                    None if e.cleared_by is None else _ref_json(e.cleared_by),
                    e.flag.raised_by_json(),
                    e.flag.details_json(),
                )
                for e in ended
            ],
            key=_HISTORY_KEY,
            replace=False,
        )
        self._cache.put(cache)


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
        return rows_by(
            young_person_ids,
            "young_person_id",
            lambda ids: cur.execute(
                f"SELECT * FROM ({_OPEN_AT}) open_flags "
                f"ORDER BY young_person_id, {_SEVERITY_ORDER}, since, rule, subject",
                _params(ids, now),
            ).fetchall(),
        )

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
        return rows_by(
            young_person_ids,
            "young_person_id",
            lambda ids: cur.execute(
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
            ).fetchall(),
        )
