"""Every command through HTTP: 201, the ids, the position, and exactly the events written."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest

from domain.actors import Actor
from domain.application import Overgang
from domain.recording import RecordedEvent
from tests.e2e import payloads
from tests.e2e.conftest import ADMIN, COUNSELLOR, NOW, TEAM_LEAD, Api, yp
from tests.e2e.payloads import ROUTES_BY_NAME, Json


@dataclass(frozen=True)
class Call:
    """A prepared command: where to send what, and what it must write and answer."""

    path: str
    body: Json
    events: list[str]
    ids: dict[str, UUID] = field(default_factory=dict)
    new_id: str | None = None  # the id the command creates, read back from its first event


def _register_counsellor(api: Api) -> Call:
    return Call(
        "/api/v1/counsellors", payloads.counsellor(), ["CounsellorRegistered"], {}, "counsellor_id"
    )


def _change_caseload_limit(api: Api) -> Call:
    c = api.counsellor()
    return Call(
        f"/api/v1/counsellors/{c}/caseload-limit",
        payloads.caseload_limit(),
        ["CaseloadLimitChanged"],
        {"counsellor_id": c},
    )


def _register_institution(api: Api) -> Call:
    return Call(
        "/api/v1/institutions",
        payloads.institution(),
        ["InstitutionRegistered"],
        {},
        "institution_id",
    )


def _assign_institution_contact(api: Api) -> Call:
    i, c = api.institution(), api.counsellor()
    return Call(
        f"/api/v1/institutions/{i}/contact-person",
        payloads.contact_person(c),
        ["ContactPersonAssigned"],
        {"institution_id": i, "counsellor_id": c},
    )


def _refer(api: Api) -> Call:
    return Call("/api/v1/referrals", payloads.referral(), ["Referred"], {}, "young_person_id")


def _on(young_person_id: UUID, tail: str, body: Json, events: list[str], **ids: UUID) -> Call:
    return Call(
        f"{yp(young_person_id)}/{tail}",
        body,
        events,
        {"young_person_id": young_person_id, **ids},
    )


def _review_referral(api: Api) -> Call:
    return _on(api.referred(), "referral-review", payloads.review(), ["ReferralReviewed"])


def _enrol(api: Api) -> Call:
    y, c = api.accepted(), api.counsellor()
    return _on(y, "enrolment", payloads.enrolment(c), ["Enrolled", "CaseTaken"], counsellor_id=c)


def _assign_counsellor(api: Api) -> Call:
    y, c = api.enrolled(), api.counsellor()
    return _on(
        y,
        "counsellor-assignment",
        payloads.assignment(c),
        ["CounsellorAssigned", "CaseTaken", "CaseReleased"],
        counsellor_id=c,
    )


def _record_consent(api: Api) -> Call:
    return _on(api.referred(), "consents", payloads.consent(), ["ConsentRecorded"])


def _withdraw_consent(api: Api) -> Call:
    # The referral carried consent to SMS contact.
    return _on(
        api.referred(),
        "consent-withdrawals",
        payloads.consent(scope="sms_contact"),
        ["ConsentWithdrawn"],
    )


def _close_case(api: Api) -> Call:
    return _on(api.enrolled(), "closing", payloads.closing(), ["CaseClosed", "CaseReleased"])


def _reopen_case(api: Api) -> Call:
    return _on(api.closed(), "reopening", payloads.reopening(), ["CaseReopened", "CaseTaken"])


def _erase_personal_data(api: Api) -> Call:
    return _on(
        api.enrolled(), "erasure", payloads.erasure(), ["PersonalDataErased", "CaseReleased"]
    )


def _record_contact(api: Api) -> Call:
    call = _on(api.referred(), "contacts", payloads.contact(), ["ContactRecorded"])
    return Call(call.path, call.body, call.events, call.ids, "contact_id")


def _agree_wake_up(api: Api) -> Call:
    return _on(api.referred(), "wake-up-agreement", payloads.wake_up(), ["WakeUpAgreed"])


def _end_wake_up(api: Api) -> Call:
    y = api.referred()
    api.command(f"{yp(y)}/wake-up-agreement", payloads.wake_up())
    return _on(y, "wake-up-agreement/end", payloads.wake_up_end(), ["WakeUpEnded"])


def _draft_plan(api: Api) -> Call:
    return _on(api.enrolled(), "plan", payloads.plan(), ["PlanDrafted"])


def _set_milestone(api: Api) -> Call:
    call = _on(api.with_plan(), "milestones", payloads.milestone(), ["MilestoneSet"])
    return Call(call.path, call.body, call.events, call.ids, "milestone_id")


def _on_milestone(api: Api, tail: str, body: Json, event: str) -> Call:
    y = api.with_plan()
    m = api.milestone(y)
    return _on(y, f"milestones/{m}/{tail}", body, [event], milestone_id=m)


def _reach_milestone(api: Api) -> Call:
    return _on_milestone(api, "reached", payloads.milestone_note(), "MilestoneReached")


def _miss_milestone(api: Api) -> Call:
    return _on_milestone(api, "missed", payloads.milestone_note(), "MilestoneMissed")


def _reschedule_milestone(api: Api) -> Call:
    return _on_milestone(api, "rescheduled", payloads.reschedule(), "MilestoneRescheduled")


def _drop_milestone(api: Api) -> Call:
    return _on_milestone(api, "dropped", payloads.drop(), "MilestoneDropped")


def _review_plan(api: Api) -> Call:
    return _on(api.with_plan(), "plan-reviews", payloads.plan_review(), ["PlanReviewed"])


def _start_transition(api: Api) -> Call:
    call = _on(api.enrolled(), "transitions", payloads.transition(), ["TransitionStarted"])
    return Call(call.path, call.body, call.events, call.ids, "transition_id")


def _on_transition(api: Api, tail: str, body: Json, event: str) -> Call:
    y = api.enrolled()
    t = api.transition(y)
    return _on(y, f"transitions/{t}/{tail}", body, [event], transition_id=t)


def _record_transition_step(api: Api) -> Call:
    return _on_transition(api, "steps", payloads.step(), "TransitionStepRecorded")


def _start_education(api: Api) -> Call:
    return _on_transition(api, "education-start", payloads.education_start(), "EducationStarted")


def _complete_transition(api: Api) -> Call:
    return _on_transition(api, "completion", payloads.completion(), "TransitionCompleted")


def _abandon_transition(api: Api) -> Call:
    return _on_transition(api, "abandonment", payloads.abandonment(), "TransitionAbandoned")


def _signal(builder: Callable[..., Json], tail: str, event: str) -> Callable[[Api], Call]:
    def prepare(api: Api) -> Call:
        return _on(api.referred(), tail, builder(api.institution()), [event])

    return prepare


def _decide(kind: str, event: str) -> Callable[[Api], Call]:
    def prepare(api: Api) -> Call:
        y, c = api.enrolled(), api.counsellor()
        call = _on(y, "decisions", payloads.decision(c, kind), [event])
        return Call(call.path, call.body, call.events, call.ids, "decision_id")

    return prepare


def _revise_injunction(api: Api) -> Call:
    y, c = api.enrolled(), api.counsellor()
    d = api.decision(y, c, "education_injunction")
    body = payloads.decision(c, "injunction_revision", revises=d)
    call = _on(y, "decisions", body, ["EducationInjunctionRevised"])
    return Call(call.path, call.body, call.events, call.ids, "decision_id")


def _on_decision(
    tail: str, body: Json, event: str, appealed: bool = False
) -> Callable[[Api], Call]:
    def prepare(api: Api) -> Call:
        y, c = api.enrolled(), api.counsellor()
        d = api.decision(y, c)
        if appealed:
            api.command(f"{yp(y)}/decisions/{d}/appeal", payloads.appeal())
        return _on(y, f"decisions/{d}/{tail}", body, [event], decision_id=d)

    return prepare


def _on_alert(tail: str, body: Json, events: list[str]) -> Callable[[Api], Call]:
    def prepare(api: Api) -> Call:
        y = api.enrolled()
        a = api.alert(y)
        return _on(y, f"alerts/{a}/{tail}", body, events, alert_id=a)

    return prepare


CASES: dict[str, Callable[[Api], Call]] = {
    "register_counsellor": _register_counsellor,
    "change_caseload_limit": _change_caseload_limit,
    "register_institution": _register_institution,
    "assign_institution_contact": _assign_institution_contact,
    "refer": _refer,
    "review_referral": _review_referral,
    "enrol": _enrol,
    "assign_counsellor": _assign_counsellor,
    "record_consent": _record_consent,
    "withdraw_consent": _withdraw_consent,
    "close_case": _close_case,
    "reopen_case": _reopen_case,
    "erase_personal_data": _erase_personal_data,
    "record_contact": _record_contact,
    "agree_wake_up": _agree_wake_up,
    "end_wake_up": _end_wake_up,
    "draft_plan": _draft_plan,
    "set_milestone": _set_milestone,
    "reach_milestone": _reach_milestone,
    "miss_milestone": _miss_milestone,
    "reschedule_milestone": _reschedule_milestone,
    "drop_milestone": _drop_milestone,
    "review_plan": _review_plan,
    "start_transition": _start_transition,
    "record_transition_step": _record_transition_step,
    "start_education": _start_education,
    "complete_transition": _complete_transition,
    "abandon_transition": _abandon_transition,
    "report_absence": _signal(payloads.absence, "absences", "AbsenceReported"),
    "report_concern": _signal(payloads.concern, "concerns", "ConcernReported"),
    "report_dropout": _signal(payloads.dropout, "dropouts", "DropoutReported"),
    "assess_readiness": _decide("readiness_assessment", "ReadinessAssessed"),
    "issue_injunction": _decide("education_injunction", "EducationInjunctionIssued"),
    "revise_injunction": _revise_injunction,
    "decide_sanction": _decide("sanction", "SanctionDecided"),
    "make_other_decision": _decide("other", "OtherDecisionMade"),
    "appeal_decision": _on_decision("appeal", payloads.appeal(), "DecisionAppealed"),
    "decide_appeal": _on_decision(
        "appeal-decision", payloads.appeal_decision(), "AppealDecided", appealed=True
    ),
    "revoke_decision": _on_decision("revocation", payloads.revocation(), "DecisionRevoked"),
    "acknowledge_alert": _on_alert(
        "acknowledgement", payloads.alert_acknowledgement(), ["AlertAcknowledged"]
    ),
    "resolve_alert": _on_alert("resolution", payloads.alert_resolution(), ["AlertResolved"]),
}


def _commands_of_the_application() -> set[str]:
    """Every public method of ``Overgang`` that takes a command context."""
    return {
        name
        for name, member in vars(Overgang).items()
        if not name.startswith("_")
        and callable(member)
        and "ctx" in inspect.signature(member).parameters
    }


# Recorded by a read: `GET .../export` records that the young person's data was exported
# (see tests/e2e/test_personal_data.py), so it has no command route of its own.
RECORDED_BY_READS = {"record_subject_access_export"}
# Given by the alert sweeper from the clock (tests/integration/test_alert_sweeper*.py),
# never by a caller.
GIVEN_BY_THE_SWEEPER = {"raise_quiet_alert", "escalate_quiet_alert"}


def test_every_command_of_the_application_has_a_route_and_a_case() -> None:
    commands = _commands_of_the_application()

    assert len(commands) == 44
    assert set(ROUTES_BY_NAME) == commands - RECORDED_BY_READS - GIVEN_BY_THE_SWEEPER
    assert set(CASES) == commands - RECORDED_BY_READS - GIVEN_BY_THE_SWEEPER


def _caller(path: str) -> Actor:
    """Who may give the command: the admin organises, the team lead erases, the
    counsellor does the rest (see test_access_matrix for every role)."""
    if path.startswith(("/api/v1/counsellors", "/api/v1/institutions")):
        return ADMIN
    if path.endswith("/erasure"):
        return TEAM_LEAD
    return COUNSELLOR


@pytest.mark.parametrize("command", sorted(CASES))
def test_command_is_recorded_with_its_ids_position_and_actor(api: Api, command: str) -> None:
    call = CASES[command](api)
    actor = _caller(call.path)
    before = api.position()

    response = api.post(call.path, call.body, token=api.token_for(actor))

    assert response.status_code == 201, response.json()
    answer: dict[str, Any] = response.json()
    written = api.events_since(before)
    assert [type(event).__name__ for event in written] == call.events
    assert answer["position"] == api.position()
    assert answer["position"] > before
    expected_ids = dict(call.ids)
    if call.new_id is not None:
        created = getattr(written[0], call.new_id, None) or written[0].originator_id
        expected_ids[call.new_id] = created
    assert {name: UUID(value) for name, value in answer["ids"].items()} == expected_ids
    assert all(isinstance(event, RecordedEvent) for event in written)
    recorded = [event for event in written if isinstance(event, RecordedEvent)]
    assert [event.actor for event in recorded] == [actor] * len(written)
    assert [event.occurred_at for event in recorded] == [NOW] * len(written)


def test_positions_increase_from_command_to_command(api: Api) -> None:
    young_person_id = api.referred()

    positions = [
        api.command(f"{yp(young_person_id)}/contacts", payloads.contact())["position"]
        for _ in range(3)
    ]

    assert positions == sorted(set(positions))
    assert positions[-1] == api.position()


def test_occurred_at_in_the_past_is_recorded_as_given(api: Api) -> None:
    young_person_id = api.referred()
    occurred_at = NOW - timedelta(days=3, hours=2)
    before = api.position()

    api.command(
        f"{yp(young_person_id)}/contacts",
        payloads.contact(occurred_at=occurred_at.isoformat()),
    )

    [event] = api.events_since(before)
    assert isinstance(event, RecordedEvent)
    assert event.occurred_at == occurred_at


def test_a_referral_through_enrolment_and_into_education(api: Api) -> None:
    """One young person's course, command after command, as a counsellor would record it."""
    counsellor_id = api.counsellor(caseload_limit=2)
    institution_id = api.institution()
    young_person_id = api.referred(institution_id=str(institution_id))
    base = yp(young_person_id)
    before = api.position()

    api.command(f"{base}/referral-review", payloads.review())
    api.command(f"{base}/enrolment", payloads.enrolment(counsellor_id))
    api.command(f"{base}/contacts", payloads.contact(reached=False, channel="phone", place=None))
    api.command(f"{base}/plan", payloads.plan())
    transition = api.command(
        f"{base}/transitions", payloads.transition(to_institution_id=str(institution_id))
    )["ids"]["transition_id"]
    api.command(f"{base}/transitions/{transition}/steps", payloads.step(step="admitted"))
    api.command(f"{base}/transitions/{transition}/education-start", payloads.education_start())
    api.command(f"{base}/transitions/{transition}/completion", payloads.completion())
    api.command(f"{base}/closing", payloads.closing(outcome="completed"))

    assert api.event_names_since(before) == [
        "ReferralReviewed",
        "Enrolled",
        "CaseTaken",
        "ContactRecorded",
        "PlanDrafted",
        "TransitionStarted",
        "TransitionStepRecorded",
        "EducationStarted",
        "TransitionCompleted",
        "CaseClosed",
        "CaseReleased",
    ]
