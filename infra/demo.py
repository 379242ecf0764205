"""A small, believable demo: one mobile team, its partner institutions and their young people.

Everything is written through the real application service, dated in the past (facts may be
recorded late), from a seeded random generator so two runs tell the same story. All names
are invented.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from uuid import UUID

from domain.actors import Actor, Role
from domain.application import CommandContext, Overgang
from domain.decisions import DecisionContent
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
    TransitionStep,
)

TEAM = "aalborg-mobil"
FIRST_NAMES = [
    "Mathias",
    "Sofie",
    "Emil",
    "Ida",
    "Oliver",
    "Freja",
    "Lucas",
    "Laura",
    "Noah",
    "Emma",
    "Victor",
    "Clara",
    "Malthe",
    "Alma",
    "Frederik",
    "Ella",
    "William",
    "Anna",
]
LAST_NAMES = [
    "Nielsen",
    "Jensen",
    "Hansen",
    "Pedersen",
    "Andersen",
    "Christensen",
    "Larsen",
    "Sørensen",
    "Rasmussen",
    "Jørgensen",
    "Madsen",
    "Kristensen",
    "Olsen",
    "Thomsen",
]
INSTITUTIONS = [
    ("Tech College Aalborg", InstitutionKind.VOCATIONAL_COLLEGE),
    ("FGU Aalborg", InstitutionKind.FGU),
    ("Aalborg Produktionsskole", InstitutionKind.PRODUCTION_SCHOOL),
    ("VUC Nordjylland", InstitutionKind.VUC),
    ("Jobcenter Ung Aalborg", InstitutionKind.JOB_CENTRE),
]
NOTES = [
    "Talked about the week ahead.",
    "Good spirits, looking forward to the trial days.",
    "Tired, slept badly; agreed to call tomorrow morning.",
    "Went through the timetable.",
    "Helped with the application form.",
    "Worried about the first day; we will go together.",
]


@dataclass(frozen=True)
class DemoSummary:
    counsellors: int
    institutions: int
    young_people: int
    last_position: int


def load_demo(app: Overgang, young_people: int = 30, seed: int = 7) -> DemoSummary:
    rng = random.Random(seed)
    now = app.clock()
    lead = Actor("demo-lead", Role.TEAM_LEAD)

    def at(moment: datetime, actor: Actor = lead) -> CommandContext:
        return CommandContext(actor=actor, occurred_at=moment)

    start = now - timedelta(days=180)
    counsellor_ids = [
        app.register_counsellor(
            f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
            TEAM,
            CounsellorRole.COUNSELLOR,
            18,
            at(start),
        ).ids["counsellor_id"]
        for _ in range(4)
    ]
    institution_ids = [
        app.register_institution(
            name, kind, counsellor_ids[k % len(counsellor_ids)], at(start)
        ).ids["institution_id"]
        for k, (name, kind) in enumerate(INSTITUTIONS)
    ]
    position = 0
    for k in range(young_people):
        position = _one_history(
            app,
            rng,
            now,
            start + timedelta(days=rng.randint(0, 150)),
            counsellor_ids[k % len(counsellor_ids)],
            institution_ids,
            at,
        )
    return DemoSummary(len(counsellor_ids), len(institution_ids), young_people, position)


def _one_history(
    app: Overgang,
    rng: random.Random,
    now: datetime,
    referred_at: datetime,
    counsellor_id: UUID,
    institution_ids: list[UUID],
    at: Callable[..., CommandContext],
) -> int:
    partner = rng.choice(institution_ids)
    counsellor = Actor(f"demo-{counsellor_id.hex[:8]}", Role.COUNSELLOR)
    referral = ReferralDetails(
        name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
        date_of_birth=date(2000 + rng.randint(0, 8), rng.randint(1, 12), rng.randint(1, 28)),
        phone=f"+45 {rng.randint(20, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)} "
        f"{rng.randint(10, 99)}",
        institution_id=partner,
        referrer_name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
        reason="Frequent absence; wants help to get started on an education.",
        consent_scopes=(ConsentScope.CASE_WORK, ConsentScope.SMS_CONTACT),
    )
    yp: UUID = app.refer(referral, at(referred_at)).ids["young_person_id"]
    day = referred_at + timedelta(days=rng.randint(1, 7))
    result = app.review_referral(yp, ReviewOutcome.ACCEPTED, day.date(), "Fits the team.", at(day))
    day += timedelta(days=1)
    result = app.enrol(yp, counsellor_id, None, at(day))
    if rng.random() < 0.5:
        app.agree_wake_up(yp, time(7, 15), [1, 2, 3, 4, 5], Channel.PHONE, at(day, counsellor))
    plan_day: datetime | None = day + timedelta(days=rng.randint(5, 25))
    transition: UUID | None = None
    while day < now - timedelta(days=2):
        day += timedelta(days=rng.randint(3, 9), hours=rng.randint(0, 8))
        if day >= now:
            break
        channel = rng.choice([Channel.SMS, Channel.PHONE, Channel.MEETING, Channel.MEETING])
        place = rng.choice(list(Place)) if channel is Channel.MEETING else None
        contact = ContactDetails(
            channel=channel,
            direction=Direction.OUTGOING,
            place=place,
            purpose=rng.choice([Purpose.CHECK_IN, Purpose.REMINDER, Purpose.ENCOURAGEMENT]),
            reached=rng.random() < 0.8,
            duration_minutes=rng.randint(10, 60) if channel is Channel.MEETING else None,
            note=rng.choice(NOTES),
        )
        result = app.record_contact(yp, contact, at(day, counsellor))
        if plan_day is not None and day >= plan_day:
            app.draft_plan(
                yp, "Start a vocational education after the summer.", True, at(day, counsellor)
            )
            app.set_milestone(
                yp, "Visit the college", (day + timedelta(days=21)).date(), at(day, counsellor)
            )
            transition = app.start_transition(
                yp,
                TransitionDetails(
                    TransitionKind.SCHOOL_TO_YOUTH_EDUCATION,
                    "Out of school",
                    institution_ids[0],
                    "Vocational basic course",
                    (day + timedelta(days=60)).date(),
                ),
                at(day, counsellor),
            ).ids["transition_id"]
            plan_day = None
        elif transition and rng.random() < 0.1:
            result = app.record_transition_step(
                yp,
                transition,
                rng.choice([TransitionStep.APPLIED, TransitionStep.VISITED]),
                "On track.",
                at(day, counsellor),
            )
    if rng.random() < 0.15:
        content = DecisionContent(
            legal_basis="LAB § 21 b",
            reasons="Has not met the agreed activity.",
            main_considerations="Attendance over the last month.",
            facts_relied_on="Absence reports from the college.",
            fully_in_favour=False,
            hearing_held_on=(now - timedelta(days=3)).date(),
            hearing_omitted_reason=None,
            appeal_guidance="You may appeal to Ankestyrelsen within four weeks.",
            notified_via=NotificationMethod.DIGITAL_MAIL,
            decided_by=counsellor_id,
            declared_role=DeclaredRole.MENTOR_AND_AUTHORITY,
        )
        result = app.issue_injunction(
            yp,
            InjunctionDetails("Start an education", None, "Weekly meetings", True),
            content,
            at(now - timedelta(days=2), counsellor),
        )
    if rng.random() < 0.1:
        result = app.close_case(
            yp,
            CaseOutcome.IN_EDUCATION,
            "Settled in well.",
            at(now - timedelta(days=1), counsellor),
        )
    return result.position
