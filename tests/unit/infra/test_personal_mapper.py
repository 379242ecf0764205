"""The personal-data mapper: personal fields sealed per young person, the facts in clear.

Runs the application on the in-memory event store with the mapper named in
``MAPPER_TOPIC`` (as the real bootstrap does) and the key tables in an in-memory SQLite
database, so every command goes through the same encoding as in production.
"""

from __future__ import annotations

import ast
import inspect
import json
import textwrap
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.application import project_aggregate
from eventsourcing.domain import Aggregate, Snapshot
from eventsourcing.persistence import StoredEvent
from hypothesis import given

from domain.application import Overgang
from domain.counsellor import CaseTaken, Counsellor, CounsellorRegistered
from domain.errors import PersonalDataErasedError
from domain.recording import RecordedEvent
from domain.values import ReferralDetails
from domain.young_person import YoungPerson
from domain.young_person_events import ContactRecorded, Referred
from infra.keys import DataKeyStore, MasterKey, MasterKeyRing, SQLiteKeyTable
from infra.personal_mapper import (
    PERSONAL_MAPPER_TOPIC,
    SEALED_FIELDS,
    DataKeyMissingError,
    NoDataKeysError,
    PersonalDataDecryptionError,
    PersonalDataMapper,
    use_data_keys,
)
from tests import strategies as s
from tests.factories import (
    a_contact,
    a_context,
    a_counsellor,
    accepted_young_person,
    enrolled_young_person,
    log_position,
    new_app,
    referred_young_person,
    refused,
)
from tests.fakes import FakeClock
from tests.unit.test_personal_fields import event_classes

ENCRYPTED = {"MAPPER_TOPIC": PERSONAL_MAPPER_TOPIC}
NOTE = "test note: slept badly, worried about the exam"


def a_key_store() -> DataKeyStore:
    return DataKeyStore(SQLiteKeyTable(Path(":memory:")), MasterKeyRing(MasterKey.of(b"M" * 32)))


def encrypted_app(keys: DataKeyStore | None = None, **kwargs: Any) -> Overgang:
    app = new_app(FakeClock(), env=ENCRYPTED, **kwargs)
    use_data_keys(app, keys or a_key_store())
    return app


@pytest.fixture
def keys() -> DataKeyStore:
    return a_key_store()


@pytest.fixture
def app(keys: DataKeyStore) -> Overgang:
    return encrypted_app(keys)


def stored_events(app: Overgang) -> list[StoredEvent]:
    return list(app.recorder.select_notifications(start=1, limit=10_000))


def stored_of(app: Overgang, topic_class: type) -> list[StoredEvent]:
    suffix = f":{topic_class.__qualname__}"
    return [stored for stored in stored_events(app) if stored.topic.endswith(suffix)]


def raw_state(stored: StoredEvent) -> dict[str, Any]:
    state: dict[str, Any] = json.loads(stored.state)
    return state


def reload(app: Overgang, aggregate_id: UUID) -> Aggregate:
    """The aggregate replayed from its events, past every cache."""
    aggregate: Aggregate | None = project_aggregate(None, app.events.get(aggregate_id))
    assert aggregate is not None
    return aggregate


# --- what is stored -----------------------------------------------------------------------


def test_personal_fields_are_sealed_and_the_facts_stay_readable(app: Overgang) -> None:
    person = accepted_young_person(app, name="Test Person Zelda", phone="+45 11 22 33 44")
    app.record_contact(person, a_contact(note=NOTE), a_context())

    everything = b"".join(stored.state for stored in stored_events(app))
    for secret in (b"Zelda", b"+45 11 22 33 44", b"Test Referrer", b"struggles", b"slept"):
        assert secret not in everything

    referred = raw_state(stored_of(app, Referred)[0])
    assert referred[SEALED_FIELDS] == ",".join(sorted(Referred.PERSONAL))
    for field in Referred.PERSONAL:  # each in its place, sealed (None and dates too)
        assert isinstance(referred[field], str) and len(referred[field]) > 40, field
    contact = raw_state(stored_of(app, ContactRecorded)[0])
    assert contact[SEALED_FIELDS] == "note"
    # The facts statistics need stay as they were.
    assert contact["channel"] == {"_type_": "enum_Channel", "_data_": "meeting"}
    assert contact["place"] == {"_type_": "enum_Place", "_data_": "cafe"}
    assert contact["reached"] is True
    assert contact["occurred_at"]["_type_"] == "datetime_iso"


def test_only_events_with_a_young_persons_personal_fields_are_sealed(app: Overgang) -> None:
    enrolled_young_person(app)

    sealed = {
        stored.topic.rsplit(":", 1)[1]: SEALED_FIELDS in raw_state(stored)
        for stored in stored_events(app)
    }
    assert sealed == {
        "CounsellorRegistered": False,  # staff data
        "Referred": True,
        "ReferralReviewed": True,
        "Enrolled": False,  # nothing personal
        "CaseTaken": True,  # the reason for going over the limit is about the case
    }


def test_each_personal_event_is_sealed_with_a_fresh_nonce(app: Overgang) -> None:
    person = accepted_young_person(app)
    for _ in range(2):
        app.record_contact(person, a_contact(note=NOTE), a_context())

    first, second = (raw_state(stored)["note"] for stored in stored_of(app, ContactRecorded))
    assert first != second


# --- reading it back ------------------------------------------------------------------------


def test_events_decode_to_what_was_recorded(app: Overgang) -> None:
    person = accepted_young_person(app, name="Test Person Zelda", phone=None)
    app.record_contact(person, a_contact(note=NOTE), a_context())

    referred, _, contact = app.events.get(person)
    assert isinstance(referred, Referred) and isinstance(contact, ContactRecorded)
    assert (referred.name, referred.phone, referred.referrer_name) == (
        "Test Person Zelda",
        None,
        "Test Referrer",
    )
    assert referred.date_of_birth.isoformat() == "2006-05-17"
    assert contact.note == NOTE


@given(s.histories())
def test_every_event_of_any_history_round_trips(
    history: tuple[ReferralDetails, list[s.Step]],
) -> None:
    app = run_encrypted(history).app
    for stored in stored_events(app):
        event = app.mapper.to_domain_event(stored)
        again = app.mapper.to_stored_event(event)
        assert (again.originator_id, again.originator_version, again.topic) == (
            stored.originator_id,
            stored.originator_version,
            stored.topic,
        )
        assert app.mapper.to_domain_event(again) == event


@given(s.histories())
def test_replaying_an_encrypted_stream_gives_the_live_aggregate(
    history: tuple[ReferralDetails, list[s.Step]],
) -> None:
    world = run_encrypted(history)

    person = world.people[0].id
    live: Aggregate = world.app.repository.get(person)
    assert reload(world.app, person) == live


@given(s.histories())
def test_after_shredding_every_stream_still_replays_to_the_same_state(
    history: tuple[ReferralDetails, list[s.Step]],
) -> None:
    # The aggregates hold no personal data, so losing it changes nothing they know.
    world = run_encrypted(history)
    app = world.app
    streams = [world.people[0].id, *world.counsellors, *world.institutions]
    live: dict[UUID, Aggregate] = {stream: app.repository.get(stream) for stream in streams}
    assert isinstance(app.mapper, PersonalDataMapper)
    keys = app.mapper.data_keys
    assert isinstance(keys, DataKeyStore)

    keys.shred(world.people[0].id)

    for stream in streams:
        assert reload(app, stream) == live[stream]
    for event in app.events.get(world.people[0].id):
        assert isinstance(event, RecordedEvent)
        for field in type(event).PERSONAL:
            assert getattr(event, field) is None, f"{type(event).__name__}.{field}"


def run_encrypted(history: tuple[ReferralDetails, list[s.Step]]) -> s.World:
    referral, steps = history
    world = s.World.new(env=ENCRYPTED)
    use_data_keys(world.app, a_key_store())
    s.Refer(referral).run(world, a_context())
    [person] = world.people
    for step in steps:
        s.perform(world, person, step)
    return world


def test_a_snapshot_round_trips_untouched(app: Overgang) -> None:
    person = accepted_young_person(app)
    live = app.young_person(person)

    stored = app.mapper.to_stored_event(Snapshot.take(live))
    restored = app.mapper.to_domain_event(stored)

    assert SEALED_FIELDS not in raw_state(stored)
    assert isinstance(restored, Snapshot) and restored.mutate(None) == live


# --- shredding --------------------------------------------------------------------------------


def test_after_shredding_the_personal_fields_read_as_none(
    app: Overgang, keys: DataKeyStore
) -> None:
    person = accepted_young_person(app)
    app.record_contact(person, a_contact(note=NOTE), a_context())

    keys.shred(person)

    referred, _reviewed, contact = app.events.get(person)
    assert isinstance(referred, Referred) and isinstance(contact, ContactRecorded)
    assert referred.name is None and referred.date_of_birth is None
    assert contact.note is None
    # The facts are still there.
    assert contact.channel.value == "meeting" and contact.reached is True
    assert app.young_person(person).contacts_recorded == 1


def test_nothing_personal_can_be_recorded_for_a_shredded_person(
    app: Overgang, keys: DataKeyStore
) -> None:
    person = accepted_young_person(app)
    keys.shred(person)

    with refused(app, PersonalDataErasedError):
        app.record_contact(person, a_contact(note=NOTE), a_context())


def test_a_person_who_was_erased_in_another_process_is_refused_too(tmp_path: Path) -> None:
    ring = MasterKeyRing(MasterKey.of(b"M" * 32))
    keys = DataKeyStore(SQLiteKeyTable(tmp_path / "keys.db"), ring)
    app = encrypted_app(keys)
    person = accepted_young_person(app)
    other_process = DataKeyStore(SQLiteKeyTable(tmp_path / "keys.db"), ring)

    other_process.shred(person)
    keys.evict(person)  # as the erasure does in every process (or the cache entry expires)

    with refused(app, PersonalDataErasedError):
        app.record_contact(person, a_contact(note=NOTE), a_context())


# --- tampering ------------------------------------------------------------------------------


def with_state(stored: StoredEvent, **changes: Any) -> StoredEvent:
    state = raw_state(stored) | changes
    return StoredEvent(
        originator_id=stored.originator_id,
        originator_version=stored.originator_version,
        topic=stored.topic,
        state=json.dumps(state).encode(),
    )


def test_altered_ciphertext_fails_loudly(app: Overgang) -> None:
    person = accepted_young_person(app)
    app.record_contact(person, a_contact(note=NOTE), a_context())
    [stored] = stored_of(app, ContactRecorded)
    sealed: str = raw_state(stored)["note"]
    flipped = sealed[:20] + ("A" if sealed[20] != "A" else "B") + sealed[21:]

    with pytest.raises(PersonalDataDecryptionError) as caught:
        app.mapper.to_domain_event(with_state(stored, note=flipped))
    assert NOTE not in str(caught.value)


def test_a_ciphertext_moved_to_another_event_of_the_same_person_fails(app: Overgang) -> None:
    person = accepted_young_person(app)
    app.record_contact(person, a_contact(note="first"), a_context())
    app.record_contact(person, a_contact(note="second"), a_context())
    first, second = stored_of(app, ContactRecorded)

    swapped = with_state(second, note=raw_state(first)["note"])

    with pytest.raises(PersonalDataDecryptionError):
        app.mapper.to_domain_event(swapped)


def test_a_ciphertext_moved_to_another_persons_event_fails(app: Overgang) -> None:
    one, other = accepted_young_person(app), accepted_young_person(app)
    for person in (one, other):
        app.record_contact(person, a_contact(note=NOTE), a_context())
    mine, theirs = stored_of(app, ContactRecorded)

    with pytest.raises(PersonalDataDecryptionError):
        app.mapper.to_domain_event(with_state(theirs, note=raw_state(mine)["note"]))


def test_a_ciphertext_moved_to_another_field_of_the_same_event_fails(app: Overgang) -> None:
    person = accepted_young_person(app)
    [stored] = stored_of(app, Referred)
    state = raw_state(stored)

    swapped = with_state(stored, name=state["referrer_name"], referrer_name=state["name"])

    with pytest.raises(PersonalDataDecryptionError):
        app.mapper.to_domain_event(swapped)
    assert app.young_person(person)


def test_sealed_fields_without_a_key_or_a_tombstone_fail_loudly(keys: DataKeyStore) -> None:
    app = encrypted_app(keys)
    accepted_young_person(app)
    [stored] = stored_of(app, Referred)
    elsewhere = encrypted_app()  # a key store that never had this person's key

    with pytest.raises(DataKeyMissingError):
        elsewhere.mapper.to_domain_event(stored)


def test_personal_fields_are_refused_before_a_key_store_is_attached() -> None:
    app = new_app(FakeClock(), env=ENCRYPTED)
    assert isinstance(app.mapper, PersonalDataMapper)
    counsellor = a_counsellor(app)  # staff data only: needs no key

    with pytest.raises(NoDataKeysError):
        referred_young_person(app)
    assert log_position(app) == 1  # the counsellor only
    assert app.counsellor(counsellor)


# --- other streams --------------------------------------------------------------------------


def test_the_reason_for_going_over_a_caseload_is_sealed_with_the_young_persons_key(
    app: Overgang, keys: DataKeyStore
) -> None:
    counsellor = a_counsellor(app, caseload_limit=1)
    enrolled_young_person(app, counsellor_id=counsellor)
    person = accepted_young_person(app)
    app.enrol(person, counsellor, "test over limit reason: known from school", a_context())

    over_limit = stored_of(app, CaseTaken)[-1]
    assert b"known from school" not in over_limit.state
    assert raw_state(over_limit)["young_person_id"]["_data_"] == person.hex

    keys.shred(person)

    taken = [e for e in app.events.get(counsellor) if isinstance(e, CaseTaken)]
    assert taken[-1].over_limit_reason is None and taken[-1].young_person_id == person
    assert isinstance(reload(app, counsellor), Counsellor)


def test_a_counsellors_name_is_staff_data_and_stays_in_clear(app: Overgang) -> None:
    a_counsellor(app)

    [registered] = stored_of(app, CounsellorRegistered)
    assert raw_state(registered)["name"] == "Test Counsellor"


# --- the domain's side of the bargain ------------------------------------------------------


def _attributes_read_from_self(function: Any) -> set[str]:
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    return {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "self"
    }


@pytest.mark.parametrize("cls", event_classes(), ids=lambda cls: cls.__name__)
def test_no_evolve_reads_a_personal_field(cls: type[RecordedEvent]) -> None:
    # After shredding, personal fields decode as None: an evolve that read one would
    # rebuild a different aggregate (or fail) on replay.
    read = set()
    for klass in cls.__mro__:
        if "evolve" in vars(klass) and klass.__module__.startswith("domain."):
            read |= _attributes_read_from_self(vars(klass)["evolve"])
    assert not read & cls.PERSONAL, f"{cls.__name__}.evolve reads {sorted(read & cls.PERSONAL)}"


def test_the_aggregates_hold_nothing_personal(app: Overgang) -> None:
    person = accepted_young_person(app, name="Test Person Zelda")
    app.record_contact(person, a_contact(note=NOTE), a_context())

    state = repr(vars(app.young_person(person)))

    assert "Zelda" not in state and NOTE not in state
    assert isinstance(app.young_person(person), YoungPerson)
