// Every GraphQL document the dashboard sends, in one place: a dashboard team can copy
// them (GraphiQL at /graphql documents each field).

const ALERT_FIELDS = `
  id youngPersonId transitionId transitionKind counsellorId level severity status phase
  quietSince raisedAt escalatedAt acknowledgedAt acknowledgedBy resolvedAt resolution
  daysQuiet acknowledgementNote
`;

const CASELOAD_FIELDS = `
  counsellorId name teamId caseloadLimit activeCount overLimit
  entries(first: $first, after: $after) {
    entries {
      youngPersonId name enrolledAt lastReachedContactAt daysSinceReachedContact lastAttemptAt
      currentTransition { kind phase startedAt educationStartedAt }
      nextMilestone { title due }
      openFlags { rule ruleVersion severity since }
      openAlerts { id level severity status daysQuiet acknowledgedAt }
    }
    pageInfo { endCursor hasNextPage }
  }
`;

export const CASELOAD = `
query Caseload($counsellorId: ID!, $first: Int!, $after: String, $waitForPosition: Int) {
  caseload(counsellorId: $counsellorId, waitForPosition: $waitForPosition) { ${CASELOAD_FIELDS} }
}`;

// A team lead's overview: every counsellor's load, without the entries.
export const TEAM_CASELOADS = `
query TeamCaseloads($teamId: String!) {
  teamCaseloads(teamId: $teamId) { counsellorId name teamId caseloadLimit activeCount overLimit }
}`;

export const YOUNG_PERSON = `
query YoungPerson($id: ID!, $waitForPosition: Int) {
  youngPerson(id: $id, waitForPosition: $waitForPosition) {
    id name
    timeline(first: 1000) { position occurredAt eventType actorRole summary details }
    riskFlags { rule ruleVersion severity subject since openUntil details }
    plan {
      goal draftedTogether firstDraftedAt lastReviewedAt nextReview
      milestones { id title due status resolvedAt timesRescheduled }
    }
    transitions {
      id kind phase programme expectedStart startedAt educationStartedAt endedAt daysSinceStart
      steps { step occurredAt }
    }
    decisions {
      decisionId kind readinessLevel occurredAt complete personalDataErased
      checks { name passed }
      appealCourse { status appealedAt outcome appealDecidedAt revokedAt supersededAt }
    }
  }
}`;

export const ALERTS = `
query Alerts($status: AlertStatus!, $first: Int!, $after: String, $counsellorId: ID, $waitForPosition: Int) {
  alerts(status: $status, first: $first, after: $after, counsellorId: $counsellorId, waitForPosition: $waitForPosition) {
    entries { ${ALERT_FIELDS} }
    pageInfo { endCursor hasNextPage }
  }
}`;

export const ACKNOWLEDGE_ALERT = `
mutation Acknowledge($youngPersonId: ID!, $alertId: ID!, $note: String!) {
  acknowledgeAlert(youngPersonId: $youngPersonId, alertId: $alertId, note: $note) { position }
}`;

export const ALERT_RAISED = `
subscription AlertRaised { alertRaised { ${ALERT_FIELDS} } }`;

export const REFERRAL_QUEUE = `
query ReferralQueue($first: Int!, $after: String) {
  referralQueue(first: $first, after: $after) {
    total
    entries { youngPersonId status referredAt daysWaiting institutionId consentScopes waitlistedOn }
    pageInfo { endCursor hasNextPage }
  }
}`;

export const DECISION_AUDIT = `
query DecisionAudit($from: DateTime, $to: DateTime, $incompleteOnly: Boolean!, $first: Int!, $after: String) {
  decisionAudit(from: $from, to: $to, incompleteOnly: $incompleteOnly, first: $first, after: $after) {
    total
    entries {
      decisionId youngPersonId kind decisionType readinessLevel occurredAt recordedAt decidedBy
      fullyInFavour notifiedVia complete personalDataErased
      checks { name passed explanation ruleVersion }
      dualRole { deciderIsMentor declaredRole roleDeclared openlyDeclared }
      appealCourse { status appealedAt outcome appealDecidedAt revokedAt }
      provenance { windowDays contacts contactsReached planDrafted absences concerns dropouts }
    }
    pageInfo { endCursor hasNextPage }
  }
}`;
