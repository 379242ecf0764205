"""The data key store: one key per young person, wrapped by master keys, shredded for ever."""

from __future__ import annotations

import base64
import logging
import os
import sqlite3
import stat
import threading
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from pydantic import SecretStr, ValidationError

from domain.errors import PersonalDataErasedError
from infra.keys import (
    DATA_KEYS_TABLE,
    DEVELOPMENT_MASTER_KEY_FILE,
    DataKeyIntegrityError,
    DataKeyStore,
    KeyConfigurationError,
    MasterKey,
    MasterKeyMissingError,
    MasterKeyRing,
    SQLiteKeyTable,
    load_master_keys,
    master_key_id,
)
from infra.settings import Settings

KEY_A = MasterKey.of(b"A" * 32)
KEY_B = MasterKey.of(b"B" * 32)
KEY_C = MasterKey.of(b"C" * 32)


def b64(material: bytes) -> str:
    return base64.b64encode(material).decode()


class Ticker:
    """A monotonic clock for the cache that moves only when told."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def a_store(
    path: Path,
    current: MasterKey = KEY_A,
    *previous: MasterKey,
    cache_size: int = 100,
    cache_seconds: float = 60.0,
    monotonic: Ticker | None = None,
) -> DataKeyStore:
    """A store over the key tables in ``path``: two stores on one file are two processes."""
    return DataKeyStore(
        SQLiteKeyTable(path),
        MasterKeyRing(current, previous),
        cache_size=cache_size,
        cache_seconds=cache_seconds,
        monotonic=monotonic or Ticker(),
    )


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "overgang.db"


def wrapped_rows(db: Path) -> dict[str, tuple[bytes, str]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            f"SELECT young_person_id, wrapped_key, master_key_id FROM {DATA_KEYS_TABLE}"
        ).fetchall()
    return {person: (bytes(blob), key_id) for person, blob, key_id in rows}


# --- keys -----------------------------------------------------------------------------------


def test_a_key_is_made_once_and_kept_wrapped(db: Path) -> None:
    store = a_store(db)
    person = uuid4()

    assert store.key_for(person, create=False) is None
    key = store.key_for(person, create=True)

    assert key is not None and len(key) == 32
    assert store.key_for(person, create=True) == key
    # Another process reads the same key from the table, not from a cache.
    assert a_store(db).key_for(person, create=False) == key
    blob, key_id = wrapped_rows(db)[person.hex]
    assert key_id == KEY_A.id
    assert key not in blob


def test_each_person_has_their_own_key(db: Path) -> None:
    store = a_store(db)

    keys = {store.key_for(uuid4(), create=True) for _ in range(20)}

    assert len(keys) == 20


def test_a_wrapped_key_moved_to_another_person_does_not_unwrap(db: Path) -> None:
    store = a_store(db)
    victim, other = uuid4(), uuid4()
    store.key_for(victim, create=True)
    store.key_for(other, create=True)
    with sqlite3.connect(db) as conn:
        conn.execute(
            f"UPDATE {DATA_KEYS_TABLE} SET wrapped_key = "
            f"(SELECT wrapped_key FROM {DATA_KEYS_TABLE} WHERE young_person_id = ?) "
            "WHERE young_person_id = ?",
            (victim.hex, other.hex),
        )

    with pytest.raises(DataKeyIntegrityError) as caught:
        a_store(db).key_for(other, create=False)
    assert str(other) in str(caught.value)


def test_concurrent_first_uses_agree_on_one_key(db: Path) -> None:
    person = uuid4()
    stores = [a_store(db) for _ in range(4)]
    found: list[bytes | None] = []
    start = threading.Barrier(len(stores))

    def first_use(store: DataKeyStore) -> None:
        start.wait()
        found.append(store.key_for(person, create=True))

    threads = [threading.Thread(target=first_use, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(found) == 4 and len(set(found)) == 1 and found[0] is not None


# --- shredding --------------------------------------------------------------------------------


def test_shredding_deletes_the_key_and_leaves_a_tombstone(db: Path) -> None:
    store = a_store(db)
    person = uuid4()
    store.key_for(person, create=True)

    assert store.shred(person) is True

    assert store.is_shredded(person)
    assert store.key_for(person, create=False) is None
    assert person.hex not in wrapped_rows(db)
    assert store.shred(person) is False  # again: no key left, still shredded


def test_no_new_key_is_ever_made_for_a_shredded_person(db: Path) -> None:
    person = uuid4()
    a_store(db).shred(person)  # even one who never had a key

    for store in (a_store(db), a_store(db, KEY_B)):
        with pytest.raises(PersonalDataErasedError):
            store.key_for(person, create=True)
        assert store.is_shredded(person)
    assert person.hex not in wrapped_rows(db)


def test_shredding_in_this_process_forgets_the_cached_key(db: Path) -> None:
    store = a_store(db)
    person = uuid4()
    store.key_for(person, create=True)

    store.shred(person)

    assert store.key_for(person, create=False) is None
    with pytest.raises(PersonalDataErasedError):
        store.key_for(person, create=True)


def test_another_process_stops_using_a_shredded_key_when_its_cache_entry_expires(
    db: Path,
) -> None:
    ticker = Ticker()
    reader = a_store(db, cache_seconds=60, monotonic=ticker)
    person = uuid4()
    key = reader.key_for(person, create=True)

    a_store(db).shred(person)

    assert reader.key_for(person, create=False) == key  # still cached
    ticker.now += 61
    assert reader.key_for(person, create=False) is None
    assert reader.is_shredded(person)


def test_evicting_makes_the_next_use_read_the_table(db: Path) -> None:
    store = a_store(db)
    person = uuid4()
    store.key_for(person, create=True)
    a_store(db).shred(person)

    store.evict(person)

    assert store.key_for(person, create=False) is None


def test_the_cache_is_bounded(db: Path) -> None:
    store = a_store(db, cache_size=2)
    people = [uuid4() for _ in range(3)]
    for person in people:
        store.key_for(person, create=True)
    eraser = a_store(db)
    for person in people:
        eraser.shred(person)

    # The two most recent are still cached; the first fell out and is read again.
    assert store.key_for(people[0], create=False) is None
    assert store.key_for(people[2], create=False) is not None


def test_deleted_keys_are_overwritten_in_the_file(db: Path) -> None:
    store = a_store(db)
    person = uuid4()
    store.key_for(person, create=True)
    blob, _ = wrapped_rows(db)[person.hex]

    store.shred(person)
    store.close()

    on_disk = b"".join(path.read_bytes() for path in db.parent.glob(f"{db.name}*"))
    assert blob not in on_disk


# --- master keys ------------------------------------------------------------------------------


def test_rotation_rewraps_every_key_with_the_current_master_key(db: Path) -> None:
    old = a_store(db, KEY_A)
    people = [uuid4() for _ in range(7)]
    keys = [old.key_for(person, create=True) for person in people]

    assert a_store(db, KEY_B, KEY_A).rotate_master_key() == 7
    assert a_store(db, KEY_B, KEY_A).rotate_master_key() == 0

    assert {key_id for _, key_id in wrapped_rows(db).values()} == {KEY_B.id}
    after = a_store(db, KEY_B)  # the old master key is gone from the settings
    assert [after.key_for(person, create=False) for person in people] == keys


def test_rotation_refuses_when_an_old_master_key_is_missing_and_changes_nothing(
    db: Path,
) -> None:
    a_store(db, KEY_A).key_for(uuid4(), create=True)
    a_store(db, KEY_B, KEY_A).key_for(uuid4(), create=True)
    before = wrapped_rows(db)

    with pytest.raises(MasterKeyMissingError) as caught:
        a_store(db, KEY_C, KEY_B).rotate_master_key()

    assert KEY_A.id in str(caught.value)
    assert "OVERGANG_PREVIOUS_MASTER_KEYS" in str(caught.value)
    assert wrapped_rows(db) == before


def test_a_key_wrapped_with_an_unknown_master_key_fails_clearly(db: Path) -> None:
    person = uuid4()
    a_store(db, KEY_A).key_for(person, create=True)

    with pytest.raises(MasterKeyMissingError) as caught:
        a_store(db, KEY_B).key_for(person, create=False)

    assert KEY_A.id in str(caught.value)


def test_a_master_key_id_is_a_hash_not_the_key() -> None:
    assert KEY_A.id == master_key_id(b"A" * 32) != KEY_B.id
    assert len(KEY_A.id) == 16
    assert b64(b"A" * 32) not in repr(KEY_A) and "AAAA" not in repr(KEY_A)


# --- master keys from the settings ------------------------------------------------------------


def test_postgres_without_a_master_key_is_refused(tmp_path: Path) -> None:
    settings = Settings(
        database_url="postgresql://u@db/overgang", data_dir=tmp_path, master_key=None
    )

    with pytest.raises(KeyConfigurationError) as caught:
        load_master_keys(settings)

    assert "OVERGANG_MASTER_KEY is not set" in str(caught.value)
    assert not (tmp_path / DEVELOPMENT_MASTER_KEY_FILE).exists()


def test_embedded_without_a_master_key_makes_a_development_key_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(database_url=None, data_dir=tmp_path / "var", master_key=None)

    with caplog.at_level(logging.WARNING):
        first = load_master_keys(settings)
    second = load_master_keys(settings)

    key_file = tmp_path / "var" / DEVELOPMENT_MASTER_KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert first == second
    assert "development master key" in caplog.text
    assert b64(first.current.material) not in caplog.text
    assert not list(key_file.parent.glob(".master.key.*"))  # no temporary left behind


def test_a_configured_master_key_is_used_with_its_predecessors(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        master_key=SecretStr(b64(b"B" * 32)),
        previous_master_keys=SecretStr(f"{b64(b'A' * 32)}, {b64(b'B' * 32)},"),
    )

    ring = load_master_keys(settings)

    assert ring.current == KEY_B
    assert ring.previous == (KEY_A,)  # the current key is not its own predecessor
    assert not (tmp_path / DEVELOPMENT_MASTER_KEY_FILE).exists()


@pytest.mark.parametrize(
    "field,value",
    [
        ("master_key", "not base64!"),
        ("master_key", b64(os.urandom(16))),
        ("previous_master_keys", f"{b64(os.urandom(32))},{b64(os.urandom(31))}"),
    ],
)
def test_a_malformed_master_key_is_refused_without_echoing_it(field: str, value: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(**{field: value})  # type: ignore[arg-type]

    assert "base64 of 32 bytes" in str(caught.value)
    for part in value.split(","):
        assert part not in str(caught.value)


def test_asking_without_create_makes_no_key(db: Path) -> None:
    store = a_store(db)
    person: UUID = uuid4()

    assert not store.is_shredded(person)
    assert store.key_for(person, create=False) is None
    assert person.hex not in wrapped_rows(db)


def test_prefetching_caches_keys_and_tombstones_in_one_go(db: Path) -> None:
    writer = a_store(db)
    people = [uuid4() for _ in range(3)]
    keys = [writer.key_for(person, create=True) for person in people]
    erased, unknown = uuid4(), uuid4()
    writer.shred(erased)
    reader = a_store(db)

    reader.prefetch([*people, erased, unknown])
    for person in people:
        writer.shred(person)  # the table no longer has them: answers now come from the cache

    assert [reader.key_for(person, create=False) for person in people] == keys
    assert reader.is_shredded(erased)
    assert not reader.is_shredded(unknown)
