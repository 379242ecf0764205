"""The decision audit as CSV, for auditors: one row per decision, a column per check.

The CSV holds no personal text: ids, kinds, times, truth values, counts. It is streamed a
page at a time (each page its own read transaction, keyset-paged), so an export of every
decision costs memory for one page only. The first page is read before the response
starts, so an unavailable database still answers 503 rather than a broken download.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import StreamingResponse

from api.access import Permission
from api.deps import get_services_of, requires
from api.rest.common import ErrorBody, Timestamp
from domain.vocabulary import Channel, DeclaredRole
from projections.decision_audit import AuditCursor, AuditFilter, DecisionAuditView
from projections.decision_checks import CHECK_NAMES
from projections.store import Row, ViewStore

router = APIRouter(
    tags=["decision audit"],
    dependencies=[requires(Permission.READ_DECISION_AUDIT)],
)

PAGE_ROWS = 1000

_CHANNELS = [channel.value for channel in Channel]

COLUMNS = (
    "decision_id",
    "young_person_id",
    "kind",
    "decision_type",
    "readiness_level",
    "revises_decision_id",
    "occurred_at",
    "recorded_at",
    "decided_by",
    "fully_in_favour",
    "notified_via",
    "legal_basis_present",
    "complete",
    *CHECK_NAMES,
    "decider_is_mentor",
    "mentor_id",
    "declared_role",
    "role_declared",
    "status",
    "appealed_at",
    "appeal_outcome",
    "appeal_decided_at",
    "revoked_at",
    "superseded_by",
    "superseded_at",
    "contacts_90d",
    "contacts_reached_90d",
    *(f"{channel}_{count}_90d" for channel in _CHANNELS for count in ("contacts", "reached")),
    "plan_drafted",
    "milestones_open",
    "milestones_reached",
    "milestones_missed",
    "absences_90d",
    "concerns_90d",
    "dropouts_90d",
    "personal_data_erased",
)
"""The CSV's header, in order. A check's cell: pass, fail, unknown (erased) or empty (the
check does not apply to the decision's kind)."""

CSV_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/csv": {}},
        "description": "One row per decision, oldest first; the header names the columns.",
    },
    401: {"model": ErrorBody, "description": "No valid bearer token (`unauthenticated`)."},
    403: {"model": ErrorBody, "description": "Not an auditor (`forbidden`)."},
    422: {
        "model": ErrorBody,
        "description": "A time that is not ISO 8601 text with a time zone.",
    },
    503: {"model": ErrorBody, "description": "The database is unavailable; retry later."},
}


def _uuid(hex_id: str | None) -> str:
    return "" if hex_id is None else str(UUID(hex=hex_id))


def _truth(value: bool | None) -> str:
    return "" if value is None else str(value).lower()


def _outcome(passed: bool | None) -> str:
    return "unknown" if passed is None else ("pass" if passed else "fail")


def csv_row(entry: Row) -> list[Any]:
    """An audit entry (``DecisionAuditView``) as the values of ``COLUMNS``."""
    checks = {check.name: _outcome(check.passed) for check in entry["checks"]}
    by_channel = entry["contacts_by_channel"]
    role = entry["declared_role"]
    return [
        _uuid(entry["decision_id"]),
        _uuid(entry["young_person_id"]),
        entry["kind"],
        entry["event_type"],
        entry["readiness_level"] or "",
        _uuid(entry["revises_decision_id"]),
        entry["occurred_at"],
        entry["recorded_at"],
        _uuid(entry["decided_by"]),
        _truth(entry["fully_in_favour"]),
        entry["notified_via"],
        _truth(entry["legal_basis_present"]),
        _truth(entry["complete"]),
        *(checks.get(name, "") for name in CHECK_NAMES),
        _truth(entry["decider_is_mentor"]),
        _uuid(entry["mentor_id"]),
        role,
        _truth(role != DeclaredRole.NOT_DECLARED.value),
        entry["status"],
        entry["appealed_at"] or "",
        entry["appeal_outcome"] or "",
        entry["appeal_decided_at"] or "",
        entry["revoked_at"] or "",
        _uuid(entry["superseded_by"]),
        entry["superseded_at"] or "",
        entry["contacts"],
        entry["contacts_reached"],
        *(count for channel in _CHANNELS for count in by_channel.get(channel, (0, 0))),
        _truth(entry["plan_drafted"]),
        entry["milestones_open"],
        entry["milestones_reached"],
        entry["milestones_missed"],
        entry["absences"],
        entry["concerns"],
        entry["dropouts"],
        _truth(entry["personal_data_erased"]),
    ]


def _page(views: ViewStore, which: AuditFilter, after: AuditCursor | None) -> list[Row]:
    with views.transaction(readonly=True) as cur:
        return DecisionAuditView.page(cur, which, limit=PAGE_ROWS, after=after)


def _lines(views: ViewStore, which: AuditFilter, first: list[Row]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(COLUMNS)
    page = first
    while True:
        writer.writerows(csv_row(entry) for entry in page)
        yield flush()
        if len(page) < PAGE_ROWS:
            return
        page = _page(views, which, AuditCursor.after_row(page[-1]))


def _aware(name: str, value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise HTTPException(status_code=422, detail=f"{name} needs a time zone")
    return value


@router.get(
    "/decision-audit.csv",
    response_class=StreamingResponse,
    responses=CSV_RESPONSES,
)
def decision_audit_csv(
    request: Request,
    from_: Annotated[
        Timestamp | None,
        Query(alias="from", description="Decisions made at or after this time."),
    ] = None,
    to: Annotated[Timestamp | None, Query(description="Decisions made before this time.")] = None,
    incomplete_only: Annotated[
        bool, Query(alias="incompleteOnly", description="Only decisions with a failed check.")
    ] = False,
) -> StreamingResponse:
    """The decision audit as CSV (auditors): every authority decision with its legal
    completeness checks, dual role, appeal course and provenance; no personal text."""
    which = AuditFilter(
        since=_aware("from", from_), until=_aware("to", to), incomplete_only=incomplete_only
    )
    # A read-only download: from the read replica when there is one.
    views = get_services_of(request).read_views
    first = _page(views, which, None)
    return StreamingResponse(
        _lines(views, which, first),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="decision-audit.csv"',
            "Cache-Control": "no-store",
        },
    )
