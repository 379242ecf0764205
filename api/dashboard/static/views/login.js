// Logging in: the demo login (embedded development only) or a bearer token pasted in.

import { h } from "../dom.js";
import { label } from "../format.js";
import { demoIdentities, demoLogin, sessionFrom } from "../session.js";
import { errorBox, heading } from "./common.js";

export async function loginView({ main, onLogin, notice }) {
  const identities = await demoIdentities();
  const parts = [heading("Log ind")];
  if (notice) parts.push(h("p", { class: "notice", role: "status" }, notice));

  const status = h("div", { role: "status" });
  if (identities) {
    parts.push(
      h(
        "section",
        { class: "card", "aria-labelledby": "demo-heading" },
        h("h2", { id: "demo-heading" }, "Demo: vælg en person"),
        h(
          "p",
          { class: "muted" },
          "Serveren kører indlejret til udvikling med demo-data. Vælg en rådgiver, en teamleder ",
          "eller en revisor; du får et token, der gælder i to timer.",
        ),
        h(
          "ul",
          { class: "identities" },
          identities.map((identity) =>
            h(
              "li",
              {},
              h(
                "button",
                {
                  type: "button",
                  class: "identity",
                  dataset: { role: identity.role, identity: identity.id },
                  onclick: async () => {
                    status.replaceChildren("Logger ind …");
                    try {
                      onLogin(await demoLogin(identity));
                    } catch (error) {
                      status.replaceChildren(errorBox(error));
                    }
                  },
                },
                h("span", { class: "identity-name" }, identity.display_name),
                h(
                  "span",
                  { class: "identity-meta" },
                  label(identity.role),
                  identity.team ? ` · ${identity.team}` : "",
                  identity.active_cases !== null && identity.active_cases !== undefined
                    ? ` · ${identity.active_cases} aktive unge`
                    : "",
                ),
              ),
            ),
          ),
        ),
        status,
      ),
    );
  }
  parts.push(tokenForm(onLogin, Boolean(identities)));
  main.replaceChildren(...parts);
  main.querySelector("button, input")?.focus();
}

function tokenForm(onLogin, demo) {
  const input = h("textarea", { id: "token", name: "token", rows: 3, required: true, spellcheck: "false" });
  const status = h("div", { role: "status" });
  return h(
    "section",
    { class: "card", "aria-labelledby": "token-heading" },
    h("h2", { id: "token-heading" }, demo ? "… eller med et token" : "Log ind med et token"),
    h(
      "p",
      { class: "muted" },
      "Et bearer-token (JWT) fra jeres identitetsudbyder, eller til udvikling: ",
      h("code", {}, "overgang token --role counsellor --sub <rådgiver-id> --team <team>"),
    ),
    h(
      "form",
      {
        onsubmit: (event) => {
          event.preventDefault();
          try {
            onLogin(sessionFrom(input.value.trim()));
          } catch (error) {
            status.replaceChildren(errorBox(error));
          }
        },
      },
      h("label", { for: "token" }, "Token"),
      input,
      h("button", { type: "submit" }, "Log ind"),
      status,
    ),
  );
}
