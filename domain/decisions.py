"""The content every authority decision carries (Forvaltningsloven sections 19, 22, 24, 25).

The domain refuses only what the law makes absolute: every decision names its legal basis;
a decision that is not fully in the young person's favour carries appeal guidance; an
education injunction names the education goal and the support offered (Ankestyrelsen's
principle ruling 87-14); a sanction states the reduction;
another decision states its subject. Whether reasons, considerations, facts, hearing, a
deadline or plan, drafting together and attempts to reach the young person are there is a
matter of quality that the decision audit (``projections.decision_audit``) reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from domain.errors import (
    AppealGuidanceMissingError,
    DecisionSubjectMissingError,
    InjunctionContentMissingError,
    InvalidValueError,
    SanctionReductionMissingError,
)
from domain.values import InjunctionDetails
from domain.vocabulary import DeclaredRole, NotificationMethod


def _blank(text: str | None) -> bool:
    return text is None or not text.strip()


def is_present(text: str | None) -> bool:
    """Whether a text says something: not missing, not only white space."""
    return not _blank(text)


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


def check_injunction(injunction: InjunctionDetails) -> None:
    """An injunction (and a revision) must name the education goal and the support
    offered. A deadline is a matter of quality (a plan may stand in for it), and so is
    drafting it together: the audit reports both."""
    missing = [
        what
        for what, text in (
            ("an education goal", injunction.education_goal),
            ("the support offered", injunction.support_offered),
        )
        if _blank(text)
    ]
    if missing:
        raise InjunctionContentMissingError(
            f"an education injunction must name {' and '.join(missing)}"
        )


def check_sanction(reduction: str) -> None:
    if _blank(reduction):
        raise SanctionReductionMissingError("a sanction must state the reduction decided")


def check_subject(subject: str) -> None:
    if _blank(subject):
        raise DecisionSubjectMissingError("a decision must state what it decides")
