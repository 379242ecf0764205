"""The decision audit read model: every authority decision with its legal completeness.

``decision_audit`` holds one row per decision (readiness assessment, education injunction
and its revisions, sanction, other decision): who decided and when, the completeness facts
the checks of :mod:`projections.decision_checks` read (whether each required text was
present, never the text), the dual role (was the decider the young person's counsellor at
the time, and which role did they declare), the appeal's course, and the provenance: what
the decider could see on the day.

Provenance is computed once, when the decision is projected, from the facts the projection
has seen before the decision in log order whose ``occurred_at`` lies in the
``PROVENANCE_DAYS`` up to the decision's ``occurred_at``: contacts (attempted and reached,
by channel), the plan (drafted? milestones open, reached, missed) and institution signals
(absence, concern, dropout). Anything recorded after the decision, also a contact
backdated to before it, leaves it as it was: it shows what the decider could have seen.
The counsellor "at the decision" is likewise the one assigned before it in log order.

``decision_audit_facts`` keeps those facts compactly (one row per contact, signal, plan
draft and milestone change: a time, a kind, a channel or milestone id, no text) and
``decision_audit_people`` each young person's current counsellor.

Personal data: none is kept. Once a young person's personal data is erased, whether their
decisions' texts were present can no longer be read from the log (the texts decode as
None), so the audit forgets it too (those checks answer "cannot tell") and a rebuild gives
the same rows; the helper rows of an erased person are deleted (nothing may follow an
erasure). Dates, kinds, counts and the appeal course stay, for the audit's statistics.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import singledispatchmethod
from typing import Any, cast
from uuid import UUID

from domain.decisions import is_present
from domain.vocabulary import Channel, DecisionStatus, Direction, MilestoneStatus
from domain.young_person_events import (
    AbsenceReported,
    AppealDecided,
    ConcernReported,
    ContactRecorded,
    CounsellorAssigned,
    DecisionAppealed,
    DecisionRecorded,
    DecisionRevoked,
    DropoutReported,
    EducationInjunctionIssued,
    EducationInjunctionRevised,
    Enrolled,
    MilestoneDropped,
    MilestoneMissed,
    MilestoneReached,
    MilestoneRescheduled,
    MilestoneSet,
    PersonalDataErased,
    PlanDrafted,
    ReadinessAssessed,
    SanctionDecided,
    YoungPersonEvent,
)
from projections.base import PositionedEvent, Projection
from projections.columns import iso_date, iso_utc, parse_utc
from projections.decision_checks import (
    PROVENANCE_DAYS,
    completeness,
    evaluate,
    sanction_rule_at,
)
from projections.dispatch import Handlers
from projections.store import Row, ViewCursor, rows_by

AUDIT = "decision_audit"
FACTS = "decision_audit_facts"
PEOPLE = "decision_audit_people"

_LOAD_CHUNK = 500
"""Ids per ``= ANY(...)``: SQLite binds each id as its own parameter."""

# What a fact row records (``decision_audit_facts.fact``).
CONTACT = "contact"
ABSENCE = "absence"
CONCERN = "concern"
DROPOUT = "dropout"
PLAN = "plan"
MILESTONE = "milestone"
_SIGNALS = {ABSENCE: "absences", CONCERN: "concerns", DROPOUT: "dropouts"}

AUDIT_COLUMNS = (
    "decision_id",
    "young_person_id",
    "position",
    "kind",
    "event_type",
    "readiness_level",
    "revises_decision_id",
    "occurred_at",
    "recorded_at",
    "decided_by",
    "declared_role",
    "mentor_id",
    "fully_in_favour",
    "notified_via",
    "legal_basis_present",
    "reasons_present",
    "considerations_present",
    "facts_present",
    "hearing_held_on",
    "hearing_reason_present",
    "appeal_guidance_present",
    "education_goal_present",
    "deadline",
    "support_offered_present",
    "drawn_up_with_young_person",
    "sanction_rule_version",
    "sanction_attempts",
    "sanction_reached",
    "contacts",
    "contacts_reached",
    "contacts_by_channel",
    "plan_drafted",
    "milestones_open",
    "milestones_reached",
    "milestones_missed",
    "absences",
    "concerns",
    "dropouts",
    "complete",
    "personal_data_erased",
    "status",
    "appealed_at",
    "appeal_outcome",
    "appeal_decided_at",
    "revoked_at",
    "superseded_by",
    "superseded_at",
)
_AUDIT_DDL = (
    "decision_id TEXT PRIMARY KEY, young_person_id TEXT NOT NULL, position BIGINT NOT NULL, "
    "kind TEXT NOT NULL, event_type TEXT NOT NULL, readiness_level TEXT, "
    "revises_decision_id TEXT, occurred_at TEXT NOT NULL, recorded_at TEXT NOT NULL, "
    "decided_by TEXT NOT NULL, declared_role TEXT NOT NULL, mentor_id TEXT, "
    "fully_in_favour INTEGER NOT NULL, notified_via TEXT NOT NULL, "
    "legal_basis_present INTEGER NOT NULL, reasons_present INTEGER, "
    "considerations_present INTEGER, facts_present INTEGER, hearing_held_on TEXT, "
    "hearing_reason_present INTEGER, appeal_guidance_present INTEGER, "
    "education_goal_present INTEGER, deadline TEXT, support_offered_present INTEGER, "
    "drawn_up_with_young_person INTEGER, sanction_rule_version INTEGER, "
    "sanction_attempts INTEGER, sanction_reached INTEGER, contacts INTEGER NOT NULL, "
    "contacts_reached INTEGER NOT NULL, contacts_by_channel TEXT NOT NULL, "
    "plan_drafted INTEGER NOT NULL, milestones_open INTEGER NOT NULL, "
    "milestones_reached INTEGER NOT NULL, milestones_missed INTEGER NOT NULL, "
    "absences INTEGER NOT NULL, concerns INTEGER NOT NULL, dropouts INTEGER NOT NULL, "
    "complete INTEGER, personal_data_erased INTEGER NOT NULL, status TEXT NOT NULL, "
    "appealed_at TEXT, appeal_outcome TEXT, appeal_decided_at TEXT, revoked_at TEXT, "
    "superseded_by TEXT, superseded_at TEXT"
)
FACT_COLUMNS = ("position", "young_person_id", "occurred_at", "fact", "subject", "state", "reached")

_TEXT_FACTS = (
    "reasons_present",
    "considerations_present",
    "facts_present",
    "hearing_reason_present",
    "appeal_guidance_present",
    "education_goal_present",
    "support_offered_present",
)
"""Row columns read from personal texts: unknown (NULL) once the person is erased."""

_EVENTS = (
    DecisionRecorded,
    DecisionAppealed,
    AppealDecided,
    DecisionRevoked,
    ContactRecorded,
    AbsenceReported,
    ConcernReported,
    DropoutReported,
    PlanDrafted,
    MilestoneSet,
    MilestoneReached,
    MilestoneMissed,
    MilestoneRescheduled,
    MilestoneDropped,
    Enrolled,
    CounsellorAssigned,
    PersonalDataErased,
)
_REFERS_TO_DECISION = (DecisionAppealed, AppealDecided, DecisionRevoked)

Fact = tuple[str, str, str | None, str | None, int | None]
"""A fact as the provenance reads it: occurred_at, fact, subject, state, reached."""


@dataclass
class _Batch:
    """What one batch reads and writes. Decision rows are keyed by decision id hex;
    ``stored`` holds the loaded rows' values, so only changed rows are written."""

    decisions: dict[str, Row] = field(default_factory=dict)
    stored: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    counsellors: dict[str, str | None] = field(default_factory=dict)
    reassigned: set[str] = field(default_factory=set)
    history: dict[str, list[Fact]] = field(default_factory=dict)
    """Everything seen so far, in log order, of the young people deciding in this batch."""
    new_facts: list[tuple[Any, ...]] = field(default_factory=list)
    erased: list[str] = field(default_factory=list)


class DecisionAuditProjection(Projection):
    """Keeps ``decision_audit`` (and its two helper tables) up to date."""

    name = "decision_audit"
    base_tables = (AUDIT, FACTS, PEOPLE)

    def __init__(self) -> None:
        super().__init__()
        self._rules = Handlers(type(self), "apply", _EVENTS)

    def create_tables(self, cur: ViewCursor) -> None:
        audit, facts, people = self.table(AUDIT), self.table(FACTS), self.table(PEOPLE)
        cur.execute(f"CREATE TABLE IF NOT EXISTS {audit} ({_AUDIT_DDL})")
        cur.execute(
            f"CREATE INDEX IF NOT EXISTS {audit}_by_time ON {audit} (occurred_at, decision_id)"
        )
        cur.execute(f"CREATE INDEX IF NOT EXISTS {audit}_by_person ON {audit} (young_person_id)")
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {facts} ("
            "position BIGINT PRIMARY KEY, young_person_id TEXT NOT NULL, "
            "occurred_at TEXT NOT NULL, fact TEXT NOT NULL, subject TEXT, state TEXT, "
            "reached INTEGER)"
        )
        cur.execute(
            f"CREATE INDEX IF NOT EXISTS {facts}_by_person ON {facts} (young_person_id, position)"
        )
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {people} ("
            "young_person_id TEXT PRIMARY KEY, counsellor_id TEXT)"
        )

    def process(self, cur: ViewCursor, events: Sequence[PositionedEvent]) -> None:
        rules = self._rules
        relevant = [
            (position, cast(YoungPersonEvent, event), rule)
            for position, event in events
            if (rule := rules(type(event)))
        ]
        if not relevant:
            return
        batch = self._load(cur, [(position, event) for position, event, _ in relevant])
        for position, event, rule in relevant:
            rule(self, event, position, batch)
        self._save(cur, batch)

    # --- load and save ---------------------------------------------------------------------

    def _load(self, cur: ViewCursor, events: Sequence[tuple[int, YoungPersonEvent]]) -> _Batch:
        batch = _Batch()
        deciding: dict[str, datetime] = {}  # person: their earliest decision in the batch
        wanted: list[str] = []  # decisions made before this batch that it refers to
        erased: list[str] = []
        for _, event in events:
            person = event.originator_id.hex
            if isinstance(event, DecisionRecorded):
                earliest = deciding.get(person)
                if earliest is None or event.occurred_at < earliest:
                    deciding[person] = event.occurred_at
                if isinstance(event, EducationInjunctionRevised):
                    wanted.append(event.revises_decision_id.hex)
            elif isinstance(event, _REFERS_TO_DECISION):
                wanted.append(event.decision_id.hex)
            elif isinstance(event, PersonalDataErased):
                erased.append(person)
        if deciding:
            self._load_history(cur, batch, deciding)
        self._load_decisions(cur, batch, "decision_id", list(dict.fromkeys(wanted)))
        self._load_decisions(cur, batch, "young_person_id", erased)
        return batch

    def _load_history(self, cur: ViewCursor, batch: _Batch, deciding: dict[str, datetime]) -> None:
        people = list(deciding)
        # Contacts and signals older than the provenance window of the batch's earliest
        # decision cannot count; plan and milestone facts always can.
        since = iso_utc(min(deciding.values()) - timedelta(days=PROVENANCE_DAYS))
        for person in people:
            batch.history[person] = []
            batch.counsellors.setdefault(person, None)
        for start in range(0, len(people), _LOAD_CHUNK):
            chunk = people[start : start + _LOAD_CHUNK]
            for row in cur.execute(
                f"SELECT young_person_id, counsellor_id FROM {self.table(PEOPLE)} "
                "WHERE young_person_id = ANY(%s)",
                (chunk,),
            ).fetchall():
                batch.counsellors[row["young_person_id"]] = row["counsellor_id"]
            rows = cur.execute(
                f"SELECT {', '.join(FACT_COLUMNS)} FROM {self.table(FACTS)} "
                "WHERE young_person_id = ANY(%s) AND (occurred_at >= %s OR fact IN (%s, %s)) "
                "ORDER BY position",
                (chunk, since, PLAN, MILESTONE),
            ).fetchall()
            for row in rows:
                batch.history[row["young_person_id"]].append(
                    (row["occurred_at"], row["fact"], row["subject"], row["state"], row["reached"])
                )

    def _load_decisions(self, cur: ViewCursor, batch: _Batch, column: str, ids: list[str]) -> None:
        for start in range(0, len(ids), _LOAD_CHUNK):
            rows = cur.execute(
                f"SELECT {', '.join(AUDIT_COLUMNS)} FROM {self.table(AUDIT)} "
                f"WHERE {column} = ANY(%s)",
                (ids[start : start + _LOAD_CHUNK],),
            ).fetchall()
            for row in rows:
                batch.decisions[row["decision_id"]] = row
                batch.stored[row["decision_id"]] = _values(row)

    def _save(self, cur: ViewCursor, batch: _Batch) -> None:
        cur.copy_rows(self.table(FACTS), FACT_COLUMNS, batch.new_facts)
        cur.upsert_rows(
            self.table(PEOPLE),
            ("young_person_id", "counsellor_id"),
            [(person, batch.counsellors[person]) for person in batch.reassigned],
            key=("young_person_id",),
        )
        changed = [
            values
            for key, row in batch.decisions.items()
            if (values := _values(row)) != batch.stored.get(key)
        ]
        cur.upsert_rows(self.table(AUDIT), AUDIT_COLUMNS, changed, key=("decision_id",))
        for start in range(0, len(batch.erased), _LOAD_CHUNK):
            # After the inserts: nothing of an erased person follows the erasure in the log.
            chunk = batch.erased[start : start + _LOAD_CHUNK]
            for table in (self.table(FACTS), self.table(PEOPLE)):
                cur.execute(f"DELETE FROM {table} WHERE young_person_id = ANY(%s)", (chunk,))

    # --- applying one event ----------------------------------------------------------------

    @singledispatchmethod
    def apply(self, event: YoungPersonEvent, position: int, batch: _Batch) -> None:
        raise TypeError(f"no decision audit rule for {type(event).__name__}")

    def _fact(
        self,
        batch: _Batch,
        position: int,
        event: YoungPersonEvent,
        fact: str,
        subject: str | None = None,
        state: str | None = None,
        reached: int | None = None,
    ) -> None:
        person, at = event.originator_id.hex, iso_utc(event.occurred_at)
        batch.new_facts.append((position, person, at, fact, subject, state, reached))
        history = batch.history.get(person)
        if history is not None:
            history.append((at, fact, subject, state, reached))

    @apply.register
    def _(self, event: ContactRecorded, position: int, batch: _Batch) -> None:
        self._fact(
            batch,
            position,
            event,
            CONTACT,
            event.channel.value,
            event.direction.value,
            int(event.reached),
        )

    @apply.register
    def _(self, event: AbsenceReported, position: int, batch: _Batch) -> None:
        self._fact(batch, position, event, ABSENCE)

    @apply.register
    def _(self, event: ConcernReported, position: int, batch: _Batch) -> None:
        self._fact(batch, position, event, CONCERN)

    @apply.register
    def _(self, event: DropoutReported, position: int, batch: _Batch) -> None:
        self._fact(batch, position, event, DROPOUT)

    @apply.register
    def _(self, event: PlanDrafted, position: int, batch: _Batch) -> None:
        self._fact(batch, position, event, PLAN)

    @apply.register
    def _(self, event: MilestoneSet, position: int, batch: _Batch) -> None:
        self._milestone(batch, position, event, MilestoneStatus.OPEN)

    @apply.register
    def _(self, event: MilestoneRescheduled, position: int, batch: _Batch) -> None:
        self._milestone(batch, position, event, MilestoneStatus.OPEN)

    @apply.register
    def _(self, event: MilestoneReached, position: int, batch: _Batch) -> None:
        self._milestone(batch, position, event, MilestoneStatus.REACHED)

    @apply.register
    def _(self, event: MilestoneMissed, position: int, batch: _Batch) -> None:
        self._milestone(batch, position, event, MilestoneStatus.MISSED)

    @apply.register
    def _(self, event: MilestoneDropped, position: int, batch: _Batch) -> None:
        self._milestone(batch, position, event, MilestoneStatus.DROPPED)

    def _milestone(
        self,
        batch: _Batch,
        position: int,
        event: MilestoneSet
        | MilestoneRescheduled
        | MilestoneReached
        | MilestoneMissed
        | MilestoneDropped,
        status: MilestoneStatus,
    ) -> None:
        self._fact(batch, position, event, MILESTONE, event.milestone_id.hex, status.value)

    @apply.register
    def _(self, event: Enrolled, position: int, batch: _Batch) -> None:
        self._assign(batch, event.originator_id.hex, event.counsellor_id)

    @apply.register
    def _(self, event: CounsellorAssigned, position: int, batch: _Batch) -> None:
        self._assign(batch, event.originator_id.hex, event.counsellor_id)

    @staticmethod
    def _assign(batch: _Batch, person: str, counsellor: UUID) -> None:
        batch.counsellors[person] = counsellor.hex
        batch.reassigned.add(person)

    @apply.register
    def _(self, event: DecisionRecorded, position: int, batch: _Batch) -> None:
        person = event.originator_id.hex
        row = _decision_row(event, position, batch.counsellors.get(person))
        row.update(_provenance(batch.history.get(person, []), event.occurred_at))
        if isinstance(event, SanctionDecided):
            row.update(_attempts_before(batch.history.get(person, []), event.occurred_at))
        row["complete"] = _complete(row)
        batch.decisions[row["decision_id"]] = row
        if isinstance(event, EducationInjunctionRevised):
            revised = batch.decisions.get(event.revises_decision_id.hex)
            if revised is not None:
                revised["status"] = DecisionStatus.SUPERSEDED.value
                revised["superseded_by"] = row["decision_id"]
                revised["superseded_at"] = row["occurred_at"]

    @apply.register
    def _(self, event: DecisionAppealed, position: int, batch: _Batch) -> None:
        row = batch.decisions.get(event.decision_id.hex)
        if row is not None:
            row["status"] = DecisionStatus.APPEALED.value
            row["appealed_at"] = iso_utc(event.occurred_at)

    @apply.register
    def _(self, event: AppealDecided, position: int, batch: _Batch) -> None:
        row = batch.decisions.get(event.decision_id.hex)
        if row is not None:
            row["status"] = DecisionStatus.APPEAL_DECIDED.value
            row["appeal_outcome"] = event.outcome.value
            row["appeal_decided_at"] = iso_utc(event.occurred_at)

    @apply.register
    def _(self, event: DecisionRevoked, position: int, batch: _Batch) -> None:
        row = batch.decisions.get(event.decision_id.hex)
        if row is not None:
            row["status"] = DecisionStatus.REVOKED.value
            row["revoked_at"] = iso_utc(event.occurred_at)

    @apply.register
    def _(self, event: PersonalDataErased, position: int, batch: _Batch) -> None:
        person = event.originator_id.hex
        batch.erased.append(person)
        for row in batch.decisions.values():
            if row["young_person_id"] == person:
                _forget_texts(row)
                row["complete"] = _complete(row)


# --- building a row ----------------------------------------------------------------------------


def _present(text: str | None) -> int:
    return int(is_present(text))


def _decision_row(event: DecisionRecorded, position: int, mentor: str | None) -> Row:
    # A decision's texts decode as None once the person's key is shredded (a rebuild after
    # an erasure); reasons is never None otherwise.
    shredded = event.reasons is None
    row: Row = dict.fromkeys(AUDIT_COLUMNS)
    row.update(
        decision_id=event.decision_id.hex,
        young_person_id=event.originator_id.hex,
        position=position,
        kind=event.DECISION_KIND.value,
        event_type=type(event).__name__,
        occurred_at=iso_utc(event.occurred_at),
        recorded_at=iso_utc(event.timestamp),
        decided_by=event.decided_by.hex,
        declared_role=event.declared_role.value,
        mentor_id=mentor,
        fully_in_favour=int(event.fully_in_favour),
        notified_via=event.notified_via.value,
        legal_basis_present=_present(event.legal_basis),
        reasons_present=_present(event.reasons),
        considerations_present=_present(event.main_considerations),
        facts_present=_present(event.facts_relied_on),
        hearing_held_on=iso_date(event.hearing_held_on),
        hearing_reason_present=_present(event.hearing_omitted_reason),
        appeal_guidance_present=_present(event.appeal_guidance),
        personal_data_erased=0,
        status=DecisionStatus.IN_FORCE.value,
    )
    if isinstance(event, ReadinessAssessed):
        row["readiness_level"] = event.level.value
    if isinstance(event, EducationInjunctionIssued | EducationInjunctionRevised):
        row.update(
            education_goal_present=_present(event.education_goal),
            deadline=iso_date(event.deadline),
            support_offered_present=_present(event.support_offered),
            drawn_up_with_young_person=int(event.drawn_up_with_young_person),
        )
    if isinstance(event, EducationInjunctionRevised):
        row["revises_decision_id"] = event.revises_decision_id.hex
    if shredded:
        _forget_texts(row)
    return row


def _forget_texts(row: Row) -> None:
    """What was read from personal texts is no longer known (see the module docstring)."""
    row["personal_data_erased"] = 1
    for column in _TEXT_FACTS:
        row[column] = None


def _complete(row: Row) -> int | None:
    complete = completeness(evaluate(row))
    return None if complete is None else int(complete)


def _provenance(history: Iterable[Fact], at: datetime) -> Row:
    """What the decider could see at ``at``: see the module docstring."""
    until, since = iso_utc(at), iso_utc(at - timedelta(days=PROVENANCE_DAYS))
    contacts, reached = 0, 0
    by_channel: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    signals = dict.fromkeys(_SIGNALS.values(), 0)
    plan_drafted = False
    milestones: dict[str, str] = {}
    for occurred_at, fact, subject, state, was_reached in history:
        if occurred_at > until:
            continue
        if fact == MILESTONE:
            # Log order: the last change known by then stands. A change to a milestone
            # set only after the decision's time is not yet part of the plan.
            if state == MilestoneStatus.OPEN.value or subject in milestones:
                milestones[cast(str, subject)] = cast(str, state)
        elif fact == PLAN:
            plan_drafted = True
        elif occurred_at < since:
            continue
        elif fact == CONTACT:
            counts = by_channel[cast(str, subject)]
            counts[0] += 1
            contacts += 1
            if was_reached:
                counts[1] += 1
                reached += 1
        else:
            signals[_SIGNALS[fact]] += 1
    statuses = list(milestones.values())
    channels = {
        channel.value: by_channel[channel.value]
        for channel in Channel
        if channel.value in by_channel
    }
    return {
        "contacts": contacts,
        "contacts_reached": reached,
        "contacts_by_channel": json.dumps(channels, separators=(",", ":")),
        "plan_drafted": int(plan_drafted),
        "milestones_open": statuses.count(MilestoneStatus.OPEN.value),
        "milestones_reached": statuses.count(MilestoneStatus.REACHED.value),
        "milestones_missed": statuses.count(MilestoneStatus.MISSED.value),
        **signals,
    }


def _attempts_before(history: Iterable[Fact], at: datetime) -> Row:
    """The attempts to reach the young person before a sanction at ``at``, under the rule
    version in force then: outgoing contacts (answered or not) and any reached contact."""
    rule = sanction_rule_at(at)
    until, since = iso_utc(at), iso_utc(at - timedelta(days=rule.window_days))
    attempts, reached = 0, 0
    for occurred_at, fact, _, direction, was_reached in history:
        if fact != CONTACT or not since <= occurred_at <= until:
            continue
        if was_reached:
            reached += 1
            attempts += 1
        elif direction == Direction.OUTGOING.value:
            attempts += 1
    return {
        "sanction_rule_version": rule.version,
        "sanction_attempts": attempts,
        "sanction_reached": reached,
    }


def _values(row: Row) -> tuple[Any, ...]:
    return tuple(row[column] for column in AUDIT_COLUMNS)


# --- the view: reads for the API ------------------------------------------------------------


@dataclass(frozen=True)
class AuditCursor:
    """A position in the audit: just after the decision with these values (keyset paging)."""

    occurred_at: str
    decision_id: str

    @classmethod
    def after_row(cls, row: Row) -> AuditCursor:
        return cls(row["occurred_at"], row["decision_id"])

    def encode(self) -> str:
        """An opaque text for clients (a GraphQL ``after`` argument)."""
        raw = f"{self.occurred_at}|{self.decision_id}".encode()
        return base64.urlsafe_b64encode(raw).decode("ascii")

    @classmethod
    def decode(cls, text: str) -> AuditCursor:
        """The cursor ``encode`` made; ValueError for anything else."""
        try:
            occurred_at, decision_id = (
                base64.urlsafe_b64decode(text.encode("ascii")).decode().split("|")
            )
            parse_utc(occurred_at)
            UUID(hex=decision_id)
        except (ValueError, UnicodeError, binascii.Error):
            raise ValueError("not a decision audit cursor") from None
        return cls(occurred_at, decision_id)


@dataclass(frozen=True)
class AuditFilter:
    """Which decisions: ``occurred_at`` in [since, until) (either end open when None), and
    with ``incomplete_only`` just those with a failed check (not those that cannot tell)."""

    since: datetime | None = None
    until: datetime | None = None
    incomplete_only: bool = False

    def where(self, after: AuditCursor | None = None) -> tuple[str, list[Any]]:
        conditions: list[str] = ["1 = 1"]
        params: list[Any] = []
        if self.since is not None:
            conditions.append("occurred_at >= %s")
            params.append(iso_utc(self.since))
        if self.until is not None:
            conditions.append("occurred_at < %s")
            params.append(iso_utc(self.until))
        if self.incomplete_only:
            conditions.append("complete = 0")
        if after is not None:
            conditions.append("(occurred_at > %s OR (occurred_at = %s AND decision_id > %s))")
            params += [after.occurred_at, after.occurred_at, after.decision_id]
        return " AND ".join(conditions), params


_BOOLEANS = (
    "fully_in_favour",
    "legal_basis_present",
    "plan_drafted",
    "personal_data_erased",
)


def _entry(row: Row) -> Row:
    entry = dict(row)
    entry["checks"] = evaluate(row)
    entry["complete"] = None if row["complete"] is None else bool(row["complete"])
    for column in _BOOLEANS:
        entry[column] = bool(row[column])
    entry["contacts_by_channel"] = {
        channel: (int(counts[0]), int(counts[1]))
        for channel, counts in json.loads(row["contacts_by_channel"]).items()
    }
    mentor = row["mentor_id"]
    entry["decider_is_mentor"] = mentor is not None and mentor == row["decided_by"]
    return entry


class DecisionAuditView:
    """Queries of ``decision_audit``, oldest decision first (then by decision id).

    Entries are the row's columns (see ``AUDIT_COLUMNS``; times as UTC ISO text, dates as
    ``YYYY-MM-DD``, ids as hex) with ``complete``, ``fully_in_favour``,
    ``legal_basis_present``, ``plan_drafted`` and ``personal_data_erased`` as truth values
    (``complete`` None when it cannot tell), ``contacts_by_channel`` as
    ``{channel: (contacts, reached)}``, ``decider_is_mentor`` and ``checks`` (the
    :class:`~projections.decision_checks.Check` list that applies).
    """

    @staticmethod
    def page(
        cur: ViewCursor, which: AuditFilter, *, limit: int, after: AuditCursor | None = None
    ) -> list[Row]:
        where, params = which.where(after)
        rows = cur.execute(
            f"SELECT {', '.join(AUDIT_COLUMNS)} FROM {AUDIT} WHERE {where} "
            "ORDER BY occurred_at, decision_id LIMIT %s",
            [*params, limit],
        ).fetchall()
        return [_entry(row) for row in rows]

    @staticmethod
    def count(cur: ViewCursor, which: AuditFilter) -> int:
        where, params = which.where()
        row = cur.execute(f"SELECT COUNT(*) AS n FROM {AUDIT} WHERE {where}", params).fetchone()
        return int(row["n"]) if row else 0

    @staticmethod
    def of_decisions(cur: ViewCursor, decision_ids: Sequence[str]) -> dict[str, Row]:
        """The entries of these decisions (ids in hex), keyed by id; unknown ids are absent."""
        ids = list(dict.fromkeys(decision_ids))
        if not ids:
            return {}
        rows = cur.execute(
            f"SELECT {', '.join(AUDIT_COLUMNS)} FROM {AUDIT} WHERE decision_id = ANY(%s)",
            (ids,),
        ).fetchall()
        return {row["decision_id"]: _entry(row) for row in rows}

    @staticmethod
    def of_young_people(cur: ViewCursor, young_person_ids: Sequence[str]) -> dict[str, list[Row]]:
        """Each young person's decisions (ids in hex), newest first (by when decided, then
        by log position), keyed by young person id; ids without decisions map to ``[]``.
        One statement for all of them."""
        return rows_by(
            young_person_ids,
            "young_person_id",
            lambda ids: [
                _entry(row)
                for row in cur.execute(
                    f"SELECT {', '.join(AUDIT_COLUMNS)} FROM {AUDIT} "
                    "WHERE young_person_id = ANY(%s) ORDER BY occurred_at DESC, position DESC",
                    (ids,),
                ).fetchall()
            ],
        )
