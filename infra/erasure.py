"""Erasing a young person's personal data, everywhere it is held.

The order of the steps is what makes a crash harmless: the person's data key is shredded
first, so from then on no event of theirs can be read in clear, whatever happens next. Then
``PersonalDataErased`` is recorded (nothing may follow it), the person's snapshots are
deleted and the aggregate cache entry evicted. The read models purge themselves when they
apply ``PersonalDataErased``; on the embedded default (SQLite) this process applies it at
once and then empties the write-ahead logs of both databases, so that no copy of the purged
rows stays behind in them (the view store zeroes deleted content with
``PRAGMA secure_delete``).

Every step can be repeated. A retry after a crash finishes what the first attempt left
undone, and then answers as for any second erasure: ``PersonalDataErasedError``.

PostgreSQL: the projection workers purge the read models when they reach the erasure, and
dead row versions stay in the tables' files until autovacuum reclaims them; what SQL can
read is purged.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from uuid import UUID

from eventsourcing.persistence import AggregateRecorder, OperationalError, StoredEvent
from eventsourcing.popo import POPOAggregateRecorder
from eventsourcing.postgres import PostgresAggregateRecorder
from eventsourcing.sqlite import SQLiteAggregateRecorder
from psycopg.sql import SQL, Identifier

from domain.actors import Actor, Role
from domain.application import CommandContext, CommandResult, Overgang
from domain.errors import DomainError, PersonalDataErasedError
from domain.vocabulary import CaseStatus, ErasureRequester
from projections.retention import RetentionView, years_before

if TYPE_CHECKING:
    from infra.bootstrap import Services

log = logging.getLogger(__name__)

RETENTION_ACTOR = Actor(id="retention-policy", role=Role.SYSTEM)
"""Who records the erasures of a retention run: the system, applying the policy."""

CHECKPOINT_ATTEMPTS = 20
CHECKPOINT_PAUSE = 0.25
"""Seconds between attempts to empty a write-ahead log that a reader still holds."""


class CompactionError(OperationalError):
    """A write-ahead log could not be emptied (readers kept it busy); retry the erasure.

    An ``OperationalError``: like a database that is away, it answers 503 over HTTP.
    """


def erase_person(
    services: Services,
    young_person_id: UUID,
    requested_by: ErasureRequester,
    legal_basis: str,
    ctx: CommandContext,
) -> CommandResult:
    """Erase the personal data of ``young_person_id``; see the module docstring.

    Raises ``YoungPersonNotFoundError`` for an unknown id (nothing is shredded then) and
    ``PersonalDataErasedError`` when the person was already erased, after finishing any
    step an interrupted earlier erasure left undone.
    """
    result = _erase(services, young_person_id, requested_by, legal_basis, ctx)
    settle(services)
    if result is None:
        raise PersonalDataErasedError(
            f"the personal data of young person {young_person_id} is already erased"
        )
    return result


def _erase(
    services: Services,
    young_person_id: UUID,
    requested_by: ErasureRequester,
    legal_basis: str,
    ctx: CommandContext,
) -> CommandResult | None:
    """Every step but the read models' compaction; None when already erased."""
    app = services.app
    # Loading first: an unknown id is refused before anything is shredded.
    already_erased = app.young_person(young_person_id).status is CaseStatus.ERASED
    if not services.keys.is_shredded(young_person_id):
        services.keys.shred(young_person_id)
    result = None
    if not already_erased:
        result = app.erase_personal_data(young_person_id, requested_by, legal_basis, ctx)
    delete_snapshots(app, young_person_id)
    evict_cached(app, young_person_id)
    return result


@dataclass(frozen=True)
class RetentionRun:
    erased: int
    failed: int


def erase_after_retention(services: Services, years: int) -> RetentionRun:
    """Erase everyone whose case closed more than ``years`` years ago (by the clock).

    One compaction at the end, however many people are erased. A person who cannot be
    erased now (someone else wrote to the stream) is counted as failed and left for the
    next run.
    """
    if years < 1:
        raise ValueError("the retention period is at least one year")
    services.projections.catch_up()
    cutoff = years_before(services.clock(), years)
    with services.views.transaction(readonly=True) as cur:
        due = RetentionView.closed_before(cur, cutoff)
    legal_basis = f"retention policy: case closed more than {years} years ago"
    ctx = CommandContext(actor=RETENTION_ACTOR)
    erased = failed = 0
    for young_person_id in due:
        try:
            # The view can be a moment behind: a case reopened since is not erased.
            if services.app.young_person(UUID(young_person_id)).status is not CaseStatus.CLOSED:
                continue
            result = _erase(
                services, UUID(young_person_id), ErasureRequester.RETENTION_POLICY, legal_basis, ctx
            )
        except DomainError as error:
            failed += 1
            log.warning("retention: young person %s not erased (%s)", young_person_id, error.code)
            continue
        if result is not None:
            erased += 1
    settle(services)
    return RetentionRun(erased=erased, failed=failed)


# --- the steps -----------------------------------------------------------------------------


def delete_snapshots(app: Overgang, young_person_id: UUID) -> None:
    """Delete every snapshot of the aggregate ``young_person_id``.

    eventsourcing 9.5 has no way to delete stored events, so this speaks to each of its
    recorders' tables directly.
    """
    if app.snapshots is None:
        return
    recorder: AggregateRecorder = app.snapshots.recorder
    if isinstance(recorder, SQLiteAggregateRecorder):
        with recorder.datastore.transaction(commit=True) as c:
            c.execute("PRAGMA secure_delete=ON")  # zero the freed pages
            c.execute(
                f"DELETE FROM {recorder.events_table_name} WHERE originator_id = ?",
                (young_person_id.hex,),
            )
    elif isinstance(recorder, PostgresAggregateRecorder):
        with recorder.datastore.transaction(commit=True) as curs:
            curs.execute(
                SQL("DELETE FROM {schema}.{table} WHERE originator_id = %s").format(
                    schema=Identifier(recorder.datastore.schema),
                    table=Identifier(recorder.events_table_name),
                ),
                (young_person_id,),
            )
    elif isinstance(recorder, POPOAggregateRecorder):
        _forget_in_memory(recorder, young_person_id)
    else:
        raise TypeError(f"cannot delete snapshots from a {type(recorder).__name__}")


def _forget_in_memory(recorder: POPOAggregateRecorder, young_person_id: UUID) -> None:
    # The in-memory recorder indexes positions in one list: blank the entries in place.
    with recorder._database_lock:
        versions = recorder._stored_events_index.pop(str(young_person_id), {})
        for index in versions.values():
            old = recorder._stored_events[index]
            recorder._stored_events[index] = StoredEvent(
                originator_id=old.originator_id,
                originator_version=old.originator_version,
                topic=old.topic,
                state=b"",
            )


def evict_cached(app: Overgang, young_person_id: UUID) -> None:
    """Drop the aggregate from this process's aggregate cache."""
    cache = app.repository.cache
    if cache is None:
        return
    with suppress(KeyError):  # not cached
        cache.get(young_person_id, evict=True)


def settle(services: Services) -> None:
    """Embedded default: apply the erasure to the read models now, then empty both
    write-ahead logs so no earlier version of a purged page survives in them."""
    settings = services.settings
    if not settings.is_embedded:
        return
    services.projections.catch_up()
    checkpoint([settings.sqlite_path("views"), settings.sqlite_path("overgang")])


def checkpoint(paths: Sequence[Path]) -> None:
    """Copy each SQLite file's write-ahead log into it and truncate the log to nothing.

    A reader in the middle of a transaction keeps the log busy: retried for a few seconds,
    then ``CompactionError``.
    """
    for path in paths:
        conn = sqlite3.connect(path, timeout=CHECKPOINT_PAUSE * CHECKPOINT_ATTEMPTS)
        try:
            for _ in range(CHECKPOINT_ATTEMPTS):
                busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
                if not busy:
                    break
                time.sleep(CHECKPOINT_PAUSE)
            else:
                raise CompactionError(f"the write-ahead log of {path.name} stayed busy")
        finally:
            conn.close()
