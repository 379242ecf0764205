"""Who may do what: the one policy every REST route and GraphQL root field asks.

A route or field names a ``Permission``; ``POLICY`` says which roles hold it and how far
(``Reach``). Deciding is pure: ``may_use`` answers whether the caller's role could ever
hold the permission (a root field checks it before anything is read), ``may`` whether it
holds it for one ``Target`` (a young person, a team, an institution). REST dependencies
(``api.deps``) and GraphQL permission classes (``api.graphql.permissions``) both call
``require``; ``AccessDeniedError`` becomes 403 ``forbidden`` (REST) or the GraphQL error
code ``forbidden``.

Rules worth knowing:

- Counsellors and team leads need a ``team`` claim, partners an ``institution`` claim; a
  token without it holds no permission at all.
- A young person belongs to the team they were enrolled in (or handed over to). A young
  person not enrolled yet (a pending referral) belongs to no team: the teams review
  referrals together every week and decide there which team takes them, so counsellors
  and team leads of every team may see and work on pending referrals.
- An unknown young person is denied exactly like another team's: the answer never tells
  whether someone exists. Likewise a partner may report signals only about young people
  linked with its institution (referred by it, or with a transition, an education or
  consent to share with it).
- Admins manage the organisation and may erase (the data-protection officer's duty), but
  read no personal data. Auditors read decisions and the access log only. Evaluators get
  pseudonymised data as files (`overgang replay`, run by an operator), not through the API.
  Evaluators, team leads and auditors read the outcomes, which are aggregates without any
  young person's id.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum, StrEnum
from uuid import UUID

from api.auth import Principal
from domain.actors import Role


class Permission(StrEnum):
    """What a route or a root field does, as far as access is concerned."""

    READ_YOUNG_PERSON = "read_young_person"
    WORK_ON_CASE = "work_on_case"
    ENROL_IN_TEAM = "enrol_in_team"
    REFER = "refer"
    REPORT_SIGNAL = "report_signal"
    ERASE = "erase"
    EXPORT = "export"
    READ_CASELOAD = "read_caseload"
    READ_TEAM_CASELOADS = "read_team_caseloads"
    READ_REFERRAL_QUEUE = "read_referral_queue"
    READ_ALERTS = "read_alerts"
    ACKNOWLEDGE_ALERT = "acknowledge_alert"
    MANAGE_ORGANISATION = "manage_organisation"
    READ_DECISION_AUDIT = "read_decision_audit"
    READ_ACCESS_LOG = "read_access_log"
    READ_PSEUDONYMISED = "read_pseudonymised"
    READ_OUTCOMES = "read_outcomes"


class Reach(Enum):
    """How far a role's permission goes."""

    ANY = "any"
    """Whatever the target (for permissions without one, or organisation-wide ones)."""
    TEAM = "team"
    """Targets of the caller's team only (a counsellor, a team's caseloads)."""
    TEAM_OR_UNASSIGNED = "team_or_unassigned"
    """Young people of the caller's team, and those not enrolled in any team yet."""
    INSTITUTION = "institution"
    """Commands speaking for the caller's own institution only."""


@dataclass(frozen=True)
class Target:
    """What a permission is asked for: what of it the policy needs to know."""

    exists: bool = True
    team: str | None = None
    """The team it belongs to; None: no team (a young person not enrolled yet)."""
    institution_id: str | None = None
    """The institution a command speaks for (a referral, a signal)."""
    linked_institutions: frozenset[str] | None = None
    """The institutions a young person is linked with (referral, transition, education,
    consent); None where no young person is concerned (a new referral)."""

    @classmethod
    def unknown(cls) -> Target:
        return cls(exists=False)


COUNSELLOR, TEAM_LEAD, PARTNER = Role.COUNSELLOR, Role.TEAM_LEAD, Role.PARTNER
AUDITOR, EVALUATOR, ADMIN = Role.AUDITOR, Role.EVALUATOR, Role.ADMIN

_CASE_WORK = {COUNSELLOR: Reach.TEAM_OR_UNASSIGNED, TEAM_LEAD: Reach.TEAM_OR_UNASSIGNED}

POLICY: Mapping[Permission, Mapping[Role, Reach]] = {
    # A young person's data (timeline, plan, transitions, flags, caseload entries).
    Permission.READ_YOUNG_PERSON: _CASE_WORK,
    # Every command on a young person's case: review, enrolment, contact, plan, ...
    Permission.WORK_ON_CASE: _CASE_WORK,
    # Enrolment and hand-over into a team: the target is the receiving counsellor's team.
    Permission.ENROL_IN_TEAM: {COUNSELLOR: Reach.TEAM, TEAM_LEAD: Reach.TEAM},
    Permission.REFER: {COUNSELLOR: Reach.ANY, TEAM_LEAD: Reach.ANY, PARTNER: Reach.INSTITUTION},
    Permission.REPORT_SIGNAL: {**_CASE_WORK, PARTNER: Reach.INSTITUTION},
    Permission.ERASE: {TEAM_LEAD: Reach.TEAM_OR_UNASSIGNED, ADMIN: Reach.ANY},
    Permission.EXPORT: {TEAM_LEAD: Reach.TEAM_OR_UNASSIGNED},
    # A counsellor's caseload: the target is the counsellor's team.
    Permission.READ_CASELOAD: {COUNSELLOR: Reach.TEAM, TEAM_LEAD: Reach.TEAM},
    Permission.READ_TEAM_CASELOADS: {TEAM_LEAD: Reach.TEAM},
    Permission.READ_REFERRAL_QUEUE: {COUNSELLOR: Reach.ANY, TEAM_LEAD: Reach.ANY},
    # Alerts of the caller's team (the resolver scopes them by the caller's team).
    Permission.READ_ALERTS: {COUNSELLOR: Reach.TEAM, TEAM_LEAD: Reach.TEAM},
    # Acknowledging or resolving is work on the case (a pending referral has no alerts:
    # the domain answers alert_not_open).
    Permission.ACKNOWLEDGE_ALERT: _CASE_WORK,
    # Counsellors, their caseload limits, institutions and their contact persons.
    Permission.MANAGE_ORGANISATION: {ADMIN: Reach.ANY},
    Permission.READ_DECISION_AUDIT: {AUDITOR: Reach.ANY},
    Permission.READ_ACCESS_LOG: {AUDITOR: Reach.ANY},
    # Study-scoped pseudonymised data: the API serves none (replay reports are files).
    Permission.READ_PSEUDONYMISED: {EVALUATOR: Reach.ANY},
    # The outcomes: aggregates only (no young person's id), organisation-wide.
    Permission.READ_OUTCOMES: {EVALUATOR: Reach.ANY, TEAM_LEAD: Reach.ANY, AUDITOR: Reach.ANY},
}


class AccessDeniedError(Exception):
    """The caller may not do this (to this target). The message names the permission
    only: it must read the same whether the target exists or not."""

    code = "forbidden"

    def __init__(self, permission: Permission) -> None:
        self.permission = permission
        self.message = f"access denied: {permission.value} is not permitted to this caller"
        super().__init__(self.message)


def _has_scope_claims(principal: Principal) -> bool:
    """Team roles need their team, partners their institution, or they hold nothing."""
    if principal.role in (COUNSELLOR, TEAM_LEAD):
        return principal.team is not None
    if principal.role is PARTNER:
        return principal.institution is not None
    return True


def _reaches(reach: Reach, principal: Principal, target: Target) -> bool:
    if reach is Reach.ANY:
        return True
    if not target.exists:
        return False
    if reach is Reach.TEAM:
        return target.team is not None and target.team == principal.team
    if reach is Reach.TEAM_OR_UNASSIGNED:
        return target.team is None or target.team == principal.team
    # A partner speaks for its own institution, and about young people linked with it
    # only: any other answer would tell it that someone exists.
    own = _same_id(target.institution_id, principal.institution)
    linked = target.linked_institutions
    return own and (linked is None or any(_same_id(i, principal.institution) for i in linked))


def _same_id(a: str | None, b: str | None) -> bool:
    """Ids compared as UUIDs when both are (any spelling), as text otherwise."""
    if a is None or b is None:
        return False
    try:
        return UUID(a) == UUID(b)
    except ValueError:
        return a == b


def may_use(principal: Principal, permission: Permission) -> bool:
    """Whether the caller's role holds ``permission`` at all (for some target)."""
    return principal.role in POLICY[permission] and _has_scope_claims(principal)


def may(principal: Principal, permission: Permission, target: Target) -> bool:
    """Whether the caller may do ``permission`` to ``target``."""
    reach = POLICY[permission].get(principal.role)
    return reach is not None and _has_scope_claims(principal) and _reaches(reach, principal, target)


def require(principal: Principal, permission: Permission, target: Target | None = None) -> None:
    """``may`` (or ``may_use`` without a target), or ``AccessDeniedError``."""
    allowed = (
        may_use(principal, permission) if target is None else may(principal, permission, target)
    )
    if not allowed:
        raise AccessDeniedError(permission)
