"""Per-person encryption on the real stores: SQLite files and PostgreSQL, as bootstrapped.

What is checked is what is on disk: the raw rows of the event table hold no name, note or
phone number in clear, while the facts statistics need stay readable there.
"""

from __future__ import annotations

import base64
import json
import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from pydantic import SecretStr

from domain.application import Overgang
from domain.errors import PersonalDataErasedError
from domain.vocabulary import ErasureRequester
from domain.young_person_events import ContactRecorded, PersonalDataErased, Referred
from infra.bootstrap import Services, build_services
from infra.cli import main
from infra.keys import (
    DATA_KEYS_TABLE,
    KeyConfigurationError,
    MasterKey,
    MasterKeyMissingError,
    load_master_keys,
    open_data_key_store,
)
from infra.personal_mapper import SEALED_FIELDS, PersonalDataDecryptionError, PersonalDataMapper
from infra.settings import Settings
from tests.backends import Backend
from tests.factories import a_contact, a_context, a_referral, refused
from tests.fakes import FakeClock

NAME = "Test Person Quintus"
PHONE = "+45 98 76 54 32"
NOTE = "test note: anxious about the bus, mother ill"
SECRETS = (NAME, PHONE, NOTE, "Test Referrer", "struggles to get out")

MASTER_A = b"a" * 32
MASTER_B = b"b" * 32
MASTER_C = b"c" * 32


def b64(material: bytes) -> str:
    return base64.b64encode(material).decode()


def settings_for(backend: Backend, master: bytes, *previous: bytes) -> Settings:
    return Settings(
        database_url=backend.database_url,
        data_dir=backend.data_dir,
        master_key=SecretStr(b64(master)),
        previous_master_keys=SecretStr(",".join(b64(key) for key in previous))
        if previous
        else None,
        postgres_pool_size=2,
        postgres_max_overflow=2,
    )


@contextmanager
def services_for(settings: Settings) -> Iterator[Services]:
    """A process's services: a new one has no aggregate and no key in its caches."""
    services = build_services(settings, clock=FakeClock())
    try:
        yield services
    finally:
        services.close()


def a_person_with_a_contact(app: Overgang) -> UUID:
    person = app.refer(a_referral(name=NAME, phone=PHONE), a_context()).ids["young_person_id"]
    app.record_contact(person, a_contact(note=NOTE), a_context())
    return person


# --- the raw rows ---------------------------------------------------------------------------


def raw_events(backend: Backend) -> list[dict[str, Any]]:
    if backend.database_url is None:
        with sqlite3.connect(backend.settings.sqlite_path("overgang")) as conn:
            rows = conn.execute(
                "SELECT originator_id, originator_version, topic, state FROM stored_events "
                "ORDER BY rowid"
            ).fetchall()
    else:
        with psycopg.connect(backend.database_url) as conn:
            rows = conn.execute(
                "SELECT originator_id, originator_version, topic, state FROM overgang_events "
                "ORDER BY notification_id"
            ).fetchall()
    return [
        {"id": UUID(str(row[0])), "version": row[1], "topic": row[2], "state": bytes(row[3])}
        for row in rows
    ]


def raw_of(backend: Backend, cls: type) -> list[dict[str, Any]]:
    return [row for row in raw_events(backend) if row["topic"].endswith(f":{cls.__name__}")]


def overwrite_state(backend: Backend, row: dict[str, Any], state: bytes) -> None:
    if backend.database_url is None:
        with sqlite3.connect(backend.settings.sqlite_path("overgang")) as conn:
            conn.execute(
                "UPDATE stored_events SET state = ? "
                "WHERE originator_id = ? AND originator_version = ?",
                (state, row["id"].hex, row["version"]),
            )
    else:
        with psycopg.connect(backend.database_url) as conn:
            conn.execute(
                "UPDATE overgang_events SET state = %s "
                "WHERE originator_id = %s AND originator_version = %s",
                (state, row["id"], row["version"]),
            )


def master_key_ids_in_use(backend: Backend) -> set[str]:
    if backend.database_url is None:
        with sqlite3.connect(backend.settings.sqlite_path("overgang")) as conn:
            rows = conn.execute(f"SELECT master_key_id FROM {DATA_KEYS_TABLE}").fetchall()
    else:
        with psycopg.connect(backend.database_url) as conn:
            rows = conn.execute(f"SELECT master_key_id FROM {DATA_KEYS_TABLE}").fetchall()
    return {row[0] for row in rows}


# --- on disk ----------------------------------------------------------------------------------


def test_the_stored_rows_hold_no_personal_data_in_clear(backend: Backend) -> None:
    with services_for(backend.settings) as services:
        a_person_with_a_contact(services.app)

    everything = b"".join(row["state"] for row in raw_events(backend))
    for secret in SECRETS:
        assert secret.encode() not in everything, secret

    [contact] = raw_of(backend, ContactRecorded)
    state = json.loads(contact["state"])
    assert state[SEALED_FIELDS] == "note" and NOTE.encode() not in contact["state"]
    assert state["channel"]["_data_"] == "meeting"
    assert state["purpose"]["_data_"] == "check_in"
    assert state["reached"] is True
    [referred] = raw_of(backend, Referred)
    consent = json.loads(referred["state"])["consent_scopes"]
    assert [scope["_data_"] for scope in consent] == ["case_work", "sms_contact"]


def test_the_events_read_back_as_they_were_recorded(backend: Backend) -> None:
    with services_for(backend.settings) as services:
        person = a_person_with_a_contact(services.app)
        recorded = list(services.app.events.get(person))

    with services_for(backend.settings) as services:
        app = services.app
        read = list(app.events.get(person))
        for stored in app.recorder.select_notifications(start=1, limit=100):
            event = app.mapper.to_domain_event(stored)
            assert app.mapper.to_domain_event(app.mapper.to_stored_event(event)) == event

    assert read == recorded
    referred, contact = read
    assert isinstance(referred, Referred) and isinstance(contact, ContactRecorded)
    assert (referred.name, referred.phone, contact.note) == (NAME, PHONE, NOTE)


# --- tampering ------------------------------------------------------------------------------


def test_a_ciphertext_swapped_between_events_in_the_database_fails_loudly(
    backend: Backend,
) -> None:
    with services_for(backend.settings) as services:
        person = a_person_with_a_contact(services.app)
        services.app.record_contact(person, a_contact(note="second"), a_context())
    first, second = raw_of(backend, ContactRecorded)
    state = json.loads(second["state"])
    state["note"] = json.loads(first["state"])["note"]
    overwrite_state(backend, second, json.dumps(state).encode())

    with services_for(backend.settings) as services, pytest.raises(PersonalDataDecryptionError):
        services.app.young_person(person)


# --- shredding --------------------------------------------------------------------------------


def test_after_shredding_the_stream_loads_with_its_personal_fields_gone(
    backend: Backend,
) -> None:
    with services_for(backend.settings) as services:
        person = a_person_with_a_contact(services.app)
        status = services.app.young_person(person).status
        assert services.keys.shred(person) is True

    with services_for(backend.settings) as services:
        app = services.app
        assert services.keys.is_shredded(person)
        assert app.young_person(person).status == status  # replays, from a fresh process
        referred, contact = app.events.get(person)
        assert isinstance(referred, Referred) and isinstance(contact, ContactRecorded)
        assert (referred.name, referred.phone, referred.reason, contact.note) == (
            None,
            None,
            None,
            None,
        )
        assert contact.channel.value == "meeting"

        with refused(app, PersonalDataErasedError):
            app.record_contact(person, a_contact(note=NOTE), a_context())
        # The fact of the erasure has nothing personal in it, so it can still be recorded.
        app.erase_personal_data(person, ErasureRequester.YOUNG_PERSON, "GDPR art. 17", a_context())
        assert isinstance(list(app.events.get(person))[-1], PersonalDataErased)


def test_a_process_that_reads_an_erasure_forgets_the_key_it_had_cached(
    backend: Backend,
) -> None:
    with services_for(backend.settings) as worker, services_for(backend.settings) as api:
        person = a_person_with_a_contact(api.app)
        first = list(worker.app.events.get(person))  # the worker caches the person's key
        assert first[0].name == NAME  # type: ignore[attr-defined]
        api.erase_person(person, ErasureRequester.YOUNG_PERSON, "GDPR art. 17", a_context())

        # The worker reads the log on: the erasure among the events.
        assert isinstance(list(worker.app.events.get(person))[-1], PersonalDataErased)

        referred = next(iter(worker.app.events.get(person)))
        assert isinstance(referred, Referred) and referred.name is None


def test_concurrent_first_uses_of_a_new_persons_key_agree(backend: Backend) -> None:
    settings = settings_for(backend, MASTER_A)
    stores = [open_data_key_store(settings, load_master_keys(settings)) for _ in range(3)]
    person = uuid4()
    found: list[bytes | None] = []
    start = threading.Barrier(len(stores))

    def first_use(index: int) -> None:
        start.wait()
        found.append(stores[index].key_for(person, create=True))

    threads = [threading.Thread(target=first_use, args=(i,)) for i in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for store in stores:
        store.close()

    assert len(found) == 3 and len(set(found)) == 1


# --- master keys ------------------------------------------------------------------------------


def test_rotation_lets_old_events_decrypt_after_the_old_master_key_is_gone(
    backend: Backend,
) -> None:
    with services_for(settings_for(backend, MASTER_A)) as services:
        person = a_person_with_a_contact(services.app)

    # Not rotated yet: without the old key the data keys cannot be unwrapped.
    with services_for(settings_for(backend, MASTER_B)) as services:
        with pytest.raises(MasterKeyMissingError) as caught:
            services.app.young_person(person)
        assert MasterKey.of(MASTER_A).id in str(caught.value)

    with services_for(settings_for(backend, MASTER_B, MASTER_A)) as services:
        assert services.keys.rotate_master_key() == 1

    assert master_key_ids_in_use(backend) == {MasterKey.of(MASTER_B).id}
    with services_for(settings_for(backend, MASTER_B)) as services:
        referred, contact = services.app.events.get(person)
        assert isinstance(referred, Referred) and isinstance(contact, ContactRecorded)
        assert (referred.name, contact.note) == (NAME, NOTE)


@pytest.fixture
def environment(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> Backend:
    monkeypatch.setenv("OVERGANG_DATA_DIR", str(backend.data_dir))
    if backend.database_url is None:
        monkeypatch.delenv("OVERGANG_DATABASE_URL", raising=False)
    else:
        monkeypatch.setenv("OVERGANG_DATABASE_URL", backend.database_url)
    monkeypatch.delenv("OVERGANG_PREVIOUS_MASTER_KEYS", raising=False)
    return backend


def test_keys_rotate_on_the_command_line(
    environment: Backend, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with services_for(settings_for(environment, MASTER_A)) as services:
        a_person_with_a_contact(services.app)

    monkeypatch.setenv("OVERGANG_MASTER_KEY", b64(MASTER_C))
    monkeypatch.setenv("OVERGANG_PREVIOUS_MASTER_KEYS", b64(MASTER_B))
    with caplog.at_level(logging.ERROR):
        assert main(["keys", "rotate"]) == 2  # master key A is missing
    assert MasterKey.of(MASTER_A).id in caplog.text
    assert master_key_ids_in_use(environment) == {MasterKey.of(MASTER_A).id}

    monkeypatch.setenv("OVERGANG_PREVIOUS_MASTER_KEYS", f"{b64(MASTER_B)},{b64(MASTER_A)}")
    assert main(["keys", "rotate"]) == 0
    assert master_key_ids_in_use(environment) == {MasterKey.of(MASTER_C).id}
    for key in (MASTER_A, MASTER_B, MASTER_C):
        assert b64(key) not in caplog.text


def test_postgresql_without_a_master_key_is_refused_at_start_up(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(database_url=pg_url, data_dir=tmp_path, master_key=None)
    with pytest.raises(KeyConfigurationError) as caught:
        build_services(settings)
    assert "OVERGANG_MASTER_KEY is not set" in str(caught.value)

    monkeypatch.setenv("OVERGANG_DATABASE_URL", pg_url)
    monkeypatch.delenv("OVERGANG_MASTER_KEY")
    with caplog.at_level(logging.ERROR):
        assert main(["demo"]) == 2
    assert "OVERGANG_MASTER_KEY is not set" in caplog.text
    with psycopg.connect(pg_url) as conn:  # refused before anything was created
        assert conn.execute("SELECT to_regclass('overgang_events')").fetchone() == (None,)


# --- SQLite: deleted means gone from the file -----------------------------------------------


def test_every_sqlite_connection_of_the_event_store_deletes_securely(
    settings_sqlite: Settings,
) -> None:
    with services_for(settings_sqlite) as services:
        a_person_with_a_contact(services.app)
        datastore = services.app.recorder.datastore  # type: ignore[attr-defined]
        connections = [datastore.pool.get_connection(is_writer=False) for _ in range(3)]
        try:
            for connection in connections:
                with connection.transaction(commit=False) as cursor:
                    cursor.execute("PRAGMA secure_delete")
                    assert cursor.fetchone()[0] == 1
        finally:
            for connection in connections:
                datastore.pool.put_connection(connection)
        assert services.app.snapshots is not None
        assert services.app.snapshots.recorder.datastore is datastore  # type: ignore[attr-defined]


def test_a_shredded_key_is_gone_from_the_sqlite_files(settings_sqlite: Settings) -> None:
    path = settings_sqlite.sqlite_path("overgang")
    with services_for(settings_sqlite) as services:
        person = a_person_with_a_contact(services.app)
        with sqlite3.connect(path) as conn:
            [(wrapped,)] = conn.execute(
                f"SELECT wrapped_key FROM {DATA_KEYS_TABLE} WHERE young_person_id = ?",
                (person.hex,),
            ).fetchall()
        services.keys.shred(person)

        on_disk = b"".join(file.read_bytes() for file in path.parent.glob(f"{path.name}*"))
        assert bytes(wrapped) not in on_disk


def test_prefetching_reads_the_keys_of_a_whole_batch(backend: Backend) -> None:
    with services_for(backend.settings) as services:
        people = [a_person_with_a_contact(services.app) for _ in range(3)]
        services.keys.shred(people[2])
        log = services.app.recorder.select_notifications(start=1, limit=100)

    with services_for(backend.settings) as cold, services_for(backend.settings) as eraser:
        mapper = cold.app.mapper
        assert isinstance(mapper, PersonalDataMapper)
        mapper.prefetch_keys(log)
        eraser.keys.shred(people[0])  # after the prefetch: this reader has the key already

        decoded = [mapper.to_domain_event(stored) for stored in log]

    names = [event.name for event in decoded if isinstance(event, Referred)]
    assert names == [NAME, NAME, None]
