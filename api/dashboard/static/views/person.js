// A young person's page: open alerts (to acknowledge), the contact chart, risk flags, the
// plan, transitions, authority decisions and the timeline.

import { contactChart } from "../charts.js";
import { h } from "../dom.js";
import { days, eventLabel, formatDate, formatDateTime, label, shortId, stepLabel } from "../format.js";
import { request } from "../graphql.js";
import { ALERTS, YOUNG_PERSON } from "../queries.js";
import { alertItem, badge, dateCell, errorBox, heading, names, severityTone } from "./common.js";

const TIMELINE_SHOWN = 40;
const RANGES = [
  [13, "13 uger"],
  [26, "26 uger"],
  [52, "52 uger"],
  [156, "3 år"],
];
let chosenRange = 26;

export async function personView({ main, session, id, announce, waitForPosition = null, focusAlerts = false }) {
  // Until the person is read (and if the read fails): the caseload's name, if one was seen.
  let title = names.get(id) ?? `Ung ${shortId(id)}`;
  let person;
  let alerts;
  try {
    // One round trip each, in parallel: the person and the team's active alerts (the
    // alerts query is where an alert's current status lives).
    const [personData, alertData] = await Promise.all([
      request(session.token, YOUNG_PERSON, { id, waitForPosition }),
      request(session.token, ALERTS, { status: "ACTIVE", first: 500, waitForPosition }),
    ]);
    person = personData.youngPerson;
    alerts = alertData.alerts.entries.filter((alert) => alert.youngPersonId === id);
  } catch (error) {
    main.replaceChildren(heading(title), errorBox(error));
    return;
  }
  if (!person) {
    main.replaceChildren(heading(title), h("p", {}, "Ikke fundet."));
    return;
  }
  // The name from the API (also when opened by a direct link); null once erased.
  if (person.name) {
    title = person.name;
    names.set(id, person.name);
  } else {
    names.delete(id);
    title = `Ung ${shortId(id)}`;
  }

  const reload = async (position) => {
    await personView({ main, session, id, announce, waitForPosition: position, focusAlerts: true });
    announce("Alarmen er kvitteret.");
  };

  const chartHolder = h("div", { class: "chart-holder" });
  const drawChart = () =>
    chartHolder.replaceChildren(
      contactChart({ timeline: person.timeline, transitions: person.transitions, maxWeeks: chosenRange }),
    );
  drawChart();
  const rangeSelect = h(
    "select",
    {
      id: "chart-range",
      onchange: (event) => {
        chosenRange = Number(event.target.value);
        drawChart();
      },
    },
    RANGES.map(([weeks, text]) => h("option", { value: weeks, selected: weeks === chosenRange }, text)),
  );

  main.replaceChildren(
    heading(title, h("a", { href: "#/caseload", class: "back" }, "← Sagsstamme")),
    h(
      "section",
      { class: "card", "aria-labelledby": "alerts-heading", id: "person-alerts", tabindex: "-1" },
      h("h2", { id: "alerts-heading" }, `Alarmer (${alerts.length})`),
      alerts.length
        ? h("ul", { class: "alert-list" }, alerts.map((alert) => alertItem(alert, { session, name: title, onAcknowledged: reload })))
        : h("p", { class: "muted" }, "Ingen åbne alarmer."),
    ),
    h(
      "section",
      { class: "card", "aria-labelledby": "chart-heading" },
      h(
        "div",
        { class: "card-head" },
        h("h2", { id: "chart-heading" }, "Kontakt pr. uge"),
        h("label", { for: "chart-range" }, "Periode ", rangeSelect),
      ),
      chartHolder,
    ),
    h("div", { class: "grid-2" }, flagsCard(person.riskFlags), planCard(person.plan)),
    transitionsCard(person.transitions),
    decisionsCard(person.decisions),
    timelineCard(person.timeline),
  );
  if (focusAlerts) main.querySelector("#person-alerts")?.focus();
}

function flagsCard(flags) {
  return h(
    "section",
    { class: "card", "aria-labelledby": "flags-heading" },
    h("h2", { id: "flags-heading" }, `Risikoflag (${flags.length})`),
    flags.length
      ? h(
          "ul",
          { class: "flag-list" },
          flags.map((flag) =>
            h(
              "li",
              {},
              badge(label(flag.severity), severityTone(flag.severity)),
              " ",
              h("strong", {}, label(flag.rule)),
              h("span", { class: "muted" }, ` (regel ${flag.rule} v${flag.ruleVersion})`),
              h("br"),
              `Siden ${formatDate(flag.since)}`,
              flag.openUntil ? `, åben til ${formatDate(flag.openUntil)}` : "",
              detailsList(flag.details),
            ),
          ),
        )
      : h("p", { class: "muted" }, "Ingen åbne flag."),
  );
}

// A flag's details are the rule's thresholds and the facts it saw: shown as they come.
function detailsList(details) {
  const entries = Object.entries(details ?? {}).filter(([, value]) => value !== null && typeof value !== "object");
  if (!entries.length) return "";
  return h(
    "dl",
    { class: "details" },
    entries.flatMap(([key, value]) => [h("dt", {}, key.replaceAll("_", " ")), h("dd", {}, String(value))]),
  );
}

function planCard(plan) {
  if (!plan) {
    return h(
      "section",
      { class: "card", "aria-labelledby": "plan-heading" },
      h("h2", { id: "plan-heading" }, "Plan"),
      h("p", { class: "muted" }, "Ingen plan endnu."),
    );
  }
  return h(
    "section",
    { class: "card", "aria-labelledby": "plan-heading" },
    h("h2", { id: "plan-heading" }, "Plan"),
    h("p", {}, h("strong", {}, "Mål: "), plan.goal ?? "(slettet)"),
    h(
      "p",
      { class: "muted" },
      plan.draftedTogether ? "Skrevet sammen med den unge. " : "",
      `Første udkast ${formatDate(plan.firstDraftedAt)}; næste opfølgning ${formatDate(plan.nextReview)}.`,
    ),
    plan.milestones.length
      ? h(
          "table",
          { class: "data compact" },
          h("caption", {}, "Delmål"),
          h("thead", {}, h("tr", {}, ["Delmål", "Frist", "Status"].map((t) => h("th", { scope: "col" }, t)))),
          h(
            "tbody",
            {},
            plan.milestones.map((milestone) =>
              h(
                "tr",
                {},
                h("td", {}, milestone.title ?? "(slettet)"),
                h("td", {}, dateCell(milestone.due)),
                h("td", {}, label(milestone.status)),
              ),
            ),
          ),
        )
      : "",
  );
}

function transitionsCard(transitions) {
  return h(
    "section",
    { class: "card", "aria-labelledby": "transitions-heading" },
    h("h2", { id: "transitions-heading" }, `Overgange (${transitions.length})`),
    transitions.length
      ? h(
          "table",
          { class: "data compact" },
          h(
            "thead",
            {},
            h("tr", {}, ["Overgang", "Fase", "Startet", "Uddannelse startet", "Sluttet", "Skridt"].map((t) => h("th", { scope: "col" }, t))),
          ),
          h(
            "tbody",
            {},
            transitions.map((transition) =>
              h(
                "tr",
                {},
                h("td", {}, label(transition.kind), transition.programme ? h("div", { class: "muted" }, transition.programme) : ""),
                h("td", {}, label(transition.phase)),
                h("td", {}, dateCell(transition.startedAt), h("div", { class: "muted" }, `${days(transition.daysSinceStart)} siden`)),
                h("td", {}, dateCell(transition.educationStartedAt)),
                h("td", {}, dateCell(transition.endedAt)),
                h("td", {}, transition.steps.map((step) => stepLabel(step.step)).join(", ") || "–"),
              ),
            ),
          ),
        )
      : h("p", { class: "muted" }, "Ingen overgange."),
  );
}

// Completeness as the decision audit judges it: complete, what is missing, or (the texts
// erased with the young person's personal data) that it cannot be told any more.
function completeness(decision) {
  if (decision.complete === true) return badge("Fuldstændig", "ok");
  if (decision.complete === null) return badge("Kan ikke afgøres (persondata slettet)", "low");
  const missing = decision.checks.filter((check) => check.passed === false);
  return [
    badge("Mangler", "high"),
    h("ul", { class: "checks" }, missing.map((check) => h("li", {}, label(check.name)))),
  ];
}

// The appeal's course: in force, or appealed, decided on appeal, revoked or replaced, when.
function appealCourse(course) {
  const when = {
    APPEALED: course.appealedAt,
    APPEAL_DECIDED: course.appealDecidedAt,
    REVOKED: course.revokedAt,
    SUPERSEDED: course.supersededAt,
  }[course.status];
  return [
    label(course.status),
    when ? [" ", dateCell(when)] : "",
    course.outcome ? h("div", { class: "muted" }, `Udfald: ${label(course.outcome).toLowerCase()}`) : "",
    course.status === "APPEAL_DECIDED" && course.appealedAt
      ? h("div", { class: "muted" }, "Påklaget ", dateCell(course.appealedAt))
      : "",
  ];
}

function decisionsCard(decisions) {
  return h(
    "section",
    { class: "card", "aria-labelledby": "decisions-heading", id: "person-decisions" },
    h("h2", { id: "decisions-heading" }, `Afgørelser (${decisions.length})`),
    decisions.length
      ? h(
          "table",
          { class: "data compact decisions" },
          h("caption", {}, "Myndighedsafgørelser, nyeste først, med de lovpligtige tjek og klageforløb."),
          h(
            "thead",
            {},
            h("tr", {}, ["Afgjort", "Afgørelse", "Fuldstændighed", "Klage og forløb"].map((t) => h("th", { scope: "col" }, t))),
          ),
          h(
            "tbody",
            {},
            decisions.map((decision) =>
              h(
                "tr",
                { dataset: { decisionId: decision.decisionId, complete: String(decision.complete) } },
                h("td", {}, dateCell(decision.occurredAt)),
                h(
                  "td",
                  {},
                  label(decision.kind),
                  decision.readinessLevel ? h("div", { class: "muted" }, label(decision.readinessLevel)) : "",
                ),
                h("td", {}, completeness(decision)),
                h("td", {}, appealCourse(decision.appealCourse)),
              ),
            ),
          ),
        )
      : h("p", { class: "muted" }, "Ingen afgørelser."),
  );
}

function timelineCard(timeline) {
  const newestFirst = [...timeline].reverse();
  const list = h("ol", { class: "timeline" });
  const more = h("button", { type: "button", class: "link-button" }, `Vis alle ${timeline.length}`);
  const show = (count) => {
    list.replaceChildren(
      ...newestFirst.slice(0, count).map((entry) =>
        h(
          "li",
          { dataset: { eventType: entry.eventType } },
          h("time", { datetime: entry.occurredAt }, formatDateTime(entry.occurredAt)),
          h("span", { class: "event" }, eventLabel(entry.eventType)),
          h("span", { class: "summary", lang: "en" }, entry.summary),
        ),
      ),
    );
    more.hidden = count >= timeline.length;
  };
  more.addEventListener("click", () => {
    show(timeline.length);
    list.querySelector("li")?.focus();
  });
  show(TIMELINE_SHOWN);
  return h(
    "section",
    { class: "card", "aria-labelledby": "timeline-heading" },
    h("h2", { id: "timeline-heading" }, "Tidslinje (nyeste først)"),
    list,
    more,
  );
}
