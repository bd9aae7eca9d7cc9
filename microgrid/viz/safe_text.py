"""Text from data, made safe for every place a picture shows it: DOT, SVG, HTML pages.

Labels are the user's text, but not every character reaches a picture intact: Graphviz
stops reading a line at a NUL, XML (so SVG) cannot hold other control characters, U+FFFE
or U+FFFF, UTF-8 cannot encode a lone surrogate, and Graphviz refuses a quoted string of
more than 16,384 bytes. This module is the one place that decides what is drawn instead:

* :func:`clean`: each such character becomes a visible symbol: a C0 control its Control
  Pictures sign (U+0000 → ␀, a line break → ␊), DEL ␡, the others the replacement
  character � (text a page writes beside a picture can go through it too);
* :func:`page_text`: text a page writes beside a picture (titles, captions, the stepper's
  text), cleaned line by line and HTML-escaped;
* :func:`shown`: cleaned and, past :data:`LIMIT` characters, cut short with "…";
  :func:`changes` says so in a sentence the drawing shows under its title;
* :func:`dot_text`: the body of a DOT quoted string (cleaned line by line, backslashes
  doubled), so no DOT source microgrid writes holds a control character but line breaks;
* :func:`safe_svg`: the SVG a renderer wrote, without links, script, event handlers or
  any element or attribute a graph picture does not use. Every SVG that reaches a page or
  a notebook comes from :func:`microgrid.viz.render.render`, which passes it through here.

The characters refused as labels are defined once, in :mod:`microgrid._labels`.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable

from .._labels import CONTROL, SURROGATES

__all__ = ["LIMIT", "MAX_LINE", "SVG_ATTRIBUTES", "SVG_ELEMENTS", "UnsafeDiagramError",
           "changes", "clean", "dot_text", "page_text", "safe_svg", "shown"]

LIMIT = 200
"""The characters of a label (name, box title, title) a drawing shows; longer ones end "…"."""

MAX_LINE = 1000
"""The characters of one line of any DOT string: with at most 4 UTF-8 bytes a character
(a backslash doubled is 2), a record of 3 such fields stays below Graphviz's 16,384 bytes."""

_UNDRAWABLE = re.compile(f"[{CONTROL}{SURROGATES}\ufffe\uffff]")


def _symbol(m: re.Match[str]) -> str:
    c = ord(m.group())
    return chr(0x2400 + c) if c < 0x20 else "\u2421" if c == 0x7F else "\ufffd"


def clean(text: str) -> str:
    """``text`` with each character no picture can hold replaced by a visible symbol."""
    return _UNDRAWABLE.sub(_symbol, text)


def page_text(text: str) -> str:
    """``text`` for an HTML page: each line :func:`clean` (line breaks kept), then escaped,
    so no markup and no character UTF-8 or a page cannot hold reaches it."""
    return html.escape("\n".join(map(clean, text.split("\n"))), quote=True)


def shown(text: str, limit: int = LIMIT) -> str:
    """``text`` as a drawing shows it: :func:`clean`, and cut to ``limit`` characters."""
    text = clean(text)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def changes(texts: Iterable[str], limit: int = LIMIT) -> str | None:
    """The sentence a drawing shows when :func:`shown` changed some of ``texts``, or None."""
    cleaned = cut = False
    for text in texts:
        cleaned = cleaned or _UNDRAWABLE.search(text) is not None
        cut = cut or len(text) > limit
    said = (["control characters are drawn as symbols (␀ for NUL, ␊ for a line break, � "
             "for U+0080–U+009F and lone surrogates)"] if cleaned else [])
    said += [f"labels longer than {limit} characters are cut short (…)"] if cut else []
    return f"Labels changed to be drawn: {'; '.join(said)}." if said else None


def dot_text(text: str, limit: int = MAX_LINE) -> str:
    """The body of a DOT quoted string showing ``text``: each line :func:`shown` (at most
    ``limit`` characters) and its backslashes doubled (data writes no DOT escape). The line
    breaks stay (DOT reads them as part of the string); the ``"`` are escaped later, by the
    graphviz package."""
    return "\n".join(shown(line, limit).replace("\\", "\\\\") for line in text.split("\n"))


# -- SVG --------------------------------------------------------------------------------

_SVG_NS = "http://www.w3.org/2000/svg"
_XML_NS = "http://www.w3.org/XML/1998/namespace"
SVG_ELEMENTS = frozenset({"svg", "g", "title", "desc", "text", "tspan", "path", "polygon",
                       "polyline", "ellipse", "circle", "rect", "line", "defs",
                       "linearGradient", "radialGradient", "stop"})
"""What Graphviz draws a graph with. ``<a>`` (a link) is unwrapped, its content kept;
any other element (``script``, ``foreignObject``, ``image``, ``use``, ``set``, …) is
dropped with its content. (A renderer running in the browser must keep to the same two
lists.)"""
SVG_ATTRIBUTES = frozenset({
    "id", "class", "width", "height", "viewBox", "preserveAspectRatio", "transform",
    "fill", "fill-opacity", "stroke", "stroke-width", "stroke-dasharray",
    "stroke-opacity", "points", "d", "cx", "cy", "r", "rx", "ry", "x", "y", "x1", "y1",
    "x2", "y2", "fx", "fy", "offset", "gradientUnits", "gradientTransform", "style",
    "stop-color", "stop-opacity", "text-anchor", "font-family", "font-size",
    "font-weight", "font-style", "text-decoration", "baseline-shift", "xml:space"})
_FOREIGN_URL = re.compile(r"url\(\s*(?!#)", re.I)


def _value_ok(value: str) -> bool:
    """No scheme (``javascript:``, ``data:``, ``http:``: no colon at all) and no ``url()``
    but to an ``#id`` of the picture itself, in an attribute value but ``style``."""
    return ":" not in value and ("url" not in value.lower()
                                 or _FOREIGN_URL.search(value) is None)


_SAFE_STYLE = re.compile(r"[\w\s#.,;:%-]*\Z")  # stop-color:#fff;stop-opacity:1.
_NOT_DRAWN = re.compile(r"(?:<!--.*?-->|<\?.*?\?>)\n?", re.S)
"""Comments and processing instructions: an HTML page reads them differently from XML
(``<!-->`` ends a comment there), so none is kept."""
_TOKEN = re.compile(r"<(/?)([\w:.-]+)((?:\s[^<>]*?)?)(/?)>|[^<]+|<", re.S)
_ATTRIBUTE = re.compile(r'\s*([\w:.-]+)\s*=\s*("[^"]*"|\'[^\']*\')')
_PROLOG = ('<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
           '<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN"\n'
           ' "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n')


class UnsafeDiagramError(ValueError):
    """The DOT source or the SVG holds what could read a file, carry a link or run script
    (or an SVG that cannot be read as a picture of a graph)."""


def _attribute_ok(element: str, name: str, value: str) -> bool:
    """Whether attribute ``name="value"`` of ``element`` can stay (names as written)."""
    if name == "xmlns":
        return element == "svg" and value == _SVG_NS
    if name not in SVG_ATTRIBUTES:
        return False
    if name == "style":
        return _SAFE_STYLE.match(value) is not None
    return _value_ok(value)


def _tag(match: re.Match[str]) -> str:
    """A start tag of an allowed element with only its allowed attributes."""
    name, attributes, empty = match.group(2), match.group(3), match.group(4)
    kept = [m.group(0) for m in _ATTRIBUTE.finditer(attributes)
            if _attribute_ok(name, m.group(1), m.group(2)[1:-1])]
    return f"<{name}{''.join(kept)}{empty}>"


def _strip(svg: str) -> str:
    """``svg`` cut to allowed elements and attributes (an ``<a>`` unwrapped)."""
    out: list[str] = []
    skipping = 0  # depth inside a dropped element
    for m in _TOKEN.finditer(svg):
        closing, name, empty = m.group(1), m.group(2), m.group(4)
        if name is None:  # text
            if not skipping:
                out.append(m.group(0))
        elif skipping:
            skipping += 0 if empty else -1 if closing else 1
        elif name in SVG_ELEMENTS:
            out.append(m.group(0) if closing else _tag(m))
        elif name != "a":  # a link: its content stays; anything else goes with its content
            skipping = 0 if empty or closing else 1
    return "".join(out)


_TAGS = frozenset(f"{{{_SVG_NS}}}{name}" for name in SVG_ELEMENTS)
_KEYS = frozenset(f"{{{_XML_NS}}}{name[4:]}" if name.startswith("xml:") else name
                  for name in SVG_ATTRIBUTES)  # as ElementTree names them


def _check(svg: str) -> None:
    """Read ``svg`` as XML and refuse it unless every element and attribute is allowed."""
    try:
        root = ET.fromstring(svg)
    except ET.ParseError as e:
        raise UnsafeDiagramError(f"the SVG is not well-formed XML: {e}") from None
    for element in root.iter():
        if element.tag not in _TAGS:
            raise UnsafeDiagramError(f"the SVG holds a <{element.tag}> element")
        attributes = element.attrib
        if attributes.keys() <= _KEYS and _value_ok(" ".join(
                v for k, v in attributes.items() if k != "style")) and (
                _SAFE_STYLE.match(attributes.get("style", "")) is not None):
            continue  # the common case, checked at once
        for key, value in attributes.items():
            key = "xml:" + key.partition("}")[2] if key.startswith(f"{{{_XML_NS}}}") else key
            if not _attribute_ok("", key, value):
                raise UnsafeDiagramError(f"the SVG sets {key}={value!r} on <{element.tag}>")


def safe_svg(svg: str) -> str:
    """``svg`` (as Graphviz writes it) with no link, script, event handler, external
    reference or element a graph is not drawn with: the standard SVG prolog, then the
    ``<svg>`` element without comments, cut (when it has to be) to what :data:`SVG_ELEMENTS`
    and :data:`SVG_ATTRIBUTES` allow.

    What is returned has been read as XML and checked against those lists; an SVG that
    does not read (ill-formed, an entity from its doctype, a CDATA section) raises
    :class:`UnsafeDiagramError`. A picture Graphviz wrote comes out as it was, less its
    comments.
    """
    body = _NOT_DRAWN.sub("", svg[max(svg.find("<svg"), 0):]).strip()
    if "<!" in body or "<?" in body:
        raise UnsafeDiagramError("the SVG holds a CDATA section or a declaration")
    try:
        _check(body)
    except UnsafeDiagramError:
        body = _strip(body)
        _check(body)
    return _PROLOG + body + "\n"
