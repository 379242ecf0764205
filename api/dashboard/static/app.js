// The dashboard's entry point: who is logged in, the menu for their role, and a small
// hash router (#/caseload, #/person/<id>, ...) so every view has an address and the
// browser's back button works.

import { h } from "./dom.js";
import { label } from "./format.js";
import * as sessions from "./session.js";
import { alertsView, startLiveAlerts } from "./views/alerts.js";
import { auditView } from "./views/audit.js";
import { caseloadView } from "./views/caseload.js";
import { errorBox } from "./views/common.js";
import { loginView } from "./views/login.js";
import { personView } from "./views/person.js";
import { referralsView } from "./views/referrals.js";

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const who = document.getElementById("who");
const arrivals = document.getElementById("arrivals");
const announcer = document.getElementById("announcer");

let session = sessions.load();
let live = null;

// What each role may open, as the access policy (api/access.py) allows it: counsellors
// and team leads work on their team; auditors read the decision audit only.
const MENUS = {
  counsellor: [
    ["#/caseload", "Sagsstamme"],
    ["#/alerts", "Alarmer"],
    ["#/referrals", "Henvisninger"],
  ],
  team_lead: [
    ["#/caseload", "Sagsstamme og team"],
    ["#/alerts", "Alarmer"],
    ["#/referrals", "Henvisninger"],
  ],
  auditor: [["#/audit", "Afgørelsesrevision"]],
};

/** Say ``text`` through the polite live region (screen readers read it out). */
function announce(text) {
  announcer.textContent = "";
  // A new text node on the next frame, so the same message twice is announced twice.
  requestAnimationFrame(() => {
    announcer.textContent = text;
  });
}

function menu() {
  return session ? MENUS[session.role] ?? [] : [];
}

function renderChrome(liveState = null) {
  const current = location.hash.split("/").slice(0, 2).join("/");
  nav.replaceChildren(
    h(
      "ul",
      {},
      menu().map(([href, text]) =>
        h("li", {}, h("a", { href, "aria-current": current === href ? "page" : null }, text)),
      ),
    ),
  );
  if (!session) {
    who.replaceChildren();
    return;
  }
  who.replaceChildren(
    h(
      "span",
      { class: "who-name" },
      session.displayName,
      h("span", { class: "muted" }, ` · ${label(session.role)}${session.team ? ` · ${session.team}` : ""}`),
    ),
    liveState ? h("span", { class: `live-state live-${liveState}`, role: "status" }, LIVE_TEXT[liveState] ?? "") : "",
    h("button", { type: "button", class: "link-button", onclick: logout }, "Log ud"),
  );
}

const LIVE_TEXT = {
  connecting: "Forbinder …",
  live: "Live",
  closed: "Forbindelse tabt, prøver igen",
  refused: "Live-alarmer afvist",
};
let liveState = null;

function startLive() {
  live?.close();
  live = null;
  if (!session || !["counsellor", "team_lead"].includes(session.role)) return;
  live = startLiveAlerts(session, {
    arrivals,
    announce,
    onState: (state) => {
      liveState = state;
      document.body.dataset.live = state;
      renderChrome(liveState);
    },
  });
}

/** Open ``hash``: the hashchange listener routes, unless the address is already there. */
function go(hash, notice = null) {
  if (location.hash === hash) route(notice);
  else {
    pendingNotice = notice;
    location.hash = hash;
  }
}
let pendingNotice = null;

function login(newSession) {
  session = newSession;
  sessions.save(session);
  startLive();
  go(menu()[0]?.[0] ?? "#/");
}

function logout(notice) {
  sessions.clear();
  session = null;
  live?.close();
  live = null;
  liveState = null;
  arrivals.replaceChildren();
  go("#/login", typeof notice === "string" ? notice : null);
}

async function route(notice = null) {
  renderChrome(liveState);
  if (session && session.expiresAt && session.expiresAt <= Date.now()) {
    logout("Dit login er udløbet. Log ind igen.");
    return;
  }
  if (!session) {
    await loginView({ main, onLogin: login, notice });
    return;
  }
  const [, view, id] = location.hash.split("/");
  const allowed = menu().map(([href]) => href.slice(2));
  const context = { main, session, announce };
  try {
    if (view === "person" && id && ["counsellor", "team_lead"].includes(session.role)) {
      await personView({ ...context, id: decodeURIComponent(id) });
    } else if (view === "caseload" && allowed.includes("caseload")) {
      await caseloadView({ ...context, counsellorId: id ? decodeURIComponent(id) : null });
    } else if (view === "alerts" && allowed.includes("alerts")) {
      await alertsView(context);
    } else if (view === "referrals" && allowed.includes("referrals")) {
      await referralsView(context);
    } else if (view === "audit" && allowed.includes("audit")) {
      await auditView(context);
    } else if (menu().length) {
      location.replace(menu()[0][0]);
      return;
    } else {
      main.replaceChildren(
        h("h1", {}, "Ingen visninger"),
        h("p", {}, `Rollen ${label(session.role)} har ingen visninger i dashboardet.`),
      );
    }
  } catch (error) {
    main.replaceChildren(errorBox(error));
  }
  // An expired or refused token: back to the login, saying why.
  if (main.querySelector('.error[data-code="unauthenticated"]')) {
    logout("Dit login er udløbet eller ugyldigt. Log ind igen.");
    return;
  }
  document.body.dataset.view = view ?? "";
  // Focus the new view's heading region, so keyboard and screen-reader users start there.
  if (!main.contains(document.activeElement)) main.focus({ preventScroll: true });
}

window.addEventListener("hashchange", () => {
  const notice = pendingNotice;
  pendingNotice = null;
  route(notice);
});
startLive();
route();
