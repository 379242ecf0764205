"""The plan read model: per young person the plan written together and its milestones.

``plans`` holds one row per young person who has a plan: the goal, whether it was drafted
together with the young person, when it was first and last drafted (drafting again replaces
the goal; the domain allows it any number of times) and the review cycle: when the plan was
last reviewed and when the next review is due. ``plan_milestones`` holds one row per
milestone: its title, due date (and the date it was first due), status, when it was set
and resolved, and how often it was rescheduled.

Goal and titles are personal: they are NULL when the event carried none (a shredded key)
and are purged when the young person's personal data is erased; dates, statuses and counts
stay for statistics. Review notes and the reasons and notes of milestone changes are never
copied here; the timeline holds them.

Which draft and which review count as "last" is decided by ``occurred_at`` (ties by log
position), so a review written down late does not overwrite a later one's next review date.
A milestone's status follows the log order, as the domain's rules do.

A batch is folded in memory: the rows its events touch are read in one statement per
table, changed in Python and written back with one upsert per table, so the cost of a
batch grows with the rows it touches, not with its number of events.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import singledispatchmethod
from typing import Any, cast

from domain.vocabulary import MilestoneStatus
from domain.young_person_events import (
    MilestoneDropped,
    MilestoneMissed,
    MilestoneReached,
    MilestoneRescheduled,
    MilestoneSet,
    PersonalDataErased,
    PlanDrafted,
    PlanReviewed,
    YoungPersonEvent,
)
from projections.base import PositionedEvent, Projection
from projections.columns import iso_date, iso_utc
from projections.dispatch import Handlers
from projections.store import Row, ViewCursor, rows_by

PLANS = "plans"
MILESTONES = "plan_milestones"

PLAN_COLUMNS = (
    "young_person_id",
    "goal",
    "drafted_together",
    "first_drafted_at",
    "drafted_at",
    "times_drafted",
    "last_reviewed_at",
    "next_review",
    "times_reviewed",
)
MILESTONE_COLUMNS = (
    "milestone_id",
    "young_person_id",
    "title",
    "due",
    "originally_due",
    "status",
    "set_at",
    "resolved_at",
    "times_rescheduled",
)

_EVENTS = (
    PlanDrafted,
    PlanReviewed,
    MilestoneSet,
    MilestoneReached,
    MilestoneMissed,
    MilestoneRescheduled,
    MilestoneDropped,
    PersonalDataErased,
)
_MILESTONE_CHANGES = (MilestoneReached, MilestoneMissed, MilestoneRescheduled, MilestoneDropped)


@dataclass
class _Batch:
    """The rows one batch of events touches, keyed by id hex, and whom it erased.

    ``stored_plans`` and ``stored_milestones`` hold the rows as they were read (as value
    tuples in column order), so that only the rows the batch changed are written.
    """

    plans: dict[str, Row] = field(default_factory=dict)
    milestones: dict[str, Row] = field(default_factory=dict)
    erased: list[str] = field(default_factory=list)
    stored_plans: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    stored_milestones: dict[str, tuple[Any, ...]] = field(default_factory=dict)


class PlanProjection(Projection):
    """Keeps ``plans`` and ``plan_milestones`` up to date."""

    name = "plan"
    base_tables = (PLANS, MILESTONES)

    def __init__(self) -> None:
        super().__init__()
        self._rules = Handlers(type(self), "apply", _EVENTS)

    def create_tables(self, cur: ViewCursor) -> None:
        plans, milestones = self.table(PLANS), self.table(MILESTONES)
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {plans} ("
            "young_person_id TEXT PRIMARY KEY, goal TEXT, drafted_together INTEGER NOT NULL, "
            "first_drafted_at TEXT NOT NULL, drafted_at TEXT NOT NULL, "
            "times_drafted INTEGER NOT NULL, last_reviewed_at TEXT, next_review TEXT, "
            "times_reviewed INTEGER NOT NULL)"
        )
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {milestones} ("
            "milestone_id TEXT PRIMARY KEY, young_person_id TEXT NOT NULL, title TEXT, "
            "due TEXT NOT NULL, originally_due TEXT NOT NULL, status TEXT NOT NULL, "
            "set_at TEXT NOT NULL, resolved_at TEXT, times_rescheduled INTEGER NOT NULL)"
        )
        cur.execute(
            f"CREATE INDEX IF NOT EXISTS {milestones}_by_person "
            f"ON {milestones} (young_person_id, due, milestone_id)"
        )

    def process(self, cur: ViewCursor, events: Sequence[PositionedEvent]) -> None:
        rules = self._rules
        relevant = [(event, rule) for _, event in events if (rule := rules(type(event)))]
        if not relevant:
            return
        # Rules are found only for the young person's events of _EVENTS.
        batch = self._load(cur, [cast(YoungPersonEvent, event) for event, _ in relevant])
        for event, rule in relevant:
            rule(self, event, batch)
        self._save(cur, batch)

    def _load(self, cur: ViewCursor, events: Sequence[YoungPersonEvent]) -> _Batch:
        batch = _Batch()
        people = list(
            dict.fromkeys(
                e.originator_id.hex for e in events if isinstance(e, PlanDrafted | PlanReviewed)
            )
        )
        if people:
            rows = cur.execute(
                f"SELECT {', '.join(PLAN_COLUMNS)} FROM {self.table(PLANS)} "
                "WHERE young_person_id = ANY(%s)",
                [people],
            ).fetchall()
            batch.plans = {row["young_person_id"]: row for row in rows}
            batch.stored_plans = {
                key: _values(row, PLAN_COLUMNS) for key, row in batch.plans.items()
            }
        changed = list(
            dict.fromkeys(e.milestone_id.hex for e in events if isinstance(e, _MILESTONE_CHANGES))
        )
        if changed:
            rows = cur.execute(
                f"SELECT {', '.join(MILESTONE_COLUMNS)} FROM {self.table(MILESTONES)} "
                "WHERE milestone_id = ANY(%s)",
                [changed],
            ).fetchall()
            batch.milestones = {row["milestone_id"]: row for row in rows}
            batch.stored_milestones = {
                key: _values(row, MILESTONE_COLUMNS) for key, row in batch.milestones.items()
            }
        return batch

    def _save(self, cur: ViewCursor, batch: _Batch) -> None:
        cur.upsert_rows(
            self.table(PLANS),
            PLAN_COLUMNS,
            _changed(batch.plans, batch.stored_plans, PLAN_COLUMNS),
            key=("young_person_id",),
        )
        cur.upsert_rows(
            self.table(MILESTONES),
            MILESTONE_COLUMNS,
            _changed(batch.milestones, batch.stored_milestones, MILESTONE_COLUMNS),
            key=("milestone_id",),
        )
        if batch.erased:
            # After the upserts, so what this batch wrote before the erasure is purged too;
            # nothing of that person follows an erasure in the log.
            cur.execute(
                f"UPDATE {self.table(PLANS)} SET goal = NULL WHERE young_person_id = ANY(%s)",
                [batch.erased],
            )
            cur.execute(
                f"UPDATE {self.table(MILESTONES)} SET title = NULL WHERE young_person_id = ANY(%s)",
                [batch.erased],
            )

    # --- applying one event to the batch's rows ------------------------------------------

    @singledispatchmethod
    def apply(self, event: YoungPersonEvent, batch: _Batch) -> None:
        raise TypeError(f"no plan rule for {type(event).__name__}")

    @apply.register
    def _(self, event: PlanDrafted, batch: _Batch) -> None:
        person, at = event.originator_id.hex, iso_utc(event.occurred_at)
        plan = batch.plans.get(person)
        if plan is None:
            batch.plans[person] = {
                "young_person_id": person,
                "goal": event.goal,
                "drafted_together": int(event.drafted_together),
                "first_drafted_at": at,
                "drafted_at": at,
                "times_drafted": 1,
                "last_reviewed_at": None,
                "next_review": None,
                "times_reviewed": 0,
            }
            return
        plan["times_drafted"] += 1
        plan["first_drafted_at"] = min(plan["first_drafted_at"], at)
        # Events arrive in log order, so on equal times the later one wins.
        if at >= plan["drafted_at"]:
            plan["goal"] = event.goal
            plan["drafted_together"] = int(event.drafted_together)
            plan["drafted_at"] = at

    @apply.register
    def _(self, event: PlanReviewed, batch: _Batch) -> None:
        plan = batch.plans.get(event.originator_id.hex)
        if plan is None:
            return  # the domain reviews only drafted plans
        at = iso_utc(event.occurred_at)
        plan["times_reviewed"] += 1
        if plan["last_reviewed_at"] is None or at >= plan["last_reviewed_at"]:
            plan["last_reviewed_at"] = at
            plan["next_review"] = iso_date(event.next_review)

    @apply.register
    def _(self, event: MilestoneSet, batch: _Batch) -> None:
        due = iso_date(event.due)
        batch.milestones[event.milestone_id.hex] = {
            "milestone_id": event.milestone_id.hex,
            "young_person_id": event.originator_id.hex,
            "title": event.title,
            "due": due,
            "originally_due": due,
            "status": MilestoneStatus.OPEN.value,
            "set_at": iso_utc(event.occurred_at),
            "resolved_at": None,
            "times_rescheduled": 0,
        }

    @apply.register
    def _(self, event: MilestoneReached, batch: _Batch) -> None:
        self._resolve(batch, event, MilestoneStatus.REACHED)

    @apply.register
    def _(self, event: MilestoneMissed, batch: _Batch) -> None:
        self._resolve(batch, event, MilestoneStatus.MISSED)

    @apply.register
    def _(self, event: MilestoneDropped, batch: _Batch) -> None:
        self._resolve(batch, event, MilestoneStatus.DROPPED)

    @apply.register
    def _(self, event: MilestoneRescheduled, batch: _Batch) -> None:
        milestone = batch.milestones.get(event.milestone_id.hex)
        if milestone is None:
            return  # the domain changes only milestones it set
        # A new due date opens the milestone again, also a missed one.
        milestone["due"] = iso_date(event.due)
        milestone["status"] = MilestoneStatus.OPEN.value
        milestone["resolved_at"] = None
        milestone["times_rescheduled"] += 1

    @apply.register
    def _(self, event: PersonalDataErased, batch: _Batch) -> None:
        batch.erased.append(event.originator_id.hex)

    @staticmethod
    def _resolve(
        batch: _Batch,
        event: MilestoneReached | MilestoneMissed | MilestoneDropped,
        status: MilestoneStatus,
    ) -> None:
        milestone = batch.milestones.get(event.milestone_id.hex)
        if milestone is None:
            return  # the domain changes only milestones it set
        milestone["status"] = status.value
        milestone["resolved_at"] = iso_utc(event.occurred_at)


def _values(row: Row, columns: Sequence[str]) -> tuple[Any, ...]:
    return tuple(row[column] for column in columns)


def _changed(
    rows: dict[str, Row], stored: dict[str, tuple[Any, ...]], columns: Sequence[str]
) -> list[tuple[Any, ...]]:
    """The values of the rows that differ from those read (new rows included)."""
    changed = []
    for key, row in rows.items():
        values = _values(row, columns)
        if values != stored.get(key):
            changed.append(values)
    return changed


# --- the view: reads for the API ------------------------------------------------------------


class PlanView:
    """Queries of the plan tables, each one statement however many young people."""

    @staticmethod
    def plans(cur: ViewCursor, young_person_ids: Sequence[str]) -> dict[str, Row | None]:
        """Each requested young person's plan, keyed by id hex; None for those without one.

        Row keys: ``young_person_id``, ``goal`` (None once erased), ``drafted_together``
        (bool), ``first_drafted_at`` and ``drafted_at`` (UTC ISO text; the latter is the
        draft whose goal is shown), ``times_drafted``, ``last_reviewed_at`` (UTC ISO text or
        None), ``next_review`` (``YYYY-MM-DD`` or None), ``times_reviewed``.
        """
        ids = list(dict.fromkeys(young_person_ids))
        found: dict[str, Row | None] = dict.fromkeys(ids)
        if not ids:
            return found
        rows = cur.execute(
            f"SELECT {', '.join(PLAN_COLUMNS)} FROM {PLANS} WHERE young_person_id = ANY(%s)",
            [ids],
        ).fetchall()
        for row in rows:
            # INTEGER 0/1 in both dialects; readers get a truth value.
            found[row["young_person_id"]] = {
                **row,
                "drafted_together": bool(row["drafted_together"]),
            }
        return found

    @staticmethod
    def milestones(cur: ViewCursor, young_person_ids: Sequence[str]) -> dict[str, list[Row]]:
        """Each requested young person's milestones by due date, then milestone id;
        ids without milestones map to ``[]``.

        Row keys: ``milestone_id``, ``young_person_id``, ``title`` (None once erased),
        ``due`` and ``originally_due`` (``YYYY-MM-DD``), ``status`` (a
        :class:`~domain.vocabulary.MilestoneStatus` value), ``set_at`` and ``resolved_at``
        (UTC ISO text; ``resolved_at`` is None while open), ``times_rescheduled``.
        """
        return rows_by(
            young_person_ids,
            "young_person_id",
            lambda ids: cur.execute(
                f"SELECT {', '.join(MILESTONE_COLUMNS)} FROM {MILESTONES} "
                "WHERE young_person_id = ANY(%s) ORDER BY young_person_id, due, milestone_id",
                [ids],
            ).fetchall(),
        )
