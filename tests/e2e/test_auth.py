"""Bearer JWTs: who may call at all, and that every command records who did it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from api.auth import (
    AuthenticationError,
    Principal,
    actor_from_token,
    bearer_token,
    issue_token,
    principal_from_token,
)
from domain.actors import Actor, Role
from domain.recording import RecordedEvent
from tests.e2e import payloads
from tests.e2e.conftest import AUDIENCE, SECRET, Api

REFERRALS = "/api/v1/referrals"


def _claims(**overrides: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": "counsellor-9",
        "role": "counsellor",
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + timedelta(hours=1),
    }
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not None}


def _signed(secret: str = SECRET.get_secret_value(), **overrides: Any) -> str:
    return jwt.encode(_claims(**overrides), secret, algorithm="HS256")


BAD_TOKENS: dict[str, tuple[str, str]] = {
    "signed with another secret": (
        _signed(secret="another-secret-that-is-long-enough-0123"),
        "the token is invalid",
    ),
    "expired": (
        _signed(
            iat=datetime.now(UTC) - timedelta(hours=2),
            exp=datetime.now(UTC) - timedelta(hours=1),
        ),
        "the token has expired",
    ),
    "for another audience": (
        _signed(aud="another-service"),
        "the token is not meant for this service",
    ),
    "without expiry": (_signed(exp=None), "the token lacks the exp claim"),
    "without subject": (_signed(sub=None), "the token lacks the sub claim"),
    "without role": (_signed(role=None), "the token lacks the role claim"),
    "without audience": (_signed(aud=None), "the token lacks the aud claim"),
    "with an unknown role": (
        _signed(role="superuser"),
        "the token's role must be one of admin, auditor, counsellor, evaluator, partner, team_lead",
    ),
    "with the system role": (
        _signed(role="system"),
        "the token's role must be one of admin, auditor, counsellor, evaluator, partner, team_lead",
    ),
    "with an empty subject": (_signed(sub=""), "the token's sub claim is malformed"),
    "unsigned (alg none)": (
        # PyJWT's types want a key; "none" ignores it.
        jwt.encode(_claims(), key="", algorithm="none"),
        "the token is not signed with the algorithm configured",
    ),
    "not a JWT at all": ("Sentinel-4711", "the token is invalid"),
}


def _assert_unauthenticated(api: Api, headers: dict[str, str], message: str) -> None:
    before = api.position()

    response = api.post(REFERRALS, payloads.referral(), headers=headers)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json() == {"code": "unauthenticated", "message": message}
    assert api.position() == before


def test_command_without_token_is_unauthenticated(sqlite_api: Api) -> None:
    _assert_unauthenticated(sqlite_api, {}, "a bearer token is required")


@pytest.mark.parametrize(
    "authorization", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Token abc.def.ghi"]
)
def test_command_without_bearer_scheme_is_unauthenticated(
    sqlite_api: Api, authorization: str
) -> None:
    _assert_unauthenticated(
        sqlite_api, {"Authorization": authorization}, "a bearer token is required"
    )


@pytest.mark.parametrize("case", sorted(BAD_TOKENS))
def test_command_with_bad_token_is_unauthenticated(sqlite_api: Api, case: str) -> None:
    token, message = BAD_TOKENS[case]

    _assert_unauthenticated(sqlite_api, {"Authorization": f"Bearer {token}"}, message)


def test_unauthenticated_answer_comes_before_validation(sqlite_api: Api) -> None:
    response = sqlite_api.post(REFERRALS, {"name": 42}, headers={})

    assert response.status_code == 401


def test_health_needs_no_token(sqlite_api: Api) -> None:
    response = sqlite_api.client.get("/health")

    assert (response.status_code, response.json()) == (200, {"status": "ok"})


@pytest.mark.parametrize("role", ["counsellor", "team_lead", "partner", "admin"])
def test_every_command_records_the_actor_of_the_token(api: Api, role: str) -> None:
    # Each writing role with a command it may give (auditors and evaluators write nothing;
    # see test_access_matrix).
    actor = Actor(id=f"{role}-42", role=Role(role))
    institution_id = str(api.institution())
    token = api.token_for(actor, institution=institution_id)
    path, body = (
        ("/api/v1/counsellors", payloads.counsellor())
        if role == "admin"
        else (REFERRALS, payloads.referral(institution_id=institution_id))
    )
    before = api.position()

    api.command(path, body, token=token)

    [event] = api.events_since(before)
    assert isinstance(event, RecordedEvent)
    assert event.actor == actor


# --- the functions the GraphQL context and the CLI use -----------------------------------------


class _Settings:
    jwt_secret = SECRET
    jwt_algorithm = "HS256"
    jwt_audience = AUDIENCE
    jwt_public_key_file = None
    jwt_jwks_file = None
    is_embedded = True


def test_issued_token_names_its_actor_and_scope() -> None:
    token = issue_token(
        _Settings(), "partner", "partner-3", institution="college-1", team="aalborg-mobil"
    )

    assert principal_from_token(token, _Settings()) == Principal(
        actor=Actor(id="partner-3", role=Role.PARTNER),
        team="aalborg-mobil",
        institution="college-1",
    )
    assert actor_from_token(token, _Settings()) == Actor(id="partner-3", role=Role.PARTNER)


def test_issued_token_expires_after_its_ttl() -> None:
    issued = datetime.now(UTC) - timedelta(hours=13)
    token = issue_token(_Settings(), Role.ADMIN, "admin-1", now=issued)

    with pytest.raises(AuthenticationError, match="the token has expired"):
        actor_from_token(token, _Settings())


def test_issue_token_refuses_an_unknown_role() -> None:
    with pytest.raises(ValueError, match="role must be one of"):
        issue_token(_Settings(), "system", "sweeper")


@pytest.mark.parametrize(
    ("header", "token"),
    [("Bearer abc.def.ghi", "abc.def.ghi"), ("bearer  abc ", "abc"), ("BEARER x", "x")],
)
def test_bearer_token_reads_the_authorization_header(header: str, token: str) -> None:
    assert bearer_token(header) == token


@pytest.mark.parametrize("header", [None, "", "Bearer", "Basic abc", "abc"])
def test_bearer_token_refuses_anything_else(header: str | None) -> None:
    with pytest.raises(AuthenticationError):
        bearer_token(header)
