"""Feeds the event log to the read models: in batches, exactly once, resumable.

For each batch, one view-store transaction applies the events to every projection that
stands at the batch's start and moves their tracking rows to the batch's last position.
The view and its position commit together, so a runner killed mid-batch resumes exactly
where its last commit ended. On PostgreSQL these commits do not wait for the disk (see
``projections.store.commit_asynchronously``): a crash can only take the last few batches
back, view and position alike, and they are applied again.

A batch is read and decoded once for all its projections, with the data keys of its young
people fetched in one query; catching up, the next batch starts from the positions this
runner wrote rather than reading them again.

Live updates: on PostgreSQL the runner LISTENs on the channel that eventsourcing NOTIFYs
on every write, with ``poll_interval`` as a periodic wake-up (eventsourcing's own
subscription has none, and would miss an event committed between catch-up and LISTEN).
On SQLite, and with the in-memory store, it polls.

Logs carry counts and positions only, never event content.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

import psycopg
from eventsourcing.application import Application
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg import sql

from infra.locks import ProjectionLocks
from projections.base import BUILDING_SUFFIX, PositionedEvent, Projection
from projections.store import (
    TRACKING_TABLE,
    TrackingConflictError,
    ViewCursor,
    ViewStore,
    ViewStoreUnavailableError,
    commit_asynchronously,
    create_tracking_table,
    delete_position,
    quote_identifier,
    read_position,
    read_positions,
    serialize_ddl,
    set_position,
    swap_in,
    write_position,
    write_positions,
)

log = logging.getLogger(__name__)

RETRY_BASE = 0.25
"""Seconds before the first retry after a failure; doubles with each further failure."""

MAX_BACKOFF = 5.0
"""Seconds: the longest wait between retries while a database is away (one connection
attempt every few seconds costs the server nothing, and the read models catch up within
seconds of its return rather than half a minute)."""

STOP_CHECK_INTERVAL = 0.5
"""Seconds: how long a LISTEN wait may keep ``stop()`` waiting."""


def notify_channel(app: Application[Any]) -> str | None:
    """The PostgreSQL channel the app NOTIFYs on each write; None when not on PostgreSQL.

    eventsourcing names it after the events table (``overgang_events`` for the
    application named "Overgang").
    """
    recorder = app.recorder
    if isinstance(recorder, PostgresApplicationRecorder):
        return recorder.channel_name
    return None


def _listen_conninfo(app: Application[Any]) -> dict[str, Any]:
    """Connection parameters of the app's own event store, for a LISTEN connection."""
    recorder = app.recorder
    assert isinstance(recorder, PostgresApplicationRecorder)
    pool = recorder.datastore.pool
    raw = pool.kwargs() if callable(pool.kwargs) else pool.kwargs
    kwargs = {
        key: value
        for key, value in dict(raw or {}).items()
        if key != "row_factory" and value is not None
    }
    if pool.get_password_func is not None:
        kwargs["password"] = pool.get_password_func()
    return kwargs


class _Listener:
    """One dedicated autocommit connection that LISTENs on the events channel."""

    def __init__(self, channel: str, connect_kwargs: dict[str, Any], timeout: float) -> None:
        self._channel = channel
        self._connect_kwargs = connect_kwargs
        self._timeout = timeout
        self._conn: psycopg.Connection[Any] | None = None

    def ensure(self) -> None:
        if self._conn is not None and not self._conn.closed:
            return
        conn = psycopg.connect(
            autocommit=True, connect_timeout=max(1, int(self._timeout)), **self._connect_kwargs
        )
        try:
            conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        log.info("projection runner listening for new events")

    def wait(self, timeout: float) -> bool:
        """True when a notification arrived within ``timeout`` seconds."""
        self.ensure()
        assert self._conn is not None
        try:
            # Everything already queued comes in this one call, so a burst of writes
            # costs one wake-up.
            return any(True for _ in self._conn.notifies(timeout=timeout, stop_after=1))
        except psycopg.Error:
            self.close()
            raise

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


class ProjectionRunner:
    """Keeps ``projections`` (in ``store``) up to date with ``source``'s event log."""

    def __init__(
        self,
        source: Application[Any],
        store: ViewStore,
        projections: Sequence[Projection],
        batch_size: int = 1000,
        poll_interval: float = 0.25,
        locks: ProjectionLocks | None = None,
    ) -> None:
        names = [projection.name for projection in projections]
        if not names:
            raise ValueError("a projection runner needs at least one projection")
        if len(set(names)) != len(names):
            raise ValueError(f"projection names must be unique: {names}")
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.source = source
        self.store = store
        self.projections: tuple[Projection, ...] = tuple(projections)
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.locks = locks
        """When given, ``run`` applies events only to the projections whose lock it holds."""
        self._by_name = {projection.name: projection for projection in self.projections}
        self._is_set_up = False
        # One batch at a time per runner: run() in a thread, catch_up() and rebuild()
        # from others.
        self._work_lock = threading.RLock()
        # Positions this runner last committed or saw; notified after each commit.
        self._known: dict[str, int] = {}
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stop_event: threading.Event | None = None
        # Set by wake(): a write in this process need not wait for the next poll.
        self._woken = threading.Event()

    # --- Catching up ---------------------------------------------------------------------

    def setup(self) -> None:
        """Create the tracking table and every projection's tables (idempotent)."""
        if self._is_set_up:
            return
        with self.store.transaction() as cur:
            serialize_ddl(cur)
            create_tracking_table(cur)
            for projection in self.projections:
                projection.create_tables(cur)
        self._is_set_up = True

    def catch_up(
        self, stop: threading.Event | None = None, only: frozenset[str] | None = None
    ) -> int:
        """Apply every event not yet applied; returns how many events were read and applied.

        A batch shared by several projections counts once. ``only`` limits the work to the
        projections of those names.
        """
        self.setup()
        total = 0
        # The positions after this runner's last batch: the next batch starts from them
        # without reading them again. A rival runner (or a rebuild) that moved a
        # projection meanwhile makes that batch's tracking update fail, and then they are
        # read afresh.
        positions: dict[str, int] | None = None
        batches = 0
        while stop is None or not stop.is_set():
            try:
                with self._work_lock:
                    applied, positions = self._step(only, positions)
            except TrackingConflictError:
                # Another runner committed this batch first; its work stands.
                log.info("projection batch already applied by another runner; re-reading")
                positions = None
                continue
            if applied == 0:
                break
            total += applied
            batches += 1
            if _statistics_due(batches):
                self._refresh_statistics(
                    [p for p in self.projections if only is None or p.name in only]
                )
        # A catch-up worth noting at INFO; following the log event by event (a batch of a
        # command's one or two events) would be a line per command.
        if total >= self.batch_size:
            log.info("projections caught up: %d events, positions %s", total, self._known)
        elif total:
            log.debug("projections caught up: %d events", total)
        return total

    def _step(
        self, only: frozenset[str] | None = None, positions: dict[str, int] | None = None
    ) -> tuple[int, dict[str, int]]:
        """Apply the next batch to the projections furthest behind; returns how many
        events it held (0: all caught up) and every projection's position after it.

        ``positions`` are those known after the previous batch; None reads them."""
        if positions is None:
            positions = self._read_positions()
        active = {name: at for name, at in positions.items() if only is None or name in only}
        if not active:
            self._publish(positions)
            return 0, positions
        start = min(active.values())
        group = [p for p in self.projections if active.get(p.name) == start]
        events = self._read(start)
        if not events:
            self._publish(positions)
            return 0, positions
        last = events[-1][0]
        with self.store.transaction() as cur:
            commit_asynchronously(cur)
            # Tracking first: a rival runner then blocks here, before doing any work.
            write_positions(cur, [projection.name for projection in group], last, previous=start)
            for projection in group:
                projection.process(cur, events)
        positions = {**positions, **{projection.name: last for projection in group}}
        self._publish(positions)
        log.debug(
            "projected %d events (positions %d-%d) into %d projections",
            len(events),
            start + 1,
            last,
            len(group),
        )
        return len(events), positions

    def _read(self, start: int) -> list[PositionedEvent]:
        """The next batch of the event log after position ``start``, decoded."""
        notifications = self.source.recorder.select_notifications(
            start=start + 1, limit=self.batch_size
        )
        mapper = self.source.mapper
        prefetch_keys = getattr(mapper, "prefetch_keys", None)
        if prefetch_keys is not None and notifications:
            # The data keys of the batch's young people in one query, rather than one
            # query per person as each is first met (a cold catch-up meets thousands).
            prefetch_keys(notifications)
        decode = mapper.to_domain_event
        return [(notification.id, decode(notification)) for notification in notifications]

    def _refresh_statistics(self, projections: Sequence[Projection]) -> None:
        """Have PostgreSQL sample the projections' tables again (``ANALYZE``).

        A long catch-up fills tables from a few rows to many faster than autovacuum (when
        it runs at all) re-reads them, and a planner that still believes a table empty
        scans all of it for each batch's handful of rows.
        """
        if self.store.dialect != "postgres":
            return  # SQLite plans by its indexes without statistics
        with self.store.transaction() as cur:
            for projection in projections:
                for table in projection.tables:
                    cur.execute(f"ANALYZE {quote_identifier(table)}")

    def _read_positions(self) -> dict[str, int]:
        with self.store.transaction(readonly=True) as cur:
            stored = read_positions(cur)
        return {p.name: stored.get(p.name, 0) for p in self.projections}

    def _publish(self, positions: dict[str, int]) -> None:
        with self._changed:
            self._remember(positions)
            self._changed.notify_all()

    # --- Running -------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Catch up, then follow new events until ``stop`` is set.

        Errors (a database away, a failing projection) are logged and retried with
        backoff; the loop ends only when asked to.
        """
        channel = notify_channel(self.source)
        listener = (
            _Listener(channel, _listen_conninfo(self.source), timeout=max(self.poll_interval, 5))
            if channel is not None
            else None
        )
        failures = 0
        try:
            while not stop.is_set():
                try:
                    if listener is not None:
                        # LISTEN before catching up, so nothing committed after the
                        # catch-up's last read goes unnoticed.
                        listener.ensure()
                    only = None
                    if self.locks is not None:
                        # Checked every round: a process that stood by takes over the
                        # projections of one that went away.
                        only = self.locks.try_acquire(self._by_name)
                    self.catch_up(stop, only)
                    if failures:
                        log.info("projection runner recovered after %d failures", failures)
                    failures = 0
                    self._idle(stop, listener)
                except Exception as error:
                    failures += 1
                    delay = min(RETRY_BASE * 2 ** (failures - 1), MAX_BACKOFF)
                    log.warning(
                        "projection runner: %s (failure %d), retrying in %.2fs",
                        _describe(error),
                        failures,
                        delay,
                    )
                    log.debug("projection runner failure", exc_info=True)
                    if listener is not None:
                        listener.close()
                    stop.wait(delay)
        finally:
            if listener is not None:
                listener.close()
            if self.locks is not None:
                self.locks.release()

    def _idle(self, stop: threading.Event, listener: _Listener | None) -> None:
        """Wait for a notification, ``poll_interval`` or ``stop``, whichever comes first."""
        if listener is None:
            # Woken early by a write in this process; otherwise polls, so writes by other
            # processes are seen within poll_interval. stop() wakes it too.
            self._woken.wait(self.poll_interval)
            self._woken.clear()
            return
        # In slices, so stop() is honoured soon even with a long poll_interval.
        deadline = time.monotonic() + self.poll_interval
        while not stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0 or listener.wait(min(remaining, STOP_CHECK_INTERVAL)):
                return

    def start_in_thread(self) -> threading.Thread:
        """Run in a daemon thread until ``stop()``."""
        if self._thread is not None and self._thread.is_alive():
            raise RuntimeError("the projection runner is already running")
        self._stop_event = threading.Event()
        self._thread = threading.Thread(
            target=self.run, args=(self._stop_event,), name="overgang-projections", daemon=True
        )
        self._thread.start()
        return self._thread

    def wake(self, position: int | None = None) -> None:
        """New events were written by this process: catch up now rather than at the next poll.

        Takes the position written so it can be an ``Overgang`` recording listener.
        """
        self._woken.set()

    def stop(self, timeout: float | None = 10.0) -> None:
        """Stop the thread started by ``start_in_thread`` and wait for it."""
        if self._stop_event is not None:
            self._stop_event.set()
            self._woken.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    # --- Reading positions -----------------------------------------------------------------

    def position(self, name: str) -> int:
        """The last event log position applied to projection ``name`` (0 before any)."""
        self._projection(name)
        self.setup()
        with self.store.transaction(readonly=True) as cur:
            return read_position(cur, name)

    def wait_for(self, position: int, timeout: float) -> bool:
        """Wait until every projection has applied ``position``; False on timeout.

        Read-your-writes: a command returns the position it wrote, a query waits for it.
        Wakes on this runner's commits at once, and polls the tracking table every
        ``poll_interval`` so a runner in another process counts too.
        """
        deadline = time.monotonic() + timeout
        while True:
            with self._changed:
                if self._has_reached(position):
                    return True
            try:
                self.setup()
                stored = self._read_positions()
            except ViewStoreUnavailableError:
                stored = None
            with self._changed:
                if stored is not None:
                    self._remember(stored)
                if self._has_reached(position):
                    return True
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(min(remaining, self.poll_interval))

    def _remember(self, positions: dict[str, int]) -> None:
        # Positions only move forward; a reading taken before a newer commit (by this
        # runner or another process) must not hide that commit from waiters. Call with
        # ``_changed`` held.
        for name, position in positions.items():
            self._known[name] = max(position, self._known.get(name, 0))

    def _has_reached(self, position: int) -> bool:
        return all(self._known.get(p.name, 0) >= position for p in self.projections)

    # --- Rebuilding --------------------------------------------------------------------------

    def rebuild(self, name: str) -> int:
        """Project ``name`` again from the first event, into fresh tables swapped in at the end.

        Readers keep the old view until the new one is complete; the swap, with the
        events that arrived during the rebuild, is one transaction. Returns the number of
        events read into the new tables.
        """
        projection = self._projection(name)
        self.setup()
        building = projection.building()
        track = building.name + BUILDING_SUFFIX
        with self.store.transaction() as cur:
            serialize_ddl(cur)
            # Leftovers of an interrupted rebuild are discarded: it starts from zero.
            building.drop_tables(cur)
            delete_position(cur, track)
            building.create_tables(cur)
        log.info("projection %s: rebuilding into fresh tables", name)
        total = batches = 0
        while batch := self._fill(building, track):
            total += batch
            batches += 1
            if _statistics_due(batches):
                self._refresh_statistics([building])
        with self._work_lock, self.store.transaction() as cur:
            # Holding the live tracking row keeps another runner of the live view waiting
            # until the swap is done; it then continues from the new position.
            cur.execute(
                f"SELECT position FROM {TRACKING_TABLE} WHERE projection = %s"
                + (" FOR UPDATE" if cur.dialect == "postgres" else ""),
                (name,),
            )
            while batch := self._fill(building, track, cur):
                total += batch
            position = read_position(cur, track)
            for built, live in zip(building.tables, projection.tables, strict=True):
                swap_in(cur, built, live)
            set_position(cur, name, position)
            delete_position(cur, track)
        with self._changed:
            self._known[name] = position
            self._changed.notify_all()
        log.info("projection %s rebuilt from %d events and swapped in", name, total)
        return total

    def _fill(self, building: Projection, track: str, cur: ViewCursor | None = None) -> int:
        """Apply the next batch to a projection being rebuilt; 0 when it is up to date."""
        if cur is None:
            with self.store.transaction() as own:
                return self._fill(building, track, own)
        start = read_position(cur, track)
        events = self._read(start)
        if not events:
            return 0
        commit_asynchronously(cur)
        write_position(cur, track, events[-1][0], previous=start)
        building.process(cur, events)
        return len(events)

    def _projection(self, name: str) -> Projection:
        try:
            return self._by_name[name]
        except KeyError:
            known = ", ".join(sorted(self._by_name))
            raise ValueError(f"no projection named {name!r} (known: {known})") from None


def _statistics_due(batches: int) -> bool:
    """Whether the tables' statistics are refreshed after this many batches of one
    catch-up: after the 4th, 16th, 64th, ... so about each time the tables have grown
    fourfold when they started empty, and not at all in the few batches of live work."""
    return batches >= 4 and batches.bit_count() == 1 and batches.bit_length() % 2 == 1


def _describe(error: BaseException) -> str:
    # The class name only: messages from a failing projection may quote event content.
    return type(error).__name__
