"""Small SVG charts for the live training view: curves, sign-coloured heat maps, a
decision field with its data points, bars on a log scale, lines of text.

Each function returns one ``<svg>`` element as text, ready to be inlined in HTML (a
notebook output or the self-contained player page). They are written by hand, not with
matplotlib, for speed: one matplotlib figure of the dashboard took 0.3–0.5 s to draw and
save on the development machine, these panels take milliseconds, so the live view can
refresh often while staying inside its overhead budget.

Colours: a value v is drawn on a white-to-colour scale, red for v > 0 and blue for v < 0,
with intensity |v| / scale (the largest |v| of the panel, so each panel uses its range).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from .safe_text import page_text

__all__ = ["CLASS_COLORS", "decision_field", "heat_map", "line_chart", "log_bars",
           "signed_color", "text_lines"]

_RED = (178, 24, 43)
_BLUE = (33, 102, 172)
CLASS_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b",
                "#e377c2", "#17becf")
"""Colours of the classes 0, 1, 2, … (the data points and the regions)."""

_FONT = 'font-family="Helvetica,Arial,sans-serif"'


def _esc(text: str) -> str:
    return page_text(text)


def _num(x: float) -> str:
    """A number for hover text: 6 significant digits, −0 as 0."""
    text = f"{x:.6g}"
    return "0" if text in ("-0", "0") else text


def signed_color(v: float, scale: float, lightest: float = 0.0) -> str:
    """``v``'s colour: white at 0, full red at +scale, full blue at −scale (hex)."""
    t = 0.0 if scale <= 0 or not math.isfinite(v) else min(1.0, abs(v) / scale)
    t = lightest + (1.0 - lightest) * t if t > 0 else 0.0
    r, g, b = _RED if v > 0 else _BLUE
    mix = [round(255 + (c - 255) * t) for c in (r, g, b)]
    return "#{:02x}{:02x}{:02x}".format(*mix)


def _open(width: float, height: float, title: str) -> list[str]:
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" '
           f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" {_FONT} '
           f'font-size="11" class="mg-panel">']
    if title:
        out.append(f'<text x="{width / 2:.1f}" y="13" text-anchor="middle" '
                   f'font-size="12" font-weight="bold">{_esc(title)}</text>')
    return out


def line_chart(series: Sequence[tuple[Sequence[float], str, str]], *, title: str = "",
               width: int = 260, height: int = 170, x_label: str = "",
               y_range: tuple[float, float] | None = None,
               x_max: int | None = None, x_ends: tuple[float, float] | None = None) -> str:
    """Curves of ``series``: ``(values, colour, name)`` with x = 1, 2, … (one per value).

    The y axis spans the values' range (or ``y_range``); the last value of each curve is
    written at the right. ``x_max`` fixes the x extent (e.g. the number of epochs);
    ``x_ends`` the numbers written at the x axis' two ends (default 1 and the extent).
    """
    left, right, top, bottom = 54, 56, 20, 28
    pw, ph = width - left - right, height - top - bottom
    out = _open(width, height, title)
    values = [v for vals, _, _ in series for v in vals if math.isfinite(v)]
    n = max([len(vals) for vals, _, _ in series] + [x_max or 0, 1])
    if y_range is not None:
        lo, hi = y_range
    elif values:
        lo, hi = min(values), max(values)
    else:
        lo, hi = 0.0, 1.0
    if hi - lo < 1e-12:
        lo, hi = lo - 0.5, hi + 0.5

    def sx(i: int) -> float:
        return left + (pw * (i / (n - 1)) if n > 1 else pw / 2)

    def sy(v: float) -> float:
        return top + ph * (1 - (v - lo) / (hi - lo))

    out.append(f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="#fafafa" '
               f'stroke="#bbb"/>')
    for v in (lo, hi):
        out.append(f'<text x="{left - 4}" y="{sy(v) + 4:.1f}" text-anchor="end" '
                   f'fill="#555">{_esc(f"{v:.3g}")}</text>')
    first, last = x_ends if x_ends is not None else (1, n)
    out.append(f'<text x="{left}" y="{height - 8}" fill="#555">{_esc(f"{first:g}")}</text>')
    out.append(f'<text x="{left + pw}" y="{height - 8}" text-anchor="end" '
               f'fill="#555">{_esc(f"{last:g}")}</text>')
    if x_label:
        out.append(f'<text x="{left + pw / 2:.1f}" y="{height - 8}" text-anchor="middle" '
                   f'fill="#555">{_esc(x_label)}</text>')
    label_y: list[float] = []
    for vals, color, name in series:
        points = [(sx(i), sy(v)) for i, v in enumerate(vals) if math.isfinite(v)]
        if not points:
            continue
        if len(points) == 1:
            x, y = points[0]
            out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{color}"/>')
        else:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            out.append(f'<polyline points="{path}" fill="none" stroke="{color}" '
                       f'stroke-width="1.6"><title>{_esc(name)}</title></polyline>')
        y = points[-1][1]
        while any(abs(y - other) < 11 for other in label_y):
            y += 11
        label_y.append(y)
        out.append(f'<text x="{left + pw + 4}" y="{y + 4:.1f}" fill="{color}">'
                   f'{_esc(f"{vals[-1]:.4g}")}</text>')
    legend_x = left + 4.0
    for _, color, name in series:
        out.append(f'<text x="{legend_x:.0f}" y="{top + 12}" fill="{color}">{_esc(name)}</text>')
        legend_x += 7 * len(name) + 12
    out.append("</svg>")
    return "".join(out)


def heat_map(rows: Sequence[Sequence[float | None]], *, title: str = "",
             row_labels: Sequence[str] = (), col_labels: Sequence[str] = (),
             max_width: int = 260, cell: int = 26, annotate: bool = True) -> str:
    """A grid of sign-coloured cells, one per number (``None``: an empty cell).

    Each cell's hover text holds the number to 6 digits; with ``annotate`` and room enough
    the number is also written in the cell (3 significant digits).
    """
    nrows = len(rows)
    ncols = max((len(r) for r in rows), default=0)
    left, top = (34 if row_labels else 6), 30
    size = max(6, min(cell, (max_width - left - 6) // max(ncols, 1)))
    width = left + size * ncols + 6
    height = top + size * nrows + 18
    out = _open(max(width, 7 * len(title) + 10, 130), height, title)
    finite = [abs(v) for r in rows for v in r if v is not None and math.isfinite(v)]
    scale = max(finite, default=0.0)
    out.append(f'<text x="{left}" y="{height - 5}" fill="#777" font-size="9">'
               f'{_esc(f"largest |value| {scale:.3g}")}</text>')
    for j, name in enumerate(col_labels[:ncols]):
        if size >= 18:
            out.append(f'<text x="{left + size * j + size / 2:.1f}" y="{top - 3}" '
                       f'text-anchor="middle" fill="#555" font-size="9">{_esc(name)}</text>')
    for i, row in enumerate(rows):
        y = top + size * i
        if i < len(row_labels):
            out.append(f'<text x="{left - 3}" y="{y + size / 2 + 3:.1f}" text-anchor="end" '
                       f'fill="#555" font-size="9">{_esc(row_labels[i])}</text>')
        for j, v in enumerate(row):
            if v is None:
                continue
            x = left + size * j
            name = col_labels[j] if j < len(col_labels) else str(j)
            rname = row_labels[i] if i < len(row_labels) else str(i)
            out.append(f'<rect x="{x}" y="{y}" width="{size}" height="{size}" '
                       f'fill="{signed_color(v, scale)}" stroke="#ddd">'
                       f'<title>{_esc(f"{rname}.{name} = {_num(v)}")}</title></rect>')
            if annotate and size >= 24:  # a text in every cell (empty when too long),
                short = _short(v)  # so frames of a run differ only in colours and texts
                dark = scale > 0 and abs(v) / scale > 0.6
                out.append(f'<text x="{x + size / 2:.1f}" y="{y + size / 2 + 3:.1f}" '
                           f'text-anchor="middle" font-size="8" '
                           f'fill="{"#fff" if dark else "#222"}">'
                           f'{_esc(short) if len(short) <= 5 else ""}</text>')
    out.append("</svg>")
    return "".join(out)


def _short(v: float) -> str:
    text = f"{v:.2g}"
    return "0" if text in ("-0", "0") else text


def decision_field(field: Sequence[Sequence[float]], extent: tuple[float, float, float, float],
                   points: Sequence[tuple[float, float]], labels: Sequence[int | None], *,
                   classes: bool = False, title: str = "", size: int = 240) -> str:
    """The model's decision over a grid and the data points on top.

    ``field[i][j]`` is the value at row i (y from top to bottom) and column j (x from left
    to right) of ``extent = (x_min, x_max, y_min, y_max)``. With ``classes`` it is a class
    index and each cell takes its class's colour (light); otherwise it is a margin (the
    output minus its threshold), red above 0, blue below. Points are coloured by label.
    """
    x0, x1, y0, y1 = extent
    nrows = len(field)
    ncols = len(field[0]) if nrows else 0
    pad, top = 6, 20
    out = _open(size + 2 * pad, size + top + pad, title)
    if nrows and ncols:
        cw, ch = size / ncols, size / nrows
        scale = 0.0 if classes else max((abs(v) for r in field for v in r), default=0.0)
        for i, row in enumerate(field):
            for j, v in enumerate(row):
                if classes:
                    color = _lighten(CLASS_COLORS[int(v) % len(CLASS_COLORS)], 0.7)
                else:
                    color = signed_color(v, scale, lightest=0.15)
                out.append(f'<rect x="{pad + j * cw:.2f}" y="{top + i * ch:.2f}" '
                           f'width="{cw + 0.4:.2f}" height="{ch + 0.4:.2f}" fill="{color}"/>')
    out.append(f'<rect x="{pad}" y="{top}" width="{size}" height="{size}" fill="none" '
               f'stroke="#999"/>')
    for (px, py), label in zip(points, labels):
        cx = pad + size * (px - x0) / (x1 - x0)
        cy = top + size * (1 - (py - y0) / (y1 - y0))
        color = "#444" if label is None else CLASS_COLORS[label % len(CLASS_COLORS)]
        out.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="3" fill="{color}" '
                   f'stroke="#fff" stroke-width="0.8"/>')
    out.append("</svg>")
    return "".join(out)


def _lighten(color: str, amount: float) -> str:
    r, g, b = (int(color[k:k + 2], 16) for k in (1, 3, 5))
    mix = [round(c + (255 - c) * amount) for c in (r, g, b)]
    return "#{:02x}{:02x}{:02x}".format(*mix)


def log_bars(items: Sequence[tuple[str, float, Sequence[bool] | None]], *, title: str = "",
             width: int = 380) -> str:
    """One horizontal bar per ``(name, value, rows)``: ``value`` (≥ 0) on a log scale
    spanning the positive values, its number beside it (a value of 0: no bar, ``0`` in
    red); ``rows``, when given, a strip of cells at the right, dark for True (a row that
    received gradient). Each bar's hover text holds the value to 6 digits."""
    label_w, number_w, strip_w, row_h, top = 92, 48, 64, 16, 22
    bar_w = width - label_w - number_w - strip_w - 12
    height = top + row_h * len(items) + 16
    out = _open(width, height, title)
    positive = [v for _, v, _ in items if v > 0 and math.isfinite(v)]
    lo = math.log10(min(positive)) - 0.5 if positive else 0.0
    hi = math.log10(max(positive)) + 0.1 if positive else 1.0
    hi = max(hi, lo + 1.0)
    for i, (name, value, rows) in enumerate(items):
        y = top + row_h * i
        out.append(f'<text x="{label_w - 4}" y="{y + 11}" text-anchor="end" '
                   f'font-size="10">{_esc(name)}</text>')
        if value > 0:
            span = (min(math.log10(value), hi) - lo) / (hi - lo) if math.isfinite(value) else 1
            out.append(f'<rect x="{label_w}" y="{y + 2}" width="{max(1.0, bar_w * span):.1f}" '
                       f'height="{row_h - 4}" fill="#1f77b4"><title>'
                       f'{_esc(f"{name}: {_num(value)}")}</title></rect>')
        out.append(f'<text x="{label_w + bar_w + 4}" y="{y + 11}" font-size="9" '
                   f'fill="{"#333" if value > 0 else "#d62728"}">'
                   f'{_esc(f"{value:.3g}" if value else "0")}</text>')
        if rows:
            cw = strip_w / len(rows)
            x0 = label_w + bar_w + number_w + 6
            for k, got in enumerate(rows):
                out.append(f'<rect x="{x0 + k * cw:.2f}" y="{y + 3}" width="{cw:.2f}" '
                           f'height="{row_h - 6}" fill="{"#1f3b73" if got else "#e6e6e6"}"/>')
    for frac, label in ((0.0, lo), (1.0, hi)):
        out.append(f'<text x="{label_w + bar_w * frac:.1f}" y="{height - 4}" fill="#555" '
                   f'font-size="9" text-anchor="{"start" if frac == 0 else "end"}">'
                   f'{_esc(f"{10 ** label:.2g}")}</text>')
    out.append("</svg>")
    return "".join(out)


def text_lines(lines: Sequence[str], *, title: str = "", width: int = 260,
               most: int = 14) -> str:
    """Lines of text (the last ``most`` of them, each cut to fit ``width``), monospaced."""
    lines = list(lines)[-most:]
    chars = max(8, (width - 12) // 7)
    height = 24 + 14 * max(1, len(lines))
    out = _open(width, height, title)
    for i, line in enumerate(lines):
        shown = line if len(line) <= chars else line[:chars - 1] + "…"
        out.append(f'<text x="6" y="{34 + 14 * i}" font-family="monospace" '
                   f'xml:space="preserve">{_esc(shown)}</text>')
    out.append("</svg>")
    return "".join(out)
