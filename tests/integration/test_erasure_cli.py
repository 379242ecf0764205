"""`overgang erase` and `overgang retention erase`, as an administrator runs them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from uuid import UUID, uuid4

import pytest

from domain import young_person_events as ev
from domain.application import Overgang
from domain.errors import PersonalDataErasedError
from domain.vocabulary import CaseOutcome, CaseStatus, ErasureRequester
from infra.bootstrap import Services, build_services
from infra.cli import CLI_ACTOR, DEFAULT_ERASURE_BASIS, main
from infra.erasure import RETENTION_ACTOR, erase_after_retention, erase_person
from infra.settings import Settings
from tests.backends import Backend
from tests.factories import a_context, enrolled_young_person, referred_young_person
from tests.fakes import DEFAULT_START, FakeClock


@pytest.fixture
def environment(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("OVERGANG_DATA_DIR", str(backend.data_dir))
    monkeypatch.delenv("OVERGANG_RETENTION_YEARS", raising=False)
    if backend.database_url is None:
        monkeypatch.delenv("OVERGANG_DATABASE_URL", raising=False)
    else:
        monkeypatch.setenv("OVERGANG_DATABASE_URL", backend.database_url)
    return Settings()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def services(environment: Settings, clock: FakeClock) -> Iterator[Services]:
    services = build_services(environment, clock=clock)
    try:
        yield services
    finally:
        services.close()


def last_event(services: Services, young_person_id: UUID) -> object:
    return list(services.app.events.get(young_person_id))[-1]


def closed_case(app: Overgang, years_ago: float) -> UUID:
    young_person_id = enrolled_young_person(app).young_person_id
    closed_at = DEFAULT_START - timedelta(days=365.25 * years_ago)
    app.close_case(
        young_person_id, CaseOutcome.IN_EDUCATION, "test note", a_context(occurred_at=closed_at)
    )
    return young_person_id


# --- overgang erase --------------------------------------------------------------------------


def test_erase_records_the_erasure_by_the_administrator_and_prints_the_position(
    services: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    young_person_id = referred_young_person(services.app)

    assert main(["erase", str(young_person_id)]) == 0

    printed = json.loads(capsys.readouterr().out)
    erased = last_event(services, young_person_id)
    assert isinstance(erased, ev.PersonalDataErased)
    assert (erased.requested_by, erased.legal_basis, erased.actor) == (
        ErasureRequester.YOUNG_PERSON,
        DEFAULT_ERASURE_BASIS,
        CLI_ACTOR,
    )
    assert printed == {
        "erased": str(young_person_id),
        "position": services.app.recorder.max_notification_id(),
    }
    assert services.keys.is_shredded(young_person_id)


def test_erase_takes_who_asked_and_the_legal_basis(
    services: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    young_person_id = referred_young_person(services.app)

    status = main(
        [
            "erase",
            str(young_person_id),
            "--requested-by",
            "guardian",
            "--legal-basis",
            "GDPR art. 17(1)(b)",
        ]
    )

    assert status == 0
    erased = last_event(services, young_person_id)
    assert isinstance(erased, ev.PersonalDataErased)
    assert (erased.requested_by, erased.legal_basis) == (
        ErasureRequester.GUARDIAN,
        "GDPR art. 17(1)(b)",
    )


def test_a_second_erase_fails_as_already_erased(
    services: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    young_person_id = referred_young_person(services.app)
    assert main(["erase", str(young_person_id)]) == 0
    capsys.readouterr()

    assert main(["erase", str(young_person_id)]) == 1

    error = json.loads(capsys.readouterr().err)
    assert error["error"] == "personal_data_erased"
    assert "already erased" in error["message"]


def test_erase_of_an_unknown_young_person_fails_and_shreds_nothing(
    services: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    unknown = uuid4()

    assert main(["erase", str(unknown)]) == 1

    assert json.loads(capsys.readouterr().err)["error"] == "young_person_not_found"
    assert not services.keys.is_shredded(unknown)


# --- a retry finishes an interrupted erasure -------------------------------------------------


def test_a_person_erased_before_the_key_was_shredded_gets_the_key_shredded_by_a_retry(
    services: Services,
) -> None:
    # An erasure recorded while the key survived (an older order of the steps, then a
    # crash): the retry shreds the key, then answers "already erased".
    young_person_id = referred_young_person(services.app)
    services.app.erase_personal_data(
        young_person_id, ErasureRequester.YOUNG_PERSON, "GDPR art. 17", a_context()
    )
    assert not services.keys.is_shredded(young_person_id)

    with pytest.raises(PersonalDataErasedError, match="already erased"):
        erase_person(services, young_person_id, ErasureRequester.YOUNG_PERSON, "GDPR", a_context())

    assert services.keys.is_shredded(young_person_id)
    referred = next(iter(services.app.events.get(young_person_id)))
    assert isinstance(referred, ev.Referred)
    assert (referred.name, referred.phone) == (None, None)


def test_a_shredded_person_not_yet_marked_erased_is_marked_by_a_retry(services: Services) -> None:
    # The key was shredded, then the process died before PersonalDataErased was recorded.
    young_person_id = enrolled_young_person(services.app).young_person_id
    services.keys.shred(young_person_id)

    result = erase_person(
        services, young_person_id, ErasureRequester.YOUNG_PERSON, "GDPR", a_context()
    )

    assert isinstance(last_event(services, young_person_id), ev.PersonalDataErased)
    assert services.app.young_person(young_person_id).status is CaseStatus.ERASED
    assert result.position == services.app.recorder.max_notification_id()


# --- retention -------------------------------------------------------------------------------


def test_retention_erases_everyone_closed_longer_than_the_period_by_the_clock(
    services: Services,
) -> None:
    app = services.app
    long_closed = [closed_case(app, 7), closed_case(app, 5.1)]
    recently_closed = closed_case(app, 4.9)
    still_open = enrolled_young_person(app).young_person_id

    run = erase_after_retention(services, years=5)

    assert (run.erased, run.failed) == (2, 0)
    for young_person_id in long_closed:
        erased = last_event(services, young_person_id)
        assert isinstance(erased, ev.PersonalDataErased)
        assert (erased.requested_by, erased.actor) == (
            ErasureRequester.RETENTION_POLICY,
            RETENTION_ACTOR,
        )
        assert services.keys.is_shredded(young_person_id)
    for young_person_id in (recently_closed, still_open):
        assert app.young_person(young_person_id).status is not CaseStatus.ERASED
        assert not services.keys.is_shredded(young_person_id)


def test_a_reopened_case_is_not_erased_by_retention(services: Services) -> None:
    young_person_id = closed_case(services.app, 7)
    services.app.reopen_case(young_person_id, "test reason", None, a_context())

    assert erase_after_retention(services, years=5).erased == 0


def test_retention_erases_no_one_twice(services: Services, clock: FakeClock) -> None:
    closed_case(services.app, 7)
    assert erase_after_retention(services, years=5).erased == 1

    clock.advance(days=1)

    assert erase_after_retention(services, years=5).erased == 0


def test_retention_from_the_command_line_reports_how_many_were_erased(
    environment: Settings, services: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    # The command line runs on the system clock: cases closed years before today.
    long_ago = closed_case(services.app, 30)
    closed_case(services.app, 0)  # closed in March 2024: inside any period below

    assert main(["retention", "erase", "--years", "20"]) == 0

    assert json.loads(capsys.readouterr().out) == {"erased": 1, "failed": 0}
    assert isinstance(last_event(services, long_ago), ev.PersonalDataErased)


def test_retention_takes_its_period_from_the_settings(
    environment: Settings,
    services: Services,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    closed_case(services.app, 30)
    monkeypatch.setenv("OVERGANG_RETENTION_YEARS", "40")

    assert main(["retention", "erase"]) == 0

    assert json.loads(capsys.readouterr().out) == {"erased": 0, "failed": 0}
