"""The outcome figures as the report's sections: each question an evaluator asks, with a
chart to look at and the tables behind it (:class:`projections.outcome_figures.Outcomes`).
"""

from __future__ import annotations

from collections.abc import Callable

from infra.report import MONTH_MARKS, Chart, Section, Table, bar_chart, line_chart, step_chart
from projections.outcome_figures import ALL, Outcomes, RetentionCurve

_NO_EDUCATION = "no_education"

TableMaker = Callable[[str, str], Table]
"""Makes the named table of the outcome figures, with a caption."""


def outcome_sections(outcomes: Outcomes) -> list[Section]:
    """One section per question: who came, who stayed in education, how long it took,
    how contact was kept, when dropouts came, and the decisions."""
    tables = outcomes.tables()

    def table(name: str, caption: str) -> Table:
        header, rows = tables[name]
        return Table(name, header, rows, caption)

    return [
        _intake(outcomes, table),
        _retention(outcomes, table),
        _time_to_education(outcomes, table),
        _contacts(outcomes, table),
        _dropouts(outcomes, table),
        _decisions(outcomes, table),
    ]


def _label(kind: str) -> str:
    """A vocabulary value as words: ``school_to_youth_education`` -> school to youth
    education."""
    return kind.replace("_", " ").replace("-", " ")


def _intake(outcomes: Outcomes, table: TableMaker) -> Section:
    cohorts = outcomes.cohorts
    quarters = [cohort.quarter for cohort in cohorts]
    chart = line_chart(
        quarters,
        {
            "referred": [cohort.referred for cohort in cohorts],
            "enrolled": [cohort.enrolled for cohort in cohorts],
            "started education": [cohort.started_education for cohort in cohorts],
            "in education at the date": [cohort.in_education for cohort in cohorts],
        },
        title="Young people by the quarter they were referred in",
        x_label="Quarter of referral",
        y_label="Young people",
    )
    return Section(
        "Who came, and how far they got",
        "How many young people were referred, enrolled and started an education by the "
        "as-of date, and how many were in education on that date. Each cohort is the "
        "young people referred in one quarter.",
        charts=[Chart("cohorts", chart, "Each quarter's referrals and how far they got.")],
        tables=[
            table("counts", "Young people (heads, not spells) as of the date."),
            table("cohorts", "Cohorts by quarter of referral."),
        ],
    )


def _retention(outcomes: Outcomes, table: TableMaker) -> Section:
    curves = [curve for curve in outcomes.retention if curve.spells]
    chart = step_chart(
        {_curve_name(curve): _steps(curve) for curve in curves},
        title="Still in education, days after the education started",
        x_label="Days since the education started",
        y_label="Still in education",
        y_max=1.0,
        x_marks=MONTH_MARKS,
    )
    return Section(
        "Still in education after 3, 6 and 12 months",
        "Kaplan-Meier estimates of the share of education starts that had not ended in a "
        "dropout, by transition kind. A young person still being followed at the as-of "
        "date counts for as long as they were followed (censored), as does one whose case "
        "closed for a reason other than education.",
        charts=[Chart("retention", chart, "Retention curves by transition kind.")],
        tables=[
            table(
                "retention",
                "The estimate at 3, 6 and 12 months, with how many were still followed then.",
            ),
            table("retention_spells", "Education spells, dropouts and censored spells."),
            table("retention_curve", "Every step of every curve."),
        ],
    )


def _curve_name(curve: RetentionCurve) -> str:
    name = "all transitions" if curve.transition_kind == ALL else _label(curve.transition_kind)
    return f"{name} ({curve.spells})"


def _steps(curve: RetentionCurve) -> list[tuple[float, float]]:
    return [(0.0, 1.0), *((float(point.day), point.survival) for point in curve.curve)]


def _time_to_education(outcomes: Outcomes, table: TableMaker) -> Section:
    rows = [row for row in outcomes.time_to_education if row.days.count]
    chart = bar_chart(
        [_label(row.transition_kind) for row in rows],
        {
            "lower quartile": [row.days.lower_quartile or 0.0 for row in rows],
            "median": [row.days.median or 0.0 for row in rows],
            "upper quartile": [row.days.upper_quartile or 0.0 for row in rows],
        },
        title="Days from referral to the first education start",
        x_label="Transition kind of that start",
        y_label="Days",
    )
    return Section(
        "From referral to education",
        "How long it took from the referral to the young person's first education start, "
        "for those who started one by the as-of date.",
        charts=[Chart("time_to_education", chart, "Quartiles of the days it took.")],
        tables=[table("time_to_education", "Days from referral to education start.")],
    )


def _contacts(outcomes: Outcomes, table: TableMaker) -> Section:
    contacts = outcomes.contacts
    channels = [rate for rate in contacts.by_channel if rate.value != ALL and rate.contacts]
    places = [rate for rate in contacts.by_place if rate.value != ALL and rate.contacts]
    by_channel = bar_chart(
        [_label(rate.value) for rate in channels],
        {"contacts per young person per week": [rate.per_person_week or 0.0 for rate in channels]},
        title="Contacts per young person per week, by channel",
        x_label="Channel",
        y_label="Contacts per person-week",
    )
    by_place = bar_chart(
        [_label(rate.value) for rate in places],
        {"contacts per young person per week": [rate.per_person_week or 0.0 for rate in places]},
        title="Contacts per young person per week, by place",
        x_label="Place",
        y_label="Contacts per person-week",
    )
    weeks = contacts.weeks
    weekly = line_chart(
        [week.week for week in weeks],
        {
            "contacts per young person": [
                week.contacts / week.people if week.people else None for week in weeks
            ],
            "reached per young person": [
                week.reached / week.people if week.people else None for week in weeks
            ],
        },
        title="Contacts per young person, week by week",
        x_label="Week (Monday)",
        y_label="Contacts per person",
    )
    return Section(
        "How contact was kept",
        "Contacts per young person per week they were followed (from enrolment to the "
        "case's closing or the as-of date), by channel and by place, and week by week. "
        "Attempts that did not reach the young person count as contacts; the tables give "
        "the share that reached them.",
        charts=[
            Chart("contacts_by_channel", by_channel, "Contacts by channel."),
            Chart("contacts_by_place", by_place, "Contacts by place."),
            Chart("contact_weeks", weekly, "Contacts per young person, week by week."),
        ],
        tables=[
            table("contacts_by_channel", "Contacts by channel."),
            table("contacts_by_place", "Contacts by place."),
            table("contact_weeks", "Contacts week by week."),
        ],
    )


def _dropouts(outcomes: Outcomes, table: TableMaker) -> Section:
    timing = [
        row
        for row in outcomes.dropouts.timing
        if row.since == "education_start" and row.transition_kind not in (ALL, _NO_EDUCATION)
    ]
    buckets = list(dict.fromkeys(row.bucket for row in timing))
    kinds = list(dict.fromkeys(row.transition_kind for row in timing if row.dropouts))
    counts = {(row.transition_kind, row.bucket): row.dropouts for row in timing}
    chart = bar_chart(
        buckets,
        {
            _label(kind): [float(counts.get((kind, bucket), 0)) for bucket in buckets]
            for kind in kinds
        },
        title="Dropouts by time since the education started",
        x_label="Time since the education started",
        y_label="Dropouts",
        stacked=True,
    )
    return Section(
        "Dropouts and when they came",
        "Dropouts (reported by the institution, or the transition abandoned after the "
        "education started) by how long after the start they came, stacked by transition "
        "kind. The tables also time them from the transition's own start.",
        charts=[Chart("dropout_timing", chart, "Dropouts by weeks since the start.")],
        tables=[
            table("dropouts", "Dropouts by transition kind."),
            table(
                "dropout_timing",
                "Dropouts by time since the education's and the transition's start.",
            ),
        ],
    )


def _decisions(outcomes: Outcomes, table: TableMaker) -> Section:
    rows = [row for row in outcomes.decisions if row.decision_type != ALL and row.decisions]
    chart = bar_chart(
        [_label(row.decision_type) for row in rows],
        {
            "decisions": [float(row.decisions) for row in rows],
            "not fully in favour": [float(row.not_fully_in_favour) for row in rows],
            "appealed": [float(row.appealed) for row in rows],
            "revoked": [float(row.revoked) for row in rows],
        },
        title="Authority decisions and appeals",
        x_label="Decision",
        y_label="Decisions",
    )
    return Section(
        "Decisions and appeals",
        "The authority decisions made by the as-of date, how many were not fully in the "
        "young person's favour, appealed or revoked, and how the appeals ended.",
        charts=[Chart("decisions", chart, "Decisions by type.")],
        tables=[table("decisions", "Decisions and appeals by type.")],
    )
