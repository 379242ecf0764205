"""Bearer JWTs: who is calling, and in which role.

Tokens are HS256-signed with the configured secret, carry the audience, an expiry, a
subject (``sub``) and a ``role``; ``team`` and ``institution`` are optional claims that the
permission rules of a later issue will read. Error messages say what is wrong with a token,
never what it contains.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import jwt
from pydantic import SecretStr

from domain.actors import Actor, Role

ROLES: frozenset[str] = frozenset(
    role.value for role in Role if role is not Role.SYSTEM
)  # SYSTEM is for the system's own facts (sweeper, retention), never for a caller
MAX_CLAIM_LENGTH = 200
DEFAULT_TTL = timedelta(hours=12)


class AuthSettings(Protocol):
    """What authentication needs of the settings (``infra.settings.Settings`` has it)."""

    @property
    def jwt_secret(self) -> SecretStr: ...

    @property
    def jwt_algorithm(self) -> str: ...

    @property
    def jwt_audience(self) -> str: ...


class AuthenticationError(Exception):
    """No usable bearer token: missing, malformed, badly signed, expired or incomplete."""

    code = "unauthenticated"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: the domain ``Actor`` plus the scoping claims of the token."""

    actor: Actor
    team: str | None = None
    institution: str | None = None


def bearer_token(authorization_header: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header."""
    if authorization_header is None or not authorization_header.strip():
        raise AuthenticationError("a bearer token is required")
    scheme, _, token = authorization_header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError("the Authorization header must be 'Bearer <token>'")
    return token.strip()


def _optional_claim(claims: dict[str, Any], name: str) -> str | None:
    value = claims.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > MAX_CLAIM_LENGTH:
        raise AuthenticationError(f"the token's {name} claim is malformed")
    return value


def principal_from_token(token: str, settings: AuthSettings) -> Principal:
    """Verify ``token`` and read the caller from it; raises ``AuthenticationError``."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            settings.jwt_secret.get_secret_value(),
            # One algorithm, from the settings: never whatever the token's header names.
            algorithms=[settings.jwt_algorithm],
            audience=settings.jwt_audience,
            options={"require": ["exp", "sub", "role", "aud"]},
        )
    except jwt.ExpiredSignatureError:
        raise AuthenticationError("the token has expired") from None
    except jwt.MissingRequiredClaimError as error:
        raise AuthenticationError(f"the token lacks the {error.claim} claim") from None
    except jwt.InvalidAudienceError:
        raise AuthenticationError("the token is not meant for this service") from None
    except jwt.InvalidTokenError:
        raise AuthenticationError("the token is invalid") from None
    subject = claims["sub"]
    if not isinstance(subject, str) or not subject or len(subject) > MAX_CLAIM_LENGTH:
        raise AuthenticationError("the token's sub claim is malformed")
    role = claims["role"]
    if role not in ROLES:
        raise AuthenticationError(f"the token's role must be one of {', '.join(sorted(ROLES))}")
    return Principal(
        actor=Actor(id=subject, role=Role(role)),
        team=_optional_claim(claims, "team"),
        institution=_optional_claim(claims, "institution"),
    )


def actor_from_token(token: str, settings: AuthSettings) -> Actor:
    """The actor a verified token names; raises ``AuthenticationError``."""
    return principal_from_token(token, settings).actor


def issue_token(
    settings: AuthSettings,
    role: str | Role,
    sub: str,
    team: str | None = None,
    institution: str | None = None,
    ttl: timedelta = DEFAULT_TTL,
    now: datetime | None = None,
) -> str:
    """A signed token for ``sub`` in ``role`` (used by ``overgang token`` and by tests)."""
    role_value = role.value if isinstance(role, Role) else role
    if role_value not in ROLES:
        raise ValueError(f"role must be one of {', '.join(sorted(ROLES))}")
    if not sub or len(sub) > MAX_CLAIM_LENGTH:
        raise ValueError(f"sub must be 1 to {MAX_CLAIM_LENGTH} characters")
    issued_at = now if now is not None else datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": sub,
        "role": role_value,
        "aud": settings.jwt_audience,
        "iat": issued_at,
        "exp": issued_at + ttl,
    }
    if team is not None:
        claims["team"] = team
    if institution is not None:
        claims["institution"] = institution
    return jwt.encode(
        claims, settings.jwt_secret.get_secret_value(), algorithm=settings.jwt_algorithm
    )
