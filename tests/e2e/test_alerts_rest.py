"""REST commands on alerts: acknowledging with a note and resolving by hand, once per
Idempotency-Key, for the young person's team only."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID

import pytest

from domain.actors import Actor, Role
from tests.e2e.conftest import Api, yp
from tests.e2e.test_alerts_graphql import (
    COUNSELLOR,
    alerts_of,
    raise_alerts,
    team_token,
)


def alert_path(young_person_id: UUID, alert_id: UUID, what: str) -> str:
    return f"{yp(young_person_id)}/alerts/{alert_id}/{what}"


@pytest.fixture(scope="module", autouse=True)
def projections_running(api: Api) -> Iterator[None]:
    api.services.projections.start_in_thread()
    yield
    api.services.projections.stop()


def test_acknowledging_over_rest_is_read_back_over_graphql(api: Api) -> None:
    [alert] = raise_alerts(api)
    path = alert_path(alert.young_person_id, alert.alert_id, "acknowledgement")

    answer = api.command(path, {"note": "visiting on Thursday"}, token=team_token(api))

    assert answer["ids"] == {
        "young_person_id": str(alert.young_person_id),
        "alert_id": str(alert.alert_id),
    }
    [seen] = alerts_of(api, alert.counsellor_id, "ACKNOWLEDGED", position=answer["position"])
    assert seen["id"] == str(alert.alert_id)
    assert (seen["acknowledgementNote"], seen["acknowledgedBy"]) == (
        "visiting on Thursday",
        COUNSELLOR.id,
    )


def test_a_retry_with_the_same_key_records_once(api: Api) -> None:
    [alert] = raise_alerts(api)
    path = alert_path(alert.young_person_id, alert.alert_id, "resolution")
    before = api.position()
    body = {"reason": "she is back at school"}

    first = api.post(path, body, token=team_token(api), key="resolve-1")
    retry = api.post(path, body, token=team_token(api), key="resolve-1")

    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert api.event_names_since(before) == ["AlertResolved"]
    [resolved] = alerts_of(api, alert.counsellor_id, "RESOLVED", position=first.json()["position"])
    assert (resolved["resolution"], resolved["resolutionReason"]) == (
        "BY_HAND",
        "she is back at school",
    )


def test_an_ended_alert_and_a_blank_note_are_refused(api: Api) -> None:
    [alert] = raise_alerts(api)
    ack = alert_path(alert.young_person_id, alert.alert_id, "acknowledgement")
    resolution = alert_path(alert.young_person_id, alert.alert_id, "resolution")
    token = team_token(api)
    before = api.position()

    blank = api.post(ack, {"note": ""}, token=token)
    unknown_alert = api.post(
        alert_path(alert.young_person_id, UUID(int=5), "acknowledgement"),
        {"note": "n"},
        token=token,
    )

    assert (blank.status_code, blank.json()["code"]) == (422, "invalid_request")
    assert (unknown_alert.status_code, unknown_alert.json()["code"]) == (409, "alert_not_open")
    assert api.position() == before
    api.command(resolution, {"reason": "reached by phone"}, token=token)
    again = api.post(resolution, {"reason": "reached by phone"}, token=token)
    assert (again.status_code, again.json()["code"]) == (409, "alert_not_open")


@pytest.mark.parametrize(
    "role, team",
    [
        (Role.COUNSELLOR, "another-team"),
        (Role.TEAM_LEAD, "another-team"),
        (Role.PARTNER, None),
        (Role.AUDITOR, None),
        (Role.EVALUATOR, None),
        (Role.ADMIN, None),
    ],
    ids=lambda value: getattr(value, "value", value),
)
def test_only_the_young_persons_team_may_acknowledge(
    api: Api, role: Role, team: str | None
) -> None:
    [alert] = raise_alerts(api)
    token = api.token_for(Actor(id=f"{role.value}-rest", role=role), team=team, institution="i")
    before = api.position()

    for what, body in (("acknowledgement", {"note": "n"}), ("resolution", {"reason": "r"})):
        response = api.post(
            alert_path(alert.young_person_id, alert.alert_id, what), body, token=token
        )
        assert (response.status_code, response.json()["code"]) == (403, "forbidden")
    assert api.position() == before


def test_a_team_lead_of_the_team_may_resolve(api: Api) -> None:
    [alert] = raise_alerts(api)
    lead = api.token_for(Actor(id="lead-rest", role=Role.TEAM_LEAD), team="aalborg-mobil")

    answer = api.command(
        alert_path(alert.young_person_id, alert.alert_id, "resolution"),
        {"reason": "handed over to the school counsellor"},
        token=lead,
    )

    assert answer["ids"]["alert_id"] == str(alert.alert_id)
