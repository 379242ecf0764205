// Alerts of quiet transitions: the team's list by status, to acknowledge, and the live feed
// of new ones through the alertRaised subscription.

import { h } from "../dom.js";
import { days, label, shortId } from "../format.js";
import { request, subscribe } from "../graphql.js";
import { ALERT_RAISED, ALERTS } from "../queries.js";
import { alertItem, errorBox, heading, names } from "./common.js";

const STATUSES = ["OPEN", "ACKNOWLEDGED", "ACTIVE", "RESOLVED"];
const ARRIVED = "overgang:alert-arrived";
let chosenStatus = "ACTIVE";
let mineOnly = false;

export async function alertsView({ main, session, announce, waitForPosition = null }) {
  const statusSelect = h(
    "select",
    {
      id: "alert-status",
      onchange: (event) => {
        chosenStatus = event.target.value;
        alertsView({ main, session, announce });
      },
    },
    STATUSES.map((status) => h("option", { value: status, selected: status === chosenStatus }, label(status))),
  );
  const mineBox = h("input", {
    id: "alert-mine",
    type: "checkbox",
    checked: mineOnly,
    onchange: (event) => {
      mineOnly = event.target.checked;
      alertsView({ main, session, announce });
    },
  });
  const filters = h(
    "form",
    { class: "filters", onsubmit: (event) => event.preventDefault() },
    h("label", { for: "alert-status" }, "Status "),
    statusSelect,
    session.counsellorId ? [" ", mineBox, h("label", { for: "alert-mine" }, " Kun mine unge")] : "",
  );

  const list = h("ul", { class: "alert-list", id: "alert-list" });
  const reload = async (position) => {
    await alertsView({ main, session, announce, waitForPosition: position });
    announce("Alarmen er kvitteret.");
  };
  const item = (alert) => alertItem(alert, { session, name: names.get(alert.youngPersonId), onAcknowledged: reload });

  let alerts;
  try {
    const data = await request(session.token, ALERTS, {
      status: chosenStatus,
      first: 200,
      counsellorId: mineOnly ? session.counsellorId : null,
      waitForPosition,
    });
    alerts = data.alerts.entries;
  } catch (error) {
    main.replaceChildren(heading("Alarmer"), filters, errorBox(error));
    return;
  }
  list.replaceChildren(...alerts.map(item));
  main.replaceChildren(
    heading("Alarmer"),
    h("p", { class: "muted" }, "Nye alarmer i teamet dukker op her med det samme (live)."),
    filters,
    alerts.length ? "" : h("p", { class: "muted", id: "no-alerts" }, "Ingen alarmer med denne status."),
    list,
  );

  // New alerts arrive open: shown at the top while this view is on the page, if the filter
  // would have shown them.
  const onArrived = (event) => {
    if (!document.body.contains(list)) {
      window.removeEventListener(ARRIVED, onArrived);
      return;
    }
    const alert = event.detail;
    if (!["OPEN", "ACTIVE"].includes(chosenStatus)) return;
    if (mineOnly && alert.counsellorId !== session.counsellorId) return;
    if (list.querySelector(`[data-alert-id="${CSS.escape(alert.id)}"]`)) return;
    document.getElementById("no-alerts")?.remove();
    const node = item(alert);
    node.classList.add("arrived");
    list.prepend(node);
  };
  window.addEventListener(ARRIVED, onArrived);
}

/**
 * Subscribe to alertRaised for the logged-in counsellor or team lead; each new alert is
 * announced (live region), shown in the arrivals strip and handed to the alerts view.
 * Returns the subscription (close it on logout).
 */
export function startLiveAlerts(session, { arrivals, announce, onState }) {
  return subscribe(session.token, ALERT_RAISED, {}, {
    onState,
    onData: (data) => {
      const alert = data.alertRaised;
      const who = names.get(alert.youngPersonId) ?? `Ung ${shortId(alert.youngPersonId)}`;
      const text = `Ny alarm: ${who}, ingen kontakt i ${days(alert.daysQuiet)}`;
      const note = h(
        "div",
        { class: "arrival", dataset: { alertId: alert.id } },
        h("strong", {}, "Ny alarm: "),
        h("a", { href: `#/person/${alert.youngPersonId}` }, who),
        `, ingen kontakt i ${days(alert.daysQuiet)}`,
        alert.transitionKind ? ` (${label(alert.transitionKind).toLowerCase()})` : "",
        " ",
        h("button", { type: "button", class: "link-button", "aria-label": `Luk beskeden om ${who}`, onclick: () => note.remove() }, "Luk"),
      );
      arrivals.prepend(note);
      // Keep the strip short: the alerts view holds them all.
      while (arrivals.children.length > 3) arrivals.lastElementChild.remove();
      announce(text);
      window.dispatchEvent(new CustomEvent(ARRIVED, { detail: alert }));
    },
    onError: (error) => arrivals.prepend(errorBox({ code: error.extensions?.code, message: error.message })),
  });
}
