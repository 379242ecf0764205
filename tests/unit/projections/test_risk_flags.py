"""The risk-flags read model: every starting rule raised, not raised, cleared and timed, on
SQLite and PostgreSQL; rule versions; and batching, failed batches and the projection's
shortcuts (evaluating only what changed, remembering states) that change nothing.

Histories are written through the in-memory application with a fake clock; "now" is handed
to the view, as the dashboard's clock would be.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from itertools import zip_longest
from pathlib import Path
from typing import Any, Literal, TypeAlias
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.application import CommandContext, Overgang
from domain.vocabulary import (
    CaseOutcome,
    Channel,
    ErasureRequester,
    Purpose,
    ReviewOutcome,
    TransitionKind,
)
from infra.runner import ProjectionRunner
from projections.columns import iso_utc
from projections.risk_flags import (
    EVERY_RULE,
    Flags,
    PersonState,
    RiskFlagsProjection,
    RiskFlagsView,
    RiskRules,
)
from projections.risk_rules import (
    DEFAULT_RULES,
    MissedWakeUps,
    QuietTransition,
    RuleBook,
    RuleVersion,
    Severity,
)
from projections.store import Params, Row, SQLiteViewStore, ViewCursor, ViewStore
from tests import strategies as s
from tests.backends import Backend
from tests.factories import (
    PARTNER,
    a_contact,
    a_context,
    a_referral,
    a_transition,
    an_institution,
    enrolled_young_person,
    new_app,
)
from tests.fakes import DEFAULT_START, FakeClock

START = DEFAULT_START  # Monday 2024-03-04 09:00 UTC: every case here is enrolled then
SECOND = timedelta(seconds=1)


def day(n: float) -> datetime:
    return START + timedelta(days=n)


def iso(moment: datetime) -> str:
    return iso_utc(moment)


def midnight(on: date) -> datetime:
    return datetime(on.year, on.month, on.day, tzinfo=UTC)


# --- the world of one test ---------------------------------------------------------------------


@dataclass
class Harness:
    """An application, a view store and the risk-flags projection between them."""

    clock: FakeClock
    app: Overgang
    store: ViewStore
    rules: Sequence[RuleVersion] = DEFAULT_RULES

    def __post_init__(self) -> None:
        self.runner = ProjectionRunner(
            self.app, self.store, [RiskFlagsProjection(self.rules)], batch_size=7
        )
        self.institution = an_institution(self.app)

    def case(self, *, plan: bool = True) -> UUID:
        """A young person enrolled at ``START`` (with a plan drafted then, by default)."""
        self.clock.set(START)
        return enrolled_young_person(self.app, plan=plan).young_person_id

    def on(self, n: float) -> CommandContext:
        """A command recorded as it happens, ``n`` days after ``START``."""
        self.clock.set(day(n))
        return a_context()

    def open(self, person: UUID, now: datetime, rule: str | None = None) -> list[Row]:
        self.runner.catch_up()
        with self.store.transaction(readonly=True) as cur:
            rows = RiskFlagsView.open_flags(cur, [person.hex], now)[person.hex]
        return [row for row in rows if rule is None or row["rule"] == rule]

    def rules_open(self, person: UUID, now: datetime) -> list[str]:
        return sorted(row["rule"] for row in self.open(person, now))

    def one(self, person: UUID, rule: str, now: datetime) -> Row:
        rows = self.open(person, now, rule)
        assert len(rows) == 1, rows
        return rows[0]

    def ended(self, person: UUID, now: datetime, rule: str | None = None) -> list[Row]:
        self.runner.catch_up()
        with self.store.transaction(readonly=True) as cur:
            rows = RiskFlagsView.ended_flags(cur, [person.hex], now)[person.hex]
        return [row for row in rows if rule is None or row["rule"] == rule]

    # --- commands, each recorded as it happens on day n ------------------------------------

    def contact(self, person: UUID, n: float, **contact: Any) -> int:
        return self.app.record_contact(person, a_contact(**contact), self.on(n)).position

    def missed_wake_up(self, person: UUID, n: float) -> int:
        return self.contact(
            person, n, channel=Channel.PHONE, purpose=Purpose.WAKE_UP, reached=False
        )

    def missed_meeting(self, person: UUID, n: float) -> int:
        return self.contact(person, n, channel=Channel.MEETING, reached=False)

    def transition(self, person: UUID, n: float) -> tuple[UUID, int]:
        result = self.app.start_transition(person, a_transition(), self.on(n))
        return result.ids["transition_id"], result.position

    def education(self, person: UUID, transition: UUID, n: float) -> int:
        return self.app.start_education(person, transition, None, self.on(n)).position

    def absence(self, person: UUID, n: float) -> int:
        today = day(n).date()
        return self.app.report_absence(
            person, self.institution, today, today, "test note", self.on(n)
        ).position

    def concern(self, person: UUID, n: float) -> int:
        return self.app.report_concern(person, self.institution, "test note", self.on(n)).position

    def close(self, person: UUID, n: float) -> int:
        result = self.app.close_case(person, CaseOutcome.IN_EDUCATION, "test", self.on(n))
        # Closing also releases the counsellor's caseload place: find the case's own event.
        written = self.app.recorder.select_notifications(start=1, limit=result.position)
        return [
            notification.id
            for notification in written
            if notification.originator_id == person and notification.topic.endswith("CaseClosed")
        ][-1]


def raised_by(row: Row) -> list[tuple[int, str]]:
    return [(ref["position"], ref["event"]) for ref in json.loads(row["raised_by"])]


def details(row: Row) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(row["details"])
    return result


@pytest.fixture
def store(backend: Backend) -> Iterator[ViewStore]:
    store = backend.view_store()
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def h(store: ViewStore) -> Harness:
    clock = FakeClock()
    return Harness(clock, new_app(clock), store)


# --- 1. a quiet transition ---------------------------------------------------------------------


def test_a_transition_without_reached_contact_for_seven_days_is_flagged(h: Harness) -> None:
    person = h.case()
    transition, started = h.transition(person, 1)
    reached = h.contact(person, 2)
    h.contact(person, 5, reached=False)  # an attempt, not contact

    assert h.open(person, day(9) - SECOND, "quiet_transition") == []
    flag = h.one(person, "quiet_transition", day(9))
    assert flag["since"] == iso(day(9))
    assert (flag["rule_version"], flag["severity"], flag["subject"]) == (1, "high", transition.hex)
    assert flag["open_until"] is None  # no education yet: watched until contact
    assert raised_by(flag) == [(started, "TransitionStarted"), (reached, "ContactRecorded")]
    assert details(flag)["threshold_days_applied"] == 7
    assert details(flag)["transition_id"] == transition.hex


def test_no_transition_means_no_quiet_transition_flag(h: Harness) -> None:
    person = h.case()
    assert h.open(person, day(20), "quiet_transition") == []


def test_a_reached_contact_clears_a_quiet_transition(h: Harness) -> None:
    person = h.case()
    h.transition(person, 0)
    assert h.rules_open(person, day(8)) == ["quiet_transition"]
    cleared = h.contact(person, 10, channel=Channel.SMS)

    assert h.open(person, day(10), "quiet_transition") == []
    assert h.one(person, "quiet_transition", day(17))["since"] == iso(day(17))
    (ended,) = h.ended(person, day(12), "quiet_transition")
    assert (ended["since"], ended["cleared_at"]) == (iso(day(7)), iso(day(10)))
    assert json.loads(ended["cleared_by"])["position"] == cleared


def test_the_first_three_weeks_of_a_new_education_have_a_five_day_threshold(
    h: Harness,
) -> None:
    person = h.case()
    transition, _ = h.transition(person, 0)
    started = h.education(person, transition, 3)
    h.contact(person, 4)

    assert h.open(person, day(9) - SECOND, "quiet_transition") == []
    flag = h.one(person, "quiet_transition", day(9))
    assert details(flag)["threshold_days_applied"] == 5
    assert (started, "EducationStarted") in raised_by(flag)
    # Eight weeks after the education started the transition is no longer watched.
    assert flag["open_until"] == iso(day(3 + 56))
    assert h.open(person, day(3 + 56), "quiet_transition") == []


def test_a_quiet_transition_past_its_first_eight_weeks_is_not_flagged(h: Harness) -> None:
    person = h.case()
    transition, _ = h.transition(person, 0)
    h.education(person, transition, 1)
    h.contact(person, 1 + 52)  # seven days later is past the window

    assert h.open(person, day(1 + 60), "quiet_transition") == []


def test_a_completed_transition_is_no_longer_watched(h: Harness) -> None:
    person = h.case()
    transition, _ = h.transition(person, 0)
    assert h.rules_open(person, day(8)) == ["quiet_transition"]
    h.app.complete_transition(person, transition, h.on(9))

    assert h.open(person, day(30), "quiet_transition") == []
    assert [row["cleared_at"] for row in h.ended(person, day(30))] == [iso(day(9))]


# --- 2. missed wake-ups in a row ---------------------------------------------------------------


def test_two_missed_wake_ups_in_a_row_are_flagged_from_the_second(h: Harness) -> None:
    person = h.case()
    first = h.missed_wake_up(person, 1)
    assert h.open(person, day(2), "missed_wake_ups") == []
    second = h.missed_wake_up(person, 2)

    assert h.open(person, day(2) - SECOND, "missed_wake_ups") == []
    flag = h.one(person, "missed_wake_ups", day(2))
    assert (flag["rule_version"], flag["severity"], flag["since"]) == (
        1,
        "medium",
        iso(day(2)),
    )
    assert raised_by(flag) == [(first, "ContactRecorded"), (second, "ContactRecorded")]
    assert details(flag) == {"in_a_row": 2, "missed_in_a_row": 2}


def test_a_reached_wake_up_between_misses_breaks_the_run(h: Harness) -> None:
    person = h.case()
    h.missed_wake_up(person, 1)
    h.contact(person, 2, channel=Channel.PHONE, purpose=Purpose.WAKE_UP)
    h.missed_wake_up(person, 3)

    assert h.open(person, day(4), "missed_wake_ups") == []


def test_a_reached_wake_up_clears_the_flag(h: Harness) -> None:
    person = h.case()
    h.missed_wake_up(person, 1)
    h.missed_wake_up(person, 2)
    h.missed_wake_up(person, 3)
    assert details(h.one(person, "missed_wake_ups", day(3)))["missed_in_a_row"] == 3
    h.contact(person, 4, channel=Channel.SMS, purpose=Purpose.WAKE_UP)

    assert h.open(person, day(4), "missed_wake_ups") == []
    # Asked about a moment before the wake-up was reached, the flag was open then.
    assert h.one(person, "missed_wake_ups", day(3))["open_until"] == iso(day(4))
    (ended,) = h.ended(person, day(5), "missed_wake_ups")
    assert (ended["since"], ended["cleared_at"]) == (iso(day(2)), iso(day(4)))


def test_a_wake_up_reached_but_recorded_late_still_breaks_the_run(h: Harness) -> None:
    person = h.case()
    h.missed_wake_up(person, 1)
    h.missed_wake_up(person, 3)
    h.clock.set(day(3.5))
    late = a_context(occurred_at=day(2))
    h.app.record_contact(person, a_contact(channel=Channel.PHONE, purpose=Purpose.WAKE_UP), late)

    assert h.open(person, day(4), "missed_wake_ups") == []
    # It was never open in the world, so it leaves no history either.
    assert h.ended(person, day(4)) == []


def test_a_missed_check_in_is_not_a_missed_wake_up(h: Harness) -> None:
    person = h.case()
    h.contact(person, 1, channel=Channel.PHONE, reached=False)
    h.contact(person, 2, channel=Channel.PHONE, reached=False)

    assert h.open(person, day(3), "missed_wake_ups") == []


# --- 3. absence or concern reported by an institution ------------------------------------------


def test_an_absence_report_raises_a_flag_that_lapses_after_fourteen_days(h: Harness) -> None:
    person = h.case()
    report = h.absence(person, 3)

    assert h.open(person, day(3) - SECOND, "institution_signal") == []
    flag = h.one(person, "institution_signal", day(3))
    assert raised_by(flag) == [(report, "AbsenceReported")]
    assert flag["open_until"] == iso(day(17))
    assert details(flag) == {
        "clears_after_days": 14,
        "absences_reported": 1,
        "concerns_reported": 0,
    }
    assert h.open(person, day(17), "institution_signal") == []
    (lapsed,) = h.ended(person, day(17), "institution_signal")
    assert (lapsed["cleared_at"], lapsed["cleared_by"]) == (iso(day(17)), None)


def test_reports_close_together_make_one_flag(h: Harness) -> None:
    person = h.case()
    absence = h.absence(person, 1)
    concern = h.concern(person, 10)

    flag = h.one(person, "institution_signal", day(20))
    assert flag["since"] == iso(day(1))
    assert flag["open_until"] == iso(day(24))
    assert raised_by(flag) == [(absence, "AbsenceReported"), (concern, "ConcernReported")]


def test_a_reached_contact_after_the_report_clears_it_and_an_attempt_does_not(
    h: Harness,
) -> None:
    person = h.case()
    h.concern(person, 1)
    h.contact(person, 2, channel=Channel.PHONE, reached=False)
    assert h.rules_open(person, day(2)) == ["institution_signal"]
    h.contact(person, 3, channel=Channel.PHONE)

    assert h.open(person, day(3), "institution_signal") == []
    (ended,) = h.ended(person, day(4), "institution_signal")
    assert ended["cleared_at"] == iso(day(3))


def test_no_report_no_institution_signal(h: Harness) -> None:
    person = h.case()
    h.contact(person, 1)
    assert h.open(person, day(2), "institution_signal") == []


# --- 4. missed meetings within fourteen days ---------------------------------------------------


def test_two_missed_meetings_within_fourteen_days_are_flagged(h: Harness) -> None:
    person = h.case()
    first = h.missed_meeting(person, 1)
    assert h.open(person, day(5), "missed_meetings") == []
    second = h.missed_meeting(person, 8)

    assert h.open(person, day(8) - SECOND, "missed_meetings") == []
    flag = h.one(person, "missed_meetings", day(8))
    assert raised_by(flag) == [(first, "ContactRecorded"), (second, "ContactRecorded")]
    # The first miss leaves the fourteen-day window on day 15: the flag ends by itself.
    assert flag["open_until"] == iso(day(15))
    assert h.open(person, day(15), "missed_meetings") == []


def test_missed_meetings_further_apart_are_not_flagged(h: Harness) -> None:
    person = h.case()
    h.missed_meeting(person, 1)
    h.missed_meeting(person, 16)
    assert h.open(person, day(16), "missed_meetings") == []


def test_an_attended_meeting_clears_missed_meetings(h: Harness) -> None:
    person = h.case()
    h.missed_meeting(person, 1)
    h.missed_meeting(person, 2)
    assert h.rules_open(person, day(3)) == ["missed_meetings"]
    h.contact(person, 4, channel=Channel.MEETING)

    assert h.open(person, day(4), "missed_meetings") == []
    assert [row["cleared_at"] for row in h.ended(person, day(5))] == [iso(day(4))]


def test_unanswered_calls_are_not_missed_meetings(h: Harness) -> None:
    person = h.case()
    h.contact(person, 1, channel=Channel.PHONE, reached=False)
    h.contact(person, 2, channel=Channel.PHONE, reached=False)
    assert h.open(person, day(3), "missed_meetings") == []


# --- 5. no plan thirty days after enrolment ----------------------------------------------------


def test_no_plan_thirty_days_after_enrolment_is_flagged(h: Harness) -> None:
    person = h.case(plan=False)

    assert h.open(person, day(30) - SECOND, "no_plan") == []
    flag = h.one(person, "no_plan", day(30))
    assert (flag["severity"], flag["since"]) == ("low", iso(day(30)))
    assert [event for _, event in raised_by(flag)] == ["Enrolled"]
    assert details(flag) == {"days_after_enrolment": 30}


def test_a_plan_within_the_month_means_no_flag(h: Harness) -> None:
    person = h.case(plan=False)
    h.app.draft_plan(person, "test goal", True, h.on(20))
    assert h.open(person, day(40), "no_plan") == []


def test_a_late_plan_clears_the_flag(h: Harness) -> None:
    person = h.case(plan=False)
    h.app.draft_plan(person, "test goal", True, h.on(35))

    assert h.open(person, day(35), "no_plan") == []
    assert h.one(person, "no_plan", day(34))["open_until"] == iso(day(35))


# --- 6. a milestone overdue --------------------------------------------------------------------


def test_an_open_milestone_is_overdue_from_the_day_after_it_was_due(h: Harness) -> None:
    person = h.case()
    due = day(10).date()
    result = h.app.set_milestone(person, "test title", due, h.on(1))

    assert h.open(person, midnight(due) + timedelta(hours=23), "milestone_overdue") == []
    flag = h.one(person, "milestone_overdue", midnight(due) + timedelta(days=1))
    assert flag["subject"] == result.ids["milestone_id"].hex
    assert raised_by(flag) == [(result.position, "MilestoneSet")]
    assert details(flag)["due"] == due.isoformat()


def test_a_reached_milestone_is_not_overdue(h: Harness) -> None:
    person = h.case()
    milestone = h.app.set_milestone(person, "test title", day(10).date(), h.on(1))
    h.app.reach_milestone(person, milestone.ids["milestone_id"], "test note", h.on(9))
    assert h.open(person, day(20), "milestone_overdue") == []


def test_rescheduling_or_recording_a_miss_clears_an_overdue_milestone(h: Harness) -> None:
    person = h.case()
    milestone_id = h.app.set_milestone(person, "test", day(5).date(), h.on(1)).ids["milestone_id"]
    assert len(h.open(person, day(7), "milestone_overdue")) == 1
    moved = h.app.reschedule_milestone(person, milestone_id, day(20).date(), "test", h.on(7))

    assert h.open(person, day(7), "milestone_overdue") == []
    flag = h.one(person, "milestone_overdue", day(21))
    assert raised_by(flag) == [(moved.position, "MilestoneRescheduled")]
    h.app.miss_milestone(person, milestone_id, "test note", h.on(22))
    assert h.open(person, day(22), "milestone_overdue") == []


def test_a_milestone_rescheduled_into_the_past_is_counted_once(h: Harness) -> None:
    person = h.case()
    milestone_id = h.app.set_milestone(person, "test", day(5).date(), h.on(1)).ids["milestone_id"]
    h.app.reschedule_milestone(person, milestone_id, day(20).date(), "test", h.on(7))
    h.app.reschedule_milestone(person, milestone_id, day(3).date(), "test", h.on(8))

    # On day 6.5 the first due date had passed (ended on day 7) and, as known now, so had
    # the last one: one milestone, one flag.
    (flag,) = h.open(person, day(6.5), "milestone_overdue")
    assert flag["since"] == iso(midnight(day(4).date()))
    h.runner.catch_up()
    with h.store.transaction(readonly=True) as cur:
        assert RiskFlagsView.open_counts(cur, [person.hex], day(6.5)) == {person.hex: 1}


# --- 7. a plan review overdue ------------------------------------------------------------------


def test_a_review_is_overdue_after_the_next_review_date_it_set(h: Harness) -> None:
    person = h.case()
    next_review = day(30).date()
    review = h.app.review_plan(person, "test note", next_review, h.on(10)).position

    assert h.open(person, midnight(next_review) + timedelta(hours=23), "plan_review_overdue") == []
    flag = h.one(person, "plan_review_overdue", midnight(next_review) + timedelta(days=1))
    assert raised_by(flag) == [(review, "PlanReviewed")]
    assert details(flag)["next_review"] == next_review.isoformat()


def test_without_a_next_review_date_a_review_is_due_ninety_days_after_drafting(
    h: Harness,
) -> None:
    person = h.case()  # drafted at START

    assert h.open(person, day(90) - SECOND, "plan_review_overdue") == []
    flag = h.one(person, "plan_review_overdue", day(90))
    assert [event for _, event in raised_by(flag)] == ["PlanDrafted"]


def test_a_review_clears_an_overdue_review(h: Harness) -> None:
    person = h.case()
    h.app.review_plan(person, "test note", day(10).date(), h.on(1))
    assert len(h.open(person, day(12), "plan_review_overdue")) == 1
    h.app.review_plan(person, "test note", None, h.on(12))

    assert h.open(person, day(12), "plan_review_overdue") == []
    assert h.one(person, "plan_review_overdue", day(102))["since"] == iso(day(102))


# --- 8. let go too early -----------------------------------------------------------------------


def test_closing_a_case_within_eight_weeks_of_an_education_start_is_flagged(
    h: Harness,
) -> None:
    person = h.case()
    transition, _ = h.transition(person, 0)
    started = h.education(person, transition, 5)
    closed = h.close(person, 5 + 21)

    assert h.open(person, day(26) - SECOND, "let_go_too_early") == []
    flag = h.one(person, "let_go_too_early", day(26))
    assert (flag["severity"], flag["open_until"]) == ("high", iso(day(26 + 28)))
    assert raised_by(flag) == [(started, "EducationStarted"), (closed, "CaseClosed")]
    assert details(flag)["days_in_education"] == 21
    assert h.open(person, day(26 + 28), "let_go_too_early") == []


def test_closing_long_after_the_education_start_is_not_flagged(h: Harness) -> None:
    person = h.case()
    transition, _ = h.transition(person, 0)
    h.education(person, transition, 1)
    h.contact(person, 50)
    h.close(person, 1 + 57)
    assert h.open(person, day(60)) == []


def test_reopening_the_case_clears_let_go_too_early(h: Harness) -> None:
    person = h.case()
    transition, _ = h.transition(person, 0)
    h.education(person, transition, 1)
    h.close(person, 3)
    h.app.reopen_case(person, "test reason", None, h.on(6))

    assert h.open(person, day(6), "let_go_too_early") == []
    (ended,) = h.ended(person, day(7), "let_go_too_early")
    assert ended["cleared_at"] == iso(day(6))


# --- closed and erased cases -------------------------------------------------------------------


def test_a_closed_case_has_no_flags_but_let_go_too_early_and_reopening_resumes_them(
    h: Harness,
) -> None:
    person = h.case(plan=False)
    h.missed_wake_up(person, 1)
    h.missed_wake_up(person, 2)
    h.absence(person, 3)
    h.close(person, 4)

    assert h.open(person, day(40)) == []
    assert {row["rule"] for row in h.ended(person, day(40))} == {
        "missed_wake_ups",
        "institution_signal",
    }
    h.app.reopen_case(person, "test reason", None, h.on(50))
    # Still no plan: flagged again, but only from the reopening on.
    assert h.one(person, "no_plan", day(50))["since"] == iso(day(50))


def test_an_erased_case_has_no_flags(h: Harness) -> None:
    person = h.case(plan=False)
    transition, _ = h.transition(person, 0)
    h.education(person, transition, 1)
    h.close(person, 3)
    assert h.rules_open(person, day(4)) == ["let_go_too_early"]
    h.app.erase_personal_data(person, ErasureRequester.YOUNG_PERSON, "GDPR art. 17", h.on(5))

    assert h.open(person, day(5)) == []
    assert h.open(person, day(60)) == []


def test_counts_and_flags_for_many_young_people_at_once(h: Harness) -> None:
    quiet, calm, unknown = h.case(plan=False), h.case(), UUID(int=7).hex
    h.transition(quiet, 0)
    h.runner.catch_up()
    with h.store.transaction(readonly=True) as cur:
        counts = RiskFlagsView.open_counts(cur, [quiet.hex, calm.hex, unknown], day(31))
        flags = RiskFlagsView.open_flags(cur, [quiet.hex, calm.hex, unknown], day(31))

    assert counts == {quiet.hex: 2, calm.hex: 0, unknown: 0}
    # Most severe first.
    assert [row["rule"] for row in flags[quiet.hex]] == ["quiet_transition", "no_plan"]
    assert flags[calm.hex] == [] and flags[unknown] == []


def test_now_must_carry_a_time_zone(h: Harness) -> None:
    person = h.case()
    h.runner.catch_up()
    with h.store.transaction(readonly=True) as cur, pytest.raises(ValueError):
        RiskFlagsView.open_flags(cur, [person.hex], datetime(2024, 3, 5))


# --- rule versions -----------------------------------------------------------------------------

QUIET_V1 = next(rule for rule in DEFAULT_RULES if isinstance(rule, QuietTransition))
APRIL = date(2024, 4, 1)


def with_rules(h: Harness, *extra: RuleVersion) -> Harness:
    return Harness(h.clock, h.app, h.store, rules=(*DEFAULT_RULES, *extra))


def test_a_new_version_applies_to_conditions_arising_after_it_takes_effect(
    h: Harness,
) -> None:
    later = replace(QUIET_V1, version=2, effective_from=APRIL, threshold_days=10)
    h = with_rules(h, later)
    before, after = h.case(), h.case()
    h.transition(before, 0)  # quiet from day 0: arises on day 7, 11 March, under version 1
    h.transition(after, 24)  # quiet from 28 March: 4 April under v1, but v2 is in force then

    old = h.one(before, "quiet_transition", day(60))
    assert (old["rule_version"], old["since"]) == (1, iso(day(7)))
    assert details(old)["threshold_days"] == 7
    assert h.open(after, day(24 + 10) - SECOND, "quiet_transition") == []
    new = h.one(after, "quiet_transition", day(24 + 10))
    assert (new["rule_version"], details(new)["threshold_days"]) == (2, 10)


def test_a_stricter_version_raises_a_flag_when_it_takes_effect(h: Harness) -> None:
    stricter = replace(QUIET_V1, version=2, effective_from=APRIL, threshold_days=3)
    h = with_rules(h, stricter)
    person = h.case()
    h.transition(person, 23)  # 27 March: three days quiet by 30 March, seven by 3 April

    flag = h.one(person, "quiet_transition", midnight(APRIL))
    assert (flag["rule_version"], flag["since"]) == (2, iso(midnight(APRIL)))
    assert h.open(person, midnight(APRIL) - SECOND, "quiet_transition") == []


def test_a_rule_book_refuses_versions_out_of_order() -> None:
    first = next(rule for rule in DEFAULT_RULES if isinstance(rule, MissedWakeUps))
    with pytest.raises(ValueError, match="twice"):
        RuleBook([first, replace(first, effective_from=APRIL)])
    with pytest.raises(ValueError, match="after"):
        RuleBook([replace(first, effective_from=APRIL), replace(first, version=2)])
    book = RuleBook([first, replace(first, version=2, effective_from=APRIL, in_a_row=3)])
    assert book.in_force(MissedWakeUps, midnight(APRIL) - SECOND) == first
    in_force = book.in_force(MissedWakeUps, midnight(APRIL))
    assert in_force is not None and (in_force.version, in_force.in_a_row) == (2, 3)
    assert book.in_force(MissedWakeUps, datetime(2015, 12, 31, tzinfo=UTC)) is None


def test_every_default_rule_has_a_first_version() -> None:
    names = {rule.name for rule in DEFAULT_RULES}
    assert names == {
        "quiet_transition",
        "missed_wake_ups",
        "institution_signal",
        "missed_meetings",
        "no_plan",
        "milestone_overdue",
        "plan_review_overdue",
        "let_go_too_early",
    }
    assert {rule.version for rule in DEFAULT_RULES} == {1}
    assert {rule.severity for rule in DEFAULT_RULES} <= set(Severity)


# --- batching changes nothing ------------------------------------------------------------------

_risk_contacts = st.builds(
    a_contact,
    channel=st.sampled_from([Channel.MEETING, Channel.PHONE, Channel.SMS]),
    purpose=st.sampled_from([Purpose.WAKE_UP, Purpose.CHECK_IN]),
    reached=st.booleans(),
)
_risk_commands: st.SearchStrategy[s.Command] = st.one_of(
    st.builds(s.RecordContact, _risk_contacts),
    st.builds(s.StartTransition, st.sampled_from(TransitionKind), st.none()),
    st.builds(s.StartEducation, s.indexes),
    s.signal_commands,
    st.builds(s.RecordContact, _risk_contacts),
    s.plan_commands,
    st.builds(s.RecordContact, _risk_contacts),
    st.builds(s.CompleteTransition, s.indexes),
    s.contact_commands,
    s.closing_commands,
)
# Days apart, and now and then recorded late, so thresholds are crossed and facts arrive
# out of world order.
_risk_timings = st.builds(
    s.Timing,
    advance=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=12)),
    ago=st.one_of(st.none(), st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=9))),
)
_risk_step = st.builds(s.Step, _risk_commands, _risk_timings)


@st.composite
def _risk_histories(draw: st.DrawFn) -> list[s.Step]:
    """Steps of one case, ending now and then with an erasure (and refused steps after)."""
    steps = draw(st.lists(_risk_step, min_size=5, max_size=25))
    if draw(st.sampled_from([False] * 4 + [True])):
        erasure = s.Step(draw(s.erasure_commands), draw(_risk_timings))
        steps = [*steps, erasure, *draw(st.lists(_risk_step, max_size=2))]
    return steps


_TABLES = {
    "risk_flags": "young_person_id, rule, subject",
    "risk_flag_history": "young_person_id, rule, subject, since, cleared_at",
    "risk_flag_state": "young_person_id",
}


def _project(
    app: Overgang, path: Path, batch_size: int, *, rebuild: bool = False
) -> dict[str, list[Row]]:
    store = SQLiteViewStore(path)
    try:
        runner = ProjectionRunner(app, store, [RiskFlagsProjection()], batch_size=batch_size)
        runner.catch_up()
        if rebuild:
            runner.rebuild("risk_flags")
        with store.transaction(readonly=True) as cur:
            return {
                table: cur.execute(f"SELECT * FROM {table} ORDER BY {order}").fetchall()
                for table, order in _TABLES.items()
            }
    finally:
        store.close()


_ENROLMENT = [
    s.Step(s.ReviewReferral(ReviewOutcome.ACCEPTED), s.Timing(timedelta(hours=1), None)),
    s.Step(s.Enrol(0, None), s.Timing(timedelta(hours=1), None)),
]


def _world_of(cases: list[list[s.Step]]) -> s.World:
    """The cases recorded side by side: one step of each case in turn, so that batches
    mix young people."""
    world = s.World.new(caseload_limits=(18,))
    for _ in cases:
        s.Refer(a_referral()).run(world, a_context(PARTNER))
    for round_of_steps in zip_longest(*([*_ENROLMENT, *steps] for steps in cases)):
        for person, step in zip(world.people, round_of_steps, strict=True):
            if step is not None:
                s.perform(world, person, step)
    return world


@given(cases=st.lists(_risk_histories(), min_size=1, max_size=3), batch_size=st.integers(2, 9))
def test_one_event_at_a_time_all_at_once_and_a_rebuild_give_the_same_tables(
    cases: list[list[s.Step]], batch_size: int
) -> None:
    world = _world_of(cases)

    with tempfile.TemporaryDirectory() as folder:
        one_by_one = _project(world.app, Path(folder) / "one.db", 1)
        assert one_by_one == _project(world.app, Path(folder) / "all.db", 10_000)
        rebuilt = _project(world.app, Path(folder) / "some.db", batch_size, rebuild=True)
        assert one_by_one == rebuilt


# --- the projection's shortcuts change nothing -------------------------------------------------
# It evaluates again only the rules whose facts an event changed, writes only the rows that
# changed, and keeps the states it wrote in memory. The reference below does none of that.


class _EveryRuleEveryTime(RiskRules):
    def evaluate(
        self, s: PersonState, previous: Flags | None = None, dirty: AbstractSet[str] = EVERY_RULE
    ) -> Flags:
        return super().evaluate(s)


class _Reference(RiskFlagsProjection):
    """Every rule evaluated after every event, and nothing kept between batches."""

    def __init__(self) -> None:
        super().__init__(cached_people=0)
        self.rules = _EveryRuleEveryTime(DEFAULT_RULES)


class _Failed(Exception):
    pass


class _FailingWrites(ViewCursor):
    """A cursor that reads, then fails at the first write: a batch failing half-way."""

    def __init__(self, cur: ViewCursor) -> None:
        self._cur = cur
        self.dialect = cur.dialect

    def execute(self, sql: str, params: Params = ()) -> ViewCursor:
        if not sql.lstrip().upper().startswith("SELECT"):
            raise _Failed
        self._cur.execute(sql, params)
        return self

    def executemany(self, sql: str, seq_of_params: Iterable[Params]) -> None:
        raise _Failed

    def fetchone(self) -> Row | None:
        return self._cur.fetchone()

    def fetchall(self) -> list[Row]:
        return self._cur.fetchall()

    def fetchmany(self, size: int) -> list[Row]:
        return self._cur.fetchmany(size)

    @property
    def rowcount(self) -> int:
        return self._cur.rowcount


Failure: TypeAlias = Literal["while_writing", "after_processing"]


def _project_in_turns(
    app: Overgang,
    store: ViewStore,
    projections: Sequence[RiskFlagsProjection],
    batch_size: int,
    failures: dict[int, Failure] | None = None,
) -> dict[str, list[Row]]:
    """The log in batches, each processed by the next of ``projections`` in turn (as
    processes taking over from one another would); a batch in ``failures`` fails once
    (rolled back) before it is processed again."""
    written = app.recorder.select_notifications(start=1, limit=1_000_000)
    events = [(n.id, app.mapper.to_domain_event(n)) for n in written]
    with store.transaction() as cur:
        projections[0].create_tables(cur)
    for index, start in enumerate(range(0, len(events), batch_size)):
        projection = projections[index % len(projections)]
        batch = events[start : start + batch_size]
        failure = (failures or {}).get(index)
        if failure is not None:
            with pytest.raises(_Failed), store.transaction() as cur:
                if failure == "while_writing":
                    projection.process(_FailingWrites(cur), batch)
                projection.process(cur, batch)
                raise _Failed  # after processing: the transaction is rolled back
        with store.transaction() as cur:
            projection.process(cur, batch)
    with store.transaction(readonly=True) as cur:
        return {
            table: cur.execute(f"SELECT * FROM {table} ORDER BY {order}").fetchall()
            for table, order in _TABLES.items()
        }


@given(
    cases=st.lists(_risk_histories(), min_size=1, max_size=3),
    batch_size=st.integers(1, 9),
    failures=st.dictionaries(
        st.integers(0, 40), st.sampled_from(["while_writing", "after_processing"])
    ),
)
def test_evaluating_only_what_changed_and_remembering_states_change_nothing(
    cases: list[list[s.Step]], batch_size: int, failures: dict[int, Failure]
) -> None:
    world = _world_of(cases)

    with tempfile.TemporaryDirectory() as folder:

        def project(name: str, *projections: RiskFlagsProjection, **options: Any) -> Any:
            store = SQLiteViewStore(Path(folder) / f"{name}.db")
            try:
                return _project_in_turns(world.app, store, projections, **options)
            finally:
                store.close()

        expected = project("reference", _Reference(), batch_size=10_000)
        assert (
            project("failing", RiskFlagsProjection(), batch_size=batch_size, failures=failures)
            == expected
        )
        # Two processes taking turns: each finds rows the other wrote since it last did.
        taking_turns = project(
            "turns", RiskFlagsProjection(), RiskFlagsProjection(), batch_size=batch_size
        )
        assert taking_turns == expected

    # The states are written by hand as canonical JSON (keys sorted, no spaces), which
    # reads back as the same state.
    for row in expected["risk_flag_state"]:
        text = row["state"]
        assert json.dumps(json.loads(text), sort_keys=True, separators=(",", ":")) == text
        assert PersonState.from_json(text).to_json() == text


def test_a_batch_that_failed_half_way_is_folded_again_from_the_stored_state(
    store: ViewStore,
) -> None:
    clock = FakeClock()
    app = new_app(clock)
    person = enrolled_young_person(app).young_person_id
    clock.advance(days=1)
    missed_wake_up = a_contact(channel=Channel.PHONE, purpose=Purpose.WAKE_UP, reached=False)
    miss = app.record_contact(person, missed_wake_up, a_context()).position

    # Everything before the miss in one batch, the miss in the next, which fails once
    # while it is written and then goes through: one miss, which is not yet a run.
    _project_in_turns(app, store, [RiskFlagsProjection()], miss - 1, {1: "while_writing"})

    with store.transaction(readonly=True) as cur:
        flags = RiskFlagsView.open_flags(cur, [person.hex], clock() + timedelta(days=1))
    assert [row["rule"] for row in flags[person.hex]] == []
