"""Per-person data keys, the heart of crypto-shredding.

Every young person's personal fields are encrypted with a data key of their own (see
``infra.personal_mapper``). Erasing the person deletes that key: the ciphertexts stay in
the append-only event log, but nothing can read them any more.

The data keys live in the event store's own database, each wrapped (AES-GCM) with a master
key from the settings, so a copy of the database alone reveals nothing. Each row names the
master key that wrapped it; rotating the master key re-wraps the data keys and leaves every
event as it is. A shredded person keeps a tombstone row, so that no later write can quietly
create a new key for someone who was erased.

On SQLite, deleted rows are overwritten with zeros (``secure_delete``) and the write-ahead
log is truncated after a shred. On PostgreSQL a deleted row leaves the table files at the
next VACUUM, and backups keep wrapped keys for as long as they are kept: they are useless
once the master key they were wrapped with is destroyed after a rotation.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import math
import os
import sqlite3
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar
from uuid import UUID

import psycopg
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.persistence import OperationalError
from psycopg import sql
from psycopg_pool import ConnectionPool

from domain.errors import PersonalDataErasedError
from infra.settings import Settings

log = logging.getLogger(__name__)

_T = TypeVar("_T")

DATA_KEYS_TABLE = "data_keys"
SHREDDED_TABLE = "shredded_data_keys"
DEVELOPMENT_MASTER_KEY_FILE = "master.key"

DATA_KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # AES-GCM's standard nonce; random, so never reused in practice
REWRAP_BATCH = 500  # data keys re-wrapped per transaction during a rotation

# Domain separation: the same master key material never means something else elsewhere.
_KEY_ID_CONTEXT = b"overgang master key id v1\x00"
_WRAP_CONTEXT = b"overgang data key v1\x00"

# PostgreSQL advisory locks of the key store: (namespace, per-person key). Creating a key
# and shredding one take the same lock, so a write racing an erasure either finishes
# first (and its key is then shredded) or finds the tombstone.
_LOCK_NAMESPACE = 0x4F564B59  # "OVKY"


class KeyConfigurationError(RuntimeError):
    """The master keys are missing or unusable: the process must not go on."""


class MasterKeyMissingError(KeyConfigurationError):
    """A data key is wrapped with a master key that is not configured (any more)."""


class DataKeyIntegrityError(RuntimeError):
    """A wrapped data key does not authenticate: altered, or moved to another person."""


def master_key_id(material: bytes) -> str:
    """A stable name for a master key: a hash, which names the key without revealing it."""
    return hashlib.sha256(_KEY_ID_CONTEXT + material).hexdigest()[:16]


@dataclass(frozen=True)
class MasterKey:
    id: str
    material: bytes = field(repr=False)

    @classmethod
    def of(cls, material: bytes) -> MasterKey:
        if len(material) != DATA_KEY_BYTES:
            raise KeyConfigurationError(f"a master key has {DATA_KEY_BYTES} bytes")
        return cls(id=master_key_id(material), material=material)


@dataclass(frozen=True)
class WrappedKey:
    """A data key as stored: nonce + AES-GCM ciphertext, and which master key sealed it."""

    blob: bytes = field(repr=False)
    master_key_id: str


@dataclass(frozen=True)
class MasterKeyRing:
    """The current master key, which wraps new keys, and the previous ones, which still
    unwrap keys that a rotation has not re-wrapped yet."""

    current: MasterKey
    previous: tuple[MasterKey, ...] = ()

    def knows(self, key_id: str) -> bool:
        return any(key.id == key_id for key in (self.current, *self.previous))

    def find(self, key_id: str) -> MasterKey:
        for key in (self.current, *self.previous):
            if key.id == key_id:
                return key
        raise MasterKeyMissingError(
            f"master key {key_id} is not configured: data keys wrapped with it cannot be "
            "read; add that key to OVERGANG_PREVIOUS_MASTER_KEYS (and run "
            "`overgang keys rotate` before removing it again)"
        )

    def wrap(self, young_person_id: UUID, data_key: bytes) -> WrappedKey:
        nonce = os.urandom(NONCE_BYTES)
        # The person's id is authenticated with the key: a wrapped key copied into another
        # person's row does not unwrap.
        sealed = AESGCM(self.current.material).encrypt(
            nonce, data_key, _WRAP_CONTEXT + young_person_id.bytes
        )
        return WrappedKey(blob=nonce + sealed, master_key_id=self.current.id)

    def unwrap(self, young_person_id: UUID, wrapped: WrappedKey) -> bytes:
        master = self.find(wrapped.master_key_id)
        nonce, sealed = wrapped.blob[:NONCE_BYTES], wrapped.blob[NONCE_BYTES:]
        try:
            return AESGCM(master.material).decrypt(
                nonce, sealed, _WRAP_CONTEXT + young_person_id.bytes
            )
        except InvalidTag:
            raise DataKeyIntegrityError(
                f"the data key of young person {young_person_id} does not authenticate "
                f"under master key {wrapped.master_key_id}"
            ) from None


def load_master_keys(settings: Settings) -> MasterKeyRing:
    """The master keys the settings name; refuses to go on without one outside embedded
    development mode, where it makes (once) and uses a development key instead."""
    current = settings.master_key_material()
    if current is None:
        if not settings.is_embedded:
            raise KeyConfigurationError(
                "OVERGANG_MASTER_KEY is not set. With a PostgreSQL database a master key is "
                "required: base64 of 32 random bytes, for example the output of "
                '`python -c "import base64, os; print(base64.b64encode(os.urandom(32))'
                '.decode())"`. Keep it in a secret store; without it the personal data '
                "cannot be read."
            )
        path = settings.data_dir / DEVELOPMENT_MASTER_KEY_FILE
        current = development_master_key(path)
        log.warning(
            "embedded development mode: personal data is encrypted under the development "
            "master key in %s; set OVERGANG_MASTER_KEY for anything but development",
            path,
        )
    ring = MasterKey.of(current)
    previous = [MasterKey.of(material) for material in settings.previous_master_key_materials()]
    unique = {key.id: key for key in previous if key.id != ring.id}
    return MasterKeyRing(current=ring, previous=tuple(unique.values()))


def development_master_key(path: Path) -> bytes:
    """The development master key in ``path``, made there (mode 0600) if missing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        _write_new_key_file(path)
    try:
        return base64.b64decode(path.read_text().strip(), validate=True)
    except (binascii.Error, ValueError):
        raise KeyConfigurationError(
            f"{path} does not hold a master key (base64 of {DATA_KEY_BYTES} bytes)"
        ) from None


def _write_new_key_file(path: Path) -> None:
    # Written whole under a temporary name (mkstemp makes it 0600), then linked into place:
    # a second process starting at the same moment either wins or reads the complete
    # winner, never half a key.
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".master.key.")
    try:
        with os.fdopen(descriptor, "w") as file:
            file.write(base64.b64encode(os.urandom(DATA_KEY_BYTES)).decode() + "\n")
        os.chmod(temporary, 0o600)
        with suppress(FileExistsError):  # another process made it first: theirs stands
            os.link(temporary, path)
    finally:
        os.unlink(temporary)


# --- where wrapped keys are stored ------------------------------------------------------


class KeyTable(Protocol):
    """The two tables of the key store, in one database."""

    def load(self, young_person_id: UUID) -> WrappedKey | None: ...

    def load_many(self, young_person_ids: Sequence[UUID]) -> dict[UUID, WrappedKey]: ...

    def insert_unless_shredded(
        self, young_person_id: UUID, wrapped: WrappedKey, now: str
    ) -> WrappedKey | None:
        """Store ``wrapped`` as the person's key; if they already have one, keep and return
        that one; if they have a tombstone, store nothing and return None."""
        ...

    def shred(self, young_person_id: UUID, now: str) -> bool:
        """Delete the person's key and write their tombstone; True if a key existed."""
        ...

    def is_shredded(self, young_person_id: UUID) -> bool: ...

    def shredded_among(self, young_person_ids: Sequence[UUID]) -> set[UUID]: ...

    def count_by_master_key(self) -> dict[str, int]: ...

    def wrapped_with(self, master_key_id: str, limit: int) -> list[tuple[UUID, WrappedKey]]: ...

    def replace_wrapping(
        self, old_master_key_id: str, rows: Sequence[tuple[UUID, WrappedKey]]
    ) -> int:
        """Replace each person's key if it is still wrapped with ``old_master_key_id``."""
        ...

    def close(self) -> None: ...


def _chunks(items: Sequence[UUID], size: int = 500) -> Iterator[Sequence[UUID]]:
    # SQLite caps the number of parameters of one statement.
    for start in range(0, len(items), size):
        yield items[start : start + size]


_SQLITE_SCHEMA = (
    f"CREATE TABLE IF NOT EXISTS {DATA_KEYS_TABLE} ("
    "young_person_id TEXT PRIMARY KEY, wrapped_key BLOB NOT NULL, "
    "master_key_id TEXT NOT NULL, created_at TEXT NOT NULL)",
    f"CREATE INDEX IF NOT EXISTS {DATA_KEYS_TABLE}_by_master_key "
    f"ON {DATA_KEYS_TABLE} (master_key_id)",
    f"CREATE TABLE IF NOT EXISTS {SHREDDED_TABLE} ("
    "young_person_id TEXT PRIMARY KEY, shredded_at TEXT NOT NULL)",
)


class SQLiteKeyTable:
    """The key tables in the SQLite file of the event store.

    One connection behind a lock: after the first use per person the keys come from the
    in-process cache, so the table is seldom read. Writes begin ``IMMEDIATE`` so that they
    queue on SQLite's write lock instead of failing half-way.
    """

    def __init__(self, path: Path, *, busy_timeout: float = 10.0) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(
            path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
        )
        # Deleted keys are overwritten with zeros, not merely unlinked from the b-tree.
        self._conn.execute("PRAGMA secure_delete = ON")
        self._lock = threading.Lock()
        with self._write() as conn:
            for statement in _SQLITE_SCHEMA:
                conn.execute(statement)

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _read(self, statement: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._lock:
            return self._conn.execute(statement, params).fetchall()

    def load(self, young_person_id: UUID) -> WrappedKey | None:
        rows = self._read(
            f"SELECT wrapped_key, master_key_id FROM {DATA_KEYS_TABLE} WHERE young_person_id = ?",
            (young_person_id.hex,),
        )
        return WrappedKey(bytes(rows[0][0]), rows[0][1]) if rows else None

    def load_many(self, young_person_ids: Sequence[UUID]) -> dict[UUID, WrappedKey]:
        found: dict[UUID, WrappedKey] = {}
        for chunk in _chunks(young_person_ids):
            rows = self._read(
                f"SELECT young_person_id, wrapped_key, master_key_id FROM {DATA_KEYS_TABLE} "
                f"WHERE young_person_id IN ({', '.join('?' * len(chunk))})",
                [person.hex for person in chunk],
            )
            found |= {
                UUID(person): WrappedKey(bytes(blob), key_id) for person, blob, key_id in rows
            }
        return found

    def insert_unless_shredded(
        self, young_person_id: UUID, wrapped: WrappedKey, now: str
    ) -> WrappedKey | None:
        with self._write() as conn:
            if conn.execute(
                f"SELECT 1 FROM {SHREDDED_TABLE} WHERE young_person_id = ?",
                (young_person_id.hex,),
            ).fetchone():
                return None
            conn.execute(
                f"INSERT INTO {DATA_KEYS_TABLE} "
                "(young_person_id, wrapped_key, master_key_id, created_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (young_person_id) DO NOTHING",
                (young_person_id.hex, wrapped.blob, wrapped.master_key_id, now),
            )
            row = conn.execute(
                f"SELECT wrapped_key, master_key_id FROM {DATA_KEYS_TABLE} "
                "WHERE young_person_id = ?",
                (young_person_id.hex,),
            ).fetchone()
        return WrappedKey(bytes(row[0]), row[1])

    def shred(self, young_person_id: UUID, now: str) -> bool:
        with self._write() as conn:
            existed = (
                conn.execute(
                    f"DELETE FROM {DATA_KEYS_TABLE} WHERE young_person_id = ?",
                    (young_person_id.hex,),
                ).rowcount
                > 0
            )
            conn.execute(
                f"INSERT INTO {SHREDDED_TABLE} (young_person_id, shredded_at) VALUES (?, ?) "
                "ON CONFLICT (young_person_id) DO NOTHING",
                (young_person_id.hex, now),
            )
        self._truncate_write_ahead_log()
        return existed

    def _truncate_write_ahead_log(self) -> None:
        # secure_delete zeroes the key's page in the database file, but until a checkpoint
        # the write-ahead log may still hold the page as it was. Best effort: a reader in
        # the middle of a query can keep the checkpoint from completing now; the next one
        # (SQLite's automatic checkpoints) finishes the job.
        with self._lock:
            busy, _, _ = self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy:
            log.info("the write-ahead log could not be truncated at once after a shred")

    def is_shredded(self, young_person_id: UUID) -> bool:
        return bool(self.shredded_among([young_person_id]))

    def shredded_among(self, young_person_ids: Sequence[UUID]) -> set[UUID]:
        found: set[UUID] = set()
        for chunk in _chunks(young_person_ids):
            rows = self._read(
                f"SELECT young_person_id FROM {SHREDDED_TABLE} "
                f"WHERE young_person_id IN ({', '.join('?' * len(chunk))})",
                [person.hex for person in chunk],
            )
            found |= {UUID(person) for (person,) in rows}
        return found

    def count_by_master_key(self) -> dict[str, int]:
        rows = self._read(
            f"SELECT master_key_id, COUNT(*) FROM {DATA_KEYS_TABLE} GROUP BY master_key_id"
        )
        return {key_id: count for key_id, count in rows}

    def wrapped_with(self, master_key_id: str, limit: int) -> list[tuple[UUID, WrappedKey]]:
        rows = self._read(
            f"SELECT young_person_id, wrapped_key FROM {DATA_KEYS_TABLE} "
            "WHERE master_key_id = ? ORDER BY young_person_id LIMIT ?",
            (master_key_id, limit),
        )
        return [(UUID(person), WrappedKey(bytes(blob), master_key_id)) for person, blob in rows]

    def replace_wrapping(
        self, old_master_key_id: str, rows: Sequence[tuple[UUID, WrappedKey]]
    ) -> int:
        replaced = 0
        with self._write() as conn:
            for young_person_id, wrapped in rows:
                replaced += conn.execute(
                    f"UPDATE {DATA_KEYS_TABLE} SET wrapped_key = ?, master_key_id = ? "
                    "WHERE young_person_id = ? AND master_key_id = ?",
                    (wrapped.blob, wrapped.master_key_id, young_person_id.hex, old_master_key_id),
                ).rowcount
        return replaced

    def close(self) -> None:
        with self._lock:
            self._conn.close()


_DATA_KEYS = sql.Identifier(DATA_KEYS_TABLE)
_SHREDDED = sql.Identifier(SHREDDED_TABLE)


class PostgresKeyTable:
    """The key tables in the PostgreSQL database of the event store, through a small pool.

    Reads run in autocommit, one round trip each: a cold projection worker reads one key
    per young person (or one batch per log batch, with ``load_many``).
    """

    def __init__(
        self, conninfo: str, *, max_size: int = 2, connect_timeout: int = 2, timeout: float = 5.0
    ) -> None:
        self._pool: ConnectionPool[Any] = ConnectionPool(
            conninfo,
            kwargs={"connect_timeout": connect_timeout, "autocommit": True},
            min_size=1,
            max_size=max(1, max_size),
            open=False,
            timeout=timeout,
            name="overgang-keys",
        )
        self._pool.open(wait=False)
        try:
            self._call(self._create_tables, write=True)
        except BaseException:
            self._pool.close()
            raise

    def _call(self, work: Callable[[Any], _T], *, write: bool = False) -> _T:
        """``work(connection)``, in a transaction when it writes.

        Connections are not checked before use (that would double the round trips): a
        connection the server dropped fails once, the pool discards it, and the one retry
        runs on a fresh one. Every write here is safe to repeat. When the retry fails too,
        the database is away: that is raised as the event store raises it (eventsourcing's
        ``OperationalError``), which the API answers with a 503 and workers retry.
        """
        for attempt in (1, 2):
            try:
                with self._pool.connection() as conn:
                    if not write:
                        return work(conn)
                    with conn.transaction():
                        return work(conn)
            except psycopg.OperationalError as error:
                if attempt == 2:
                    raise OperationalError(str(error)) from error
        raise AssertionError("unreachable")

    @staticmethod
    def _create_tables(conn: Any) -> None:
        # Processes starting together would race on CREATE TABLE IF NOT EXISTS.
        conn.execute("SELECT pg_advisory_xact_lock(%s, 0)", (_LOCK_NAMESPACE,))
        conn.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (young_person_id TEXT PRIMARY KEY, "
                "wrapped_key BYTEA NOT NULL, master_key_id TEXT NOT NULL, "
                "created_at TEXT NOT NULL)"
            ).format(_DATA_KEYS)
        )
        conn.execute(
            sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (master_key_id)").format(
                sql.Identifier(f"{DATA_KEYS_TABLE}_by_master_key"), _DATA_KEYS
            )
        )
        conn.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (young_person_id TEXT PRIMARY KEY, "
                "shredded_at TEXT NOT NULL)"
            ).format(_SHREDDED)
        )

    @staticmethod
    def _lock_person(conn: Any, young_person_id: UUID) -> None:
        person = int.from_bytes(young_person_id.bytes[:4], "big", signed=True)
        conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (_LOCK_NAMESPACE, person))

    @staticmethod
    def _select_key(conn: Any, young_person_id: UUID) -> WrappedKey | None:
        row = conn.execute(
            sql.SQL("SELECT wrapped_key, master_key_id FROM {} WHERE young_person_id = %s").format(
                _DATA_KEYS
            ),
            (young_person_id.hex,),
        ).fetchone()
        return WrappedKey(bytes(row[0]), row[1]) if row else None

    def load(self, young_person_id: UUID) -> WrappedKey | None:
        return self._call(lambda conn: self._select_key(conn, young_person_id))

    def load_many(self, young_person_ids: Sequence[UUID]) -> dict[UUID, WrappedKey]:
        rows = self._call(
            lambda conn: conn.execute(
                sql.SQL(
                    "SELECT young_person_id, wrapped_key, master_key_id FROM {} "
                    "WHERE young_person_id = ANY(%s)"
                ).format(_DATA_KEYS),
                ([person.hex for person in young_person_ids],),
            ).fetchall()
        )
        return {UUID(person): WrappedKey(bytes(blob), key_id) for person, blob, key_id in rows}

    def insert_unless_shredded(
        self, young_person_id: UUID, wrapped: WrappedKey, now: str
    ) -> WrappedKey | None:
        def insert(conn: Any) -> WrappedKey | None:
            self._lock_person(conn, young_person_id)
            if conn.execute(
                sql.SQL("SELECT 1 FROM {} WHERE young_person_id = %s").format(_SHREDDED),
                (young_person_id.hex,),
            ).fetchone():
                return None
            conn.execute(
                sql.SQL(
                    "INSERT INTO {} (young_person_id, wrapped_key, master_key_id, created_at) "
                    "VALUES (%s, %s, %s, %s) ON CONFLICT (young_person_id) DO NOTHING"
                ).format(_DATA_KEYS),
                (young_person_id.hex, wrapped.blob, wrapped.master_key_id, now),
            )
            stored = self._select_key(conn, young_person_id)
            assert stored is not None  # inserted above, or there already
            return stored

        return self._call(insert, write=True)

    def shred(self, young_person_id: UUID, now: str) -> bool:
        def shred(conn: Any) -> bool:
            self._lock_person(conn, young_person_id)
            deleted: int = conn.execute(
                sql.SQL("DELETE FROM {} WHERE young_person_id = %s").format(_DATA_KEYS),
                (young_person_id.hex,),
            ).rowcount
            conn.execute(
                sql.SQL(
                    "INSERT INTO {} (young_person_id, shredded_at) VALUES (%s, %s) "
                    "ON CONFLICT (young_person_id) DO NOTHING"
                ).format(_SHREDDED),
                (young_person_id.hex, now),
            )
            return deleted > 0

        return self._call(shred, write=True)

    def is_shredded(self, young_person_id: UUID) -> bool:
        return bool(self.shredded_among([young_person_id]))

    def shredded_among(self, young_person_ids: Sequence[UUID]) -> set[UUID]:
        rows = self._call(
            lambda conn: conn.execute(
                sql.SQL("SELECT young_person_id FROM {} WHERE young_person_id = ANY(%s)").format(
                    _SHREDDED
                ),
                ([person.hex for person in young_person_ids],),
            ).fetchall()
        )
        return {UUID(person) for (person,) in rows}

    def count_by_master_key(self) -> dict[str, int]:
        rows = self._call(
            lambda conn: conn.execute(
                sql.SQL("SELECT master_key_id, COUNT(*) FROM {} GROUP BY master_key_id").format(
                    _DATA_KEYS
                )
            ).fetchall()
        )
        return {key_id: count for key_id, count in rows}

    def wrapped_with(self, master_key_id: str, limit: int) -> list[tuple[UUID, WrappedKey]]:
        rows = self._call(
            lambda conn: conn.execute(
                sql.SQL(
                    "SELECT young_person_id, wrapped_key FROM {} WHERE master_key_id = %s "
                    "ORDER BY young_person_id LIMIT %s"
                ).format(_DATA_KEYS),
                (master_key_id, limit),
            ).fetchall()
        )
        return [(UUID(person), WrappedKey(bytes(blob), master_key_id)) for person, blob in rows]

    def replace_wrapping(
        self, old_master_key_id: str, rows: Sequence[tuple[UUID, WrappedKey]]
    ) -> int:
        statement = sql.SQL(
            "UPDATE {} SET wrapped_key = %s, master_key_id = %s "
            "WHERE young_person_id = %s AND master_key_id = %s"
        ).format(_DATA_KEYS)

        def replace(conn: Any) -> int:
            replaced = 0
            for young_person_id, wrapped in rows:
                replaced += conn.execute(
                    statement,
                    (wrapped.blob, wrapped.master_key_id, young_person_id.hex, old_master_key_id),
                ).rowcount
            return replaced

        return self._call(replace, write=True)

    def close(self) -> None:
        self._pool.close()


# --- the store ----------------------------------------------------------------------------


# Cached for a shredded person (a tombstone is for ever); no data key is empty.
_SHREDDED_MARK = b""


class _KeyCache:
    """Unwrapped data keys by person: bounded (least recently used goes first) and each
    entry for a limited time, after which the table is asked again."""

    def __init__(self, size: int, seconds: float, monotonic: Callable[[], float]) -> None:
        self._entries: OrderedDict[UUID, tuple[bytes, float]] = OrderedDict()
        self._size = size
        self._seconds = seconds
        self._monotonic = monotonic
        self._lock = threading.Lock()

    def get(self, young_person_id: UUID) -> bytes | None:
        # Read on every decoded event, so without the lock: a dict read is atomic, and an
        # entry evicted meanwhile only makes the refresh of its place a no-op.
        entry = self._entries.get(young_person_id)
        if entry is None:
            return None
        if entry[1] < self._monotonic():
            self.evict(young_person_id)
            return None
        # Not contextlib.suppress: that builds a context manager for every decoded event.
        try:  # noqa: SIM105
            self._entries.move_to_end(young_person_id)
        except KeyError:
            pass
        return entry[0]

    def put(self, young_person_id: UUID, value: bytes, *, forever: bool = False) -> None:
        expires = math.inf if forever else self._monotonic() + self._seconds
        with self._lock:
            self._entries[young_person_id] = (value, expires)
            self._entries.move_to_end(young_person_id)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)

    def evict(self, young_person_id: UUID) -> None:
        with self._lock:
            self._entries.pop(young_person_id, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def _utc_now() -> datetime:
    return datetime.now(UTC)


class DataKeyStore:
    """Each young person's data key: made on their first personal fact, unwrapped with the
    master keys, cached in-process, and shredded (for ever) on erasure."""

    def __init__(
        self,
        table: KeyTable,
        master_keys: MasterKeyRing,
        *,
        cache_size: int = 10_000,
        cache_seconds: float = 300.0,
        clock: Callable[[], datetime] = _utc_now,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._table = table
        self._master_keys = master_keys
        self._cache = _KeyCache(cache_size, cache_seconds, monotonic)
        self._clock = clock

    @property
    def current_master_key_id(self) -> str:
        return self._master_keys.current.id

    def key_for(self, young_person_id: UUID, *, create: bool) -> bytes | None:
        """The person's data key. None if they have none (shredded, or never made) and
        ``create`` is false; with ``create``, a new key is made and stored first, and an
        erased person's key is refused with ``PersonalDataErasedError``."""
        cached = self._cache.get(young_person_id)
        if cached is not None:
            if cached == _SHREDDED_MARK:
                if create:
                    raise self._erased(young_person_id)
                return None
            return cached
        wrapped = self._table.load(young_person_id)
        if wrapped is None:
            if not create:
                return None
            fresh = self._master_keys.wrap(young_person_id, os.urandom(DATA_KEY_BYTES))
            wrapped = self._table.insert_unless_shredded(
                young_person_id, fresh, self._clock().isoformat()
            )
            if wrapped is None:
                self._cache.put(young_person_id, _SHREDDED_MARK, forever=True)
                raise self._erased(young_person_id)
        key = self._master_keys.unwrap(young_person_id, wrapped)
        self._cache.put(young_person_id, key)
        return key

    @staticmethod
    def _erased(young_person_id: UUID) -> PersonalDataErasedError:
        return PersonalDataErasedError(
            f"the personal data of young person {young_person_id} was erased: "
            "nothing personal can be recorded for them"
        )

    def prefetch(self, young_person_ids: Iterable[UUID]) -> None:
        """Cache the keys (and tombstones) of these people that are not cached yet, with
        one query each for keys and tombstones rather than one per person: a projection
        worker starting cold over a log of many people reads its keys batch by batch."""
        missing = [person for person in set(young_person_ids) if self._cache.get(person) is None]
        if not missing:
            return
        found = self._table.load_many(missing)
        for person, wrapped in found.items():
            self._cache.put(person, self._master_keys.unwrap(person, wrapped))
        keyless = [person for person in missing if person not in found]
        if keyless:
            for person in self._table.shredded_among(keyless):
                self._cache.put(person, _SHREDDED_MARK, forever=True)

    def shred(self, young_person_id: UUID) -> bool:
        """Delete the person's data key for good and keep a tombstone; True if a key
        existed. Their personal fields are unreadable from now on, in every copy of the
        log that does not also hold the key."""
        existed = self._table.shred(young_person_id, self._clock().isoformat())
        self._cache.put(young_person_id, _SHREDDED_MARK, forever=True)
        return existed

    def is_shredded(self, young_person_id: UUID) -> bool:
        if self._cache.get(young_person_id) == _SHREDDED_MARK:
            return True
        if self._table.is_shredded(young_person_id):
            self._cache.put(young_person_id, _SHREDDED_MARK, forever=True)
            return True
        return False

    def evict(self, young_person_id: UUID) -> None:
        """Forget the person's key in this process (the next use reads the table)."""
        self._cache.evict(young_person_id)

    def clear_cache(self) -> None:
        self._cache.clear()

    def rotate_master_key(self) -> int:
        """Re-wrap every data key not yet wrapped with the current master key; returns how
        many were re-wrapped. Events are not touched: the data keys stay the same.

        Checks first that every master key still in use is configured, so a missing old
        key stops the rotation before anything is changed.
        """
        current = self._master_keys.current.id
        in_use = self._table.count_by_master_key()
        missing = sorted(key_id for key_id in in_use if not self._master_keys.knows(key_id))
        if missing:
            raise MasterKeyMissingError(
                f"{sum(in_use[key_id] for key_id in missing)} data keys are wrapped with "
                f"master key(s) {', '.join(missing)}, which are not configured: add them to "
                "OVERGANG_PREVIOUS_MASTER_KEYS and rotate again"
            )
        rewrapped = 0
        for old in sorted(key_id for key_id in in_use if key_id != current):
            while batch := self._table.wrapped_with(old, REWRAP_BATCH):
                renewed = [
                    (person, self._master_keys.wrap(person, self._master_keys.unwrap(person, key)))
                    for person, key in batch
                ]
                replaced = self._table.replace_wrapping(old, renewed)
                rewrapped += replaced
                if replaced == 0:
                    break  # nothing changed: do not loop on the same rows
            log.info("re-wrapped the data keys of master key %s", old)
        return rewrapped

    def close(self) -> None:
        self._table.close()


def open_data_key_store(
    settings: Settings,
    master_keys: MasterKeyRing,
    *,
    clock: Callable[[], datetime] = _utc_now,
) -> DataKeyStore:
    """The key store in the event store's database that ``settings`` name."""
    table: KeyTable
    if settings.database_url is None:
        table = SQLiteKeyTable(settings.sqlite_path("overgang"))
    else:
        table = PostgresKeyTable(
            settings.database_url,
            max_size=settings.postgres_pool_size,
            connect_timeout=settings.postgres_connect_timeout,
        )
    return DataKeyStore(
        table,
        master_keys,
        cache_size=settings.data_key_cache_size,
        cache_seconds=settings.data_key_cache_seconds,
        clock=clock,
    )
