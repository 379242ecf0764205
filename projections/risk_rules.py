"""The dropout-risk rules as data: one frozen dataclass per rule, one instance per version.

A rule's thresholds never change in place. A new threshold is a new version with a later
``effective_from``; a flag records the version that was in force when its condition arose,
so flags raised under an earlier version keep that version (and its thresholds) for good.
A version is in force from midnight UTC of its ``effective_from`` until the next version's.

The risk-flags projection evaluates these rules while it folds the event log, so changing
the rule book (adding a version) takes a rebuild of ``risk_flags``; because versions are
dated, the rebuild leaves every flag that arose before the new version as it was.

What each rule watches, and when its flag ends, is described on its class; the mechanics
(what counts as "reached", how late-recorded facts are ordered) are in
``projections.risk_flags``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, replace
from datetime import UTC, date, datetime, time
from enum import Enum
from itertools import pairwise
from typing import ClassVar, TypeVar


class Severity(Enum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


@dataclass(frozen=True, kw_only=True)
class RuleVersion:
    """One version of one rule: its severity and thresholds, and when it takes effect."""

    name: ClassVar[str]
    """Stable rule name, stored on every flag (``risk_flags.rule``)."""

    version: int
    severity: Severity
    effective_from: date

    @property
    def in_force_from(self) -> datetime:
        return datetime.combine(self.effective_from, time(0), tzinfo=UTC)

    def parameters(self) -> dict[str, int]:
        """The thresholds of this version (every field but version, severity and date)."""
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name not in {"version", "severity", "effective_from"}
        }


@dataclass(frozen=True, kw_only=True)
class QuietTransition(RuleVersion):
    """An open transition with no reached contact for more than its threshold.

    Watched from the transition's start until ``window_days`` after its education started
    (before the education starts the whole preparation is watched), or until the
    transition is completed or abandoned. The threshold is ``new_education_threshold_days``
    in the first ``new_education_days`` of the new education, ``threshold_days`` otherwise.
    Days without contact count from the last reached contact, but never from before the
    transition's start. Once raised, the flag stays until a reached contact (or the end of
    the window); it does not drop when the threshold goes back up after the first weeks.
    """

    name: ClassVar[str] = "quiet_transition"

    threshold_days: int
    new_education_threshold_days: int
    new_education_days: int
    window_days: int


@dataclass(frozen=True, kw_only=True)
class MissedWakeUps(RuleVersion):
    """``in_a_row`` or more wake-up contacts in a row that did not reach the young person.

    A reached wake-up contact ends the run, and so does agreeing or ending a wake-up
    arrangement (a fresh arrangement starts a fresh count; an ended one has no wake-ups
    left to miss).
    """

    name: ClassVar[str] = "missed_wake_ups"

    in_a_row: int


@dataclass(frozen=True, kw_only=True)
class InstitutionSignal(RuleVersion):
    """An institution reported absence or concern.

    Raised at the report; ends at the next reached contact with the young person (any
    channel: the counsellor followed it up), or ``clears_after_days`` after the last
    report with no new one, whichever comes first. Reports less than ``clears_after_days``
    apart make one flag.
    """

    name: ClassVar[str] = "institution_signal"

    clears_after_days: int


@dataclass(frozen=True, kw_only=True)
class MissedMeetings(RuleVersion):
    """``missed`` or more meetings not attended (channel meeting, not reached) within
    ``within_days``.

    Raised at the miss that makes the count; ends when the window slides past the earlier
    misses or at a meeting that took place (only misses after the last attended meeting
    count).
    """

    name: ClassVar[str] = "missed_meetings"

    missed: int
    within_days: int


@dataclass(frozen=True, kw_only=True)
class NoPlan(RuleVersion):
    """No plan ``days_after_enrolment`` days after enrolment; ends when a plan is drafted."""

    name: ClassVar[str] = "no_plan"

    days_after_enrolment: int


@dataclass(frozen=True, kw_only=True)
class MilestoneOverdue(RuleVersion):
    """A milestone still open ``grace_days`` days after its due date (from the start of
    the next day, UTC); ends when it is reached, missed, dropped or rescheduled."""

    name: ClassVar[str] = "milestone_overdue"

    grace_days: int


@dataclass(frozen=True, kw_only=True)
class PlanReviewOverdue(RuleVersion):
    """The plan's review is overdue: past the ``next_review`` date the last review set
    (plus ``grace_days``), or, when it set none, ``interval_days`` after the last review or
    drafting. Ends at the next review (or a redraft)."""

    name: ClassVar[str] = "plan_review_overdue"

    grace_days: int
    interval_days: int


@dataclass(frozen=True, kw_only=True)
class LetGoTooEarly(RuleVersion):
    """The case was closed less than ``window_days`` after an education started.

    The one flag of a closed case: open from the closing for ``stays_open_days`` (a
    prompt to reconsider, not a standing state), or until the case is reopened.
    """

    name: ClassVar[str] = "let_go_too_early"

    window_days: int
    stays_open_days: int


R = TypeVar("R", bound=RuleVersion)

RULE_KINDS: tuple[type[RuleVersion], ...] = (
    QuietTransition,
    MissedWakeUps,
    InstitutionSignal,
    MissedMeetings,
    NoPlan,
    MilestoneOverdue,
    PlanReviewOverdue,
    LetGoTooEarly,
)

PRACTICE_START = date(2016, 1, 1)
"""The starting rules come from the Aalborg practice (2016-2018): in force from then on, so
replayed histories of that project are judged by them too."""

DEFAULT_RULES: tuple[RuleVersion, ...] = (
    QuietTransition(
        version=1,
        severity=Severity.HIGH,
        effective_from=PRACTICE_START,
        threshold_days=7,
        new_education_threshold_days=5,
        new_education_days=21,
        window_days=56,
    ),
    MissedWakeUps(version=1, severity=Severity.MEDIUM, effective_from=PRACTICE_START, in_a_row=2),
    InstitutionSignal(
        version=1, severity=Severity.MEDIUM, effective_from=PRACTICE_START, clears_after_days=14
    ),
    MissedMeetings(
        version=1,
        severity=Severity.MEDIUM,
        effective_from=PRACTICE_START,
        missed=2,
        within_days=14,
    ),
    NoPlan(
        version=1, severity=Severity.LOW, effective_from=PRACTICE_START, days_after_enrolment=30
    ),
    MilestoneOverdue(version=1, severity=Severity.LOW, effective_from=PRACTICE_START, grace_days=0),
    PlanReviewOverdue(
        version=1,
        severity=Severity.LOW,
        effective_from=PRACTICE_START,
        grace_days=0,
        interval_days=90,
    ),
    LetGoTooEarly(
        version=1,
        severity=Severity.HIGH,
        effective_from=PRACTICE_START,
        window_days=56,
        stays_open_days=28,
    ),
)


PROPOSED_RULES: tuple[RuleVersion, ...] = (
    # Version 2, proposed and not in force: reach out sooner in a new education, alarm
    # less on a single missed wake-up or a slightly late milestone, and watch longer for
    # a case closed too early. Evaluators compare it with version 1 by replaying the
    # history under each (`overgang replay --compare-rules 2`).
    QuietTransition(
        version=2,
        severity=Severity.HIGH,
        effective_from=PRACTICE_START,
        threshold_days=7,
        new_education_threshold_days=3,
        new_education_days=28,
        window_days=84,
    ),
    MissedWakeUps(version=2, severity=Severity.MEDIUM, effective_from=PRACTICE_START, in_a_row=3),
    InstitutionSignal(
        version=2, severity=Severity.MEDIUM, effective_from=PRACTICE_START, clears_after_days=28
    ),
    MissedMeetings(
        version=2,
        severity=Severity.MEDIUM,
        effective_from=PRACTICE_START,
        missed=2,
        within_days=21,
    ),
    NoPlan(
        version=2, severity=Severity.LOW, effective_from=PRACTICE_START, days_after_enrolment=21
    ),
    MilestoneOverdue(version=2, severity=Severity.LOW, effective_from=PRACTICE_START, grace_days=7),
    PlanReviewOverdue(
        version=2,
        severity=Severity.LOW,
        effective_from=PRACTICE_START,
        grace_days=14,
        interval_days=90,
    ),
    LetGoTooEarly(
        version=2,
        severity=Severity.HIGH,
        effective_from=PRACTICE_START,
        window_days=91,
        stays_open_days=28,
    ),
)

RULE_VERSIONS: dict[int, tuple[RuleVersion, ...]] = {1: DEFAULT_RULES, 2: PROPOSED_RULES}
"""Every version of the rule book by number: 1 is in force, later ones are proposals."""


def rules_as_if_always(version: int) -> tuple[RuleVersion, ...]:
    """Rule book ``version``, each rule as if it had been in force from the start of the
    practice: "what would version 2 have flagged last year"."""
    if version not in RULE_VERSIONS:
        known = ", ".join(str(number) for number in sorted(RULE_VERSIONS))
        raise ValueError(f"no rule book version {version} (known: {known})")
    return tuple(replace(rule, effective_from=PRACTICE_START) for rule in RULE_VERSIONS[version])


class RuleBook:
    """The versions of every rule, checked: which version is in force when."""

    def __init__(self, versions: Iterable[RuleVersion]) -> None:
        self._by_kind: dict[type[RuleVersion], list[RuleVersion]] = {}
        for rule in versions:
            if type(rule) not in RULE_KINDS:
                raise ValueError(f"unknown rule kind: {type(rule).__name__}")
            self._by_kind.setdefault(type(rule), []).append(rule)
        for kind, rules in self._by_kind.items():
            rules.sort(key=lambda rule: rule.version)
            for earlier, later in pairwise(rules):
                if earlier.version == later.version:
                    raise ValueError(f"{kind.name} has version {later.version} twice")
                if earlier.effective_from >= later.effective_from:
                    raise ValueError(
                        f"{kind.name} version {later.version} must take effect after "
                        f"version {earlier.version}"
                    )

        self._spans = {
            kind: [
                (rule, rule.in_force_from, None if after is None else after.in_force_from)
                for rule, after in zip(rules, [*rules[1:], None], strict=True)
            ]
            for kind, rules in self._by_kind.items()
        }

    def versions(self, kind: type[R]) -> Sequence[R]:
        """Every version of ``kind``, oldest first (empty: the rule is not in use)."""
        return [rule for rule in self._by_kind.get(kind, ()) if isinstance(rule, kind)]

    def spans(self, kind: type[R]) -> list[tuple[R, datetime, datetime | None]]:
        """Each version of ``kind`` with the period it is in force: [start, end)."""
        # Asked for on every event the projection folds: computed once, narrowed here.
        return [
            (rule, start, end)
            for rule, start, end in self._spans.get(kind, ())
            if isinstance(rule, kind)
        ]

    def in_force(self, kind: type[R], at: datetime) -> R | None:
        """The version of ``kind`` in force at ``at``; None before its first version."""
        for rule, start, end in self.spans(kind):
            if start <= at and (end is None or at < end):
                return rule
        return None
