// The caseload: a counsellor's active young people, the most urgent first. A team lead
// also sees every counsellor's load and can open each caseload.

import { h } from "../dom.js";
import { days, formatDate, label, toDate } from "../format.js";
import { request } from "../graphql.js";
import { CASELOAD, TEAM_CASELOADS } from "../queries.js";
import { badge, dateCell, errorBox, heading, names, severityTone, sortableTable } from "./common.js";

const PAGE = 100;

/** All entries of a caseload, page by page (a caseload is 15-20, so one page in practice). */
async function loadCaseload(session, counsellorId) {
  let after = null;
  let caseload = null;
  const entries = [];
  do {
    const data = await request(session.token, CASELOAD, { counsellorId, first: PAGE, after });
    caseload = data.caseload;
    if (!caseload) return null;
    entries.push(...caseload.entries.entries);
    after = caseload.entries.pageInfo.hasNextPage ? caseload.entries.pageInfo.endCursor : null;
  } while (after);
  return { ...caseload, entries };
}

// How urgent a young person is, as one number: open alerts first (escalated above raised,
// unacknowledged above acknowledged), then risk flags by severity, then days without
// reached contact. The weights only order; the column shows the reasons.
const FLAG_WEIGHT = { HIGH: 60, MEDIUM: 25, LOW: 8 };

export function urgency(entry) {
  let score = 0;
  for (const alert of entry.openAlerts) {
    const base = alert.level === "ESCALATED" ? 1000 : 600;
    score += (alert.status === "OPEN" ? base : base / 2) + (alert.severity === "HIGH" ? 100 : 0);
  }
  for (const flag of entry.openFlags) score += FLAG_WEIGHT[flag.severity] ?? 0;
  // A week without reached contact is the practice's own warning sign (weekly contact is
  // the baseline); never reached at all counts as long.
  const quiet = entry.daysSinceReachedContact ?? 30;
  return score + (quiet >= 14 ? 40 : quiet >= 7 ? 20 : 0) + Math.min(quiet, 30) / 10;
}

function overdue(due) {
  const today = new Date();
  today.setHours(0, 0, 0, 0);
  return toDate(due) < today;
}

function urgencyBadge(score) {
  if (score >= 600) return badge("Akut", "high");
  if (score >= 60) return badge("Høj", "medium");
  if (score >= 20) return badge("Middel", "low");
  return badge("Lav", "ok");
}

const COLUMNS = [
  {
    key: "urgency",
    title: "Hastegrad",
    sort: urgency,
    firstDirection: "descending",
    cell: (entry) => urgencyBadge(urgency(entry)),
  },
  {
    key: "name",
    title: "Ung",
    sort: (entry) => entry.name ?? "",
    cell: (entry) => h("a", { href: `#/person/${entry.youngPersonId}`, class: "person-link" }, entry.name ?? "(slettet)"),
  },
  {
    key: "alerts",
    title: "Alarmer",
    sort: (entry) => entry.openAlerts.length,
    firstDirection: "descending",
    cell: (entry) =>
      entry.openAlerts.length
        ? h(
            "ul",
            { class: "chips" },
            entry.openAlerts.map((alert) =>
              h(
                "li",
                {},
                badge(
                  `${alert.level === "ESCALATED" ? "Eskaleret" : "Alarm"} · ${days(alert.daysQuiet)}`,
                  alert.level === "ESCALATED" ? "high" : "medium",
                ),
                alert.status === "ACKNOWLEDGED" ? h("span", { class: "muted" }, " kvitteret") : "",
              ),
            ),
          )
        : h("span", { class: "muted" }, "–"),
  },
  {
    key: "flags",
    title: "Risikoflag",
    sort: (entry) => entry.openFlags.reduce((sum, flag) => sum + (FLAG_WEIGHT[flag.severity] ?? 0), 0),
    firstDirection: "descending",
    cell: (entry) =>
      entry.openFlags.length
        ? h(
            "ul",
            { class: "chips" },
            entry.openFlags.map((flag) =>
              h("li", { title: `Regel ${flag.rule} v${flag.ruleVersion}, siden ${formatDate(flag.since)}` }, badge(label(flag.rule), severityTone(flag.severity))),
            ),
          )
        : h("span", { class: "muted" }, "–"),
  },
  {
    key: "contact",
    title: "Dage uden kontakt",
    sort: (entry) => entry.daysSinceReachedContact,
    firstDirection: "descending",
    class: "num",
    cell: (entry) =>
      entry.daysSinceReachedContact === null
        ? h("span", { class: "muted" }, "ingen endnu")
        : h("span", { title: `Seneste kontakt ${formatDate(entry.lastReachedContactAt)}` }, days(entry.daysSinceReachedContact)),
  },
  {
    key: "transition",
    title: "Overgang",
    sort: (entry) => (entry.currentTransition ? label(entry.currentTransition.kind) : null),
    cell: (entry) =>
      entry.currentTransition
        ? [label(entry.currentTransition.kind), h("br"), h("span", { class: "muted" }, label(entry.currentTransition.phase))]
        : h("span", { class: "muted" }, "–"),
  },
  {
    key: "milestone",
    title: "Næste delmål",
    sort: (entry) => entry.nextMilestone?.due ?? null,
    cell: (entry) =>
      entry.nextMilestone
        ? [
            entry.nextMilestone.title ?? "(uden titel)",
            h("br"),
            overdue(entry.nextMilestone.due)
              ? [badge("Overskredet", "medium"), " ", dateCell(entry.nextMilestone.due)]
              : h("span", { class: "muted" }, dateCell(entry.nextMilestone.due)),
          ]
        : h("span", { class: "muted" }, "–"),
  },
];

function caseloadSummary(caseload) {
  return h(
    "p",
    { class: "summary" },
    h("strong", {}, caseload.name ?? "Rådgiver"),
    ` · team ${caseload.teamId} · ${caseload.activeCount} aktive unge (max ${caseload.caseloadLimit})`,
    caseload.overLimit ? [" ", badge("Over grænsen", "high")] : "",
  );
}

export async function caseloadView({ main, session, counsellorId }) {
  const target = counsellorId ?? session.counsellorId;
  const parts = [heading("Sagsstamme")];
  const isLead = session.role === "team_lead";
  try {
    if (isLead) parts.push(await teamOverview(session, target));
    if (!target) {
      parts.push(h("p", {}, "Dit token nævner ingen rådgiver; vælg en i teamet."));
    } else {
      const caseload = await loadCaseload(session, target);
      if (!caseload) {
        parts.push(h("p", {}, "Ingen sagsstamme fundet."));
      } else {
        for (const entry of caseload.entries) names.set(entry.youngPersonId, entry.name);
        parts.push(caseloadSummary(caseload));
        parts.push(
          caseload.entries.length
            ? sortableTable({
                caption: "Aktive unge. Sortér ved at vælge en kolonneoverskrift; de mest presserende står først.",
                columns: COLUMNS,
                rows: caseload.entries,
                initial: { key: "urgency", direction: "descending" },
                rowAttrs: (entry) => ({
                  dataset: {
                    youngPersonId: entry.youngPersonId,
                    urgency: urgency(entry),
                    daysSinceContact: entry.daysSinceReachedContact ?? "",
                  },
                }),
              })
            : h("p", {}, "Ingen aktive unge."),
        );
      }
    }
  } catch (error) {
    parts.push(errorBox(error));
  }
  main.replaceChildren(...parts);
}

async function teamOverview(session, selected) {
  const data = await request(session.token, TEAM_CASELOADS, { teamId: session.team });
  return h(
    "section",
    { class: "team", "aria-labelledby": "team-heading" },
    h("h2", { id: "team-heading" }, `Teamet ${session.team}`),
    h(
      "ul",
      { class: "team-list" },
      data.teamCaseloads.map((caseload) =>
        h(
          "li",
          {},
          h(
            "a",
            {
              href: `#/caseload/${caseload.counsellorId}`,
              class: "team-member",
              "aria-current": caseload.counsellorId === selected ? "page" : null,
            },
            h("span", { class: "identity-name" }, caseload.name ?? "Rådgiver"),
            h(
              "span",
              { class: "identity-meta" },
              `${caseload.activeCount} / ${caseload.caseloadLimit}`,
              caseload.overLimit ? " · over grænsen" : "",
            ),
          ),
        ),
      ),
    ),
  );
}
