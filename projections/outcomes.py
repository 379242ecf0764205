"""The outcomes read model: the non-identifying facts evaluators count, kept by young person.

It holds what happened when, in the world (``occurred_at``), and nothing that could
identify anyone: ids (random UUIDs, in hex), vocabulary values and times. No names, notes,
reasons or other free text. Erasing a young person's personal data therefore leaves every
row in place (DESIGN.md, "Personal data": the non-identifying facts stay for statistics)
and only marks them ``erased_at``.

- ``outcome_people``: one row per young person: when referred, when enrolled and into
  which team, when (if ever) their personal data was erased.
- ``outcome_case_changes``: every closing (with its outcome) and reopening of a case, by
  log position.
- ``outcome_transitions``: one row per transition: its kind, when work on it started, when
  the education it led to started (and at which institution), when it was completed or
  abandoned.
- ``outcome_dropouts``: every dropout an institution reported, by log position, with the
  reporting institution.
- ``outcome_contacts``: contacts counted per young person, ISO week (its Monday, UTC),
  channel, place (``unspecified`` when none was given) and whether the young person was
  reached.
- ``outcome_decisions``: one row per authority decision: its kind, when it was decided,
  whether fully in the young person's favour, when it was appealed and the appeal decided
  (with its outcome), when it was revoked.

The rows are facts, not conclusions: which education a dropout ended, or whether a case
was open at a date, is worked out when the figures are computed as of a date
(``projections.outcome_figures``). So facts recorded late, or out of order in the world,
need nothing special here: each lands in its row, and the figures order them by when they
happened.

A batch is folded in memory and written with one statement per table (a column group of a
table where events fill different columns of one row), without reading anything first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import singledispatchmethod
from typing import Any

from domain.young_person_events import (
    AppealDecided,
    CaseClosed,
    CaseReopened,
    ContactRecorded,
    DecisionAppealed,
    DecisionRecorded,
    DecisionRevoked,
    DropoutReported,
    EducationStarted,
    Enrolled,
    PersonalDataErased,
    Referred,
    TransitionAbandoned,
    TransitionCompleted,
    TransitionStarted,
    YoungPersonEvent,
)
from projections.base import PositionedEvent, Projection
from projections.columns import iso_utc
from projections.dispatch import Handlers
from projections.store import Row, ViewCursor, quote_identifier

PEOPLE = "outcome_people"
CASE_CHANGES = "outcome_case_changes"
TRANSITIONS = "outcome_transitions"
DROPOUTS = "outcome_dropouts"
CONTACTS = "outcome_contacts"
DECISIONS = "outcome_decisions"

CLOSED = "closed"
REOPENED = "reopened"
NO_PLACE = "unspecified"
"""The place of a contact recorded without one (SMS, phone): part of the key, so not NULL."""

PEOPLE_COLUMNS = ("young_person_id", "referred_at", "enrolled_at", "team_id", "erased_at")
CASE_CHANGE_COLUMNS = ("young_person_id", "position", "change", "occurred_at", "outcome")
TRANSITION_COLUMNS = (
    "transition_id",
    "young_person_id",
    "kind",
    "started_at",
    "education_started_at",
    "education_institution_id",
    "completed_at",
    "abandoned_at",
)
DROPOUT_COLUMNS = ("young_person_id", "position", "occurred_at", "institution_id")
# The week first: histories are written (and replayed) roughly in time order, so a batch's
# rows land at the end of the key's index rather than all over it.
CONTACT_COLUMNS = ("week", "young_person_id", "channel", "place", "reached", "contacts")
CONTACT_KEY = CONTACT_COLUMNS[:-1]
DECISION_COLUMNS = (
    "decision_id",
    "young_person_id",
    "kind",
    "decided_at",
    "fully_in_favour",
    "appealed_at",
    "appeal_decided_at",
    "appeal_outcome",
    "revoked_at",
)

_EVENTS = (
    Referred,
    Enrolled,
    CaseClosed,
    CaseReopened,
    PersonalDataErased,
    TransitionStarted,
    EducationStarted,
    TransitionCompleted,
    TransitionAbandoned,
    DropoutReported,
    ContactRecorded,
    DecisionRecorded,
    DecisionAppealed,
    AppealDecided,
    DecisionRevoked,
)


def week_of(moment: datetime) -> str:
    """The Monday (UTC calendar) of ``moment``'s ISO week, as ``YYYY-MM-DD``."""
    day = moment.astimezone(UTC).date()
    return (day - timedelta(days=day.weekday())).isoformat()


@dataclass
class _Batch:
    """What one batch writes, by table and column group; each dict keyed by its row key,
    so a key is written once per statement (the last fact of the batch decides)."""

    referred: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    enrolled: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    erased: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    case_changes: list[tuple[Any, ...]] = field(default_factory=list)
    started: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    education: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    completed: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    abandoned: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    dropouts: list[tuple[Any, ...]] = field(default_factory=list)
    contacts: dict[tuple[str, str, str, str, int], int] = field(default_factory=dict)
    decided: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    appealed: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    appeal_decided: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    revoked: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    weeks: dict[date, str] = field(default_factory=dict)


class OutcomesProjection(Projection):
    """Keeps the ``outcome_*`` tables up to date (see the module docstring)."""

    name = "outcomes"
    base_tables = (PEOPLE, CASE_CHANGES, TRANSITIONS, DROPOUTS, CONTACTS, DECISIONS)

    def __init__(self) -> None:
        super().__init__()
        self._rules = Handlers(type(self), "apply", _EVENTS)

    def create_tables(self, cur: ViewCursor) -> None:
        people, changes = self.table(PEOPLE), self.table(CASE_CHANGES)
        transitions, dropouts = self.table(TRANSITIONS), self.table(DROPOUTS)
        contacts, decisions = self.table(CONTACTS), self.table(DECISIONS)
        # Columns a later event fills are nullable: a row is created by whichever of its
        # column groups is written first.
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {people} ("
            "young_person_id TEXT PRIMARY KEY, referred_at TEXT, enrolled_at TEXT, "
            "team_id TEXT, erased_at TEXT)"
        )
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {changes} ("
            "young_person_id TEXT NOT NULL, position BIGINT NOT NULL, change TEXT NOT NULL, "
            "occurred_at TEXT NOT NULL, outcome TEXT, PRIMARY KEY (young_person_id, position))"
        )
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {transitions} ("
            "transition_id TEXT PRIMARY KEY, young_person_id TEXT NOT NULL, kind TEXT, "
            "started_at TEXT, education_started_at TEXT, education_institution_id TEXT, "
            "completed_at TEXT, abandoned_at TEXT)"
        )
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {dropouts} ("
            "young_person_id TEXT NOT NULL, position BIGINT NOT NULL, "
            "occurred_at TEXT NOT NULL, institution_id TEXT, "
            "PRIMARY KEY (young_person_id, position))"
        )
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {contacts} ("
            "week TEXT NOT NULL, young_person_id TEXT NOT NULL, channel TEXT NOT NULL, "
            "place TEXT NOT NULL, reached INTEGER NOT NULL, contacts BIGINT NOT NULL, "
            "PRIMARY KEY (week, young_person_id, channel, place, reached))"
        )
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {decisions} ("
            "decision_id TEXT PRIMARY KEY, young_person_id TEXT NOT NULL, kind TEXT, "
            "decided_at TEXT, fully_in_favour INTEGER, appealed_at TEXT, "
            "appeal_decided_at TEXT, appeal_outcome TEXT, revoked_at TEXT)"
        )

    def process(self, cur: ViewCursor, events: Sequence[PositionedEvent]) -> None:
        rules = self._rules
        batch = _Batch()
        for position, event in events:
            rule = rules(type(event))
            if rule is not None:
                rule(self, event, position, batch)
        self._save(cur, batch)

    def _save(self, cur: ViewCursor, batch: _Batch) -> None:
        people, transitions = self.table(PEOPLE), self.table(TRANSITIONS)
        decisions = self.table(DECISIONS)
        # Each column group writes only its own columns: an upsert leaves the others of
        # an existing row as they are.
        for table, columns, rows in (
            (people, ("young_person_id", "referred_at"), batch.referred),
            (people, ("young_person_id", "enrolled_at", "team_id"), batch.enrolled),
            (people, ("young_person_id", "erased_at"), batch.erased),
            (
                transitions,
                ("transition_id", "young_person_id", "kind", "started_at"),
                batch.started,
            ),
            (
                transitions,
                (
                    "transition_id",
                    "young_person_id",
                    "education_started_at",
                    "education_institution_id",
                ),
                batch.education,
            ),
            (transitions, ("transition_id", "young_person_id", "completed_at"), batch.completed),
            (transitions, ("transition_id", "young_person_id", "abandoned_at"), batch.abandoned),
            (
                decisions,
                ("decision_id", "young_person_id", "kind", "decided_at", "fully_in_favour"),
                batch.decided,
            ),
            (decisions, ("decision_id", "young_person_id", "appealed_at"), batch.appealed),
            (
                decisions,
                ("decision_id", "young_person_id", "appeal_decided_at", "appeal_outcome"),
                batch.appeal_decided,
            ),
            (decisions, ("decision_id", "young_person_id", "revoked_at"), batch.revoked),
        ):
            if rows:
                cur.upsert_rows(table, columns, list(rows.values()), key=columns[:1])
        # Facts identified by their log position: applying one again changes nothing.
        cur.upsert_rows(
            self.table(CASE_CHANGES),
            CASE_CHANGE_COLUMNS,
            batch.case_changes,
            key=("young_person_id", "position"),
            replace=False,
        )
        cur.upsert_rows(
            self.table(DROPOUTS),
            DROPOUT_COLUMNS,
            batch.dropouts,
            key=("young_person_id", "position"),
            replace=False,
        )
        if batch.contacts:
            # Counts add up across batches: a week's row is created by its first contact
            # and added to by each later batch (never applied twice: the batch and the
            # projection's position commit together).
            cur.upsert_rows(
                self.table(CONTACTS),
                CONTACT_COLUMNS,
                [(*key, count) for key, count in batch.contacts.items()],
                key=CONTACT_KEY,
                add=("contacts",),
            )

    # --- applying one event to the batch -------------------------------------------------------

    @singledispatchmethod
    def apply(self, event: YoungPersonEvent, position: int, batch: _Batch) -> None:
        raise TypeError(f"no outcomes rule for {type(event).__name__}")

    @apply.register
    def _(self, event: Referred, position: int, batch: _Batch) -> None:
        person = event.originator_id.hex
        batch.referred[person] = (person, iso_utc(event.occurred_at))

    @apply.register
    def _(self, event: Enrolled, position: int, batch: _Batch) -> None:
        person = event.originator_id.hex
        batch.enrolled[person] = (person, iso_utc(event.occurred_at), event.team_id)

    @apply.register
    def _(self, event: PersonalDataErased, position: int, batch: _Batch) -> None:
        person = event.originator_id.hex
        batch.erased[person] = (person, iso_utc(event.occurred_at))

    @apply.register
    def _(self, event: CaseClosed, position: int, batch: _Batch) -> None:
        batch.case_changes.append(
            (
                event.originator_id.hex,
                position,
                CLOSED,
                iso_utc(event.occurred_at),
                event.outcome.value,
            )
        )

    @apply.register
    def _(self, event: CaseReopened, position: int, batch: _Batch) -> None:
        batch.case_changes.append(
            (event.originator_id.hex, position, REOPENED, iso_utc(event.occurred_at), None)
        )

    @apply.register
    def _(self, event: TransitionStarted, position: int, batch: _Batch) -> None:
        transition = event.transition_id.hex
        batch.started[transition] = (
            transition,
            event.originator_id.hex,
            event.kind.value,
            iso_utc(event.occurred_at),
        )

    @apply.register
    def _(self, event: EducationStarted, position: int, batch: _Batch) -> None:
        transition = event.transition_id.hex
        institution = event.institution_id
        batch.education[transition] = (
            transition,
            event.originator_id.hex,
            iso_utc(event.occurred_at),
            None if institution is None else institution.hex,
        )

    @apply.register
    def _(self, event: TransitionCompleted, position: int, batch: _Batch) -> None:
        transition = event.transition_id.hex
        batch.completed[transition] = (
            transition,
            event.originator_id.hex,
            iso_utc(event.occurred_at),
        )

    @apply.register
    def _(self, event: TransitionAbandoned, position: int, batch: _Batch) -> None:
        transition = event.transition_id.hex
        batch.abandoned[transition] = (
            transition,
            event.originator_id.hex,
            iso_utc(event.occurred_at),
        )

    @apply.register
    def _(self, event: DropoutReported, position: int, batch: _Batch) -> None:
        batch.dropouts.append(
            (
                event.originator_id.hex,
                position,
                iso_utc(event.occurred_at),
                event.institution_id.hex,
            )
        )

    @apply.register
    def _(self, event: ContactRecorded, position: int, batch: _Batch) -> None:
        moment = event.occurred_at
        day = moment.astimezone(UTC).date() if moment.utcoffset() else moment.date()
        week = batch.weeks.get(day)
        if week is None:
            week = batch.weeks[day] = (day - timedelta(days=day.weekday())).isoformat()
        place = event.place
        key = (
            week,
            event.originator_id.hex,
            event.channel.value,
            NO_PLACE if place is None else place.value,
            1 if event.reached else 0,
        )
        contacts = batch.contacts
        contacts[key] = contacts.get(key, 0) + 1

    @apply.register
    def _(self, event: DecisionRecorded, position: int, batch: _Batch) -> None:
        decision = event.decision_id.hex
        batch.decided[decision] = (
            decision,
            event.originator_id.hex,
            event.DECISION_KIND.value,
            iso_utc(event.occurred_at),
            1 if event.fully_in_favour else 0,
        )

    @apply.register
    def _(self, event: DecisionAppealed, position: int, batch: _Batch) -> None:
        decision = event.decision_id.hex
        batch.appealed[decision] = (decision, event.originator_id.hex, iso_utc(event.occurred_at))

    @apply.register
    def _(self, event: AppealDecided, position: int, batch: _Batch) -> None:
        decision = event.decision_id.hex
        batch.appeal_decided[decision] = (
            decision,
            event.originator_id.hex,
            iso_utc(event.occurred_at),
            event.outcome.value,
        )

    @apply.register
    def _(self, event: DecisionRevoked, position: int, batch: _Batch) -> None:
        decision = event.decision_id.hex
        batch.revoked[decision] = (decision, event.originator_id.hex, iso_utc(event.occurred_at))


# --- the view: the facts as of a date -----------------------------------------------------------


@dataclass(frozen=True)
class OutcomeFacts:
    """The rows of the outcomes tables that matter as of a date (see ``OutcomesView``)."""

    people: list[Row]
    case_changes: list[Row]
    transitions: list[Row]
    dropouts: list[Row]
    contacts: list[Row]
    decisions: list[Row]


class OutcomesView:
    """Reads of the outcomes tables; each query one statement."""

    @staticmethod
    def facts(cur: ViewCursor, as_of: datetime) -> OutcomeFacts:
        """Every fact that happened at or before ``as_of`` (rows whose later columns, such as
        an appeal after ``as_of``, the figures ignore themselves), in a stable order.

        Rows keep every column of their table; contacts come only for the whole ISO weeks
        that ended before ``as_of``'s week began (a week is counted once it is over).
        """
        at, week = iso_utc(as_of), week_of(as_of)

        def rows(table: str, columns: Sequence[str], where: str, order: str) -> list[Row]:
            return cur.execute(
                f"SELECT {', '.join(columns)} FROM {quote_identifier(table)} "
                f"WHERE {where} ORDER BY {order}",
                {"at": at, "week": week},
            ).fetchall()

        by_person = "young_person_id, occurred_at, position"
        return OutcomeFacts(
            people=rows(PEOPLE, PEOPLE_COLUMNS, "referred_at <= %(at)s", "young_person_id"),
            case_changes=rows(
                CASE_CHANGES, CASE_CHANGE_COLUMNS, "occurred_at <= %(at)s", by_person
            ),
            transitions=rows(
                TRANSITIONS,
                TRANSITION_COLUMNS,
                "started_at <= %(at)s OR education_started_at <= %(at)s",
                "transition_id",
            ),
            dropouts=rows(DROPOUTS, DROPOUT_COLUMNS, "occurred_at <= %(at)s", by_person),
            contacts=rows(CONTACTS, CONTACT_COLUMNS, "week < %(week)s", ", ".join(CONTACT_KEY)),
            decisions=rows(DECISIONS, DECISION_COLUMNS, "decided_at <= %(at)s", "decision_id"),
        )
