"""A diagram laid out once whose numbers are rewritten in place: the live view's graph.

Laying out a graph (Graphviz ``dot``) is the costly part of a picture: about 0.1 s for a
small network, every time. During training the graph of the watched sample keeps its
shape; only ``data`` and ``grad`` change. So :class:`Relabel` draws it once with
:func:`~microgrid.viz.draw_dot` — each number padded to a fixed width, so that any later
number fits its box — lays it out in a background thread (``dot`` runs as a separate
process, so training goes on meanwhile), and then writes each new set of numbers into the
finished SVG: one string join per frame.

Each box of the SVG is matched to its ``Value`` through the picture's description
(:func:`~microgrid.viz.picture.describe`: the item drawn under each DOT id), and its name
is checked; a graph of another shape, or an SVG that does not read as expected, raises
:class:`ShapeChanged`, and the caller lays the new graph out again.
"""

from __future__ import annotations

import html
import re
import threading
from collections.abc import Sequence
from typing import Any

from ..engine import Value
from ..graph import topological_order
from ..stepper import NumberFormat, format_number
from .draw import draw_dot
from .picture import describe
from .safe_text import shown as drawn_as

__all__ = ["Relabel", "ShapeChanged"]

WIDTH = 11  # characters kept for a number: "-1.234e-05" and a little room
_NBSP = "\u00a0"
_NODE = re.compile(r'<g id="[^"]*" class="node">\s*<title>([^<]*)</title>(.*?)</g>', re.S)
_TEXT = re.compile(r"(<text\b[^>]*>)(.*?)(</text>)", re.S)


def _unpad(svg: str) -> str:
    """Texts without the padding (the boxes keep the room it made)."""
    return _TEXT.sub(lambda m: m.group(1) + " ".join(m.group(2).replace(_NBSP, " ").split())
                     + m.group(3), svg) if _NBSP in svg else svg


class ShapeChanged(ValueError):
    """The graph (or the SVG) does not have the shape the template was made for."""


def _shape(order: Sequence[Value]) -> list[Any]:
    """What must stay the same for the layout to fit: ops, operands, constants."""
    index = {node: i for i, node in enumerate(order)}
    return [(n.op.name if n.parents else "leaf", tuple(index[p] for p in n.parents),
             n.data if n.is_constant else None) for n in order]


class Relabel:
    """The diagram of ``roots`` laid out once (in a thread); :meth:`fill` writes numbers in.

    ``draw_options`` go to :func:`~microgrid.viz.draw_dot` (but ``fmt``, ``show_grad``).
    Raises what ``draw_dot`` raises (``DiagramTooLargeError``) at once, and what rendering
    raises (no renderer) from :meth:`fill`.
    """

    def __init__(self, roots: Value | Sequence[Value], *, fmt: NumberFormat = ".4g",
                 show_grad: bool = True, **draw_options: Any) -> None:
        order = topological_order(roots)
        self.fmt, self.show_grad = fmt, show_grad
        self._shape = _shape(order)
        index = {node: i for i, node in enumerate(order)}
        layout = {k: v for k, v in draw_options.items()
                  if k in ("hide_constants", "params", "group", "max_nodes", "rankdir",
                           "title")}
        picture = describe(roots, fmt=fmt, **layout)
        self._boxes = {item.ident: (index[item.node], item.name) for item in picture.items
                       if item.role != "constant"}  # DOT id → (value, name shown)

        def padded(x: float) -> str:
            return format_number(x, fmt).center(WIDTH, _NBSP)

        self.diagram = draw_dot(roots, fmt=padded, show_grad=show_grad, **draw_options)
        self._svg: str | None = None
        self._error: BaseException | None = None
        self._template: list[str | tuple[int, str]] | None = None
        self._thread = threading.Thread(target=self._layout, name="microgrid-layout",
                                        daemon=True)
        self._thread.start()

    def _layout(self) -> None:
        try:
            svg = self.diagram.svg()
            self._svg = svg[svg.find("<svg"):]
        except BaseException as e:  # handed to the caller by fill()
            self._error = e

    def ready(self) -> bool:
        """True once the layout is done (then :meth:`fill` does not wait)."""
        return not self._thread.is_alive()

    def fill(self, roots: Value | Sequence[Value]) -> str:
        """The SVG with the ``data`` and ``grad`` of ``roots`` (waits for the layout)."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        order = topological_order(roots)
        if _shape(order) != self._shape:
            raise ShapeChanged("the graph changed shape since it was laid out")
        if self._template is None:
            self._template = self._parse()
        out = []
        for piece in self._template:
            if isinstance(piece, str):
                out.append(piece)
                continue
            i, field = piece
            value = order[i].data if field == "data" else order[i].grad
            out.append(html.escape(f"{field} {format_number(value, self.fmt)}"))
        return "".join(out)

    def _parse(self) -> list[str | tuple[int, str]]:
        """The SVG cut into fixed pieces and the slots of the numbers."""
        assert self._svg is not None
        svg = self._svg
        pieces: list[str | tuple[int, str]] = []
        at = 0
        fields = ["data", "grad"] if self.show_grad else ["data"]
        for node in _NODE.finditer(svg):
            ident = html.unescape(node.group(1))
            if ident not in self._boxes:
                continue  # an op, a constant: nothing to rewrite
            i, name = self._boxes[ident]
            texts = list(_TEXT.finditer(svg, node.start(2), node.end(2)))
            if len(texts) != 1 + len(fields):
                raise ShapeChanged(f"the box {ident} does not read as name | data | grad")
            shown = html.unescape(texts[0].group(2))
            if shown != drawn_as(name):
                raise ShapeChanged(f"the box {ident} is named {shown!r}, expected {name!r}")
            for text, field in zip(texts[1:], fields):
                content = html.unescape(text.group(2)).replace(_NBSP, " ").strip()
                if not content.startswith(field + " "):
                    raise ShapeChanged(f"the box {ident} shows {content!r}, not its {field}")
                pieces.append(svg[at:text.start(2)])
                pieces.append((i, field))
                at = text.end(2)
        pieces.append(svg[at:])
        # a constant written into an op's label was padded too: take the padding out
        return [_unpad(p) if isinstance(p, str) else p for p in pieces]
