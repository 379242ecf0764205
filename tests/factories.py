"""The one place that builds valid domain inputs for tests.

Every builder returns a valid value; a test overrides only what it is about
(``a_contact(reached=False)``), so the reader sees what matters. Names and notes are
obviously synthetic.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain.actors import Actor, Role
from domain.application import Clock, CommandContext, Overgang
from domain.decisions import DecisionContent
from domain.errors import DomainError
from domain.values import ContactDetails, InjunctionDetails, ReferralDetails, TransitionDetails
from domain.vocabulary import (
    CaseOutcome,
    Channel,
    ConsentScope,
    CounsellorRole,
    DeclaredRole,
    Direction,
    InstitutionKind,
    NotificationMethod,
    Place,
    Purpose,
    ReviewOutcome,
    TransitionKind,
)

TEAM = "aalborg-mobil"
IN_MEMORY: Mapping[str, str] = {"PERSISTENCE_MODULE": "eventsourcing.popo"}

# --- actors and command contexts -------------------------------------------------------------


def an_actor(role: Role = Role.COUNSELLOR, id: str | None = None) -> Actor:
    return Actor(id=id or f"{role.value}-1", role=role)


COUNSELLOR = an_actor(Role.COUNSELLOR)
TEAM_LEAD = an_actor(Role.TEAM_LEAD)
PARTNER = an_actor(Role.PARTNER)


def a_context(actor: Actor = COUNSELLOR, occurred_at: datetime | None = None) -> CommandContext:
    return CommandContext(actor=actor, occurred_at=occurred_at)


# --- command values ------------------------------------------------------------------------


def a_referral(**overrides: Any) -> ReferralDetails:
    fields: dict[str, Any] = {
        "name": "Test Person",
        "date_of_birth": date(2006, 5, 17),
        "phone": "+45 00 00 00 00",
        "institution_id": None,
        "referrer_name": "Test Referrer",
        "reason": "test reason: struggles to get out of the door",
        "consent_scopes": (ConsentScope.CASE_WORK, ConsentScope.SMS_CONTACT),
    }
    fields.update(overrides)
    return ReferralDetails(**fields)


def a_contact(**overrides: Any) -> ContactDetails:
    fields: dict[str, Any] = {
        "channel": Channel.MEETING,
        "direction": Direction.OUTGOING,
        "place": Place.CAFE,
        "purpose": Purpose.CHECK_IN,
        "reached": True,
        "duration_minutes": 30,
        "note": "test note",
    }
    fields.update(overrides)
    return ContactDetails(**fields)


def a_transition(**overrides: Any) -> TransitionDetails:
    fields: dict[str, Any] = {
        "kind": TransitionKind.SCHOOL_TO_YOUTH_EDUCATION,
        "from_situation": "test: leaving 9th grade",
        "to_institution_id": None,
        "programme": "test programme",
        "expected_start": date(2024, 8, 12),
    }
    fields.update(overrides)
    return TransitionDetails(**fields)


def decision_content(decided_by: UUID | None = None, **overrides: Any) -> DecisionContent:
    """A complete decision; not fully in favour, so it carries appeal guidance."""
    fields: dict[str, Any] = {
        "legal_basis": "LAB § 21 b",
        "reasons": "test reasons",
        "main_considerations": "test considerations",
        "facts_relied_on": "test facts",
        "fully_in_favour": False,
        "hearing_held_on": date(2024, 2, 26),
        "hearing_omitted_reason": None,
        "appeal_guidance": "test appeal guidance: four weeks to Ankestyrelsen",
        "notified_via": NotificationMethod.DIGITAL_MAIL,
        "decided_by": decided_by or uuid4(),
        "declared_role": DeclaredRole.MENTOR_AND_AUTHORITY,
    }
    fields.update(overrides)
    return DecisionContent(**fields)


def injunction(**overrides: Any) -> InjunctionDetails:
    fields: dict[str, Any] = {
        "education_goal": "test goal: vocational college",
        "deadline": date(2024, 9, 1),
        "support_offered": "test support: weekly meetings",
        "drawn_up_with_young_person": True,
    }
    fields.update(overrides)
    return InjunctionDetails(**fields)


WAKE_UP_TIME = time(7, 0)
WEEKDAYS = [1, 2, 3, 4, 5]


# --- applications and the streams in them ---------------------------------------------------


def new_app(
    clock: Clock,
    *,
    snapshot_interval: int = 100,
    env: Mapping[str, str] | None = None,
    **kwargs: Any,
) -> Overgang:
    """An Overgang on the in-memory event store."""
    return Overgang(
        clock, env={**IN_MEMORY, **(env or {})}, snapshot_interval=snapshot_interval, **kwargs
    )


def a_counsellor(
    app: Overgang,
    *,
    caseload_limit: int = 18,
    team_id: str = TEAM,
    role: CounsellorRole = CounsellorRole.COUNSELLOR,
) -> UUID:
    result = app.register_counsellor(
        "Test Counsellor", team_id, role, caseload_limit, a_context(TEAM_LEAD)
    )
    return result.ids["counsellor_id"]


def an_institution(
    app: Overgang, *, kind: InstitutionKind = InstitutionKind.VOCATIONAL_COLLEGE
) -> UUID:
    result = app.register_institution("Test College", kind, None, a_context(TEAM_LEAD))
    return result.ids["institution_id"]


def referred_young_person(app: Overgang, **referral: Any) -> UUID:
    return app.refer(a_referral(**referral), a_context(PARTNER)).ids["young_person_id"]


def accepted_young_person(app: Overgang, **referral: Any) -> UUID:
    young_person_id = referred_young_person(app, **referral)
    app.review_referral(
        young_person_id, ReviewOutcome.ACCEPTED, date(2024, 3, 1), "test note", a_context()
    )
    return young_person_id


@dataclass(frozen=True)
class CaseIds:
    young_person_id: UUID
    counsellor_id: UUID


def enrolled_young_person(
    app: Overgang,
    *,
    counsellor_id: UUID | None = None,
    plan: bool = False,
    closed: bool = False,
) -> CaseIds:
    """A young person referred, accepted and enrolled (with a new counsellor if none given)."""
    if counsellor_id is None:
        counsellor_id = a_counsellor(app)
    young_person_id = accepted_young_person(app)
    app.enrol(young_person_id, counsellor_id, None, a_context())
    if plan:
        app.draft_plan(young_person_id, "test goal", True, a_context())
    if closed:
        app.close_case(young_person_id, CaseOutcome.IN_EDUCATION, "test note", a_context())
    return CaseIds(young_person_id, counsellor_id)


# --- observing what a command wrote -----------------------------------------------------------


def log_position(app: Overgang) -> int:
    """The last notification id in the application's log (0 when empty)."""
    return app.recorder.max_notification_id() or 0


@contextmanager
def refused(app: Overgang, error: type[DomainError]) -> Iterator[pytest.ExceptionInfo[Any]]:
    """Expect the block to be refused with exactly ``error`` and to write nothing at all."""
    before = log_position(app)
    with pytest.raises(DomainError) as caught:
        yield caught
    assert type(caught.value) is error, f"expected {error.__name__}, got {caught.value!r}"
    assert log_position(app) == before, "a refused command wrote to the log"
