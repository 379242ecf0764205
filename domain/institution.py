"""A partner institution: it refers young people and reports absence and concern."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import InvalidValueError
from domain.recording import RecordedEvent, RecordingAggregate, Stamp
from domain.vocabulary import InstitutionKind


class InstitutionEvent(RecordedEvent):
    """Base of the facts in an institution's stream."""


class InstitutionRegistered(InstitutionEvent, Aggregate.Created):
    """A partner institution was registered, with its contact person in the team."""

    name: str  # an organisation's name, not a person's
    kind: InstitutionKind
    contact_counsellor_id: UUID | None

    NON_IDENTIFYING = frozenset({"name"})

    def evolve(self, aggregate: Any) -> None:
        aggregate.contact_counsellor_id = self.contact_counsellor_id


class ContactPersonAssigned(InstitutionEvent):
    """A team member became the institution's contact person."""

    counsellor_id: UUID

    def evolve(self, aggregate: Any) -> None:
        aggregate.contact_counsellor_id = self.counsellor_id


class Institution(RecordingAggregate):
    def __init__(self) -> None:
        self.contact_counsellor_id: UUID | None = None

    @classmethod
    def register(
        cls,
        institution_id: UUID,
        name: str,
        kind: InstitutionKind,
        contact_counsellor_id: UUID | None,
        stamp: Stamp,
    ) -> Institution:
        if not name.strip():
            raise InvalidValueError("an institution needs a name")
        return cls._begin(
            InstitutionRegistered,
            institution_id,
            stamp,
            name=name,
            kind=kind,
            contact_counsellor_id=contact_counsellor_id,
        )

    def assign_contact_person(self, counsellor_id: UUID, stamp: Stamp) -> None:
        self._record(ContactPersonAssigned, stamp, counsellor_id=counsellor_id)
