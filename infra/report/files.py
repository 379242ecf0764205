"""Writing the report to a directory, byte for byte the same for the same input.

Text goes out as UTF-8 without a byte-order mark and with ``\\n`` line ends on every
platform. The directory is not emptied first: give ``write_report`` a fresh directory (or
the same one for the same report) so no file of an earlier, different report stays beside
the new ones.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path

from infra.report.html import Cell, ReportPage, cell_text, render_page

__all__ = ["write_csv", "write_report"]


def _write_text(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))
    return path


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> Path:
    """Write one CSV file (UTF-8, no BOM, ``\\n`` line ends) and return its path.

    The rows are written as they come, so a table of millions of rows is never held in
    memory; a row with another number of cells than the header is refused."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(header)
        for number, row in enumerate(rows, start=1):
            if len(row) != len(header):
                raise ValueError(
                    f"{path.name}: row {number} has {len(row)} cells, the header {len(header)}"
                )
            writer.writerow([cell_text(cell) for cell in row])
    return path


def write_report(out_dir: Path, page: ReportPage) -> list[Path]:
    """Write ``index.html``, ``charts/<name>.svg`` and ``<name>.csv``; the paths, sorted."""
    written = [_write_text(out_dir / "index.html", render_page(page))]
    for chart in page.charts():
        svg = chart.svg if chart.svg.endswith("\n") else chart.svg + "\n"
        written.append(_write_text(out_dir / "charts" / f"{chart.name}.svg", svg))
    for table in page.tables():
        written.append(write_csv(out_dir / f"{table.name}.csv", table.header, table.rows))
    return sorted(written)
