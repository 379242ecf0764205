"""The dashboard's demo login: only in embedded development (SQLite and the development
token secret), where it lists the staff of the data set and hands out short-lived tokens
that work on the API like any other; everywhere else it does not exist (404)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import jwt
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.app import create_app
from api.auth import DEVELOPMENT_JWT_SECRET
from api.rest.demo import AUDITOR_SUB, DEMO_TOKEN_TTL, demo_enabled
from domain.vocabulary import CounsellorRole
from infra.bootstrap import build_services
from infra.settings import Settings
from tests.e2e.conftest import Api
from tests.factories import a_context, enrolled_young_person

TEAM = "demo-mobil"
IDENTITIES = "/api/v1/demo/identities"
LOGIN = "/api/v1/demo/login"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, UUID]]]:
    """The app in embedded development, with a team lead, a counsellor with one young
    person, and the views caught up."""
    settings = Settings(
        database_url=None,
        data_dir=tmp_path_factory.mktemp("demo") / "var",
        jwt_secret=SecretStr(DEVELOPMENT_JWT_SECRET),
    )
    services = build_services(settings)
    try:
        app = services.app
        ctx = a_context()
        lead = app.register_counsellor("Lea Leder", TEAM, CounsellorRole.TEAM_LEAD, 18, ctx)
        counsellor = app.register_counsellor("Rasmus Råd", TEAM, CounsellorRole.COUNSELLOR, 18, ctx)
        staff = {
            "lead": lead.ids["counsellor_id"],
            "counsellor": counsellor.ids["counsellor_id"],
        }
        person = enrolled_young_person(app, counsellor_id=staff["counsellor"]).young_person_id
        staff["young_person"] = person
        services.projections.catch_up()
        with TestClient(create_app(services)) as client:
            yield client, staff
    finally:
        services.close()


def test_the_identities_are_the_teams_staff_and_an_auditor(
    demo: tuple[TestClient, dict[str, UUID]],
) -> None:
    client, staff = demo

    response = client.get(IDENTITIES)

    assert response.status_code == 200
    assert [
        (i["role"], i["sub"], i["team"], i["display_name"], i["active_cases"])
        for i in response.json()["identities"]
    ] == [
        ("team_lead", str(staff["lead"]), TEAM, "Lea Leder", 0),
        ("counsellor", str(staff["counsellor"]), TEAM, "Rasmus Råd", 1),
        ("auditor", AUDITOR_SUB, None, "Demo-revisor", None),
    ]
    # Staff only: nothing about the young people but a count.
    assert "Test Person" not in response.text


def login(client: TestClient, identity: str) -> dict[str, Any]:
    response = client.post(LOGIN, json={"identity": identity})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


CASELOAD = """
query ($id: ID!) {
  caseload(counsellorId: $id) { activeCount entries { entries { youngPersonId } } }
}
"""


def graphql(client: TestClient, token: str, query: str, **variables: Any) -> dict[str, Any]:
    response = client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def test_a_counsellors_token_reads_their_caseload(
    demo: tuple[TestClient, dict[str, UUID]],
) -> None:
    client, staff = demo

    answer = login(client, f"counsellor:{staff['counsellor']}")

    claims = jwt.decode(answer["token"], options={"verify_signature": False})
    assert (claims["role"], claims["sub"], claims["team"]) == (
        "counsellor",
        str(staff["counsellor"]),
        TEAM,
    )
    assert claims["exp"] - claims["iat"] == DEMO_TOKEN_TTL.total_seconds()
    expires = datetime.fromisoformat(answer["expires_at"])
    assert abs(expires - (datetime.now(UTC) + DEMO_TOKEN_TTL)) < timedelta(minutes=1)
    body = graphql(client, answer["token"], CASELOAD, id=str(staff["counsellor"]))
    assert body["data"]["caseload"] == {
        "activeCount": 1,
        "entries": {"entries": [{"youngPersonId": str(staff["young_person"])}]},
    }


def test_an_auditors_token_reads_the_audit_and_no_caseload(
    demo: tuple[TestClient, dict[str, UUID]],
) -> None:
    client, staff = demo
    token = login(client, f"auditor:{AUDITOR_SUB}")["token"]

    audit = graphql(client, token, "{ decisionAudit { total } }")
    caseload = graphql(client, token, CASELOAD, id=str(staff["counsellor"]))

    assert audit == {"data": {"decisionAudit": {"total": 0}}}
    assert caseload["errors"][0]["extensions"]["code"] == "forbidden"


TEAM_CASELOADS = (
    "query ($team: String!) { teamCaseloads(teamId: $team) { counsellorId activeCount } }"
)


def test_a_team_leads_token_reads_the_teams_caseloads(
    demo: tuple[TestClient, dict[str, UUID]],
) -> None:
    client, staff = demo
    token = login(client, f"team_lead:{staff['lead']}")["token"]

    body = graphql(client, token, TEAM_CASELOADS, team=TEAM)

    loads = {row["counsellorId"]: row["activeCount"] for row in body["data"]["teamCaseloads"]}
    assert loads == {str(staff["lead"]): 0, str(staff["counsellor"]): 1}


@pytest.mark.parametrize(
    "identity",
    [
        "admin:anyone",
        "counsellor:not-in-the-list",
        "team_lead:00000000-0000-0000-0000-000000000000",
    ],
)
def test_only_listed_identities_get_a_token(
    demo: tuple[TestClient, dict[str, UUID]], identity: str
) -> None:
    client, _ = demo

    response = client.post(LOGIN, json={"identity": identity})

    assert response.status_code == 404
    assert "token" not in response.json()


def test_outside_embedded_development_there_is_no_demo_login(sqlite_api: Api) -> None:
    # Embedded, but with a token secret of its own: a real (small) installation.
    for method, path, body in (
        ("GET", IDENTITIES, None),
        ("POST", LOGIN, {"identity": f"auditor:{AUDITOR_SUB}"}),
    ):
        response = sqlite_api.client.request(method, path, json=body)
        assert (response.status_code, response.json()["code"]) == (404, "not_found")


def test_the_demo_login_needs_sqlite_and_the_development_secret(tmp_path: Path) -> None:
    development = SecretStr(DEVELOPMENT_JWT_SECRET)
    own = SecretStr("a-secret-of-our-own-0123456789abcdef")
    url = "postgresql://overgang@127.0.0.1:5432/overgang"

    assert demo_enabled(Settings(database_url=None, data_dir=tmp_path, jwt_secret=development))
    assert not demo_enabled(Settings(database_url=None, data_dir=tmp_path, jwt_secret=own))
    assert not demo_enabled(Settings(database_url=url, data_dir=tmp_path, jwt_secret=development))
    assert not demo_enabled(Settings(database_url=url, data_dir=tmp_path, jwt_secret=own))


def test_the_demo_login_is_no_part_of_the_documented_api(sqlite_api: Api) -> None:
    paths = sqlite_api.client.get("/openapi.json").json()["paths"]

    assert not [path for path in paths if path.startswith("/api/v1/demo")]
