"""The view store contract, the same on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from projections.store import (
    PostgresViewStore,
    TrackingConflictError,
    ViewStore,
    ViewStoreUnavailableError,
    create_tracking_table,
    delete_position,
    quote_identifier,
    read_position,
    read_positions,
    translate_for_sqlite,
    write_position,
)
from tests.backends import Backend


@pytest.fixture
def store(backend: Backend) -> Iterator[ViewStore]:
    store = backend.view_store()
    with store.transaction() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS items (id TEXT PRIMARY KEY, n BIGINT NOT NULL)")
        cur.executemany(
            "INSERT INTO items (id, n) VALUES (%s, %s)", [("a1", 1), ("b2", 2), ("c3", 3)]
        )
        create_tracking_table(cur)
    try:
        yield store
    finally:
        store.close()


def test_rows_are_dicts_and_placeholders_work(store: ViewStore) -> None:
    with store.transaction(readonly=True) as cur:
        one = cur.execute("SELECT id, n FROM items WHERE n = %s", (2,)).fetchone()
        named = cur.execute("SELECT id FROM items WHERE n = %(n)s", {"n": 3}).fetchall()
        like = cur.execute("SELECT id FROM items WHERE id LIKE 'a%%' ORDER BY id").fetchall()
        missing = cur.execute("SELECT id FROM items WHERE n = %s", (9,)).fetchone()

    assert one == {"id": "b2", "n": 2}
    assert named == [{"id": "c3"}]
    assert like == [{"id": "a1"}]
    assert missing is None


def test_any_takes_a_list_on_both_dialects(store: ViewStore) -> None:
    with store.transaction(readonly=True) as cur:
        some = cur.execute(
            "SELECT id FROM items WHERE n > %s AND id = ANY(%s) ORDER BY id", (1, ["a1", "c3"])
        ).fetchall()
        none = cur.execute("SELECT id FROM items WHERE id = ANY(%s)", ([],)).fetchall()
        named = cur.execute(
            "SELECT id FROM items WHERE id = ANY(%(ids)s) ORDER BY id", {"ids": ["a1", "b2"]}
        ).fetchall()

    assert some == [{"id": "c3"}]
    assert none == []
    assert named == [{"id": "a1"}, {"id": "b2"}]


def test_an_exception_rolls_the_transaction_back(store: ViewStore) -> None:
    with pytest.raises(RuntimeError), store.transaction() as cur:
        cur.execute("INSERT INTO items (id, n) VALUES (%s, %s)", ("d4", 4))
        raise RuntimeError("boom")

    with store.transaction(readonly=True) as cur:
        assert cur.execute("SELECT COUNT(*) AS c FROM items").fetchone() == {"c": 3}


def test_rowcount_counts_changed_rows(store: ViewStore) -> None:
    with store.transaction() as cur:
        cur.execute("UPDATE items SET n = n + 1 WHERE n >= %s", (2,))
        assert cur.rowcount == 2


def test_tracking_moves_forward_only(store: ViewStore) -> None:
    with store.transaction() as cur:
        assert read_position(cur, "p") == 0
        write_position(cur, "p", 5)
        write_position(cur, "q", 2)

    with pytest.raises(TrackingConflictError), store.transaction() as cur:
        cur.execute("DELETE FROM items")
        write_position(cur, "p", 5)

    with store.transaction() as cur:
        assert read_positions(cur) == {"p": 5, "q": 2}
        assert cur.execute("SELECT COUNT(*) AS c FROM items").fetchone() == {"c": 3}
        delete_position(cur, "p")
        assert read_position(cur, "p") == 0


@pytest.mark.postgres
def test_readonly_transactions_refuse_writes_on_postgres(pg_url: str) -> None:
    store = PostgresViewStore(pg_url, pool_size=1)
    try:
        with (
            pytest.raises(psycopg.errors.ReadOnlySqlTransaction),
            store.transaction(readonly=True) as cur,
        ):
            cur.execute("CREATE TABLE nope (x INTEGER)")
        with store.transaction() as cur:  # the pooled connection is writable again
            cur.execute("CREATE TABLE yes (x INTEGER)")
    finally:
        store.close()


def test_an_unreachable_postgres_is_reported_as_unavailable() -> None:
    # Port 1 on loopback: nothing listens there. Building the store connects to nothing.
    store = PostgresViewStore("postgresql://postgres@127.0.0.1:1/none", timeout=0.5)
    try:
        with pytest.raises(ViewStoreUnavailableError), store.transaction() as cur:
            cur.execute("SELECT 1")
    finally:
        store.close()


def test_sqlite_translation() -> None:
    assert translate_for_sqlite("SELECT %s, %(a)s, '5%%'", ()) == ("SELECT ?, :a, '5%'", ())
    assert translate_for_sqlite("x = ANY(%s) AND y = %s", ([1, 2], 3)) == (
        "x IN (?, ?) AND y = ?",
        [1, 2, 3],
    )


@pytest.mark.parametrize("name", ["Items", "items; DROP TABLE x", "1abc", ""])
def test_only_plain_identifiers_are_quoted(name: str) -> None:
    with pytest.raises(ValueError, match="not a plain SQL identifier"):
        quote_identifier(name)
