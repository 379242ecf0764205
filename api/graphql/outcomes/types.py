"""GraphQL types of the outcomes, built from ``projections.outcome_figures.Outcomes``.

Aggregates only: no young person's id, nor anything else about one person, is in them.
Kinds are the vocabulary's values as strings, because the totals and the dropouts without
an education start have kinds of their own (``all``, ``no_education``).
"""

from __future__ import annotations

from datetime import datetime

import strawberry

from projections import outcome_figures as figures

_KINDS = "A transition kind (`school_to_youth_education`, ...), or `all` for every kind."


@strawberry.type(description="A count of one value (a case outcome, an appeal outcome).")
class CountOf:
    value: str
    count: int

    @classmethod
    def of(cls, pairs: tuple[tuple[str, int], ...]) -> list[CountOf]:
        return [cls(value=value, count=count) for value, count in pairs]


@strawberry.type(description="Young people (heads) as of the date.")
class OutcomeCounts:
    referred: int
    enrolled: int
    open_cases: int = strawberry.field(
        description="Enrolled, and the case neither closed nor erased."
    )
    started_education: int
    in_education: int = strawberry.field(
        description="With an education spell neither ended by a dropout nor censored (case "
        "closed for another reason than education, personal data erased)."
    )
    completed_transition: int
    dropped_out: int
    erased: int
    closed_by_outcome: list[CountOf] = strawberry.field(
        description="Cases closed at the date, by the outcome of their last closing."
    )

    @classmethod
    def of(cls, c: figures.Counts) -> OutcomeCounts:
        return cls(
            referred=c.referred,
            enrolled=c.enrolled,
            open_cases=c.open_cases,
            started_education=c.started_education,
            in_education=c.in_education,
            completed_transition=c.completed_transition,
            dropped_out=c.dropped_out,
            erased=c.erased,
            closed_by_outcome=CountOf.of(c.closed_by_outcome),
        )


@strawberry.type(description="Young people referred in one calendar quarter (UTC).")
class OutcomeCohort:
    quarter: str = strawberry.field(description="`2024-Q1`.")
    referred: int
    enrolled: int
    started_education: int
    in_education: int
    dropped_out: int

    @classmethod
    def of(cls, h: figures.Cohort) -> OutcomeCohort:
        return cls(
            quarter=h.quarter,
            referred=h.referred,
            enrolled=h.enrolled,
            started_education=h.started_education,
            in_education=h.in_education,
            dropped_out=h.dropped_out,
        )


@strawberry.type(description="The retention after 3, 6 or 12 months.")
class RetentionPoint:
    months: int
    day: int = strawberry.field(description="Days since the education start: 91, 182, 365.")
    at_risk: int = strawberry.field(description="Spells followed for at least that long.")
    survival: float | None = strawberry.field(
        description="Kaplan-Meier estimate of the share still in education; null when "
        "nobody has been followed that long."
    )


@strawberry.type(description="A day of a Kaplan-Meier curve on which spells ended.")
class RetentionCurvePoint:
    day: int
    at_risk: int
    dropouts: int
    censored: int
    survival: float


@strawberry.type(
    description="Education spells (one per transition whose education started) still going "
    "so many days after the start, Kaplan-Meier style."
)
class RetentionCurve:
    transition_kind: str = strawberry.field(description=_KINDS)
    spells: int
    dropouts: int
    censored: int
    points: list[RetentionPoint]
    curve: list[RetentionCurvePoint]

    @classmethod
    def of(cls, r: figures.RetentionCurve) -> RetentionCurve:
        return cls(
            transition_kind=r.transition_kind,
            spells=r.spells,
            dropouts=r.dropouts,
            censored=r.censored,
            points=[RetentionPoint(**vars(p)) for p in r.points],
            curve=[RetentionCurvePoint(**vars(p)) for p in r.curve],
        )


@strawberry.type(description="Days: how many, the median and the quartiles.")
class DaysDistribution:
    count: int
    median: float | None
    lower_quartile: float | None
    upper_quartile: float | None

    @classmethod
    def of(cls, d: figures.Distribution) -> DaysDistribution:
        return cls(**vars(d))


@strawberry.type(description="Days from the referral to the young person's first education start.")
class TimeToEducation:
    transition_kind: str = strawberry.field(
        description="The kind of the transition of that first start, or `all`."
    )
    days: DaysDistribution


@strawberry.type(description="Contacts of one channel or place in the weeks followed.")
class ContactRate:
    value: str = strawberry.field(
        description="A channel or place value, `unspecified` (place), or `all`."
    )
    contacts: int
    reached: int
    per_person_week: float | None = strawberry.field(
        description="Contacts per young person per week followed."
    )
    reached_share: float | None


@strawberry.type(description="One ISO week: young people followed, and contacts with them.")
class ContactWeek:
    week: str = strawberry.field(description="Its Monday, `YYYY-MM-DD`.")
    people: int
    contacts: int
    reached: int


@strawberry.type(
    description="Contacts in the whole ISO weeks (UTC) in which young people were enrolled "
    "with an open case, up to the last week that ended before the date's week."
)
class OutcomeContacts:
    person_weeks: int
    by_channel: list[ContactRate]
    by_place: list[ContactRate]
    weeks: list[ContactWeek]

    @classmethod
    def of(cls, c: figures.Contacts) -> OutcomeContacts:
        return cls(
            person_weeks=c.person_weeks,
            by_channel=[ContactRate(**vars(r)) for r in c.by_channel],
            by_place=[ContactRate(**vars(r)) for r in c.by_place],
            weeks=[ContactWeek(**vars(w)) for w in c.weeks],
        )


@strawberry.type(description="Dropouts of the education spells of one transition kind.")
class DropoutsOfKind:
    transition_kind: str = strawberry.field(
        description=_KINDS + " `no_education`: reported dropouts that fit no education spell."
    )
    spells: int
    dropouts: int
    reported: int = strawberry.field(description="Ended by an institution's dropout report.")
    abandoned: int = strawberry.field(description="Ended by abandoning the transition.")
    days_since_education_start: DaysDistribution


@strawberry.type(description="Dropouts in one span of days since a start.")
class DropoutTiming:
    since: str = strawberry.field(description="`education_start` or `transition_start`.")
    transition_kind: str = strawberry.field(description=_KINDS)
    bucket: str
    from_day: int
    to_day: int | None = strawberry.field(description="Exclusive; null: open-ended.")
    dropouts: int


@strawberry.type(description="Dropouts and their timing relative to the transition.")
class OutcomeDropouts:
    by_kind: list[DropoutsOfKind]
    timing: list[DropoutTiming]

    @classmethod
    def of(cls, d: figures.Dropouts) -> OutcomeDropouts:
        return cls(
            by_kind=[
                DropoutsOfKind(
                    transition_kind=k.transition_kind,
                    spells=k.spells,
                    dropouts=k.dropouts,
                    reported=k.reported,
                    abandoned=k.abandoned,
                    days_since_education_start=DaysDistribution.of(k.days_since_education_start),
                )
                for k in d.by_kind
            ],
            timing=[DropoutTiming(**vars(t)) for t in d.timing],
        )


@strawberry.type(description="Authority decisions of one kind, and their appeals.")
class DecisionFigures:
    decision_type: str = strawberry.field(description="A decision kind value, or `all`.")
    decisions: int
    not_fully_in_favour: int
    appealed: int
    appeals_pending: int
    appeal_outcomes: list[CountOf]
    revoked: int

    @classmethod
    def of(cls, d: figures.DecisionFigures) -> DecisionFigures:
        return cls(
            decision_type=d.decision_type,
            decisions=d.decisions,
            not_fully_in_favour=d.not_fully_in_favour,
            appealed=d.appealed,
            appeals_pending=d.appeals_pending,
            appeal_outcomes=CountOf.of(d.appeal_outcomes),
            revoked=d.revoked,
        )


@strawberry.type(
    description="What became of the young people, as of a date: only facts that happened "
    "(in the world) by then count. Aggregates only."
)
class Outcomes:
    as_of: datetime
    counts: OutcomeCounts
    cohorts: list[OutcomeCohort]
    retention: list[RetentionCurve] = strawberry.field(
        description="`all` first, then every transition kind."
    )
    time_to_education: list[TimeToEducation]
    contacts: OutcomeContacts
    dropouts: OutcomeDropouts
    decisions: list[DecisionFigures]

    @classmethod
    def of(cls, o: figures.Outcomes) -> Outcomes:
        return cls(
            as_of=o.as_of,
            counts=OutcomeCounts.of(o.counts),
            cohorts=[OutcomeCohort.of(h) for h in o.cohorts],
            retention=[RetentionCurve.of(r) for r in o.retention],
            time_to_education=[
                TimeToEducation(transition_kind=t.transition_kind, days=DaysDistribution.of(t.days))
                for t in o.time_to_education
            ],
            contacts=OutcomeContacts.of(o.contacts),
            dropouts=OutcomeDropouts.of(o.dropouts),
            decisions=[DecisionFigures.of(d) for d in o.decisions],
        )
