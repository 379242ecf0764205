"""Settings from the environment (prefix ``OVERGANG_``).

The only module that reads the environment; everything else receives a ``Settings``.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_POSTGRES_SCHEMES = ("postgresql://", "postgres://")
MASTER_KEY_BYTES = 32


def _decode_master_key(text: str, setting: str) -> bytes:
    # The message names the setting only: a key, even a malformed one, never reaches a log.
    try:
        material = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"{setting} must be base64 of {MASTER_KEY_BYTES} bytes") from None
    if len(material) != MASTER_KEY_BYTES:
        raise ValueError(f"{setting} must be base64 of {MASTER_KEY_BYTES} bytes")
    return material


class Settings(BaseSettings):
    """Configuration of one Overgang process."""

    # hide_input_in_errors: a bad URL or secret must not be echoed into logs.
    model_config = SettingsConfigDict(
        env_prefix="OVERGANG_", extra="ignore", hide_input_in_errors=True
    )

    # None: embedded, SQLite files under data_dir. A postgresql:// URL: events and read
    # models in that PostgreSQL database.
    database_url: str | None = None
    data_dir: Path = Path("var")

    # A development default (at least 32 bytes, as HS256 wants); refuse it in production.
    jwt_secret: SecretStr = SecretStr("overgang-development-secret-change-me")
    jwt_algorithm: str = "HS256"
    jwt_audience: str = "overgang"

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)

    snapshot_interval: int = Field(default=100, ge=1)
    aggregate_cache_size: int = Field(default=1000, ge=0)

    projection_batch_size: int = Field(default=1000, ge=1)
    # Seconds: the SQLite poll and the PostgreSQL periodic wake-up of projection runners.
    projection_poll_interval: float = Field(default=0.25, gt=0)
    read_your_writes_timeout: float = Field(default=5.0, ge=0)
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
    data_key_cache_size: int = Field(default=10_000, ge=1)
    data_key_cache_seconds: float = Field(default=300.0, gt=0)

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

    @field_validator("master_key", "previous_master_keys", mode="before")
    @classmethod
    def _empty_key_means_none(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("master_key")
    @classmethod
    def _check_master_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            _decode_master_key(value.get_secret_value(), "OVERGANG_MASTER_KEY")
        return value

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
