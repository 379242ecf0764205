"""Closed vocabularies of the work with young people.

Values are stable strings: they are stored in events, shown in read models and accepted by
the API. Add members; never rename or remove one that has been recorded.
"""

from enum import Enum


class Channel(Enum):
    SMS = "sms"
    PHONE = "phone"
    MEETING = "meeting"
    VIDEO = "video"
    EMAIL = "email"
    OTHER = "other"


class Direction(Enum):
    OUTGOING = "outgoing"  # the counsellor reached out
    INCOMING = "incoming"  # the young person got in touch


class Place(Enum):
    OFFICE = "office"
    EDUCATION_SITE = "education_site"
    HOME = "home"
    OUTDOORS = "outdoors"
    CAFE = "cafe"
    CAR = "car"
    OTHER = "other"


class Purpose(Enum):
    CHECK_IN = "check_in"
    WAKE_UP = "wake_up"
    REMINDER = "reminder"
    PLAN_REVIEW = "plan_review"
    PRACTICAL_HELP = "practical_help"
    CRISIS = "crisis"
    ENCOURAGEMENT = "encouragement"
    FOLLOW_UP = "follow_up"
    OTHER = "other"


class ConsentScope(Enum):
    CASE_WORK = "case_work"  # the team may take on and record the case (needed for a referral)
    SMS_CONTACT = "sms_contact"
    PHONE_CONTACT = "phone_contact"
    SHARING_WITH_INSTITUTION = "sharing_with_institution"  # with the named institution


class ReviewOutcome(Enum):
    ACCEPTED = "accepted"
    DECLINED = "declined"
    WAITLISTED = "waitlisted"


class TransitionKind(Enum):
    SCHOOL_TO_YOUTH_EDUCATION = "school_to_youth_education"
    BASIC_TO_MAIN_COURSE = "basic_to_main_course"
    BENEFIT_TO_EDUCATION = "benefit_to_education"
    OFFER_TO_OFFER = "offer_to_offer"
    BRIDGE_BUILDING = "bridge_building"  # a short trial stay before choosing an education
    EDUCATION_TO_JOB = "education_to_job"


class TransitionStep(Enum):
    APPLIED = "applied"
    ADMITTED = "admitted"
    VISITED = "visited"
    FIRST_DAY = "first_day"
    FIRST_WEEK = "first_week"
    FIRST_MONTH = "first_month"
    OTHER = "other"


class TransitionPhase(Enum):
    PREPARING = "preparing"  # started, education not yet begun
    IN_EDUCATION = "in_education"  # education started: the first weeks are the danger zone
    COMPLETED = "completed"
    ABANDONED = "abandoned"


class MilestoneStatus(Enum):
    OPEN = "open"
    REACHED = "reached"
    MISSED = "missed"
    DROPPED = "dropped"


class ReadinessLevel(Enum):
    OPENLY_EDUCATION_READY = "openly_education_ready"
    EDUCATION_READY = "education_ready"
    ACTIVITY_READY = "activity_ready"


class DecisionKind(Enum):
    READINESS_ASSESSMENT = "readiness_assessment"
    EDUCATION_INJUNCTION = "education_injunction"
    SANCTION = "sanction"
    OTHER = "other"


class DecisionStatus(Enum):
    IN_FORCE = "in_force"
    APPEALED = "appealed"
    APPEAL_DECIDED = "appeal_decided"
    REVOKED = "revoked"
    SUPERSEDED = "superseded"  # an injunction replaced by a revised one


class AppealOutcome(Enum):
    UPHELD = "upheld"
    CHANGED = "changed"
    ANNULLED = "annulled"
    REMITTED = "remitted"  # sent back to the municipality to decide again


class NotificationMethod(Enum):
    DIGITAL_MAIL = "digital_mail"  # e-Boks
    LETTER = "letter"
    IN_PERSON = "in_person"
    PHONE = "phone"


class DeclaredRole(Enum):
    """The role the decider told the young person they were acting in."""

    AUTHORITY = "authority"
    MENTOR_AND_AUTHORITY = "mentor_and_authority"
    NOT_DECLARED = "not_declared"


class CaseStatus(Enum):
    REFERRED = "referred"
    WAITLISTED = "waitlisted"
    DECLINED = "declined"
    ACCEPTED = "accepted"
    ENROLLED = "enrolled"
    CLOSED = "closed"
    ERASED = "erased"


class CaseOutcome(Enum):
    IN_EDUCATION = "in_education"
    COMPLETED = "completed"
    EMPLOYED = "employed"
    MOVED = "moved"
    DECLINED_SUPPORT = "declined_support"
    OTHER = "other"


class ErasureRequester(Enum):
    YOUNG_PERSON = "young_person"
    GUARDIAN = "guardian"
    RETENTION_POLICY = "retention_policy"
    OTHER = "other"


class InstitutionKind(Enum):
    PRIMARY_SCHOOL = "primary_school"
    VOCATIONAL_COLLEGE = "vocational_college"
    UPPER_SECONDARY = "upper_secondary"
    FGU = "fgu"
    PRODUCTION_SCHOOL = "production_school"
    VUC = "vuc"
    DAY_FOLK_HIGH_SCHOOL = "day_folk_high_school"
    JOB_CENTRE = "job_centre"
    OTHER = "other"


class CounsellorRole(Enum):
    COUNSELLOR = "counsellor"
    TEAM_LEAD = "team_lead"


# --- alerts (see domain/alerts.py) -------------------------------------------------------


class QuietPhase(Enum):
    """Where in its course a transition is, as far as quietness is concerned."""

    PREPARING = "preparing"  # started, the education has not begun
    NEW_EDUCATION = "new_education"  # the first weeks of the new education
    IN_EDUCATION = "in_education"  # settled in, after the first weeks


class AlertLevel(Enum):
    RAISED = "raised"  # to the counsellor
    ESCALATED = "escalated"  # to the team lead as well


class AlertSeverity(Enum):
    WARNING = "warning"
    HIGH = "high"  # an institution reported the young person absent during the quiet


class AlertResolution(Enum):
    CONTACT_REACHED = "contact_reached"
    BY_HAND = "by_hand"
    TRANSITION_ENDED = "transition_ended"
    CASE_CLOSED = "case_closed"
