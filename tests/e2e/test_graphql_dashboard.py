"""The dashboard's GraphQL reads end to end: caseload with flags, referral queue, a young
person's plan, transitions and flags; SQL round trips that do not grow with the caseload."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.app import create_app
from api.auth import issue_token
from domain.actors import Role
from domain.vocabulary import Channel, Purpose, ReviewOutcome, TransitionStep
from infra.bootstrap import Services, build_services
from tests.backends import Backend
from tests.counting import CountingViewStore
from tests.factories import (
    TEAM,
    a_contact,
    a_context,
    a_counsellor,
    a_transition,
    accepted_young_person,
    enrolled_young_person,
    referred_young_person,
)
from tests.fakes import FakeClock

CASELOAD = """
query Caseload($id: ID!, $first: Int!, $after: String) {
  caseload(counsellorId: $id) {
    counsellorId caseloadLimit activeCount overLimit
    entries(first: $first, after: $after) {
      entries {
        youngPersonId name daysSinceReachedContact lastReachedContactAt
        currentTransition { kind phase }
        nextMilestone { title due }
        openFlags { rule ruleVersion severity since raisedBy { position eventType } }
      }
      pageInfo { endCursor hasNextPage }
    }
  }
}
"""

EVERYTHING_PER_ENTRY = """
query Caseload($id: ID!) {
  caseload(counsellorId: $id) {
    activeCount
    entries(first: 100) {
      entries {
        youngPersonId name daysSinceReachedContact
        openFlags { rule }
        openAlerts { id status daysQuiet }
        youngPerson {
          name
          decisions { decisionId complete }
          riskFlags { rule }
          plan { goal milestones { title status } }
          transitions { kind phase daysSinceStart steps { step } }
          timeline(first: 3) { summary }
        }
      }
    }
  }
}
"""


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def services(backend: Backend, clock: FakeClock) -> Iterator[Services]:
    settings = backend.settings.model_copy(
        update={
            "jwt_secret": SecretStr("dashboard-e2e-secret-long-enough-for-hs256"),
            "read_your_writes_timeout": 2.0,
            "projection_poll_interval": 0.02,
            "postgres_pool_size": 2,
        }
    )
    services = build_services(settings, clock=clock)
    try:
        services.projections.setup()
        yield services
    finally:
        services.close()


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services)) as client:
        yield client


def graphql_body(client: TestClient, services: Services, query: str, **variables: Any) -> Any:
    """The whole answer, to a counsellor of the team the factories register in."""
    token = issue_token(services.settings, Role.COUNSELLOR, "counsellor-dashboard", team=TEAM)
    response = client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200
    return response.json()


def graphql(client: TestClient, services: Services, query: str, **variables: Any) -> Any:
    body = graphql_body(client, services, query, **variables)
    assert "errors" not in body, body["errors"]
    return body["data"]


def test_a_caseload_shows_contact_transition_milestone_and_open_flags(
    services: Services, client: TestClient, clock: FakeClock
) -> None:
    app = services.app
    counsellor_id = a_counsellor(app, caseload_limit=2)
    quiet = enrolled_young_person(app, counsellor_id=counsellor_id).young_person_id
    busy = enrolled_young_person(app, counsellor_id=counsellor_id, plan=True).young_person_id
    app.set_milestone(busy, "apply for the basic course", date(2024, 3, 20), a_context())
    app.start_transition(busy, a_transition(), a_context())
    clock.advance(days=2)
    app.record_contact(busy, a_contact(), a_context())
    app.record_contact(quiet, a_contact(reached=False, channel=Channel.PHONE), a_context())
    clock.advance(days=31)  # no plan for the quiet one; no contact for a while for either
    services.projections.catch_up()

    caseload = graphql(client, services, CASELOAD, id=str(counsellor_id), first=10)["caseload"]

    assert caseload["activeCount"] == 2
    assert caseload["overLimit"] is False
    entries = {entry["youngPersonId"]: entry for entry in caseload["entries"]["entries"]}
    assert set(entries) == {str(quiet), str(busy)}
    assert entries[str(busy)]["daysSinceReachedContact"] == 31
    assert entries[str(quiet)]["daysSinceReachedContact"] is None  # an attempt is not contact
    assert entries[str(busy)]["currentTransition"]["phase"] == "PREPARING"
    assert entries[str(busy)]["nextMilestone"]["due"] == "2024-03-20"
    assert entries[str(busy)]["name"] == "Test Person"
    quiet_rules = {flag["rule"] for flag in entries[str(quiet)]["openFlags"]}
    busy_rules = {flag["rule"] for flag in entries[str(busy)]["openFlags"]}
    assert "no_plan" in quiet_rules and "no_plan" not in busy_rules
    assert {"quiet_transition", "milestone_overdue"} <= busy_rules
    flag = next(f for f in entries[str(quiet)]["openFlags"] if f["rule"] == "no_plan")
    assert flag["ruleVersion"] == 1
    assert flag["raisedBy"] and flag["raisedBy"][0]["eventType"] == "Enrolled"


def test_caseload_pages_with_a_cursor_and_an_unknown_counsellor_is_refused(
    services: Services, client: TestClient
) -> None:
    app = services.app
    counsellor_id = a_counsellor(app)
    for _ in range(5):
        enrolled_young_person(app, counsellor_id=counsellor_id)
    services.projections.catch_up()

    seen: list[str] = []
    after = None
    pages = 0
    while True:
        page = graphql(client, services, CASELOAD, id=str(counsellor_id), first=2, after=after)
        entries = page["caseload"]["entries"]
        seen += [entry["youngPersonId"] for entry in entries["entries"]]
        pages += 1
        if not entries["pageInfo"]["hasNextPage"]:
            break
        after = entries["pageInfo"]["endCursor"]

    assert pages == 3
    assert len(seen) == len(set(seen)) == 5
    assert seen == sorted(seen, key=lambda text: UUID(text).hex)
    # Like a counsellor of another team: whether one exists is not told.
    unknown = graphql_body(client, services, CASELOAD, id=str(UUID(int=7)), first=2)
    another = a_counsellor(app, team_id="another-team")
    services.projections.catch_up()
    other_teams = graphql_body(client, services, CASELOAD, id=str(another), first=2)
    assert [error["extensions"]["code"] for error in unknown["errors"]] == ["forbidden"]
    assert unknown == other_teams


def test_the_referral_queue_is_oldest_first_with_days_waiting_and_pages(
    services: Services, client: TestClient, clock: FakeClock
) -> None:
    app = services.app
    first = referred_young_person(app)
    clock.advance(days=3)
    second = referred_young_person(app)
    clock.advance(days=1)
    accepted_young_person(app)  # reviewed: not pending
    waitlisted = referred_young_person(app)
    app.review_referral(waitlisted, ReviewOutcome.WAITLISTED, clock().date(), "", a_context())
    clock.advance(days=4)
    services.projections.catch_up()
    query = """
    query Queue($first: Int!, $after: String) {
      referralQueue(first: $first, after: $after) {
        total
        entries { youngPersonId status daysWaiting consentScopes }
        pageInfo { endCursor hasNextPage }
      }
    }
    """

    page = graphql(client, services, query, first=2)["referralQueue"]
    rest = graphql(client, services, query, first=2, after=page["pageInfo"]["endCursor"])

    assert page["total"] == 3
    assert [e["youngPersonId"] for e in page["entries"]] == [str(first), str(second)]
    assert [e["daysWaiting"] for e in page["entries"]] == [8, 5]
    assert page["entries"][0]["consentScopes"] == ["CASE_WORK", "SMS_CONTACT"]
    assert page["pageInfo"]["hasNextPage"] is True
    entries = rest["referralQueue"]["entries"]
    assert [(e["youngPersonId"], e["status"]) for e in entries] == [(str(waitlisted), "waitlisted")]
    assert rest["referralQueue"]["pageInfo"]["hasNextPage"] is False


def test_a_young_person_reads_plan_transitions_and_flags_after_their_own_write(
    services: Services, client: TestClient, clock: FakeClock
) -> None:
    app = services.app
    young_person_id = enrolled_young_person(app, plan=True).young_person_id
    app.set_milestone(young_person_id, "visit the college", date(2024, 3, 11), a_context())
    started = app.start_transition(young_person_id, a_transition(), a_context())
    transition_id = started.ids["transition_id"]
    clock.advance(days=10)
    services.projections.start_in_thread()
    written = app.record_transition_step(
        young_person_id, transition_id, TransitionStep.VISITED, "went well", a_context()
    )
    query = """
    query Person($id: ID!, $position: Int) {
      youngPerson(id: $id, waitForPosition: $position) {
        riskFlags { rule severity }
        plan { goal draftedTogether milestones { title due status } }
        transitions { id kind phase daysSinceStart steps { step note } }
      }
    }
    """

    person = graphql(client, services, query, id=str(young_person_id), position=written.position)

    assert person["youngPerson"]["plan"]["goal"] == "test goal"
    assert person["youngPerson"]["plan"]["milestones"] == [
        {"title": "visit the college", "due": "2024-03-11", "status": "OPEN"}
    ]
    [transition] = person["youngPerson"]["transitions"]
    assert transition["id"] == transition_id.hex
    assert transition["daysSinceStart"] == 10
    assert transition["steps"] == [{"step": "VISITED", "note": "went well"}]
    assert {"quiet_transition", "milestone_overdue"} <= {
        flag["rule"] for flag in person["youngPerson"]["riskFlags"]
    }


def _statements_for_caseload(services: Services, size: int) -> int:
    app = services.app
    counsellor_id = a_counsellor(app, caseload_limit=size)
    for _ in range(size):
        young_person_id = enrolled_young_person(
            app, counsellor_id=counsellor_id, plan=True
        ).young_person_id
        app.set_milestone(young_person_id, "a milestone", date(2024, 4, 1), a_context())
        started = app.start_transition(young_person_id, a_transition(), a_context())
        app.record_transition_step(
            young_person_id,
            started.ids["transition_id"],
            TransitionStep.APPLIED,
            "",
            a_context(),
        )
        app.record_contact(
            young_person_id, a_contact(purpose=Purpose.WAKE_UP, reached=False), a_context()
        )
    services.projections.catch_up()
    counting = CountingViewStore(services.views)
    services.views = counting
    try:
        with TestClient(create_app(services)) as client:
            counting.statements = 0
            data = graphql(client, services, EVERYTHING_PER_ENTRY, id=str(counsellor_id))
            assert len(data["caseload"]["entries"]["entries"]) == size
            return counting.statements
    finally:
        services.views = counting.inner


def test_sql_round_trips_per_caseload_request_do_not_grow_with_the_caseload(
    services: Services,
) -> None:
    small = _statements_for_caseload(services, 5)
    large = _statements_for_caseload(services, 50)

    # counsellor, entries, flags, alerts, plan, milestones, transitions, steps, timeline,
    # the young people's rows (names) and their decisions
    assert small == large == 11
