"""The decision audit's completeness checks: what the law asks of each authority decision.

Each check has a stable name and answers passed (True), failed (False) or cannot tell
(None: the young person's personal data was erased, so whether a text was there is no
longer known). The checks read only facts the audit row keeps: whether a text was present,
never the text itself.

- ``reasons_with_legal_basis`` (Forvaltningsloven sections 22 and 24): legal basis,
  reasons, main considerations and facts relied on are all there.
- ``hearing`` (section 19): a hearing was held on a date, or a reason why none was needed
  is given.
- ``appeal_guidance`` (section 25): given, unless the decision is fully in favour.
- ``injunction_content`` (education injunctions; Ankestyrelsen's principle ruling 87-14):
  an education goal, a deadline or a plan (as of the decision), and the support offered.
- ``drawn_up_with_young_person`` (education injunctions; 87-14): drawn up together.
- ``attempts_to_reach`` (sanctions): the municipality tried to reach the young person
  before it sanctioned; see :class:`AttemptsBeforeSanction` for the threshold.

The domain already refuses the absolute ones (no legal basis, no appeal guidance when not
fully in favour, an injunction without goal or support); they are checked here too, so the
audit stays honest about decisions recorded before those rules.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from domain.vocabulary import DecisionKind

REASONS = "reasons_with_legal_basis"
HEARING = "hearing"
APPEAL_GUIDANCE = "appeal_guidance"
INJUNCTION_CONTENT = "injunction_content"
DRAWN_UP_TOGETHER = "drawn_up_with_young_person"
ATTEMPTS_TO_REACH = "attempts_to_reach"

CHECK_NAMES = (
    REASONS,
    HEARING,
    APPEAL_GUIDANCE,
    INJUNCTION_CONTENT,
    DRAWN_UP_TOGETHER,
    ATTEMPTS_TO_REACH,
)
"""Every check, in the order they are reported (a CSV column each)."""

PROVENANCE_DAYS = 90
"""How far back the provenance looks: contacts and institution signals in these days."""

_ERASED = "cannot tell: the young person's personal data was erased"


@dataclass(frozen=True, kw_only=True)
class AttemptsBeforeSanction:
    """One version of the rule "try to reach the young person before a sanction".

    Passed when, in the ``window_days`` before the sanction, at least ``min_reached``
    contacts reached the young person or at least ``min_attempts`` were attempted (an
    outgoing call, text or meeting, answered or not, or any contact that reached them).
    Versions never change in place: a new threshold is a new version with a later
    ``effective_from``; a sanction is judged by the version in force on its day (UTC).
    """

    name = ATTEMPTS_TO_REACH
    version: int
    effective_from: date
    window_days: int
    min_attempts: int
    min_reached: int

    @property
    def in_force_from(self) -> datetime:
        return datetime.combine(self.effective_from, time(0), tzinfo=UTC)


SANCTION_ATTEMPT_RULES: tuple[AttemptsBeforeSanction, ...] = (
    AttemptsBeforeSanction(
        version=1,
        effective_from=date(2016, 1, 1),
        window_days=30,
        min_attempts=2,
        min_reached=1,
    ),
)
"""Every version, oldest first. Adding one takes a rebuild of ``decision_audit``."""


def sanction_rule_at(moment: datetime) -> AttemptsBeforeSanction:
    """The version in force at ``moment`` (the first one for anything before it)."""
    chosen = SANCTION_ATTEMPT_RULES[0]
    for rule in SANCTION_ATTEMPT_RULES:
        if rule.in_force_from <= moment:
            chosen = rule
    return chosen


def sanction_rule(version: int) -> AttemptsBeforeSanction:
    for rule in SANCTION_ATTEMPT_RULES:
        if rule.version == version:
            return rule
    raise LookupError(f"no version {version} of {ATTEMPTS_TO_REACH}")


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool | None
    """False: incomplete; None: cannot tell any more (erased)."""
    explanation: str
    rule_version: int | None = None


def _known(value: Any) -> bool | None:
    return None if value is None else bool(value)


def _missing(elements: Sequence[tuple[str, bool | None]]) -> tuple[list[str], bool]:
    """The names of the elements known to be missing, and whether any is unknown."""
    missing = [name for name, present in elements if present is False]
    return missing, any(present is None for _, present in elements)


def _reasons(row: Mapping[str, Any]) -> Check:
    missing, unknown = _missing(
        [
            ("legal basis", _known(row["legal_basis_present"])),
            ("reasons", _known(row["reasons_present"])),
            ("main considerations", _known(row["considerations_present"])),
            ("facts relied on", _known(row["facts_present"])),
        ]
    )
    if missing:
        return Check(REASONS, False, "missing: " + ", ".join(missing))
    if unknown:
        return Check(REASONS, None, _ERASED)
    return Check(REASONS, True, "legal basis, reasons, main considerations and facts given")


def _hearing(row: Mapping[str, Any]) -> Check:
    if row["hearing_held_on"] is not None:
        return Check(HEARING, True, f"hearing held on {row['hearing_held_on']}")
    reason = _known(row["hearing_reason_present"])
    if reason is None:
        return Check(HEARING, None, _ERASED)
    if reason:
        return Check(HEARING, True, "no hearing; the reason why none was needed is given")
    return Check(HEARING, False, "no hearing, and no reason why none was needed")


def _appeal_guidance(row: Mapping[str, Any]) -> Check:
    if row["fully_in_favour"]:
        return Check(APPEAL_GUIDANCE, True, "not required: fully in the young person's favour")
    given = _known(row["appeal_guidance_present"])
    if given is None:
        return Check(APPEAL_GUIDANCE, None, _ERASED)
    if given:
        return Check(APPEAL_GUIDANCE, True, "given; the decision is not fully in favour")
    return Check(APPEAL_GUIDANCE, False, "missing, and the decision is not fully in favour")


def _injunction_content(row: Mapping[str, Any]) -> Check:
    deadline_or_plan = row["deadline"] is not None or bool(row["plan_drafted"])
    missing, unknown = _missing(
        [
            ("an education goal", _known(row["education_goal_present"])),
            ("a deadline or a plan", deadline_or_plan),
            ("the support offered", _known(row["support_offered_present"])),
        ]
    )
    if missing:
        return Check(INJUNCTION_CONTENT, False, "missing: " + ", ".join(missing))
    if unknown:
        return Check(INJUNCTION_CONTENT, None, _ERASED)
    timing = f"deadline {row['deadline']}" if row["deadline"] is not None else "a plan"
    return Check(INJUNCTION_CONTENT, True, f"education goal, {timing} and support offered given")


def _drawn_up_together(row: Mapping[str, Any]) -> Check:
    if row["drawn_up_with_young_person"]:
        return Check(DRAWN_UP_TOGETHER, True, "drawn up together with the young person")
    return Check(DRAWN_UP_TOGETHER, False, "not drawn up together with the young person")


def _attempts(row: Mapping[str, Any]) -> Check:
    rule = sanction_rule(int(row["sanction_rule_version"]))
    attempts, reached = int(row["sanction_attempts"]), int(row["sanction_reached"])
    passed = reached >= rule.min_reached or attempts >= rule.min_attempts
    return Check(
        ATTEMPTS_TO_REACH,
        passed,
        f"{attempts} attempts, {reached} reached in the {rule.window_days} days before "
        f"(needs {rule.min_attempts} attempts or {rule.min_reached} reached)",
        rule.version,
    )


def evaluate(row: Mapping[str, Any]) -> list[Check]:
    """The checks that apply to the decision of an audit row, in ``CHECK_NAMES`` order."""
    checks = [_reasons(row), _hearing(row), _appeal_guidance(row)]
    kind = row["kind"]
    if kind == DecisionKind.EDUCATION_INJUNCTION.value:
        checks += [_injunction_content(row), _drawn_up_together(row)]
    elif kind == DecisionKind.SANCTION.value:
        checks.append(_attempts(row))
    return checks


def completeness(checks: Sequence[Check]) -> bool | None:
    """False when a check failed; None when none failed but one cannot tell; else True."""
    if any(check.passed is False for check in checks):
        return False
    if any(check.passed is None for check in checks):
        return None
    return True
