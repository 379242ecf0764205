"""The timeline read model: per young person, every fact in ``occurred_at`` order, for people.

Each event of a young person's stream becomes one row: when it happened and when it was
recorded, who recorded it in which role, a one-line English summary and the event's fields
as JSON. Counsellor and Institution events are not part of anyone's timeline.

Summaries are built from closed vocabularies, dates and numbers only, never from free text
or names (those stay in ``details``), so a summary is safe to show in a list and stays
meaningful once personal data has been erased.

On ``PersonalDataErased`` every row of the young person keeps its time, type, actor and
summary (so statistics and the fact that a contact happened survive), while each event
type's personal fields are set to null in ``details`` and the row is marked
``personal_data_erased``. A rebuild after the person's key was shredded reads those fields
as None and reaches the same rows.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time
from enum import Enum
from functools import cache, singledispatchmethod
from operator import attrgetter
from typing import Any, cast
from uuid import UUID

from domain import young_person_events
from domain.actors import Actor
from domain.vocabulary import (
    AlertResolution,
    AlertSeverity,
    AppealOutcome,
    CaseOutcome,
    Channel,
    ConsentScope,
    Direction,
    ErasureRequester,
    Place,
    Purpose,
    ReadinessLevel,
    TransitionKind,
    TransitionStep,
)
from domain.young_person_events import (
    AbsenceReported,
    AlertAcknowledged,
    AlertEscalated,
    AlertRaised,
    AlertResolved,
    AlertSeverityRaised,
    AppealDecided,
    CaseClosed,
    CaseReopened,
    ConcernReported,
    ConsentRecorded,
    ConsentWithdrawn,
    ContactRecorded,
    CounsellorAssigned,
    DecisionAppealed,
    DecisionRecorded,
    DecisionRevoked,
    DropoutReported,
    EducationInjunctionIssued,
    EducationInjunctionRevised,
    EducationStarted,
    Enrolled,
    MilestoneDropped,
    MilestoneMissed,
    MilestoneReached,
    MilestoneRescheduled,
    MilestoneSet,
    OtherDecisionMade,
    PersonalDataErased,
    PlanDrafted,
    PlanReviewed,
    ReadinessAssessed,
    ReferralReviewed,
    Referred,
    SanctionDecided,
    SubjectAccessExported,
    TransitionAbandoned,
    TransitionCompleted,
    TransitionStarted,
    TransitionStepRecorded,
    WakeUpAgreed,
    WakeUpEnded,
    YoungPersonEvent,
)
from projections.base import DomainEvent, PositionedEvent, Projection
from projections.columns import iso_utc
from projections.dispatch import Handler, Handlers
from projections.store import DuplicateRowError, Row, ViewCursor, add_column_if_missing

_RESOLUTION = {
    AlertResolution.CONTACT_REACHED: "contact reached",
    AlertResolution.BY_HAND: "by hand",
    AlertResolution.TRANSITION_ENDED: "the transition ended",
    AlertResolution.CASE_CLOSED: "the case was closed",
}

TABLE = "timeline_entries"
ERASED_COLUMN = "personal_data_erased"

_ENVELOPE = frozenset(
    {"originator_id", "originator_version", "originator_topic", "timestamp", "occurred_at", "actor"}
)
"""Event attributes that have columns of their own (or mean nothing to people)."""
_ENVELOPE_FIELDS = tuple(_ENVELOPE)


def _plain(value: Any) -> Any:
    """A JSON-ready form of an event field: enums as values, dates ISO, ids hex."""
    if isinstance(value, Enum):
        return _plain(value.value)
    if isinstance(value, UUID):
        return value.hex
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, Actor):
        return {"id": value.id, "role": value.role.value}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    return value


def event_fields(event: DomainEvent) -> dict[str, Any]:
    """The event's own fields in JSON-ready form (without the envelope: ids, times, actor)."""
    return {k: _plain(v) for k, v in vars(event).items() if k not in _ENVELOPE}


def details_json(event: DomainEvent) -> str:
    """The event's own fields as compact JSON with sorted keys: the ``details`` column."""
    if _declares_mappings(type(event)):
        return _dumps(event_fields(event))
    # The encoder asks _json_ready only for what JSON lacks (ids, times, vocabularies), by
    # then deep in its C loop: about twice as fast as _plain on every field first, and
    # the same text (a test compares them).
    fields = vars(event).copy()
    for name in _ENVELOPE_FIELDS:
        fields.pop(name, None)
    return _encode_details(fields)


def _dumps(fields: dict[str, Any]) -> str:
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _actor_fields(actor: Actor) -> dict[str, Any]:
    return {"id": actor.id, "role": actor.role.value}


def _converter(cls: type) -> Callable[[Any], Any] | None:
    """How ``_plain`` makes a value of ``cls`` JSON-ready; None when JSON cannot take it."""
    if issubclass(cls, Enum):
        # The member's own attribute: ``.value`` goes through a descriptor first.
        return attrgetter("_value_")
    if issubclass(cls, UUID):
        return attrgetter("hex")
    if issubclass(cls, datetime):
        return iso_utc
    if issubclass(cls, date | time):
        return cls.isoformat
    if issubclass(cls, Actor):
        return _actor_fields
    if issubclass(cls, set | frozenset):
        return list
    return None


_CONVERTERS: dict[type, Callable[[Any], Any] | None] = {}


def _json_ready(value: Any) -> Any:
    """The encoder's fallback: what ``_plain`` makes of a value JSON does not know."""
    cls = type(value)
    try:
        convert = _CONVERTERS[cls]
    except KeyError:
        convert = _CONVERTERS[cls] = _converter(cls)
    if convert is None:
        raise TypeError(f"Object of type {cls.__name__} is not JSON serializable")
    return convert(value)


_encode_details = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_ready
).encode


@cache
def _declares_mappings(cls: type) -> bool:
    """Whether an event class has a field that may hold a dict, whose keys ``_plain``
    turns into text its own way (JSON would spell ``True`` or ``None`` keys otherwise)."""
    return any(
        "dict" in str(annotation) or "Mapping" in str(annotation)
        for klass in cls.__mro__
        for annotation in getattr(klass, "__annotations__", {}).values()
    )


def _personal_fields_by_type() -> dict[str, frozenset[str]]:
    """Each young person event type's name, with the names of its personal fields."""
    found: dict[str, frozenset[str]] = {}
    pending: list[type[YoungPersonEvent]] = [YoungPersonEvent]
    while pending:
        for sub in pending.pop().__subclasses__():
            if sub.__module__ == young_person_events.__name__:
                found[sub.__name__] = sub.PERSONAL
                pending.append(sub)
    return found


PERSONAL_FIELDS_BY_TYPE = _personal_fields_by_type()


def erased_details(event_type: str, details: str) -> str:
    """``details`` with the personal fields of ``event_type`` set to null.

    A type that is not (or no longer) known has every field nulled: without its
    declaration nothing in it can be shown to be non-identifying.
    """
    fields: dict[str, Any] = json.loads(details)
    personal = PERSONAL_FIELDS_BY_TYPE.get(event_type)
    return _dumps(
        {
            name: None if personal is None or name in personal else value
            for name, value in fields.items()
        }
    )


# --- words for the vocabularies ------------------------------------------------------------

_CHANNEL = {
    Channel.SMS: "by SMS",
    Channel.PHONE: "by phone",
    Channel.MEETING: "in a meeting",
    Channel.VIDEO: "by video",
    Channel.EMAIL: "by email",
    Channel.OTHER: "by other means",
}
_PLACE = {
    Place.OFFICE: "at the office",
    Place.EDUCATION_SITE: "at the education site",
    Place.HOME: "at home",
    Place.OUTDOORS: "outdoors",
    Place.CAFE: "at a cafe",
    Place.CAR: "in the car",
    Place.OTHER: "elsewhere",
}
_PURPOSE = {
    Purpose.CHECK_IN: "check-in",
    Purpose.WAKE_UP: "wake-up",
    Purpose.REMINDER: "reminder",
    Purpose.PLAN_REVIEW: "plan review",
    Purpose.PRACTICAL_HELP: "practical help",
    Purpose.CRISIS: "crisis",
    Purpose.ENCOURAGEMENT: "encouragement",
    Purpose.FOLLOW_UP: "follow-up",
    Purpose.OTHER: "other",
}
_CONSENT = {
    ConsentScope.CASE_WORK: "case work",
    ConsentScope.SMS_CONTACT: "SMS contact",
    ConsentScope.PHONE_CONTACT: "phone contact",
    ConsentScope.SHARING_WITH_INSTITUTION: "sharing with an institution",
}
_TRANSITION = {
    TransitionKind.SCHOOL_TO_YOUTH_EDUCATION: "school to youth education",
    TransitionKind.BASIC_TO_MAIN_COURSE: "basic to main course",
    TransitionKind.BENEFIT_TO_EDUCATION: "benefits to education",
    TransitionKind.OFFER_TO_OFFER: "offer to offer",
    TransitionKind.BRIDGE_BUILDING: "bridge-building trial",
    TransitionKind.EDUCATION_TO_JOB: "education to job",
}
_STEP = {
    TransitionStep.APPLIED: "applied",
    TransitionStep.ADMITTED: "admitted",
    TransitionStep.VISITED: "visited",
    TransitionStep.FIRST_DAY: "first day",
    TransitionStep.FIRST_WEEK: "first week",
    TransitionStep.FIRST_MONTH: "first month",
    TransitionStep.OTHER: "other",
}
_READINESS = {
    ReadinessLevel.OPENLY_EDUCATION_READY: "openly education-ready",
    ReadinessLevel.EDUCATION_READY: "education-ready",
    ReadinessLevel.ACTIVITY_READY: "activity-ready",
}
_APPEAL = {
    AppealOutcome.UPHELD: "upheld",
    AppealOutcome.CHANGED: "changed",
    AppealOutcome.ANNULLED: "annulled",
    AppealOutcome.REMITTED: "remitted",
}
_OUTCOME = {
    CaseOutcome.IN_EDUCATION: "in education",
    CaseOutcome.COMPLETED: "completed",
    CaseOutcome.EMPLOYED: "employed",
    CaseOutcome.MOVED: "moved",
    CaseOutcome.DECLINED_SUPPORT: "declined support",
    CaseOutcome.OTHER: "other",
}
_ERASURE = {
    ErasureRequester.YOUNG_PERSON: "at the young person's request",
    ErasureRequester.GUARDIAN: "at a guardian's request",
    ErasureRequester.RETENTION_POLICY: "under the retention policy",
    ErasureRequester.OTHER: "on other grounds",
}
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


# --- the projection ------------------------------------------------------------------------

_INSERT_COLUMNS = (
    "young_person_id",
    "position",
    "occurred_at",
    "recorded_at",
    "event_type",
    "actor_id",
    "actor_role",
    "summary",
    "details",
)


def _iso_utc(moment: datetime) -> str:
    # iso_utc, without the conversion for the times that are in UTC already (all that
    # the event store decodes): a third of its cost, twice per row.
    if moment.tzinfo is UTC:
        return moment.isoformat(timespec="microseconds")
    return iso_utc(moment)


class TimelineProjection(Projection):
    """Keeps ``timeline_entries`` up to date: one row per young person's event."""

    name = "timeline"
    base_tables = (TABLE,)

    def __init__(self) -> None:
        super().__init__()
        # Each young person event type's summary function; None for other events.
        self._summaries = Handlers(type(self), "summary", (YoungPersonEvent,))

    def create_tables(self, cur: ViewCursor) -> None:
        table = self.table(TABLE)
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {table} ("
            "young_person_id TEXT NOT NULL, position BIGINT NOT NULL, "
            "occurred_at TEXT NOT NULL, recorded_at TEXT NOT NULL, "
            "event_type TEXT NOT NULL, actor_id TEXT NOT NULL, actor_role TEXT NOT NULL, "
            "summary TEXT NOT NULL, details TEXT NOT NULL, "
            f"{ERASED_COLUMN} INTEGER NOT NULL DEFAULT 0, "
            "PRIMARY KEY (young_person_id, position))"
        )
        # Views created before erasure was purged here lack the marker column.
        add_column_if_missing(cur, table, ERASED_COLUMN, "INTEGER NOT NULL DEFAULT 0")
        cur.execute(
            f"CREATE INDEX IF NOT EXISTS {table}_by_time "
            f"ON {table} (young_person_id, occurred_at, position)"
        )

    def process(self, cur: ViewCursor, events: Sequence[PositionedEvent]) -> None:
        rows: list[tuple[Any, ...]] = []
        summaries, row = self._summaries, self._row
        for position, event in events:
            summary = summaries(type(event))
            if summary is None:
                continue
            rows.append(row(position, cast(YoungPersonEvent, event), summary))
            if isinstance(event, PersonalDataErased):
                # The person's rows of this batch must be in the table before the purge.
                self._insert(cur, rows)
                rows = []
                self._erase(cur, event.originator_id.hex)
        self._insert(cur, rows)

    def _insert(self, cur: ViewCursor, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        table = self.table(TABLE)
        try:
            # Each event is applied once (the runner's tracking sees to it) and a rebuild
            # starts from empty tables, so the rows are new: COPY them, the fastest way in.
            cur.copy_rows(table, _INSERT_COLUMNS, rows)
            return
        except DuplicateRowError:
            pass
        # Rows already there (a view replayed over its own tables by hand) are replaced
        # with the same rendering, which keeps the view a function of the event log. The
        # erasure marker is left as it is: a row once purged never claims to hold
        # personal data again.
        cur.upsert_rows(table, _INSERT_COLUMNS, rows, key=("young_person_id", "position"))

    def _erase(self, cur: ViewCursor, young_person_id: str) -> None:
        """Null the personal fields of every row of the young person and mark the rows."""
        table = self.table(TABLE)
        rows = cur.execute(
            f"SELECT position, event_type, details FROM {table} WHERE young_person_id = %s",
            (young_person_id,),
        ).fetchall()
        cur.executemany(
            f"UPDATE {table} SET details = %s, {ERASED_COLUMN} = 1 "
            "WHERE young_person_id = %s AND position = %s",
            [
                (erased_details(r["event_type"], r["details"]), young_person_id, r["position"])
                for r in rows
            ],
        )

    def row(self, position: int, event: DomainEvent) -> tuple[Any, ...] | None:
        """The timeline row of ``event``; None for events outside young people's streams."""
        summary = self._summaries(type(event))
        if summary is None:
            return None
        return self._row(position, cast(YoungPersonEvent, event), summary)

    def _row(self, position: int, event: YoungPersonEvent, summary: Handler) -> tuple[Any, ...]:
        actor = event.actor
        return (
            event.originator_id.hex,
            position,
            _iso_utc(event.occurred_at),
            _iso_utc(event.timestamp),
            type(event).__name__,
            actor.id,
            actor.role._value_,
            summary(self, event),
            details_json(event),
        )

    # --- summaries: one line of English per event type -------------------------------------

    @singledispatchmethod
    def summary(self, event: YoungPersonEvent) -> str:
        # Only reached by an event type without a summary of its own (a test keeps every
        # type covered); the class name still tells people what happened.
        return type(event).__name__

    @summary.register
    def _(self, event: Referred) -> str:
        source = "by a partner institution" if event.institution_id else "to the team"
        consent = ", ".join(_CONSENT[scope] for scope in event.consent_scopes)
        return f"Referred {source} (consent: {consent})"

    @summary.register
    def _(self, event: ReferralReviewed) -> str:
        return f"Referral reviewed: {event.outcome.value}"

    @summary.register
    def _(self, event: Enrolled) -> str:
        return f"Enrolled with a counsellor of team {event.team_id}"

    @summary.register
    def _(self, event: CounsellorAssigned) -> str:
        if event.previous_counsellor_id is None:
            return f"Counsellor assigned in team {event.team_id}"
        return f"Case handed over to another counsellor in team {event.team_id}"

    @summary.register
    def _(self, event: ConsentRecorded) -> str:
        return f"Consent given: {_CONSENT[event.scope]}"

    @summary.register
    def _(self, event: ConsentWithdrawn) -> str:
        return f"Consent withdrawn: {_CONSENT[event.scope]}"

    @summary.register
    def _(self, event: ContactRecorded) -> str:
        how = _CHANNEL[event.channel]
        if event.place is not None:
            how = f"{how} {_PLACE[event.place]}"
        lead = "Incoming contact" if event.direction is Direction.INCOMING else "Contact"
        outcome = "reached" if event.reached else "not reached"
        about = _PURPOSE[event.purpose]
        if event.duration_minutes is not None:
            about = f"{about}, {event.duration_minutes} min"
        return f"{lead} {how}: {outcome} ({about})"

    @summary.register
    def _(self, event: WakeUpAgreed) -> str:
        days = ", ".join(_WEEKDAYS[day - 1] for day in event.weekdays)
        at = event.wake_up_time.strftime("%H:%M")
        return f"Wake-up agreed {_CHANNEL[event.channel]} at {at} on {days}"

    @summary.register
    def _(self, event: WakeUpEnded) -> str:
        return "Wake-up agreement ended"

    @summary.register
    def _(self, event: PlanDrafted) -> str:
        if event.drafted_together:
            return "Plan drafted together with the young person"
        return "Plan drafted"

    @summary.register
    def _(self, event: MilestoneSet) -> str:
        return f"Milestone set, due {event.due.isoformat()}"

    @summary.register
    def _(self, event: MilestoneReached) -> str:
        return "Milestone reached"

    @summary.register
    def _(self, event: MilestoneMissed) -> str:
        return "Milestone missed"

    @summary.register
    def _(self, event: MilestoneRescheduled) -> str:
        return f"Milestone rescheduled to {event.due.isoformat()}"

    @summary.register
    def _(self, event: MilestoneDropped) -> str:
        return "Milestone dropped"

    @summary.register
    def _(self, event: PlanReviewed) -> str:
        if event.next_review is None:
            return "Plan reviewed"
        return f"Plan reviewed, next review {event.next_review.isoformat()}"

    @summary.register
    def _(self, event: TransitionStarted) -> str:
        return f"Transition started: {_TRANSITION[event.kind]}"

    @summary.register
    def _(self, event: TransitionStepRecorded) -> str:
        return f"Transition step: {_STEP[event.step]}"

    @summary.register
    def _(self, event: EducationStarted) -> str:
        return "Education started"

    @summary.register
    def _(self, event: TransitionCompleted) -> str:
        return "Transition completed"

    @summary.register
    def _(self, event: TransitionAbandoned) -> str:
        return "Transition abandoned"

    @summary.register
    def _(self, event: AbsenceReported) -> str:
        start, end = event.absent_from.isoformat(), event.absent_to.isoformat()
        when = f"on {start}" if start == end else f"from {start} to {end}"
        return f"Absence reported by the institution {when}"

    @summary.register
    def _(self, event: ConcernReported) -> str:
        return "Concern reported by the institution"

    @summary.register
    def _(self, event: DropoutReported) -> str:
        return "Dropout reported by the institution"

    @summary.register
    def _(self, event: DecisionRecorded) -> str:
        return "Decision made"

    @summary.register
    def _(self, event: ReadinessAssessed) -> str:
        return f"Readiness assessed: {_READINESS[event.level]}"

    @summary.register
    def _(self, event: EducationInjunctionIssued) -> str:
        return "Education injunction issued"

    @summary.register
    def _(self, event: EducationInjunctionRevised) -> str:
        return "Education injunction revised"

    @summary.register
    def _(self, event: SanctionDecided) -> str:
        return "Sanction decided"

    @summary.register
    def _(self, event: OtherDecisionMade) -> str:
        return "Other decision made"

    @summary.register
    def _(self, event: DecisionAppealed) -> str:
        return "Decision appealed"

    @summary.register
    def _(self, event: AppealDecided) -> str:
        return f"Appeal decided: {_APPEAL[event.outcome]}"

    @summary.register
    def _(self, event: DecisionRevoked) -> str:
        return "Decision revoked"

    @summary.register
    def _(self, event: CaseClosed) -> str:
        return f"Case closed: {_OUTCOME[event.outcome]}"

    @summary.register
    def _(self, event: AlertRaised) -> str:
        quiet_days = event.threshold_hours // 24
        absence = "; absence reported meanwhile" if event.severity is AlertSeverity.HIGH else ""
        return f"Alert: no contact reached for {quiet_days} days in the transition{absence}"

    @summary.register
    def _(self, event: AlertEscalated) -> str:
        quiet_days = event.threshold_hours // 24
        return f"Alert escalated to the team lead: no contact reached for {quiet_days} days"

    @summary.register
    def _(self, event: AlertSeverityRaised) -> str:
        return "Alert raised to high severity: absence reported during the quiet"

    @summary.register
    def _(self, event: AlertAcknowledged) -> str:
        return "Alert acknowledged"

    @summary.register
    def _(self, event: AlertResolved) -> str:
        return f"Alert resolved: {_RESOLUTION[event.resolution]}"

    @summary.register
    def _(self, event: CaseReopened) -> str:
        return "Case reopened"

    @summary.register
    def _(self, event: SubjectAccessExported) -> str:
        return "Personal data exported to the young person"

    @summary.register
    def _(self, event: PersonalDataErased) -> str:
        return f"Personal data erased {_ERASURE[event.requested_by]}"


# --- the view: reads for the API ------------------------------------------------------------

_COLUMNS = (
    "young_person_id, position, occurred_at, recorded_at, event_type, actor_id, actor_role, "
    f"summary, details, {ERASED_COLUMN}"
)


class TimelineView:
    """Queries of ``timeline_entries``, each one statement however many young people."""

    @staticmethod
    def entries(
        cur: ViewCursor,
        young_person_ids: Sequence[str],
        limit: int | None = None,
        after_position: int | None = None,
    ) -> dict[str, list[Row]]:
        """Every requested young person's entries in timeline order (``occurred_at``, then
        ``position``), keyed by young person id (hex); ids without entries map to ``[]``.

        ``after_position`` is a cursor: the position of an entry the caller has seen; only
        entries after it in timeline order are returned. A young person who has no entry
        at that position gets no entries. ``limit`` applies per young person.
        """
        if limit is not None and limit < 0:
            raise ValueError("limit must not be negative")
        ids = list(dict.fromkeys(young_person_ids))
        grouped: dict[str, list[Row]] = {young_person_id: [] for young_person_id in ids}
        if not ids or limit == 0:
            return grouped
        where = "t.young_person_id = ANY(%s)"
        params: list[Any] = [ids]
        if after_position is not None:
            # Row values compare lexicographically in both dialects: (time, position) after
            # the cursor entry's own.
            where += (
                " AND (t.occurred_at, t.position) > ("
                f"SELECT c.occurred_at, c.position FROM {TABLE} c "
                "WHERE c.young_person_id = t.young_person_id AND c.position = %s)"
            )
            params.append(after_position)
        if limit is None:
            sql = (
                f"SELECT {_COLUMNS} FROM {TABLE} t WHERE {where} "
                "ORDER BY t.young_person_id, t.occurred_at, t.position"
            )
        else:
            sql = (
                f"SELECT {_COLUMNS} FROM ("
                f"SELECT t.*, ROW_NUMBER() OVER (PARTITION BY t.young_person_id "
                f"ORDER BY t.occurred_at, t.position) AS entry_number "
                f"FROM {TABLE} t WHERE {where}) ranked "
                "WHERE entry_number <= %s "
                "ORDER BY young_person_id, occurred_at, position"
            )
            params.append(limit)
        for row in cur.execute(sql, params).fetchall():
            grouped[row["young_person_id"]].append(row)
        return grouped

    @staticmethod
    def known(cur: ViewCursor, young_person_ids: Sequence[str]) -> set[str]:
        """Which of ``young_person_ids`` have a timeline (at least one entry)."""
        ids = list(dict.fromkeys(young_person_ids))
        if not ids:
            return set()
        # One index probe per id (EXISTS), rather than reading every entry of each young
        # person as DISTINCT would; VALUES names its column "column1" in both dialects.
        values = ", ".join(["(%s)"] * len(ids))
        rows = cur.execute(
            f"SELECT v.column1 AS young_person_id FROM (VALUES {values}) AS v "
            f"WHERE EXISTS (SELECT 1 FROM {TABLE} t WHERE t.young_person_id = v.column1)",
            ids,
        ).fetchall()
        return {str(row["young_person_id"]) for row in rows}
