"""The institutions read model: each partner institution, and the young people linked to it.

The rule for "linked": a young person is linked to an institution while their case is open
(referred, waitlisted, accepted or enrolled: not declined, closed or erased) and at least
one of these reasons holds:

- ``referral``: the institution referred them;
- ``transition``: a transition of theirs leads to it (``TransitionStarted.to_institution_id``)
  or their education started there (``EducationStarted.institution_id``), for as long as
  that transition is open: completing or abandoning it ends this reason;
- ``signal``: the institution reported absence, concern or dropout for them.

Closing a case (or declining the referral) suspends every link and reopening the case
restores them, since the reasons themselves still hold; only the end of a transition
removes a reason. Erasure removes the young person's links for good. Consent to share
with an institution is not part of the rule: this is the team's view of who is involved;
whoever shows a partner anything checks that consent.

The tables hold no personal data: institution names are an organisation's, and the links
are ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import singledispatchmethod
from uuid import UUID

from domain.institution import ContactPersonAssigned, InstitutionRegistered
from domain.vocabulary import ReviewOutcome
from domain.young_person_events import (
    AbsenceReported,
    CaseClosed,
    CaseReopened,
    ConcernReported,
    DropoutReported,
    EducationStarted,
    PersonalDataErased,
    ReferralReviewed,
    Referred,
    TransitionAbandoned,
    TransitionCompleted,
    TransitionStarted,
)
from projections.base import DomainEvent, PositionedEvent, Projection
from projections.columns import iso_utc
from projections.store import Params, Row, ViewCursor

INSTITUTIONS = "institutions"
LINKS = "institution_links"
CASES = "institution_cases"

REFERRAL = "referral"
TRANSITION = "transition"
SIGNAL = "signal"


class _Statements:
    """Statements in event order; a run of the same statement goes in one ``executemany``."""

    def __init__(self) -> None:
        self._runs: list[tuple[str, list[Params]]] = []

    def add(self, sql: str, params: Params) -> None:
        if self._runs and self._runs[-1][0] == sql:
            self._runs[-1][1].append(params)
        else:
            self._runs.append((sql, [params]))

    def run(self, cur: ViewCursor) -> None:
        for sql, params in self._runs:
            if len(params) == 1:
                cur.execute(sql, params[0])
            else:
                cur.executemany(sql, params)


class InstitutionsProjection(Projection):
    """Keeps ``institutions``, ``institution_links`` (the reasons, one row each) and
    ``institution_cases`` (whether each young person's case is open) up to date.

    Every event becomes at most two statements that need nothing read first, applied in
    log order, so the result is the same for any batch size.
    """

    name = "institutions"
    base_tables = (INSTITUTIONS, LINKS, CASES)

    def create_tables(self, cur: ViewCursor) -> None:
        institutions = self.table(INSTITUTIONS)
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {institutions} ("
            "institution_id TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL, "
            "contact_counsellor_id TEXT, registered_at TEXT NOT NULL)"
        )
        links = self.table(LINKS)
        # ref: the transition a "transition" reason belongs to, '' for the others.
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {links} ("
            "institution_id TEXT NOT NULL, young_person_id TEXT NOT NULL, "
            "reason TEXT NOT NULL, ref TEXT NOT NULL, "
            "PRIMARY KEY (institution_id, young_person_id, reason, ref))"
        )
        cur.execute(
            f"CREATE INDEX IF NOT EXISTS {links}_by_young_person "
            f"ON {links} (young_person_id, institution_id)"
        )
        cases = self.table(CASES)
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {cases} ("
            "young_person_id TEXT PRIMARY KEY, case_open INTEGER NOT NULL)"
        )

    def process(self, cur: ViewCursor, events: Sequence[PositionedEvent]) -> None:
        statements = _Statements()
        for _, event in events:
            self._statements(event, statements)
        statements.run(cur)

    # --- statements per event ------------------------------------------------------------

    def _link(
        self,
        statements: _Statements,
        event: DomainEvent,
        institution_id: UUID,
        reason: str,
        ref: str = "",
    ) -> None:
        statements.add(
            f"INSERT INTO {self.table(LINKS)} (institution_id, young_person_id, reason, ref) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
            (institution_id.hex, event.originator_id.hex, reason, ref),
        )

    def _set_open(self, statements: _Statements, event: DomainEvent, is_open: bool) -> None:
        statements.add(
            f"INSERT INTO {self.table(CASES)} (young_person_id, case_open) VALUES (%s, %s) "
            "ON CONFLICT (young_person_id) DO UPDATE SET case_open = EXCLUDED.case_open",
            (event.originator_id.hex, int(is_open)),
        )

    def _end_transition(self, statements: _Statements, event: DomainEvent, ref: str) -> None:
        statements.add(
            f"DELETE FROM {self.table(LINKS)} "
            "WHERE young_person_id = %s AND reason = %s AND ref = %s",
            (event.originator_id.hex, TRANSITION, ref),
        )

    @singledispatchmethod
    def _statements(self, event: DomainEvent, statements: _Statements) -> None:
        """Other events do not change who is linked to whom."""

    @_statements.register
    def _(self, event: InstitutionRegistered, statements: _Statements) -> None:
        contact = event.contact_counsellor_id
        statements.add(
            f"INSERT INTO {self.table(INSTITUTIONS)} "
            "(institution_id, name, kind, contact_counsellor_id, registered_at) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (institution_id) DO UPDATE SET "
            "name = EXCLUDED.name, kind = EXCLUDED.kind, "
            "contact_counsellor_id = EXCLUDED.contact_counsellor_id, "
            "registered_at = EXCLUDED.registered_at",
            (
                event.originator_id.hex,
                event.name,
                event.kind.value,
                None if contact is None else contact.hex,
                iso_utc(event.occurred_at),
            ),
        )

    @_statements.register
    def _(self, event: ContactPersonAssigned, statements: _Statements) -> None:
        statements.add(
            f"UPDATE {self.table(INSTITUTIONS)} SET contact_counsellor_id = %s "
            "WHERE institution_id = %s",
            (event.counsellor_id.hex, event.originator_id.hex),
        )

    @_statements.register
    def _(self, event: Referred, statements: _Statements) -> None:
        self._set_open(statements, event, True)
        if event.institution_id is not None:
            self._link(statements, event, event.institution_id, REFERRAL)

    @_statements.register
    def _(self, event: ReferralReviewed, statements: _Statements) -> None:
        if event.outcome is ReviewOutcome.DECLINED:
            self._set_open(statements, event, False)

    @_statements.register
    def _(self, event: CaseClosed, statements: _Statements) -> None:
        self._set_open(statements, event, False)

    @_statements.register
    def _(self, event: CaseReopened, statements: _Statements) -> None:
        self._set_open(statements, event, True)

    @_statements.register
    def _(self, event: PersonalDataErased, statements: _Statements) -> None:
        young_person_id = event.originator_id.hex
        statements.add(
            f"DELETE FROM {self.table(LINKS)} WHERE young_person_id = %s", (young_person_id,)
        )
        statements.add(
            f"DELETE FROM {self.table(CASES)} WHERE young_person_id = %s", (young_person_id,)
        )

    @_statements.register
    def _(self, event: TransitionStarted, statements: _Statements) -> None:
        if event.to_institution_id is not None:
            ref = event.transition_id.hex
            self._link(statements, event, event.to_institution_id, TRANSITION, ref)

    @_statements.register
    def _(self, event: EducationStarted, statements: _Statements) -> None:
        if event.institution_id is not None:
            ref = event.transition_id.hex
            self._link(statements, event, event.institution_id, TRANSITION, ref)

    @_statements.register
    def _(self, event: TransitionCompleted, statements: _Statements) -> None:
        self._end_transition(statements, event, event.transition_id.hex)

    @_statements.register
    def _(self, event: TransitionAbandoned, statements: _Statements) -> None:
        self._end_transition(statements, event, event.transition_id.hex)

    @_statements.register
    def _(self, event: AbsenceReported, statements: _Statements) -> None:
        self._link(statements, event, event.institution_id, SIGNAL)

    @_statements.register
    def _(self, event: ConcernReported, statements: _Statements) -> None:
        self._link(statements, event, event.institution_id, SIGNAL)

    @_statements.register
    def _(self, event: DropoutReported, statements: _Statements) -> None:
        self._link(statements, event, event.institution_id, SIGNAL)


# --- the view: reads for the API ------------------------------------------------------------

_LINKED = (
    f"SELECT DISTINCT l.institution_id, l.young_person_id FROM {LINKS} l "
    f"JOIN {CASES} c ON c.young_person_id = l.young_person_id AND c.case_open = 1"
)
_INSTITUTION_COLUMNS = (
    "i.institution_id, i.name, i.kind, i.contact_counsellor_id, i.registered_at, "
    f"(SELECT COUNT(DISTINCT l.young_person_id) FROM {LINKS} l "
    f"JOIN {CASES} c ON c.young_person_id = l.young_person_id AND c.case_open = 1 "
    "WHERE l.institution_id = i.institution_id) AS linked_count"
)


class InstitutionsView:
    """Queries of the institutions tables, each one statement however many ids.

    Institution rows have the keys ``institution_id``, ``name``, ``kind`` (an
    InstitutionKind value), ``contact_counsellor_id`` (hex or None), ``registered_at``
    (UTC ISO text) and ``linked_count`` (young people linked now).
    """

    @staticmethod
    def all(cur: ViewCursor) -> list[Row]:
        """Every institution, by name (then id)."""
        return cur.execute(
            f"SELECT {_INSTITUTION_COLUMNS} FROM {INSTITUTIONS} i ORDER BY i.name, i.institution_id"
        ).fetchall()

    @staticmethod
    def of_ids(cur: ViewCursor, institution_ids: Sequence[str]) -> dict[str, Row]:
        """Each known institution, keyed by id (hex); unknown ids are absent."""
        ids = list(dict.fromkeys(institution_ids))
        if not ids:
            return {}
        rows = cur.execute(
            f"SELECT {_INSTITUTION_COLUMNS} FROM {INSTITUTIONS} i WHERE i.institution_id = ANY(%s)",
            (ids,),
        ).fetchall()
        return {row["institution_id"]: row for row in rows}

    @staticmethod
    def linked_young_people(
        cur: ViewCursor, institution_ids: Sequence[str]
    ) -> dict[str, list[str]]:
        """The young people (hex ids, sorted) linked now to each institution, keyed by
        institution id; institutions without links (or unknown) map to ``[]``."""
        ids = list(dict.fromkeys(institution_ids))
        grouped: dict[str, list[str]] = {institution_id: [] for institution_id in ids}
        if not ids:
            return grouped
        rows = cur.execute(
            f"{_LINKED} WHERE l.institution_id = ANY(%s) "
            "ORDER BY l.institution_id, l.young_person_id",
            (ids,),
        ).fetchall()
        for row in rows:
            grouped[row["institution_id"]].append(row["young_person_id"])
        return grouped

    @staticmethod
    def institutions_of(cur: ViewCursor, young_person_ids: Sequence[str]) -> dict[str, list[str]]:
        """The institutions (hex ids, sorted) each young person is linked to now, keyed
        by young person id; those without links map to ``[]``."""
        ids = list(dict.fromkeys(young_person_ids))
        grouped: dict[str, list[str]] = {young_person_id: [] for young_person_id in ids}
        if not ids:
            return grouped
        rows = cur.execute(
            f"{_LINKED} WHERE l.young_person_id = ANY(%s) "
            "ORDER BY l.young_person_id, l.institution_id",
            (ids,),
        ).fetchall()
        for row in rows:
            grouped[row["young_person_id"]].append(row["institution_id"])
        return grouped
