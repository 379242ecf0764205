"""The referral queue read model: referrals waiting for the team's weekly review.

A referral enters the queue when it is made (``Referred``) and stays while it is pending:
``referred`` (not reviewed yet) or ``waitlisted`` (reviewed, kept for a later review). An
accepted or declined referral leaves the queue, and so does an erased one. The queue is
ordered oldest first by when the referral happened in the world (``Referred.occurred_at``),
then by young person id.

Each row carries the consents the young person has given (as recorded at the referral and
changed since), the referring institution, and the dates; how many days a referral has
waited is computed by the reader from ``today``.

The queue holds no personal data: no name, no reason, no referrer. It is shown to the whole
team, and the one place names are kept for the dashboard is the caseload read model
(``CaseloadView.of_young_people``), which purges them on erasure; so erasure here only has
to remove the row.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import singledispatchmethod
from typing import Any
from uuid import UUID

from domain.vocabulary import ConsentScope, ReviewOutcome
from domain.young_person_events import (
    ConsentRecorded,
    ConsentWithdrawn,
    PersonalDataErased,
    ReferralReviewed,
    Referred,
    YoungPersonEvent,
)
from projections.base import PositionedEvent, Projection
from projections.columns import iso_utc, parse_utc
from projections.dispatch import Handlers
from projections.store import Row, ViewCursor

QUEUE = "referral_queue"

REFERRED = "referred"
WAITLISTED = "waitlisted"

_LOAD_CHUNK = 500
"""Ids per ``= ANY(...)`` when loading: SQLite binds each id as its own parameter."""

_EVENTS = (Referred, ReferralReviewed, ConsentRecorded, ConsentWithdrawn, PersonalDataErased)
_SCOPE_ORDER = {scope.value: index for index, scope in enumerate(ConsentScope)}

_COLUMN_NAMES = (
    "young_person_id",
    "status",
    "referred_at",
    "institution_id",
    "consents",
    "waitlisted_on",
)
_COLUMNS = ", ".join(_COLUMN_NAMES)

Consent = tuple[str, str | None]
"""A consent given: its scope (a ConsentScope value) and, for sharing, the institution."""


@dataclass
class _Pending:
    """A ``referral_queue`` row while a batch is folded."""

    status: str
    referred_at: str
    institution_id: str | None
    consents: set[Consent] = field(default_factory=set)
    waitlisted_on: str | None = None


def _consents_json(consents: Iterable[Consent]) -> str:
    # Vocabulary order, then institution ("" sorts the unbound consent first).
    ordered = sorted(
        consents, key=lambda c: (_SCOPE_ORDER.get(c[0], len(_SCOPE_ORDER)), c[0], c[1] or "")
    )
    return json.dumps([list(consent) for consent in ordered], separators=(",", ":"))


def _consents_of(text: str) -> set[Consent]:
    return {(str(scope), institution) for scope, institution in json.loads(text)}


# --- the projection ------------------------------------------------------------------------


class ReferralQueueProjection(Projection):
    """Keeps ``referral_queue`` up to date: one row per pending referral.

    A batch is applied as load, fold, save: the queue rows of the young people it touches
    are read in one query, its events are folded into them in log order, and the rows are
    written back (or deleted when they left the queue).
    """

    name = "referral_queue"
    base_tables = (QUEUE,)

    def __init__(self) -> None:
        super().__init__()
        self._folds = Handlers(type(self), "_fold", _EVENTS)

    def create_tables(self, cur: ViewCursor) -> None:
        table = self.table(QUEUE)
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {table} ("
            "young_person_id TEXT PRIMARY KEY, status TEXT NOT NULL, "
            "referred_at TEXT NOT NULL, institution_id TEXT, consents TEXT NOT NULL, "
            "waitlisted_on TEXT)"
        )
        cur.execute(
            f"CREATE INDEX IF NOT EXISTS {table}_by_age ON {table} (referred_at, young_person_id)"
        )

    def process(self, cur: ViewCursor, events: Sequence[PositionedEvent]) -> None:
        folds = self._folds
        relevant = [
            (event, event.originator_id.hex, fold)
            for _, event in events
            if (fold := folds(type(event)))
        ]
        if not relevant:
            return
        ids = list(dict.fromkeys(young_person_id for _, young_person_id, _ in relevant))
        queue, stored = self._load(cur, ids)
        for event, young_person_id, fold in relevant:
            fold(self, event, queue, young_person_id)
        self._save(cur, queue, stored)

    def _load(
        self, cur: ViewCursor, ids: list[str]
    ) -> tuple[dict[str, _Pending | None], dict[str, tuple[Any, ...]]]:
        """Each young person's pending referral, None for those not in the queue; and the
        rows as read, to write back only what changed."""
        queue: dict[str, _Pending | None] = dict.fromkeys(ids)
        stored: dict[str, tuple[Any, ...]] = {}
        for start in range(0, len(ids), _LOAD_CHUNK):
            rows = cur.execute(
                f"SELECT {_COLUMNS} FROM {self.table(QUEUE)} WHERE young_person_id = ANY(%s)",
                (ids[start : start + _LOAD_CHUNK],),
            ).fetchall()
            for row in rows:
                young_person_id = row["young_person_id"]
                queue[young_person_id] = _Pending(
                    status=row["status"],
                    referred_at=row["referred_at"],
                    institution_id=row["institution_id"],
                    consents=_consents_of(row["consents"]),
                    waitlisted_on=row["waitlisted_on"],
                )
                stored[young_person_id] = tuple(row[column] for column in _COLUMN_NAMES)
        return queue, stored

    def _save(
        self,
        cur: ViewCursor,
        queue: dict[str, _Pending | None],
        stored: dict[str, tuple[Any, ...]],
    ) -> None:
        table = self.table(QUEUE)
        gone = [
            young_person_id
            for young_person_id, item in queue.items()
            if item is None and young_person_id in stored
        ]
        for start in range(0, len(gone), _LOAD_CHUNK):
            cur.execute(
                f"DELETE FROM {table} WHERE young_person_id = ANY(%s)",
                (gone[start : start + _LOAD_CHUNK],),
            )
        changed = []
        for young_person_id, item in queue.items():
            if item is None:
                continue
            values = (
                young_person_id,
                item.status,
                item.referred_at,
                item.institution_id,
                _consents_json(item.consents),
                item.waitlisted_on,
            )
            if values != stored.get(young_person_id):
                changed.append(values)
        cur.upsert_rows(table, _COLUMN_NAMES, changed, key=("young_person_id",))

    # --- folding one event ---------------------------------------------------------------

    @singledispatchmethod
    def _fold(
        self, event: YoungPersonEvent, queue: dict[str, _Pending | None], young_person_id: str
    ) -> None:
        raise TypeError(f"{type(event).__name__} is listed as relevant but has no fold")

    @_fold.register
    def _(self, event: Referred, queue: dict[str, _Pending | None], young_person_id: str) -> None:
        institution_id = None if event.institution_id is None else event.institution_id.hex
        consents: set[Consent] = set()
        for scope in event.consent_scopes:
            # As in the young person's stream: only consent to sharing is bound to an
            # institution, the referring one.
            bound = institution_id if scope is ConsentScope.SHARING_WITH_INSTITUTION else None
            consents.add((scope.value, bound))
        queue[young_person_id] = _Pending(
            status=REFERRED,
            referred_at=iso_utc(event.occurred_at),
            institution_id=institution_id,
            consents=consents,
        )

    @_fold.register
    def _(
        self, event: ReferralReviewed, queue: dict[str, _Pending | None], young_person_id: str
    ) -> None:
        item = queue[young_person_id]
        if item is None:
            return
        if event.outcome is ReviewOutcome.WAITLISTED:
            item.status = WAITLISTED
            item.waitlisted_on = event.review_date.isoformat()
        else:
            queue[young_person_id] = None

    @_fold.register
    def _(
        self, event: ConsentRecorded, queue: dict[str, _Pending | None], young_person_id: str
    ) -> None:
        item = queue[young_person_id]
        if item is not None:
            item.consents.add((event.scope.value, _hex(event.institution_id)))

    @_fold.register
    def _(
        self, event: ConsentWithdrawn, queue: dict[str, _Pending | None], young_person_id: str
    ) -> None:
        item = queue[young_person_id]
        if item is not None:
            item.consents.discard((event.scope.value, _hex(event.institution_id)))

    @_fold.register
    def _(
        self, event: PersonalDataErased, queue: dict[str, _Pending | None], young_person_id: str
    ) -> None:
        queue[young_person_id] = None


def _hex(value: UUID | None) -> str | None:
    return None if value is None else value.hex


# --- the view: reads for the API ------------------------------------------------------------


@dataclass(frozen=True)
class QueueCursor:
    """A position in the queue: just after the entry with these values (keyset paging)."""

    referred_at: str
    young_person_id: str

    @classmethod
    def after_row(cls, row: Row) -> QueueCursor:
        return cls(row["referred_at"], row["young_person_id"])

    def encode(self) -> str:
        """An opaque text for clients (a GraphQL ``after`` argument)."""
        raw = f"{self.referred_at}|{self.young_person_id}".encode()
        return base64.urlsafe_b64encode(raw).decode("ascii")

    @classmethod
    def decode(cls, text: str) -> QueueCursor:
        """The cursor ``encode`` made; ValueError for anything else."""
        try:
            referred_at, young_person_id = (
                base64.urlsafe_b64decode(text.encode("ascii")).decode().split("|")
            )
            parse_utc(referred_at)
            UUID(hex=young_person_id)
        except (ValueError, UnicodeError, binascii.Error):
            raise ValueError("not a referral queue cursor") from None
        return cls(referred_at, young_person_id)


def _entry(row: Row, today: date) -> Row:
    consents = [
        {"scope": scope, "institution_id": institution}
        for scope, institution in json.loads(row.pop("consents"))
    ]
    row["consents"] = consents
    row["consent_scopes"] = list(dict.fromkeys(consent["scope"] for consent in consents))
    waited = (today - parse_utc(row["referred_at"]).date()).days
    row["days_waiting"] = max(0, waited)
    return row


class ReferralQueueView:
    """Queries of ``referral_queue``.

    Rows have the keys ``young_person_id``, ``status`` (``referred`` or ``waitlisted``),
    ``referred_at`` (UTC ISO text), ``institution_id`` (the referring institution, hex, or
    None), ``consents`` (list of ``{"scope", "institution_id"}``, institution only for
    sharing), ``consent_scopes`` (the distinct scopes, in ConsentScope order),
    ``waitlisted_on`` (``YYYY-MM-DD`` of the review that waitlisted it, or None) and
    ``days_waiting`` (whole days from the referral's UTC date to ``today``).
    """

    @staticmethod
    def pending(
        cur: ViewCursor,
        *,
        today: date,
        limit: int | None = None,
        after: QueueCursor | None = None,
        include_waitlisted: bool = True,
    ) -> list[Row]:
        """Pending referrals, oldest first, from just after ``after`` (keyset on
        ``(referred_at, young_person_id)``; a cursor stays valid when its own entry has
        left the queue), at most ``limit`` of them."""
        if limit is not None and limit < 0:
            raise ValueError("limit must not be negative")
        if limit == 0:
            return []
        conditions: list[str] = []
        params: list[Any] = []
        if not include_waitlisted:
            conditions.append("status = %s")
            params.append(REFERRED)
        if after is not None:
            conditions.append("(referred_at, young_person_id) > (%s, %s)")
            params += [after.referred_at, after.young_person_id]
        where = f"WHERE {' AND '.join(conditions)} " if conditions else ""
        sql = f"SELECT {_COLUMNS} FROM {QUEUE} {where}ORDER BY referred_at, young_person_id"
        if limit is not None:
            sql += " LIMIT %s"
            params.append(limit)
        return [_entry(row, today) for row in cur.execute(sql, params).fetchall()]

    @staticmethod
    def count(cur: ViewCursor, *, include_waitlisted: bool = True) -> int:
        """How many referrals are pending (for a total beside a page)."""
        if include_waitlisted:
            row = cur.execute(f"SELECT COUNT(*) AS n FROM {QUEUE}").fetchone()
        else:
            row = cur.execute(
                f"SELECT COUNT(*) AS n FROM {QUEUE} WHERE status = %s", (REFERRED,)
            ).fetchone()
        return int(row["n"]) if row else 0

    @staticmethod
    def of_young_people(
        cur: ViewCursor, young_person_ids: Sequence[str], *, today: date
    ) -> dict[str, Row]:
        """The queue entry of each of these young people that is pending, keyed by id
        (hex); those not in the queue are absent."""
        ids = list(dict.fromkeys(young_person_ids))
        if not ids:
            return {}
        rows = cur.execute(
            f"SELECT {_COLUMNS} FROM {QUEUE} WHERE young_person_id = ANY(%s)", (ids,)
        ).fetchall()
        return {row["young_person_id"]: _entry(row, today) for row in rows}
