"""Standalone SVG charts for the evaluators' report, written by hand and deterministic.

Each function returns the text of one ``<svg>`` element that reads well both inline in an
HTML page and as a ``.svg`` file of its own. The same arguments always give the same bytes:
coordinates are printed with at most two decimals, nothing is random and nothing reads the
clock. Element ids (needed for ``aria-labelledby``) are derived from a hash of the chart's
own text, so two different charts on one page never share an id.

The charts are meant to be looked at by researchers, and printed:

- colours from the Okabe-Ito palette (safe for the common colour-vision deficiencies), in
  an order that keeps the first few series far apart; past eight series the colours repeat
  with dashed lines (line charts) or lighter fills (bar charts);
- axis ticks on round numbers, axis labels, a legend when there is more than one series,
  a white background, no styles that could leak into the page that embeds them;
- a ``<title>`` and a ``<desc>`` (generated from the data unless given), ``role="img"``;
  every bar and point carries a ``<title>`` with its exact value, shown on hover;
- long labels are shortened with an ellipsis and keep the whole text in a ``<title>``;
  crowded category labels are rotated, then thinned out;
- no data gives a chart that says so, rather than an error.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

__all__ = [
    "MONTH_MARKS",
    "PALETTE",
    "bar_chart",
    "line_chart",
    "nice_ticks",
    "step_chart",
]

# Okabe & Ito (2008), "Color Universal Design": blue, orange, bluish green, vermillion,
# reddish purple, sky blue, yellow, black. Blue and orange first: the pair most people,
# whatever their colour vision, tell apart, and both still distinct when printed in grey.
PALETTE: tuple[str, ...] = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#D55E00",
    "#CC79A7",
    "#56B4E9",
    "#F0E442",
    "#000000",
)
_DASHES: tuple[str, ...] = ("", "7 4", "2 3", "9 3 2 3")

# Reference lines for survival curves whose x axis counts days since the start.
MONTH_MARKS: tuple[tuple[float, str], ...] = (
    (91.0, "3 months"),
    (182.0, "6 months"),
    (365.0, "12 months"),
)

_WIDTH = 720
_PLOT_HEIGHT = 260
_PAD = 16
_FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
_INK = "#1a1a1a"
_MUTED = "#555555"
_GRID = "#dddddd"
_AXIS = "#444444"
_TITLE_SIZE = 16
_TEXT_SIZE = 12
_SMALL_SIZE = 11
_ID = "\x00id\x00"  # replaced by the content hash; \x00 cannot survive _clean_text
_LABEL_CHARS = 28
_LEGEND_CHARS = 40
_SIN40 = math.sin(math.radians(40))
_COS40 = math.cos(math.radians(40))

# Characters XML 1.0 does not allow, even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


# --- small helpers -----------------------------------------------------------------------


def _clean_text(text: str) -> str:
    return _NOT_XML.sub("", text)


def _esc(text: str) -> str:
    """Text or attribute content, escaped for XML and for HTML alike."""
    return escape(_clean_text(text), quote=True)


def _f(value: float) -> str:
    """A coordinate: at most two decimals, no trailing zeros, never ``-0``."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _fmt(value: float, *, percent: bool = False, decimals: int = 4) -> str:
    """A number for people: thousands separated, trailing zeros dropped."""
    if percent:
        value *= 100
    text = f"{value:,.{decimals}f}".rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    return text + "%" if percent else text


def _text_width(text: str, size: float) -> float:
    """A fair estimate of the width of ``text`` in a sans-serif font of ``size`` pixels."""
    return len(text) * size * 0.56


def _shorten(text: str, limit: int) -> tuple[str, bool]:
    if len(text) <= limit:
        return text, False
    return text[: max(limit - 1, 1)].rstrip() + "\u2026", True


def _label(text: str, limit: int) -> str:
    """Text content, shortened to ``limit`` characters; the whole text stays in a title."""
    short, cut = _shorten(text, limit)
    return _esc(short) + (f"<title>{_esc(text)}</title>" if cut else "")


def _finite(value: float, what: str) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{what} must be a finite number, got {value!r}")
    return number


def _style(index: int) -> tuple[str, str, bool]:
    """Colour, dash pattern and whether the fill is lighter, for the series at ``index``."""
    colour = PALETTE[index % len(PALETTE)]
    round_ = index // len(PALETTE)
    return colour, _DASHES[round_ % len(_DASHES)], round_ % 2 == 1


def _name_list(names: Sequence[str]) -> str:
    if len(names) <= 8:
        return ", ".join(names)
    return ", ".join(names[:8]) + f" and {len(names) - 8} more"


def nice_ticks(low: float, high: float, target: int = 5) -> tuple[float, ...]:
    """Round tick values (steps of 1, 2, 2.5 or 5 times a power of ten) covering low..high."""
    low, high = _finite(low, "low"), _finite(high, "high")
    if high < low:
        low, high = high, low
    if high == low == 0:
        return (0.0, 1.0)
    if high == low:
        high = low + abs(low)
    raw = (high - low) / max(target, 1)
    magnitude = 10.0 ** math.floor(math.log10(raw))
    step = 10 * magnitude
    for multiple in (1.0, 2.0, 2.5, 5.0, 10.0):
        if multiple * magnitude >= raw * (1 - 1e-9):
            step = multiple * magnitude
            break
    start = math.floor(low / step + 1e-9)
    end = math.ceil(high / step - 1e-9)
    return tuple(round(i * step, 10) + 0.0 for i in range(start, end + 1))


@dataclass(frozen=True)
class _Linear:
    d0: float
    d1: float
    r0: float
    r1: float

    def __call__(self, value: float) -> float:
        if self.d1 == self.d0:
            return (self.r0 + self.r1) / 2
        return self.r0 + (value - self.d0) * (self.r1 - self.r0) / (self.d1 - self.d0)


@dataclass(frozen=True)
class _Frame:
    """Where things go: the plot area and the page around it."""

    top: float
    left: float
    right: float
    bottom: float


# --- the parts every chart shares --------------------------------------------------------


def _finish(parts: list[str], *, height: float, title: str, desc: str) -> str:
    head = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_WIDTH}" height="{_f(height)}"'
        f' viewBox="0 0 {_WIDTH} {_f(height)}" role="img"'
        f' aria-labelledby="{_ID}-title {_ID}-desc"'
        f' font-family="{_esc(_FONT)}" font-size="{_TEXT_SIZE}" fill="{_INK}">',
        f'<title id="{_ID}-title">{_esc(title)}</title>',
        f'<desc id="{_ID}-desc">{_esc(desc)}</desc>',
        f'<rect class="background" width="{_WIDTH}" height="{_f(height)}" fill="#ffffff"/>',
    ]
    text = "\n".join([*head, *parts, "</svg>"]) + "\n"
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
    return text.replace(_ID, f"svg-{digest}")


def _title(title: str) -> list[str]:
    limit = int((_WIDTH - 2 * _PAD) / (_TITLE_SIZE * 0.6))
    return [
        f'<text class="chart-title" x="{_PAD}" y="{_PAD + _TITLE_SIZE}"'
        f' font-size="{_TITLE_SIZE}" font-weight="600">{_label(title, limit)}</text>'
    ]


def _legend(names: Sequence[str], *, top: float, kind: str) -> tuple[list[str], float]:
    """The legend (one row or more, wrapped), and the y where it ends."""
    if len(names) < 2:
        return [], top
    parts = ['<g class="legend">']
    x, y, row = float(_PAD), top, 18.0
    for index, name in enumerate(names):
        short, _ = _shorten(name, _LEGEND_CHARS)
        width = 18 + 6 + _text_width(short, _TEXT_SIZE) + 16
        if x + width > _WIDTH - _PAD and x > _PAD:
            x, y = float(_PAD), y + row
        colour, dash, light = _style(index)
        middle = y + row / 2
        if kind == "bar":
            opacity = ' fill-opacity="0.45"' if light else ""
            swatch = (
                f'<rect x="{_f(x + 3)}" y="{_f(middle - 6)}" width="12" height="12"'
                f' fill="{colour}"{opacity} stroke="{colour}"/>'
            )
        else:
            dashes = f' stroke-dasharray="{dash}"' if dash else ""
            swatch = (
                f'<line x1="{_f(x)}" y1="{_f(middle)}" x2="{_f(x + 18)}" y2="{_f(middle)}"'
                f' stroke="{colour}" stroke-width="3"{dashes}/>'
            )
        parts.append(
            f"{swatch}<text"
            f' x="{_f(x + 24)}" y="{_f(middle + 4)}">{_label(name, _LEGEND_CHARS)}</text>'
        )
        x += width
    parts.append("</g>")
    return parts, y + row


def _top_of_plot(names: Sequence[str], *, kind: str, marks: bool) -> tuple[list[str], float]:
    """The legend under the title, and the y where the plot area starts."""
    legend, legend_bottom = _legend(names, top=_PAD + _TITLE_SIZE + 10, kind=kind)
    return legend, legend_bottom + 14 + (16 if marks else 0)


def _y_axis(
    ticks: Sequence[float], scale: _Linear, frame: _Frame, *, label: str, percent: bool
) -> list[str]:
    parts = ['<g class="axis y">']
    for tick in ticks:
        y = _f(scale(tick))
        parts.append(
            f'<line x1="{_f(frame.left)}" y1="{y}" x2="{_f(frame.right)}" y2="{y}"'
            f' stroke="{_GRID}" stroke-width="1"/>'
            f'<text x="{_f(frame.left - 8)}" y="{y}" dy="0.32em" text-anchor="end"'
            f' fill="{_MUTED}">{_esc(_fmt(tick, percent=percent))}</text>'
        )
    middle = _f((frame.top + frame.bottom) / 2)
    parts.append(
        f'<text class="axis-label" x="{_PAD + 4}" y="{middle}" dy="0.7em"'
        f' transform="rotate(-90 {_PAD + 4} {middle})" text-anchor="middle"'
        f' font-weight="600">{_label(label, 45)}</text>'
    )
    parts.append("</g>")
    return parts


def _left_margin(ticks: Sequence[float], *, percent: bool) -> float:
    widest = max((_text_width(_fmt(t, percent=percent), _TEXT_SIZE) for t in ticks), default=0)
    return _PAD + 22 + widest + 10


def _baseline(frame: _Frame, y: float) -> str:
    return (
        f'<line class="baseline" x1="{_f(frame.left)}" y1="{_f(y)}" x2="{_f(frame.right)}"'
        f' y2="{_f(y)}" stroke="{_AXIS}" stroke-width="1"/>'
    )


def _x_label(frame: _Frame, label: str, y: float) -> str:
    return (
        f'<text class="axis-label" x="{_f((frame.left + frame.right) / 2)}" y="{_f(y)}"'
        f' text-anchor="middle" font-weight="600">{_label(label, 80)}</text>'
    )


def _no_data(title: str, kind: str, x_label: str, y_label: str, desc: str | None) -> str:
    top = _PAD + _TITLE_SIZE + 16
    height = top + 150 + _PAD
    box = _Frame(top=top, left=_PAD, right=_WIDTH - _PAD, bottom=top + 150)
    parts = [
        *_title(title),
        f'<rect class="no-data" x="{_f(box.left)}" y="{_f(box.top)}"'
        f' width="{_f(box.right - box.left)}" height="{_f(box.bottom - box.top)}"'
        f' fill="#f7f7f7" stroke="{_GRID}" stroke-dasharray="4 3"/>',
        f'<text x="{_f(_WIDTH / 2)}" y="{_f(box.top + 75)}" text-anchor="middle"'
        f' dy="0.32em" font-size="15" fill="{_MUTED}">No data</text>',
    ]
    text = desc or f"{kind} of {y_label} by {x_label}: there is no data to show."
    return _finish(parts, height=height, title=title, desc=text)


# --- step chart (survival curves) --------------------------------------------------------


def step_chart(
    series: Mapping[str, Sequence[tuple[float, float]]],
    *,
    title: str,
    x_label: str,
    y_label: str,
    y_max: float | None = None,
    x_max: float | None = None,
    x_marks: Sequence[tuple[float, str]] = (),
    y_percent: bool = True,
    desc: str | None = None,
) -> str:
    """Step functions such as Kaplan-Meier survival curves.

    Each series is a sequence of ``(x, y)`` points; the curve holds ``y`` from its ``x``
    until the next point's ``x`` and ends at the last point. Points are sorted by ``x``.
    With ``y_percent`` (the default) y is a proportion shown as a percentage and the axis
    runs from 0 to ``y_max`` (1.0 unless given). ``x_marks`` are labelled vertical reference
    lines, e.g. ``MONTH_MARKS``; marks outside the x axis are left out. ``x_max`` fixes the
    end of the x axis, so charts of different dates can be compared (curves are cut there).
    ``y_max`` (like the ``y_max`` of the other charts) raises the top of the axis; it never
    cuts data off.
    """
    curves = {
        name: sorted(
            (_finite(x, f"x of {name!r}"), _finite(y, f"y of {name!r}")) for x, y in points
        )
        for name, points in series.items()
    }
    if x_max is not None:
        curves = {name: _clip(points, x_max) for name, points in curves.items()}
    if not any(curves.values()):
        return _no_data(title, "Step chart", x_label, y_label, desc)
    names = list(curves)
    xs = [x for points in curves.values() for x, _ in points]
    ys = [y for points in curves.values() for _, y in points]
    x_end = max(xs) if x_max is None else x_max
    if x_end <= min(0.0, *xs) and x_marks:
        x_end = max(x for x, _ in x_marks)  # one point at the start: show the marks anyway
    x_ticks = nice_ticks(min(0.0, *xs), max(*xs, x_end), 6)
    if x_max is not None:
        x_ticks = tuple(t for t in x_ticks if t <= x_max) or x_ticks
    x_low, x_high = x_ticks[0], (x_max if x_max is not None else x_ticks[-1])
    natural_top = 1.0 if y_percent and max(ys) <= 1.0 else max(ys)
    y_top = natural_top if y_max is None else max(y_max, *ys)
    y_ticks = nice_ticks(min(0.0, *ys), y_top, 5)
    if y_percent and y_top == 1.0 and min(ys) >= 0:
        y_ticks = tuple(t for t in y_ticks if t <= 1.0)
    marks = [(x, text) for x, text in x_marks if x_low <= x <= x_high]

    parts = _title(title)
    legend, top = _top_of_plot(names, kind="line", marks=bool(marks))
    parts += legend
    left = _left_margin(y_ticks, percent=y_percent)
    frame = _Frame(top=top, left=left, right=_WIDTH - _PAD - 8, bottom=top + _PLOT_HEIGHT)
    x_scale = _Linear(x_low, x_high, frame.left, frame.right)
    y_scale = _Linear(y_ticks[0], y_ticks[-1], frame.bottom, frame.top)
    parts += _y_axis(y_ticks, y_scale, frame, label=y_label, percent=y_percent)
    parts += _x_ticks_numeric(x_ticks, x_scale, frame, x_high)
    parts.append(_baseline(frame, y_scale(max(y_ticks[0], 0.0))))
    for x, text in marks:
        px = _f(x_scale(x))
        parts.append(
            f'<g class="mark"><line x1="{px}" y1="{_f(frame.top - 4)}" x2="{px}"'
            f' y2="{_f(frame.bottom)}" stroke="{_MUTED}" stroke-width="1"'
            f' stroke-dasharray="3 3"/><text x="{px}" y="{_f(frame.top - 8)}"'
            f' text-anchor="middle" font-size="{_SMALL_SIZE}" fill="{_MUTED}">'
            f"{_label(text, 20)}</text></g>"
        )
    for index, name in enumerate(names):
        parts += _step_series(index, name, curves[name], x_scale, y_scale, y_percent)
    bottom = frame.bottom + 22 + 22
    parts.append(_x_label(frame, x_label, frame.bottom + 40))
    height = bottom + _PAD
    text = desc or (
        f"Step chart of {len(names)} series ({_name_list(names)}). Horizontal axis: {x_label}, "
        f"{_fmt(x_low)} to {_fmt(x_high)}. Vertical axis: {y_label}, "
        f"{_fmt(y_ticks[0], percent=y_percent)} to {_fmt(y_ticks[-1], percent=y_percent)}."
        + (" Reference lines at " + ", ".join(t for _, t in marks) + "." if marks else "")
    )
    return _finish(parts, height=height, title=title, desc=text)


def _clip(points: Sequence[tuple[float, float]], x_max: float) -> list[tuple[float, float]]:
    """The curve up to ``x_max``; a curve that went on holds its value to the edge."""
    kept = [(x, y) for x, y in points if x <= x_max]
    if kept and len(kept) < len(points) and kept[-1][0] < x_max:
        kept.append((x_max, kept[-1][1]))
    return kept


def _x_ticks_numeric(
    ticks: Sequence[float], scale: _Linear, frame: _Frame, high: float
) -> list[str]:
    parts = ['<g class="axis x">']
    for tick in ticks:
        if tick > high:
            continue
        x = _f(scale(tick))
        parts.append(
            f'<line x1="{x}" y1="{_f(frame.bottom)}" x2="{x}" y2="{_f(frame.bottom + 5)}"'
            f' stroke="{_AXIS}"/><text x="{x}" y="{_f(frame.bottom + 18)}"'
            f' text-anchor="middle" fill="{_MUTED}">{_esc(_fmt(tick))}</text>'
        )
    parts.append("</g>")
    return parts


def _step_series(
    index: int,
    name: str,
    points: Sequence[tuple[float, float]],
    x_scale: _Linear,
    y_scale: _Linear,
    percent: bool,
) -> list[str]:
    colour, dash, _ = _style(index)
    dashes = f' stroke-dasharray="{dash}"' if dash else ""
    parts = [f'<g class="series" data-series="{_esc(name)}">']
    if not points:
        return [*parts, "</g>"]
    x0, y0 = points[0]
    path = [f"M{_f(x_scale(x0))},{_f(y_scale(y0))}"]
    for x, y in points[1:]:
        path.append(f"H{_f(x_scale(x))}V{_f(y_scale(y))}")
    if len(points) > 1:
        parts.append(
            f'<path class="step" d="{" ".join(path)}" fill="none" stroke="{colour}"'
            f' stroke-width="2.5" stroke-linejoin="round"{dashes}>'
            f"<title>{_esc(name)}</title></path>"
        )
    last_x, last_y = points[-1]
    parts.append(
        f'<circle class="end" cx="{_f(x_scale(last_x))}" cy="{_f(y_scale(last_y))}" r="3.5"'
        f' fill="{colour}" stroke="#ffffff" stroke-width="1"><title>'
        f"{_esc(name)}: {_esc(_fmt(last_y, percent=percent, decimals=1))}"
        f" at {_esc(_fmt(last_x, decimals=2))}</title></circle>"
    )
    parts.append("</g>")
    return parts


# --- categorical x axis (bars and lines) -------------------------------------------------


@dataclass(frozen=True)
class _Categories:
    """How the category labels fit under the plot: straight, wrapped, or rotated and thinned."""

    mode: str  # "straight", "wrapped" or "rotated"
    lines: tuple[tuple[str, ...], ...]  # the wrapped lines of each label
    every: int  # label every n-th category only (rotated labels that are still crowded)
    depth: float  # height the labels take below the plot


def _wrap(label: str, width: float, max_lines: int = 3) -> tuple[str, ...] | None:
    """``label`` broken between words into lines narrower than ``width``, if it can be."""
    lines: list[str] = []
    current = ""
    for word in label.split():
        if _text_width(word, _TEXT_SIZE) > width:
            return None
        candidate = f"{current} {word}" if current else word
        if _text_width(candidate, _TEXT_SIZE) <= width:
            current = candidate
        else:
            lines.append(current)
            current = word
    lines.append(current)
    return tuple(lines) if len(lines) <= max_lines else None


def _fit_categories(labels: Sequence[str], band: float) -> _Categories:
    room = band - 6
    if all(_text_width(label, _TEXT_SIZE) <= room for label in labels):
        return _Categories("straight", tuple((label,) for label in labels), 1, 22)
    wrapped = [_wrap(label, room) for label in labels]
    if all(lines is not None for lines in wrapped):
        lines = tuple(lines for lines in wrapped if lines is not None)
        deepest = max(len(label_lines) for label_lines in lines)
        return _Categories("wrapped", lines, 1, 26 + (deepest - 1) * 14)
    longest = min(max((len(label) for label in labels), default=0), _LABEL_CHARS)
    # Labels rotated by 40 degrees stand band * sin(40) apart; they need a line height.
    every = max(1, math.ceil((_TEXT_SIZE * 1.3) / max(band * _SIN40, 1e-9)))
    depth = 12 + _text_width("x" * longest, _TEXT_SIZE) * _SIN40 + _TEXT_SIZE
    return _Categories("rotated", tuple((label,) for label in labels), every, depth)


def _category_axis(
    labels: Sequence[str], centres: Sequence[float], frame: _Frame, fit: _Categories
) -> list[str]:
    parts = ['<g class="axis x">']
    for index, (label, x) in enumerate(zip(labels, centres, strict=True)):
        if index % fit.every:
            continue
        tick = (
            f'<line x1="{_f(x)}" y1="{_f(frame.bottom)}" x2="{_f(x)}"'
            f' y2="{_f(frame.bottom + 5)}" stroke="{_AXIS}"/>'
        )
        if fit.mode == "rotated":
            y = _f(frame.bottom + 14)
            # Short enough not to run off the left edge of the picture.
            room = int((x - 4) / (_TEXT_SIZE * 0.56 * _COS40))
            parts.append(
                f'{tick}<text x="{_f(x)}" y="{y}" text-anchor="end"'
                f' transform="rotate(-40 {_f(x)} {y})" fill="{_MUTED}">'
                f"{_label(label, max(min(_LABEL_CHARS, room), 4))}</text>"
            )
        else:
            lines = "".join(
                f'<tspan x="{_f(x)}" dy="{0 if n == 0 else 14}">{_esc(line)}</tspan>'
                for n, line in enumerate(fit.lines[index])
            )
            parts.append(
                f'{tick}<text x="{_f(x)}" y="{_f(frame.bottom + 18)}" text-anchor="middle"'
                f' fill="{_MUTED}">{lines}</text>'
            )
    parts.append("</g>")
    return parts


def _check_lengths(categories: Sequence[str], series: Mapping[str, Sequence[object]]) -> None:
    for name, values in series.items():
        if len(values) != len(categories):
            raise ValueError(
                f"series {name!r} has {len(values)} values for {len(categories)} categories"
            )


# --- bar chart ---------------------------------------------------------------------------


def bar_chart(
    categories: Sequence[str],
    series: Mapping[str, Sequence[float]],
    *,
    title: str,
    x_label: str,
    y_label: str,
    stacked: bool = False,
    y_max: float | None = None,
    y_percent: bool = False,
    desc: str | None = None,
) -> str:
    """Bars per category, one per series side by side (grouped) or on top of each other.

    ``series`` maps a series name to one value per category, in the order of
    ``categories``. A histogram is a bar chart with one series and the bins as categories.
    Every value gives one ``<rect class="bar">`` (a zero gives one of height zero); exact
    values are shown on the bars while there is room, and always in each bar's tooltip.
    """
    _check_lengths(categories, series)
    values = {
        name: [_finite(v, f"value of {name!r}") for v in vals] for name, vals in series.items()
    }
    if not categories or not values:
        return _no_data(title, "Bar chart", x_label, y_label, desc)
    names = list(values)
    if stacked:
        highs = [sum(max(v[i], 0.0) for v in values.values()) for i in range(len(categories))]
        lows = [sum(min(v[i], 0.0) for v in values.values()) for i in range(len(categories))]
    else:
        highs = [max(0.0, *(v[i] for v in values.values())) for i in range(len(categories))]
        lows = [min(0.0, *(v[i] for v in values.values())) for i in range(len(categories))]
    top_value = max(highs) if y_max is None else max(y_max, *highs)
    y_ticks = nice_ticks(min(lows), top_value, 5)

    parts = _title(title)
    legend, top = _top_of_plot(names, kind="bar", marks=False)
    parts += legend
    left = _left_margin(y_ticks, percent=y_percent)
    right = _WIDTH - _PAD - 8
    band = (right - left) / len(categories)
    fit = _fit_categories(categories, band)
    frame = _Frame(top=top, left=left, right=right, bottom=top + _PLOT_HEIGHT)
    y_scale = _Linear(y_ticks[0], y_ticks[-1], frame.bottom, frame.top)
    parts += _y_axis(y_ticks, y_scale, frame, label=y_label, percent=y_percent)
    centres = [left + band * (i + 0.5) for i in range(len(categories))]
    parts += _category_axis(categories, centres, frame, fit)

    group = min(band * (0.62 if stacked else 0.8), 56.0 * (1 if stacked else len(names)))
    bar = group if stacked else group / len(names)
    zero = y_scale(0.0)
    bar_count = len(categories) * (1 if stacked else len(names))
    # Values on the bars only when every one of them fits above its own bar.
    widest_value = max(
        _text_width(_fmt(v, percent=y_percent, decimals=2), _SMALL_SIZE)
        for vals in values.values()
        for v in vals
    )
    label_bars = not stacked and bar_count <= 30 and widest_value <= bar + 2
    for index, name in enumerate(names):
        colour, _, light = _style(index)
        opacity = ' fill-opacity="0.45"' if light else ""
        parts.append(f'<g class="series" data-series="{_esc(name)}">')
        for i, value in enumerate(values[name]):
            if stacked:
                below = [values[n][i] for n in names[:index]]
                base = sum(v for v in below if (v >= 0) == (value >= 0))
                y0, y1 = y_scale(base), y_scale(base + value)
                x = centres[i] - bar / 2
            else:
                y0, y1 = zero, y_scale(value)
                x = centres[i] - group / 2 + index * bar
            y, height = min(y0, y1), abs(y1 - y0)
            tip = f"{name} \u00b7 {categories[i]}: {_fmt(value, percent=y_percent, decimals=2)}"
            parts.append(
                f'<rect class="bar" x="{_f(x)}" y="{_f(y)}" width="{_f(bar)}"'
                f' height="{_f(height)}" fill="{colour}"{opacity} stroke="#ffffff"'
                f' stroke-width="0.5"><title>{_esc(tip)}</title></rect>'
            )
            if label_bars:
                text = _fmt(value, percent=y_percent, decimals=2)
                ty = y - 4 if value >= 0 else y + height + 12
                parts.append(
                    f'<text class="value" x="{_f(x + bar / 2)}" y="{_f(ty)}"'
                    f' text-anchor="middle" font-size="{_SMALL_SIZE}"'
                    f' fill="{_INK}">{_esc(text)}</text>'
                )
        parts.append("</g>")
    if stacked and len(categories) <= 24 and band >= 30:
        parts.append('<g class="totals">')
        for i, total in enumerate(highs):
            parts.append(
                f'<text class="value" x="{_f(centres[i])}" y="{_f(y_scale(total) - 4)}"'
                f' text-anchor="middle" font-size="{_SMALL_SIZE}" font-weight="600">'
                f"{_esc(_fmt(total, percent=y_percent, decimals=2))}</text>"
            )
        parts.append("</g>")
    parts.append(_baseline(frame, zero))
    label_y = frame.bottom + fit.depth + 16
    parts.append(_x_label(frame, x_label, label_y))
    height = label_y + 6 + _PAD
    text = desc or (
        f"{'Stacked' if stacked else 'Grouped'} bar chart of {len(names)} series "
        f"({_name_list(names)}) over {len(categories)} categories of {x_label}"
        f" ({_name_list(list(categories))}). Vertical axis: {y_label}, "
        f"{_fmt(y_ticks[0], percent=y_percent)} to {_fmt(y_ticks[-1], percent=y_percent)}."
    )
    return _finish(parts, height=height, title=title, desc=text)


# --- line chart --------------------------------------------------------------------------


def line_chart(
    x_labels: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    *,
    title: str,
    x_label: str,
    y_label: str,
    y_max: float | None = None,
    y_percent: bool = False,
    desc: str | None = None,
) -> str:
    """Lines over ordered categories such as quarters; ``None`` leaves a gap in the line.

    Each value gives one ``<circle class="point">`` with its exact value as a tooltip.
    """
    _check_lengths(x_labels, series)
    values = {
        name: [None if v is None else _finite(v, f"value of {name!r}") for v in vals]
        for name, vals in series.items()
    }
    present = [v for vals in values.values() for v in vals if v is not None]
    if not x_labels or not present:
        return _no_data(title, "Line chart", x_label, y_label, desc)
    names = list(values)
    y_ticks = nice_ticks(
        min(0.0, *present), max(present if y_max is None else [*present, y_max]), 5
    )

    parts = _title(title)
    legend, top = _top_of_plot(names, kind="line", marks=False)
    parts += legend
    left = _left_margin(y_ticks, percent=y_percent)
    right = _WIDTH - _PAD - 8
    band = (right - left) / len(x_labels)
    fit = _fit_categories(x_labels, band)
    frame = _Frame(top=top, left=left, right=right, bottom=top + _PLOT_HEIGHT)
    y_scale = _Linear(y_ticks[0], y_ticks[-1], frame.bottom, frame.top)
    parts += _y_axis(y_ticks, y_scale, frame, label=y_label, percent=y_percent)
    centres = [left + band * (i + 0.5) for i in range(len(x_labels))]
    parts += _category_axis(x_labels, centres, frame, fit)
    parts.append(_baseline(frame, y_scale(max(y_ticks[0], 0.0))))
    radius = 3.5 if len(x_labels) <= 40 else 2.0
    for index, name in enumerate(names):
        colour, dash, _ = _style(index)
        dashes = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(f'<g class="series" data-series="{_esc(name)}">')
        runs: list[list[str]] = [[]]
        for x, value in zip(centres, values[name], strict=True):
            if value is None:
                runs.append([])
            else:
                runs[-1].append(f"{_f(x)},{_f(y_scale(value))}")
        for run in runs:
            if len(run) > 1:
                parts.append(
                    f'<path class="line" d="M{" L".join(run)}" fill="none" stroke="{colour}"'
                    f' stroke-width="2.5" stroke-linejoin="round"{dashes}/>'
                )
        for i, (x, value) in enumerate(zip(centres, values[name], strict=True)):
            if value is None:
                continue
            tip = f"{name} \u00b7 {x_labels[i]}: {_fmt(value, percent=y_percent, decimals=2)}"
            parts.append(
                f'<circle class="point" cx="{_f(x)}" cy="{_f(y_scale(value))}"'
                f' r="{_f(radius)}" fill="{colour}" stroke="#ffffff" stroke-width="1">'
                f"<title>{_esc(tip)}</title></circle>"
            )
        parts.append("</g>")
    label_y = frame.bottom + fit.depth + 16
    parts.append(_x_label(frame, x_label, label_y))
    height = label_y + 6 + _PAD
    text = desc or (
        f"Line chart of {len(names)} series ({_name_list(names)}) over {len(x_labels)} "
        f"values of {x_label}, from {x_labels[0]} to {x_labels[-1]}. Vertical axis: "
        f"{y_label}, {_fmt(y_ticks[0], percent=y_percent)} to "
        f"{_fmt(y_ticks[-1], percent=y_percent)}."
    )
    return _finish(parts, height=height, title=title, desc=text)
