"""Settings from the environment (prefix ``OVERGANG_``).

The only module that reads the environment; everything else receives a ``Settings``.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from api.auth import DEVELOPMENT_JWT_SECRET
from domain.alerts import QuietLimits, QuietPolicy
from domain.errors import InvalidValueError
from domain.vocabulary import QuietPhase, TransitionKind

_POSTGRES_SCHEMES = ("postgresql://", "postgres://")
MASTER_KEY_BYTES = 32
WEBHOOK_SECRET_MIN_LENGTH = 16


def _decode_master_key(text: str, setting: str) -> bytes:
    # The message names the setting only: a key, even a malformed one, never reaches a log.
    try:
        material = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"{setting} must be base64 of {MASTER_KEY_BYTES} bytes") from None
    if len(material) != MASTER_KEY_BYTES:
        raise ValueError(f"{setting} must be base64 of {MASTER_KEY_BYTES} bytes")
    return material


def _thresholds_by_kind(
    value: dict[str, Any],
) -> dict[tuple[TransitionKind, QuietPhase], QuietLimits]:
    """OVERGANG_ALERT_THRESHOLDS_BY_KIND as the policy's overrides; ValueError naming the
    entry that is wrong."""
    setting = "OVERGANG_ALERT_THRESHOLDS_BY_KIND"
    kinds = ", ".join(kind.value for kind in TransitionKind)
    phases = ", ".join(phase.value for phase in QuietPhase)
    if not isinstance(value, dict):
        raise ValueError(f"{setting} must be a JSON object keyed by transition kind")
    overrides: dict[tuple[TransitionKind, QuietPhase], QuietLimits] = {}
    for kind_name, by_phase in value.items():
        try:
            kind = TransitionKind(kind_name)
        except ValueError:
            raise ValueError(
                f"{setting}: unknown transition kind {kind_name!r} (known: {kinds})"
            ) from None
        if not isinstance(by_phase, dict):
            raise ValueError(f"{setting}[{kind_name!r}] must be an object keyed by phase")
        for phase_name, limits in by_phase.items():
            where = f"{setting}[{kind_name!r}][{phase_name!r}]"
            try:
                phase = QuietPhase(phase_name)
            except ValueError:
                raise ValueError(f"{where}: unknown phase (known: {phases})") from None
            if not isinstance(limits, dict) or set(limits) != {"quiet_days", "escalation_days"}:
                raise ValueError(f'{where} must be {{"quiet_days": n, "escalation_days": m}}')
            quiet, escalate = limits["quiet_days"], limits["escalation_days"]
            if not all(
                isinstance(days, int | float) and not isinstance(days, bool) and days > 0
                for days in (quiet, escalate)
            ):
                raise ValueError(f"{where}: days must be positive numbers")
            try:
                overrides[(kind, phase)] = QuietLimits(
                    quiet=timedelta(days=quiet), escalate=timedelta(days=escalate)
                )
            except InvalidValueError:
                raise ValueError(
                    f"{where}: escalation_days must be longer than quiet_days"
                ) from None
    return overrides


class Settings(BaseSettings):
    """Configuration of one Overgang process."""

    # hide_input_in_errors: a bad URL or secret must not be echoed into logs.
    model_config = SettingsConfigDict(
        env_prefix="OVERGANG_", extra="ignore", hide_input_in_errors=True
    )

    # None: embedded, SQLite files under data_dir. A postgresql:// URL: events and read
    # models in that PostgreSQL database.
    database_url: str | None = None
    # A read replica of database_url (a hot standby): API processes answer GraphQL queries
    # and read-only downloads from its read models; writes and access checks stay on
    # database_url. Needs a PostgreSQL database_url.
    read_database_url: str | None = None
    data_dir: Path = Path("var")

    # HS256: tokens signed with jwt_secret. The default is for embedded development only:
    # outside it (a PostgreSQL database) an empty or default secret refuses to start.
    jwt_secret: SecretStr = SecretStr(DEVELOPMENT_JWT_SECRET)
    # HS256 or RS256; a token signed with any other algorithm is refused.
    jwt_algorithm: str = "HS256"
    jwt_audience: str = "overgang"
    # RS256: the identity provider's public key, either one PEM file or a JWKS file (keys
    # chosen by the token's `kid`). Exactly one of the two.
    jwt_public_key_file: Path | None = None
    jwt_jwks_file: Path | None = None

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)

    snapshot_interval: int = Field(default=100, ge=1)
    aggregate_cache_size: int = Field(default=1000, ge=0)

    projection_batch_size: int = Field(default=1000, ge=1)
    # Seconds: the SQLite poll and the PostgreSQL periodic wake-up of projection runners.
    projection_poll_interval: float = Field(default=0.25, gt=0)
    read_your_writes_timeout: float = Field(default=5.0, ge=0)
    # GraphQL introspection (`__schema`, `__type`) and with it GraphiQL at /graphql. Off in
    # production (docker-compose.yml): clients there use the checked-in schema.graphql.
    graphql_introspection: bool = True
    future_tolerance_seconds: int = Field(default=300, ge=0)
    # `overgang retention erase` erases everyone whose case closed more than this many
    # years ago.
    retention_years: int = Field(default=5, ge=1)

    postgres_pool_size: int = Field(default=5, ge=1)
    postgres_max_overflow: int = Field(default=10, ge=0)
    postgres_lock_timeout: int = Field(default=5, ge=0)
    # Seconds to wait for a new connection: when PostgreSQL is away, fail fast (a 503)
    # rather than hold the request for the driver's default 30 s per attempt.
    postgres_connect_timeout: int = Field(default=2, ge=1)

    # Base64 of 32 random bytes: wraps (encrypts) every young person's data key. Required
    # with PostgreSQL; an embedded run without one generates a development key into
    # data_dir/master.key. Rotate with `overgang keys rotate`.
    master_key: SecretStr | None = None
    # Comma-separated base64 keys that were current before; data keys wrapped with them
    # stay readable until `overgang keys rotate` has re-wrapped them with master_key.
    previous_master_keys: SecretStr | None = None
    # Unwrapped data keys kept in memory per process, and for how many seconds: the
    # lifetime bounds how long another process may still use a key after an erasure.
    # Base64 of 32 random bytes: the secret each study's pseudonym key is derived from
    # (infra/pseudonyms.py). Required with PostgreSQL for `overgang replay`; an embedded
    # run without one generates a development secret into data_dir/pseudonym.key. Keep
    # it stable: a new secret gives every study new pseudonyms.
    pseudonym_secret: SecretStr | None = None
    data_key_cache_size: int = Field(default=10_000, ge=1)
    data_key_cache_seconds: float = Field(default=300.0, gt=0)

    # Outgoing webhooks (see infra/webhooks.py): a JSON list or comma-separated http(s)
    # URLs, each of which gets every published event; none: nothing is written or sent.
    webhook_urls: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Signs every delivery (HMAC-SHA256); required when webhook_urls is set.
    webhook_secret: SecretStr | None = None
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    # Attempts per delivery before it is marked failed (the row is kept).
    webhook_max_attempts: int = Field(default=8, ge=1)
    # Retries wait base * 2^(attempt-1) seconds, at most the cap, with a jitter.
    webhook_backoff_seconds: float = Field(default=5.0, gt=0)
    webhook_backoff_max_seconds: float = Field(default=3600.0, gt=0)
    # How often the deliverer looks for due deliveries, in seconds.
    webhook_poll_interval: float = Field(default=1.0, gt=0)

    # Quiet-transition alerts (see domain/alerts.py), in days: an alert when no contact was
    # reached for quiet_days, escalated to the team lead after escalation_days; shorter
    # in the first weeks of a new education. Changing them needs
    # `overgang projections rebuild alerts` (the read model indexes the due times).
    alert_quiet_days: float = Field(default=7, gt=0)
    alert_escalation_days: float = Field(default=14, gt=0)
    alert_new_education_quiet_days: float = Field(default=5, gt=0)
    alert_new_education_escalation_days: float = Field(default=10, gt=0)
    alert_new_education_weeks: float = Field(default=3, gt=0)
    # Per transition kind and phase, JSON: {"bridge_building": {"preparing":
    # {"quiet_days": 3, "escalation_days": 6}}}.
    alert_thresholds_by_kind: Annotated[dict[str, Any], NoDecode] = Field(default_factory=dict)
    # The alert sweeper: seconds between sweeps, and due rows handled per query.
    alert_sweep_interval: float = Field(default=30.0, gt=0)
    alert_sweep_batch: int = Field(default=500, ge=1)

    @field_validator("database_url", mode="before")
    @classmethod
    def _check_database_url(cls, value: Any) -> Any:
        # An empty OVERGANG_DATABASE_URL (as compose files tend to produce) means embedded.
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if not isinstance(value, str) or not value.startswith(_POSTGRES_SCHEMES):
            raise ValueError(
                "OVERGANG_DATABASE_URL must start with postgresql:// or postgres:// "
                "(leave it unset to run embedded on SQLite)"
            )
        return value

    @field_validator("read_database_url", mode="before")
    @classmethod
    def _check_read_database_url(cls, value: Any) -> Any:
        # Like database_url; the message never quotes the URL (it may carry a password).
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if not isinstance(value, str) or not value.startswith(_POSTGRES_SCHEMES):
            raise ValueError(
                "OVERGANG_READ_DATABASE_URL must start with postgresql:// or postgres:// "
                "(a read replica of the PostgreSQL primary; leave it unset to read there)"
            )
        return value

    @model_validator(mode="after")
    def _require_primary_for_replica(self) -> Settings:
        if self.read_database_url is not None and self.database_url is None:
            raise ValueError(
                "OVERGANG_READ_DATABASE_URL needs OVERGANG_DATABASE_URL: a read replica "
                "is a copy of a PostgreSQL primary, and embedded runs have none"
            )
        return self

    @field_validator("master_key", "previous_master_keys", mode="before")
    @classmethod
    def _empty_key_means_none(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("jwt_public_key_file", "jwt_jwks_file", mode="before")
    @classmethod
    def _empty_path_means_none(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("webhook_urls", mode="before")
    @classmethod
    def _split_webhook_urls(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                try:
                    return json.loads(text)
                except json.JSONDecodeError:
                    raise ValueError("OVERGANG_WEBHOOK_URLS is not a valid JSON list") from None
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("webhook_urls")
    @classmethod
    def _check_webhook_urls(cls, value: list[str]) -> list[str]:
        # Messages give the position only: a URL may carry a token.
        for number, url in enumerate(value, start=1):
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(
                    f"OVERGANG_WEBHOOK_URLS: URL number {number} is not an http:// or "
                    "https:// URL with a host"
                )
        return value

    @field_validator("webhook_secret", mode="before")
    @classmethod
    def _empty_webhook_secret_means_none(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @model_validator(mode="after")
    def _require_webhook_secret(self) -> Settings:
        if not self.webhook_urls:
            return self
        if self.webhook_secret is None:
            raise ValueError(
                "OVERGANG_WEBHOOK_SECRET is required when OVERGANG_WEBHOOK_URLS is set: "
                "every delivery is signed with it"
            )
        if len(self.webhook_secret.get_secret_value()) < WEBHOOK_SECRET_MIN_LENGTH:
            raise ValueError(
                f"OVERGANG_WEBHOOK_SECRET must be at least {WEBHOOK_SECRET_MIN_LENGTH} "
                "characters long"
            )
        return self

    @field_validator("alert_thresholds_by_kind", mode="before")
    @classmethod
    def _parse_alert_thresholds(cls, value: Any) -> Any:
        if isinstance(value, str):
            if not value.strip():
                return {}
            try:
                return json.loads(value)
            except json.JSONDecodeError:
                raise ValueError("OVERGANG_ALERT_THRESHOLDS_BY_KIND is not valid JSON") from None
        return value

    @field_validator("alert_thresholds_by_kind")
    @classmethod
    def _check_alert_thresholds(cls, value: dict[str, Any]) -> dict[str, Any]:
        _thresholds_by_kind(value)  # raises with a message naming the bad entry
        return value

    @model_validator(mode="after")
    def _check_alert_limits(self) -> Settings:
        for name, quiet, escalate in (
            ("", self.alert_quiet_days, self.alert_escalation_days),
            (
                "NEW_EDUCATION_",
                self.alert_new_education_quiet_days,
                self.alert_new_education_escalation_days,
            ),
        ):
            if escalate <= quiet:
                raise ValueError(
                    f"OVERGANG_ALERT_{name}ESCALATION_DAYS must be longer than "
                    f"OVERGANG_ALERT_{name}QUIET_DAYS"
                )
        return self

    @field_validator("master_key")
    @classmethod
    def _check_master_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            _decode_master_key(value.get_secret_value(), "OVERGANG_MASTER_KEY")
        return value

    @field_validator("pseudonym_secret")
    @classmethod
    def _check_pseudonym_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None  # empty, as compose files pass an unset variable: none configured
        _decode_master_key(value.get_secret_value(), "OVERGANG_PSEUDONYM_SECRET")
        return value

    def pseudonym_secret_material(self) -> bytes | None:
        """The pseudonym secret's 32 bytes, or None when none is configured."""
        if self.pseudonym_secret is None:
            return None
        return _decode_master_key(
            self.pseudonym_secret.get_secret_value(), "OVERGANG_PSEUDONYM_SECRET"
        )

    @field_validator("previous_master_keys")
    @classmethod
    def _check_previous_master_keys(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            for part in value.get_secret_value().split(","):
                if part.strip():
                    _decode_master_key(part, "each of OVERGANG_PREVIOUS_MASTER_KEYS")
        return value

    def master_key_material(self) -> bytes | None:
        """The current master key's 32 bytes, or None when none is configured."""
        if self.master_key is None:
            return None
        return _decode_master_key(self.master_key.get_secret_value(), "OVERGANG_MASTER_KEY")

    def previous_master_key_materials(self) -> list[bytes]:
        """The previous master keys' bytes, in the order configured."""
        if self.previous_master_keys is None:
            return []
        return [
            _decode_master_key(part, "each of OVERGANG_PREVIOUS_MASTER_KEYS")
            for part in self.previous_master_keys.get_secret_value().split(",")
            if part.strip()
        ]

    def quiet_policy(self) -> QuietPolicy:
        """The quiet-transition thresholds in force (domain, read model and sweeper)."""
        return QuietPolicy(
            general=QuietLimits(
                quiet=timedelta(days=self.alert_quiet_days),
                escalate=timedelta(days=self.alert_escalation_days),
            ),
            new_education=QuietLimits(
                quiet=timedelta(days=self.alert_new_education_quiet_days),
                escalate=timedelta(days=self.alert_new_education_escalation_days),
            ),
            new_education_period=timedelta(weeks=self.alert_new_education_weeks),
            by_kind=_thresholds_by_kind(self.alert_thresholds_by_kind),
        )

    @property
    def is_embedded(self) -> bool:
        """True when everything runs on SQLite files under ``data_dir``."""
        return self.database_url is None

    def sqlite_path(self, name: str) -> Path:
        """The SQLite file for ``name`` (for example ``overgang`` or ``views``)."""
        return self.data_dir / f"{name}.db"

    def postgres_params(self) -> dict[str, str]:
        """The parts of ``database_url`` (dbname, host, port, user, password, ...).

        eventsourcing wants them as separate POSTGRES_* keys rather than a URL.
        """
        if self.database_url is None:
            raise ValueError("no database_url: running embedded on SQLite")
        from psycopg.conninfo import conninfo_to_dict

        return {key: str(value) for key, value in conninfo_to_dict(self.database_url).items()}
