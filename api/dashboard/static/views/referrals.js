// The referral queue for the team's weekly review: pending referrals, oldest first.

import { h } from "../dom.js";
import { days, label, shortId } from "../format.js";
import { request } from "../graphql.js";
import { REFERRAL_QUEUE } from "../queries.js";
import { badge, dateCell, errorBox, heading, sortableTable } from "./common.js";

const PAGE = 200;

const COLUMNS = [
  {
    key: "referred",
    title: "Henvist",
    sort: (entry) => entry.referredAt,
    cell: (entry) => dateCell(entry.referredAt),
  },
  {
    key: "waiting",
    title: "Ventet",
    sort: (entry) => entry.daysWaiting,
    firstDirection: "descending",
    class: "num",
    cell: (entry) => days(entry.daysWaiting),
  },
  {
    key: "status",
    title: "Status",
    sort: (entry) => entry.status,
    cell: (entry) =>
      entry.status === "waitlisted"
        ? [badge("Venteliste", "low"), entry.waitlistedOn ? [" ", dateCell(entry.waitlistedOn)] : ""]
        : badge("Ny", "medium"),
  },
  {
    key: "consent",
    title: "Samtykke",
    cell: (entry) => entry.consentScopes.map(label).join(", "),
  },
  {
    key: "institution",
    title: "Henvist af",
    sort: (entry) => entry.institutionId ?? "",
    cell: (entry) => (entry.institutionId ? `Institution ${shortId(entry.institutionId)}` : "Teamet selv"),
  },
  {
    key: "person",
    title: "Ung",
    cell: (entry) => h("a", { href: `#/person/${entry.youngPersonId}` }, `Ung ${shortId(entry.youngPersonId)}`),
  },
];

export async function referralsView({ main, session }) {
  const parts = [heading("Henvisninger")];
  try {
    const entries = [];
    let after = null;
    let total = 0;
    do {
      const data = await request(session.token, REFERRAL_QUEUE, { first: PAGE, after });
      total = data.referralQueue.total;
      entries.push(...data.referralQueue.entries);
      const page = data.referralQueue.pageInfo;
      after = page.hasNextPage && entries.length < 1000 ? page.endCursor : null;
    } while (after);
    parts.push(
      h("p", { class: "summary" }, `${total} ${total === 1 ? "henvisning venter" : "henvisninger venter"} på teamets ugentlige gennemgang.`),
      entries.length
        ? sortableTable({
            caption: "Ventende henvisninger, ældste først.",
            columns: COLUMNS,
            rows: entries,
            initial: { key: "referred", direction: "ascending" },
            rowAttrs: (entry) => ({ dataset: { youngPersonId: entry.youngPersonId } }),
          })
        : h("p", {}, "Ingen ventende henvisninger."),
    );
  } catch (error) {
    parts.push(errorBox(error));
  }
  main.replaceChildren(...parts);
}
