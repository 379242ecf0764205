// The contact chart of a young person's page, drawn as inline SVG: reached contacts and
// unanswered attempts per week as stacked bars, transitions as shaded bands behind them,
// alerts as markers above. A table with the same numbers is the text alternative.

import { h, s } from "./dom.js";
import { formatDate, formatShortDate, isoDate, label } from "./format.js";

const DAY = 24 * 60 * 60 * 1000;
const WIDTH = 960;
const HEIGHT = 270;
const MARGIN = { top: 30, right: 12, bottom: 34, left: 34 };

/** Monday 00:00 (local time) of the week ``date`` falls in: Danish weeks begin on Monday. */
export function weekStart(date) {
  const monday = new Date(date.getFullYear(), date.getMonth(), date.getDate());
  monday.setDate(monday.getDate() - ((monday.getDay() + 6) % 7));
  return monday;
}

function addWeeks(date, count) {
  const result = new Date(date);
  result.setDate(result.getDate() + 7 * count);
  return result;
}

/** The ISO 8601 week number ("uge 47"), the way Danish calendars count. */
export function isoWeek(date) {
  // The week of a date is the week of its Thursday; UTC avoids daylight-saving hours.
  const day = new Date(Date.UTC(date.getFullYear(), date.getMonth(), date.getDate()));
  day.setUTCDate(day.getUTCDate() + 4 - (day.getUTCDay() || 7));
  const yearStart = new Date(Date.UTC(day.getUTCFullYear(), 0, 1));
  return Math.ceil(((day - yearStart) / DAY + 1) / 7);
}

/**
 * The weeks to show and what happened in each: from the week of the first fact (at most
 * ``maxWeeks`` back) to the current week, every week present, empty ones too.
 */
export function contactWeeks(timeline, now, maxWeeks) {
  const last = weekStart(now);
  const firstFact = timeline.length ? new Date(Math.min(...timeline.map((e) => new Date(e.occurredAt)))) : now;
  let first = weekStart(firstFact);
  const earliest = addWeeks(last, -(maxWeeks - 1));
  if (first < earliest) first = earliest;
  const weeks = [];
  for (let start = first; start <= last; start = addWeeks(start, 1)) {
    weeks.push({ start, end: addWeeks(start, 1), reached: 0, attempts: 0, alerts: [] });
  }
  const weekOf = (date) => weeks.find((week) => date >= week.start && date < week.end);
  for (const entry of timeline) {
    const week = weekOf(new Date(entry.occurredAt));
    if (!week) continue;
    if (entry.eventType === "ContactRecorded") {
      if (entry.details?.reached) week.reached += 1;
      else week.attempts += 1;
    } else if (entry.eventType === "AlertRaised" || entry.eventType === "AlertEscalated") {
      week.alerts.push(entry);
    }
  }
  return weeks;
}

function niceMax(value) {
  if (value <= 4) return 4;
  const step = value <= 10 ? 2 : 5;
  return Math.ceil(value / step) * step;
}

/** The chart (a figure with the SVG and its table) for a young person's timeline. */
export function contactChart({ timeline, transitions, now = new Date(), maxWeeks = 26 }) {
  const weeks = contactWeeks(timeline, now, maxWeeks);
  const start = weeks[0].start;
  const end = weeks[weeks.length - 1].end;
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const band = plotWidth / weeks.length;
  const x = (date) => MARGIN.left + ((date - start) / (end - start)) * plotWidth;
  const top = niceMax(Math.max(...weeks.map((w) => w.reached + w.attempts)));
  const y = (count) => MARGIN.top + plotHeight - (count / top) * plotHeight;

  const totals = weeks.reduce(
    (sum, week) => ({
      reached: sum.reached + week.reached,
      attempts: sum.attempts + week.attempts,
      alerts: sum.alerts + week.alerts.length,
    }),
    { reached: 0, attempts: 0, alerts: 0 },
  );
  const description =
    `${weeks.length} uger fra ${formatDate(start)}: ${totals.reached} kontakter opnået, ` +
    `${totals.attempts} forsøg uden svar, ${totals.alerts} alarmer.`;

  // Transitions as bands behind the bars, clipped to the weeks shown; labels staggered so
  // two overlapping transitions stay readable.
  const bands = transitions
    .map((transition) => ({
      transition,
      from: new Date(transition.startedAt),
      to: transition.endedAt ? new Date(transition.endedAt) : now,
    }))
    .filter(({ from, to }) => to >= start && from < end)
    .map(({ transition, from, to }, index) => {
      const left = x(from < start ? start : from);
      const right = x(to > end ? end : to);
      const title = `${label(transition.kind)} (${label(transition.phase).toLowerCase()}): ${formatDate(transition.startedAt)} – ${transition.endedAt ? formatDate(transition.endedAt) : "nu"}`;
      return s(
        "g",
        { class: `band band-${transition.phase.toLowerCase()}` },
        s("title", {}, title),
        s("rect", { x: left, y: MARGIN.top, width: Math.max(right - left, 2), height: plotHeight }),
        transition.educationStartedAt && new Date(transition.educationStartedAt) >= start
          ? s("line", {
              class: "education-start",
              x1: x(new Date(transition.educationStartedAt)),
              x2: x(new Date(transition.educationStartedAt)),
              y1: MARGIN.top,
              y2: MARGIN.top + plotHeight,
            })
          : null,
        right - left > 60
          ? s("text", { x: left + 4, y: MARGIN.top + 12 + (index % 2) * 13, class: "band-label" }, label(transition.kind))
          : null,
      );
    });

  const gridLines = [];
  const step = top <= 4 ? 1 : top <= 10 ? 2 : 5;
  for (let value = 0; value <= top; value += step) {
    gridLines.push(
      s("line", { class: "grid", x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: y(value), y2: y(value) }),
      s("text", { class: "axis", x: MARGIN.left - 6, y: y(value) + 4, "text-anchor": "end" }, String(value)),
    );
  }

  const labelEvery = Math.ceil(weeks.length / 13);
  const bars = weeks.map((week, index) => {
    const left = MARGIN.left + index * band + band * 0.15;
    const width = band * 0.7;
    const number = isoWeek(week.start);
    return s(
      "g",
      {
        class: "week",
        dataset: { weekStart: isoDate(week.start), reached: week.reached, attempts: week.attempts },
      },
      s("title", {}, `Uge ${number} (fra ${formatShortDate(week.start)}): ${week.reached} opnået, ${week.attempts} forsøg`),
      s("rect", { class: "bar", x: left, width, y: y(week.reached), height: y(0) - y(week.reached) }),
      s("rect", {
        class: "bar-attempts",
        x: left,
        width,
        y: y(week.reached + week.attempts),
        height: y(week.reached) - y(week.reached + week.attempts),
      }),
      index % labelEvery === 0
        ? s("text", { class: "axis", x: left + width / 2, y: HEIGHT - MARGIN.bottom + 16, "text-anchor": "middle" }, `uge ${number}`)
        : null,
    );
  });

  const markers = weeks.flatMap((week) =>
    week.alerts.map((alert) => {
      const at = x(new Date(alert.occurredAt));
      const escalated = alert.eventType === "AlertEscalated";
      return s(
        "g",
        { class: `alert-marker${escalated ? " escalated" : ""}` },
        s("title", {}, `${escalated ? "Alarm eskaleret" : "Alarm rejst"} ${formatDate(alert.occurredAt)}`),
        s("path", { d: `M ${at - 6} ${MARGIN.top - 16} L ${at + 6} ${MARGIN.top - 16} L ${at} ${MARGIN.top - 5} Z` }),
      );
    }),
  );

  const svg = s(
    "svg",
    {
      class: "chart",
      viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
      role: "img",
      "aria-labelledby": "chart-title chart-desc",
      dataset: { weeks: weeks.length },
    },
    s("title", { id: "chart-title" }, "Kontakter pr. uge"),
    s("desc", { id: "chart-desc" }, description),
    bands,
    gridLines,
    bars,
    markers,
    s("line", { class: "axis-line", x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: y(0), y2: y(0) }),
  );

  return h(
    "figure",
    { class: "chart-figure" },
    svg,
    h(
      "figcaption",
      {},
      h(
        "ul",
        { class: "legend" },
        h("li", {}, h("span", { class: "swatch swatch-reached", "aria-hidden": "true" }), "Kontakt opnået"),
        h("li", {}, h("span", { class: "swatch swatch-attempts", "aria-hidden": "true" }), "Forsøg uden svar"),
        h("li", {}, h("span", { class: "swatch swatch-band", "aria-hidden": "true" }), "Overgang i gang"),
        h("li", {}, h("span", { class: "swatch swatch-alert", "aria-hidden": "true" }), "Alarm (▼)"),
      ),
      h("p", { class: "muted" }, description),
    ),
    h(
      "details",
      { class: "chart-table" },
      h("summary", {}, "Vis tallene som tabel"),
      h(
        "table",
        { class: "data compact" },
        h("caption", {}, "Kontakter pr. uge"),
        h(
          "thead",
          {},
          h("tr", {}, ["Uge", "Fra", "Opnået", "Forsøg", "Alarmer"].map((title) => h("th", { scope: "col" }, title))),
        ),
        h(
          "tbody",
          {},
          weeks.map((week) =>
            h(
              "tr",
              {},
              h("th", { scope: "row" }, String(isoWeek(week.start))),
              h("td", {}, formatDate(week.start)),
              h("td", { class: "num" }, String(week.reached)),
              h("td", { class: "num" }, String(week.attempts)),
              h("td", { class: "num" }, String(week.alerts.length)),
            ),
          ),
        ),
      ),
    ),
  );
}
