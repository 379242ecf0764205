"""The content every authority decision carries (Forvaltningsloven sections 19, 22, 24, 25).

The domain refuses only what the law makes absolute here: a decision that is not fully in
the young person's favour must carry appeal guidance. Whether reasons, facts and hearing
are good enough is a matter of quality that the decision audit reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from domain.errors import AppealGuidanceMissingError, InvalidValueError
from domain.vocabulary import DeclaredRole, NotificationMethod


def _blank(text: str | None) -> bool:
    return text is None or not text.strip()


@dataclass(frozen=True)
class DecisionContent:
    legal_basis: str  # the provision relied on, e.g. "LAB § 21 b"
    reasons: str
    main_considerations: str
    facts_relied_on: str
    fully_in_favour: bool
    hearing_held_on: date | None  # partshøring (section 19) ...
    hearing_omitted_reason: str | None  # ... or why it was not required
    appeal_guidance: str | None  # klagevejledning (section 25)
    notified_via: NotificationMethod
    decided_by: UUID  # the counsellor who decided
    declared_role: DeclaredRole

    def check(self) -> None:
        if _blank(self.legal_basis):
            raise InvalidValueError("a decision must name its legal basis")
        if not self.fully_in_favour and _blank(self.appeal_guidance):
            raise AppealGuidanceMissingError(
                "a decision that is not fully in the young person's favour "
                "must carry appeal guidance"
            )

    def event_fields(self) -> dict[str, Any]:
        return {
            "legal_basis": self.legal_basis,
            "reasons": self.reasons,
            "main_considerations": self.main_considerations,
            "facts_relied_on": self.facts_relied_on,
            "fully_in_favour": self.fully_in_favour,
            "hearing_held_on": self.hearing_held_on,
            "hearing_omitted_reason": self.hearing_omitted_reason,
            "appeal_guidance": self.appeal_guidance,
            "notified_via": self.notified_via,
            "decided_by": self.decided_by,
            "declared_role": self.declared_role,
        }
