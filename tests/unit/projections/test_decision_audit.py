"""The decision audit read model: each completeness check, the dual role, the appeal's
course and the provenance as of the decision, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from domain.application import Overgang
from domain.vocabulary import (
    AppealOutcome,
    Channel,
    DeclaredRole,
    Direction,
    ErasureRequester,
    ReadinessLevel,
)
from infra.runner import ProjectionRunner
from projections.base import PositionedEvent
from projections.decision_audit import (
    AUDIT,
    FACTS,
    PEOPLE,
    AuditCursor,
    AuditFilter,
    DecisionAuditProjection,
    DecisionAuditView,
)
from projections.decision_checks import (
    APPEAL_GUIDANCE,
    ATTEMPTS_TO_REACH,
    DRAWN_UP_TOGETHER,
    HEARING,
    INJUNCTION_CONTENT,
    REASONS,
    SANCTION_ATTEMPT_RULES,
    Check,
    evaluate,
)
from projections.store import Row, ViewStore
from tests.factories import (
    CaseIds,
    a_contact,
    a_context,
    a_counsellor,
    an_institution,
    decision_content,
    enrolled_young_person,
    injunction,
)
from tests.fakes import FakeClock
from tests.views import logged_events, shredded

DAY = timedelta(days=1)


@pytest.fixture
def runner(app: Overgang, store: ViewStore) -> ProjectionRunner:
    return ProjectionRunner(app, store, [DecisionAuditProjection()], batch_size=5)


def audit_of(runner: ProjectionRunner, decision_id: UUID) -> Row:
    runner.catch_up()
    with runner.store.transaction(readonly=True) as cur:
        return DecisionAuditView.of_decisions(cur, [decision_id.hex])[decision_id.hex]


def checks_of(entry: Row) -> dict[str, bool | None]:
    return {check.name: check.passed for check in entry["checks"]}


# --- making decisions ---------------------------------------------------------------------------

Decide = Callable[..., UUID]


def readiness(app: Overgang, case: CaseIds, at: datetime | None = None, **content: Any) -> UUID:
    result = app.assess_readiness(
        case.young_person_id,
        ReadinessLevel.EDUCATION_READY,
        decision_content(decided_by=case.counsellor_id, **content),
        a_context(occurred_at=at),
    )
    return result.ids["decision_id"]


def an_injunction(
    app: Overgang,
    case: CaseIds,
    at: datetime | None = None,
    details: dict[str, Any] | None = None,
    **content: Any,
) -> UUID:
    result = app.issue_injunction(
        case.young_person_id,
        injunction(**(details or {})),
        decision_content(decided_by=case.counsellor_id, **content),
        a_context(occurred_at=at),
    )
    return result.ids["decision_id"]


def a_sanction(app: Overgang, case: CaseIds, at: datetime | None = None, **content: Any) -> UUID:
    result = app.decide_sanction(
        case.young_person_id,
        "test reduction",
        decision_content(decided_by=case.counsellor_id, **content),
        a_context(occurred_at=at),
    )
    return result.ids["decision_id"]


def other(app: Overgang, case: CaseIds, at: datetime | None = None, **content: Any) -> UUID:
    result = app.make_other_decision(
        case.young_person_id,
        "test subject",
        decision_content(decided_by=case.counsellor_id, **content),
        a_context(occurred_at=at),
    )
    return result.ids["decision_id"]


def contact(app: Overgang, case: CaseIds, at: datetime, **details: Any) -> None:
    app.record_contact(case.young_person_id, a_contact(**details), a_context(occurred_at=at))


def attempts(app: Overgang, case: CaseIds, *days_before: int, **details: Any) -> None:
    """Unanswered outgoing calls this many days before now."""
    now = app.clock()
    for days in days_before:
        details = {"channel": Channel.PHONE, "reached": False, **details}
        contact(app, case, now - days * DAY, **details)


# --- complete decisions -------------------------------------------------------------------------


def test_a_complete_readiness_assessment_passes_the_general_checks(
    app: Overgang, runner: ProjectionRunner
) -> None:
    case = enrolled_young_person(app)
    decision = readiness(app, case)

    entry = audit_of(runner, decision)

    assert checks_of(entry) == {REASONS: True, HEARING: True, APPEAL_GUIDANCE: True}
    assert entry["complete"] is True
    assert (entry["kind"], entry["event_type"], entry["readiness_level"]) == (
        "readiness_assessment",
        "ReadinessAssessed",
        "education_ready",
    )
    assert entry["legal_basis_present"] is True
    assert entry["decided_by"] == case.counsellor_id.hex
    assert entry["young_person_id"] == case.young_person_id.hex


def test_a_complete_injunction_passes_the_87_14_checks(
    app: Overgang, runner: ProjectionRunner
) -> None:
    decision = an_injunction(app, enrolled_young_person(app))

    entry = audit_of(runner, decision)

    assert checks_of(entry) == {
        REASONS: True,
        HEARING: True,
        APPEAL_GUIDANCE: True,
        INJUNCTION_CONTENT: True,
        DRAWN_UP_TOGETHER: True,
    }
    assert entry["complete"] is True
    assert entry["deadline"] == "2024-09-01"


def test_a_sanction_after_two_attempts_passes(app: Overgang, runner: ProjectionRunner) -> None:
    case = enrolled_young_person(app)
    attempts(app, case, 3, 1)
    decision = a_sanction(app, case)

    entry = audit_of(runner, decision)

    assert checks_of(entry) == {
        REASONS: True,
        HEARING: True,
        APPEAL_GUIDANCE: True,
        ATTEMPTS_TO_REACH: True,
    }
    check = entry["checks"][-1]
    assert check.rule_version == SANCTION_ATTEMPT_RULES[-1].version
    assert check.explanation.startswith("2 attempts, 0 reached in the 30 days before")


# --- each element missing -----------------------------------------------------------------------

MISSING: dict[str, tuple[dict[str, Any], str, str]] = {
    "reasons": ({"reasons": ""}, REASONS, "missing: reasons"),
    "main considerations": (
        {"main_considerations": "  "},
        REASONS,
        "missing: main considerations",
    ),
    "facts": ({"facts_relied_on": ""}, REASONS, "missing: facts relied on"),
    "hearing and its reason": (
        {"hearing_held_on": None, "hearing_omitted_reason": None},
        HEARING,
        "no hearing, and no reason why none was needed",
    ),
    "hearing, reason blank": (
        {"hearing_held_on": None, "hearing_omitted_reason": " "},
        HEARING,
        "no hearing, and no reason why none was needed",
    ),
}


@pytest.mark.parametrize("decide", [readiness, an_injunction, other], ids=lambda d: d.__name__)
@pytest.mark.parametrize("missing", list(MISSING), ids=str)
def test_each_missing_element_fails_its_check_only(
    app: Overgang, runner: ProjectionRunner, decide: Decide, missing: str
) -> None:
    overrides, failing, explanation = MISSING[missing]
    decision = decide(app, enrolled_young_person(app), **overrides)

    entry = audit_of(runner, decision)

    failed = [check for check in entry["checks"] if not check.passed]
    assert [(check.name, check.explanation) for check in failed] == [(failing, explanation)]
    assert entry["complete"] is False


def test_a_hearing_left_out_with_a_reason_passes(app: Overgang, runner: ProjectionRunner) -> None:
    decision = readiness(
        app,
        enrolled_young_person(app),
        hearing_held_on=None,
        hearing_omitted_reason="test: fully in favour, nothing to hear",
    )

    assert checks_of(audit_of(runner, decision))[HEARING] is True


def test_a_decision_fully_in_favour_needs_no_appeal_guidance(
    app: Overgang, runner: ProjectionRunner
) -> None:
    decision = other(app, enrolled_young_person(app), fully_in_favour=True, appeal_guidance=None)

    entry = audit_of(runner, decision)

    assert checks_of(entry)[APPEAL_GUIDANCE] is True
    assert entry["complete"] is True


def test_an_injunction_without_deadline_or_plan_fails_its_content_check(
    app: Overgang, runner: ProjectionRunner
) -> None:
    decision = an_injunction(app, enrolled_young_person(app), details={"deadline": None})

    entry = audit_of(runner, decision)

    assert checks_of(entry)[INJUNCTION_CONTENT] is False
    assert entry["checks"][3].explanation == "missing: a deadline or a plan"
    assert entry["complete"] is False


def test_an_injunction_without_deadline_but_with_a_plan_passes(
    app: Overgang, runner: ProjectionRunner
) -> None:
    decision = an_injunction(app, enrolled_young_person(app, plan=True), details={"deadline": None})

    assert checks_of(audit_of(runner, decision))[INJUNCTION_CONTENT] is True


def test_an_injunction_not_drawn_up_together_fails_that_check(
    app: Overgang, runner: ProjectionRunner
) -> None:
    decision = an_injunction(
        app, enrolled_young_person(app), details={"drawn_up_with_young_person": False}
    )

    entry = audit_of(runner, decision)

    assert [check.name for check in entry["checks"] if not check.passed] == [DRAWN_UP_TOGETHER]


@pytest.mark.parametrize(
    ("before", "passed"),
    [
        ([], False),
        ([{"days": 2}], False),
        ([{"days": 2}, {"days": 29}], True),
        ([{"days": 2}, {"days": 31}], False),  # outside the rule's 30 days
        ([{"days": 5, "reached": True, "direction": Direction.INCOMING}], True),
        ([{"days": 2}, {"days": 3, "direction": Direction.INCOMING}], False),  # not an attempt
        ([{"days": -1}, {"days": 2}], False),  # after the sanction
    ],
    ids=["none", "one", "two", "one too early", "reached once", "incoming missed", "one after"],
)
def test_a_sanction_needs_attempts_to_reach_the_young_person_first(
    app: Overgang,
    clock: FakeClock,
    runner: ProjectionRunner,
    before: list[dict[str, Any]],
    passed: bool,
) -> None:
    case = enrolled_young_person(app)
    sanction_at = clock.now
    clock.advance(days=2)
    for attempt in before:
        details = {"channel": Channel.PHONE, "reached": False, **attempt}
        contact(app, case, sanction_at - details.pop("days") * DAY, **details)
    decision = a_sanction(app, case, at=sanction_at)

    entry = audit_of(runner, decision)

    assert checks_of(entry)[ATTEMPTS_TO_REACH] is passed
    assert entry["complete"] is passed


def a_row(**facts: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "kind": "other",
        "legal_basis_present": 1,
        "reasons_present": 1,
        "considerations_present": 1,
        "facts_present": 1,
        "hearing_held_on": "2024-02-26",
        "hearing_reason_present": 0,
        "fully_in_favour": 0,
        "appeal_guidance_present": 1,
    }
    row.update(facts)
    return row


def test_the_checks_report_what_the_domain_refuses_today_for_older_decisions() -> None:
    # No legal basis, no appeal guidance: refused by the domain, but a decision recorded
    # before those rules (or imported) is still audited.
    checks = evaluate(a_row(legal_basis_present=0, appeal_guidance_present=0))

    assert checks == [
        Check(REASONS, False, "missing: legal basis"),
        Check(HEARING, True, "hearing held on 2024-02-26"),
        Check(APPEAL_GUIDANCE, False, "missing, and the decision is not fully in favour"),
    ]


# --- dual role ----------------------------------------------------------------------------------


def test_the_decider_who_is_the_counsellor_holds_the_dual_role(
    app: Overgang, runner: ProjectionRunner
) -> None:
    case = enrolled_young_person(app)
    decision = readiness(app, case, declared_role=DeclaredRole.MENTOR_AND_AUTHORITY)

    entry = audit_of(runner, decision)

    assert (entry["decider_is_mentor"], entry["mentor_id"]) == (True, case.counsellor_id.hex)
    assert entry["declared_role"] == "mentor_and_authority"


def test_a_decider_who_is_not_the_counsellor_has_no_dual_role(
    app: Overgang, runner: ProjectionRunner
) -> None:
    case = enrolled_young_person(app)
    authority = a_counsellor(app)
    decision = readiness(
        app, CaseIds(case.young_person_id, authority), declared_role=DeclaredRole.NOT_DECLARED
    )

    entry = audit_of(runner, decision)

    assert (entry["decider_is_mentor"], entry["decided_by"]) == (False, authority.hex)
    assert (entry["mentor_id"], entry["declared_role"]) == (
        case.counsellor_id.hex,
        "not_declared",
    )


def test_the_mentor_is_the_counsellor_at_the_decision_not_later(
    app: Overgang, runner: ProjectionRunner
) -> None:
    case = enrolled_young_person(app)
    successor = a_counsellor(app)
    before_handover = readiness(app, CaseIds(case.young_person_id, successor))
    app.assign_counsellor(case.young_person_id, successor, "test reason", None, a_context())
    after_handover = readiness(app, CaseIds(case.young_person_id, successor))

    assert audit_of(runner, before_handover)["decider_is_mentor"] is False
    assert audit_of(runner, after_handover)["decider_is_mentor"] is True
    assert audit_of(runner, before_handover)["mentor_id"] == case.counsellor_id.hex


# --- the appeal's course ------------------------------------------------------------------------


def test_an_appeal_and_its_outcome_are_followed(
    app: Overgang, clock: FakeClock, runner: ProjectionRunner
) -> None:
    case = enrolled_young_person(app)
    decision = readiness(app, case)
    assert audit_of(runner, decision)["status"] == "in_force"
    clock.advance(days=3)
    app.appeal_decision(case.young_person_id, decision, "test note", a_context())
    appealed = audit_of(runner, decision)
    clock.advance(days=30)
    app.decide_appeal(
        case.young_person_id, decision, AppealOutcome.CHANGED, "test note", a_context()
    )

    entry = audit_of(runner, decision)

    assert (appealed["status"], appealed["appealed_at"]) == (
        "appealed",
        "2024-03-07T09:00:00.000000+00:00",
    )
    assert (entry["status"], entry["appeal_outcome"], entry["appeal_decided_at"]) == (
        "appeal_decided",
        "changed",
        "2024-04-06T09:00:00.000000+00:00",
    )


def test_revocation_and_revision_are_followed(
    app: Overgang, clock: FakeClock, runner: ProjectionRunner
) -> None:
    case = enrolled_young_person(app)
    revoked = readiness(app, case)
    original = an_injunction(app, case)
    audit_of(runner, original)  # the revision comes in a later batch
    clock.advance(days=1)
    app.revoke_decision(case.young_person_id, revoked, "test reason", a_context())
    revision = app.revise_injunction(
        case.young_person_id,
        original,
        injunction(),
        "test changes",
        decision_content(decided_by=case.counsellor_id),
        a_context(),
    ).ids["decision_id"]

    assert (audit_of(runner, revoked)["status"], audit_of(runner, revoked)["revoked_at"]) == (
        "revoked",
        "2024-03-05T09:00:00.000000+00:00",
    )
    superseded = audit_of(runner, original)
    assert (superseded["status"], superseded["superseded_by"]) == ("superseded", revision.hex)
    revised = audit_of(runner, revision)
    assert (revised["event_type"], revised["revises_decision_id"]) == (
        "EducationInjunctionRevised",
        original.hex,
    )
    assert checks_of(revised)[INJUNCTION_CONTENT] is True


# --- provenance: what the decider could see that day ----------------------------------------------


def a_history_before(app: Overgang, clock: FakeClock, case: CaseIds) -> datetime:
    """Contacts, a plan, milestones and signals before a decision at the returned time."""
    decided_at = clock.now
    clock.advance(days=1)
    institution = an_institution(app)
    contact(app, case, decided_at - 10 * DAY, channel=Channel.SMS, reached=False)
    contact(app, case, decided_at - 5 * DAY, channel=Channel.SMS, reached=True)
    contact(app, case, decided_at - 2 * DAY, channel=Channel.MEETING, reached=True)
    contact(app, case, decided_at - 91 * DAY, channel=Channel.PHONE)  # too long ago
    contact(app, case, decided_at + DAY / 2, channel=Channel.PHONE)  # after the decision
    before = a_context(occurred_at=decided_at - 20 * DAY)
    app.draft_plan(case.young_person_id, "test goal", True, before)
    reached, missed, _open = (
        app.set_milestone(case.young_person_id, "test title", date(2024, 2, 1), before).ids[
            "milestone_id"
        ]
        for _ in range(3)
    )
    soon = a_context(occurred_at=decided_at - 3 * DAY)
    app.reach_milestone(case.young_person_id, reached, "test note", soon)
    app.miss_milestone(case.young_person_id, missed, "test note", soon)
    app.report_absence(
        case.young_person_id, institution, date(2024, 2, 1), date(2024, 2, 2), "n", soon
    )
    app.report_concern(case.young_person_id, institution, "test note", soon)
    app.report_concern(
        case.young_person_id, institution, "test note", a_context(occurred_at=decided_at + DAY)
    )
    return decided_at


def provenance(entry: Row) -> dict[str, Any]:
    keys = (
        "contacts",
        "contacts_reached",
        "contacts_by_channel",
        "plan_drafted",
        "milestones_open",
        "milestones_reached",
        "milestones_missed",
        "absences",
        "concerns",
        "dropouts",
    )
    return {key: entry[key] for key in keys}


EXPECTED_PROVENANCE = {
    "contacts": 3,
    "contacts_reached": 2,
    "contacts_by_channel": {"sms": (2, 1), "meeting": (1, 1)},
    "plan_drafted": True,
    "milestones_open": 1,
    "milestones_reached": 1,
    "milestones_missed": 1,
    "absences": 1,
    "concerns": 1,
    "dropouts": 0,
}


def test_provenance_counts_what_happened_in_the_90_days_before_the_decision(
    app: Overgang, clock: FakeClock, runner: ProjectionRunner
) -> None:
    case = enrolled_young_person(app)
    decided_at = a_history_before(app, clock, case)
    decision = readiness(app, case, at=decided_at)

    assert provenance(audit_of(runner, decision)) == EXPECTED_PROVENANCE


def test_later_events_even_backdated_ones_leave_the_provenance_as_it_was(
    app: Overgang, clock: FakeClock, runner: ProjectionRunner
) -> None:
    case = enrolled_young_person(app)
    decided_at = a_history_before(app, clock, case)
    decision = readiness(app, case, at=decided_at)
    audit_of(runner, decision)
    # Recorded after the decision: a contact and a dropout backdated to before it, a new
    # plan draft, the open milestone reached, a contact after it.
    backdated = a_context(occurred_at=decided_at - 4 * DAY)
    contact(app, case, decided_at - 4 * DAY, channel=Channel.VIDEO)
    app.report_dropout(case.young_person_id, an_institution(app), "test note", backdated)
    contact(app, case, clock.now)

    assert provenance(audit_of(runner, decision)) == EXPECTED_PROVENANCE


def test_a_decision_recorded_late_sees_only_what_had_happened_by_its_date(
    app: Overgang, clock: FakeClock, runner: ProjectionRunner
) -> None:
    case = enrolled_young_person(app)
    decided_at = clock.now
    contact(app, case, decided_at - DAY)
    clock.advance(days=5)
    contact(app, case, decided_at + DAY)  # recorded before the decision, happened after
    decision = readiness(app, case, at=decided_at)

    entry = audit_of(runner, decision)

    assert (entry["contacts"], entry["contacts_by_channel"]) == (1, {"meeting": (1, 1)})


# --- erasure, rebuilds and batches --------------------------------------------------------------


def decisions_and_erasure(app: Overgang, clock: FakeClock) -> tuple[UUID, UUID]:
    """Two young people with decisions, appeals and contacts; the second one erased."""
    kept, erased = enrolled_young_person(app), enrolled_young_person(app)
    for case in (kept, erased):
        attempts(app, case, 2)
        a_sanction(app, case, reasons="")
        clock.advance(hours=1)
        decision = an_injunction(app, case, details={"drawn_up_with_young_person": False})
        clock.advance(days=1)
        contact(app, case, clock.now - 3 * DAY)
        readiness(app, case, hearing_held_on=None, hearing_omitted_reason="test reason")
        app.appeal_decision(case.young_person_id, decision, "test note", a_context())
    app.erase_personal_data(
        erased.young_person_id, ErasureRequester.YOUNG_PERSON, "GDPR art. 17", a_context()
    )
    return kept.young_person_id, erased.young_person_id


def dump(store: ViewStore) -> dict[str, list[tuple[Any, ...]]]:
    order = {AUDIT: "decision_id", FACTS: "position", PEOPLE: "young_person_id"}
    with store.transaction(readonly=True) as cur:
        return {
            table: [
                tuple(row.values())
                for row in cur.execute(f"SELECT * FROM {table} ORDER BY {key}").fetchall()
            ]
            for table, key in order.items()
        }


def entries_of(store: ViewStore, young_person_id: UUID) -> list[Row]:
    with store.transaction(readonly=True) as cur:
        rows = DecisionAuditView.page(cur, AuditFilter(), limit=100)
    return [row for row in rows if row["young_person_id"] == young_person_id.hex]


def test_erasure_forgets_which_texts_were_there_and_keeps_the_rest(
    app: Overgang, clock: FakeClock, store: ViewStore
) -> None:
    kept, erased = decisions_and_erasure(app, clock)
    ProjectionRunner(app, store, [DecisionAuditProjection()]).catch_up()

    before = [checks_of(entry) for entry in entries_of(store, kept)]
    after = [checks_of(entry) for entry in entries_of(store, erased)]

    assert before == [
        {REASONS: False, HEARING: True, APPEAL_GUIDANCE: True, ATTEMPTS_TO_REACH: False},
        {
            REASONS: True,
            HEARING: True,
            APPEAL_GUIDANCE: True,
            INJUNCTION_CONTENT: True,
            DRAWN_UP_TOGETHER: False,
        },
        {REASONS: True, HEARING: True, APPEAL_GUIDANCE: True},
    ]
    # What the dates and flags show stays; what only the texts showed cannot be told.
    assert after == [
        {REASONS: None, HEARING: True, APPEAL_GUIDANCE: None, ATTEMPTS_TO_REACH: False},
        {
            REASONS: None,
            HEARING: True,
            APPEAL_GUIDANCE: None,
            INJUNCTION_CONTENT: None,
            DRAWN_UP_TOGETHER: False,
        },
        {REASONS: None, HEARING: None, APPEAL_GUIDANCE: None},
    ]
    assert [entry["complete"] for entry in entries_of(store, erased)] == [False, False, None]
    assert entries_of(store, erased)[1]["status"] == "appealed"
    tables = dump(store)
    assert erased.hex not in {row[1] for row in tables[FACTS]}
    assert erased.hex not in {row[0] for row in tables[PEOPLE]}


def test_a_rebuild_of_the_shredded_log_equals_the_incremental_view(
    app: Overgang, clock: FakeClock, store: ViewStore
) -> None:
    _, erased = decisions_and_erasure(app, clock)
    ProjectionRunner(app, store, [DecisionAuditProjection()], batch_size=4).catch_up()
    incremental = dump(store)
    events: list[PositionedEvent] = [
        (position, shredded(event) if event.originator_id == erased else event)
        for position, event in logged_events(app)
    ]
    projection = DecisionAuditProjection()
    with store.transaction() as cur:
        projection.reset(cur)
        projection.process(cur, events)

    assert dump(store) == incremental


@pytest.mark.parametrize("batch_size", [1, 3])
def test_batch_size_does_not_change_the_tables(
    app: Overgang, clock: FakeClock, store: ViewStore, batch_size: int
) -> None:
    decisions_and_erasure(app, clock)
    a_history_before(app, clock, enrolled_young_person(app))
    ProjectionRunner(app, store, [DecisionAuditProjection()], batch_size=1000).catch_up()
    in_one_batch = dump(store)

    runner = ProjectionRunner(app, store, [DecisionAuditProjection()], batch_size=batch_size)
    runner.rebuild("decision_audit")

    assert dump(store) == in_one_batch
    assert [len(rows) for rows in in_one_batch.values()] == [6, 16, 2]


# --- reading: periods, incomplete only, pages ----------------------------------------------------


@pytest.fixture
def three_decisions(app: Overgang, clock: FakeClock) -> list[UUID]:
    case = enrolled_young_person(app)
    made = []
    for day, reasons in ((1, "test"), (2, ""), (3, "test")):
        made.append(readiness(app, case, at=clock.now - (10 - day) * DAY, reasons=reasons))
    return made


def test_a_period_and_incomplete_only_choose_the_decisions(
    runner: ProjectionRunner, clock: FakeClock, three_decisions: list[UUID]
) -> None:
    first, second, third = (decision.hex for decision in three_decisions)
    runner.catch_up()
    period = AuditFilter(since=clock.now - 8 * DAY, until=clock.now)

    with runner.store.transaction(readonly=True) as cur:
        every = [row["decision_id"] for row in DecisionAuditView.page(cur, AuditFilter(), limit=9)]
        in_period = [row["decision_id"] for row in DecisionAuditView.page(cur, period, limit=9)]
        incomplete = DecisionAuditView.page(cur, AuditFilter(incomplete_only=True), limit=9)
        counts = [DecisionAuditView.count(cur, f) for f in (AuditFilter(), period)]

    assert every == [first, second, third]
    assert in_period == [second, third]
    assert [row["decision_id"] for row in incomplete] == [second]
    assert counts == [3, 2]


def test_pages_follow_each_other_without_gaps(
    runner: ProjectionRunner, three_decisions: list[UUID]
) -> None:
    runner.catch_up()
    seen: list[str] = []
    after: AuditCursor | None = None
    with runner.store.transaction(readonly=True) as cur:
        while page := DecisionAuditView.page(cur, AuditFilter(), limit=2, after=after):
            seen += [row["decision_id"] for row in page]
            after = AuditCursor.decode(AuditCursor.after_row(page[-1]).encode())

    assert seen == [decision.hex for decision in three_decisions]


def test_a_cursor_that_is_not_one_is_refused() -> None:
    with pytest.raises(ValueError, match="not a decision audit cursor"):
        AuditCursor.decode("bm90IGEgY3Vyc29y")
