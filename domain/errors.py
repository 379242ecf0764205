"""Named domain errors.

Each error has a stable ``code`` that clients can rely on and a ``kind`` that the API maps
to a status in one place. Messages name ids and rules only: never a name, note or phone
number, because messages end up in logs and HTTP responses.
"""

from __future__ import annotations

from enum import Enum
from typing import ClassVar


class ErrorKind(Enum):
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"  # the command is valid, but not in the stream's current state
    INVALID = "invalid"  # the command itself breaks a rule, whatever the state


class DomainError(Exception):
    code: ClassVar[str] = "domain_error"
    kind: ClassVar[ErrorKind] = ErrorKind.CONFLICT

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- not found ---------------------------------------------------------------------------


class NotFoundError(DomainError):
    kind = ErrorKind.NOT_FOUND
    code = "not_found"


class YoungPersonNotFoundError(NotFoundError):
    code = "young_person_not_found"


class CounsellorNotFoundError(NotFoundError):
    code = "counsellor_not_found"


class InstitutionNotFoundError(NotFoundError):
    code = "institution_not_found"


class MilestoneNotFoundError(NotFoundError):
    code = "milestone_not_found"


class TransitionNotFoundError(NotFoundError):
    code = "transition_not_found"


class DecisionNotFoundError(NotFoundError):
    code = "decision_not_found"


# --- conflicts with the stream's state -----------------------------------------------------


class ConcurrentUpdateError(DomainError):
    """Someone else wrote to the same stream first; nothing of this command was written."""

    code = "concurrent_update"


class PersonalDataErasedError(DomainError):
    code = "personal_data_erased"


class CaseClosedError(DomainError):
    code = "case_closed"


class CaseNotClosedError(DomainError):
    code = "case_not_closed"


class ReferralAlreadyReviewedError(DomainError):
    code = "referral_already_reviewed"


class ReferralNotAcceptedError(DomainError):
    code = "referral_not_accepted"


class AlreadyEnrolledError(DomainError):
    code = "already_enrolled"


class NotEnrolledError(DomainError):
    code = "not_enrolled"


class CaseloadLimitExceededError(DomainError):
    code = "caseload_limit_exceeded"


class AlreadyAssignedError(DomainError):
    code = "already_assigned"


class ConsentNotGivenError(DomainError):
    code = "consent_not_given"


class WakeUpNotAgreedError(DomainError):
    code = "wake_up_not_agreed"


class PlanNotDraftedError(DomainError):
    code = "plan_not_drafted"


class MilestoneAlreadyReachedError(DomainError):
    code = "milestone_already_reached"


class MilestoneNotOpenError(DomainError):
    code = "milestone_not_open"


class TransitionNotOpenError(DomainError):
    code = "transition_not_open"


class TransitionNotQuietError(DomainError):
    code = "transition_not_quiet"


class AlertAlreadyOpenError(DomainError):
    code = "alert_already_open"


class AlertAlreadyEscalatedError(DomainError):
    code = "alert_already_escalated"


class AlertNotOpenError(DomainError):
    code = "alert_not_open"


class EducationAlreadyStartedError(DomainError):
    code = "education_already_started"


class DecisionNotInForceError(DomainError):
    code = "decision_not_in_force"


class NoAppealPendingError(DomainError):
    code = "no_appeal_pending"


class AppealAlreadyPendingError(DomainError):
    code = "appeal_already_pending"


class NotAnInjunctionError(DomainError):
    code = "not_an_injunction"


class CounsellorAlreadyRegisteredError(DomainError):
    code = "counsellor_already_registered"


# --- the command itself breaks a rule ----------------------------------------------------


class InvalidCommandError(DomainError):
    kind = ErrorKind.INVALID
    code = "invalid_command"


class ConsentMissingError(InvalidCommandError):
    code = "consent_missing"


class AppealGuidanceMissingError(InvalidCommandError):
    code = "appeal_guidance_missing"


class InjunctionContentMissingError(InvalidCommandError):
    """An education injunction without its goal or the support offered (principle ruling
    87-14)."""

    code = "injunction_content_missing"


class SanctionReductionMissingError(InvalidCommandError):
    code = "sanction_reduction_missing"


class DecisionSubjectMissingError(InvalidCommandError):
    code = "decision_subject_missing"


class OverrideReasonMissingError(InvalidCommandError):
    code = "override_reason_missing"


class OccurredInFutureError(InvalidCommandError):
    code = "occurred_in_future"


class NaiveDatetimeError(InvalidCommandError):
    code = "naive_datetime"


class InvalidValueError(InvalidCommandError):
    code = "invalid_value"
