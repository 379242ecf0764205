"""The evaluators' outcomes report: charts (SVG), one HTML page and CSV files.

Standard library only, deterministic (the same input gives byte-identical files), and
offline (no scripts, no fonts or styles from the network)::

    page = ReportPage(title=..., study=..., as_of=..., mode=..., events_replayed=...,
                      sections=[Section(title, intro, charts=[Chart(name, step_chart(...),
                      caption)], tables=[Table(name, header, rows, caption)])],
                      pseudonyms_note=...)
    write_report(out_dir, page)
"""

from infra.report.files import write_csv, write_report
from infra.report.html import Cell, Chart, ReportPage, Section, Table, cell_text, render_page
from infra.report.svg import MONTH_MARKS, PALETTE, bar_chart, line_chart, nice_ticks, step_chart

__all__ = [
    "MONTH_MARKS",
    "PALETTE",
    "Cell",
    "Chart",
    "ReportPage",
    "Section",
    "Table",
    "bar_chart",
    "cell_text",
    "line_chart",
    "nice_ticks",
    "render_page",
    "step_chart",
    "write_csv",
    "write_report",
]
