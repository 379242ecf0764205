"""The caseload read model: per counsellor and team, the young people they follow now.

One row per young person from the referral on (``caseload``), so a referral's name can be
shown before enrolment; only *active* cases (status ``enrolled``: enrolled and neither
closed nor erased; a reopened case is active again) appear in a caseload. Each row carries
what the dashboard shows beside a name: the counsellor and team, the last reached contact
and the last unanswered attempt, the current transition and its phase, and the next open
milestone.

Two side tables keep what those summaries are derived from: the open (or missed, which a
reschedule can open again) milestones, and the open transitions, of each young person. The
``caseload_counsellors`` table holds each counsellor's team and caseload limit; how many
active cases they carry is counted when read, from the same rows a caseload lists, so the
two can never disagree.

Facts that depend on "now" (days since the last contact, an overdue milestone) are not
stored: rows hold times and dates, and readers evaluate them with :func:`days_since`.
Open flags and alerts belong to their own read models.

Personal data: the young person's name and milestone titles. ``None`` in them (a shredded
key) is stored as NULL; ``PersonalDataErased`` sets them to NULL and keeps the rest.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from functools import cache, singledispatchmethod
from operator import attrgetter
from typing import Any, cast
from uuid import UUID

from domain.counsellor import CaseloadLimitChanged, CounsellorEvent, CounsellorRegistered
from domain.vocabulary import CaseStatus, ReviewOutcome, TransitionPhase
from domain.young_person_events import (
    CaseClosed,
    CaseReopened,
    ContactRecorded,
    CounsellorAssigned,
    EducationStarted,
    Enrolled,
    MilestoneDropped,
    MilestoneMissed,
    MilestoneReached,
    MilestoneRescheduled,
    MilestoneSet,
    PersonalDataErased,
    ReferralReviewed,
    Referred,
    TransitionAbandoned,
    TransitionCompleted,
    TransitionStarted,
    YoungPersonEvent,
)
from projections.base import DomainEvent, PositionedEvent, Projection
from projections.columns import iso_date, iso_utc, parse_utc
from projections.dispatch import Handler, Handlers
from projections.store import Row, ViewCursor, rows_by

CASELOAD = "caseload"
MILESTONES = "caseload_milestones"
TRANSITIONS = "caseload_transitions"
COUNSELLORS = "caseload_counsellors"

ACTIVE = CaseStatus.ENROLLED.value
"""The status of a case that counts in a caseload."""

_OPEN = "open"
_MISSED = "missed"

_LOAD_CHUNK = 500
"""Ids per ``= ANY(...)`` when loading: SQLite binds each id as its own parameter."""

_STATUS_AFTER_REVIEW = {
    ReviewOutcome.ACCEPTED: CaseStatus.ACCEPTED,
    ReviewOutcome.DECLINED: CaseStatus.DECLINED,
    ReviewOutcome.WAITLISTED: CaseStatus.WAITLISTED,
}

# Events by the state they need loaded; a batch loads each kind once for all its people.
_MILESTONE_EVENTS = (
    MilestoneSet,
    MilestoneReached,
    MilestoneMissed,
    MilestoneRescheduled,
    MilestoneDropped,
    PersonalDataErased,  # purges the titles
)
_TRANSITION_EVENTS = (
    TransitionStarted,
    EducationStarted,
    TransitionCompleted,
    TransitionAbandoned,
)
_CASE_EVENTS = (
    Referred,
    ReferralReviewed,
    Enrolled,
    CounsellorAssigned,
    ContactRecorded,
    CaseClosed,
    CaseReopened,
    *_MILESTONE_EVENTS,
    *_TRANSITION_EVENTS,
)


_MILESTONES_NEEDED = "milestones"
_TRANSITIONS_NEEDED = "transitions"


@cache
def _side_state(event_type: type) -> str | None:
    """Which side state folding an event of ``event_type`` needs loaded, if any."""
    if issubclass(event_type, _MILESTONE_EVENTS):
        return _MILESTONES_NEEDED
    if issubclass(event_type, _TRANSITION_EVENTS):
        return _TRANSITIONS_NEEDED
    return None


def days_since(timestamp_text: str | None, now: datetime) -> int | None:
    """Whole days (24-hour periods) from a stored time to ``now`` (time-zone aware); None
    when there is no time. A time up to a little in the future (facts may be stamped a
    few minutes ahead) counts as 0, not -1."""
    if timestamp_text is None:
        return None
    return max(0, (now - parse_utc(timestamp_text)) // timedelta(days=1))


def _later(current: str | None, candidate: str) -> str:
    # Facts may be recorded late: the latest in the world wins, not the latest written.
    return candidate if current is None or candidate > current else current


def _hex(value: UUID | None) -> str | None:
    return None if value is None else value.hex


# --- the state folded in memory for one batch ---------------------------------------------


@dataclass
class _Milestone:
    milestone_id: str
    status: str  # open, or missed (a reschedule opens it again)
    due: str
    title: str | None


@dataclass
class _Transition:
    transition_id: str
    kind: str
    phase: str
    started_at: str
    started_position: int
    expected_start: str | None
    to_institution_id: str | None
    education_started_at: str | None = None
    education_institution_id: str | None = None

    def order(self) -> tuple[str, int]:
        return (self.started_at, self.started_position)


@dataclass
class _Case:
    """A ``caseload`` row; field order is column order."""

    young_person_id: str
    status: str | None = None
    name: str | None = None
    counsellor_id: str | None = None
    team_id: str | None = None
    referred_at: str | None = None
    enrolled_at: str | None = None
    closed_at: str | None = None
    last_reached_contact_at: str | None = None
    last_attempt_at: str | None = None
    # The current transition: the latest started of the open ones.
    transition_id: str | None = None
    transition_kind: str | None = None
    transition_phase: str | None = None
    transition_started_at: str | None = None
    transition_expected_start: str | None = None
    transition_to_institution_id: str | None = None
    education_started_at: str | None = None
    education_institution_id: str | None = None
    # The next milestone: the open one due first.
    next_milestone_id: str | None = None
    next_milestone_due: str | None = None
    next_milestone_title: str | None = None


_CASE_COLUMNS = tuple(f.name for f in fields(_Case))
_MILESTONE_COLUMNS = tuple(f.name for f in fields(_Milestone))
_TRANSITION_COLUMNS = tuple(f.name for f in fields(_Transition))
_case_values = attrgetter(*_CASE_COLUMNS)
_milestone_values = attrgetter(*_MILESTONE_COLUMNS)
_transition_values = attrgetter(*_TRANSITION_COLUMNS)


@dataclass
class _Person:
    """One young person's state while a batch is folded; side state only when loaded."""

    case: _Case
    stored_case: tuple[Any, ...] | None = None
    """The row as it was read (None: no row yet), so an unchanged row is not written."""
    milestones: dict[str, _Milestone] | None = None
    transitions: dict[str, _Transition] | None = None
    stored_milestones: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    stored_transitions: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    # The latest contact of each kind in the batch, written into the row as text once
    # (in summarise) rather than once per contact.
    latest_reached: datetime | None = None
    latest_attempt: datetime | None = None

    def open_milestones(self) -> dict[str, _Milestone]:
        assert self.milestones is not None, "milestones are loaded for milestone events"
        return self.milestones

    def open_transitions(self) -> dict[str, _Transition]:
        assert self.transitions is not None, "transitions are loaded for transition events"
        return self.transitions

    def summarise(self) -> None:
        """Derive the row's contact times, next milestone and current transition from
        what the batch folded."""
        case = self.case
        if self.latest_reached is not None:
            at = iso_utc(self.latest_reached)
            case.last_reached_contact_at = _later(case.last_reached_contact_at, at)
        if self.latest_attempt is not None:
            case.last_attempt_at = _later(case.last_attempt_at, iso_utc(self.latest_attempt))
        if self.milestones is not None:
            due = [m for m in self.milestones.values() if m.status == _OPEN]
            following = min(due, key=lambda m: (m.due, m.milestone_id), default=None)
            case.next_milestone_id = following.milestone_id if following else None
            case.next_milestone_due = following.due if following else None
            case.next_milestone_title = following.title if following else None
        if self.transitions is not None:
            current = max(self.transitions.values(), key=_Transition.order, default=None)
            case.transition_id = current.transition_id if current else None
            case.transition_kind = current.kind if current else None
            case.transition_phase = current.phase if current else None
            case.transition_started_at = current.started_at if current else None
            case.transition_expected_start = current.expected_start if current else None
            case.transition_to_institution_id = current.to_institution_id if current else None
            case.education_started_at = current.education_started_at if current else None
            case.education_institution_id = current.education_institution_id if current else None


_CONTACT_COLUMNS = ("young_person_id", "last_reached_contact_at", "last_attempt_at")


_Relevant = tuple[int, YoungPersonEvent, str, Handler]
"""An event a batch folds: its position, itself, its young person's id and its fold."""


def _contacts_only(events: Sequence[_Relevant]) -> dict[str, _Person]:
    """A fresh state for each young person whose only facts in ``events`` are contacts."""
    only: dict[str, bool] = {}
    for _, event, young_person_id, _ in events:
        only[young_person_id] = only.get(young_person_id, True) and isinstance(
            event, ContactRecorded
        )
    return {
        young_person_id: _Person(_Case(young_person_id))
        for young_person_id, contacts in only.items()
        if contacts
    }


def _chunks(ids: Sequence[str]) -> Iterable[list[str]]:
    for start in range(0, len(ids), _LOAD_CHUNK):
        yield list(ids[start : start + _LOAD_CHUNK])


# --- the projection ------------------------------------------------------------------------


class CaseloadProjection(Projection):
    """Keeps ``caseload`` and its side tables up to date.

    A batch is applied as load, fold, save: the rows of the young people it touches are
    read with one query per table, its events are folded into them in memory in log
    order, and the changed rows are written back. Round trips per batch stay constant
    however many events it holds, and the result is the same for any batch size.
    """

    name = "caseload"
    base_tables = (CASELOAD, MILESTONES, TRANSITIONS, COUNSELLORS)

    def __init__(self) -> None:
        super().__init__()
        self._folds = Handlers(type(self), "_fold", _CASE_EVENTS)
        self._counsellors = Handlers(type(self), "_counsellor", (CounsellorEvent,))

    def create_tables(self, cur: ViewCursor) -> None:
        caseload = self.table(CASELOAD)
        text_columns = ", ".join(f"{column} TEXT" for column in _CASE_COLUMNS[1:])
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {caseload} ("
            f"young_person_id TEXT PRIMARY KEY, {text_columns})"
        )
        # Partial indexes: a caseload is read by counsellor or team, active cases only,
        # in young person order (the pagination cursor).
        cur.execute(
            f"CREATE INDEX IF NOT EXISTS {caseload}_by_counsellor "
            f"ON {caseload} (counsellor_id, young_person_id) WHERE status = '{ACTIVE}'"
        )
        cur.execute(
            f"CREATE INDEX IF NOT EXISTS {caseload}_by_team "
            f"ON {caseload} (team_id, young_person_id) WHERE status = '{ACTIVE}'"
        )
        milestones = self.table(MILESTONES)
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {milestones} ("
            "young_person_id TEXT NOT NULL, milestone_id TEXT NOT NULL, "
            "status TEXT NOT NULL, due TEXT NOT NULL, title TEXT, "
            "PRIMARY KEY (young_person_id, milestone_id))"
        )
        transitions = self.table(TRANSITIONS)
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {transitions} ("
            "young_person_id TEXT NOT NULL, transition_id TEXT NOT NULL, "
            "kind TEXT NOT NULL, phase TEXT NOT NULL, started_at TEXT NOT NULL, "
            "started_position BIGINT NOT NULL, expected_start TEXT, to_institution_id TEXT, "
            "education_started_at TEXT, education_institution_id TEXT, "
            "PRIMARY KEY (young_person_id, transition_id))"
        )
        counsellors = self.table(COUNSELLORS)
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {counsellors} ("
            "counsellor_id TEXT PRIMARY KEY, name TEXT, team_id TEXT NOT NULL, "
            "role TEXT NOT NULL, caseload_limit INTEGER NOT NULL, registered_at TEXT NOT NULL)"
        )
        cur.execute(
            f"CREATE INDEX IF NOT EXISTS {counsellors}_by_team "
            f"ON {counsellors} (team_id, counsellor_id)"
        )

    def process(self, cur: ViewCursor, events: Sequence[PositionedEvent]) -> None:
        folds, counsellors = self._folds, self._counsellors
        relevant: list[_Relevant] = []
        for position, event in events:
            fold = folds(type(event))
            if fold is not None:
                # A handler is found only for the young person's events of _CASE_EVENTS.
                person_event = cast(YoungPersonEvent, event)
                relevant.append((position, person_event, person_event.originator_id.hex, fold))
                continue
            counsellor = counsellors(type(event))
            if counsellor is not None:
                counsellor(self, event, cur)
        if not relevant:
            return
        # Most young people's only facts in a batch are contacts, which change two times
        # of their row: those rows are not read, and the database merges the times in.
        contacts_only = _contacts_only(relevant)
        people = self._load(cur, [r for r in relevant if r[2] not in contacts_only])
        for position, event, young_person_id, fold in relevant:
            person = people.get(young_person_id) or contacts_only[young_person_id]
            fold(self, event, person, position)
        self._save(cur, people.values())
        self._merge_contacts(cur, contacts_only.values())

    # --- counsellors: few events, written as they come ---------------------------------------

    @singledispatchmethod
    def _counsellor(self, event: DomainEvent, cur: ViewCursor) -> None:
        """Other events say nothing about counsellors (CaseTaken and CaseReleased included:
        the active count is read from the young people's rows)."""

    @_counsellor.register
    def _(self, event: CounsellorRegistered, cur: ViewCursor) -> None:
        cur.execute(
            f"INSERT INTO {self.table(COUNSELLORS)} "
            "(counsellor_id, name, team_id, role, caseload_limit, registered_at) "
            "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (counsellor_id) DO UPDATE SET "
            "name = EXCLUDED.name, team_id = EXCLUDED.team_id, role = EXCLUDED.role, "
            "caseload_limit = EXCLUDED.caseload_limit, registered_at = EXCLUDED.registered_at",
            (
                event.originator_id.hex,
                event.name,
                event.team_id,
                event.role.value,
                event.caseload_limit,
                iso_utc(event.occurred_at),
            ),
        )

    @_counsellor.register
    def _(self, event: CaseloadLimitChanged, cur: ViewCursor) -> None:
        cur.execute(
            f"UPDATE {self.table(COUNSELLORS)} SET caseload_limit = %s WHERE counsellor_id = %s",
            (event.caseload_limit, event.originator_id.hex),
        )

    # --- young people: load, fold, save ----------------------------------------------------

    def _load(self, cur: ViewCursor, events: Sequence[_Relevant]) -> dict[str, _Person]:
        people: dict[str, _Person] = {}
        with_milestones: dict[str, None] = {}
        with_transitions: dict[str, None] = {}
        for _, event, young_person_id, _ in events:
            if young_person_id not in people:
                people[young_person_id] = _Person(_Case(young_person_id))
            side_state = _side_state(type(event))
            if side_state is _MILESTONES_NEEDED:
                with_milestones[young_person_id] = None
            elif side_state is _TRANSITIONS_NEEDED:
                with_transitions[young_person_id] = None
        for row in self._select(cur, CASELOAD, list(people)):
            person = people[row["young_person_id"]]
            person.case = _Case(**{c: row[c] for c in _CASE_COLUMNS})
            person.stored_case = _case_values(person.case)
        for young_person_id in with_milestones:
            people[young_person_id].milestones = {}
        for row in self._select(cur, MILESTONES, list(with_milestones)):
            person = people[row["young_person_id"]]
            milestone = _Milestone(**{c: row[c] for c in _MILESTONE_COLUMNS})
            assert person.milestones is not None
            person.milestones[milestone.milestone_id] = milestone
            person.stored_milestones[milestone.milestone_id] = _milestone_values(milestone)
        for young_person_id in with_transitions:
            people[young_person_id].transitions = {}
        for row in self._select(cur, TRANSITIONS, list(with_transitions)):
            person = people[row["young_person_id"]]
            transition = _Transition(**{c: row[c] for c in _TRANSITION_COLUMNS})
            assert person.transitions is not None
            person.transitions[transition.transition_id] = transition
            person.stored_transitions[transition.transition_id] = _transition_values(transition)
        return people

    def _select(self, cur: ViewCursor, base: str, ids: Sequence[str]) -> list[Row]:
        rows: list[Row] = []
        for chunk in _chunks(ids):
            rows += cur.execute(
                f"SELECT * FROM {self.table(base)} WHERE young_person_id = ANY(%s)", (chunk,)
            ).fetchall()
        return rows

    def _save(self, cur: ViewCursor, people: Iterable[_Person]) -> None:
        """Write what the batch changed: rows that differ from those read, and no others."""
        cases: list[tuple[Any, ...]] = []
        milestones: list[tuple[str, dict[str, tuple[Any, ...]], dict[str, tuple[Any, ...]]]] = []
        transitions: list[tuple[str, dict[str, tuple[Any, ...]], dict[str, tuple[Any, ...]]]] = []
        for person in people:
            person.summarise()
            values = _case_values(person.case)
            if values != person.stored_case:
                cases.append(values)
            young_person_id = person.case.young_person_id
            if person.milestones is not None:
                now = {key: _milestone_values(m) for key, m in person.milestones.items()}
                milestones.append((young_person_id, person.stored_milestones, now))
            if person.transitions is not None:
                now = {key: _transition_values(t) for key, t in person.transitions.items()}
                transitions.append((young_person_id, person.stored_transitions, now))
        cur.upsert_rows(self.table(CASELOAD), _CASE_COLUMNS, cases, key=("young_person_id",))
        self._sync(cur, MILESTONES, _MILESTONE_COLUMNS, milestones)
        self._sync(cur, TRANSITIONS, _TRANSITION_COLUMNS, transitions)

    def _merge_contacts(self, cur: ViewCursor, people: Iterable[_Person]) -> None:
        """Move each young person's contact times on to the batch's latest (a row that
        is not there yet is made, as folding into an unread row would)."""
        cur.upsert_rows(
            self.table(CASELOAD),
            _CONTACT_COLUMNS,
            [
                (
                    person.case.young_person_id,
                    None if person.latest_reached is None else iso_utc(person.latest_reached),
                    None if person.latest_attempt is None else iso_utc(person.latest_attempt),
                )
                for person in people
            ],
            key=("young_person_id",),
            # As _later: the latest in the world wins. ISO UTC texts sort as the times
            # do in any collation.
            greatest=_CONTACT_COLUMNS[1:],
        )

    def _sync(
        self,
        cur: ViewCursor,
        base: str,
        columns: tuple[str, ...],
        changes: Sequence[tuple[str, dict[str, tuple[Any, ...]], dict[str, tuple[Any, ...]]]],
    ) -> None:
        """Bring the side rows of each young person from those read to those folded:
        ``changes`` holds (young person id, rows read, rows now), rows keyed by their id
        (the first of ``columns``). Only the rows that differ are deleted or written."""
        key = columns[0]
        gone = [
            (young_person_id, row_id)
            for young_person_id, before, after in changes
            for row_id in before
            if row_id not in after
        ]
        changed = [
            (young_person_id, *row)
            for young_person_id, before, after in changes
            for row_id, row in after.items()
            if before.get(row_id) != row
        ]
        table = self.table(base)
        cur.delete_rows(table, ("young_person_id", key), gone)
        cur.upsert_rows(table, ("young_person_id", *columns), changed, key=("young_person_id", key))

    # --- folding one event into a young person's state -------------------------------------

    @singledispatchmethod
    def _fold(self, event: YoungPersonEvent, person: _Person, position: int) -> None:
        raise TypeError(f"{type(event).__name__} is listed as relevant but has no fold")

    @_fold.register
    def _(self, event: Referred, person: _Person, position: int) -> None:
        case = person.case
        case.status = CaseStatus.REFERRED.value
        case.name = event.name
        case.referred_at = iso_utc(event.occurred_at)

    @_fold.register
    def _(self, event: ReferralReviewed, person: _Person, position: int) -> None:
        person.case.status = _STATUS_AFTER_REVIEW[event.outcome].value

    @_fold.register
    def _(self, event: Enrolled, person: _Person, position: int) -> None:
        case = person.case
        case.status = ACTIVE
        case.counsellor_id = event.counsellor_id.hex
        case.team_id = event.team_id
        case.enrolled_at = iso_utc(event.occurred_at)

    @_fold.register
    def _(self, event: CounsellorAssigned, person: _Person, position: int) -> None:
        # A hand-over moves the row to the new counsellor's (and team's) caseload.
        person.case.counsellor_id = event.counsellor_id.hex
        person.case.team_id = event.team_id

    @_fold.register
    def _(self, event: ContactRecorded, person: _Person, position: int) -> None:
        # Facts may be recorded late: the latest in the world wins (as _later does with
        # the stored texts, which sort as the times do).
        at = event.occurred_at
        # An unanswered call or text is an attempt, not contact.
        if event.reached:
            if person.latest_reached is None or at > person.latest_reached:
                person.latest_reached = at
        elif person.latest_attempt is None or at > person.latest_attempt:
            person.latest_attempt = at

    @_fold.register
    def _(self, event: CaseClosed, person: _Person, position: int) -> None:
        person.case.status = CaseStatus.CLOSED.value
        person.case.closed_at = iso_utc(event.occurred_at)

    @_fold.register
    def _(self, event: CaseReopened, person: _Person, position: int) -> None:
        person.case.status = ACTIVE
        person.case.closed_at = None

    @_fold.register
    def _(self, event: PersonalDataErased, person: _Person, position: int) -> None:
        person.case.status = CaseStatus.ERASED.value
        person.case.name = None
        for milestone in person.open_milestones().values():
            milestone.title = None

    @_fold.register
    def _(self, event: MilestoneSet, person: _Person, position: int) -> None:
        milestone_id = event.milestone_id.hex
        person.open_milestones()[milestone_id] = _Milestone(
            milestone_id, _OPEN, event.due.isoformat(), event.title
        )

    @_fold.register
    def _(self, event: MilestoneReached, person: _Person, position: int) -> None:
        person.open_milestones().pop(event.milestone_id.hex, None)

    @_fold.register
    def _(self, event: MilestoneDropped, person: _Person, position: int) -> None:
        person.open_milestones().pop(event.milestone_id.hex, None)

    @_fold.register
    def _(self, event: MilestoneMissed, person: _Person, position: int) -> None:
        # Kept (with its title) but not "next": a reschedule may open it again.
        milestone = person.open_milestones().get(event.milestone_id.hex)
        if milestone is not None:
            milestone.status = _MISSED

    @_fold.register
    def _(self, event: MilestoneRescheduled, person: _Person, position: int) -> None:
        milestone = person.open_milestones().get(event.milestone_id.hex)
        if milestone is not None:
            milestone.status = _OPEN
            milestone.due = event.due.isoformat()

    @_fold.register
    def _(self, event: TransitionStarted, person: _Person, position: int) -> None:
        transition_id = event.transition_id.hex
        person.open_transitions()[transition_id] = _Transition(
            transition_id=transition_id,
            kind=event.kind.value,
            phase=TransitionPhase.PREPARING.value,
            started_at=iso_utc(event.occurred_at),
            started_position=position,
            expected_start=iso_date(event.expected_start),
            to_institution_id=_hex(event.to_institution_id),
        )

    @_fold.register
    def _(self, event: EducationStarted, person: _Person, position: int) -> None:
        transition = person.open_transitions().get(event.transition_id.hex)
        if transition is not None:
            transition.phase = TransitionPhase.IN_EDUCATION.value
            transition.education_started_at = iso_utc(event.occurred_at)
            transition.education_institution_id = _hex(event.institution_id)

    @_fold.register
    def _(self, event: TransitionCompleted, person: _Person, position: int) -> None:
        person.open_transitions().pop(event.transition_id.hex, None)

    @_fold.register
    def _(self, event: TransitionAbandoned, person: _Person, position: int) -> None:
        person.open_transitions().pop(event.transition_id.hex, None)


# --- the view: reads for the API ------------------------------------------------------------

_ENTRY_COLUMNS = ", ".join(_CASE_COLUMNS)
_COUNSELLOR_COLUMNS = (
    "k.counsellor_id, k.name, k.team_id, k.role, k.caseload_limit, k.registered_at, "
    f"(SELECT COUNT(*) FROM {CASELOAD} c "
    f"WHERE c.counsellor_id = k.counsellor_id AND c.status = '{ACTIVE}') AS active_count"
)


def _unique(ids: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(ids))


class CaseloadView:
    """Queries of the caseload tables, each one statement however many ids it is given.

    Entry rows (``entries``, ``team_entries``, ``of_young_people``) have the keys:
    ``young_person_id``, ``status`` (a CaseStatus value), ``name`` (personal; None once
    erased), ``counsellor_id``, ``team_id``, ``referred_at``, ``enrolled_at``,
    ``closed_at``, ``last_reached_contact_at``, ``last_attempt_at`` (the last unanswered
    attempt), ``transition_id``, ``transition_kind``, ``transition_phase`` (``preparing``
    or ``in_education``: the current transition is the latest started open one),
    ``transition_started_at``, ``transition_expected_start``,
    ``transition_to_institution_id``, ``education_started_at``,
    ``education_institution_id``, ``next_milestone_id``, ``next_milestone_due``,
    ``next_milestone_title`` (personal). Times are UTC ISO text, dates ``YYYY-MM-DD``,
    ids hex; absent facts are None.
    """

    @staticmethod
    def entries(
        cur: ViewCursor,
        counsellor_ids: Sequence[str],
        limit: int | None = None,
        after: str | None = None,
    ) -> dict[str, list[Row]]:
        """Each counsellor's active cases in young person id order, keyed by counsellor id
        (hex); ids without cases map to ``[]``. ``after`` is a young person id (hex): only
        cases after it are returned. ``limit`` applies per counsellor."""
        return _active_entries(cur, "counsellor_id", counsellor_ids, limit, after)

    @staticmethod
    def team_entries(
        cur: ViewCursor,
        team_ids: Sequence[str],
        limit: int | None = None,
        after: str | None = None,
    ) -> dict[str, list[Row]]:
        """Like ``entries``, for every active case of each team."""
        return _active_entries(cur, "team_id", team_ids, limit, after)

    @staticmethod
    def of_young_people(cur: ViewCursor, young_person_ids: Sequence[str]) -> dict[str, Row]:
        """The row of each young person known (any status, referred to erased), keyed by id
        (hex); unknown ids are absent."""
        ids = _unique(young_person_ids)
        if not ids:
            return {}
        rows = cur.execute(
            f"SELECT {_ENTRY_COLUMNS} FROM {CASELOAD} WHERE young_person_id = ANY(%s)", (ids,)
        ).fetchall()
        return {row["young_person_id"]: row for row in rows}

    @staticmethod
    def counsellors(cur: ViewCursor, counsellor_ids: Sequence[str]) -> dict[str, Row]:
        """Each known counsellor, keyed by id (hex); unknown ids are absent.

        Keys: ``counsellor_id``, ``name`` (may be None), ``team_id``, ``role``,
        ``caseload_limit``, ``registered_at``, ``active_count`` (active cases now; it may
        exceed the limit when the limit was overridden or lowered).
        """
        ids = _unique(counsellor_ids)
        if not ids:
            return {}
        rows = cur.execute(
            f"SELECT {_COUNSELLOR_COLUMNS} FROM {COUNSELLORS} k WHERE k.counsellor_id = ANY(%s)",
            (ids,),
        ).fetchall()
        return {row["counsellor_id"]: row for row in rows}

    @staticmethod
    def teams(cur: ViewCursor) -> list[str]:
        """Every team that has a registered counsellor, in team id order (the dashboard's
        demo login lists them)."""
        rows = cur.execute(
            f"SELECT DISTINCT team_id FROM {COUNSELLORS} ORDER BY team_id"
        ).fetchall()
        return [row["team_id"] for row in rows]

    @staticmethod
    def team_counsellors(cur: ViewCursor, team_ids: Sequence[str]) -> dict[str, list[Row]]:
        """Every counsellor of each team (rows as in ``counsellors``), in counsellor id
        order, keyed by team id; teams without counsellors map to ``[]``."""
        return rows_by(
            team_ids,
            "team_id",
            lambda ids: cur.execute(
                f"SELECT {_COUNSELLOR_COLUMNS} FROM {COUNSELLORS} k "
                "WHERE k.team_id = ANY(%s) ORDER BY k.team_id, k.counsellor_id",
                (ids,),
            ).fetchall(),
        )


def _active_entries(
    cur: ViewCursor,
    key_column: str,
    keys: Sequence[str],
    limit: int | None,
    after: str | None,
) -> dict[str, list[Row]]:
    if limit is not None and limit < 0:
        raise ValueError("limit must not be negative")
    ids = _unique(keys)
    grouped: dict[str, list[Row]] = {key: [] for key in ids}
    if not ids or limit == 0:
        return grouped
    # The status is spelled out (not a parameter) so both databases use the partial index.
    where = f"c.status = '{ACTIVE}' AND c.{key_column} = ANY(%s)"
    params: list[Any] = [ids]
    if after is not None:
        where += " AND c.young_person_id > %s"
        params.append(after)
    if limit is None:
        sql = (
            f"SELECT {_ENTRY_COLUMNS} FROM {CASELOAD} c WHERE {where} "
            f"ORDER BY c.{key_column}, c.young_person_id"
        )
    else:
        sql = (
            f"SELECT {_ENTRY_COLUMNS} FROM ("
            f"SELECT c.*, ROW_NUMBER() OVER (PARTITION BY c.{key_column} "
            f"ORDER BY c.young_person_id) AS entry_number FROM {CASELOAD} c WHERE {where}"
            f") ranked WHERE entry_number <= %s ORDER BY {key_column}, young_person_id"
        )
        params.append(limit)
    for row in cur.execute(sql, params).fetchall():
        grouped[row[key_column]].append(row)
    return grouped
