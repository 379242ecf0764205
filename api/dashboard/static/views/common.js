// Pieces the views share: error messages, sortable tables, alert rows with acknowledgement.

import { h } from "../dom.js";
import { days, formatDate, formatDateTime, label, shortId } from "../format.js";
import { request } from "../graphql.js";
import { ACKNOWLEDGE_ALERT } from "../queries.js";

/** Young people's names as the caseloads told them (a young person's page asks for the
 * name itself): kept in memory only, never stored, so closing the tab forgets them. */
export const names = new Map();

const MESSAGES = {
  forbidden: "Du har ikke adgang til dette med din rolle (forbidden).",
  unauthenticated: "Dit login er udløbet eller ugyldigt. Log ind igen (unauthenticated).",
  unavailable: "Systemet er midlertidigt utilgængeligt. Prøv igen om lidt (unavailable).",
  not_yet_visible: "Ændringen er ikke synlig endnu. Genindlæs om et øjeblik.",
  network: "Serveren svarer ikke. Kører den stadig?",
};

/** A readable, announced message for an error from the API. */
export function errorBox(error) {
  const text = MESSAGES[error.code] ?? error.message ?? String(error);
  return h(
    "div",
    { class: "error", role: "alert", dataset: { code: error.code ?? "error" } },
    h("strong", {}, "Det gik ikke: "),
    text,
  );
}

export function heading(text, ...extra) {
  return h("div", { class: "view-head" }, h("h1", {}, text), ...extra);
}

/** A badge for a severity or level: colour and text, never colour alone. */
export function badge(text, tone) {
  return h("span", { class: `badge badge-${tone}` }, text);
}

export function severityTone(severity) {
  return { HIGH: "high", MEDIUM: "medium", LOW: "low", WARNING: "medium" }[severity] ?? "low";
}

/**
 * A table whose column headers are buttons that sort it (aria-sort tells screen readers).
 * ``columns``: [{ key, title, sort: (row) => value | undefined, cell: (row) => node }];
 * a column without ``sort`` is not sortable. ``initial``: { key, direction }.
 */
export function sortableTable({ caption, columns, rows, initial, rowAttrs = () => ({}) }) {
  let sortKey = initial?.key ?? null;
  let direction = initial?.direction ?? "ascending";
  const table = h("table", { class: "data" });
  const body = h("tbody");

  const render = () => {
    const column = columns.find((c) => c.key === sortKey);
    const sorted = [...rows];
    if (column?.sort) {
      const sign = direction === "ascending" ? 1 : -1;
      sorted.sort((a, b) => {
        const x = column.sort(a);
        const y = column.sort(b);
        // Missing values (no contact yet, no milestone) go last whichever the direction.
        const xMissing = x === null || x === undefined;
        const yMissing = y === null || y === undefined;
        if (xMissing || yMissing) return xMissing === yMissing ? 0 : xMissing ? 1 : -1;
        return sign * compare(x, y);
      });
    }
    body.replaceChildren(
      ...sorted.map((row) => h("tr", rowAttrs(row), columns.map((c) => h("td", { class: c.class }, c.cell(row))))),
    );
    for (const th of head.querySelectorAll("th")) {
      th.setAttribute("aria-sort", th.dataset.key === sortKey ? direction : "none");
    }
  };

  const head = h(
    "tr",
    {},
    columns.map((column) =>
      h(
        "th",
        { scope: "col", dataset: { key: column.key }, class: column.class },
        column.sort
          ? h(
              "button",
              {
                type: "button",
                class: "sort",
                onclick: () => {
                  if (sortKey === column.key) {
                    direction = direction === "ascending" ? "descending" : "ascending";
                  } else {
                    sortKey = column.key;
                    direction = column.firstDirection ?? "ascending";
                  }
                  render();
                },
              },
              column.title,
              h("span", { class: "sort-mark", "aria-hidden": "true" }),
            )
          : column.title,
      ),
    ),
  );
  table.append(caption ? h("caption", {}, caption) : "", h("thead", {}, head), body);
  render();
  return table;
}

// Text compares the Danish way (æ, ø, å after z).
function compare(a, b) {
  if (typeof a === "string" && typeof b === "string") return a.localeCompare(b, "da");
  return a < b ? -1 : a > b ? 1 : 0;
}

/** One alert: what, how long quiet, and (if nobody has yet) a form to acknowledge it. */
export function alertItem(alert, { session, name, onAcknowledged }) {
  const who = name ?? `Ung ${shortId(alert.youngPersonId)}`;
  const item = h(
    "li",
    { class: `alert-item alert-${alert.status.toLowerCase()}`, dataset: { alertId: alert.id, status: alert.status } },
    h(
      "div",
      { class: "alert-line" },
      badge(label(alert.level), alert.level === "ESCALATED" ? "high" : "medium"),
      " ",
      h("a", { href: `#/person/${alert.youngPersonId}` }, who),
      `: ingen kontakt i ${days(alert.daysQuiet)}`,
      alert.transitionKind ? ` (${label(alert.transitionKind).toLowerCase()})` : "",
      h("span", { class: "muted" }, ` · rejst ${formatDateTime(alert.raisedAt)}`),
    ),
  );
  if (alert.status === "ACKNOWLEDGED") {
    item.append(
      h(
        "p",
        { class: "acknowledged" },
        badge("Kvitteret", "ok"),
        ` ${formatDateTime(alert.acknowledgedAt)}`,
        alert.acknowledgementNote ? `: ${alert.acknowledgementNote}` : "",
      ),
    );
  } else if (alert.status === "OPEN" && session) {
    item.append(acknowledgeForm(alert, session, onAcknowledged));
  }
  return item;
}

let formCount = 0;

function acknowledgeForm(alert, session, onAcknowledged) {
  const id = `ack-note-${++formCount}`;
  const input = h("input", {
    id,
    name: "note",
    type: "text",
    required: true,
    maxlength: 2000,
    placeholder: "Fx: Ringer i morgen kl. 9",
    autocomplete: "off",
  });
  const status = h("span", { class: "form-status", role: "status" });
  const button = h("button", { type: "submit" }, "Kvittér");
  return h(
    "form",
    {
      class: "ack-form",
      onsubmit: async (event) => {
        event.preventDefault();
        const note = input.value.trim();
        if (!note) {
          status.textContent = "Skriv kort, hvad du gør.";
          input.focus();
          return;
        }
        button.disabled = true;
        status.textContent = "Gemmer …";
        try {
          const data = await request(session.token, ACKNOWLEDGE_ALERT, {
            youngPersonId: alert.youngPersonId,
            alertId: alert.id,
            note,
          });
          status.textContent = "Kvitteret.";
          await onAcknowledged?.(data.acknowledgeAlert.position);
        } catch (error) {
          button.disabled = false;
          status.replaceChildren(errorBox(error));
        }
      },
    },
    h("label", { for: id }, "Hvad gør du? "),
    input,
    " ",
    button,
    " ",
    status,
  );
}

export function dateCell(value) {
  return value ? h("time", { datetime: value }, formatDate(value)) : "–";
}
