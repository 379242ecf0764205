"""Who recorded a fact, and in which role."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Role(Enum):
    COUNSELLOR = "counsellor"
    TEAM_LEAD = "team_lead"
    PARTNER = "partner"
    AUDITOR = "auditor"
    EVALUATOR = "evaluator"
    ADMIN = "admin"
    # Facts recorded by the system itself (the alert sweeper, retention runs).
    SYSTEM = "system"


@dataclass(frozen=True)
class Actor:
    """The authenticated subject that recorded an event (a token's ``sub``) and its role."""

    id: str
    role: Role
