"""The evaluators' report: SVG charts, the HTML page and the files, all deterministic."""

from __future__ import annotations

import csv
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pytest

from infra.report import (
    MONTH_MARKS,
    Chart,
    ReportPage,
    Section,
    Table,
    bar_chart,
    cell_text,
    line_chart,
    nice_ticks,
    render_page,
    step_chart,
    write_csv,
    write_report,
)

SVG = "{http://www.w3.org/2000/svg}"

KM = {
    "School to youth education": [(0.0, 1.0), (30.0, 0.95), (120.0, 0.9), (300.0, 0.8)],
    "Benefit to education": [(0.0, 1.0), (60.0, 0.85), (200.0, 0.7)],
}


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def by_class(root: ET.Element, tag: str, css_class: str) -> list[ET.Element]:
    return [e for e in root.iter(SVG + tag) if css_class in e.get("class", "").split()]


def a_page(*, rows: int = 25, title: str = "Outcomes report") -> ReportPage:
    survival = step_chart(
        KM, title="Still in education", x_label="Days", y_label="Share", x_marks=MONTH_MARKS
    )
    contacts = bar_chart(
        ["SMS", "Phone", "Meeting"],
        {"Office": [0.1, 0.3, 0.9], "Home": [0.0, 0.05, 0.35]},
        title="Contacts per person-week",
        x_label="Channel",
        y_label="Contacts",
    )
    cohorts = line_chart(
        ["2016 Q1", "2016 Q2", "2016 Q3"],
        {"Referred": [12, 18, None]},
        title="Cohorts",
        x_label="Quarter",
        y_label="Young people",
    )
    return ReportPage(
        title=title,
        study="aalborg-2016",
        as_of=date(2018, 6, 30),
        mode="by occurred",
        events_replayed=1_234_567,
        pseudonyms_note="Pseudonyms are made for this study alone.",
        sections=[
            Section(
                "Staying in education",
                "Kaplan-Meier estimate.\n\nSecond paragraph.",
                charts=[Chart("survival", survival, "By transition kind.")],
                tables=[
                    Table(
                        "survival",
                        ["kind", "day", "share"],
                        [(kind, int(x), y) for kind, points in KM.items() for x, y in points],
                        "Survival per day.",
                    )
                ],
            ),
            Section(
                "Contacts & cohorts",
                "Contact is the work.",
                charts=[
                    Chart("contacts", contacts, "Reached contacts."),
                    Chart("cohorts", cohorts, "Per quarter."),
                ],
                tables=[
                    Table(
                        "people",
                        ["pseudonym", "cohort", "weeks"],
                        [(f"P-{i:04d}", "2016 Q1", i * 1.5) for i in range(rows)],
                        "One row per young person.",
                    )
                ],
            ),
        ],
    )


# --- SVG ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "svg",
    [
        step_chart(KM, title="t", x_label="x", y_label="y", x_marks=MONTH_MARKS),
        bar_chart(["a", "b"], {"s": [1.0, 2.0]}, title="t", x_label="x", y_label="y"),
        bar_chart(
            ["a"], {"s": [1.0], "u": [2.0]}, title="t", x_label="x", y_label="y", stacked=True
        ),
        line_chart(["a", "b"], {"s": [1.0, None]}, title="t", x_label="x", y_label="y"),
        step_chart({}, title="t", x_label="x", y_label="y"),
    ],
    ids=["step", "bars", "stacked", "line", "empty"],
)
def test_every_chart_is_accessible_standalone_svg(svg: str) -> None:
    root = parse(svg)

    assert root.tag == SVG + "svg"
    assert root.get("role") == "img"
    title = root.find(SVG + "title")
    desc = root.find(SVG + "desc")
    assert title is not None and title.text == "t"
    assert desc is not None and desc.text
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    assert root.get("viewBox") == f"0 0 {root.get('width')} {root.get('height')}"
    assert svg.endswith("</svg>\n")


def test_a_step_chart_draws_one_step_per_point_after_the_first() -> None:
    root = parse(step_chart(KM, title="t", x_label="x", y_label="y"))

    paths = by_class(root, "path", "step")
    assert [p.get("d", "").count("H") for p in paths] == [3, 2]
    assert [p.get("d", "").count("V") for p in paths] == [3, 2]
    series = [g.get("data-series") for g in by_class(root, "g", "series")]
    assert series == list(KM)


def test_a_step_chart_shows_proportions_as_percent_up_to_100() -> None:
    root = parse(step_chart(KM, title="t", x_label="x", y_label="y"))

    ticks = [t.text for t in by_class(root, "g", "y")[0].iter(SVG + "text")]
    assert ticks == ["0%", "20%", "40%", "60%", "80%", "100%", "y"]


def test_month_marks_inside_the_axis_are_labelled_and_those_beyond_left_out() -> None:
    root = parse(step_chart(KM, title="t", x_label="x", y_label="y", x_marks=MONTH_MARKS))

    labels = [t.text for g in by_class(root, "g", "mark") for t in g.iter(SVG + "text")]
    assert labels == ["3 months", "6 months"]  # the data end at 300 days

    longer = parse(
        step_chart(KM, title="t", x_label="x", y_label="y", x_max=730, x_marks=MONTH_MARKS)
    )
    assert len(by_class(longer, "g", "mark")) == 3


def test_a_single_point_is_drawn_as_a_dot() -> None:
    root = parse(step_chart({"one": [(0.0, 1.0)]}, title="t", x_label="x", y_label="y"))

    assert by_class(root, "path", "step") == []
    assert len(by_class(root, "circle", "end")) == 1


def test_a_grouped_bar_chart_draws_one_bar_per_value_zeros_included() -> None:
    root = parse(
        bar_chart(
            ["a", "b", "c"],
            {"s": [1.0, 0.0, 3.0], "u": [2.0, 2.0, 0.0]},
            title="t",
            x_label="x",
            y_label="y",
        )
    )

    bars = by_class(root, "rect", "bar")
    assert len(bars) == 6
    assert [b.get("height") for b in bars].count("0") == 2
    tips = [b.findtext(SVG + "title") for b in bars]
    assert tips[0] == "s \u00b7 a: 1"


def test_stacked_bars_sit_on_top_of_each_other() -> None:
    root = parse(
        bar_chart(
            ["a"], {"s": [1.0], "u": [3.0]}, title="t", x_label="x", y_label="y", stacked=True
        )
    )

    lower, upper = by_class(root, "rect", "bar")
    assert float(upper.get("y", "")) + float(upper.get("height", "")) == pytest.approx(
        float(lower.get("y", "")), abs=0.01
    )
    assert float(upper.get("height", "")) == pytest.approx(3 * float(lower.get("height", "")), 0.01)
    totals = [t.text for g in by_class(root, "g", "totals") for t in g.iter(SVG + "text")]
    assert totals == ["4"]


def test_a_line_chart_leaves_a_gap_for_missing_values() -> None:
    root = parse(
        line_chart(
            ["q1", "q2", "q3", "q4", "q5"],
            {"s": [1.0, 2.0, None, 4.0, 5.0]},
            title="t",
            x_label="x",
            y_label="y",
        )
    )

    assert len(by_class(root, "path", "line")) == 2
    assert len(by_class(root, "circle", "point")) == 4


@pytest.mark.parametrize(
    "svg",
    [
        step_chart({}, title="t", x_label="x", y_label="y"),
        step_chart({"s": []}, title="t", x_label="x", y_label="y"),
        bar_chart([], {}, title="t", x_label="x", y_label="y"),
        bar_chart(["a"], {}, title="t", x_label="x", y_label="y"),
        line_chart(["a"], {"s": [None]}, title="t", x_label="x", y_label="y"),
    ],
)
def test_no_data_gives_a_chart_that_says_so(svg: str) -> None:
    root = parse(svg)

    assert len(by_class(root, "rect", "no-data")) == 1
    assert "No data" in [t.text for t in root.iter(SVG + "text")]


def test_all_zeros_and_one_category_still_give_an_axis() -> None:
    root = parse(bar_chart(["a"], {"s": [0.0]}, title="t", x_label="x", y_label="y"))

    assert len(by_class(root, "rect", "bar")) == 1
    ticks = [t.text for t in by_class(root, "g", "y")[0].iter(SVG + "text")]
    assert ticks == ["0", "1", "y"]


def test_labels_are_escaped() -> None:
    nasty = 'A <b>&</b> "quoted" \x01 label'
    svg = bar_chart(
        [nasty], {nasty: [1.0], "other": [2.0]}, title=nasty, x_label=nasty, y_label=nasty
    )

    root = parse(svg)
    assert root.findtext(SVG + "title") == 'A <b>&</b> "quoted"  label'
    assert "<b>" not in svg
    assert by_class(root, "g", "series")[0].get("data-series") == 'A <b>&</b> "quoted"  label'


def test_long_category_labels_are_shortened_and_keep_the_whole_text_as_a_tooltip() -> None:
    categories = [
        f"Vocational college number {i} in the region of North Jutland" for i in range(12)
    ]
    root = parse(bar_chart(categories, {"s": [1.0] * 12}, title="t", x_label="x", y_label="y"))

    labels = list(by_class(root, "g", "x")[0].iter(SVG + "text"))
    assert labels and all("rotate(-40" in label.get("transform", "") for label in labels)
    assert all(label.text and label.text.endswith("\u2026") for label in labels)
    assert labels[-1].findtext(SVG + "title") == categories[-1]


def test_many_series_all_get_a_legend_entry_and_lines_beyond_the_palette_are_dashed() -> None:
    series = {f"s{i}": [float(i), float(i + 1)] for i in range(12)}
    root = parse(line_chart(["a", "b"], series, title="t", x_label="x", y_label="y"))

    legend = [t.text for g in by_class(root, "g", "legend") for t in g.iter(SVG + "text")]
    assert legend == list(series)
    dashed = [p.get("stroke-dasharray") for p in by_class(root, "path", "line")]
    assert dashed[:8] == [None] * 8 and all(dashed[8:])


def test_ids_are_derived_from_the_content() -> None:
    one = step_chart(KM, title="one", x_label="x", y_label="y")
    other = step_chart(KM, title="other", x_label="x", y_label="y")

    assert one == step_chart(KM, title="one", x_label="x", y_label="y")
    assert parse(one).get("aria-labelledby") != parse(other).get("aria-labelledby")


def test_mismatched_lengths_and_non_finite_values_are_refused() -> None:
    with pytest.raises(ValueError, match="2 values for 3 categories"):
        bar_chart(["a", "b", "c"], {"s": [1.0, 2.0]}, title="t", x_label="x", y_label="y")
    with pytest.raises(ValueError, match="finite"):
        step_chart({"s": [(0.0, float("nan"))]}, title="t", x_label="x", y_label="y")


def test_coordinates_have_at_most_two_decimals() -> None:
    svg = step_chart(
        {"s": [(0.0, 1.0), (1 / 3, 2 / 3), (10 / 7, 1 / 7)]}, title="t", x_label="x", y_label="y"
    )

    attributes = re.findall(r'="([^"]*)"', svg)
    assert [a for a in attributes if re.search(r"\d\.\d{3}", a)] == []


@pytest.mark.parametrize(
    ("low", "high", "ticks"),
    [
        (0, 1, (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)),
        (0, 390, (0.0, 100.0, 200.0, 300.0, 400.0)),
        (0, 0, (0.0, 1.0)),
        (0, 7, (0.0, 2.0, 4.0, 6.0, 8.0)),
        (-3.25, 12, (-5.0, 0.0, 5.0, 10.0, 15.0)),
        (0, 0.3, (0.0, 0.1, 0.2, 0.3)),
    ],
)
def test_ticks_are_round_numbers(low: float, high: float, ticks: tuple[float, ...]) -> None:
    assert nice_ticks(low, high) == ticks


# --- HTML --------------------------------------------------------------------------------


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.ids: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name == "href" and value:
                self.hrefs.append(value)
            if name == "id" and value:
                self.ids.append(value)


def links(html: str) -> Links:
    parser = Links()
    parser.feed(html)
    parser.close()
    return parser


def test_the_page_works_offline_and_without_scripts() -> None:
    html = render_page(a_page())
    parsed = links(html)

    assert "script" not in parsed.tags
    assert not [h for h in parsed.hrefs if re.match(r"[a-z]+:", h) or h.startswith("//")]
    assert "http://www.w3.org/2000/svg" in html  # the only URL: the SVG namespace
    assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", html)


def test_the_page_header_carries_the_values_passed_in() -> None:
    html = render_page(a_page())

    assert "<dt>Study</dt><dd>aalborg-2016</dd>" in html
    assert "<dt>As of</dt><dd>2018-06-30</dd>" in html
    assert "<dt>Replayed</dt><dd>by occurred</dd>" in html
    assert "<dt>Events replayed</dt><dd>1,234,567</dd>" in html


def test_the_contents_link_every_section_and_ids_are_unique() -> None:
    parsed = links(render_page(a_page()))

    assert parsed.hrefs[:2] == ["#staying-in-education", "#contacts-cohorts"]
    assert len(parsed.ids) == len(set(parsed.ids))
    assert {"staying-in-education", "contacts-cohorts"} <= set(parsed.ids)


def test_text_is_escaped_on_the_page() -> None:
    html = render_page(a_page(title="<script>alert('x')</script> & more"))

    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; more" in html
    assert '<h2 id="contacts-cohorts-title">Contacts &amp; cohorts</h2>' in html


def test_a_table_shows_its_first_rows_and_says_how_many_there_are() -> None:
    html = render_page(a_page(rows=25))

    assert html.count("<td>P-") == 10
    assert "The first 10 of 25 rows." in html
    assert "All 7 rows." in html
    assert '<td class="num">1.5</td>' in html


def test_duplicate_and_unsafe_names_are_refused() -> None:
    with pytest.raises(ValueError, match="file stem"):
        Table("../etc", ["a"], [], "c")
    with pytest.raises(ValueError, match="two tables"):
        ReportPage(
            title="t",
            study="s",
            as_of="2018-01-01",
            mode="by recorded",
            events_replayed=0,
            pseudonyms_note="",
            sections=[Section("a", "", tables=[Table("x", ["a"], [], "c")] * 2)],
        )
    with pytest.raises(ValueError, match="row 1 has 2 cells"):
        Table("x", ["a"], [(1, 2)], "c")


def test_cells_are_written_the_same_way_everywhere() -> None:
    assert [cell_text(v) for v in (None, True, 3, 0.1, -0.0, date(2018, 1, 2), "x")] == [
        "",
        "true",
        "3",
        "0.1",
        "0.0",
        "2018-01-02",
        "x",
    ]
    with pytest.raises(ValueError, match="finite or None"):
        cell_text(float("inf"))


# --- files -------------------------------------------------------------------------------


def test_write_csv_is_utf8_without_bom_and_with_newlines(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "t.csv", ["name", "n"], [('Søren, "S"', 1), ("b", None)])

    assert path.read_bytes() == 'name,n\n"Søren, ""S""",1\nb,\n'.encode()


def test_the_report_links_every_csv_and_svg_it_writes(tmp_path: Path) -> None:
    paths = write_report(tmp_path, a_page())

    assert paths == sorted(paths)
    assert [p.relative_to(tmp_path).as_posix() for p in paths] == [
        "charts/cohorts.svg",
        "charts/contacts.svg",
        "charts/survival.svg",
        "index.html",
        "people.csv",
        "survival.csv",
    ]
    hrefs = set(links((tmp_path / "index.html").read_text("utf-8")).hrefs)
    for path in paths:
        if path.suffix in (".csv", ".svg"):
            assert path.relative_to(tmp_path).as_posix() in hrefs
    for svg in (tmp_path / "charts").iterdir():
        parse(svg.read_text("utf-8"))
    with (tmp_path / "people.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["pseudonym", "cohort", "weeks"] and len(rows) == 26


def test_the_same_page_gives_byte_identical_files(tmp_path: Path) -> None:
    first = write_report(tmp_path / "one", a_page())
    second = write_report(tmp_path / "two", a_page())

    def contents(root: Path, paths: Sequence[Path]) -> dict[str, bytes]:
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in paths}

    assert contents(tmp_path / "one", first) == contents(tmp_path / "two", second)
    assert all(b"\r" not in p.read_bytes() for p in first)
    assert not any(p.read_bytes().startswith(b"\xef\xbb\xbf") for p in first)


def test_x_max_cuts_the_curves_and_y_max_never_cuts_data_off() -> None:
    root = parse(step_chart(KM, title="t", x_label="x", y_label="y", x_max=100))

    paths = [p.get("d", "") for p in by_class(root, "path", "step")]
    assert [d.count("H") for d in paths] == [2, 2]  # 0, 30, then held to 100; 0, 60, 100
    bars = parse(bar_chart(["a"], {"s": [7.0]}, title="t", x_label="x", y_label="y", y_max=5))
    ticks = [t.text for t in by_class(bars, "g", "y")[0].iter(SVG + "text")]
    assert ticks[-2] == "8"


def test_section_ids_never_clash_with_other_ids_on_the_page() -> None:
    chart = Chart("survival", step_chart(KM, title="t", x_label="x", y_label="y"), "c")
    page = ReportPage(
        title="t",
        study="s",
        as_of="2018-01-01",
        mode="by recorded",
        events_replayed=0,
        pseudonyms_note="",
        sections=[
            Section("Contents", ""),
            Section("Chart survival", "", charts=[chart]),
            Section("Chart: survival!", ""),
        ],
    )

    parsed = links(render_page(page))

    assert parsed.hrefs[:3] == ["#contents-2", "#chart-survival-2", "#chart-survival-3"]
    assert len(parsed.ids) == len(set(parsed.ids))
