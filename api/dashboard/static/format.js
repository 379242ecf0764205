// Danish dates and labels. The API speaks English codes (enum values, rule names); the
// team speaks Danish, so the page translates the ones it shows and falls back to the code.

const DANISH = "da-DK";
const dateFormat = new Intl.DateTimeFormat(DANISH, { day: "numeric", month: "short", year: "numeric" });
const dateTimeFormat = new Intl.DateTimeFormat(DANISH, {
  day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit",
});
const shortDateFormat = new Intl.DateTimeFormat(DANISH, { day: "numeric", month: "short" });

/** A GraphQL ``Date`` (YYYY-MM-DD) as a local date; ``DateTime`` strings parse as usual. */
export function toDate(value) {
  if (value instanceof Date) return value;
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) {
    const [y, m, d] = value.split("-").map(Number);
    return new Date(y, m - 1, d);
  }
  return new Date(value);
}

export function formatDate(value) {
  return value ? dateFormat.format(toDate(value)) : "–";
}

export function formatDateTime(value) {
  return value ? dateTimeFormat.format(toDate(value)) : "–";
}

export function formatShortDate(value) {
  return value ? shortDateFormat.format(toDate(value)) : "–";
}

/** A machine-readable date for ``<time datetime>``. */
export function isoDate(value) {
  const date = toDate(value);
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

export function days(count) {
  if (count === null || count === undefined) return "–";
  return count === 1 ? "1 dag" : `${count} dage`;
}

/** The first characters of an id: enough to tell rows apart, short enough to read. */
export function shortId(id) {
  return String(id).replaceAll("-", "").slice(0, 8);
}

const LABELS = {
  // Transition kinds and phases
  SCHOOL_TO_YOUTH_EDUCATION: "Grundskole til ungdomsuddannelse",
  BASIC_TO_MAIN_COURSE: "Grundforløb til hovedforløb",
  BENEFIT_TO_EDUCATION: "Ydelse til uddannelse",
  OFFER_TO_OFFER: "Tilbud til tilbud",
  BRIDGE_BUILDING: "Brobygning",
  EDUCATION_TO_JOB: "Uddannelse til job",
  PREPARING: "Forberedes",
  IN_EDUCATION: "I uddannelse",
  NEW_EDUCATION: "Ny uddannelse",
  COMPLETED: "Gennemført",
  ABANDONED: "Afbrudt",
  // Alerts
  RAISED: "Rejst",
  ESCALATED: "Eskaleret til teamleder",
  OPEN: "Åben",
  ACKNOWLEDGED: "Kvitteret",
  RESOLVED: "Løst",
  ACTIVE: "Aktive (åbne og kvitterede)",
  WARNING: "Advarsel",
  CONTACT_REACHED: "Kontakt opnået",
  BY_HAND: "Løst manuelt",
  TRANSITION_ENDED: "Overgangen sluttede",
  CASE_CLOSED: "Sagen lukket",
  // Readiness assessments
  OPENLY_EDUCATION_READY: "Åbenlyst uddannelsesparat",
  EDUCATION_READY: "Uddannelsesparat",
  ACTIVITY_READY: "Aktivitetsparat",
  // Severities
  LOW: "Lav",
  MEDIUM: "Middel",
  HIGH: "Høj",
  // Milestones
  REACHED: "Nået",
  MISSED: "Ikke nået",
  DROPPED: "Droppet",
  // Consent
  CASE_WORK: "Sagsbehandling",
  SMS_CONTACT: "SMS-kontakt",
  PHONE_CONTACT: "Telefonkontakt",
  SHARING_WITH_INSTITUTION: "Deling med institution",
  // Decisions
  READINESS_ASSESSMENT: "Parathedsvurdering",
  EDUCATION_INJUNCTION: "Uddannelsespålæg",
  SANCTION: "Sanktion",
  OTHER: "Anden afgørelse",
  IN_FORCE: "Gældende",
  APPEALED: "Påklaget",
  APPEAL_DECIDED: "Klage afgjort",
  REVOKED: "Tilbagekaldt",
  SUPERSEDED: "Erstattet",
  UPHELD: "Stadfæstet",
  CHANGED: "Ændret",
  ANNULLED: "Ophævet",
  REMITTED: "Hjemvist",
  // Roles
  counsellor: "Rådgiver",
  team_lead: "Teamleder",
  auditor: "Revisor",
  partner: "Partner",
  evaluator: "Evaluator",
  admin: "Administrator",
  // Risk-flag rules
  quiet_transition: "Stille overgang",
  missed_wake_ups: "Missede morgenvækninger",
  institution_signal: "Signal fra institution",
  missed_meetings: "Missede møder",
  no_plan: "Ingen plan",
  milestone_overdue: "Delmål overskredet",
  plan_review_overdue: "Planopfølgning overskredet",
  let_go_too_early: "Sluppet for tidligt",
  // Decision-audit checks
  reasons_with_legal_basis: "Begrundelse med hjemmel (fvl. §§ 22, 24)",
  hearing: "Partshøring (fvl. § 19)",
  appeal_guidance: "Klagevejledning (fvl. § 25)",
  injunction_content: "Pålæggets indhold (principafgørelse 87-14)",
  drawn_up_with_young_person: "Udarbejdet med den unge (87-14)",
  attempts_to_reach: "Forsøg på kontakt før sanktion",
};

/** The Danish label of an API code, or the code itself. */
export function label(code) {
  if (code === null || code === undefined) return "–";
  return LABELS[code] ?? String(code).replaceAll("_", " ").toLowerCase();
}

const EVENT_LABELS = {
  Referred: "Henvist",
  ReferralReviewed: "Henvisning behandlet",
  Enrolled: "Indskrevet",
  CounsellorAssigned: "Ny rådgiver",
  ConsentRecorded: "Samtykke givet",
  ConsentWithdrawn: "Samtykke trukket tilbage",
  ContactRecorded: "Kontakt",
  WakeUpAgreed: "Morgenvækning aftalt",
  WakeUpEnded: "Morgenvækning stoppet",
  PlanDrafted: "Plan skrevet",
  MilestoneSet: "Delmål sat",
  MilestoneReached: "Delmål nået",
  MilestoneMissed: "Delmål ikke nået",
  MilestoneRescheduled: "Delmål flyttet",
  MilestoneDropped: "Delmål droppet",
  PlanReviewed: "Plan fulgt op",
  TransitionStarted: "Overgang startet",
  TransitionStepRecorded: "Skridt i overgangen",
  EducationStarted: "Uddannelse startet",
  TransitionCompleted: "Overgang gennemført",
  TransitionAbandoned: "Overgang afbrudt",
  AbsenceReported: "Fravær meldt",
  ConcernReported: "Bekymring meldt",
  DropoutReported: "Frafald meldt",
  ReadinessAssessed: "Parathed vurderet",
  EducationInjunctionIssued: "Uddannelsespålæg givet",
  EducationInjunctionRevised: "Uddannelsespålæg ændret",
  SanctionDecided: "Sanktion",
  OtherDecisionMade: "Afgørelse",
  DecisionAppealed: "Afgørelse påklaget",
  AppealDecided: "Klage afgjort",
  DecisionRevoked: "Afgørelse tilbagekaldt",
  AlertRaised: "Alarm rejst",
  AlertEscalated: "Alarm eskaleret",
  AlertAcknowledged: "Alarm kvitteret",
  AlertResolved: "Alarm løst",
  CaseClosed: "Sag lukket",
  CaseReopened: "Sag genåbnet",
  PersonalDataErased: "Persondata slettet",
};

const STEP_LABELS = {
  APPLIED: "søgt",
  ADMITTED: "optaget",
  VISITED: "besøgt",
  FIRST_DAY: "første dag",
  FIRST_WEEK: "første uge",
  FIRST_MONTH: "første måned",
  OTHER: "andet",
};

/** A transition step (its OTHER is not a decision's OTHER, hence a map of its own). */
export function stepLabel(step) {
  return STEP_LABELS[step] ?? step;
}

export function eventLabel(eventType) {
  return EVENT_LABELS[eventType] ?? eventType;
}
