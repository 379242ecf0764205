"""The alerts read model: every quiet-transition alert, and when the next one is due.

``alerts`` holds one row per alert, history kept: who it is for (counsellor and team follow
a hand-over while it is open), its level (raised, escalated), severity, status (open,
acknowledged, resolved), the quiet it is about and its lifecycle times. The acknowledgement
note and the reason of a resolution by hand are personal: erasure sets them to NULL (and
marks an alert still open then as resolved, with no resolution: the domain forgets it).

``alert_watch`` is what the sweeper reads: one row per open transition of an enrolled
young person, with the next thing that can happen to it (``raise`` an alert, ``escalate``
the open one, or nothing) and when (``next_due_at``). Due times are computed with the same
:class:`~domain.alerts.QuietPolicy` the domain decides with, so the two agree; they are
indexed, so finding what is due costs in proportion to what is due. Time itself is not
projected: a row becomes due by the clock passing ``next_due_at``, and only the sweeper's
command (which the domain may refuse) turns that into an event.

``alert_people`` keeps, per young person, the facts the watch rows are derived from (case
status, counsellor and team, last reached contact, open transitions, open alerts) as JSON;
a batch reads the states it touches in one statement, folds its events into them, derives
the watch rows before and after and writes only the difference.

The thresholds are part of the view: ``alert_policy`` records a fingerprint of the policy
it was built with. After changing them, run ``overgang projections rebuild alerts``; until
then the view warns at start-up (and the sweeper's commands, which use the new policy,
refuse rows that are not due by it).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import singledispatchmethod
from typing import Any, cast

from domain.alerts import QuietPolicy
from domain.vocabulary import AlertLevel, AlertResolution, TransitionKind
from domain.young_person_events import (
    AlertAcknowledged,
    AlertEscalated,
    AlertRaised,
    AlertResolved,
    AlertSeverityRaised,
    CaseClosed,
    CaseReopened,
    ContactRecorded,
    CounsellorAssigned,
    EducationStarted,
    Enrolled,
    PersonalDataErased,
    TransitionAbandoned,
    TransitionCompleted,
    TransitionStarted,
    YoungPersonEvent,
)
from projections.base import PositionedEvent, Projection
from projections.columns import iso_utc, parse_utc
from projections.dispatch import Handlers
from projections.store import Row, ViewCursor, rows_by

log = logging.getLogger(__name__)

ALERTS = "alerts"
WATCH = "alert_watch"
PEOPLE = "alert_people"
POLICY = "alert_policy"

OPEN = "open"
ACKNOWLEDGED = "acknowledged"
RESOLVED = "resolved"
OPEN_STATUSES = (OPEN, ACKNOWLEDGED)

RAISE = "raise"
ESCALATE = "escalate"

_ENROLLED = "enrolled"
_CLOSED = "closed"

_LOAD_CHUNK = 500
"""Ids per ``= ANY(...)`` when loading: SQLite binds each id as its own parameter."""

ALERT_COLUMNS = (
    "alert_id",
    "young_person_id",
    "transition_id",
    "transition_kind",
    "counsellor_id",
    "team_id",
    "level",
    "severity",
    "status",
    "phase",
    "quiet_since",
    "due_at",
    "raised_at",
    "raised_position",
    "escalated_at",
    "acknowledged_at",
    "acknowledged_by",
    "acknowledgement_note",
    "resolved_at",
    "resolution",
    "resolution_reason",
)
WATCH_COLUMNS = (
    "young_person_id",
    "transition_id",
    "transition_kind",
    "counsellor_id",
    "team_id",
    "quiet_since",
    "education_started_at",
    "open_alert_id",
    "open_alert_level",
    "next_action",
    "next_due_at",
)
_WATCH_KEY = ("young_person_id", "transition_id")
_PEOPLE_COLUMNS = ("young_person_id", "state")

_EVENTS = (
    Enrolled,
    CounsellorAssigned,
    ContactRecorded,
    TransitionStarted,
    EducationStarted,
    TransitionCompleted,
    TransitionAbandoned,
    CaseClosed,
    CaseReopened,
    PersonalDataErased,
    AlertRaised,
    AlertEscalated,
    AlertSeverityRaised,
    AlertAcknowledged,
    AlertResolved,
)
# Events after which the person's open alert rows are needed: those that change them.
_CHANGES_OPEN_ALERTS = (
    CounsellorAssigned,
    AlertEscalated,
    AlertSeverityRaised,
    AlertAcknowledged,
    AlertResolved,
    PersonalDataErased,
)


def policy_fingerprint(policy: QuietPolicy) -> str:
    """A short digest of the thresholds: equal policies give equal fingerprints."""
    by_kind = sorted(
        (kind.value, phase.value, limits.quiet.total_seconds(), limits.escalate.total_seconds())
        for (kind, phase), limits in policy.by_kind.items()
    )
    described = [
        policy.general.quiet.total_seconds(),
        policy.general.escalate.total_seconds(),
        policy.new_education.quiet.total_seconds(),
        policy.new_education.escalate.total_seconds(),
        policy.new_education_period.total_seconds(),
        by_kind,
    ]
    text = json.dumps(described, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# --- the state a batch folds ---------------------------------------------------------------


@dataclass
class _Transition:
    kind: str | None
    counted_from: str  # its start, or the last resolution by hand of its alert
    education_started_at: str | None = None


@dataclass
class _State:
    """What the watch rows of one young person are derived from; stored as JSON."""

    status: str | None = None
    counsellor_id: str | None = None
    team_id: str | None = None
    last_reached: str | None = None
    transitions: dict[str, _Transition] = field(default_factory=dict)
    alerts: dict[str, list[str]] = field(default_factory=dict)  # alert -> [transition, level]

    def to_json(self) -> str:
        return json.dumps(
            {
                "status": self.status,
                "counsellor_id": self.counsellor_id,
                "team_id": self.team_id,
                "last_reached": self.last_reached,
                "transitions": {
                    key: [t.kind, t.counted_from, t.education_started_at]
                    for key, t in self.transitions.items()
                },
                "alerts": self.alerts,
            },
            separators=(",", ":"),
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> _State:
        data = json.loads(text)
        return cls(
            status=data["status"],
            counsellor_id=data["counsellor_id"],
            team_id=data["team_id"],
            last_reached=data["last_reached"],
            transitions={key: _Transition(*value) for key, value in data["transitions"].items()},
            alerts={key: list(value) for key, value in data["alerts"].items()},
        )


@dataclass
class _Person:
    young_person_id: str
    state: _State
    stored_text: str | None
    watched: frozenset[str]  # the transitions with a watch row when the batch began
    erased: bool = False


@dataclass
class _Batch:
    people: dict[str, _Person]
    alerts: dict[str, Row] = field(default_factory=dict)
    stored_alerts: dict[str, tuple[Any, ...]] = field(default_factory=dict)


def _alert_values(row: Row) -> tuple[Any, ...]:
    return tuple(row[column] for column in ALERT_COLUMNS)


def _later(current: str | None, candidate: str) -> str:
    # Facts may be recorded late: the latest in the world counts (ISO UTC texts sort so).
    return candidate if current is None or candidate > current else current


def watch_rows(
    young_person_id: str, state: _State, policy: QuietPolicy
) -> dict[tuple[str, str], tuple[Any, ...]]:
    """The ``alert_watch`` rows of one young person's state, keyed by their key."""
    if state.status != _ENROLLED:
        return {}
    open_alert = {transition: (alert, level) for alert, (transition, level) in state.alerts.items()}
    rows: dict[tuple[str, str], tuple[Any, ...]] = {}
    for transition_id, transition in state.transitions.items():
        # As the domain: quiet since the later of the last reached contact and the
        # transition's start (or the last resolution by hand of its alert).
        quiet_since = _later(state.last_reached, transition.counted_from)
        alert_id, level = open_alert.get(transition_id, (None, None))
        action: str | None
        if alert_id is None:
            action = RAISE
        elif level == AlertLevel.RAISED.value:
            action = ESCALATE
        else:
            action = None  # escalated: nothing more happens until it is resolved
        due = None
        if action is not None:
            due = iso_utc(
                policy.deadline(
                    None if transition.kind is None else TransitionKind(transition.kind),
                    parse_utc(quiet_since),
                    None
                    if transition.education_started_at is None
                    else parse_utc(transition.education_started_at),
                    escalation=action == ESCALATE,
                )
            )
        rows[(young_person_id, transition_id)] = (
            young_person_id,
            transition_id,
            transition.kind,
            state.counsellor_id,
            state.team_id,
            quiet_since,
            transition.education_started_at,
            alert_id,
            level,
            action,
            due,
        )
    return rows


def _chunks(ids: Sequence[str]) -> Iterable[list[str]]:
    for start in range(0, len(ids), _LOAD_CHUNK):
        yield list(ids[start : start + _LOAD_CHUNK])


# --- the projection ------------------------------------------------------------------------


class AlertsProjection(Projection):
    """Keeps ``alerts``, ``alert_watch``, ``alert_people`` and ``alert_policy`` up to date.

    A batch is applied as load, fold, save (as the caseload does): the states and open
    alert rows of the young people it touches are read with one query per table, its
    events folded in log order, and only changed rows written back.
    """

    name = "alerts"
    base_tables = (ALERTS, WATCH, PEOPLE, POLICY)

    def __init__(self, policy: QuietPolicy | None = None) -> None:
        super().__init__()
        self.policy = policy if policy is not None else QuietPolicy()
        self.fingerprint = policy_fingerprint(self.policy)
        self._folds = Handlers(type(self), "_fold", _EVENTS)

    def create_tables(self, cur: ViewCursor) -> None:
        alerts = self.table(ALERTS)
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {alerts} ("
            "alert_id TEXT PRIMARY KEY, young_person_id TEXT NOT NULL, "
            "transition_id TEXT NOT NULL, transition_kind TEXT, counsellor_id TEXT, "
            "team_id TEXT, level TEXT NOT NULL, severity TEXT NOT NULL, status TEXT NOT NULL, "
            "phase TEXT NOT NULL, quiet_since TEXT NOT NULL, due_at TEXT NOT NULL, "
            "raised_at TEXT NOT NULL, raised_position BIGINT NOT NULL, escalated_at TEXT, "
            "acknowledged_at TEXT, acknowledged_by TEXT, acknowledgement_note TEXT, "
            "resolved_at TEXT, resolution TEXT, resolution_reason TEXT)"
        )
        cur.execute(f"CREATE INDEX IF NOT EXISTS {alerts}_by_status ON {alerts} (status, team_id)")
        cur.execute(f"CREATE INDEX IF NOT EXISTS {alerts}_by_person ON {alerts} (young_person_id)")
        cur.execute(
            f"CREATE INDEX IF NOT EXISTS {alerts}_by_position ON {alerts} (raised_position)"
        )
        cur.execute(
            f"CREATE INDEX IF NOT EXISTS {alerts}_by_time ON {alerts} (raised_at, alert_id)"
        )
        watch = self.table(WATCH)
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {watch} ("
            "young_person_id TEXT NOT NULL, transition_id TEXT NOT NULL, "
            "transition_kind TEXT, counsellor_id TEXT, team_id TEXT, "
            "quiet_since TEXT NOT NULL, education_started_at TEXT, open_alert_id TEXT, "
            "open_alert_level TEXT, next_action TEXT, next_due_at TEXT, "
            "PRIMARY KEY (young_person_id, transition_id))"
        )
        # Partial: the sweeper asks only for rows with a due time, in due order.
        cur.execute(
            f"CREATE INDEX IF NOT EXISTS {watch}_by_due ON {watch} "
            "(next_due_at, young_person_id, transition_id) WHERE next_due_at IS NOT NULL"
        )
        people = self.table(PEOPLE)
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {people} ("
            "young_person_id TEXT PRIMARY KEY, state TEXT NOT NULL)"
        )
        policy = self.table(POLICY)
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {policy} ("
            "singleton INTEGER PRIMARY KEY, fingerprint TEXT NOT NULL)"
        )
        cur.execute(
            f"INSERT INTO {policy} (singleton, fingerprint) VALUES (1, %s) "
            "ON CONFLICT (singleton) DO NOTHING",
            (self.fingerprint,),
        )
        row = cur.execute(f"SELECT fingerprint FROM {policy} WHERE singleton = 1").fetchone()
        if row is not None and row["fingerprint"] != self.fingerprint:
            log.warning(
                "the alerts read model was built with other quiet thresholds than those "
                "configured; run `overgang projections rebuild alerts`"
            )

    def process(self, cur: ViewCursor, events: Sequence[PositionedEvent]) -> None:
        folds = self._folds
        relevant: list[tuple[int, YoungPersonEvent, Any]] = []
        for position, event in events:
            fold = folds(type(event))
            if fold is None:
                continue
            if isinstance(event, ContactRecorded) and not event.reached:
                continue  # an attempt is not contact
            relevant.append((position, cast(YoungPersonEvent, event), fold))
        if not relevant:
            return
        batch = self._load(cur, [event for _, event, _ in relevant])
        for position, event, fold in relevant:
            person = batch.people[event.originator_id.hex]
            if person.erased:
                continue  # nothing follows an erasure
            fold(self, event, person, batch, position)
        self._save(cur, batch)

    # --- load and save ---------------------------------------------------------------------

    def _load(self, cur: ViewCursor, events: Sequence[YoungPersonEvent]) -> _Batch:
        ids = list(dict.fromkeys(event.originator_id.hex for event in events))
        stored: dict[str, str] = {}
        for chunk in _chunks(ids):
            rows = cur.execute(
                f"SELECT young_person_id, state FROM {self.table(PEOPLE)} "
                "WHERE young_person_id = ANY(%s)",
                (chunk,),
            ).fetchall()
            stored.update((row["young_person_id"], row["state"]) for row in rows)
        people: dict[str, _Person] = {}
        for person in ids:
            text = stored.get(person)
            state = _State() if text is None else _State.from_json(text)
            watched = frozenset(state.transitions) if state.status == _ENROLLED else frozenset()
            people[person] = _Person(person, state, text, watched)
        batch = _Batch(people)
        with_alerts = list(
            dict.fromkeys(
                event.originator_id.hex
                for event in events
                if isinstance(event, _CHANGES_OPEN_ALERTS)
            )
        )
        for chunk in _chunks(with_alerts):
            rows = cur.execute(
                f"SELECT {', '.join(ALERT_COLUMNS)} FROM {self.table(ALERTS)} "
                f"WHERE young_person_id = ANY(%s) AND status <> '{RESOLVED}'",
                (chunk,),
            ).fetchall()
            for row in rows:
                batch.alerts[row["alert_id"]] = dict(row)
                batch.stored_alerts[row["alert_id"]] = _alert_values(row)
        return batch

    def _save(self, cur: ViewCursor, batch: _Batch) -> None:
        states: list[tuple[str, str]] = []
        gone_people: list[str] = []
        watch_gone: list[tuple[str, str]] = []
        watch_changed: list[tuple[Any, ...]] = []
        for person_id, person in batch.people.items():
            if person.erased:
                after: dict[tuple[str, str], tuple[Any, ...]] = {}
                if person.stored_text is not None:
                    gone_people.append(person_id)
            else:
                text = person.state.to_json()
                if text == person.stored_text:
                    continue  # the watch rows are a function of the state: unchanged too
                states.append((person_id, text))
                after = watch_rows(person_id, person.state, self.policy)
                # A person's few watch rows are rewritten whole when their state changed:
                # cheaper than deriving the old rows again to write only those that differ.
                watch_changed.extend(after.values())
            watch_gone.extend(
                (person_id, transition)
                for transition in person.watched
                if (person_id, transition) not in after
            )
        alerts = [
            values
            for alert_id, row in batch.alerts.items()
            if (values := _alert_values(row)) != batch.stored_alerts.get(alert_id)
        ]
        # In bulk: on PostgreSQL one statement for each, whatever the number of rows.
        cur.upsert_rows(self.table(PEOPLE), _PEOPLE_COLUMNS, states, key=("young_person_id",))
        cur.delete_rows(self.table(PEOPLE), ("young_person_id",), [(p,) for p in gone_people])
        cur.delete_rows(self.table(WATCH), _WATCH_KEY, watch_gone)
        cur.upsert_rows(self.table(WATCH), WATCH_COLUMNS, watch_changed, key=_WATCH_KEY)
        cur.upsert_rows(self.table(ALERTS), ALERT_COLUMNS, alerts, key=("alert_id",))
        erased = [person_id for person_id, person in batch.people.items() if person.erased]
        if erased:
            # After the upserts, so what this batch wrote before the erasure is purged too.
            cur.execute(
                f"UPDATE {self.table(ALERTS)} SET acknowledgement_note = NULL, "
                "resolution_reason = NULL WHERE young_person_id = ANY(%s)",
                (erased,),
            )

    # --- folding one event ------------------------------------------------------------------

    @singledispatchmethod
    def _fold(self, event: YoungPersonEvent, person: _Person, batch: _Batch, at: int) -> None:
        raise TypeError(f"{type(event).__name__} is listed as relevant but has no fold")

    @_fold.register
    def _(self, event: Enrolled, person: _Person, batch: _Batch, at: int) -> None:
        person.state.status = _ENROLLED
        person.state.counsellor_id = event.counsellor_id.hex
        person.state.team_id = event.team_id

    @_fold.register
    def _(self, event: CounsellorAssigned, person: _Person, batch: _Batch, at: int) -> None:
        state = person.state
        state.counsellor_id = event.counsellor_id.hex
        state.team_id = event.team_id
        # Open alerts follow the case to its new counsellor (and team).
        for alert_id in state.alerts:
            row = batch.alerts.get(alert_id)
            if row is not None:
                row["counsellor_id"] = state.counsellor_id
                row["team_id"] = state.team_id

    @_fold.register
    def _(self, event: ContactRecorded, person: _Person, batch: _Batch, at: int) -> None:
        # Only reached contacts get here; the domain resolves the alerts they end.
        person.state.last_reached = _later(person.state.last_reached, iso_utc(event.occurred_at))

    @_fold.register
    def _(self, event: TransitionStarted, person: _Person, batch: _Batch, at: int) -> None:
        person.state.transitions[event.transition_id.hex] = _Transition(
            kind=event.kind.value, counted_from=iso_utc(event.occurred_at)
        )

    @_fold.register
    def _(self, event: EducationStarted, person: _Person, batch: _Batch, at: int) -> None:
        transition = person.state.transitions.get(event.transition_id.hex)
        if transition is not None:
            transition.education_started_at = iso_utc(event.occurred_at)

    @_fold.register
    def _(self, event: TransitionCompleted, person: _Person, batch: _Batch, at: int) -> None:
        person.state.transitions.pop(event.transition_id.hex, None)

    @_fold.register
    def _(self, event: TransitionAbandoned, person: _Person, batch: _Batch, at: int) -> None:
        person.state.transitions.pop(event.transition_id.hex, None)

    @_fold.register
    def _(self, event: CaseClosed, person: _Person, batch: _Batch, at: int) -> None:
        # Transitions are kept (not watched): a reopened case watches them again.
        person.state.status = _CLOSED

    @_fold.register
    def _(self, event: CaseReopened, person: _Person, batch: _Batch, at: int) -> None:
        person.state.status = _ENROLLED

    @_fold.register
    def _(self, event: PersonalDataErased, person: _Person, batch: _Batch, at: int) -> None:
        # The domain forgets open alerts on erasure without resolving them: end them
        # here (resolved, with no resolution), so no erased person's alert stays open.
        for alert_id in person.state.alerts:
            row = batch.alerts.get(alert_id)
            if row is not None:
                row["status"] = RESOLVED
                row["resolved_at"] = iso_utc(event.occurred_at)
        person.erased = True
        person.state = _State()

    @_fold.register
    def _(self, event: AlertRaised, person: _Person, batch: _Batch, at: int) -> None:
        alert_id = event.alert_id.hex
        person.state.alerts[alert_id] = [event.transition_id.hex, AlertLevel.RAISED.value]
        batch.alerts[alert_id] = {
            "alert_id": alert_id,
            "young_person_id": person.young_person_id,
            "transition_id": event.transition_id.hex,
            "transition_kind": None
            if event.transition_kind is None
            else event.transition_kind.value,
            "counsellor_id": None if event.counsellor_id is None else event.counsellor_id.hex,
            "team_id": event.team_id,
            "level": AlertLevel.RAISED.value,
            "severity": event.severity.value,
            "status": OPEN,
            "phase": event.phase.value,
            "quiet_since": iso_utc(event.quiet_since),
            "due_at": iso_utc(event.due_at),
            "raised_at": iso_utc(event.occurred_at),
            "raised_position": at,
            "escalated_at": None,
            "acknowledged_at": None,
            "acknowledged_by": None,
            "acknowledgement_note": None,
            "resolved_at": None,
            "resolution": None,
            "resolution_reason": None,
        }

    @_fold.register
    def _(self, event: AlertEscalated, person: _Person, batch: _Batch, at: int) -> None:
        alert_id = event.alert_id.hex
        if alert_id in person.state.alerts:
            person.state.alerts[alert_id][1] = AlertLevel.ESCALATED.value
        row = batch.alerts.get(alert_id)
        if row is not None:
            row["level"] = AlertLevel.ESCALATED.value
            row["severity"] = event.severity.value
            row["escalated_at"] = iso_utc(event.occurred_at)
            row["team_id"] = event.team_id

    @_fold.register
    def _(self, event: AlertSeverityRaised, person: _Person, batch: _Batch, at: int) -> None:
        row = batch.alerts.get(event.alert_id.hex)
        if row is not None:
            row["severity"] = event.severity.value

    @_fold.register
    def _(self, event: AlertAcknowledged, person: _Person, batch: _Batch, at: int) -> None:
        row = batch.alerts.get(event.alert_id.hex)
        if row is not None:
            row["status"] = ACKNOWLEDGED
            row["acknowledged_at"] = iso_utc(event.occurred_at)
            row["acknowledged_by"] = event.actor.id
            row["acknowledgement_note"] = event.note

    @_fold.register
    def _(self, event: AlertResolved, person: _Person, batch: _Batch, at: int) -> None:
        alert_id = event.alert_id.hex
        person.state.alerts.pop(alert_id, None)
        if event.resolution is AlertResolution.BY_HAND:
            # As the domain: the transition counts as quiet again only from now.
            transition = person.state.transitions.get(event.transition_id.hex)
            if transition is not None:
                transition.counted_from = iso_utc(event.occurred_at)
        row = batch.alerts.get(alert_id)
        if row is not None:
            row["status"] = RESOLVED
            row["resolved_at"] = iso_utc(event.occurred_at)
            row["resolution"] = event.resolution.value
            row["resolution_reason"] = event.reason


# --- the view: reads for the sweeper and the API --------------------------------------------

_SELECT_ALERTS = f"SELECT {', '.join(ALERT_COLUMNS)} FROM {ALERTS}"


class AlertsView:
    """Queries of the alerts tables, each one statement however many ids it is given.

    Alert rows have the keys of ``ALERT_COLUMNS``: ids hex, times UTC ISO text,
    ``level`` (raised, escalated), ``severity`` (warning, high), ``status`` (open,
    acknowledged, resolved), ``phase`` (a QuietPhase value), ``resolution`` (an
    AlertResolution value or None), ``raised_position`` (the AlertRaised event's log
    position); ``acknowledgement_note`` and ``resolution_reason`` are personal (None once
    erased).
    """

    @staticmethod
    def due(
        cur: ViewCursor,
        now: datetime,
        limit: int,
        after: tuple[str, str, str] | None = None,
    ) -> list[Row]:
        """Watch rows due at ``now``, earliest first: ``young_person_id``,
        ``transition_id``, ``next_action`` (raise, escalate), ``open_alert_id`` (None for
        a raise), ``next_due_at``. ``after`` is the (next_due_at, young_person_id,
        transition_id) of the last row of a previous page. Uses the due-time index: the
        cost grows with the rows returned, not with the rows watched."""
        if limit <= 0:
            return []
        where = "next_due_at <= %s"
        params: list[Any] = [iso_utc(now)]
        if after is not None:
            where += " AND (next_due_at, young_person_id, transition_id) > (%s, %s, %s)"
            params += after
        params.append(limit)
        return cur.execute(
            "SELECT young_person_id, transition_id, next_action, open_alert_id, next_due_at "
            f"FROM {WATCH} WHERE {where} "
            "ORDER BY next_due_at, young_person_id, transition_id LIMIT %s",
            params,
        ).fetchall()

    @staticmethod
    def alerts(
        cur: ViewCursor,
        statuses: Sequence[str] | None = None,
        team_id: str | None = None,
        counsellor_id: str | None = None,
        young_person_ids: Sequence[str] | None = None,
        after: tuple[str, str] | None = None,
        limit: int = 50,
    ) -> list[Row]:
        """Alerts newest first (``raised_at`` then ``alert_id``, both descending), filtered
        by status, team, counsellor and young people (None: any; an empty sequence:
        none). ``after`` is the (raised_at, alert_id) of the last row of the previous
        page."""
        if limit <= 0:
            return []
        if (statuses is not None and not statuses) or (
            young_person_ids is not None and not young_person_ids
        ):
            return []
        conditions: list[str] = []
        params: list[Any] = []
        if statuses is not None:
            conditions.append("status = ANY(%s)")
            params.append(list(dict.fromkeys(statuses)))
        if team_id is not None:
            conditions.append("team_id = %s")
            params.append(team_id)
        if counsellor_id is not None:
            conditions.append("counsellor_id = %s")
            params.append(counsellor_id)
        if young_person_ids is not None:
            conditions.append("young_person_id = ANY(%s)")
            params.append(list(dict.fromkeys(young_person_ids)))
        if after is not None:
            conditions.append("(raised_at < %s OR (raised_at = %s AND alert_id < %s))")
            params += [after[0], after[0], after[1]]
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        params.append(limit)
        return cur.execute(
            f"{_SELECT_ALERTS}{where} ORDER BY raised_at DESC, alert_id DESC LIMIT %s", params
        ).fetchall()

    @staticmethod
    def open_for(cur: ViewCursor, young_person_ids: Sequence[str]) -> dict[str, list[Row]]:
        """The open (or acknowledged) alerts of each young person, newest first; ids
        without any map to ``[]``."""
        return rows_by(
            young_person_ids,
            "young_person_id",
            lambda ids: cur.execute(
                f"{_SELECT_ALERTS} WHERE young_person_id = ANY(%s) AND status <> '{RESOLVED}' "
                "ORDER BY young_person_id, raised_at DESC, alert_id DESC",
                (ids,),
            ).fetchall(),
        )

    @staticmethod
    def raised_after(cur: ViewCursor, position: int, limit: int) -> list[Row]:
        """Alerts raised after log position ``position``, in log order (a live feed
        resumes from the last ``raised_position`` it saw)."""
        if limit <= 0:
            return []
        return cur.execute(
            f"{_SELECT_ALERTS} WHERE raised_position > %s ORDER BY raised_position LIMIT %s",
            (position, limit),
        ).fetchall()

    @staticmethod
    def get(cur: ViewCursor, alert_id: str) -> Row | None:
        """One alert by id (hex), or None."""
        return cur.execute(f"{_SELECT_ALERTS} WHERE alert_id = %s", (alert_id,)).fetchone()

    @staticmethod
    def count_open(cur: ViewCursor, team_id: str | None = None) -> int:
        """How many alerts are open or acknowledged (of one team, or of all)."""
        sql = f"SELECT COUNT(*) AS open_alerts FROM {ALERTS} WHERE status = ANY(%s)"
        params: list[Any] = [list(OPEN_STATUSES)]
        if team_id is not None:
            sql += " AND team_id = %s"
            params.append(team_id)
        row = cur.execute(sql, params).fetchone()
        return 0 if row is None else int(row["open_alerts"])

    @staticmethod
    def watched(cur: ViewCursor, young_person_ids: Sequence[str]) -> dict[str, list[Row]]:
        """The watch rows of each young person (all columns), by transition id."""
        return rows_by(
            young_person_ids,
            "young_person_id",
            lambda ids: cur.execute(
                f"SELECT {', '.join(WATCH_COLUMNS)} FROM {WATCH} WHERE young_person_id = ANY(%s) "
                "ORDER BY young_person_id, transition_id",
                (ids,),
            ).fetchall(),
        )

    @staticmethod
    def policy_fingerprint(cur: ViewCursor) -> str | None:
        """The fingerprint of the thresholds the view was built with (None: not set up)."""
        row = cur.execute(f"SELECT fingerprint FROM {POLICY} WHERE singleton = 1").fetchone()
        return None if row is None else str(row["fingerprint"])
