"""The words of the synthetic histories: invented names, places and note templates.

Every name is composed at random from common Danish first and last names, every town from
Danish-sounding syllables, every note from the templates below: nothing here describes a
real person. Notes are short and plain, like the ones counsellors write between meetings.
"""

from __future__ import annotations

from domain.vocabulary import InstitutionKind, Purpose


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST_NAMES = _words(
    """Mathias Sofie Emil Ida Oliver Freja Lucas Laura Noah Emma Victor Clara Malthe Alma
    Frederik Ella William Anna Magnus Josefine Mikkel Caroline Jonas Mathilde Kasper Signe
    Rasmus Cecilie Tobias Julie Sebastian Nanna Christian Maja Mads Amalie Anton Line Oscar
    Sara Villads Asta Elias Liva Aksel Nora Carl Karla Alfred Olivia Bertram Agnes Johan
    Esther Storm Silke Ahmad Yasmin Ali Amira Daniel Fatima Patrick Louise"""
)
LAST_NAMES = _words(
    """Nielsen Jensen Hansen Pedersen Andersen Christensen Larsen Sørensen Rasmussen
    Jørgensen Petersen Madsen Kristensen Olsen Thomsen Christiansen Poulsen Johansen Møller
    Mortensen Knudsen Jakobsen Mikkelsen Frederiksen Lund Henriksen Laursen Schmidt Eriksen
    Holm Kristiansen Clausen Simonsen Svendsen Andreasen Iversen Østergaard Jeppesen
    Vestergaard Nissen Lauridsen Kjær Jespersen Mogensen Skov Bach Dam Berg Friis Bruun
    Lind"""
)
TOWN_HEADS = _words(
    """Bøge Kilde Havne Lyng Ege Sø Mølle Strand Skov Bakke Eng Fjord Ny Vester Øster Nørre
    Sønder Hede Mose Å Birke Hassel Rønne Lunde Torn"""
)
TOWN_TAILS = _words("by bjerg lev holm sted strup rup løse høj vig købing ager dal næs")
SCHOOL_HEADS = ("Vestby", "Østre", "Nørre", "Søndre", "Højvang", "Engvang", "Skovgård", "Bakke")

INSTITUTION_NAMES: dict[InstitutionKind, tuple[str, ...]] = {
    InstitutionKind.PRIMARY_SCHOOL: ("{school}skolen, {town}",),
    InstitutionKind.VOCATIONAL_COLLEGE: ("Erhvervsskolen {town}", "{town} Handelsskole"),
    InstitutionKind.UPPER_SECONDARY: ("{town} Gymnasium",),
    InstitutionKind.FGU: ("FGU {town}",),
    InstitutionKind.PRODUCTION_SCHOOL: ("{town} Produktionsskole",),
    InstitutionKind.VUC: ("VUC {town}",),
    InstitutionKind.DAY_FOLK_HIGH_SCHOOL: ("Daghøjskolen {town}",),
    InstitutionKind.JOB_CENTRE: ("Jobcenter Ung {town}",),
    InstitutionKind.OTHER: ("Ungdomsskolen {town}",),
}

PROGRAMMES: dict[InstitutionKind, tuple[str, ...]] = {
    InstitutionKind.VOCATIONAL_COLLEGE: (
        "Carpenter, basic course",
        "Electrician, basic course",
        "Chef, basic course",
        "Car mechanic, basic course",
        "Social and health care helper",
        "Hairdresser",
        "IT supporter",
        "Business, EUX",
        "Painter, basic course",
        "Retail, basic course",
    ),
    InstitutionKind.UPPER_SECONDARY: ("STX", "HHX", "HTX", "HF"),
    InstitutionKind.FGU: (
        "FGU general track (AGU)",
        "FGU production track (PGU)",
        "FGU vocational track (EGU)",
    ),
    InstitutionKind.VUC: ("Danish and maths (FVU)", "HF single subjects", "Preparatory adult"),
    InstitutionKind.PRODUCTION_SCHOOL: (
        "Workshop: wood",
        "Workshop: kitchen",
        "Workshop: media",
        "Workshop: metal",
    ),
    InstitutionKind.DAY_FOLK_HIGH_SCHOOL: ("Day folk high school course",),
}
MAIN_COURSES = (
    "Main course with an apprenticeship",
    "Main course, school-based apprenticeship",
    "Main course, part-time apprenticeship",
)
JOBS = (
    "Job: warehouse assistant",
    "Job: kitchen assistant",
    "Job: shop assistant",
    "Job: gardener's helper",
    "Job: cleaning assistant",
)

REFERRAL_REASONS: dict[str, tuple[str, ...]] = {
    "school_leaver": (
        "High absence in 9th grade; unsure what comes next.",
        "Finishing school without a plan; would like help choosing.",
        "Struggles to get out of the door in the mornings; needs a steady adult.",
        "Has not sat the final exams; wants to try again somewhere else.",
    ),
    "benefits": (
        "On education benefit; has started and stopped two educations.",
        "On benefit for a year; wants to get started on something.",
        "Needs support with everyday structure before an education.",
        "Dropped out of upper secondary; on benefit since.",
    ),
    "basic_course": (
        "Absence in the basic course; at risk of not reaching the main course.",
        "Has no apprenticeship yet; losing heart.",
        "Finds the breaks hard; thinking of leaving the course.",
    ),
    "offer": (
        "Ending the stay here; needs help with the next step.",
        "Doing well in the workshop; wants to try an education.",
        "Irregular attendance; we think more support would help.",
    ),
}
REVIEW_NOTES = {
    "accepted": ("Fits the team.", "Accepted; contact this week.", "Accepted at the review."),
    "waitlisted": ("Waiting list until a place is free.", "Waitlisted; caseloads are full."),
    "declined": (
        "Already has support elsewhere.",
        "Not in the target group.",
        "Did not want to take part after all.",
    ),
}

PLAN_GOALS = (
    "Start {programme} and get through the first months.",
    "Get a routine in the mornings and start {programme}.",
    "Find out which education fits, then start {programme}.",
    "Finish {programme} with steady attendance.",
)
MILESTONES = (
    "Visit the school together",
    "Apply before the deadline",
    "Get a bank account sorted",
    "Meet the study counsellor",
    "Go to bed before midnight on weekdays",
    "Attend every day for two weeks",
    "Pass the Danish test",
    "Pass the maths test",
    "Find an apprenticeship",
    "Apply for housing benefit",
    "Book a doctor's appointment",
    "Buy the work clothes for the course",
    "Try the bus route to school",
)
EXAM_MILESTONES = frozenset({"Pass the Danish test", "Pass the maths test"})
MILESTONE_NOTES = {
    "reached": ("Done.", "Went well.", "Managed it on their own.", "Did it together."),
    "missed": ("Did not happen.", "Was ill that week.", "Forgot the appointment."),
    "rescheduled": ("New date agreed.", "Moved after a hard week.", "Needs a bit more time."),
    "dropped": ("No longer relevant.", "Plan changed.", "Replaced by another step."),
}
PLAN_REVIEW_NOTES = (
    "Went through the plan together; on track.",
    "Looked at how far we have come.",
    "Adjusted the plan after a hard month.",
    "Good progress; new steps agreed.",
)

CONTACT_NOTES: dict[Purpose, tuple[str, ...]] = {
    Purpose.CHECK_IN: (
        "Talked about the week ahead.",
        "Good spirits; things are calmer at home.",
        "Tired, slept badly; agreed on an early night.",
        "Went through the timetable.",
        "Short chat; all fine.",
        "Talked about friends at school.",
    ),
    Purpose.WAKE_UP: ("Up and on the way.", "Answered at the second ring.", "Awake; leaving soon."),
    Purpose.REMINDER: ("Reminder of the meeting tomorrow.", "Reminder: meeting this morning."),
    Purpose.PLAN_REVIEW: ("Reviewed the plan together.", "Looked at the next steps."),
    Purpose.PRACTICAL_HELP: (
        "Helped with the application form.",
        "Sorted out the bus card.",
        "Called the school together about the timetable.",
        "Went through a letter in e-Boks.",
    ),
    Purpose.CRISIS: (
        "Difficult night; talked it through and agreed on a plan for today.",
        "Upset after a row at home; met the same day.",
    ),
    Purpose.ENCOURAGEMENT: ("Good luck tomorrow!", "Fingers crossed for today.", "Well done!"),
    Purpose.FOLLOW_UP: (
        "How did it go? Went fine.",
        "Followed up on the absence; back tomorrow.",
        "Asked how the first day went.",
        "Checked in after the missed meeting.",
    ),
    Purpose.OTHER: ("Asked about the timetable.", "Sent a photo of the finished task."),
}
UNREACHED_NOTES = ("No answer.", "No reply to the text.", "Did not turn up.", "Left a voicemail.")
WAKE_UP_END_REASONS = (
    "Gets up on their own now.",
    "Routine in place since the course started.",
    "Did not help; trying something else.",
)
ABSENCE_NOTES = ("Absent without notice.", "Called in sick.", "Absent; no reason given.")
CONCERN_NOTES = (
    "Seems withdrawn; sits alone in the breaks.",
    "Anxious about speaking in class.",
    "Often tired in the mornings.",
    "Falling behind with assignments.",
)
DROPOUT_NOTES = ("Has left the course.", "Deregistered after long absence.")
TRANSITION_STEP_NOTES = {
    "applied": ("Application sent.", "Applied together online."),
    "visited": ("Visited the school together.", "Met the teacher and saw the workshop."),
    "admitted": ("Admission letter received.", "Has a place from the start date."),
    "first_day": ("First day went well.", "Nervous but went.", "Found the class room."),
    "first_week": ("Through the first week.", "A hard week but still there."),
    "first_month": ("One month in; attendance fine.", "Settling in."),
}
ABANDON_REASONS = {
    "before": ("Was not admitted.", "Changed their mind.", "Chose another education."),
    "dropout": ("Dropped out.", "Left after long absence."),
    "trial": ("Left the trial early.",),
}
FROM_SITUATIONS = {
    "school_leaver": "Leaving 9th grade",
    "benefits": "On education benefit",
    "basic_course": "Basic course",
    "offer": "Preparatory offer",
    "education": "In education",
}
CLOSE_NOTES = {
    "in_education": ("Settled in the education.", "Doing well; agreed to end the support."),
    "completed": ("Goal of the plan reached.", "Completed the course."),
    "employed": ("Has a job.", "Started work."),
    "moved": ("Moved to another municipality.",),
    "declined_support": ("Does not want support any longer.",),
    "other": ("Transferred to the ordinary youth effort.", "Long-term leave."),
}
REOPEN_REASONS = ("Asked for help again.", "Dropped out after the case closed.")
HANDOVER_REASONS = ("Counsellor on long-term leave.", "Better match; the young person asked.")
OVER_LIMIT_REASON = "Knows the young person well; short follow-up agreed with the team lead."
CASELOAD_CHANGE_REASONS = ("reduced hours", "back to full time")

DECISION_TEXTS = {
    "readiness": {
        "legal_basis": "LAB § 21 a",
        "reasons": "Assessment of readiness for an education.",
        "considerations": "Attendance, motivation and the young person's own view.",
        "facts": "Meetings in the last months; reports from the school.",
    },
    "injunction": {
        "legal_basis": "LAB § 21 b",
        "reasons": "Education-ready and on education benefit.",
        "considerations": "The education plan and the young person's wishes.",
        "facts": "The readiness assessment and the plan.",
    },
    "sanction": {
        "legal_basis": "Aktivloven § 38",
        "reasons": "Did not attend agreed activities without a reasonable excuse.",
        "considerations": "Repeated absence after attempts to make contact.",
        "facts": "Missed meetings and unanswered calls and texts.",
    },
    "other": {
        "legal_basis": "LAB § 31 b",
        "reasons": "Needs mentor support to start and stay in an education.",
        "considerations": "The young person's situation and wishes.",
        "facts": "The plan and the meetings so far.",
    },
}
APPEAL_GUIDANCE = "You may appeal to Ankestyrelsen within four weeks; we help you write it."
HEARING_NOT_NEEDED = "Fully in the young person's favour (Forvaltningsloven § 19, stk. 2, nr. 1)."
INJUNCTION_SUPPORT = (
    "Weekly meetings and help with the application.",
    "Mentor support and wake-up calls.",
    "Bridge-building trial before the start.",
)
INJUNCTION_CHANGES = ("New deadline after the trial weeks.", "Goal changed to another education.")
SANCTION_REDUCTIONS = (
    "Benefit reduced for 3 days of absence.",
    "Benefit reduced for 5 days of absence.",
    "Benefit reduced for 1 week of absence.",
)
OTHER_DECISION_SUBJECTS = ("Mentor support granted.", "Transport allowance granted.")
APPEAL_NOTES = ("Disagrees with the decision.", "Was ill on the days in question.")
APPEAL_DECISION_NOTES = ("Decision of the appeals board received.",)
REVOKE_REASONS = ("New information: documented illness.", "Error in the facts relied on.")
