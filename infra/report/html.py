"""One self-contained ``index.html`` for the evaluators' report.

The page works offline and without scripts: the charts are inline SVG, the styles are
inline, the fonts are the reader's own. Every value on it is passed in by the caller (no
generation time, no host name), and every piece of text is HTML-escaped, so the same
``ReportPage`` always gives the same bytes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from html import escape
from itertools import islice

__all__ = [
    "Cell",
    "Chart",
    "ReportPage",
    "Section",
    "Table",
    "cell_text",
    "render_page",
]

Cell = str | int | float | date | None
"""One value in a table: text, a number, a date, or missing (``None``, an empty cell)."""

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


def _check_name(name: str, what: str) -> str:
    if not _NAME.fullmatch(name) or name.endswith("."):
        raise ValueError(
            f"{what} name {name!r} must be a file stem of letters, digits, '_', '-' and '.'"
        )
    return name


@dataclass(frozen=True)
class Chart:
    """A chart: ``name`` is the file stem of ``charts/<name>.svg``, ``svg`` its text."""

    name: str
    svg: str
    caption: str

    def __post_init__(self) -> None:
        _check_name(self.name, "chart")


@dataclass(frozen=True)
class Table:
    """A table: ``name`` is the file stem of ``<name>.csv``, which holds every row."""

    name: str
    header: Sequence[str]
    rows: Sequence[Sequence[Cell]]
    caption: str

    def __post_init__(self) -> None:
        _check_name(self.name, "table")
        if not isinstance(self.rows, list | tuple):
            return  # rows streamed from elsewhere: checked as they are written
        for number, row in enumerate(self.rows, start=1):
            if len(row) != len(self.header):
                raise ValueError(
                    f"table {self.name!r}: row {number} has {len(row)} cells, "
                    f"the header {len(self.header)}"
                )


@dataclass(frozen=True)
class Section:
    """A part of the report: a title, a short introduction, its charts and tables.

    The introduction is plain text; a blank line starts a new paragraph.
    """

    title: str
    intro: str
    charts: Sequence[Chart] = ()
    tables: Sequence[Table] = ()


@dataclass(frozen=True)
class ReportPage:
    """Everything the page shows, as plain values.

    ``mode`` says which time the replay followed (e.g. "by occurred" or "by recorded");
    ``pseudonyms_note`` is the footer's short explanation of how the pseudonyms work.
    Each table shows its first ``preview_rows`` rows and links to its full CSV file.
    """

    title: str
    study: str
    as_of: date | str
    mode: str
    events_replayed: int
    sections: Sequence[Section]
    pseudonyms_note: str
    preview_rows: int = 10

    def __post_init__(self) -> None:
        if self.preview_rows < 0:
            raise ValueError("preview_rows must not be negative")
        for kind, names in (("chart", self.chart_names()), ("table", self.table_names())):
            seen: set[str] = set()
            for name in names:
                if name in seen:
                    raise ValueError(f"two {kind}s are named {name!r}")
                seen.add(name)

    def charts(self) -> list[Chart]:
        return [chart for section in self.sections for chart in section.charts]

    def tables(self) -> list[Table]:
        return [table for section in self.sections for table in section.tables]

    def chart_names(self) -> list[str]:
        return [chart.name for chart in self.charts()]

    def table_names(self) -> list[str]:
        return [table.name for table in self.tables()]


def cell_text(value: Cell) -> str:
    """A cell as text, the same in the CSV file and on the page.

    ``None`` is empty, booleans are ``true``/``false``, dates are ISO 8601, floats use
    Python's shortest round-trip form (callers round them first). NaN and infinities are
    refused: a missing figure is ``None``.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"a table cell must be finite or None, got {value!r}")
        return repr(value + 0.0)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _e(text: str) -> str:
    return escape(text, quote=True)


def _paragraphs(text: str, css_class: str = "") -> list[str]:
    attribute = f' class="{css_class}"' if css_class else ""
    blocks = [" ".join(block.split()) for block in re.split(r"\n\s*\n", text.strip())]
    return [f"<p{attribute}>{_e(block)}</p>" for block in blocks if block]


def _slugs(titles: Iterable[str], taken: Iterable[str]) -> list[str]:
    """An id per section from its title, unique on the page."""
    slugs: list[str] = []
    used = set(taken)
    for title in titles:
        base = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "section"
        slug, n = base, 2
        while slug in used or f"{slug}-title" in used:
            slug, n = f"{base}-{n}", n + 1
        slugs.append(slug)
        used |= {slug, f"{slug}-title"}
    return slugs


def _chart(chart: Chart) -> list[str]:
    return [
        f'<figure id="chart-{_e(chart.name)}">',
        chart.svg.strip(),
        f"<figcaption>{_e(chart.caption)}"
        f' <a class="file" href="charts/{_e(chart.name)}.svg">SVG</a></figcaption>',
        "</figure>",
    ]


def _is_number(value: Cell) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_NUM = ' class="num"'


def _table(table: Table, preview: int) -> list[str]:
    # Only the preview is read: a table may stream millions of rows from a store.
    rows = list(islice(table.rows, preview))
    numeric = [
        bool(rows) and all(_is_number(row[i]) or row[i] is None for row in rows)
        for i in range(len(table.header))
    ]
    html = [
        f'<div class="table" id="table-{_e(table.name)}">',
        "<table>",
        f"<caption>{_e(table.caption)}</caption>",
        "<thead><tr>"
        + "".join(
            f'<th scope="col"{_NUM if numeric[i] else ""}>{_e(name)}</th>'
            for i, name in enumerate(table.header)
        )
        + "</tr></thead>",
        "<tbody>",
    ]
    for row in rows:
        html.append(
            "<tr>"
            + "".join(
                f"<td{_NUM if numeric[i] else ''}>{_e(cell_text(cell))}</td>"
                for i, cell in enumerate(row)
            )
            + "</tr>"
        )
    if not rows:
        html.append(f'<tr><td colspan="{max(len(table.header), 1)}">No rows.</td></tr>')
    html += ["</tbody>", "</table>"]
    total = len(table.rows)
    shown = (
        f"All {total:,} rows." if total <= preview else f"The first {preview:,} of {total:,} rows."
    )
    html.append(
        f'<p class="more">{shown} <a class="file" href="{_e(table.name)}.csv">'
        f"Full table as CSV ({_e(table.name)}.csv)</a></p>"
    )
    html.append("</div>")
    return html


def render_page(page: ReportPage) -> str:
    """The whole ``index.html``, as text with ``\\n`` line ends."""
    taken = ["contents"]
    taken += [f"chart-{name}" for name in page.chart_names()]
    taken += [f"table-{name}" for name in page.table_names()]
    slugs = _slugs((section.title for section in page.sections), taken)
    as_of = page.as_of.isoformat() if isinstance(page.as_of, date) else page.as_of
    html = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="color-scheme" content="light">',
        f"<title>{_e(page.title)} \u2014 {_e(page.study)}, as of {_e(as_of)}</title>",
        f"<style>\n{_CSS.strip()}\n</style>",
        "</head>",
        "<body>",
        "<header>",
        f"<h1>{_e(page.title)}</h1>",
        '<dl class="facts">',
        f"<div><dt>Study</dt><dd>{_e(page.study)}</dd></div>",
        f"<div><dt>As of</dt><dd>{_e(as_of)}</dd></div>",
        f"<div><dt>Replayed</dt><dd>{_e(page.mode)}</dd></div>",
        f"<div><dt>Events replayed</dt><dd>{page.events_replayed:,}</dd></div>",
        "</dl>",
        "</header>",
    ]
    if page.sections:
        html += ['<nav aria-labelledby="contents">', '<h2 id="contents">Contents</h2>', "<ol>"]
        html += [
            f'<li><a href="#{slug}">{_e(section.title)}</a></li>'
            for slug, section in zip(slugs, page.sections, strict=True)
        ]
        html += ["</ol>", "</nav>"]
    html.append("<main>")
    for slug, section in zip(slugs, page.sections, strict=True):
        html.append(f'<section id="{slug}" aria-labelledby="{slug}-title">')
        html.append(f'<h2 id="{slug}-title">{_e(section.title)}</h2>')
        html += _paragraphs(section.intro, "intro")
        for chart in section.charts:
            html += _chart(chart)
        for table in section.tables:
            html += _table(table, page.preview_rows)
        html.append("</section>")
    html.append("</main>")
    html += [
        "<footer>",
        "<h2>About the pseudonyms</h2>",
        *_paragraphs(page.pseudonyms_note),
        "</footer>",
        "</body>",
        "</html>",
    ]
    return "\n".join(html) + "\n"


_CSS = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
html { background: #ffffff; }
body {
  margin: 0 auto; padding: 2rem 1.5rem 3rem; max-width: 1100px;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  font-size: 16px; line-height: 1.55; color: #1a1a1a; background: #ffffff;
}
a { color: #0b57a4; }
a:focus-visible { outline: 3px solid #E69F00; outline-offset: 2px; }
h1 { font-size: 2rem; line-height: 1.2; margin: 0 0 1rem; }
h2 { font-size: 1.45rem; line-height: 1.25; margin: 0 0 0.75rem; }
header { border-bottom: 3px solid #0072B2; padding-bottom: 1.25rem; margin-bottom: 1.5rem; }
.facts { display: flex; flex-wrap: wrap; gap: 0.75rem 2.5rem; margin: 0; }
.facts div { min-width: 8rem; }
.facts dt { font-size: 0.8rem; text-transform: uppercase; letter-spacing: 0.06em; color: #555; }
.facts dd { margin: 0; font-size: 1.1rem; font-weight: 600; font-variant-numeric: tabular-nums; }
nav { background: #f4f6f8; border-radius: 6px; padding: 1rem 1.5rem; margin-bottom: 2rem; }
nav h2 { font-size: 1rem; margin: 0 0 0.4rem; }
nav ol { margin: 0; padding-left: 1.4rem; columns: 2 18rem; }
section { padding-top: 1.5rem; margin-bottom: 2.5rem; border-top: 1px solid #d0d7de; }
.intro { max-width: 46rem; }
figure { margin: 1.5rem 0; overflow-x: auto; }
figure svg { display: block; width: 100%; min-width: 540px; max-width: 860px; height: auto; }
figcaption { max-width: 46rem; margin-top: 0.4rem; color: #444; font-size: 0.92rem; }
.file { font-size: 0.85rem; white-space: nowrap; }
.table { margin: 1.5rem 0; overflow-x: auto; }
table { border-collapse: collapse; font-size: 0.92rem; font-variant-numeric: tabular-nums; }
caption { caption-side: top; text-align: left; font-weight: 600; padding-bottom: 0.4rem; }
th, td { padding: 0.35rem 0.8rem; text-align: left; border-bottom: 1px solid #e1e4e8; }
th { border-bottom: 2px solid #444; vertical-align: bottom; }
tbody tr:nth-child(even) { background: #f7f8fa; }
.num { text-align: right; }
.more { margin: 0.4rem 0 0; font-size: 0.9rem; color: #444; }
footer { margin-top: 3rem; padding-top: 1.25rem; border-top: 3px solid #0072B2; color: #333; }
footer h2 { font-size: 1.1rem; }
footer p { max-width: 46rem; }
@media print {
  body { max-width: none; padding: 0; font-size: 11pt; }
  nav { display: none; }
  section { break-before: auto; }
  figure, .table, tr { break-inside: avoid; }
  figure { overflow: visible; }
  figure svg { min-width: 0; }
  h2 { break-after: avoid; }
  a { color: inherit; text-decoration: none; }
  .file { display: none; }
}
"""
