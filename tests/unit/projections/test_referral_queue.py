"""The referral queue read model, fed from the in-memory event store, on SQLite and PostgreSQL."""

from __future__ import annotations

import tempfile
from datetime import date, timedelta
from itertools import zip_longest
from pathlib import Path
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.application import Overgang
from domain.values import ReferralDetails
from domain.vocabulary import CaseStatus, ConsentScope, ErasureRequester, ReviewOutcome
from infra.runner import ProjectionRunner
from projections.columns import iso_utc
from projections.referral_queue import QueueCursor, ReferralQueueProjection, ReferralQueueView
from projections.store import Row, SQLiteViewStore, ViewStore
from tests import factories as f
from tests.factories import (
    PARTNER,
    a_context,
    a_referral,
    an_institution,
    enrolled_young_person,
    referred_young_person,
)
from tests.fakes import DEFAULT_START, FakeClock
from tests.strategies import Refer, Step, World, histories, perform
from tests.views import logged_events, read, shredded

TODAY = DEFAULT_START.date()
PENDING = (CaseStatus.REFERRED, CaseStatus.WAITLISTED)


@pytest.fixture
def runner(app: Overgang, store: ViewStore) -> ProjectionRunner:
    return ProjectionRunner(app, store, [ReferralQueueProjection()], batch_size=7)


def queue(
    runner: ProjectionRunner,
    limit: int | None = None,
    after: QueueCursor | None = None,
    include_waitlisted: bool = True,
) -> list[Row]:
    return read(
        runner,
        lambda cur: ReferralQueueView.pending(
            cur, today=TODAY, limit=limit, after=after, include_waitlisted=include_waitlisted
        ),
    )


def queued_ids(runner: ProjectionRunner, include_waitlisted: bool = True) -> list[str]:
    return [row["young_person_id"] for row in queue(runner, include_waitlisted=include_waitlisted)]


def refer(app: Overgang, days_ago: float = 0, **referral: object) -> UUID:
    """A referral that happened ``days_ago`` (recorded now)."""
    occurred_at = app.clock() - timedelta(days=days_ago)
    result = app.refer(a_referral(**referral), a_context(PARTNER, occurred_at=occurred_at))
    return result.ids["young_person_id"]


def review(app: Overgang, young_person_id: UUID, outcome: ReviewOutcome, on: date) -> None:
    app.review_referral(young_person_id, outcome, on, "test note", a_context())


def dump(store: ViewStore) -> list[Row]:
    with store.transaction(readonly=True) as cur:
        return cur.execute("SELECT * FROM referral_queue ORDER BY young_person_id").fetchall()


# --- what is in the queue, in which order --------------------------------------------------------


def test_referrals_wait_oldest_first_by_when_they_were_made(
    app: Overgang, runner: ProjectionRunner
) -> None:
    # Recorded in another order than they happened: the world's time decides.
    middle = refer(app, days_ago=5)
    newest = refer(app, days_ago=1)
    oldest = refer(app, days_ago=9)

    rows = queue(runner)

    assert [row["young_person_id"] for row in rows] == [oldest.hex, middle.hex, newest.hex]
    assert [row["days_waiting"] for row in rows] == [9, 5, 1]
    assert rows[0]["referred_at"] == iso_utc(DEFAULT_START - timedelta(days=9))
    assert {row["status"] for row in rows} == {"referred"}


def test_referrals_made_at_the_same_moment_are_ordered_by_id(
    app: Overgang, runner: ProjectionRunner
) -> None:
    people = [refer(app) for _ in range(4)]

    assert queued_ids(runner) == sorted(p.hex for p in people)


def test_accepted_and_declined_referrals_leave_and_waitlisted_ones_stay_marked(
    app: Overgang, runner: ProjectionRunner
) -> None:
    accepted, declined, waitlisted, untouched = (refer(app, days_ago=d) for d in (4, 3, 2, 1))
    review(app, accepted, ReviewOutcome.ACCEPTED, date(2024, 3, 4))
    review(app, declined, ReviewOutcome.DECLINED, date(2024, 3, 4))
    review(app, waitlisted, ReviewOutcome.WAITLISTED, date(2024, 3, 4))

    rows = queue(runner)

    assert [(row["young_person_id"], row["status"]) for row in rows] == [
        (waitlisted.hex, "waitlisted"),
        (untouched.hex, "referred"),
    ]
    assert [row["waitlisted_on"] for row in rows] == ["2024-03-04", None]
    assert queued_ids(runner, include_waitlisted=False) == [untouched.hex]
    counts = read(
        runner,
        lambda cur: (
            ReferralQueueView.count(cur),
            ReferralQueueView.count(cur, include_waitlisted=False),
        ),
    )
    assert counts == (2, 1)

    # Taken on at a later review: it leaves the queue.
    review(app, waitlisted, ReviewOutcome.ACCEPTED, date(2024, 3, 11))
    assert queued_ids(runner) == [untouched.hex]


def test_an_enrolled_young_person_is_not_in_the_queue(
    app: Overgang, runner: ProjectionRunner
) -> None:
    enrolled_young_person(app)

    assert queue(runner) == []


def test_consents_follow_what_is_given_and_withdrawn_while_pending(
    app: Overgang, runner: ProjectionRunner
) -> None:
    institution_id = an_institution(app)
    scopes = (
        ConsentScope.CASE_WORK,
        ConsentScope.SMS_CONTACT,
        ConsentScope.SHARING_WITH_INSTITUTION,
    )
    person = referred_young_person(app, institution_id=institution_id, consent_scopes=scopes)

    [row] = queue(runner)
    assert row["institution_id"] == institution_id.hex
    assert row["consent_scopes"] == ["case_work", "sms_contact", "sharing_with_institution"]
    assert row["consents"] == [
        {"scope": "case_work", "institution_id": None},
        {"scope": "sms_contact", "institution_id": None},
        {"scope": "sharing_with_institution", "institution_id": institution_id.hex},
    ]

    app.record_consent(person, ConsentScope.PHONE_CONTACT, None, a_context())
    app.withdraw_consent(person, ConsentScope.SMS_CONTACT, None, a_context())
    app.withdraw_consent(person, ConsentScope.SHARING_WITH_INSTITUTION, institution_id, a_context())

    [row] = queue(runner)
    assert row["consent_scopes"] == ["case_work", "phone_contact"]


def test_a_scope_given_both_unbound_and_for_an_institution_is_listed_once(
    app: Overgang, runner: ProjectionRunner
) -> None:
    institution_id = an_institution(app)
    person = referred_young_person(app)
    app.record_consent(person, ConsentScope.CASE_WORK, institution_id, a_context())

    [row] = queue(runner)

    assert row["consents"] == [
        {"scope": "case_work", "institution_id": None},
        {"scope": "case_work", "institution_id": institution_id.hex},
        {"scope": "sms_contact", "institution_id": None},
    ]
    assert row["consent_scopes"] == ["case_work", "sms_contact"]


def test_days_waiting_count_from_the_referral_date_to_today(
    app: Overgang, runner: ProjectionRunner
) -> None:
    refer(app)

    def waited(today: date) -> int:
        rows = read(runner, lambda cur: ReferralQueueView.pending(cur, today=today))
        return int(rows[0]["days_waiting"])

    assert waited(TODAY) == 0
    assert waited(TODAY + timedelta(days=14)) == 14
    assert waited(TODAY - timedelta(days=1)) == 0


# --- pages -------------------------------------------------------------------------------------


def test_pages_continue_after_a_cursor_even_when_its_entry_has_left(
    app: Overgang, runner: ProjectionRunner
) -> None:
    people = [refer(app, days_ago=10 - d) for d in range(5)]
    expected = [p.hex for p in people]

    first = queue(runner, limit=2)
    assert [row["young_person_id"] for row in first] == expected[:2]
    cursor = QueueCursor.decode(QueueCursor.after_row(first[-1]).encode())
    assert cursor == QueueCursor(first[-1]["referred_at"], expected[1])

    # The last entry seen is taken on before the next page is asked for.
    review(app, people[1], ReviewOutcome.ACCEPTED, date(2024, 3, 4))
    second = queue(runner, limit=2, after=cursor)
    assert [row["young_person_id"] for row in second] == expected[2:4]

    last = queue(runner, limit=2, after=QueueCursor.after_row(second[-1]))
    assert [row["young_person_id"] for row in last] == expected[4:]
    assert queue(runner, limit=0) == []
    with pytest.raises(ValueError):
        queue(runner, limit=-1)


@pytest.mark.parametrize("text", ["", "not base64!", "bm8tc2VwYXJhdG9y", "YXxi"])
def test_a_cursor_that_was_not_made_here_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a referral queue cursor"):
        QueueCursor.decode(text)


def test_entries_of_many_young_people_in_one_read(app: Overgang, runner: ProjectionRunner) -> None:
    waiting = refer(app, days_ago=3)
    enrolled = enrolled_young_person(app).young_person_id
    unknown = UUID(int=1)
    ids = [waiting.hex, enrolled.hex, unknown.hex]

    rows = read(runner, lambda cur: ReferralQueueView.of_young_people(cur, ids, today=TODAY))

    assert list(rows) == [waiting.hex]
    assert rows[waiting.hex]["days_waiting"] == 3


# --- personal data -------------------------------------------------------------------------------


def test_an_erased_referral_leaves_the_queue_and_the_queue_holds_no_personal_data(
    app: Overgang, runner: ProjectionRunner, store: ViewStore
) -> None:
    erased = refer(app, name="Test Person Erased", reason="test reason secret")
    kept = refer(app, name="Test Person Kept", referrer_name="Test Referrer Kept")
    runner.catch_up()
    everything = repr(dump(store))
    assert "Test" not in everything
    assert "secret" not in everything

    app.erase_personal_data(erased, ErasureRequester.YOUNG_PERSON, "GDPR art. 17", a_context())

    assert queued_ids(runner) == [kept.hex]
    assert erased.hex not in repr(dump(store))


def a_busy_history(app: Overgang, clock: FakeClock) -> None:
    institution_id = an_institution(app)
    people = [refer(app, days_ago=d, institution_id=institution_id) for d in (6, 2, 4, 4, 1)]
    clock.advance(hours=3)
    review(app, people[0], ReviewOutcome.WAITLISTED, date(2024, 3, 4))
    app.record_consent(people[0], ConsentScope.PHONE_CONTACT, None, a_context())
    review(app, people[1], ReviewOutcome.DECLINED, date(2024, 3, 4))
    app.withdraw_consent(people[2], ConsentScope.SMS_CONTACT, None, a_context())
    review(app, people[3], ReviewOutcome.ACCEPTED, date(2024, 3, 4))
    app.erase_personal_data(people[4], ErasureRequester.GUARDIAN, "GDPR art. 17", a_context())
    enrolled_young_person(app)


def test_personal_fields_that_decode_as_none_are_tolerated(
    app: Overgang, clock: FakeClock, store: ViewStore
) -> None:
    a_busy_history(app, clock)
    projection = ReferralQueueProjection()
    with store.transaction() as cur:
        projection.create_tables(cur)
        projection.process(cur, [(p, shredded(e)) for p, e in logged_events(app)])

    assert sorted(row["status"] for row in dump(store)) == ["referred", "waitlisted"]


def test_batches_of_one_and_of_a_thousand_give_identical_tables(
    app: Overgang, clock: FakeClock, store: ViewStore
) -> None:
    a_busy_history(app, clock)
    ProjectionRunner(app, store, [ReferralQueueProjection()], batch_size=1).catch_up()
    one_by_one = dump(store)

    ProjectionRunner(app, store, [ReferralQueueProjection()], batch_size=1000).rebuild(
        "referral_queue"
    )

    assert dump(store) == one_by_one
    assert sorted(row["status"] for row in one_by_one) == ["referred", "waitlisted"]


# --- a property: the queue agrees with the aggregates ---------------------------------------


def record(cases: list[tuple[ReferralDetails, list[Step]]]) -> World:
    """Every case's referral, then their commands interleaved, so batches mix people."""
    world = World.new(institutions=2)
    for referral, _ in cases:
        Refer(referral).run(world, f.a_context(f.PARTNER))
    for round_of_steps in zip_longest(*(steps for _, steps in cases)):
        for person, step in zip(world.people, round_of_steps, strict=True):
            if step is not None:
                perform(world, person, step)
    return world


@given(
    cases=st.lists(histories(max_steps=20), min_size=1, max_size=4),
    batch_size=st.integers(min_value=1, max_value=5),
)
def test_the_queue_agrees_with_the_aggregates_for_any_history_and_batch_size(
    cases: list[tuple[ReferralDetails, list[Step]]], batch_size: int
) -> None:
    world = record(cases)
    app = world.app
    today = world.clock.now.date()

    with tempfile.TemporaryDirectory() as folder:
        dumps = []
        for name, size in (("small", batch_size), ("large", 1000)):
            store = SQLiteViewStore(Path(folder) / f"{name}.db")
            try:
                runner = ProjectionRunner(app, store, [ReferralQueueProjection()], batch_size=size)
                runner.catch_up()
                dumps.append(dump(store))
                with store.transaction(readonly=True) as cur:
                    rows = ReferralQueueView.pending(cur, today=today)
            finally:
                store.close()
        assert dumps[0] == dumps[1]

    aggregates = {p.id.hex: app.young_person(p.id) for p in world.people}
    pending = {k for k, person in aggregates.items() if person.status in PENDING}
    assert {row["young_person_id"] for row in rows} == pending
    assert [(r["referred_at"], r["young_person_id"]) for r in rows] == sorted(
        (r["referred_at"], r["young_person_id"]) for r in rows
    )
    for row in rows:
        person = aggregates[row["young_person_id"]]
        assert row["status"] == person.status.value
        given_consents = {f"{c['scope']}:{c['institution_id'] or ''}" for c in row["consents"]}
        assert given_consents == set(person.consents)
