// The decision audit for auditors: every authority decision with its legal completeness
// checks, the dual role (mentor and authority), the appeal's course and what the decider
// could see. No free text: the API says only whether each required text was there.

import { h } from "../dom.js";
import { label, shortId } from "../format.js";
import { request } from "../graphql.js";
import { DECISION_AUDIT } from "../queries.js";
import { badge, dateCell, errorBox, heading, sortableTable } from "./common.js";

const PAGE = 100;
const filter = { from: "", to: "", incompleteOnly: false };

function completeBadge(complete) {
  if (complete === true) return badge("Fuldstændig", "ok");
  if (complete === false) return badge("Mangler", "high");
  return badge("Kan ikke afgøres", "low");
}

function dualRole(role) {
  if (!role.deciderIsMentor) return "Nej";
  return role.openlyDeclared ? "Ja, åbent erklæret" : role.roleDeclared ? "Ja, rolle erklæret" : "Ja, ikke erklæret";
}

const COLUMNS = [
  { key: "date", title: "Afgjort", sort: (row) => row.occurredAt, cell: (row) => dateCell(row.occurredAt) },
  {
    key: "kind",
    title: "Afgørelse",
    sort: (row) => label(row.kind),
    cell: (row) => [label(row.kind), row.readinessLevel ? h("div", { class: "muted" }, label(row.readinessLevel)) : ""],
  },
  {
    key: "complete",
    title: "Fuldstændighed",
    sort: (row) => (row.complete === false ? 0 : row.complete === null ? 1 : 2),
    cell: (row) => completeBadge(row.complete),
  },
  {
    key: "checks",
    title: "Tjek",
    cell: (row) => {
      const failed = row.checks.filter((check) => check.passed === false);
      return h(
        "details",
        {},
        h("summary", {}, failed.length ? `${failed.length} mangler` : `${row.checks.length} i orden`),
        h(
          "ul",
          { class: "checks" },
          row.checks.map((check) =>
            h(
              "li",
              { class: check.passed === false ? "failed" : "" },
              check.passed === true ? "✓ " : check.passed === false ? "✗ " : "? ",
              h("strong", {}, label(check.name)),
              h("span", { class: "muted", lang: "en" }, ` ${check.explanation}`),
            ),
          ),
        ),
      );
    },
  },
  {
    key: "dual",
    title: "Mentor og myndighed",
    sort: (row) => dualRole(row.dualRole),
    cell: (row) => dualRole(row.dualRole),
  },
  {
    key: "appeal",
    title: "Forløb",
    sort: (row) => label(row.appealCourse.status),
    cell: (row) => label(row.appealCourse.status),
  },
  {
    key: "provenance",
    title: "Kontakt 90 dage før",
    sort: (row) => row.provenance.contactsReached,
    class: "num",
    cell: (row) => `${row.provenance.contactsReached} af ${row.provenance.contacts}`,
  },
  {
    key: "person",
    title: "Ung",
    cell: (row) => (row.personalDataErased ? "(slettet)" : `Ung ${shortId(row.youngPersonId)}`),
  },
];

// A date input's day, as the start of that day in the browser's time zone (the API wants
// a DateTime with a zone; `to` is exclusive, so the day after).
function dayStart(value, plusDays = 0) {
  if (!value) return null;
  const [y, m, d] = value.split("-").map(Number);
  return new Date(y, m - 1, d + plusDays).toISOString();
}

export async function auditView({ main, session }) {
  const fromInput = h("input", { id: "audit-from", type: "date", value: filter.from });
  const toInput = h("input", { id: "audit-to", type: "date", value: filter.to });
  const incomplete = h("input", { id: "audit-incomplete", type: "checkbox", checked: filter.incompleteOnly });
  const form = h(
    "form",
    {
      class: "filters",
      onsubmit: (event) => {
        event.preventDefault();
        Object.assign(filter, { from: fromInput.value, to: toInput.value, incompleteOnly: incomplete.checked });
        auditView({ main, session });
      },
    },
    h("label", { for: "audit-from" }, "Fra "),
    fromInput,
    h("label", { for: "audit-to" }, " Til og med "),
    toInput,
    " ",
    incomplete,
    h("label", { for: "audit-incomplete" }, " Kun ufuldstændige"),
    " ",
    h("button", { type: "submit" }, "Vis"),
  );
  const results = h("div", { id: "audit-results" });
  main.replaceChildren(
    heading("Afgørelsesrevision"),
    h(
      "p",
      { class: "muted" },
      "Hver myndighedsafgørelse med de lovpligtige tjek (forvaltningsloven §§ 19, 22, 24, 25; ",
      "Ankestyrelsens principafgørelse 87-14), dobbeltrollen og hvad rådgiveren kunne se.",
    ),
    form,
    results,
  );

  const rows = [];
  let total = 0;
  const load = async (after) => {
    const data = await request(session.token, DECISION_AUDIT, {
      from: dayStart(filter.from),
      to: dayStart(filter.to, 1),
      incompleteOnly: filter.incompleteOnly,
      first: PAGE,
      after,
    });
    total = data.decisionAudit.total;
    rows.push(...data.decisionAudit.entries);
    const page = data.decisionAudit.pageInfo;
    return page.hasNextPage ? page.endCursor : null;
  };
  const render = (next) => {
    const more = next
      ? h(
          "button",
          {
            type: "button",
            onclick: async () => {
              try {
                render(await load(next));
                results.querySelector("tbody tr:last-child")?.scrollIntoView({ block: "nearest" });
              } catch (error) {
                results.append(errorBox(error));
              }
            },
          },
          `Vis flere (${rows.length} af ${total})`,
        )
      : "";
    results.replaceChildren(
      h("p", { class: "summary" }, `${total} afgørelser${filter.incompleteOnly ? " med mangler" : ""}.`),
      rows.length
        ? sortableTable({
            caption: "Afgørelser, ældste først.",
            columns: COLUMNS,
            rows,
            initial: { key: "date", direction: "ascending" },
            rowAttrs: (row) => ({ dataset: { decisionId: row.decisionId } }),
          })
        : h("p", {}, "Ingen afgørelser."),
      more,
    );
  };
  try {
    render(await load(null));
  } catch (error) {
    results.replaceChildren(errorBox(error));
  }
}
