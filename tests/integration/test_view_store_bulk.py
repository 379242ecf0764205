"""Rows in bulk through the view store (copy, upsert, delete by key) and the tracking rows
of several projections at once: the same results on SQLite and PostgreSQL, whichever way
each dialect sends them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from projections.store import (
    DuplicateRowError,
    TrackingConflictError,
    ViewCursor,
    ViewStore,
    commit_asynchronously,
    create_tracking_table,
    read_positions,
    write_positions,
)
from tests.backends import Backend

COLUMNS = ("id", "part", "label", "n")
KEY = ("id", "part")


@pytest.fixture
def store(backend: Backend) -> Iterator[ViewStore]:
    store = backend.view_store()
    with store.transaction() as cur:
        cur.execute(
            "CREATE TABLE IF NOT EXISTS things (id TEXT NOT NULL, part BIGINT NOT NULL, "
            "label TEXT, n INTEGER, PRIMARY KEY (id, part))"
        )
        create_tracking_table(cur)
    try:
        yield store
    finally:
        store.close()


def things(cur: ViewCursor) -> list[tuple[Any, ...]]:
    rows = cur.execute("SELECT id, part, label, n FROM things ORDER BY id, part").fetchall()
    return [tuple(row[column] for column in COLUMNS) for row in rows]


def test_copy_rows_inserts_every_row(store: ViewStore) -> None:
    rows = [("a", 1, "x", 7), ("a", 2, None, None), ("b", 1, 'it\'s "quoted"\t\\n é', 0)]

    with store.transaction() as cur:
        cur.copy_rows("things", COLUMNS, rows)
        cur.copy_rows("things", COLUMNS, [])

    with store.transaction(readonly=True) as cur:
        assert things(cur) == rows


def test_a_duplicate_writes_nothing_of_the_copy_and_the_transaction_goes_on(
    store: ViewStore,
) -> None:
    with store.transaction() as cur:
        cur.copy_rows("things", COLUMNS, [("a", 1, "first", 1)])
        with pytest.raises(DuplicateRowError) as raised:
            cur.copy_rows("things", COLUMNS, [("b", 1, "new", 2), ("a", 1, "again", 3)])
        cur.copy_rows("things", COLUMNS, [("c", 1, "after", 4)])

    assert "first" not in str(raised.value) and "again" not in str(raised.value)
    with store.transaction(readonly=True) as cur:
        assert things(cur) == [("a", 1, "first", 1), ("c", 1, "after", 4)]


def test_upsert_rows_inserts_new_rows_and_replaces_those_with_their_key(
    store: ViewStore,
) -> None:
    with store.transaction() as cur:
        cur.upsert_rows("things", COLUMNS, [("a", 1, "old", 1), ("b", 1, "old", 2)], key=KEY)
        cur.upsert_rows("things", COLUMNS, [("a", 1, None, 10), ("c", 5, "new", None)], key=KEY)

    with store.transaction(readonly=True) as cur:
        assert things(cur) == [("a", 1, None, 10), ("b", 1, "old", 2), ("c", 5, "new", None)]


def test_upsert_rows_without_replacing_keeps_what_is_there(store: ViewStore) -> None:
    with store.transaction() as cur:
        cur.upsert_rows("things", COLUMNS, [("a", 1, "old", 1)], key=KEY)
        cur.upsert_rows(
            "things", COLUMNS, [("a", 1, "new", 2), ("b", 1, "new", 2)], key=KEY, replace=False
        )

    with store.transaction(readonly=True) as cur:
        assert things(cur) == [("a", 1, "old", 1), ("b", 1, "new", 2)]


def test_upsert_rows_adds_up_the_columns_named_to_add(store: ViewStore) -> None:
    with store.transaction() as cur:
        cur.upsert_rows("things", COLUMNS, [("a", 1, "old", 2)], key=KEY, add=("n",))
        cur.upsert_rows(
            "things", COLUMNS, [("a", 1, "new", 3), ("b", 1, "new", 4)], key=KEY, add=("n",)
        )

    with store.transaction(readonly=True) as cur:
        assert things(cur) == [("a", 1, "new", 5), ("b", 1, "new", 4)]


def test_upsert_rows_takes_columns_that_are_null_throughout(store: ViewStore) -> None:
    with store.transaction() as cur:
        cur.upsert_rows("things", COLUMNS, [("a", 1, None, None), ("b", 2, None, None)], key=KEY)

    with store.transaction(readonly=True) as cur:
        assert things(cur) == [("a", 1, None, None), ("b", 2, None, None)]


def test_upsert_rows_takes_values_beyond_text_and_whole_numbers(store: ViewStore) -> None:
    # A float for an INTEGER column: PostgreSQL's one-statement form does not type it, so
    # the rows go the generic way, with the same result.
    with store.transaction() as cur:
        cur.upsert_rows("things", COLUMNS, [("a", 1, "x", 3.0)], key=KEY)

    with store.transaction(readonly=True) as cur:
        assert things(cur) == [("a", 1, "x", 3)]


def test_delete_rows_deletes_exactly_the_rows_of_the_keys(store: ViewStore) -> None:
    rows = [("a", 1, "x", 1), ("a", 2, "y", 2), ("b", 1, "z", 3)]
    with store.transaction() as cur:
        cur.copy_rows("things", COLUMNS, rows)
        cur.delete_rows("things", KEY, [("a", 2), ("b", 2), ("c", 1)])
        cur.delete_rows("things", KEY, [])

    with store.transaction(readonly=True) as cur:
        assert things(cur) == [("a", 1, "x", 1), ("b", 1, "z", 3)]


row_values = st.tuples(
    st.sampled_from(["a", "b", "c"]),
    st.integers(min_value=0, max_value=3),
    # Text as the domain lets it in: no lone surrogates; and no NUL, which no text column
    # of PostgreSQL holds.
    st.none()
    | st.text(
        alphabet=st.characters(codec="utf-8", exclude_characters="\x00"),
        max_size=8,
    ),
    st.none() | st.integers(min_value=-(2**31), max_value=2**31 - 1),
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    batches=st.lists(
        st.tuples(
            st.lists(row_values, max_size=6, unique_by=lambda row: row[:2]),
            st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(0, 3)), max_size=3),
        ),
        max_size=4,
    )
)
def test_upserts_and_deletes_give_what_one_row_at_a_time_gives(
    store: ViewStore, batches: list[tuple[list[tuple[Any, ...]], list[tuple[str, int]]]]
) -> None:
    expected: dict[tuple[str, int], tuple[Any, ...]] = {}
    with store.transaction() as cur:
        cur.execute("DELETE FROM things")
        for rows, gone in batches:
            cur.upsert_rows("things", COLUMNS, rows, key=KEY)
            cur.delete_rows("things", KEY, gone)
            expected.update({row[:2]: row for row in rows})
            for key in gone:
                expected.pop(key, None)
        assert things(cur) == sorted(expected.values())


def test_positions_of_several_projections_move_together(store: ViewStore) -> None:
    with store.transaction() as cur:
        commit_asynchronously(cur)
        write_positions(cur, ["p", "q"], 5, previous=0)
    with store.transaction() as cur:
        write_positions(cur, ["p", "q"], 9, previous=5)

    with store.transaction(readonly=True) as cur:
        assert read_positions(cur) == {"p": 9, "q": 9}


def test_positions_do_not_move_when_one_is_elsewhere(store: ViewStore) -> None:
    with store.transaction() as cur:
        write_positions(cur, ["p"], 5, previous=0)
        write_positions(cur, ["q"], 3, previous=0)

    with pytest.raises(TrackingConflictError), store.transaction() as cur:
        write_positions(cur, ["p", "q"], 9, previous=5)

    with store.transaction(readonly=True) as cur:
        assert read_positions(cur) == {"p": 5, "q": 3}
