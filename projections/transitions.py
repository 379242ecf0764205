"""The transitions read model: per young person every transition and the steps along it.

``transitions`` holds one row per transition: its kind and phase (preparing, in education,
completed, abandoned), where it comes from and leads to, the expected start, when work on it
started, when the education it led to started (and at which institution) and when it ended,
and the reason it was abandoned. ``transition_steps`` holds one row per step recorded
(applied, admitted, first day, ...) with its note.

``from_situation``, ``programme``, the abandon reason and step notes are personal: NULL when
the event carried none (a shredded key) and purged when the young person's personal data is
erased. Kinds, phases, institutions and times stay for statistics.

Times that depend on today ("days since the education started") are not stored: a reader
computes them with :func:`days_since_start` from the stored times and its own ``today``.

A batch is folded in memory: the transitions its events change are read in one statement,
changed in Python and written back with one upsert, and its steps are inserted together.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, tzinfo
from functools import singledispatchmethod
from typing import Any, cast
from uuid import UUID

from domain.vocabulary import TransitionPhase
from domain.young_person_events import (
    EducationStarted,
    PersonalDataErased,
    TransitionAbandoned,
    TransitionCompleted,
    TransitionStarted,
    TransitionStepRecorded,
    YoungPersonEvent,
)
from projections.base import PositionedEvent, Projection
from projections.columns import iso_date, iso_utc, parse_utc
from projections.dispatch import Handlers
from projections.store import Row, ViewCursor, rows_by

TRANSITIONS = "transitions"
STEPS = "transition_steps"

TRANSITION_COLUMNS = (
    "transition_id",
    "young_person_id",
    "position",
    "kind",
    "phase",
    "from_situation",
    "programme",
    "to_institution_id",
    "expected_start",
    "started_at",
    "education_started_at",
    "education_institution_id",
    "ended_at",
    "abandon_reason",
)
STEP_COLUMNS = ("transition_id", "position", "young_person_id", "step", "occurred_at", "note")

_EVENTS = (
    TransitionStarted,
    TransitionStepRecorded,
    EducationStarted,
    TransitionCompleted,
    TransitionAbandoned,
    PersonalDataErased,
)
_TRANSITION_CHANGES = (EducationStarted, TransitionCompleted, TransitionAbandoned)


def days_since_start(started_at_text: str, today: date, tz: tzinfo = UTC) -> int:
    """Whole calendar days from a stored start time (UTC ISO text) to ``today``.

    0 on the day itself. ``tz`` is the time zone whose calendar ``today`` belongs to, so a
    start just after local midnight counts from the local date. Negative when the start
    lies after ``today``.
    """
    return (today - parse_utc(started_at_text).astimezone(tz).date()).days


@dataclass
class _Batch:
    """The transitions one batch changes (by id hex), the steps it adds, whom it erased."""

    transitions: dict[str, Row] = field(default_factory=dict)
    steps: list[tuple[Any, ...]] = field(default_factory=list)
    erased: list[str] = field(default_factory=list)


class TransitionsProjection(Projection):
    """Keeps ``transitions`` and ``transition_steps`` up to date."""

    name = "transitions"
    base_tables = (TRANSITIONS, STEPS)

    def __init__(self) -> None:
        super().__init__()
        self._rules = Handlers(type(self), "apply", _EVENTS)

    def create_tables(self, cur: ViewCursor) -> None:
        transitions, steps = self.table(TRANSITIONS), self.table(STEPS)
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {transitions} ("
            "transition_id TEXT PRIMARY KEY, young_person_id TEXT NOT NULL, "
            "position BIGINT NOT NULL, kind TEXT NOT NULL, phase TEXT NOT NULL, "
            "from_situation TEXT, programme TEXT, to_institution_id TEXT, "
            "expected_start TEXT, started_at TEXT NOT NULL, education_started_at TEXT, "
            "education_institution_id TEXT, ended_at TEXT, abandon_reason TEXT)"
        )
        cur.execute(
            f"CREATE INDEX IF NOT EXISTS {transitions}_by_person "
            f"ON {transitions} (young_person_id, started_at, position)"
        )
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {steps} ("
            "transition_id TEXT NOT NULL, position BIGINT NOT NULL, "
            "young_person_id TEXT NOT NULL, step TEXT NOT NULL, occurred_at TEXT NOT NULL, "
            "note TEXT, PRIMARY KEY (transition_id, position))"
        )
        # Erasure purges by young person.
        cur.execute(f"CREATE INDEX IF NOT EXISTS {steps}_by_person ON {steps} (young_person_id)")

    def process(self, cur: ViewCursor, events: Sequence[PositionedEvent]) -> None:
        rules = self._rules
        relevant = [(p, event, rule) for p, event in events if (rule := rules(type(event)))]
        if not relevant:
            return
        # Rules are found only for the young person's events of _EVENTS.
        batch = self._load(cur, [cast(YoungPersonEvent, event) for _, event, _ in relevant])
        for position, event, rule in relevant:
            rule(self, event, position, batch)
        self._save(cur, batch)

    def _load(self, cur: ViewCursor, events: Sequence[YoungPersonEvent]) -> _Batch:
        batch = _Batch()
        changed = list(
            dict.fromkeys(e.transition_id.hex for e in events if isinstance(e, _TRANSITION_CHANGES))
        )
        if changed:
            rows = cur.execute(
                f"SELECT {', '.join(TRANSITION_COLUMNS)} FROM {self.table(TRANSITIONS)} "
                "WHERE transition_id = ANY(%s)",
                [changed],
            ).fetchall()
            batch.transitions = {row["transition_id"]: row for row in rows}
        return batch

    def _save(self, cur: ViewCursor, batch: _Batch) -> None:
        transitions, steps = self.table(TRANSITIONS), self.table(STEPS)
        # Every transition read is changed by the event that made it read.
        cur.upsert_rows(
            transitions,
            TRANSITION_COLUMNS,
            _values(batch.transitions.values(), TRANSITION_COLUMNS),
            key=("transition_id",),
        )
        # A step is identified by its log position, so applying it again changes nothing.
        cur.upsert_rows(
            steps, STEP_COLUMNS, batch.steps, key=("transition_id", "position"), replace=False
        )
        if batch.erased:
            # After the writes, so what this batch wrote before the erasure is purged too;
            # nothing of that person follows an erasure in the log.
            cur.execute(
                f"UPDATE {transitions} SET from_situation = NULL, programme = NULL, "
                "abandon_reason = NULL WHERE young_person_id = ANY(%s)",
                [batch.erased],
            )
            cur.execute(
                f"UPDATE {steps} SET note = NULL WHERE young_person_id = ANY(%s)",
                [batch.erased],
            )

    # --- applying one event to the batch's rows ------------------------------------------

    @singledispatchmethod
    def apply(self, event: YoungPersonEvent, position: int, batch: _Batch) -> None:
        raise TypeError(f"no transitions rule for {type(event).__name__}")

    @apply.register
    def _(self, event: TransitionStarted, position: int, batch: _Batch) -> None:
        transition_id = event.transition_id.hex
        batch.transitions[transition_id] = {
            "transition_id": transition_id,
            "young_person_id": event.originator_id.hex,
            "position": position,
            "kind": event.kind.value,
            "phase": TransitionPhase.PREPARING.value,
            "from_situation": event.from_situation,
            "programme": event.programme,
            "to_institution_id": _hex(event.to_institution_id),
            "expected_start": iso_date(event.expected_start),
            "started_at": iso_utc(event.occurred_at),
            "education_started_at": None,
            "education_institution_id": None,
            "ended_at": None,
            "abandon_reason": None,
        }

    @apply.register
    def _(self, event: TransitionStepRecorded, position: int, batch: _Batch) -> None:
        batch.steps.append(
            (
                event.transition_id.hex,
                position,
                event.originator_id.hex,
                event.step.value,
                iso_utc(event.occurred_at),
                event.note,
            )
        )

    @apply.register
    def _(self, event: EducationStarted, position: int, batch: _Batch) -> None:
        transition = batch.transitions.get(event.transition_id.hex)
        if transition is None:
            return  # the domain changes only transitions it started
        transition["phase"] = TransitionPhase.IN_EDUCATION.value
        transition["education_started_at"] = iso_utc(event.occurred_at)
        transition["education_institution_id"] = _hex(event.institution_id)

    @apply.register
    def _(self, event: TransitionCompleted, position: int, batch: _Batch) -> None:
        transition = batch.transitions.get(event.transition_id.hex)
        if transition is None:
            return  # the domain changes only transitions it started
        transition["phase"] = TransitionPhase.COMPLETED.value
        transition["ended_at"] = iso_utc(event.occurred_at)

    @apply.register
    def _(self, event: TransitionAbandoned, position: int, batch: _Batch) -> None:
        transition = batch.transitions.get(event.transition_id.hex)
        if transition is None:
            return  # the domain changes only transitions it started
        transition["phase"] = TransitionPhase.ABANDONED.value
        transition["ended_at"] = iso_utc(event.occurred_at)
        transition["abandon_reason"] = event.reason

    @apply.register
    def _(self, event: PersonalDataErased, position: int, batch: _Batch) -> None:
        batch.erased.append(event.originator_id.hex)


def _hex(value: UUID | None) -> str | None:
    return None if value is None else value.hex


def _values(rows: Iterable[Row], columns: Sequence[str]) -> list[tuple[Any, ...]]:
    return [tuple(row[column] for column in columns) for row in rows]


# --- the view: reads for the API ------------------------------------------------------------


class TransitionsView:
    """Queries of the transition tables, each one statement however many ids."""

    @staticmethod
    def transitions(cur: ViewCursor, young_person_ids: Sequence[str]) -> dict[str, list[Row]]:
        """Each requested young person's transitions, newest first (by ``started_at``, then
        log position); ids without transitions map to ``[]``.

        Row keys: ``transition_id``, ``young_person_id``, ``position`` (of the start in the
        event log), ``kind`` (:class:`~domain.vocabulary.TransitionKind` value), ``phase``
        (:class:`~domain.vocabulary.TransitionPhase` value), ``from_situation`` and
        ``programme`` (None once erased), ``to_institution_id`` (hex or None),
        ``expected_start`` (``YYYY-MM-DD`` or None), ``started_at`` (UTC ISO text),
        ``education_started_at`` (UTC ISO text or None), ``education_institution_id`` (hex
        or None), ``ended_at`` (UTC ISO text once completed or abandoned, else None),
        ``abandon_reason`` (None unless abandoned, and once erased).
        """
        return rows_by(
            young_person_ids,
            "young_person_id",
            lambda ids: cur.execute(
                f"SELECT {', '.join(TRANSITION_COLUMNS)} FROM {TRANSITIONS} "
                "WHERE young_person_id = ANY(%s) "
                "ORDER BY young_person_id, started_at DESC, position DESC",
                [ids],
            ).fetchall(),
        )

    @staticmethod
    def steps(cur: ViewCursor, transition_ids: Sequence[str]) -> dict[str, list[Row]]:
        """Each requested transition's steps in the order they happened (``occurred_at``,
        then log position); ids without steps map to ``[]``.

        Row keys: ``transition_id``, ``position``, ``young_person_id``, ``step``
        (:class:`~domain.vocabulary.TransitionStep` value), ``occurred_at`` (UTC ISO text),
        ``note`` (None once erased).
        """
        return rows_by(
            transition_ids,
            "transition_id",
            lambda ids: cur.execute(
                f"SELECT {', '.join(STEP_COLUMNS)} FROM {STEPS} WHERE transition_id = ANY(%s) "
                "ORDER BY transition_id, occurred_at, position",
                [ids],
            ).fetchall(),
        )
