"""The evaluators' replay: every read model as the project stood on a date, in a store of
its own.

``replay_into`` reads the whole event log in log order, keeps the events that had happened
(``occurred``) or had been recorded (``recorded``) by the as-of moment, and feeds them to a
fresh set of projections writing into a separate view store; the live read models are
never touched. The events are decoded with :class:`SealedPersonalDataMapper`, which never
opens a personal field: a replay cannot see names, notes or any free text, whoever runs it
and whatever the read models would render.

Which facts count is decided per event, by its own dates, so a fact recorded late (a
contact entered a week after it happened) counts by ``occurred`` from the day it happened,
and by ``recorded`` from the day it was entered; either way the projections see the kept
events in log order, exactly as the live ones did.

The young people erased at any time, before or after the as-of date, are noted on the way
(by the erasure event's topic, without decoding it), so what the evaluators get can leave
them out even when the replay ends before their erasure.
"""

from __future__ import annotations

import logging
import multiprocessing
import queue
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import Enum
from pathlib import Path
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from eventsourcing.persistence import ApplicationRecorder, Mapper
from eventsourcing.utils import get_topic

from domain.young_person_events import PersonalDataErased
from infra.personal_mapper import SealedPersonalDataMapper
from projections.base import PositionedEvent, Projection
from projections.store import ScratchSQLiteViewStore, ViewCursor, ViewStore

log = logging.getLogger(__name__)

LOCAL_TIME = ZoneInfo("Europe/Copenhagen")
"""An as-of date is a Danish calendar day: it ends at midnight in Copenhagen."""

READ_BATCH = 20_000
"""Events read, decoded and applied at a time. Large: the read models load and save each
young person's state once per batch, and a long history has thousands of people active
at once (20,000 events against 5,000: a fifth less time per event on 1.2 million; about
40 MiB of decoded events)."""

_ERASED_TOPIC = get_topic(PersonalDataErased)


class ReplayBy(Enum):
    """Which of an event's dates decides whether it belongs to the past being replayed."""

    OCCURRED = "occurred"
    """When it happened in the world (``occurred_at``), as the caller stated it."""
    RECORDED = "recorded"
    """When it was recorded in the event store (the event's ``timestamp``)."""


@dataclass(frozen=True)
class ReplayWindow:
    """The past to replay: every event that had happened, or had been recorded, by
    ``as_of`` (inclusive)."""

    as_of: datetime
    by: ReplayBy = ReplayBy.OCCURRED

    def __post_init__(self) -> None:
        if self.as_of.tzinfo is None or self.as_of.utcoffset() is None:
            raise ValueError("as_of must carry a time zone")

    def admits(self, event: Any) -> bool:
        moment = event.occurred_at if self.by is ReplayBy.OCCURRED else event.timestamp
        admitted: bool = moment <= self.as_of
        return admitted


def end_of_day(day: date) -> datetime:
    """The last moment of ``day`` in Copenhagen, in UTC (a microsecond before midnight)."""
    midnight = datetime.combine(day + timedelta(days=1), time(0), tzinfo=LOCAL_TIME)
    return (midnight - timedelta(microseconds=1)).astimezone(UTC)


def parse_as_of(text: str) -> datetime:
    """``2025-06-01`` (the end of that day in Copenhagen) or an ISO 8601 moment with a zone.

    Raises ``ValueError`` with a message fit for the command line.
    """
    try:
        return end_of_day(date.fromisoformat(text))
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"--as-of must be a date (2025-06-01) or a moment with a zone "
            f"(2025-06-01T12:00:00+02:00), not {text!r}"
        ) from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("--as-of as a moment must carry a time zone (+02:00 or Z)")
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class ReplayCounts:
    """What a replay went through."""

    events_read: int
    """Every event of the log, in the window or not."""
    events_replayed: int
    """The events in the window, fed to the projections."""
    last_position: int
    """The log position the replay read up to (0: an empty log)."""
    erased: frozenset[str]
    """The young people (ids in hex) erased anywhere in the log, before or after as-of."""


Progress = Callable[[int, int], None]
"""Called after each batch with the log position reached and the last position."""


def sealed_mapper(source: Mapper[Any]) -> SealedPersonalDataMapper:
    """A mapper decoding like ``source`` that never opens a personal field."""
    return SealedPersonalDataMapper(
        transcoder=source.transcoder, compressor=source.compressor, cipher=source.cipher
    )


def replay_into(
    recorder: ApplicationRecorder,
    mapper: Mapper[Any],
    store: ViewStore,
    projections: Sequence[Projection],
    window: ReplayWindow,
    *,
    batch_size: int = READ_BATCH,
    progress: Progress | None = None,
) -> ReplayCounts:
    """Replay ``recorder``'s log, as far as ``window`` admits, into ``projections``.

    ``store`` must be a fresh store of the replay's own (the projections' tables are
    created in it). ``mapper`` decodes the events; pass :func:`sealed_mapper` of the
    application's mapper so that nothing personal is ever decoded.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    with store.transaction() as cur:
        for projection in projections:
            projection.create_tables(cur)
    last = recorder.max_notification_id() or 0
    decode = mapper.to_domain_event
    admits = window.admits
    read = replayed = position = 0
    erased: set[str] = set()
    while position < last:
        notifications = recorder.select_notifications(
            start=position + 1, limit=batch_size, stop=last
        )
        if not notifications:
            break
        events: list[PositionedEvent] = []
        for notification in notifications:
            if notification.topic == _ERASED_TOPIC:
                erased.add(UUID(str(notification.originator_id)).hex)
            event = decode(notification)
            if admits(event):
                events.append((notification.id, event))
        position = notifications[-1].id
        read += len(notifications)
        if events:
            # One transaction per batch: the store is the replay's own, so there is
            # nothing to be consistent with but itself.
            with store.transaction() as cur:
                for projection in projections:
                    projection.process(cur, events)
            replayed += len(events)
        if progress is not None:
            progress(position, last)
    log.info("replayed %d of %d events (log positions up to %d)", replayed, read, position)
    return ReplayCounts(
        events_read=read, events_replayed=replayed, last_position=position, erased=frozenset(erased)
    )


# --- in parallel ---------------------------------------------------------------------------

PROJECTION_COST: dict[str, float] = {
    # Seconds per 125,000 simulated events, each read model alone on a scratch store
    # (measured with all of them on one history): what splitting the work balances.
    "timeline": 2.1,
    "risk_flags": 1.9,
    "decision_audit": 1.3,
    "caseload": 0.74,
    "alerts": 0.61,
    "outcomes": 0.52,
    "plan": 0.16,
    "transitions": 0.14,
    "institutions": 0.08,
    "referral_queue": 0.04,
    "retention": 0.03,
}
_UNKNOWN_COST = 0.5


def split_by_cost(projections: Sequence[Projection], parts: int) -> list[list[Projection]]:
    """``projections`` in ``parts`` groups of about equal cost (the costliest first, each
    into the group that costs least so far); no group is empty."""
    parts = max(1, min(parts, len(projections)))
    groups: list[list[Projection]] = [[] for _ in range(parts)]
    costs = [0.0] * parts
    for projection in sorted(
        projections, key=lambda p: -PROJECTION_COST.get(p.name, _UNKNOWN_COST)
    ):
        cheapest = costs.index(min(costs))
        groups[cheapest].append(projection)
        costs[cheapest] += PROJECTION_COST.get(projection.name, _UNKNOWN_COST)
    return groups


@dataclass(frozen=True)
class LogSource:
    """An event log to replay, opened by the process that reads it."""

    recorder: ApplicationRecorder
    mapper: Mapper[Any]
    close: Callable[[], None]


def source_of(app: Any) -> Callable[[], LogSource]:
    """The log of an application already open (left open), decoded sealed: for a replay
    in this process only, since an open connection must not cross a fork."""

    def open_source() -> LogSource:
        return LogSource(app.recorder, sealed_mapper(app.mapper), close=lambda: None)

    return open_source


def replay_in_parallel(
    open_source: Callable[[], LogSource],
    store: ScratchSQLiteViewStore,
    projections: Sequence[Projection],
    window: ReplayWindow,
    *,
    workers: int = 2,
    batch_size: int = READ_BATCH,
    progress: Progress | None = None,
) -> ReplayCounts:
    """:func:`replay_into`, with the read models split over ``workers`` processes.

    Each process reads and decodes the log itself (decoding is a fifth of the work; the
    read models are the rest) and fills its share of the read models in a scratch file
    of its own beside ``store``'s; this process does the first share into ``store`` and
    then copies the others' tables in. Each worker opens the log with ``open_source``
    after it has started, so no database connection crosses a fork.
    """
    groups = split_by_cost(projections, workers)
    if len(groups) == 1:
        return _replay_share(open_source, store, groups[0], window, batch_size, progress)
    context = multiprocessing.get_context("fork")
    parts = [
        store.path.with_name(f"{store.path.stem}.part{index}.sqlite")
        for index in range(1, len(groups))
    ]
    results = context.Queue()
    processes = [
        context.Process(
            target=_replay_part,
            args=(open_source, path, group, window, batch_size, results),
            name=f"replay-part-{index}",
        )
        for index, (path, group) in enumerate(zip(parts, groups[1:], strict=True), start=1)
    ]
    for process in processes:
        process.start()
    try:
        counts = _replay_share(open_source, store, groups[0], window, batch_size, progress)
        _await_workers(results, processes)
        for path, group in zip(parts, groups[1:], strict=True):
            store.absorb(path, [table for p in group for table in p.tables], _creator(group))
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
                process.join()
        for path in parts:
            path.unlink(missing_ok=True)
    return counts


class ReplayError(Exception):
    """A part of a parallel replay failed (its message names the error's type only)."""


def _await_workers(results: Any, processes: Sequence[Any]) -> None:
    """Wait for every worker's report; a worker that fails, or dies without a word
    (killed, out of memory), fails the replay rather than leaving it waiting."""
    reports: list[object] = []
    while len(reports) < len(processes):
        try:
            reports.append(results.get(timeout=1.0))
        except queue.Empty:
            dead = [p for p in processes if p.exitcode not in (None, 0)]
            if dead:
                code = dead[0].exitcode
                raise ReplayError(f"a replay worker ended with exit code {code}") from None
            continue
        if isinstance(reports[-1], str):
            raise ReplayError(f"a replay worker failed: {reports[-1]}")
    for process in processes:
        process.join()


def _creator(group: Sequence[Projection]) -> Callable[[ViewCursor], None]:
    def create(cur: ViewCursor) -> None:
        for projection in group:
            projection.create_tables(cur)

    return create


def _replay_share(
    open_source: Callable[[], LogSource],
    store: ViewStore,
    group: Sequence[Projection],
    window: ReplayWindow,
    batch_size: int,
    progress: Progress | None = None,
) -> ReplayCounts:
    """One process's share of a replay: open the log, replay ``group`` into ``store``."""
    source = open_source()
    try:
        return replay_into(
            source.recorder,
            source.mapper,
            store,
            group,
            window,
            batch_size=batch_size,
            progress=progress,
        )
    finally:
        source.close()


def _replay_part(
    open_source: Callable[[], LogSource],
    path: Path,
    group: Sequence[Projection],
    window: ReplayWindow,
    batch_size: int,
    results: Any,
) -> None:
    """A worker's life: replay its share into its own file, report, end."""
    try:
        store = ScratchSQLiteViewStore(path)
        try:
            results.put(_replay_share(open_source, store, group, window, batch_size))
        finally:
            store.close()
    except BaseException as error:  # reported to the parent, which raises
        # The type only: an error's text may quote a row.
        results.put(type(error).__name__)
