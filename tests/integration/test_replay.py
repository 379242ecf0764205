"""``overgang replay``: the evaluators' report from a simulated history, end to end.

One simulated team's half year, with one young person erased afterwards, on SQLite files
(through the command line) and on PostgreSQL (through ``replay_study``). The report must
be deterministic, pseudonymized per study, free of personal data, leave the erased out,
follow the chosen dates, and leave the live read models alone.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from pydantic import SecretStr

from domain import young_person_events as ev
from domain.actors import Actor, Role
from domain.application import CommandContext
from domain.errors import DomainError
from domain.recording import RecordedEvent
from domain.vocabulary import ErasureRequester
from infra.bootstrap import Services, build_services
from infra.cli import main
from infra.pseudonyms import DEVELOPMENT_SECRET_FILE, StudyPseudonyms
from infra.replay import ReplayBy, end_of_day, source_of
from infra.settings import Settings
from infra.simulate import simulate
from infra.study import StudyReplay, replay_study
from tests.factories import a_contact

NOW = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)
AS_OF = date(2025, 3, 1)
ADMIN = Actor(id="replay-test-admin", role=Role.ADMIN)
COUNSELLOR = Actor(id="replay-test-counsellor", role=Role.COUNSELLOR)
SECRET = SecretStr(base64.b64encode(bytes(range(32))).decode())


@dataclass
class History:
    settings: Settings
    events: list[RecordedEvent]
    personal_texts: set[str]
    """Every personal text recorded (read before the erasure), long enough to search for."""
    people: list[UUID]
    erased: UUID


def _record_history(settings: Settings) -> History:
    services = build_services(settings, clock=lambda: NOW)
    try:
        simulate(services.app, youth=18, months=6, seed=11, now=NOW)
        people = sorted({e.originator_id for e in _events(services) if isinstance(e, ev.Referred)})
        _record_a_contact_late(services, people)
        events = _events(services)
        texts = {
            value
            for event in events
            for name in type(event).PERSONAL
            if isinstance(value := getattr(event, name, None), str) and len(value) >= 5
        }
        erased = people[0]
        context = CommandContext(actor=ADMIN, occurred_at=None)
        services.erase_person(erased, ErasureRequester.YOUNG_PERSON, "GDPR art. 17", context)
        services.projections.catch_up()
        return History(settings, _events(services), texts, people, erased)
    finally:
        services.close()


def _record_a_contact_late(services: Services, people: list[UUID]) -> None:
    """A contact that happened before AS_OF but is recorded in June: by ``occurred`` it
    belongs to a replay as of AS_OF, by ``recorded`` it does not."""
    context = CommandContext(actor=COUNSELLOR, occurred_at=end_of_day(AS_OF) - timedelta(days=10))
    contact = a_contact(note="Backdated note about Kirsebærhaven")
    for person in people:
        try:
            services.app.record_contact(person, contact, context)
            return
        except DomainError:
            continue  # not enrolled then, or closed: the next one
    raise AssertionError("nobody could be contacted")


def _events(services: Services) -> list[Any]:
    recorder = services.app.recorder
    last = recorder.max_notification_id() or 0
    return [services.app.mapper.to_domain_event(n) for n in recorder.select_notifications(1, last)]


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> History:
    data_dir = tmp_path_factory.mktemp("replay") / "var"
    return _record_history(Settings(data_dir=data_dir))


@pytest.fixture
def cli(
    history: History, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., tuple[int, dict[str, Any]]]:
    """Runs ``overgang replay`` on the history's data; answers the exit code and the JSON."""
    monkeypatch.setenv("OVERGANG_DATA_DIR", str(history.settings.data_dir))
    monkeypatch.delenv("OVERGANG_DATABASE_URL", raising=False)

    def run(*args: str) -> tuple[int, dict[str, Any]]:
        code = main(["replay", "--no-progress", *args])
        lines = capsys.readouterr().out.strip().splitlines()
        return code, json.loads(lines[-1]) if code == 0 else {}

    return run


def files_of(directory: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(directory)): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def pseudonyms_in(directory: Path, column: str = "young_person") -> set[str]:
    found: set[str] = set()
    for path in directory.glob("people_*.csv"):
        lines = path.read_text().splitlines()
        header = lines[0].split(",")
        if column in header:
            index = header.index(column)
            found |= {line.split(",")[index] for line in lines[1:]}
    return found


def test_the_report_holds_every_figure_chart_and_table(cli: Any, tmp_path: Path) -> None:
    code, summary = cli("--as-of", "2025-03-01", "--study", "pilot", "--out", str(tmp_path / "r"))
    assert code == 0
    files = files_of(tmp_path / "r")
    for name in (
        "index.html",
        "counts.csv",
        "cohorts.csv",
        "retention.csv",
        "time_to_education.csv",
        "contacts_by_channel.csv",
        "contacts_by_place.csv",
        "dropout_timing.csv",
        "decisions.csv",
        "people_events.csv",
        "people_risk_flags.csv",
        "charts/retention.svg",
        "charts/contacts_by_channel.svg",
    ):
        assert name in files, name
    page = files["index.html"].decode()
    for name in files:
        if name.endswith(".csv"):
            assert f'href="{name}"' in page, name
    assert summary["study"] == "pilot"


def test_the_window_follows_occurred_or_recorded_dates(
    history: History, cli: Any, tmp_path: Path
) -> None:
    as_of = end_of_day(AS_OF)
    occurred = sum(1 for e in history.events if e.occurred_at <= as_of)
    recorded = sum(1 for e in history.events if e.timestamp <= as_of)
    assert occurred != recorded, "the simulation records some facts late"

    _, by_occurred = cli("--as-of", "2025-03-01", "--study", "s", "--out", str(tmp_path / "o"))
    _, by_recorded = cli(
        "--as-of", "2025-03-01", "--study", "s", "--by", "recorded", "--out", str(tmp_path / "r")
    )

    assert by_occurred["events_replayed"] == occurred
    assert by_recorded["events_replayed"] == recorded
    assert by_occurred["events_read"] == by_recorded["events_read"] == len(history.events)
    rows = (tmp_path / "o" / "people_events.csv").read_text().splitlines()[1:]
    assert rows
    assert all(datetime.fromisoformat(row.split(",")[1]) <= as_of for row in rows)


def test_the_same_replay_gives_byte_identical_files(cli: Any, tmp_path: Path) -> None:
    for name in ("a", "b"):
        code, _ = cli(
            "--as-of", "2025-04-15", "--study", "pilot", "--compare-rules", "2",
            "--out", str(tmp_path / name),
        )  # fmt: skip
        assert code == 0
    first, second = files_of(tmp_path / "a"), files_of(tmp_path / "b")
    assert len(first) > 20
    assert first == second


def test_two_workers_write_what_one_writes(cli: Any, tmp_path: Path) -> None:
    for workers in ("1", "2"):
        code, _ = cli(
            "--as-of", "2025-05-15", "--study", "pilot", "--compare-rules", "2",
            "--workers", workers, "--out", str(tmp_path / workers),
        )  # fmt: skip
        assert code == 0
    assert files_of(tmp_path / "1") == files_of(tmp_path / "2")


def test_pseudonyms_are_stable_in_a_study_and_unlinkable_across_studies(
    history: History, cli: Any, tmp_path: Path
) -> None:
    cli("--as-of", "2025-03-01", "--study", "pilot", "--out", str(tmp_path / "early"))
    cli("--as-of", "2025-06-01", "--study", "pilot", "--out", str(tmp_path / "late"))
    cli("--as-of", "2025-06-01", "--study", "other", "--out", str(tmp_path / "other"))
    early, late = pseudonyms_in(tmp_path / "early"), pseudonyms_in(tmp_path / "late")
    other = pseudonyms_in(tmp_path / "other")

    assert early and early <= late
    assert len(other) == len(late)
    assert not other & late

    # They are the study's keyed hashes of the ids, nothing else.
    secret_file = history.settings.data_dir / DEVELOPMENT_SECRET_FILE
    pilot = StudyPseudonyms(base64.b64decode(secret_file.read_text()), "pilot")
    expected = {pilot.of(person) for person in history.people if person != history.erased}
    assert late <= expected


def test_no_personal_data_and_no_ids_in_any_file(
    history: History, cli: Any, tmp_path: Path
) -> None:
    cli(
        "--as-of", "2025-06-01", "--study", "pilot", "--compare-rules", "2",
        "--out", str(tmp_path / "r"),
    )  # fmt: skip
    text = "\n".join(content.decode() for content in files_of(tmp_path / "r").values())
    assert len(history.personal_texts) > 50
    leaked = sorted(value for value in history.personal_texts if value in text)
    assert leaked == []
    for event in history.events:
        assert event.originator_id.hex not in text
        assert str(event.originator_id) not in text


def test_the_erased_stay_erased_even_before_their_erasure(
    history: History, cli: Any, tmp_path: Path
) -> None:
    # As of a date before the erasure (it happened "now", in June).
    cli("--as-of", "2025-05-01", "--study", "pilot", "--out", str(tmp_path / "r"))
    secret_file = history.settings.data_dir / DEVELOPMENT_SECRET_FILE
    pilot = StudyPseudonyms(base64.b64decode(secret_file.read_text()), "pilot")
    erased = pilot.of(history.erased)
    for content in files_of(tmp_path / "r").values():
        assert erased.encode() not in content
    # Their non-identifying facts still count: everyone referred by then is in the figures.
    referred = sum(
        1
        for e in history.events
        if isinstance(e, ev.Referred) and e.occurred_at <= end_of_day(date(2025, 5, 1))
    )
    counts = dict(
        line.split(",") for line in (tmp_path / "r" / "counts.csv").read_text().splitlines()
    )
    assert int(counts["referred"]) == referred


def test_the_live_read_models_are_not_touched(history: History, cli: Any, tmp_path: Path) -> None:
    views = history.settings.sqlite_path("views")

    def digest() -> str:
        return hashlib.sha256(views.read_bytes()).hexdigest()

    before = digest()
    code, _ = cli("--as-of", "2025-03-01", "--study", "pilot", "--out", str(tmp_path / "r"))
    assert code == 0
    assert digest() == before


def test_refusals_are_clear(cli: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "notes.txt").write_text("mine")
    code, _ = cli("--as-of", "2025-03-01", "--study", "pilot", "--out", str(occupied))
    assert code == 2
    assert (occupied / "notes.txt").read_text() == "mine"
    with pytest.raises(SystemExit) as exit_info:
        cli("--as-of", "March", "--study", "pilot", "--out", str(tmp_path / "x"))
    assert exit_info.value.code == 2
    assert "--as-of must be a date" in capsys.readouterr().err


@pytest.fixture
def postgres_history(pg_url: str, tmp_path: Path) -> Iterator[History]:
    settings = Settings(
        database_url=pg_url,
        data_dir=tmp_path / "var",
        master_key=SECRET,
        jwt_secret=SecretStr("replay-test-secret-long-enough-0123456789"),
    )
    yield _record_history(settings)


@pytest.mark.postgres
def test_a_replay_reads_a_postgresql_event_store(postgres_history: History, tmp_path: Path) -> None:
    settings = postgres_history.settings
    services = build_services(settings, clock=lambda: NOW)
    try:
        pseudonyms = StudyPseudonyms(b"\x01" * 32, "pilot")
        results = [
            replay_study(
                source_of(services.app),
                pseudonyms,
                StudyReplay(
                    study="pilot",
                    as_of=end_of_day(AS_OF),
                    out=tmp_path / name,
                    by=ReplayBy.OCCURRED,
                    compare_rules=2,
                ),
            )
            for name in ("a", "b")
        ]
    finally:
        services.close()
    as_of = end_of_day(AS_OF)
    assert results[0].counts.events_replayed == sum(
        1 for e in postgres_history.events if e.occurred_at <= as_of
    )
    assert results[0].counts.erased == {postgres_history.erased.hex}
    assert files_of(tmp_path / "a") == files_of(tmp_path / "b")
    assert (tmp_path / "a" / "risk_rules_compared.csv").read_text().count("\n") > 1
