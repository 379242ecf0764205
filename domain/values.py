"""What commands about a young person carry: plain values checked before anything is recorded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import UUID

from domain.vocabulary import Channel, ConsentScope, Direction, Place, Purpose, TransitionKind


@dataclass(frozen=True)
class ReferralDetails:
    name: str
    date_of_birth: date
    phone: str | None
    institution_id: UUID | None
    referrer_name: str
    reason: str
    consent_scopes: tuple[ConsentScope, ...]


@dataclass(frozen=True)
class ContactDetails:
    channel: Channel
    direction: Direction
    place: Place | None
    purpose: Purpose
    reached: bool  # an unanswered call or text is an attempt, not contact
    duration_minutes: int | None
    note: str


@dataclass(frozen=True)
class TransitionDetails:
    kind: TransitionKind
    from_situation: str
    to_institution_id: UUID | None
    programme: str
    expected_start: date | None


@dataclass(frozen=True)
class InjunctionDetails:
    education_goal: str
    deadline: date | None
    support_offered: str
    drawn_up_with_young_person: bool
