"""Bearer JWTs: who is calling, and in which role.

Tokens carry the audience, an expiry, a subject (``sub``) and a ``role``; ``team`` (for
counsellors and team leads) and ``institution`` (for partners) scope what the caller may
reach (see ``api.access``). They are verified with one algorithm, from the settings:

- HS256 with ``OVERGANG_JWT_SECRET`` (``overgang token`` issues such tokens). The
  development default, or an empty secret, is refused outside embedded development.
- RS256 with the identity provider's public key: one PEM file
  (``OVERGANG_JWT_PUBLIC_KEY_FILE``) or a JWKS file (``OVERGANG_JWT_JWKS_FILE``), whose
  key is chosen by the token's ``kid``.

Expired, not-yet-valid (``nbf``), wrongly addressed (``aud``) and wrongly signed tokens are
refused, as is a token signed with another algorithm than the configured one. Error
messages say what is wrong with a token, never what it contains, and never a key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from pydantic import SecretStr

from domain.actors import Actor, Role

ROLES: frozenset[str] = frozenset(
    role.value for role in Role if role is not Role.SYSTEM
)  # SYSTEM is for the system's own facts (sweeper, retention), never for a caller
MAX_CLAIM_LENGTH = 200
DEFAULT_TTL = timedelta(hours=12)
ALGORITHMS = ("HS256", "RS256")

DEVELOPMENT_JWT_SECRET = "overgang-development-secret-change-me"
"""The secret an embedded development run signs with when none is configured."""


class AuthSettings(Protocol):
    """What authentication needs of the settings (``infra.settings.Settings`` has it)."""

    @property
    def jwt_secret(self) -> SecretStr: ...

    @property
    def jwt_algorithm(self) -> str: ...

    @property
    def jwt_audience(self) -> str: ...

    @property
    def jwt_public_key_file(self) -> Path | None: ...

    @property
    def jwt_jwks_file(self) -> Path | None: ...

    @property
    def is_embedded(self) -> bool: ...


class AuthenticationError(Exception):
    """No usable bearer token: missing, malformed, badly signed, expired or incomplete."""

    code = "unauthenticated"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class AuthConfigurationError(Exception):
    """The token settings cannot verify anything safely: the process must not start.

    The message names the setting, never its value."""


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: the domain ``Actor`` plus the scoping claims of the token."""

    actor: Actor
    team: str | None = None
    institution: str | None = None

    @property
    def role(self) -> Role:
        return self.actor.role


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


KeyFor = Callable[[str], Any]
"""The verification key for a token (a JWKS picks it by the token's ``kid``)."""


def _hs256_key(settings: AuthSettings) -> KeyFor:
    secret = settings.jwt_secret.get_secret_value()
    if not secret.strip():
        raise AuthConfigurationError("OVERGANG_JWT_SECRET is empty: set a secret of your own")
    if secret == DEVELOPMENT_JWT_SECRET and not settings.is_embedded:
        raise AuthConfigurationError(
            "OVERGANG_JWT_SECRET is the development default, which is only for embedded "
            "development: set a secret of your own (at least 32 random bytes)"
        )
    return lambda token: secret


def _read(path: Path, setting: str) -> str:
    try:
        return path.read_text()
    except OSError as error:
        raise AuthConfigurationError(f"{setting} cannot be read ({error.strerror})") from None


def _pem_key(path: Path) -> KeyFor:
    setting = "OVERGANG_JWT_PUBLIC_KEY_FILE"
    try:
        key = load_pem_public_key(_read(path, setting).encode())
    except ValueError:
        raise AuthConfigurationError(f"{setting} is not a PEM public key") from None
    if not isinstance(key, RSAPublicKey):
        raise AuthConfigurationError(f"{setting} must hold an RSA public key for RS256")
    return lambda token: key


def _jwks_key(path: Path) -> KeyFor:
    setting = "OVERGANG_JWT_JWKS_FILE"
    try:
        key_set = jwt.PyJWKSet.from_json(_read(path, setting))
    except (jwt.PyJWKSetError, jwt.PyJWKError, ValueError):
        raise AuthConfigurationError(f"{setting} is not a JWKS with usable keys") from None
    keys = {jwk.key_id: jwk for jwk in key_set if jwk.key_id and jwk.key_type == "RSA"}
    if not keys:
        raise AuthConfigurationError(f"{setting} has no RSA key with a kid")

    def key_for(token: str) -> Any:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.InvalidTokenError:
            raise AuthenticationError("the token is invalid") from None
        if not isinstance(kid, str) or kid not in keys:
            raise AuthenticationError("the token names no known key (kid)")
        return keys[kid].key

    return key_for


def _rs256_key(settings: AuthSettings) -> KeyFor:
    pem, jwks = settings.jwt_public_key_file, settings.jwt_jwks_file
    if (pem is None) == (jwks is None):
        raise AuthConfigurationError(
            "RS256 needs exactly one of OVERGANG_JWT_PUBLIC_KEY_FILE and OVERGANG_JWT_JWKS_FILE"
        )
    return _pem_key(pem) if pem is not None else _jwks_key(jwks)  # type: ignore[arg-type]


class TokenVerifier:
    """Verifies bearer tokens as the settings say; built once per process, since it reads
    key files. Raises ``AuthConfigurationError`` for settings that cannot be used safely."""

    def __init__(self, settings: AuthSettings) -> None:
        self.algorithm = settings.jwt_algorithm
        self.audience = settings.jwt_audience
        if self.algorithm == "HS256":
            self._key_for = _hs256_key(settings)
        elif self.algorithm == "RS256":
            self._key_for = _rs256_key(settings)
        else:
            raise AuthConfigurationError(
                f"OVERGANG_JWT_ALGORITHM must be one of {', '.join(ALGORITHMS)}"
            )

    def principal(self, token: str) -> Principal:
        """Verify ``token`` and read the caller from it; raises ``AuthenticationError``."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._key_for(token),
                # One algorithm, from the settings: never whatever the token's header names.
                algorithms=[self.algorithm],
                audience=self.audience,
                options={"require": ["exp", "sub", "role", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise AuthenticationError("the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise AuthenticationError("the token is not valid yet") from None
        except jwt.MissingRequiredClaimError as error:
            raise AuthenticationError(f"the token lacks the {error.claim} claim") from None
        except jwt.InvalidAudienceError:
            raise AuthenticationError("the token is not meant for this service") from None
        except jwt.InvalidAlgorithmError:
            raise AuthenticationError(
                "the token is not signed with the algorithm configured"
            ) from None
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


def principal_from_token(token: str, settings: AuthSettings) -> Principal:
    """Verify ``token`` and read the caller from it; raises ``AuthenticationError``.

    Builds a verifier per call: a serving process keeps one ``TokenVerifier`` instead."""
    return TokenVerifier(settings).principal(token)


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
    private_key: str | None = None,
    kid: str | None = None,
) -> str:
    """A signed token for ``sub`` in ``role`` (used by ``overgang token`` and by tests).

    HS256 signs with the configured secret. RS256 tokens normally come from the identity
    provider; given its PEM ``private_key`` (and the ``kid`` a JWKS names it by), this
    signs one too.
    """
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
    if settings.jwt_algorithm == "RS256":
        if private_key is None:
            raise ValueError("RS256 tokens come from the identity provider: pass a private key")
        headers = None if kid is None else {"kid": kid}
        return jwt.encode(claims, private_key, algorithm="RS256", headers=headers)
    return jwt.encode(
        claims, settings.jwt_secret.get_secret_value(), algorithm=settings.jwt_algorithm
    )
