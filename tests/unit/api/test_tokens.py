"""Token verification on both algorithms: each refusal, and the start-up refusals."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from pydantic import SecretStr

from api.auth import (
    DEVELOPMENT_JWT_SECRET,
    AuthConfigurationError,
    AuthenticationError,
    TokenVerifier,
    issue_token,
)
from domain.actors import Role

SECRET = "unit-secret-long-enough-for-hs256-0123456789"
AUDIENCE = "overgang"


@dataclass
class Settings:
    jwt_algorithm: str = "HS256"
    jwt_secret: SecretStr = field(default_factory=lambda: SecretStr(SECRET))
    jwt_audience: str = AUDIENCE
    jwt_public_key_file: Path | None = None
    jwt_jwks_file: Path | None = None
    is_embedded: bool = False


def _private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _public_pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@pytest.fixture(scope="module")
def keys() -> tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey]:
    """The identity provider's key, and a stranger's."""
    return (
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
    )


def _claims(**overrides: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    claims = {"sub": "c-1", "role": "counsellor", "aud": AUDIENCE, "exp": now + timedelta(hours=1)}
    claims |= overrides
    return claims


def _hs256_verifier() -> tuple[TokenVerifier, Any]:
    return TokenVerifier(Settings()), lambda claims, **kw: jwt.encode(claims, SECRET, "HS256")


def _pem_verifier(tmp_path: Path, keys: Any) -> tuple[TokenVerifier, Any]:
    own, _ = keys
    path = tmp_path / "idp.pem"
    path.write_text(_public_pem(own))
    verifier = TokenVerifier(Settings(jwt_algorithm="RS256", jwt_public_key_file=path))
    return verifier, lambda claims, key=own, **kw: jwt.encode(claims, _private_pem(key), "RS256")


def _jwks_verifier(tmp_path: Path, keys: Any) -> tuple[TokenVerifier, Any]:
    own, _ = keys
    jwk = json.loads(RSAAlgorithm.to_jwk(own.public_key())) | {"kid": "k1", "use": "sig"}
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [jwk]}))
    verifier = TokenVerifier(Settings(jwt_algorithm="RS256", jwt_jwks_file=path))

    def sign(claims: dict[str, Any], key: Any = own, kid: str = "k1") -> str:
        return jwt.encode(claims, _private_pem(key), "RS256", headers={"kid": kid})

    return verifier, sign


@pytest.fixture(params=["hs256", "rs256-pem", "rs256-jwks"])
def setup(request: pytest.FixtureRequest, tmp_path: Path, keys: Any) -> tuple[TokenVerifier, Any]:
    if request.param == "hs256":
        return _hs256_verifier()
    if request.param == "rs256-pem":
        return _pem_verifier(tmp_path, keys)
    return _jwks_verifier(tmp_path, keys)


def test_a_valid_token_names_its_caller(setup: Any) -> None:
    verifier, sign = setup

    principal = verifier.principal(sign(_claims(team="t-1")))

    assert (principal.actor.id, principal.role, principal.team) == ("c-1", Role.COUNSELLOR, "t-1")


PAST = datetime.now(UTC) - timedelta(hours=2)
FUTURE = datetime.now(UTC) + timedelta(hours=2)


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        (_claims(exp=PAST), "the token has expired"),
        (_claims(nbf=FUTURE), "the token is not valid yet"),
        (_claims(aud="another-service"), "the token is not meant for this service"),
    ],
    ids=["expired", "not yet valid", "wrong audience"],
)
def test_refused_claims(setup: Any, claims: dict[str, Any], message: str) -> None:
    verifier, sign = setup

    with pytest.raises(AuthenticationError, match=message):
        verifier.principal(sign(claims))


def test_a_wrong_signature_is_refused_on_hs256() -> None:
    verifier, _ = _hs256_verifier()
    token = jwt.encode(_claims(), "another-secret-long-enough-for-hs256-000", "HS256")

    with pytest.raises(AuthenticationError, match="the token is invalid"):
        verifier.principal(token)


@pytest.mark.parametrize("make", [_pem_verifier, _jwks_verifier], ids=["pem", "jwks"])
def test_a_wrong_signature_is_refused_on_rs256(tmp_path: Path, keys: Any, make: Any) -> None:
    verifier, sign = make(tmp_path, keys)
    _, stranger = keys

    with pytest.raises(AuthenticationError, match="the token is invalid"):
        verifier.principal(sign(_claims(), key=stranger))


def test_an_hs256_token_is_refused_where_rs256_is_configured(tmp_path: Path, keys: Any) -> None:
    verifier, _ = _pem_verifier(tmp_path, keys)
    # The classic confusion: the public key used as an HMAC secret.
    token = jwt.encode(_claims(), SECRET, "HS256")

    with pytest.raises(AuthenticationError, match="not signed with the algorithm configured"):
        verifier.principal(token)


def test_an_rs256_token_is_refused_where_hs256_is_configured(keys: Any) -> None:
    verifier, _ = _hs256_verifier()
    token = jwt.encode(_claims(), _private_pem(keys[0]), "RS256")

    with pytest.raises(AuthenticationError, match="not signed with the algorithm configured"):
        verifier.principal(token)


def test_a_jwks_key_is_chosen_by_kid(tmp_path: Path, keys: Any) -> None:
    verifier, sign = _jwks_verifier(tmp_path, keys)

    with pytest.raises(AuthenticationError, match="names no known key"):
        verifier.principal(sign(_claims(), kid="unknown"))


def test_issue_token_signs_rs256_with_a_private_key(tmp_path: Path, keys: Any) -> None:
    verifier, _ = _jwks_verifier(tmp_path, keys)
    settings = Settings(jwt_algorithm="RS256")

    token = issue_token(settings, Role.AUDITOR, "a-1", private_key=_private_pem(keys[0]), kid="k1")

    assert verifier.principal(token).role is Role.AUDITOR
    with pytest.raises(ValueError, match="identity provider"):
        issue_token(settings, Role.AUDITOR, "a-1")


# --- start-up -----------------------------------------------------------------------------------


@pytest.mark.parametrize("secret", [DEVELOPMENT_JWT_SECRET, "", "   "])
def test_a_default_or_empty_secret_is_refused_outside_embedded_development(secret: str) -> None:
    with pytest.raises(AuthConfigurationError, match="OVERGANG_JWT_SECRET") as refused:
        TokenVerifier(Settings(jwt_secret=SecretStr(secret)))

    assert DEVELOPMENT_JWT_SECRET not in str(refused.value)


def test_the_development_secret_serves_embedded_development() -> None:
    TokenVerifier(Settings(jwt_secret=SecretStr(DEVELOPMENT_JWT_SECRET), is_embedded=True))


@pytest.mark.parametrize(
    ("overrides", "setting"),
    [
        ({"jwt_algorithm": "ES256"}, "OVERGANG_JWT_ALGORITHM"),
        ({"jwt_algorithm": "RS256"}, "exactly one of"),
        (
            {"jwt_algorithm": "RS256", "jwt_public_key_file": Path("/nonexistent.pem")},
            "cannot be read",
        ),
    ],
)
def test_unusable_settings_are_refused(overrides: dict[str, Any], setting: str) -> None:
    with pytest.raises(AuthConfigurationError, match=setting):
        TokenVerifier(Settings(**overrides))


def test_a_file_that_is_no_public_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "not.pem"
    path.write_text("not a key")

    with pytest.raises(AuthConfigurationError, match="OVERGANG_JWT_PUBLIC_KEY_FILE"):
        TokenVerifier(Settings(jwt_algorithm="RS256", jwt_public_key_file=path))
