"""A young person's personal data: erasure (GDPR art. 17) and the export of everything held
about them (a subject access request, GDPR art. 15)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field, JsonValue

from api.access import Permission
from api.deps import PersonalDataRead, PrincipalDep, get_services_of, on_young_person
from api.idempotency import CommandAccepted, CommandBody, CommandsDep
from api.rest.common import COMMAND_RESPONSES, ErrorBody, Name
from domain.application import CommandContext
from domain.recording import RecordedEvent
from domain.vocabulary import ErasureRequester
from domain.young_person_events import SubjectAccessExported
from projections.store import Row, read_position
from projections.timeline import TimelineProjection, TimelineView, event_fields

router = APIRouter(prefix="/young-people", tags=["personal data"])

EXPORT_FORMAT = "overgang.subject-access-export"
EXPORT_FORMAT_VERSION = 1

EXPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "No valid bearer token (`unauthenticated`)."},
    403: {
        "model": ErrorBody,
        "description": "Not the caller's to export (`forbidden`): team leads export their "
        "team's young people.",
    },
    404: {"model": ErrorBody, "description": "No such young person."},
    409: {
        "model": ErrorBody,
        "description": "The personal data was erased (`personal_data_erased`): there is "
        "nothing left to export.",
    },
    503: {"model": ErrorBody, "description": "The database is unavailable; retry later."},
}


# --- erasure -------------------------------------------------------------------------------


class EraseRequest(CommandBody):
    requested_by: ErasureRequester = Field(description="Who asked for the erasure.")
    legal_basis: Name = Field(description="For example `GDPR art. 17(1)(a)`. Not personal.")


@router.post(
    "/{young_person_id}/erasure",
    status_code=201,
    responses=COMMAND_RESPONSES,
    dependencies=[on_young_person(Permission.ERASE)],
)
def erase_personal_data(
    young_person_id: UUID, body: EraseRequest, commands: CommandsDep
) -> CommandAccepted:
    """Erase the young person's personal data, for good.

    Their data key is destroyed, so no name, note or other personal field of theirs can be
    read again anywhere in the event log; snapshots and read models are purged. What
    happened, when, and the non-identifying facts remain, for statistics. Nothing may be
    recorded for the young person afterwards; a second erasure answers 409
    `personal_data_erased`.
    """
    return commands.run(
        body,
        lambda ctx: commands.services.erase_person(
            young_person_id, body.requested_by, body.legal_basis, ctx
        ),
    )


# --- subject access export -------------------------------------------------------------------


class ExportedActor(BaseModel):
    id: str = Field(description="Who recorded the fact (a token's subject).")
    role: str


class ExportedEvent(BaseModel):
    """One fact of the young person's stream, with every field, personal ones included."""

    type: str = Field(description="The fact's name, e.g. `ContactRecorded`.")
    version: int = Field(description="Its number in the young person's stream, from 1.")
    occurred_at: datetime = Field(description="When it happened in the world.")
    recorded_at: datetime = Field(description="When it was recorded.")
    actor: ExportedActor
    fields: dict[str, JsonValue] = Field(
        description="The fact's fields: enums as values, dates in ISO 8601, ids in hex."
    )

    @classmethod
    def of(cls, event: RecordedEvent) -> ExportedEvent:
        return cls(
            type=type(event).__name__,
            version=event.originator_version,
            occurred_at=event.occurred_at,
            recorded_at=event.timestamp,
            actor=ExportedActor(id=event.actor.id, role=event.actor.role.value),
            fields=event_fields(event),
        )


class ExportedTimelineEntry(BaseModel):
    """An entry of the young person's timeline, as the team sees it."""

    position: int
    occurred_at: datetime
    recorded_at: datetime
    event_type: str
    actor_id: str
    actor_role: str
    summary: str
    details: dict[str, JsonValue]
    personal_data_erased: bool

    @classmethod
    def of(cls, row: Row) -> ExportedTimelineEntry:
        return cls.model_validate({**row, "details": _json_object(row["details"])})


def _json_object(text: str) -> dict[str, JsonValue]:
    loaded: dict[str, JsonValue] = json.loads(text)
    return loaded


class SubjectAccessExport(BaseModel):
    """Everything Overgang holds about one young person."""

    format: str = Field(description=f"Always `{EXPORT_FORMAT}`.")
    format_version: int
    young_person_id: UUID
    exported_at: datetime = Field(description="When the export was made (and recorded).")
    position: int = Field(description="The event log position where the export was recorded.")
    events: list[ExportedEvent] = Field(
        description="Every fact of the young person's stream, in order, this export included."
    )
    timeline: list[ExportedTimelineEntry] = Field(
        description="The timeline as far as it has been brought up to date "
        "(see `timeline_position`)."
    )
    timeline_position: int = Field(
        description="The last event log position the timeline has applied."
    )


@router.get(
    "/{young_person_id}/export",
    responses=EXPORT_RESPONSES,
    dependencies=[on_young_person(Permission.EXPORT)],
)
def export_personal_data(
    young_person_id: UUID, principal: PrincipalDep, request: Request, response: Response
) -> SubjectAccessExport:
    """Everything held about the young person, as JSON: every fact of their stream with all
    its fields (personal ones in clear) and their timeline.

    The export is itself recorded in the young person's timeline. After erasure there is
    nothing to export: 409 `personal_data_erased`.
    """
    services = get_services_of(request)
    app = services.app
    # Recorded first: the domain refuses an erased person before anything is read.
    recorded = app.record_subject_access_export(
        young_person_id,
        EXPORT_FORMAT,
        EXPORT_FORMAT_VERSION,
        CommandContext(actor=principal.actor),
    )
    events = [e for e in app.events.get(young_person_id) if isinstance(e, RecordedEvent)]
    with services.views.transaction(readonly=True) as cur:
        rows = TimelineView.entries(cur, [young_person_id.hex])[young_person_id.hex]
        timeline_position = read_position(cur, TimelineProjection.name)
    services.access_log.record(
        principal.actor, services.clock(), [PersonalDataRead(young_person_id, "export")]
    )
    # Personal data: no cache on the way may keep a copy.
    response.headers["Cache-Control"] = "no-store"
    return SubjectAccessExport(
        format=EXPORT_FORMAT,
        format_version=EXPORT_FORMAT_VERSION,
        young_person_id=young_person_id,
        exported_at=next(
            e.timestamp for e in reversed(events) if isinstance(e, SubjectAccessExported)
        ),
        position=recorded.position,
        events=[ExportedEvent.of(event) for event in events],
        timeline=[ExportedTimelineEntry.of(row) for row in rows],
        timeline_position=timeline_position,
    )
