"""Charts drawn on the server as SVG: no JavaScript, the same drawing on the page and in the PDF.

Every chart sits above a table of the same figures, and none relies on colour
alone: each bar carries its figure as text, stacked segments also differ by
pattern (in legend order), and each segment has a ``<title>`` read out by
screen readers. Only SVG presentation attributes are used (no inline CSS), so
the Content Security Policy needs no exceptions.
"""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import escape

from markupsafe import Markup

from .tables import whole_percent

FONT = 'font-family="Arial, Helvetica, sans-serif"'
TEXT = "#0b0c0c"
GRID = "#b1b4b6"
#: patterns laid over the colours, one per level in legend order
PATTERNS = ["", "dots", "diagonal", "cross"]


def _attr(text: str) -> str:
    return escape(str(text), {'"': "&quot;"})


def _patterns(prefix: str) -> str:
    return (
        "<defs>"
        f'<pattern id="{prefix}-dots" width="6" height="6" patternUnits="userSpaceOnUse">'
        '<circle cx="3" cy="3" r="1.2" fill="#ffffff"/></pattern>'
        f'<pattern id="{prefix}-diagonal" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="2" height="6" fill="#ffffff"/></pattern>'
        f'<pattern id="{prefix}-cross" width="6" height="6" patternUnits="userSpaceOnUse">'
        '<path d="M0 0L6 6M6 0L0 6" stroke="#ffffff" stroke-width="1.2"/></pattern>'
        "</defs>"
    )


def _wrap(text: str, width: int, lines_at_most: int = 2) -> list[str]:
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    if len(lines) <= lines_at_most:
        return lines
    return [*lines[: lines_at_most - 1], lines[lines_at_most - 1][: width - 1] + "\u2026"]


def stacked_bars(
    chart_id: str,
    title: str,
    bars: Sequence[tuple[str, Sequence[tuple[str, int]]]],
    colours: dict[str, str],
    *,
    as_share: bool = True,
) -> Markup:
    """Horizontal bars, one per row, split into segments (label, count).

    ``as_share``: each bar fills the width (shares of its total); otherwise bars
    are scaled to the largest total. Each segment is labelled with its share or
    count where there is room, and always in its ``<title>``.
    """
    labels = [label for label, _ in (bars[0][1] if bars else [])]
    label_w, plot_w, bar_h, gap = 230, 460, 26, 14
    width = label_w + plot_w + 20
    # the legend runs on to another line where it would pass the right edge
    placed, x, line = [], label_w, 0
    for label in labels:
        item_w = 26 + int(len(label) * 7.2) + 12
        if x > label_w and x + item_w - 12 > width:
            x, line = label_w, line + 1
        placed.append((label, x, 8 + line * 22))
        x += item_w
    top = 34 + line * 22
    height = top + len(bars) * (bar_h + gap) + 20
    largest = max([sum(n for _, n in segs) for _, segs in bars] + [1])
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{round(width * 1.3)}" '
        f'role="img" aria-labelledby="{chart_id}-title" class="app-chart" {FONT}>',
        f'<title id="{chart_id}-title">{escape(title)} (figures in the table below)</title>',
        _patterns(chart_id),
    ]
    # legend
    for index, (label, x, y) in enumerate(placed):
        parts.append(_swatch(chart_id, x, y, colours.get(label, "#505a5f"), index))
        parts.append(f'<text x="{x + 20}" y="{y + 12}" font-size="13" fill="{TEXT}">{escape(label)}</text>')
    for row, (name, segments) in enumerate(bars):
        y = top + row * (bar_h + gap)
        for line_no, line in enumerate(_wrap(name, 34)):
            parts.append(
                f'<text x="{label_w - 8}" y="{y + 11 + line_no * 14}" font-size="12" text-anchor="end" '
                f'fill="{TEXT}">{escape(line)}</text>'
            )
        total = sum(n for _, n in segments)
        if total == 0:
            parts.append(f'<text x="{label_w + 4}" y="{y + 17}" font-size="12" fill="{TEXT}">No answers</text>')
            continue
        scale = plot_w / total if as_share else plot_w / largest
        x = float(label_w)
        for index, (label, count) in enumerate(segments):
            if not count:
                continue
            w = count * scale
            figure = f"{whole_percent(count * 100 / total)}%" if as_share else str(count)
            colour = colours.get(label, "#505a5f")
            parts.append(
                f"<g><title>{escape(name)}: {escape(label)} {count} of {total} ({whole_percent(count * 100 / total)}%)</title>"
                f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{_attr(colour)}"/>'
            )
            if PATTERNS[index % len(PATTERNS)]:
                parts.append(
                    f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_h}" '
                    f'fill="url(#{chart_id}-{PATTERNS[index % len(PATTERNS)]})" opacity="0.45"/>'
                )
            if w >= 34:
                parts.append(
                    f'<rect x="{x + w / 2 - 16:.1f}" y="{y + 5}" width="32" height="16" rx="3" fill="#ffffff"/>'
                    f'<text x="{x + w / 2:.1f}" y="{y + 17}" font-size="12" text-anchor="middle" '
                    f'fill="{TEXT}">{figure}</text>'
                )
            parts.append("</g>")
            x += w
    parts.append("</svg>")
    # Every text and attribute above is escaped: the markup is ours.
    return Markup("".join(parts))  # noqa: S704  # nosec B704


def _swatch(prefix: str, x: int, y: int, colour: str, index: int) -> str:
    pattern = PATTERNS[index % len(PATTERNS)]
    overlay = (
        f'<rect x="{x}" y="{y}" width="16" height="16" fill="url(#{prefix}-{pattern})" opacity="0.45"/>'
        if pattern
        else ""
    )
    return f'<rect x="{x}" y="{y}" width="16" height="16" fill="{_attr(colour)}"/>{overlay}'


def bars(
    chart_id: str, title: str, rows: Sequence[tuple[str, float | None, str]], *, maximum: float = 100.0, unit: str = "%"
) -> Markup:
    """Horizontal bars of one figure per row: (name, value or None, caption such as "9 of 20")."""
    label_w, plot_w, bar_h, gap, top = 230, 380, 22, 12, 10
    height = top + len(rows) * (bar_h + gap) + 10
    width = label_w + plot_w + 150
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{round(width * 1.3)}" '
        f'role="img" aria-labelledby="{chart_id}-title" class="app-chart" {FONT}>',
        f'<title id="{chart_id}-title">{escape(title)} (figures in the table below)</title>',
        f'<line x1="{label_w}" y1="{top - 4}" x2="{label_w}" y2="{height - 8}" stroke="{GRID}"/>',
    ]
    for row, (name, value, caption) in enumerate(rows):
        y = top + row * (bar_h + gap)
        for line_no, line in enumerate(_wrap(name, 34)):
            parts.append(
                f'<text x="{label_w - 8}" y="{y + 10 + line_no * 13}" font-size="12" text-anchor="end" '
                f'fill="{TEXT}">{escape(line)}</text>'
            )
        if value is None:
            parts.append(f'<text x="{label_w + 6}" y="{y + 15}" font-size="12" fill="{TEXT}">{escape(caption)}</text>')
            continue
        w = max(0.0, min(value, maximum)) * plot_w / maximum
        parts.append(
            f"<g><title>{escape(name)}: {whole_percent(value)}{unit} ({escape(caption)})</title>"
            f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="#1d70b8"/>'
            f'<text x="{label_w + w + 6:.1f}" y="{y + 15}" font-size="12" fill="{TEXT}">'
            f"{whole_percent(value)}{unit} ({escape(caption)})</text></g>"
        )
    parts.append("</svg>")
    # Every text and attribute above is escaped: the markup is ours.
    return Markup("".join(parts))  # noqa: S704  # nosec B704


def columns(chart_id: str, title: str, points: Sequence[tuple[str, float | None, str]]) -> Markup:
    """Vertical columns of a share (0-100 %) per point in time: (label, value or None, caption)."""
    left, plot_h, top, col_w, gap = 44, 200, 16, 64, 56
    width = max(360, left + max(1, len(points)) * (col_w + gap) + 20)
    height = top + plot_h + 80
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{round(width * 1.3)}" '
        f'role="img" aria-labelledby="{chart_id}-title" class="app-chart" {FONT}>',
        f'<title id="{chart_id}-title">{escape(title)} (figures in the table below)</title>',
    ]
    for tick in (0, 25, 50, 75, 100):
        y = top + plot_h - tick * plot_h / 100
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - 10}" y2="{y:.1f}" stroke="{GRID}" stroke-width="0.6"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end" fill="{TEXT}">{tick}%</text>'
        )
    for index, (label, value, caption) in enumerate(points):
        x = left + gap / 2 + index * (col_w + gap)
        if value is not None:
            h = max(0.0, min(value, 100.0)) * plot_h / 100
            parts.append(
                f"<g><title>{escape(label)}: {whole_percent(value)}% ({escape(caption)})</title>"
                f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{col_w}" height="{h:.1f}" fill="#1d70b8"/>'
                f'<text x="{x + col_w / 2:.1f}" y="{top + plot_h - h - 4:.1f}" font-size="12" text-anchor="middle" '
                f'fill="{TEXT}">{whole_percent(value)}%</text></g>'
            )
        else:
            parts.append(
                f'<text x="{x + col_w / 2:.1f}" y="{top + plot_h - 4}" font-size="11" text-anchor="middle" '
                f'fill="{TEXT}">none</text>'
            )
        for line_no, line in enumerate(_wrap(label, 20, 4)):
            parts.append(
                f'<text x="{x + col_w / 2:.1f}" y="{top + plot_h + 16 + line_no * 13}" font-size="11" '
                f'text-anchor="middle" fill="{TEXT}">{escape(line)}</text>'
            )
    parts.append("</svg>")
    # Every text and attribute above is escaped: the markup is ours.
    return Markup("".join(parts))  # noqa: S704  # nosec B704


#: heatmap bands of a share, lightest first: (lowest share in the band, fill, text colour on it).
#: Each text colour has a contrast of at least 4.5:1 on its fill, and every cell prints its figure.
HEAT = [
    (0.0, "#f3f8fc", TEXT),
    (25.0, "#bcd5ea", TEXT),
    (50.0, "#5694ca", TEXT),
    (75.0, "#003078", "#ffffff"),
]
NO_FIGURE = "#ffffff"


def _band(value: float) -> tuple[float, str, str]:
    return [band for band in HEAT if value >= band[0]][-1]


def heatmap(
    chart_id: str,
    title: str,
    columns: Sequence[str],
    rows: Sequence[tuple[str, Sequence[tuple[float | None, str]]]],
    *,
    empty: str = "none",
) -> Markup:
    """A grid of shares (0-100 %): one row per ``rows`` entry (name, cells), one column per ``columns``
    heading; each cell is (share or None, caption such as "9 of 20"). The darker the cell, the higher the
    share, and the share is printed in it; a cell without one reads ``empty``."""
    label_w, cell_w, cell_h, head_h, legend_h = 230, 120, 34, 72, 40
    # wide enough for the legend (four bands, then the empty cell's words) however few the columns
    legend_w = len(HEAT) * 92 + 30 + int(len(empty) * 7.5)
    width = label_w + max(max(1, len(columns)) * cell_w, legend_w) + 20
    height = legend_h + head_h + len(rows) * cell_h + 12
    top = legend_h + head_h
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{round(width * 1.3)}" '
        f'role="img" aria-labelledby="{chart_id}-title" class="app-chart" {FONT}>',
        f'<title id="{chart_id}-title">{escape(title)} (figures in the table below)</title>',
    ]
    # legend: the four bands
    x = label_w
    for index, (low, fill, _ink) in enumerate(HEAT):
        high = HEAT[index + 1][0] - 1 if index + 1 < len(HEAT) else 100
        parts.append(
            f'<rect x="{x}" y="8" width="16" height="16" fill="{fill}" stroke="{GRID}"/>'
            f'<text x="{x + 22}" y="21" font-size="12" fill="{TEXT}">{whole_percent(low)}\u2013{whole_percent(high)}%</text>'
        )
        x += 92
    parts.append(
        f'<rect x="{x}" y="8" width="16" height="16" fill="{NO_FIGURE}" stroke="{GRID}"/>'
        f'<text x="{x + 22}" y="21" font-size="12" fill="{TEXT}">{escape(empty)}</text>'
    )
    for index, heading in enumerate(columns):
        cx = label_w + index * cell_w + cell_w / 2
        lines = _wrap(heading, 18, 4)
        for line_no, line in enumerate(lines):
            y = legend_h + head_h - 8 - (len(lines) - 1 - line_no) * 14
            parts.append(
                f'<text x="{cx:.1f}" y="{y}" font-size="12" text-anchor="middle" fill="{TEXT}">{escape(line)}</text>'
            )
    for row, (name, cells) in enumerate(rows):
        y = top + row * cell_h
        lines = _wrap(name, 34)
        for line_no, line in enumerate(lines):
            offset = cell_h / 2 + 4 - (len(lines) - 1) * 7 + line_no * 14
            parts.append(
                f'<text x="{label_w - 8}" y="{y + offset:.1f}" font-size="12" text-anchor="end" '
                f'fill="{TEXT}">{escape(line)}</text>'
            )
        for index, (value, caption) in enumerate(cells):
            x0 = label_w + index * cell_w
            heading = columns[index] if index < len(columns) else ""
            if value is None:
                fill, ink, figure = NO_FIGURE, TEXT, empty
                said = f"{escape(name)}, {escape(heading)}: {escape(empty)}"
            else:
                _low, fill, ink = _band(whole_percent(value))
                figure = f"{whole_percent(value)}%"
                said = f"{escape(name)}, {escape(heading)}: {figure} ({escape(caption)})"
            parts.append(
                f"<g><title>{said}</title>"
                f'<rect x="{x0 + 1}" y="{y + 1}" width="{cell_w - 2}" height="{cell_h - 2}" fill="{fill}" '
                f'stroke="{GRID}" stroke-width="0.6"/>'
                f'<text x="{x0 + cell_w / 2:.1f}" y="{y + cell_h / 2 + 4:.1f}" font-size="12" text-anchor="middle" '
                f'fill="{ink}">{escape(figure)}</text></g>'
            )
    parts.append("</svg>")
    # Every text and attribute above is escaped: the markup is ours.
    return Markup("".join(parts))  # noqa: S704  # nosec B704


def paired_columns(
    chart_id: str,
    title: str,
    series: Sequence[str],
    points: Sequence[tuple[str, Sequence[tuple[float | None, str]]]],
) -> Markup:
    """Columns of a share (0-100 %) per point in time, one beside the other for each of ``series`` (such
    as the agencies' grades and the panel's): (label, [(value or None, caption) per series]). The series
    differ by colour and pattern, and each column carries its figure."""
    colours = ["#1d70b8", "#505a5f"]
    left, plot_h, top, col_w, inner, gap = 44, 200, 40, 44, 4, 48
    group_w = len(series) * col_w + (len(series) - 1) * inner
    width = max(420, left + max(1, len(points)) * (group_w + gap) + 20)
    height = top + plot_h + 80
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{round(width * 1.3)}" '
        f'role="img" aria-labelledby="{chart_id}-title" class="app-chart" {FONT}>',
        f'<title id="{chart_id}-title">{escape(title)} (figures in the tables below)</title>',
        _patterns(chart_id),
    ]
    x = left
    for index, name in enumerate(series):
        parts.append(_swatch(chart_id, x, 8, colours[index % len(colours)], index * 2))
        parts.append(f'<text x="{x + 20}" y="20" font-size="13" fill="{TEXT}">{escape(name)}</text>')
        x += 26 + int(len(name) * 7.2) + 16
    for tick in (0, 25, 50, 75, 100):
        y = top + plot_h - tick * plot_h / 100
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - 10}" y2="{y:.1f}" stroke="{GRID}" stroke-width="0.6"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end" fill="{TEXT}">{tick}%</text>'
        )
    for index, (label, values) in enumerate(points):
        gx = left + gap / 2 + index * (group_w + gap)
        for s_index, (value, caption) in enumerate(values):
            x0 = gx + s_index * (col_w + inner)
            name = series[s_index] if s_index < len(series) else ""
            if value is None:
                parts.append(
                    f"<g><title>{escape(label)}, {escape(name)}: {escape(caption)}</title>"
                    f'<text x="{x0 + col_w / 2:.1f}" y="{top + plot_h - 4}" font-size="11" text-anchor="middle" '
                    f'fill="{TEXT}">none</text></g>'
                )
                continue
            h = max(0.0, min(value, 100.0)) * plot_h / 100
            colour = colours[s_index % len(colours)]
            pattern = PATTERNS[(s_index * 2) % len(PATTERNS)]
            overlay = (
                f'<rect x="{x0:.1f}" y="{top + plot_h - h:.1f}" width="{col_w}" height="{h:.1f}" '
                f'fill="url(#{chart_id}-{pattern})" opacity="0.45"/>'
                if pattern
                else ""
            )
            parts.append(
                f"<g><title>{escape(label)}, {escape(name)}: {whole_percent(value)}% ({escape(caption)})</title>"
                f'<rect x="{x0:.1f}" y="{top + plot_h - h:.1f}" width="{col_w}" height="{h:.1f}" fill="{colour}"/>'
                f"{overlay}"
                f'<text x="{x0 + col_w / 2:.1f}" y="{top + plot_h - h - 4:.1f}" font-size="12" text-anchor="middle" '
                f'fill="{TEXT}">{whole_percent(value)}%</text></g>'
            )
        for line_no, line in enumerate(_wrap(label, 22, 4)):
            parts.append(
                f'<text x="{gx + group_w / 2:.1f}" y="{top + plot_h + 16 + line_no * 13}" font-size="11" '
                f'text-anchor="middle" fill="{TEXT}">{escape(line)}</text>'
            )
    parts.append("</svg>")
    # Every text and attribute above is escaped: the markup is ours.
    return Markup("".join(parts))  # noqa: S704  # nosec B704
