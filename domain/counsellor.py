"""A counsellor (mentor and caseworker) and the caseload they carry."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import (
    CaseloadLimitExceededError,
    InvalidValueError,
    OverrideReasonMissingError,
)
from domain.recording import RecordedEvent, RecordingAggregate, Stamp
from domain.vocabulary import CounsellorRole


class CounsellorEvent(RecordedEvent):
    """Base of the facts in a counsellor's stream."""


class CounsellorRegistered(CounsellorEvent, Aggregate.Created):
    """A counsellor joined a team."""

    name: str
    team_id: str
    role: CounsellorRole
    caseload_limit: int

    PERSONAL = frozenset({"name"})
    NON_IDENTIFYING = frozenset({"team_id"})

    def evolve(self, aggregate: Any) -> None:
        aggregate.team_id = self.team_id
        aggregate.role = self.role
        aggregate.caseload_limit = self.caseload_limit


class CaseloadLimitChanged(CounsellorEvent):
    """The number of young people the counsellor should follow at most was changed."""

    caseload_limit: int

    def evolve(self, aggregate: Any) -> None:
        aggregate.caseload_limit = self.caseload_limit


class CaseTaken(CounsellorEvent):
    """The counsellor took on a young person's case."""

    young_person_id: UUID
    over_limit_reason: str | None  # why the limit was overridden, if it was

    PERSONAL = frozenset({"over_limit_reason"})

    def evolve(self, aggregate: Any) -> None:
        aggregate.caseload.append(self.young_person_id.hex)


class CaseReleased(CounsellorEvent):
    """The counsellor no longer carries the young person's case (handed over or closed)."""

    young_person_id: UUID

    def evolve(self, aggregate: Any) -> None:
        aggregate.caseload.remove(self.young_person_id.hex)


def _check_limit(limit: int) -> None:
    if limit < 1:
        raise InvalidValueError("a caseload limit must be at least 1")


class Counsellor(RecordingAggregate):
    def __init__(self) -> None:
        self.team_id = ""
        self.role = CounsellorRole.COUNSELLOR
        self.caseload_limit = 0
        self.caseload: list[str] = []

    @classmethod
    def register(
        cls,
        counsellor_id: UUID,
        name: str,
        team_id: str,
        role: CounsellorRole,
        caseload_limit: int,
        stamp: Stamp,
    ) -> Counsellor:
        _check_limit(caseload_limit)
        if not team_id.strip():
            raise InvalidValueError("a counsellor belongs to a team")
        return cls._begin(
            CounsellorRegistered,
            counsellor_id,
            stamp,
            name=name,
            team_id=team_id,
            role=role,
            caseload_limit=caseload_limit,
        )

    def change_caseload_limit(self, caseload_limit: int, stamp: Stamp) -> None:
        _check_limit(caseload_limit)
        self._record(CaseloadLimitChanged, stamp, caseload_limit=caseload_limit)

    def carries(self, young_person_id: UUID) -> bool:
        return young_person_id.hex in self.caseload

    def take_case(self, young_person_id: UUID, over_limit_reason: str | None, stamp: Stamp) -> None:
        """Take a case; beyond the limit only with an explicit override and its reason."""
        if self.carries(young_person_id):
            return
        if over_limit_reason is not None and not over_limit_reason.strip():
            raise OverrideReasonMissingError("overriding the caseload limit needs a reason")
        over_limit = len(self.caseload) >= self.caseload_limit
        if over_limit and over_limit_reason is None:
            raise CaseloadLimitExceededError(
                f"counsellor {self.id} already carries {len(self.caseload)} of "
                f"{self.caseload_limit} cases; override with a reason"
            )
        self._record(
            CaseTaken,
            stamp,
            young_person_id=young_person_id,
            over_limit_reason=over_limit_reason if over_limit else None,
        )

    def release_case(self, young_person_id: UUID, stamp: Stamp) -> None:
        if self.carries(young_person_id):
            self._record(CaseReleased, stamp, young_person_id=young_person_id)
