"""Study pseudonyms and the replay's window, on their own."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, date, datetime
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from pydantic import SecretStr, ValidationError

from infra.keys import KeyConfigurationError
from infra.pseudonyms import StudyPseudonyms, study_pseudonyms
from infra.replay import ReplayBy, ReplayWindow, end_of_day, parse_as_of
from infra.settings import Settings

SECRET = bytes(range(32))


def test_a_pseudonym_is_the_studys_keyed_hash_of_the_id() -> None:
    person = UUID("12345678-1234-5678-1234-567812345678")
    study_key = hmac.digest(SECRET, b"overgang study pseudonym key v1\x00pilot", hashlib.sha256)
    digest = hmac.digest(study_key, b"yp\x00" + person.hex.encode(), hashlib.sha256)
    expected = "yp-" + base64.b32encode(digest).decode().lower()[:16]

    assert StudyPseudonyms(SECRET, "pilot").of(person) == expected


def test_the_same_id_however_written_has_one_pseudonym_per_study_and_kind() -> None:
    pilot = StudyPseudonyms(SECRET, "pilot")
    person = uuid4()
    assert pilot.of(person) == pilot.of(str(person)) == pilot.of(person.hex)
    assert StudyPseudonyms(SECRET, "pilot").of(person) == pilot.of(person)
    assert pilot.of(person, "tr") != pilot.of(person).replace("yp-", "tr-")


def test_studies_and_secrets_give_unrelated_pseudonyms() -> None:
    people = [uuid4() for _ in range(200)]
    pilot = {StudyPseudonyms(SECRET, "pilot").of(p) for p in people}
    other = {StudyPseudonyms(SECRET, "other").of(p) for p in people}
    rekeyed = {StudyPseudonyms(bytes(32), "pilot").of(p) for p in people}
    assert len(pilot) == len(other) == len(rekeyed) == 200
    assert not pilot & other
    assert not pilot & rekeyed


def test_a_study_needs_a_name() -> None:
    with pytest.raises(ValueError, match="a study needs a name"):
        StudyPseudonyms(SECRET, "  ")


def test_the_secret_is_required_outside_embedded_development(tmp_path: Path) -> None:
    settings = Settings(database_url="postgresql://postgres@127.0.0.1/x", data_dir=tmp_path)
    with pytest.raises(KeyConfigurationError, match="OVERGANG_PSEUDONYM_SECRET is not set"):
        study_pseudonyms(settings, "pilot")


def test_embedded_development_makes_one_secret_and_keeps_it(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    person = uuid4()
    first = study_pseudonyms(settings, "pilot").of(person)
    assert study_pseudonyms(settings, "pilot").of(person) == first
    assert (tmp_path / "pseudonym.key").stat().st_mode & 0o077 == 0


def test_the_secret_setting_is_checked_and_never_echoed(tmp_path: Path) -> None:
    assert Settings(pseudonym_secret=SecretStr(""), data_dir=tmp_path).pseudonym_secret is None
    with pytest.raises(ValidationError) as error:
        Settings(pseudonym_secret=SecretStr("not-base64-secret-value"), data_dir=tmp_path)
    assert "OVERGANG_PSEUDONYM_SECRET must be base64" in str(error.value)
    assert "not-base64-secret-value" not in str(error.value)


def test_an_as_of_date_ends_at_midnight_in_copenhagen() -> None:
    # Summer time: UTC+2, so the day ends at 22:00 UTC.
    assert end_of_day(date(2025, 6, 1)) == datetime(2025, 6, 1, 21, 59, 59, 999999, tzinfo=UTC)
    assert parse_as_of("2025-01-15") == datetime(2025, 1, 15, 22, 59, 59, 999999, tzinfo=UTC)
    assert parse_as_of("2025-01-15T12:00:00+01:00") == datetime(2025, 1, 15, 11, tzinfo=UTC)
    for text in ("2025-01-15T12:00:00", "yesterday"):
        with pytest.raises(ValueError):
            parse_as_of(text)


class _Event:
    def __init__(self, occurred_at: datetime, timestamp: datetime) -> None:
        self.occurred_at = occurred_at
        self.timestamp = timestamp


def test_the_window_admits_by_the_chosen_date_inclusively() -> None:
    as_of = datetime(2025, 3, 1, tzinfo=UTC)
    late = _Event(
        occurred_at=datetime(2025, 2, 20, tzinfo=UTC), timestamp=datetime(2025, 3, 5, tzinfo=UTC)
    )
    exact = _Event(occurred_at=as_of, timestamp=as_of)
    assert ReplayWindow(as_of, ReplayBy.OCCURRED).admits(late)
    assert not ReplayWindow(as_of, ReplayBy.RECORDED).admits(late)
    assert ReplayWindow(as_of, ReplayBy.RECORDED).admits(exact)
    with pytest.raises(ValueError, match="time zone"):
        ReplayWindow(datetime(2025, 3, 1))
