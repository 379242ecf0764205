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
from projections.dispatch import Handlers
from projections.store import Params, Row, ViewCursor

INSTITUTIONS = "institutions"
LINKS = "institution_links"
CASES = "institution_cases"

REFERRAL = "referral"
TRANSITION = "transition"
SIGNAL = "signal"


LinkKey = tuple[str, str, str, str]
"""A link row's key: institution id, young person id, reason, ref."""


class _Changes:
    """What a batch does to the tables, folded in log order, and written so that the
    result is the one its events applied one by one would give.

    Links are folded per key (added, or taken away by the end of a transition or an
    erasure); a case is its last state (open, closed, or gone with an erasure). The
    rare institution statements are kept as they come, in order.
    """

    def __init__(self) -> None:
        self.institution_statements: list[tuple[str, Params]] = []
        self.links: dict[LinkKey, None] = {}
        """Links added since the last removal that covers them."""
        self.ended: dict[tuple[str, str], None] = {}
        """(young person, transition) whose transition links are removed."""
        self.erased: dict[str, None] = {}
        """Young people all of whose links are removed."""
        self.cases: dict[str, int | None] = {}
        """Each young person's last case state: 1 open, 0 not, None no row."""

    def link(self, key: LinkKey) -> None:
        self.links[key] = None

    def end_transition(self, young_person_id: str, ref: str) -> None:
        # Removals are written before additions: drop the additions they undo.
        for key in [k for k in self.links if k[1:] == (young_person_id, TRANSITION, ref)]:
            del self.links[key]
        self.ended[(young_person_id, ref)] = None

    def erase(self, young_person_id: str) -> None:
        for key in [k for k in self.links if k[1] == young_person_id]:
            del self.links[key]
        self.erased[young_person_id] = None
        self.cases[young_person_id] = None


class InstitutionsProjection(Projection):
    """Keeps ``institutions``, ``institution_links`` (the reasons, one row each) and
    ``institution_cases`` (whether each young person's case is open) up to date.

    A batch is folded first (see ``_Changes``) and then written with a few statements,
    none of which needs anything read; the result is the same for any batch size.
    """

    name = "institutions"
    base_tables = (INSTITUTIONS, LINKS, CASES)

    def __init__(self) -> None:
        super().__init__()
        self._folds = Handlers(type(self), "_fold", _EVENTS)

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
        changes = _Changes()
        folds = self._folds
        for _, event in events:
            fold = folds(type(event))
            if fold is not None:
                fold(self, event, changes)
        self._write(cur, changes)

    def _write(self, cur: ViewCursor, changes: _Changes) -> None:
        for sql, params in changes.institution_statements:
            cur.execute(sql, params)
        links, cases = self.table(LINKS), self.table(CASES)
        if changes.erased:
            cur.execute(
                f"DELETE FROM {links} WHERE young_person_id = ANY(%s)", (list(changes.erased),)
            )
        cur.delete_rows(
            links,
            ("young_person_id", "reason", "ref"),
            [(young_person_id, TRANSITION, ref) for young_person_id, ref in changes.ended],
        )
        cur.upsert_rows(
            links,
            ("institution_id", "young_person_id", "reason", "ref"),
            list(changes.links),
            key=("institution_id", "young_person_id", "reason", "ref"),
            replace=False,
        )
        gone = [person for person, state in changes.cases.items() if state is None]
        if gone:
            cur.execute(f"DELETE FROM {cases} WHERE young_person_id = ANY(%s)", (gone,))
        cur.upsert_rows(
            cases,
            ("young_person_id", "case_open"),
            [(person, state) for person, state in changes.cases.items() if state is not None],
            key=("young_person_id",),
        )

    # --- folding one event -----------------------------------------------------------------

    @singledispatchmethod
    def _fold(self, event: DomainEvent, changes: _Changes) -> None:
        raise TypeError(f"{type(event).__name__} is listed as relevant but has no fold")

    @_fold.register
    def _(self, event: InstitutionRegistered, changes: _Changes) -> None:
        contact = event.contact_counsellor_id
        changes.institution_statements.append(
            (
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
        )

    @_fold.register
    def _(self, event: ContactPersonAssigned, changes: _Changes) -> None:
        changes.institution_statements.append(
            (
                f"UPDATE {self.table(INSTITUTIONS)} SET contact_counsellor_id = %s "
                "WHERE institution_id = %s",
                (event.counsellor_id.hex, event.originator_id.hex),
            )
        )

    @_fold.register
    def _(self, event: Referred, changes: _Changes) -> None:
        young_person_id = event.originator_id.hex
        changes.cases[young_person_id] = 1
        if event.institution_id is not None:
            changes.link((event.institution_id.hex, young_person_id, REFERRAL, ""))

    @_fold.register
    def _(self, event: ReferralReviewed, changes: _Changes) -> None:
        if event.outcome is ReviewOutcome.DECLINED:
            changes.cases[event.originator_id.hex] = 0

    @_fold.register
    def _(self, event: CaseClosed, changes: _Changes) -> None:
        changes.cases[event.originator_id.hex] = 0

    @_fold.register
    def _(self, event: CaseReopened, changes: _Changes) -> None:
        changes.cases[event.originator_id.hex] = 1

    @_fold.register
    def _(self, event: PersonalDataErased, changes: _Changes) -> None:
        changes.erase(event.originator_id.hex)

    @_fold.register
    def _(self, event: TransitionStarted, changes: _Changes) -> None:
        if event.to_institution_id is not None:
            changes.link(
                (
                    event.to_institution_id.hex,
                    event.originator_id.hex,
                    TRANSITION,
                    event.transition_id.hex,
                )
            )

    @_fold.register
    def _(self, event: EducationStarted, changes: _Changes) -> None:
        if event.institution_id is not None:
            changes.link(
                (
                    event.institution_id.hex,
                    event.originator_id.hex,
                    TRANSITION,
                    event.transition_id.hex,
                )
            )

    @_fold.register
    def _(self, event: TransitionCompleted, changes: _Changes) -> None:
        changes.end_transition(event.originator_id.hex, event.transition_id.hex)

    @_fold.register
    def _(self, event: TransitionAbandoned, changes: _Changes) -> None:
        changes.end_transition(event.originator_id.hex, event.transition_id.hex)

    @_fold.register
    def _(self, event: AbsenceReported, changes: _Changes) -> None:
        changes.link((event.institution_id.hex, event.originator_id.hex, SIGNAL, ""))

    @_fold.register
    def _(self, event: ConcernReported, changes: _Changes) -> None:
        changes.link((event.institution_id.hex, event.originator_id.hex, SIGNAL, ""))

    @_fold.register
    def _(self, event: DropoutReported, changes: _Changes) -> None:
        changes.link((event.institution_id.hex, event.originator_id.hex, SIGNAL, ""))


_EVENTS = (
    InstitutionRegistered,
    ContactPersonAssigned,
    Referred,
    ReferralReviewed,
    CaseClosed,
    CaseReopened,
    PersonalDataErased,
    TransitionStarted,
    EducationStarted,
    TransitionCompleted,
    TransitionAbandoned,
    AbsenceReported,
    ConcernReported,
    DropoutReported,
)
"""The events that change the tables; the others are passed over before dispatching."""


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
