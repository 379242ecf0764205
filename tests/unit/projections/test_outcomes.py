"""The outcomes read model and its figures as of a date: small hand-computed histories on
the in-memory app, projected into SQLite and PostgreSQL; generated histories give the same
tables and figures in any batch size, and a rebuild gives what the increments gave."""

from __future__ import annotations

import tempfile
from datetime import date, datetime, timedelta
from itertools import zip_longest
from pathlib import Path
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.application import CommandContext, Overgang
from domain.values import ReferralDetails
from domain.vocabulary import (
    AppealOutcome,
    CaseOutcome,
    Channel,
    ErasureRequester,
    Place,
    ReadinessLevel,
    ReviewOutcome,
    TransitionKind,
)
from infra.runner import ProjectionRunner
from projections.outcome_figures import (
    CurvePoint,
    Distribution,
    Outcomes,
    RetentionPoint,
    compute_outcomes,
    kaplan_meier,
    outcomes_as_of,
    quantile,
    retention_point,
)
from projections.outcomes import OutcomesProjection, OutcomesView
from projections.store import Row, SQLiteViewStore, ViewStore
from tests.factories import (
    PARTNER,
    a_contact,
    a_context,
    a_counsellor,
    a_referral,
    a_transition,
    an_institution,
    decision_content,
)
from tests.fakes import DEFAULT_START, FakeClock
from tests.strategies import Refer, World, histories, perform
from tests.strategies import Step as HistoryStep

T0 = DEFAULT_START  # Monday 2024-03-04 09:00 UTC
DAY = timedelta(days=1)


@pytest.fixture
def runner(app: Overgang, store: ViewStore) -> ProjectionRunner:
    return ProjectionRunner(app, store, [OutcomesProjection()], batch_size=3)


def figures(runner: ProjectionRunner, as_of: datetime) -> Outcomes:
    runner.catch_up()
    with runner.store.transaction(readonly=True) as cur:
        return outcomes_as_of(cur, as_of)


def dump(store: ViewStore) -> dict[str, list[Row]]:
    with store.transaction(readonly=True) as cur:
        return {
            table: cur.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
            for table in OutcomesProjection.base_tables
        }


class Story:
    """Writes a history whose facts happened at chosen times (the clock stands later)."""

    def __init__(self, app: Overgang, clock: FakeClock) -> None:
        self.app = app
        clock.set(T0 + 800 * DAY)
        self.counsellor = a_counsellor(app)

    def enrolled(self, day: float = 0, referred: float | None = None) -> UUID:
        ctx = a_context(PARTNER, occurred_at=T0 + (day if referred is None else referred) * DAY)
        person: UUID = self.app.refer(a_referral(), ctx).ids["young_person_id"]
        self.app.review_referral(
            person, ReviewOutcome.ACCEPTED, date(2024, 3, 1), "test note", self.ctx(day)
        )
        self.app.enrol(person, self.counsellor, None, self.ctx(day))
        return person

    def ctx(self, day: float) -> CommandContext:
        return a_context(occurred_at=T0 + day * DAY)

    def education(
        self,
        person: UUID,
        started: float,
        *,
        kind: TransitionKind = TransitionKind.OFFER_TO_OFFER,
        transition_started: float | None = None,
        institution: UUID | None = None,
    ) -> UUID:
        began = started - 10 if transition_started is None else transition_started
        transition: UUID = self.app.start_transition(
            person, a_transition(kind=kind), self.ctx(began)
        ).ids["transition_id"]
        self.app.start_education(person, transition, institution, self.ctx(started))
        return transition

    def dropout(self, person: UUID, day: float, institution: UUID) -> None:
        self.app.report_dropout(person, institution, "test note", self.ctx(day))

    def close(self, person: UUID, day: float, outcome: CaseOutcome) -> None:
        self.app.close_case(person, outcome, "test note", self.ctx(day))

    def erase(self, person: UUID, day: float) -> None:
        self.app.erase_personal_data(person, ErasureRequester.GUARDIAN, "GDPR", self.ctx(day))


@pytest.fixture
def story(app: Overgang, clock: FakeClock) -> Story:
    return Story(app, clock)


# --- statistics by hand -----------------------------------------------------------------------


def test_quantiles_interpolate_between_ordered_values() -> None:
    assert quantile([], 0.5) is None
    assert quantile([7.0], 0.25) == 7.0
    assert quantile([1.0, 2.0, 3.0, 10.0], 0.5) == 2.5
    assert quantile([1.0, 2.0, 3.0, 10.0], 0.25) == 1.75
    assert quantile([1.0, 2.0, 3.0, 10.0], 0.75) == 4.75


def test_kaplan_meier_by_hand() -> None:
    # Five spells: dropouts on days 10 and 30, censored on days 20, 50 and 100.
    curve = kaplan_meier([(10, True), (20, False), (30, True), (50, False), (100, False)])

    assert curve == (
        CurvePoint(10, 5, 1, 0, 0.8),
        CurvePoint(20, 4, 0, 1, 0.8),
        CurvePoint(30, 3, 1, 0, 0.8 * (1 - 1 / 3)),
        CurvePoint(50, 2, 0, 1, 0.8 * (1 - 1 / 3)),
        CurvePoint(100, 1, 0, 1, 0.8 * (1 - 1 / 3)),
    )
    assert retention_point(curve, 3, 91) == RetentionPoint(3, 91, 1, 0.8 * (1 - 1 / 3))
    assert retention_point(curve, 6, 182) == RetentionPoint(6, 182, 0, None)


def test_a_dropout_on_the_day_counts_before_a_censoring_and_zero_is_known_for_ever() -> None:
    curve = kaplan_meier([(5, True), (5, False), (8, True)])

    assert curve == (CurvePoint(5, 3, 1, 1, 1 - 1 / 3), CurvePoint(8, 1, 1, 0, 0.0))
    # Nobody is followed for a year, but nobody can still be in education either.
    assert retention_point(curve, 12, 365) == RetentionPoint(12, 365, 0, 0.0)
    assert retention_point(curve, 3, 5) == RetentionPoint(3, 5, 3, 1 - 1 / 3)


# --- hand-computed histories ------------------------------------------------------------------


def test_counts_and_time_to_education(
    app: Overgang, story: Story, runner: ProjectionRunner
) -> None:
    college = an_institution(app)
    first = story.enrolled(day=0)
    story.education(first, started=30, kind=TransitionKind.SCHOOL_TO_YOUTH_EDUCATION)
    story.dropout(first, 50, college)
    second = story.enrolled(day=2)
    story.education(second, started=42, kind=TransitionKind.BASIC_TO_MAIN_COURSE)
    app.refer(a_referral(), a_context(PARTNER, occurred_at=T0 + 5 * DAY))  # never enrolled

    outcomes = figures(runner, T0 + 60 * DAY)

    counts = outcomes.counts
    assert (counts.referred, counts.enrolled, counts.open_cases) == (3, 2, 2)
    assert (counts.started_education, counts.in_education, counts.dropped_out) == (2, 1, 1)
    assert counts.erased == 0
    assert dict(counts.closed_by_outcome) == {outcome.value: 0 for outcome in CaseOutcome}
    by_kind = {t.transition_kind: t.days for t in outcomes.time_to_education}
    assert by_kind["all"] == Distribution(2, 35.0, 32.5, 37.5)
    assert by_kind["school_to_youth_education"] == Distribution(1, 30.0, 30.0, 30.0)
    assert by_kind["basic_to_main_course"] == Distribution(1, 40.0, 40.0, 40.0)
    assert by_kind["bridge_building"] == Distribution(0, None, None, None)
    [cohort] = outcomes.cohorts
    assert (cohort.quarter, cohort.referred, cohort.enrolled, cohort.started_education) == (
        "2024-Q1",
        3,
        2,
        2,
    )
    [dropouts] = [d for d in outcomes.dropouts.by_kind if d.transition_kind == "all"]
    assert (dropouts.spells, dropouts.dropouts, dropouts.reported, dropouts.abandoned) == (
        2,
        1,
        1,
        0,
    )
    assert dropouts.days_since_education_start == Distribution(1, 20.0, 20.0, 20.0)
    timing = {
        (t.since, t.bucket): t.dropouts
        for t in outcomes.dropouts.timing
        if t.transition_kind == "school_to_youth_education" and t.dropouts
    }
    # Twenty days after the education start, thirty after the transition's.
    assert timing == {("education_start", "2-4 weeks"): 1, ("transition_start", "4-8 weeks"): 1}


def test_facts_after_the_date_do_not_count(
    app: Overgang, story: Story, runner: ProjectionRunner
) -> None:
    college = an_institution(app)
    person = story.enrolled(day=0)
    story.education(person, started=30)
    story.dropout(person, 50, college)

    before_education = figures(runner, T0 + 25 * DAY).counts
    in_education = figures(runner, T0 + 40 * DAY).counts
    after = figures(runner, T0 + 60 * DAY).counts

    assert (before_education.started_education, before_education.dropped_out) == (0, 0)
    assert (in_education.started_education, in_education.in_education) == (1, 1)
    assert (in_education.dropped_out, after.in_education, after.dropped_out) == (0, 0, 1)
    assert figures(runner, T0 - DAY).counts.referred == 0


def test_retention_kaplan_meier_with_censoring(
    app: Overgang, story: Story, runner: ProjectionRunner
) -> None:
    college = an_institution(app)
    people = [story.enrolled(day=0) for _ in range(5)]
    for person in people:
        story.education(person, started=10, kind=TransitionKind.OFFER_TO_OFFER)
    story.dropout(people[0], 10 + 10, college)  # dropout after 10 days
    story.close(people[1], 10 + 20, CaseOutcome.MOVED)  # censored after 20
    story.dropout(people[2], 10 + 30, college)  # dropout after 30
    story.erase(people[4], 10 + 50)  # censored after 50; people[3] until the date

    outcomes = figures(runner, T0 + 110 * DAY)  # 100 days after the education start

    curves = {curve.transition_kind: curve for curve in outcomes.retention}
    curve = curves["offer_to_offer"]
    third = 0.8 * (1 - 1 / 3)
    assert (curve.spells, curve.dropouts, curve.censored) == (5, 2, 3)
    assert curve.curve == (
        CurvePoint(10, 5, 1, 0, 0.8),
        CurvePoint(20, 4, 0, 1, 0.8),
        CurvePoint(30, 3, 1, 0, third),
        CurvePoint(50, 2, 0, 1, third),
        CurvePoint(100, 1, 0, 1, third),
    )
    assert curve.points == (
        RetentionPoint(3, 91, 1, third),
        RetentionPoint(6, 182, 0, None),
        RetentionPoint(12, 365, 0, None),
    )
    assert curves["all"].curve == curve.curve
    assert curves["bridge_building"].spells == 0
    assert curves["bridge_building"].points[0] == RetentionPoint(3, 91, 0, None)
    counts = outcomes.counts
    assert (counts.referred, counts.erased, counts.in_education, counts.dropped_out) == (5, 1, 1, 2)
    assert dict(counts.closed_by_outcome)["moved"] == 1

    # Twenty-five days in: the later dropout and the erasure have not happened yet.
    early = {c.transition_kind: c for c in figures(runner, T0 + 35 * DAY).retention}
    assert early["offer_to_offer"].curve == (
        CurvePoint(10, 5, 1, 0, 0.8),
        CurvePoint(20, 4, 0, 1, 0.8),
        CurvePoint(25, 3, 0, 3, 0.8),
    )


def test_a_case_closed_in_education_goes_on_counting_as_retained(
    story: Story, runner: ProjectionRunner
) -> None:
    person = story.enrolled(day=0)
    story.education(person, started=10)
    story.close(person, 40, CaseOutcome.IN_EDUCATION)

    outcomes = figures(runner, T0 + 210 * DAY)

    [overall] = [c for c in outcomes.retention if c.transition_kind == "all"]
    assert overall.curve == (CurvePoint(200, 1, 0, 1, 1.0),)
    assert overall.points[:2] == (RetentionPoint(3, 91, 1, 1.0), RetentionPoint(6, 182, 1, 1.0))
    assert (outcomes.counts.in_education, outcomes.counts.open_cases) == (1, 0)


def test_a_backdated_education_start_takes_the_dropout_reported_before_it(
    app: Overgang, story: Story, runner: ProjectionRunner
) -> None:
    college = an_institution(app)
    person = story.enrolled(day=0)
    transition = app.start_transition(
        person, a_transition(kind=TransitionKind.BENEFIT_TO_EDUCATION), story.ctx(5)
    ).ids["transition_id"]
    story.dropout(person, 40, college)
    # Recorded after the dropout, but it happened before it.
    app.start_education(person, transition, college, story.ctx(20))

    outcomes = figures(runner, T0 + 60 * DAY)

    curves = {c.transition_kind: c for c in outcomes.retention}
    assert curves["benefit_to_education"].curve == (CurvePoint(20, 1, 1, 0, 0.0),)
    no_education = outcomes.dropouts.by_kind[-1]
    assert (no_education.transition_kind, no_education.dropouts) == ("no_education", 0)
    # As of a date between the two, there was a dropout and no education yet.
    between = figures(runner, T0 + 10 * DAY)
    assert between.counts.started_education == 0
    assert figures(runner, T0 + 45 * DAY).counts.dropped_out == 1


def test_a_dropout_without_an_education_and_a_second_report_count_once(
    app: Overgang, story: Story, runner: ProjectionRunner
) -> None:
    college, other = an_institution(app), an_institution(app)
    person = story.enrolled(day=0)
    story.dropout(person, 3, other)  # before any education: fits no spell
    story.education(person, started=10, institution=college)
    later = story.education(person, started=12, institution=other)
    story.dropout(person, 20, college)  # the education at the reporting institution
    story.dropout(person, 22, college)  # the same dropout again
    app.abandon_transition(person, later, "test reason", story.ctx(30))

    dropouts = {d.transition_kind: d for d in figures(runner, T0 + 40 * DAY).dropouts.by_kind}

    assert (dropouts["all"].spells, dropouts["all"].reported, dropouts["all"].abandoned) == (
        2,
        1,
        1,
    )
    assert dropouts["all"].days_since_education_start == Distribution(2, 14.0, 12.0, 16.0)
    assert (dropouts["no_education"].dropouts, dropouts["no_education"].reported) == (1, 1)


def test_contacts_per_young_person_per_week(
    app: Overgang, story: Story, runner: ProjectionRunner
) -> None:
    person = story.enrolled(day=0, referred=-5)  # enrolled Monday 4 March
    closed = story.enrolled(day=0)

    def contact(who: UUID, day: float, **fields: object) -> None:
        app.record_contact(who, a_contact(**fields), story.ctx(day))

    contact(closed, 7, channel=Channel.MEETING, place=Place.OFFICE, reached=True)
    story.close(closed, 9, CaseOutcome.EMPLOYED)  # Wednesday of the second week

    contact(person, -4, channel=Channel.PHONE, place=None)  # before enrolment: not followed
    contact(person, 0, channel=Channel.SMS, place=None, reached=True)
    contact(person, 1, channel=Channel.SMS, place=None, reached=False)
    contact(person, 2, channel=Channel.MEETING, place=Place.CAFE, reached=True)
    contact(person, 8, channel=Channel.PHONE, place=None, reached=False)
    contact(person, 21, channel=Channel.SMS, place=None)  # the date's week: not over yet

    contacts = figures(runner, T0 + 23 * DAY).contacts  # Wednesday of the fourth week

    # Three whole weeks for the first, two (the week of the closing included) for the other.
    assert contacts.person_weeks == 5
    channels = {rate.value: rate for rate in contacts.by_channel}
    assert (channels["sms"].contacts, channels["sms"].reached) == (2, 1)
    assert channels["sms"].per_person_week == pytest.approx(2 / 5)
    assert channels["sms"].reached_share == 0.5
    assert (channels["phone"].contacts, channels["phone"].reached_share) == (1, 0.0)
    assert (channels["meeting"].contacts, channels["meeting"].reached) == (2, 2)
    assert (channels["video"].contacts, channels["video"].reached_share) == (0, None)
    assert (channels["all"].contacts, channels["all"].per_person_week) == (5, 1.0)
    places = {rate.value: (rate.contacts, rate.reached) for rate in contacts.by_place}
    assert places == {
        "office": (1, 1),
        "education_site": (0, 0),
        "home": (0, 0),
        "outdoors": (0, 0),
        "cafe": (1, 1),
        "car": (0, 0),
        "other": (0, 0),
        "unspecified": (3, 1),
        "all": (5, 3),
    }
    assert [(w.week, w.people, w.contacts, w.reached) for w in contacts.weeks] == [
        ("2024-03-04", 2, 3, 2),
        ("2024-03-11", 2, 2, 1),
        ("2024-03-18", 1, 0, 0),
    ]


def test_decisions_and_appeals_as_of_a_date(
    app: Overgang, story: Story, runner: ProjectionRunner
) -> None:
    person = story.enrolled(day=0)
    assessed = app.assess_readiness(
        person, ReadinessLevel.ACTIVITY_READY, decision_content(story.counsellor), story.ctx(10)
    ).ids["decision_id"]
    sanction = app.decide_sanction(
        person, "test", decision_content(story.counsellor), story.ctx(11)
    ).ids["decision_id"]
    app.make_other_decision(
        person,
        "test",
        decision_content(story.counsellor, fully_in_favour=True, appeal_guidance=None),
        story.ctx(12),
    )
    app.appeal_decision(person, assessed, "test note", story.ctx(15))
    app.decide_appeal(person, assessed, AppealOutcome.CHANGED, "test note", story.ctx(40))
    app.appeal_decision(person, sanction, "test note", story.ctx(16))
    app.revoke_decision(person, sanction, "test reason", story.ctx(50))

    def rows(as_of: float) -> dict[str, list[str]]:
        header, table = figures(runner, T0 + as_of * DAY).tables()["decisions"]
        assert header == [
            "decision_type",
            "decisions",
            "not_fully_in_favour",
            "appealed",
            "appeals_pending",
            "appeal_upheld",
            "appeal_changed",
            "appeal_annulled",
            "appeal_remitted",
            "revoked",
        ]
        return {row[0]: row[1:] for row in table}

    assert rows(20) == {
        "readiness_assessment": ["1", "1", "1", "1", "0", "0", "0", "0", "0"],
        "education_injunction": ["0", "0", "0", "0", "0", "0", "0", "0", "0"],
        "sanction": ["1", "1", "1", "1", "0", "0", "0", "0", "0"],
        "other": ["1", "0", "0", "0", "0", "0", "0", "0", "0"],
        "all": ["3", "2", "2", "2", "0", "0", "0", "0", "0"],
    }
    later = rows(60)
    assert later["readiness_assessment"] == ["1", "1", "1", "0", "0", "1", "0", "0", "0"]
    assert later["sanction"] == ["1", "1", "1", "1", "0", "0", "0", "0", "1"]
    assert rows(11.5)["all"] == ["2", "2", "0", "0", "0", "0", "0", "0", "0"]


# --- erasure and personal data ----------------------------------------------------------------


def test_erasure_keeps_the_facts_and_no_personal_text_is_stored(
    app: Overgang, story: Story, store: ViewStore, runner: ProjectionRunner
) -> None:
    college = an_institution(app)
    person = story.enrolled(day=0)
    story.education(person, started=10, institution=college)
    app.record_contact(person, a_contact(note="test secret note"), story.ctx(12))
    story.dropout(person, 30, college)
    story.erase(person, 40)

    outcomes = figures(runner, T0 + 50 * DAY)

    counts = outcomes.counts
    assert (counts.referred, counts.started_education, counts.dropped_out) == (1, 1, 1)
    assert (counts.erased, counts.open_cases, counts.in_education) == (1, 0, 0)
    assert figures(runner, T0 + 35 * DAY).counts.erased == 0
    stored = repr(dump(store))
    for personal in ("Test Person", "test secret note", "test note", "test reason", "+45"):
        assert personal not in stored


# --- the tables for CSV -----------------------------------------------------------------------


def test_tables_are_strings_in_a_fixed_shape(story: Story, runner: ProjectionRunner) -> None:
    person = story.enrolled(day=0)
    story.education(person, started=10)

    tables = figures(runner, T0 + 110 * DAY).tables()

    assert list(tables) == [
        "counts",
        "cohorts",
        "retention",
        "retention_curve",
        "retention_spells",
        "time_to_education",
        "contacts_by_channel",
        "contacts_by_place",
        "contact_weeks",
        "dropouts",
        "dropout_timing",
        "decisions",
    ]
    for header, rows in tables.values():
        assert all(len(row) == len(header) for row in rows)
        assert all(isinstance(cell, str) for row in rows for cell in row)
    assert tables["counts"][1][0] == ["as_of", "2024-06-22T09:00:00.000000+00:00"]
    assert tables["retention"][1][0] == ["all", "3", "91", "1", "1.0000"]
    assert tables["time_to_education"][1][0] == ["all", "1", "10.0", "10.0", "10.0"]


# --- any batch size, rebuilt or not -----------------------------------------------------------


def record(cases: list[tuple[ReferralDetails, list[HistoryStep]]]) -> World:
    """Every case's referral, then their commands interleaved, so batches mix people."""
    world = World.new()
    for referral, _ in cases:
        Refer(referral).run(world, a_context(PARTNER))
    for round_of_steps in zip_longest(*(steps for _, steps in cases)):
        for person, step in zip(world.people, round_of_steps, strict=True):
            if step is not None:
                perform(world, person, step)
    return world


@given(
    cases=st.lists(histories(max_steps=25), min_size=1, max_size=3),
    batch_size=st.integers(min_value=1, max_value=6),
    days_before_now=st.integers(min_value=0, max_value=40),
)
def test_generated_histories_give_the_same_view_in_any_batch_size_and_rebuilt(
    cases: list[tuple[ReferralDetails, list[HistoryStep]]], batch_size: int, days_before_now: int
) -> None:
    world = record(cases)
    app, as_of = world.app, world.clock() - days_before_now * DAY

    with tempfile.TemporaryDirectory() as folder:
        store = SQLiteViewStore(Path(folder) / "views.db")
        other = SQLiteViewStore(Path(folder) / "other.db")
        try:
            ProjectionRunner(app, store, [OutcomesProjection()], batch_size=1000).catch_up()
            in_one_batch = dump(store)
            with store.transaction(readonly=True) as cur:
                expected = outcomes_as_of(cur, as_of)
            # Incrementally, in small batches, into another store.
            ProjectionRunner(app, other, [OutcomesProjection()], batch_size=batch_size).catch_up()
            assert dump(other) == in_one_batch
            with other.transaction(readonly=True) as cur:
                assert outcomes_as_of(cur, as_of) == expected
            # Rebuilt from zero over the live tables.
            runner = ProjectionRunner(app, store, [OutcomesProjection()], batch_size=batch_size)
            runner.rebuild("outcomes")
            assert dump(store) == in_one_batch
            with store.transaction(readonly=True) as cur:
                assert compute_outcomes(OutcomesView.facts(cur, as_of), as_of) == expected
        finally:
            store.close()
            other.close()

    counts = expected.counts
    # Referred as the clock went: all of them by now, maybe fewer as of days before.
    assert counts.referred <= len(world.people)
    assert counts.referred == len(world.people) or days_before_now > 0
    assert counts.enrolled <= counts.referred
    assert counts.in_education <= counts.started_education <= counts.enrolled
    assert sum(n for _, n in counts.closed_by_outcome) <= counts.enrolled
    for curve in expected.retention:
        survivals = [point.survival for point in curve.curve]
        assert survivals == sorted(survivals, reverse=True)
        assert curve.spells == curve.dropouts + curve.censored
