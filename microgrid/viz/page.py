"""Put a rendered SVG into HTML: inline it, fit it to a notebook's output area.

:func:`inline_svg` drops what comes before the ``<svg`` tag (the XML prolog and doctype),
so the picture can sit inside a page: the live view's dashboard, the player's pages, the
explorer's and a diagram's notebook output all inline their pictures through it.

Graphviz writes ``width="…pt" height="…pt"``: a browser shows that at its natural size,
so a wide graph runs off the page and scrolls the whole output sideways. :func:`fit_svg`
makes the picture take the width of its container, never more than its natural size and
never less than 60 % of it (below that the text cannot be read), keeping its proportions;
:func:`scroll_box` puts it in a box that scrolls on its own when it is still too wide or
very tall, so whatever sits above it (the explorer's buttons) stays in place.
"""

from __future__ import annotations

import re

__all__ = ["MIN_SCALE", "fit_svg", "inline_svg", "natural_size", "scroll_box"]

MIN_SCALE = 0.6
"""The smallest scale a picture is shrunk to before its box scrolls instead."""

_SIZE = re.compile(r'<svg\b([^>]*?)\swidth="([\d.]+)pt"\s+height="([\d.]+)pt"', re.S)


def inline_svg(svg: str) -> str:
    """An SVG document from its ``<svg`` tag on (no XML prolog or doctype), to inline it in
    HTML; text without an ``<svg`` tag is returned as it is."""
    at = svg.find("<svg")
    return svg[at:] if at >= 0 else svg


def natural_size(svg: str) -> tuple[float, float] | None:
    """The picture's natural ``(width, height)`` in points, as Graphviz wrote it."""
    m = _SIZE.search(svg)
    return (float(m.group(2)), float(m.group(3))) if m else None


def fit_svg(svg: str) -> str:
    """``svg`` from its ``<svg`` tag on, sized to the width of its container."""
    svg = inline_svg(svg)
    size = natural_size(svg)
    if size is None:
        return svg
    width = size[0]
    style = (f"width:100%;max-width:{width:g}pt;min-width:{width * MIN_SCALE:g}pt;"
             "height:auto;display:block")
    return _SIZE.sub(lambda m: f'<svg{m.group(1)} width="100%" style="{style}"', svg,
                     count=1)


def scroll_box(inner: str, css_class: str = "microgrid-diagram",
               max_height: str = "80vh") -> str:
    """``inner`` HTML in a box as wide as the output area that scrolls on its own."""
    return (f'<div class="{css_class}" style="max-width:100%;max-height:{max_height};'
            f'overflow:auto">{inner}</div>')
