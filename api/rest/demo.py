"""Demo login for the dashboard: pick a demo counsellor, team lead or auditor.

A newcomer who ran ``make run`` has no identity provider and no token; the dashboard at
``/`` lists the staff of the data set (``GET /api/v1/demo/identities``) and asks for a
short-lived token for one of them (``POST /api/v1/demo/login``). Everything else the
dashboard does goes through GraphQL with that token, exactly as with a real one.

Only in embedded development: the process runs on SQLite (no ``OVERGANG_DATABASE_URL``)
and signs tokens with the development default secret. An embedded installation that set
a secret of its own is a real one (a single small team), so there, as everywhere else,
both routes answer 404 as if they did not exist: a demo login would hand anyone a token.

The list names staff only (counsellor names are staff data, and their ids), never a young
person. The routes are left out of the OpenAPI document: they are no part of the API that
clients build on.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field

from api.auth import DEVELOPMENT_JWT_SECRET, issue_token
from api.deps import ApiServices, ApiSettings, get_services_of
from projections.caseload import CaseloadView

DEMO_TOKEN_TTL = timedelta(hours=2)
"""How long a demo token lasts: a morning's look around, then log in again."""

AUDITOR_SUB = "demo-auditor"
"""The demo auditor's subject: auditors are no counsellors, so the data set has none."""

DemoRole = Literal["counsellor", "team_lead", "auditor"]


def demo_enabled(settings: ApiSettings) -> bool:
    """Embedded development: SQLite, and tokens signed with the development default secret."""
    return (
        settings.is_embedded
        and settings.jwt_algorithm == "HS256"
        and settings.jwt_secret.get_secret_value() == DEVELOPMENT_JWT_SECRET
    )


def _demo_services(request: Request) -> ApiServices:
    services = get_services_of(request)
    if not demo_enabled(services.settings):
        raise HTTPException(404, "Not Found")
    return services


DemoServicesDep = Annotated[ApiServices, Depends(_demo_services)]

router = APIRouter(prefix="/demo", tags=["demo"], include_in_schema=False)


class DemoIdentity(BaseModel):
    id: str = Field(description="What `POST /demo/login` takes: `<role>:<subject>`.")
    role: DemoRole
    sub: str = Field(description="The token's subject: the counsellor's id, for staff.")
    team: str | None = None
    counsellor_id: UUID | None = Field(
        default=None, description="Whose caseload is theirs (counsellors and team leads)."
    )
    display_name: str = Field(description="A staff member's name, or the role's.")
    active_cases: int | None = None


class DemoIdentities(BaseModel):
    identities: list[DemoIdentity]


class DemoLoginRequest(BaseModel):
    identity: str = Field(min_length=1, max_length=300)


class DemoLogin(BaseModel):
    token: str
    expires_at: datetime
    identity: DemoIdentity


def _identities(services: ApiServices) -> list[DemoIdentity]:
    """Per team (in id order) its team leads, then its counsellors; then the auditor."""
    with services.views.transaction(readonly=True) as cur:
        teams = CaseloadView.teams(cur)
        by_team = CaseloadView.team_counsellors(cur, teams)
    identities: list[DemoIdentity] = []
    for team in teams:
        rows = sorted(by_team[team], key=lambda row: (row["role"] != "team_lead", row["name"]))
        for row in rows:
            counsellor_id = UUID(row["counsellor_id"])
            role: DemoRole = "team_lead" if row["role"] == "team_lead" else "counsellor"
            identities.append(
                DemoIdentity(
                    id=f"{role}:{counsellor_id}",
                    role=role,
                    sub=str(counsellor_id),
                    team=team,
                    counsellor_id=counsellor_id,
                    display_name=row["name"] or "(uden navn)",
                    active_cases=int(row["active_count"]),
                )
            )
    identities.append(
        DemoIdentity(
            id=f"auditor:{AUDITOR_SUB}",
            role="auditor",
            sub=AUDITOR_SUB,
            display_name="Demo-revisor",
        )
    )
    return identities


@router.get("/identities")
def demo_identities(services: DemoServicesDep) -> DemoIdentities:
    """The demo staff to log in as (embedded development only; 404 elsewhere)."""
    return DemoIdentities(identities=_identities(services))


@router.post("/login")
def demo_login(body: DemoLoginRequest, services: DemoServicesDep) -> DemoLogin:
    """A short-lived token for one of the demo identities (embedded development only)."""
    identity = next((i for i in _identities(services) if i.id == body.identity), None)
    if identity is None:
        raise HTTPException(404, "no such demo identity")
    # The wall clock, not the services' clock: the token is checked against real time.
    issued = datetime.now(UTC).replace(microsecond=0)
    token = issue_token(
        services.settings,
        identity.role,
        identity.sub,
        team=identity.team,
        ttl=DEMO_TOKEN_TTL,
        now=issued,
    )
    return DemoLogin(token=token, expires_at=issued + DEMO_TOKEN_TTL, identity=identity)
