"""The whole access matrix: every caller against every REST route and GraphQL root field.

Routes are enumerated from the app and root fields from the schema, so a new route or
field without an entry here fails ``test_every_route_has_an_entry`` /
``test_every_root_field_has_an_entry``: decide who may use it, and add it below.

Allowed means the request got past access control (any answer but 401/403 and the GraphQL
codes ``unauthenticated``/``forbidden``; a domain refusal such as 404 or 409 counts as
allowed); denied means exactly 403 ``forbidden`` (401 without a token).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

import fastapi.routing
import pytest

from api.access import may_use
from api.auth import Principal
from api.graphql.schema import schema
from domain.actors import Actor, Role
from tests.e2e import payloads
from tests.e2e.conftest import TEAM, Api, yp

OTHER_TEAM = "another-team"

# --- who asks -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    role: Role | None  # None: no token at all
    team: str | None = None
    other_institution: bool = False


CALLERS: dict[str, Caller] = {
    "counsellor": Caller(Role.COUNSELLOR, TEAM),
    "team_lead": Caller(Role.TEAM_LEAD, TEAM),
    "counsellor_of_other_team": Caller(Role.COUNSELLOR, OTHER_TEAM),
    "team_lead_of_other_team": Caller(Role.TEAM_LEAD, OTHER_TEAM),
    "partner": Caller(Role.PARTNER),
    "partner_of_other_institution": Caller(Role.PARTNER, other_institution=True),
    "auditor": Caller(Role.AUDITOR),
    "evaluator": Caller(Role.EVALUATOR),
    "admin": Caller(Role.ADMIN),
    "no_token": Caller(None),
}

TEAM_ROLES = frozenset({"counsellor", "team_lead"})
"""Of the young person's team (the matrix's young person is enrolled in ``TEAM``)."""
EVERY_TEAM = TEAM_ROLES | {"counsellor_of_other_team", "team_lead_of_other_team"}
PARTNER = frozenset({"partner"})
NOBODY: frozenset[str] = frozenset()


@dataclass
class World:
    """What the requests are about: a young person enrolled in TEAM and its institution."""

    api: Api
    young_person_id: UUID
    counsellor_id: UUID
    institution_id: UUID

    def token(self, caller: Caller) -> str | None:
        if caller.role is None:
            return None
        institution = str(uuid4() if caller.other_institution else self.institution_id)
        actor = Actor(id=f"matrix-{caller.role.value}", role=caller.role)
        team = caller.team
        if caller.role not in (Role.COUNSELLOR, Role.TEAM_LEAD):
            team = None
        return self.api.token_for(actor, team=team, institution=institution)

    def refs(self) -> payloads.Refs:
        return payloads.Refs(
            young_person_id=self.young_person_id,
            counsellor_id=self.counsellor_id,
            institution_id=self.institution_id,
            milestone_id=uuid4(),
            transition_id=uuid4(),
            decision_id=uuid4(),
        )


@pytest.fixture
def world(sqlite_api: Api) -> World:
    """A fresh young person per test: allowed commands change their case."""
    counsellor_id = sqlite_api.counsellor()
    institution_id = sqlite_api.institution()
    return World(
        api=sqlite_api,
        # Referred by the partner's institution: partners report signals only about the
        # young people linked with them.
        young_person_id=sqlite_api.enrolled(counsellor_id, institution_id=str(institution_id)),
        counsellor_id=counsellor_id,
        institution_id=institution_id,
    )


# --- REST -------------------------------------------------------------------------------------

Body = Callable[[payloads.Refs], Any]


@dataclass(frozen=True)
class RestEntry:
    allowed: frozenset[str]
    body: Body | None = None  # None: a GET, or the body of payloads.ROUTES for the path


_YP = "/api/v1/young-people/{young_person_id}"
_ALERT = _YP + "/alerts/{alert_id}"

REST: dict[tuple[str, str], RestEntry] = {
    ("POST", "/api/v1/counsellors"): RestEntry(frozenset({"admin"})),
    ("POST", "/api/v1/counsellors/{counsellor_id}/caseload-limit"): RestEntry(frozenset({"admin"})),
    ("POST", "/api/v1/institutions"): RestEntry(frozenset({"admin"})),
    ("POST", "/api/v1/institutions/{institution_id}/contact-person"): RestEntry(
        frozenset({"admin"})
    ),
    ("POST", "/api/v1/referrals"): RestEntry(
        EVERY_TEAM | PARTNER, lambda r: payloads.referral(institution_id=str(r.institution_id))
    ),
    **{
        ("POST", _YP + suffix): RestEntry(TEAM_ROLES)
        for suffix in (
            "/referral-review",
            "/enrolment",
            "/counsellor-assignment",
            "/consents",
            "/consent-withdrawals",
            "/closing",
            "/reopening",
            "/contacts",
            "/wake-up-agreement",
            "/wake-up-agreement/end",
            "/plan",
            "/milestones",
            "/milestones/{milestone_id}/reached",
            "/milestones/{milestone_id}/missed",
            "/milestones/{milestone_id}/rescheduled",
            "/milestones/{milestone_id}/dropped",
            "/plan-reviews",
            "/transitions",
            "/transitions/{transition_id}/steps",
            "/transitions/{transition_id}/education-start",
            "/transitions/{transition_id}/completion",
            "/transitions/{transition_id}/abandonment",
            "/decisions",
            "/decisions/{decision_id}/appeal",
            "/decisions/{decision_id}/appeal-decision",
            "/decisions/{decision_id}/revocation",
        )
    },
    **{
        ("POST", _YP + suffix): RestEntry(TEAM_ROLES | PARTNER)
        for suffix in ("/absences", "/concerns", "/dropouts")
    },
    ("POST", _YP + "/erasure"): RestEntry(frozenset({"team_lead", "admin"})),
    ("GET", _YP + "/export"): RestEntry(frozenset({"team_lead"})),
    ("POST", _ALERT + "/acknowledgement"): RestEntry(TEAM_ROLES, lambda r: {"note": "test"}),
    ("POST", _ALERT + "/resolution"): RestEntry(TEAM_ROLES, lambda r: {"reason": "test"}),
    ("GET", "/api/v1/decision-audit.csv"): RestEntry(frozenset({"auditor"})),
    # The dashboard's demo login needs no token (embedded development only: a 404 here,
    # where tokens have a secret of their own; tests/e2e/test_demo_login.py).
    ("GET", "/api/v1/demo/identities"): RestEntry(frozenset(CALLERS)),
    ("POST", "/api/v1/demo/login"): RestEntry(
        frozenset(CALLERS), lambda r: {"identity": "auditor:demo-auditor"}
    ),
}


def _api_routes(api: Api) -> list[tuple[str, str]]:
    """(method, path template) of every route under /api/."""
    routes: Any = api.client.app.routes  # type: ignore[attr-defined]
    # FastAPI 0.165 keeps included routers whole; this flattens them (older ones did).
    flatten = getattr(fastapi.routing, "iter_route_contexts", None)
    found = sorted(
        (method, route.path)
        for route in (flatten(routes) if flatten is not None else routes)
        if str(getattr(route, "path", "")).startswith("/api/")
        for method in getattr(route, "methods", None) or ()
    )
    commands = {route.path for route in payloads.ROUTES}  # decisions share one path
    assert len(found) >= len(commands), "the routes were not found: fix the listing"
    return found


def _body(method: str, path: str, entry: RestEntry, refs: payloads.Refs) -> Any:
    if entry.body is not None:
        return entry.body(refs)
    if method == "GET":
        return None
    route = next(route for route in payloads.ROUTES if route.path == path)
    return route.body(refs)


def _send(world: World, method: str, path: str, token: str | None, body: Any) -> Any:
    refs = world.refs()
    url = path.format(**refs.__dict__)
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    return world.api.client.request(method, url, json=body, headers=headers)


def test_every_route_has_an_entry(sqlite_api: Api) -> None:
    missing = [route for route in _api_routes(sqlite_api) if route not in REST]
    assert not missing, f"decide who may use these routes, in REST above: {missing}"


@pytest.mark.parametrize("caller", sorted(CALLERS))
def test_rest_routes_allow_and_deny_as_the_matrix_says(world: World, caller: str) -> None:
    token = world.token(CALLERS[caller])
    wrong = []
    for method, path in _api_routes(world.api):
        entry = REST[(method, path)]
        response = _send(world, method, path, token, _body(method, path, entry, world.refs()))
        if caller in entry.allowed:
            ok = response.status_code not in (401, 403)
        elif caller == "no_token":
            ok = response.status_code == 401
        else:
            ok = response.status_code == 403 and response.json()["code"] == "forbidden"
        if not ok:
            wrong.append((method, path, response.status_code))
    assert not wrong, f"{caller}: {wrong}"


def test_an_unknown_young_person_is_refused_exactly_like_another_teams(world: World) -> None:
    ours = world.token(CALLERS["counsellor"])
    theirs = world.token(CALLERS["counsellor_of_other_team"])
    for method, path in _api_routes(world.api):
        if "{young_person_id}" not in path:
            continue
        entry = REST[(method, path)]
        body = _body(method, path, entry, world.refs())
        unknown = world.api.client.request(
            method,
            path.format(**{**world.refs().__dict__, "young_person_id": uuid4()}),
            json=body,
            headers={"Authorization": f"Bearer {ours}"},
        )
        other_teams = _send(world, method, path, theirs, body)
        assert unknown.status_code == other_teams.status_code == 403, path
        assert unknown.json() == other_teams.json(), path


def test_a_partner_reports_only_about_young_people_linked_with_it(world: World) -> None:
    """A partner of the right institution gets the same 403 for an unknown young person
    as for one it has no link with, so reporting tells it nothing; a transition to it
    links them."""
    api, partner = world.api, world.token(CALLERS["partner"])
    ours = str(world.institution_id)
    stranger = api.enrolled(world.counsellor_id)  # referred without an institution
    body = payloads.concern(world.institution_id)

    def report(young_person_id: UUID) -> Any:
        return api.post(f"{yp(young_person_id)}/concerns", body, token=partner)

    unlinked, unknown = report(stranger), report(uuid4())
    assert unlinked.status_code == unknown.status_code == 403
    assert unlinked.json() == unknown.json()

    api.command(f"{yp(stranger)}/transitions", payloads.transition(to_institution_id=ours))
    assert report(stranger).status_code == 201


# --- GraphQL ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldEntry:
    allowed: frozenset[str]
    document: Callable[[World], str] | None = None  # None: checked by its declaration


GRAPHQL: dict[str, FieldEntry] = {
    "Query.youngPerson": FieldEntry(
        TEAM_ROLES, lambda w: f'{{ youngPerson(id: "{w.young_person_id}") {{ id }} }}'
    ),
    "Query.caseload": FieldEntry(
        TEAM_ROLES, lambda w: f'{{ caseload(counsellorId: "{w.counsellor_id}") {{ teamId }} }}'
    ),
    "Query.teamCaseloads": FieldEntry(
        frozenset({"team_lead"}), lambda w: f'{{ teamCaseloads(teamId: "{TEAM}") {{ teamId }} }}'
    ),
    "Query.referralQueue": FieldEntry(EVERY_TEAM, lambda w: "{ referralQueue { total } }"),
    "Query.accessLog": FieldEntry(
        frozenset({"auditor"}), lambda w: "{ accessLog { entries { what } } }"
    ),
    "Query.decisionAudit": FieldEntry(
        frozenset({"auditor"}), lambda w: "{ decisionAudit { __typename } }"
    ),
    "Query.outcomes": FieldEntry(
        frozenset({"team_lead", "team_lead_of_other_team", "auditor", "evaluator"}),
        lambda w: "{ outcomes { counts { referred } } }",
    ),
    "Query.alerts": FieldEntry(
        TEAM_ROLES, lambda w: f'{{ alerts(teamId: "{TEAM}") {{ __typename }} }}'
    ),
    "Mutation.acknowledgeAlert": FieldEntry(
        TEAM_ROLES,
        lambda w: (
            f'mutation {{ acknowledgeAlert(youngPersonId: "{w.young_person_id}", '
            f'alertId: "{uuid4()}", note: "test") {{ __typename }} }}'
        ),
    ),
    "Mutation.resolveAlert": FieldEntry(
        TEAM_ROLES,
        lambda w: (
            f'mutation {{ resolveAlert(youngPersonId: "{w.young_person_id}", '
            f'alertId: "{uuid4()}", reason: "test") {{ __typename }} }}'
        ),
    ),
    # A subscription streams until the client goes: its declared permission is checked
    # (the team scoping of `teamId` is its resolver's, tested with the alerts).
    "Subscription.alertRaised": FieldEntry(TEAM_ROLES),
}


def _root_fields() -> list[str]:
    graphql = schema._schema
    types = (graphql.query_type, graphql.mutation_type, graphql.subscription_type)
    return sorted(f"{t.name}.{name}" for t in types if t is not None for name in t.fields)


def test_every_root_field_has_an_entry() -> None:
    missing = [field for field in _root_fields() if field not in GRAPHQL]
    assert not missing, f"decide who may use these root fields, in GRAPHQL above: {missing}"


def _codes(body: dict[str, Any]) -> set[str]:
    return {error.get("extensions", {}).get("code") for error in body.get("errors", [])}


@pytest.mark.parametrize("caller", sorted(CALLERS))
def test_graphql_root_fields_allow_and_deny_as_the_matrix_says(world: World, caller: str) -> None:
    token = world.token(CALLERS[caller])
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    world.api.services.projections.catch_up()
    wrong = []
    for field in _root_fields():
        entry = GRAPHQL[field]
        if entry.document is None:
            continue
        response = world.api.client.post(
            "/graphql", json={"query": entry.document(world)}, headers=headers
        )
        assert response.status_code == 200, (field, response.json())
        codes = _codes(response.json())
        if caller in entry.allowed:
            ok = not codes & {"forbidden", "unauthenticated"}
        elif caller == "no_token":
            ok = codes == {"unauthenticated"}
        else:
            ok = codes == {"forbidden"}
        if not ok:
            wrong.append((field, sorted(code or "" for code in codes)))
    assert not wrong, f"{caller}: {wrong}"


def _declared_permission(field: str) -> Any:
    type_name, name = field.split(".")
    definition = schema.get_type_by_name(type_name)
    [declared] = [
        f
        for f in definition.fields  # type: ignore[union-attr]
        if schema.config.name_converter.get_graphql_name(f) == name
    ]
    [permission_class] = declared.permission_classes
    return getattr(permission_class, "permission")  # noqa: B009 (set by api...Allowed)


@pytest.mark.parametrize(
    "field", [field for field, entry in GRAPHQL.items() if entry.document is None]
)
def test_fields_checked_by_declaration_declare_what_the_matrix_says(field: str) -> None:
    if field not in _root_fields():
        pytest.skip(f"{field} is not in the schema")
    permission = _declared_permission(field)
    for name, caller in CALLERS.items():
        if caller.role is None:
            continue
        principal = Principal(
            actor=Actor(id="x", role=caller.role),
            team=caller.team if caller.role in (Role.COUNSELLOR, Role.TEAM_LEAD) else None,
            institution="some-institution" if caller.role is Role.PARTNER else None,
        )
        # may_use: the role may; the team of `teamId` is the resolver's to check.
        expected = name in GRAPHQL[field].allowed or name in EVERY_TEAM - TEAM_ROLES
        assert may_use(principal, permission) == expected, (field, name)
