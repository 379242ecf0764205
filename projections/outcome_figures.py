"""The evaluators' figures, as of a date, from the outcomes read model (``projections.outcomes``).

Pure functions of the stored facts and ``as_of``: no clock. Only what happened (in the
world, ``occurred_at``) at or before ``as_of`` counts; a later appeal of an earlier
decision, say, is not there yet. ``outcomes_as_of(cur, as_of)`` reads and computes;
``compute_outcomes(facts, as_of)`` computes from facts already read; ``Outcomes.tables()``
renders every figure as CSV-ready tables.

Choices (the statistics are only as good as these are clear):

- **Education spells.** Each transition whose education started is one spell, from its
  education start. Retention curves count spells, not people (a young person may start
  more than one education); the head counts count people.
- **Dropout** (the event of the retention curves): a dropout an institution reported,
  or the abandonment of a transition after its education started. A reported dropout
  belongs to the spell it most likely ended: of the young person's spells started at or
  before it and not censored before it, one at the reporting institution first, then one
  not yet ended by a dropout, then the latest started. A report that fits no spell is
  counted as a dropout "without an education start". A second report (or a report after
  the abandonment) of a spell that already ended counts once: the spell ends at its
  first dropout.
- **Completion** of a transition does not end a spell: the young person is settled in
  the education, which is what retention is about; they stay in the curve.
- **Censoring**: a spell stops being followed at ``as_of``; when the case closes with an
  outcome other than ``in_education`` or ``completed`` (moved, employed, declined support,
  other: nobody follows the education any more); or when the young person's personal data
  is erased (nothing may be recorded after it). A case closed as ``in_education`` or
  ``completed`` is a success, not a loss: the spell goes on being counted as retained. A
  dropout and a censoring on the same day: the dropout counts (events before censorings).
- **Kaplan-Meier** in whole days since the education start: the survival after ``t`` days
  is the product over the days ``d <= t`` with dropouts of ``1 - dropouts(d) / at_risk(d)``,
  where ``at_risk(d)`` counts the spells followed for at least ``d`` days. Three, six and
  twelve months are 91, 182 and 365 days. The survival at such a point is None when nobody
  is followed that long any more (and the curve has not reached zero before).
- **Contacts per young person per week**: whole ISO weeks (Monday to Sunday, UTC) in which
  the young person was enrolled with an open case, up to the last week that ended before
  ``as_of``'s week began; contacts count in those weeks only (a contact before enrolment
  or while the case was closed is not part of the follow-up). Weeks are counted once over,
  so the figures for a date in the middle of a week leave that week out.
- **Dropout timing**: days from the education start (and from the transition start) to the
  dropout, in the buckets of ``TIMING_BUCKETS``; a negative span (facts recorded with
  inconsistent dates) counts as 0.
- **Cohorts**: by the calendar quarter (UTC) of the referral.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from domain.vocabulary import (
    AppealOutcome,
    CaseOutcome,
    Channel,
    DecisionKind,
    Place,
    TransitionKind,
)
from projections.columns import iso_utc, parse_utc
from projections.outcomes import (
    CLOSED,
    NO_PLACE,
    OutcomeFacts,
    OutcomesView,
    week_of,
)
from projections.store import Row, ViewCursor

ALL = "all"
"""The ``transition_kind`` (or ``decision_type``, ``channel``, ``place``) of a total row."""
NO_EDUCATION = "no_education"
"""The ``transition_kind`` of dropouts reported that fit no education spell."""

MONTH_POINTS: tuple[tuple[int, int], ...] = ((3, 91), (6, 182), (12, 365))
"""The retention points: (months, days since the education start)."""

TIMING_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0-2 weeks", 0, 14),
    ("2-4 weeks", 14, 28),
    ("4-8 weeks", 28, 56),
    ("8-13 weeks", 56, 91),
    ("3-6 months", 91, 182),
    ("6-12 months", 182, 365),
    ("12 months or more", 365, None),
)
"""Dropout timing: (label, from day inclusive, to day exclusive or None)."""

SINCE_EDUCATION_START = "education_start"
SINCE_TRANSITION_START = "transition_start"

_SUCCESSFUL_CLOSINGS = frozenset({CaseOutcome.IN_EDUCATION.value, CaseOutcome.COMPLETED.value})
_DAY = timedelta(days=1)
_REPORTED = "dropout_reported"
_ABANDONED = "abandoned"


# --- the figures ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Counts:
    """Young people (heads, not spells) as of the date."""

    referred: int
    enrolled: int
    open_cases: int
    """Enrolled, case open (not closed, not erased)."""
    started_education: int
    in_education: int
    """With an education spell that had not ended in a dropout nor been censored."""
    completed_transition: int
    """With at least one transition completed."""
    dropped_out: int
    """With at least one dropout (of a spell, or reported without an education start)."""
    erased: int
    closed_by_outcome: tuple[tuple[str, int], ...]
    """Cases closed at the date (and not erased) by their last closing's outcome, every
    outcome listed."""


@dataclass(frozen=True)
class Cohort:
    """Young people referred in one calendar quarter, and how far they got by the date."""

    quarter: str
    """``2024-Q1``."""
    referred: int
    enrolled: int
    started_education: int
    in_education: int
    dropped_out: int


@dataclass(frozen=True)
class CurvePoint:
    """One day of a Kaplan-Meier curve on which spells ended (dropped out or censored)."""

    day: int
    at_risk: int
    """Spells followed for at least ``day`` days."""
    dropouts: int
    censored: int
    survival: float
    """The estimate after this day."""


@dataclass(frozen=True)
class RetentionPoint:
    months: int
    day: int
    at_risk: int
    survival: float | None
    """None when nobody is followed that long (and the curve is not at zero already)."""


@dataclass(frozen=True)
class RetentionCurve:
    """The share of education spells still going after so many days, Kaplan-Meier style."""

    transition_kind: str
    """A ``TransitionKind`` value, or ``all``."""
    spells: int
    dropouts: int
    censored: int
    points: tuple[RetentionPoint, ...]
    curve: tuple[CurvePoint, ...]


@dataclass(frozen=True)
class Distribution:
    """Days: how many, the median and the quartiles (linear interpolation between the
    ordered values); None where there are none."""

    count: int
    median: float | None
    lower_quartile: float | None
    upper_quartile: float | None


@dataclass(frozen=True)
class TimeToEducation:
    """Days from the referral to the young person's first education start."""

    transition_kind: str
    """The kind of the transition of that first start, or ``all``."""
    days: Distribution


@dataclass(frozen=True)
class ContactRate:
    """Contacts of one channel (or place) in the followed weeks."""

    value: str
    """A ``Channel`` or ``Place`` value, ``unspecified`` (place) or ``all``."""
    contacts: int
    reached: int
    per_person_week: float | None
    """Contacts per young person per followed week (None: no weeks followed)."""
    reached_share: float | None
    """Of the contacts, the share that reached the young person (None: no contacts)."""


@dataclass(frozen=True)
class ContactWeek:
    """One ISO week: how many young people were followed, and the contacts with them."""

    week: str
    """Its Monday, ``YYYY-MM-DD``."""
    people: int
    contacts: int
    reached: int


@dataclass(frozen=True)
class Contacts:
    person_weeks: int
    by_channel: tuple[ContactRate, ...]
    """Every channel in vocabulary order, then ``all``."""
    by_place: tuple[ContactRate, ...]
    """Every place in vocabulary order, ``unspecified``, then ``all``."""
    weeks: tuple[ContactWeek, ...]


@dataclass(frozen=True)
class DropoutKind:
    """Dropouts of spells of one transition kind (or ``all``; or ``no_education``: reports
    that fit no education spell)."""

    transition_kind: str
    spells: int
    dropouts: int
    reported: int
    """Ended by an institution's dropout report."""
    abandoned: int
    """Ended by the transition's abandonment."""
    days_since_education_start: Distribution


@dataclass(frozen=True)
class DropoutTiming:
    since: str
    """``education_start`` or ``transition_start``."""
    transition_kind: str
    bucket: str
    from_day: int
    to_day: int | None
    dropouts: int


@dataclass(frozen=True)
class Dropouts:
    by_kind: tuple[DropoutKind, ...]
    """Every transition kind in vocabulary order, ``all``, then ``no_education``."""
    timing: tuple[DropoutTiming, ...]


@dataclass(frozen=True)
class DecisionFigures:
    decision_type: str
    """A ``DecisionKind`` value, or ``all``."""
    decisions: int
    not_fully_in_favour: int
    appealed: int
    appeals_pending: int
    appeal_outcomes: tuple[tuple[str, int], ...]
    """Appeals decided by outcome, every ``AppealOutcome`` listed."""
    revoked: int


Table = tuple[list[str], list[list[str]]]


@dataclass(frozen=True)
class Outcomes:
    """Every figure as of ``as_of``."""

    as_of: datetime
    counts: Counts
    cohorts: tuple[Cohort, ...]
    retention: tuple[RetentionCurve, ...]
    """``all`` first, then every transition kind in vocabulary order."""
    time_to_education: tuple[TimeToEducation, ...]
    """``all`` first, then every transition kind in vocabulary order."""
    contacts: Contacts
    dropouts: Dropouts
    decisions: tuple[DecisionFigures, ...]
    """Every decision kind in vocabulary order, then ``all``."""

    def tables(self) -> dict[str, Table]:
        """Every figure as a table, by file stem: a header and rows of strings, in a fixed
        order with fixed number formats (counts as integers; survival and shares with four
        decimals, rates with three, days with one; an empty string for none)."""
        c = self.counts
        counts = [
            ["as_of", iso_utc(self.as_of)],
            ["referred", _int(c.referred)],
            ["enrolled", _int(c.enrolled)],
            ["open_cases", _int(c.open_cases)],
            ["started_education", _int(c.started_education)],
            ["in_education", _int(c.in_education)],
            ["completed_transition", _int(c.completed_transition)],
            ["dropped_out", _int(c.dropped_out)],
            ["erased", _int(c.erased)],
            *[[f"closed_{outcome}", _int(n)] for outcome, n in c.closed_by_outcome],
        ]
        cohorts = [
            [
                h.quarter,
                _int(h.referred),
                _int(h.enrolled),
                _int(h.started_education),
                _int(h.in_education),
                _int(h.dropped_out),
            ]
            for h in self.cohorts
        ]
        retention = [
            [r.transition_kind, _int(p.months), _int(p.day), _int(p.at_risk), _fixed(p.survival, 4)]
            for r in self.retention
            for p in r.points
        ]
        curves = [
            [
                r.transition_kind,
                _int(p.day),
                _int(p.at_risk),
                _int(p.dropouts),
                _int(p.censored),
                _fixed(p.survival, 4),
            ]
            for r in self.retention
            for p in r.curve
        ]
        spells = [
            [r.transition_kind, _int(r.spells), _int(r.dropouts), _int(r.censored)]
            for r in self.retention
        ]
        to_education = [[t.transition_kind, *_distribution(t.days)] for t in self.time_to_education]
        person_weeks = _int(self.contacts.person_weeks)

        def rates(rates: Sequence[ContactRate]) -> list[list[str]]:
            return [
                [
                    r.value,
                    person_weeks,
                    _int(r.contacts),
                    _int(r.reached),
                    _fixed(r.per_person_week, 3),
                    _fixed(r.reached_share, 4),
                ]
                for r in rates
            ]

        weeks = [
            [
                w.week,
                _int(w.people),
                _int(w.contacts),
                _int(w.reached),
                _fixed(w.contacts / w.people if w.people else None, 3),
            ]
            for w in self.contacts.weeks
        ]
        dropouts = [
            [
                d.transition_kind,
                _int(d.spells),
                _int(d.dropouts),
                _int(d.reported),
                _int(d.abandoned),
                *_distribution(d.days_since_education_start)[1:],
            ]
            for d in self.dropouts.by_kind
        ]
        timing = [
            [
                t.since,
                t.transition_kind,
                t.bucket,
                _int(t.from_day),
                "" if t.to_day is None else _int(t.to_day),
                _int(t.dropouts),
            ]
            for t in self.dropouts.timing
        ]
        decisions = [
            [
                d.decision_type,
                _int(d.decisions),
                _int(d.not_fully_in_favour),
                _int(d.appealed),
                _int(d.appeals_pending),
                *(_int(n) for _, n in d.appeal_outcomes),
                _int(d.revoked),
            ]
            for d in self.decisions
        ]
        rate_header = [
            "person_weeks",
            "contacts",
            "reached",
            "contacts_per_person_week",
            "reached_share",
        ]
        quartiles = ["median_days", "lower_quartile_days", "upper_quartile_days"]
        return {
            "counts": (["measure", "value"], counts),
            "cohorts": (
                [
                    "referral_quarter",
                    "referred",
                    "enrolled",
                    "started_education",
                    "in_education",
                    "dropped_out",
                ],
                cohorts,
            ),
            "retention": (
                ["transition_kind", "months", "day", "at_risk", "survival"],
                retention,
            ),
            "retention_curve": (
                ["transition_kind", "day", "at_risk", "dropouts", "censored", "survival"],
                curves,
            ),
            "retention_spells": (
                ["transition_kind", "spells", "dropouts", "censored"],
                spells,
            ),
            "time_to_education": (["transition_kind", "people", *quartiles], to_education),
            "contacts_by_channel": (["channel", *rate_header], rates(self.contacts.by_channel)),
            "contacts_by_place": (["place", *rate_header], rates(self.contacts.by_place)),
            "contact_weeks": (
                ["week", "people", "contacts", "reached", "contacts_per_person"],
                weeks,
            ),
            "dropouts": (
                ["transition_kind", "spells", "dropouts", "reported", "abandoned"]
                + [f"{name}_since_education_start" for name in quartiles],
                dropouts,
            ),
            "dropout_timing": (
                ["since", "transition_kind", "bucket", "from_day", "to_day", "dropouts"],
                timing,
            ),
            "decisions": (
                ["decision_type", "decisions", "not_fully_in_favour", "appealed"]
                + ["appeals_pending"]
                + [f"appeal_{outcome.value}" for outcome in AppealOutcome]
                + ["revoked"],
                decisions,
            ),
        }


def _int(value: int) -> str:
    return str(value)


def _fixed(value: float | None, decimals: int) -> str:
    return "" if value is None else f"{value:.{decimals}f}"


def _distribution(days: Distribution) -> list[str]:
    return [
        _int(days.count),
        _fixed(days.median, 1),
        _fixed(days.lower_quartile, 1),
        _fixed(days.upper_quartile, 1),
    ]


# --- statistics ----------------------------------------------------------------------------


def quantile(ordered: Sequence[float], share: float) -> float | None:
    """The ``share`` quantile of ``ordered`` (ascending), interpolating linearly between
    neighbours (the "inclusive" method); None for no values."""
    if not ordered:
        return None
    place = (len(ordered) - 1) * share
    low = math.floor(place)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (place - low)


def distribution(values: Iterable[float]) -> Distribution:
    ordered = sorted(values)
    return Distribution(
        count=len(ordered),
        median=quantile(ordered, 0.5),
        lower_quartile=quantile(ordered, 0.25),
        upper_quartile=quantile(ordered, 0.75),
    )


def kaplan_meier(observations: Iterable[tuple[int, bool]]) -> tuple[CurvePoint, ...]:
    """The Kaplan-Meier curve of ``(days followed, ended in a dropout)`` observations: one
    point per day on which any ended, with those at risk on it (followed at least that
    long), its dropouts and censorings, and the survival estimate after it."""
    dropouts: Counter[int] = Counter()
    censored: Counter[int] = Counter()
    for days, dropped_out in observations:
        (dropouts if dropped_out else censored)[days] += 1
    at_risk = sum(dropouts.values()) + sum(censored.values())
    survival = 1.0
    points = []
    for day in sorted(dropouts.keys() | censored.keys()):
        if dropouts[day]:
            survival *= 1 - dropouts[day] / at_risk
        points.append(CurvePoint(day, at_risk, dropouts[day], censored[day], survival))
        at_risk -= dropouts[day] + censored[day]
    return tuple(points)


def retention_point(curve: Sequence[CurvePoint], months: int, day: int) -> RetentionPoint:
    """The survival after ``day`` days read off ``curve``, with those at risk on that day
    (followed for at least ``day`` days)."""
    survival, at_risk = 1.0, 0
    for point in curve:
        if point.day <= day:
            survival = point.survival
        if point.day >= day:
            # Nobody ends between ``day`` and this point: those at risk on it were then.
            at_risk = point.at_risk
            break
    if at_risk == 0 and survival > 0:
        return RetentionPoint(months, day, 0, None)
    return RetentionPoint(months, day, at_risk, survival)


# --- from facts to figures -----------------------------------------------------------------


@dataclass
class _Spell:
    transition_id: str
    person: str
    kind: str
    education_start: datetime
    transition_start: datetime
    institution: str | None
    abandoned: datetime | None
    censored_at: datetime | None = None
    """The first censoring fact (closing for another reason, erasure); None: as_of."""
    dropout: datetime | None = None
    how: str | None = None


@dataclass
class _Person:
    id: str
    referred: datetime
    enrolled: datetime | None
    erased: datetime | None
    changes: list[Row] = field(default_factory=list)
    spells: list[_Spell] = field(default_factory=list)
    reported_without_spell: int = 0


def outcomes_as_of(cur: ViewCursor, as_of: datetime) -> Outcomes:
    """Every figure as of ``as_of`` (aware), from the outcomes tables."""
    _require_aware(as_of)
    return compute_outcomes(OutcomesView.facts(cur, as_of), as_of)


def _require_aware(as_of: datetime) -> None:
    if as_of.tzinfo is None or as_of.utcoffset() is None:
        raise ValueError("as_of must carry a time zone")


def _at_or_before(text: str | None, at: str) -> datetime | None:
    return None if text is None or text > at else parse_utc(text)


def compute_outcomes(facts: OutcomeFacts, as_of: datetime) -> Outcomes:
    """Every figure as of ``as_of`` from ``facts`` (rows as ``OutcomesView.facts`` reads
    them; rows of facts after ``as_of`` are passed over, so any superset will do)."""
    _require_aware(as_of)
    at = iso_utc(as_of)
    people: dict[str, _Person] = {}
    for row in facts.people:
        referred = _at_or_before(row["referred_at"], at)
        if referred is not None:
            people[row["young_person_id"]] = _Person(
                id=row["young_person_id"],
                referred=referred,
                enrolled=_at_or_before(row["enrolled_at"], at),
                erased=_at_or_before(row["erased_at"], at),
            )
    for row in sorted(facts.case_changes, key=lambda r: (r["occurred_at"], r["position"])):
        person = people.get(row["young_person_id"])
        if person is not None and row["occurred_at"] <= at:
            person.changes.append(row)
    spells = _spells(facts.transitions, people, at)
    _attribute_dropouts(facts.dropouts, people, at)
    return Outcomes(
        as_of=as_of,
        counts=_counts(people, facts.transitions, as_of),
        cohorts=_cohorts(people, as_of),
        retention=_retention(spells, as_of),
        time_to_education=_time_to_education(people),
        contacts=_contacts(facts.contacts, people, as_of),
        dropouts=_dropouts(spells, people, as_of),
        decisions=_decisions(facts.decisions, at),
    )


def _spells(transitions: Sequence[Row], people: dict[str, _Person], at: str) -> list[_Spell]:
    spells = []
    for row in sorted(transitions, key=lambda r: r["transition_id"]):
        person = people.get(row["young_person_id"])
        start = _at_or_before(row["education_started_at"], at)
        if person is None or start is None:
            continue
        transition_start = _at_or_before(row["started_at"], at) or start
        abandoned = _at_or_before(row["abandoned_at"], at)
        spell = _Spell(
            transition_id=row["transition_id"],
            person=person.id,
            kind=row["kind"],
            education_start=start,
            transition_start=transition_start,
            institution=row["education_institution_id"],
            abandoned=abandoned,
        )
        if abandoned is not None:
            # Abandoned after the education started: a dropout (at the start at the
            # earliest, should the dates disagree).
            spell.dropout, spell.how = max(abandoned, start), _ABANDONED
        # The first closing for another reason than education at or after the start, or
        # the erasure, ends the follow-up.
        censor = person.erased
        for change in person.changes:
            when = parse_utc(change["occurred_at"])
            if (
                change["change"] == CLOSED
                and change["outcome"] not in _SUCCESSFUL_CLOSINGS
                and when >= start
            ):
                censor = when if censor is None else min(censor, when)
                break
        spell.censored_at = censor
        person.spells.append(spell)
        spells.append(spell)
    for person in people.values():
        person.spells.sort(key=lambda s: (s.education_start, s.transition_id))
    return spells


def _attribute_dropouts(dropouts: Sequence[Row], people: dict[str, _Person], at: str) -> None:
    for row in sorted(dropouts, key=lambda r: (r["occurred_at"], r["position"])):
        person = people.get(row["young_person_id"])
        when = _at_or_before(row["occurred_at"], at)
        if person is None or when is None:
            continue
        candidates = [
            spell
            for spell in person.spells
            if spell.education_start <= when
            and (spell.censored_at is None or when <= spell.censored_at)
        ]
        if not candidates:
            person.reported_without_spell += 1
            continue
        institution = row["institution_id"]
        spell = max(
            candidates,
            key=lambda s: (
                s.institution is not None and s.institution == institution,
                s.dropout is None or s.dropout > when,
                s.education_start,
                s.transition_id,
            ),
        )
        if spell.dropout is None or when < spell.dropout:
            spell.dropout, spell.how = when, _REPORTED


def _ended(spell: _Spell, as_of: datetime) -> tuple[datetime, bool]:
    """When the spell stopped being followed, and whether by a dropout."""
    end = as_of if spell.censored_at is None else min(as_of, spell.censored_at)
    if spell.dropout is not None and spell.dropout <= end:
        return spell.dropout, True
    return end, False


def _is_open(person: _Person) -> bool:
    return (
        person.enrolled is not None
        and person.erased is None
        and (not person.changes or person.changes[-1]["change"] != CLOSED)
    )


def _counts(people: dict[str, _Person], transitions: Sequence[Row], as_of: datetime) -> Counts:
    at = iso_utc(as_of)
    completed = {
        row["young_person_id"]
        for row in transitions
        if row["completed_at"] is not None and row["completed_at"] <= at
    }
    closed: Counter[str] = Counter()
    for person in people.values():
        if person.erased is None and person.changes and person.changes[-1]["change"] == CLOSED:
            closed[person.changes[-1]["outcome"]] += 1
    return Counts(
        referred=len(people),
        enrolled=sum(1 for p in people.values() if p.enrolled is not None),
        open_cases=sum(1 for p in people.values() if _is_open(p)),
        started_education=sum(1 for p in people.values() if p.spells),
        in_education=sum(1 for p in people.values() if _in_education(p, as_of)),
        completed_transition=len(completed & people.keys()),
        dropped_out=sum(1 for p in people.values() if _dropped_out(p, as_of)),
        erased=sum(1 for p in people.values() if p.erased is not None),
        closed_by_outcome=tuple((outcome.value, closed[outcome.value]) for outcome in CaseOutcome),
    )


def _in_education(person: _Person, as_of: datetime) -> bool:
    """A spell still followed at ``as_of``: no dropout, nor a censoring, up to then."""
    return any(spell.censored_at is None and not _ended(spell, as_of)[1] for spell in person.spells)


def _dropped_out(person: _Person, as_of: datetime) -> bool:
    return person.reported_without_spell > 0 or any(
        _ended(spell, as_of)[1] for spell in person.spells
    )


def _quarter(moment: datetime) -> str:
    return f"{moment.year}-Q{(moment.month - 1) // 3 + 1}"


def _cohorts(people: dict[str, _Person], as_of: datetime) -> tuple[Cohort, ...]:
    by_quarter: dict[str, list[_Person]] = defaultdict(list)
    for person in people.values():
        by_quarter[_quarter(person.referred)].append(person)
    cohorts = []
    for quarter in sorted(by_quarter):
        members = by_quarter[quarter]
        cohorts.append(
            Cohort(
                quarter=quarter,
                referred=len(members),
                enrolled=sum(1 for p in members if p.enrolled is not None),
                started_education=sum(1 for p in members if p.spells),
                in_education=sum(1 for p in members if _in_education(p, as_of)),
                dropped_out=sum(1 for p in members if _dropped_out(p, as_of)),
            )
        )
    return tuple(cohorts)


def _retention(spells: Sequence[_Spell], as_of: datetime) -> tuple[RetentionCurve, ...]:
    by_kind: dict[str, list[tuple[int, bool]]] = {ALL: []}
    by_kind.update((kind.value, []) for kind in TransitionKind)
    for spell in spells:
        end, dropped_out = _ended(spell, as_of)
        days = max(0, (end - spell.education_start) // _DAY)
        by_kind[ALL].append((days, dropped_out))
        by_kind.setdefault(spell.kind, []).append((days, dropped_out))
    curves = []
    for kind, observations in by_kind.items():
        curve = kaplan_meier(observations)
        dropouts = sum(1 for _, dropped_out in observations if dropped_out)
        curves.append(
            RetentionCurve(
                transition_kind=kind,
                spells=len(observations),
                dropouts=dropouts,
                censored=len(observations) - dropouts,
                points=tuple(retention_point(curve, m, d) for m, d in MONTH_POINTS),
                curve=curve,
            )
        )
    return tuple(curves)


def _time_to_education(people: dict[str, _Person]) -> tuple[TimeToEducation, ...]:
    by_kind: dict[str, list[float]] = {ALL: []}
    by_kind.update((kind.value, []) for kind in TransitionKind)
    for person in people.values():
        if person.spells:
            first = person.spells[0]
            days = (first.education_start - person.referred) / _DAY
            by_kind[ALL].append(days)
            by_kind.setdefault(first.kind, []).append(days)
    return tuple(TimeToEducation(kind, distribution(days)) for kind, days in by_kind.items())


def _monday(moment: datetime) -> date:
    return date.fromisoformat(week_of(moment))


def _followed_weeks(person: _Person, last_week: date) -> list[tuple[str, str]]:
    """The ISO weeks (Mondays, first and last of each run, as text) in which the young
    person was enrolled with an open case, up to ``last_week``; runs in order, apart."""
    if person.enrolled is None:
        return []
    moments = [(person.enrolled, -1, "enrolled")] + [
        (parse_utc(c["occurred_at"]), c["position"], c["change"]) for c in person.changes
    ]
    moments.sort(key=lambda m: (m[0], m[1]))
    periods: list[tuple[datetime, datetime]] = []
    opened: datetime | None = None
    enrolled = False
    for when, _, change in moments:
        if person.erased is not None and when > person.erased:
            break
        if change == CLOSED:
            if opened is not None:
                periods.append((opened, when))
                opened = None
        elif opened is None and (change == "enrolled" or enrolled):
            opened = when
        enrolled = enrolled or change == "enrolled"
    if opened is not None:
        periods.append((opened, person.erased or datetime.max.replace(tzinfo=opened.tzinfo)))
    runs: list[tuple[date, date]] = []
    for begin, end in periods:
        first = _monday(begin)
        last = last_week if end.year == datetime.max.year else min(_monday(end), last_week)
        if first > last:
            continue
        if runs and first <= runs[-1][1] + timedelta(days=7):
            runs[-1] = (runs[-1][0], max(runs[-1][1], last))
        else:
            runs.append((first, last))
    return [(first.isoformat(), last.isoformat()) for first, last in runs]


def _weeks_in(first: str, last: str) -> int:
    return (date.fromisoformat(last) - date.fromisoformat(first)).days // 7 + 1


def _rates(
    values: Sequence[str], contacts: Counter[str], reached: Counter[str], person_weeks: int
) -> tuple[ContactRate, ...]:
    listed = [*values, *sorted(contacts.keys() - set(values))]
    rates = []
    for value in [*listed, ALL]:
        n = sum(contacts.values()) if value == ALL else contacts[value]
        r = sum(reached.values()) if value == ALL else reached[value]
        rates.append(
            ContactRate(
                value=value,
                contacts=n,
                reached=r,
                per_person_week=n / person_weeks if person_weeks else None,
                reached_share=r / n if n else None,
            )
        )
    return tuple(rates)


def _contacts(contacts: Sequence[Row], people: dict[str, _Person], as_of: datetime) -> Contacts:
    last_week = _monday(as_of) - timedelta(days=7)
    followed = {key: _followed_weeks(person, last_week) for key, person in people.items()}
    people_per_week: Counter[str] = Counter()
    person_weeks = 0
    for runs in followed.values():
        for first, last in runs:
            person_weeks += _weeks_in(first, last)
            monday = date.fromisoformat(first)
            while monday.isoformat() <= last:
                people_per_week[monday.isoformat()] += 1
                monday += timedelta(days=7)
    # One count per (channel, place, reached, week) first: a few thousand keys however
    # many rows, and one dictionary update per row.
    counted: dict[tuple[str, str, int, str], int] = {}
    single = {key: runs[0] for key, runs in followed.items() if len(runs) == 1}
    for row in contacts:
        week, person = row["week"], row["young_person_id"]
        run = single.get(person)
        if run is not None:
            if not run[0] <= week <= run[1]:
                continue
        elif not any(first <= week <= last for first, last in followed.get(person, ())):
            continue
        key = (row["channel"], row["place"], 1 if row["reached"] else 0, week)
        counted[key] = counted.get(key, 0) + int(row["contacts"])
    by_channel: Counter[str] = Counter()
    reached_by_channel: Counter[str] = Counter()
    by_place: Counter[str] = Counter()
    reached_by_place: Counter[str] = Counter()
    per_week: Counter[str] = Counter()
    reached_per_week: Counter[str] = Counter()
    for (channel, place, reached, week), n in counted.items():
        by_channel[channel] += n
        by_place[place] += n
        per_week[week] += n
        if reached:
            reached_by_channel[channel] += n
            reached_by_place[place] += n
            reached_per_week[week] += n
    return Contacts(
        person_weeks=person_weeks,
        by_channel=_rates([c.value for c in Channel], by_channel, reached_by_channel, person_weeks),
        by_place=_rates(
            [p.value for p in Place] + [NO_PLACE], by_place, reached_by_place, person_weeks
        ),
        weeks=tuple(
            ContactWeek(week, people_per_week[week], per_week[week], reached_per_week[week])
            for week in sorted(people_per_week)
        ),
    )


def _bucket(days: int) -> tuple[str, int, int | None]:
    for bucket in TIMING_BUCKETS:
        if bucket[2] is None or days < bucket[2]:
            return bucket
    raise AssertionError("the last bucket is open")  # pragma: no cover


def _dropouts(spells: Sequence[_Spell], people: dict[str, _Person], as_of: datetime) -> Dropouts:
    kinds = [kind.value for kind in TransitionKind]
    kinds += sorted({spell.kind for spell in spells} - set(kinds))
    spell_count: Counter[str] = Counter()
    how: dict[str, Counter[str]] = defaultdict(Counter)
    since_start: dict[str, list[float]] = defaultdict(list)
    timing: Counter[tuple[str, str, str]] = Counter()
    for spell in spells:
        spell_count[spell.kind] += 1
        spell_count[ALL] += 1
        end, dropped_out = _ended(spell, as_of)
        if not dropped_out or spell.how is None:
            continue
        days = max(0.0, (end - spell.education_start) / _DAY)
        since_transition = max(0.0, (end - spell.transition_start) / _DAY)
        for kind in (spell.kind, ALL):
            how[kind][spell.how] += 1
            since_start[kind].append(days)
            timing[(SINCE_EDUCATION_START, kind, _bucket(int(days))[0])] += 1
            timing[(SINCE_TRANSITION_START, kind, _bucket(int(since_transition))[0])] += 1
    without = sum(person.reported_without_spell for person in people.values())
    by_kind = [
        DropoutKind(
            transition_kind=kind,
            spells=spell_count[kind],
            dropouts=how[kind][_REPORTED] + how[kind][_ABANDONED],
            reported=how[kind][_REPORTED],
            abandoned=how[kind][_ABANDONED],
            days_since_education_start=distribution(since_start[kind]),
        )
        for kind in [*kinds, ALL]
    ]
    by_kind.append(DropoutKind(NO_EDUCATION, 0, without, without, 0, distribution([])))
    return Dropouts(
        by_kind=tuple(by_kind),
        timing=tuple(
            DropoutTiming(since, kind, label, low, high, timing[(since, kind, label)])
            for since in (SINCE_EDUCATION_START, SINCE_TRANSITION_START)
            for kind in [*kinds, ALL]
            for label, low, high in TIMING_BUCKETS
        ),
    )


def _decisions(decisions: Sequence[Row], at: str) -> tuple[DecisionFigures, ...]:
    def happened(text: str | None) -> bool:
        return text is not None and text <= at

    kinds = [kind.value for kind in DecisionKind]
    rows = [row for row in decisions if happened(row["decided_at"])]
    kinds += sorted({row["kind"] for row in rows} - set(kinds))
    figures = []
    for kind in [*kinds, ALL]:
        of_kind = [row for row in rows if kind in (ALL, row["kind"])]
        appealed = [row for row in of_kind if happened(row["appealed_at"])]
        decided = Counter(
            row["appeal_outcome"] for row in appealed if happened(row["appeal_decided_at"])
        )
        figures.append(
            DecisionFigures(
                decision_type=kind,
                decisions=len(of_kind),
                not_fully_in_favour=sum(1 for row in of_kind if not row["fully_in_favour"]),
                appealed=len(appealed),
                appeals_pending=len(appealed) - sum(decided.values()),
                appeal_outcomes=tuple((o.value, decided[o.value]) for o in AppealOutcome),
                revoked=sum(1 for row in of_kind if happened(row["revoked_at"])),
            )
        )
    return tuple(figures)
