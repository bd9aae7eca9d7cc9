"""The graphviz emitter: a :class:`~microgrid.viz.picture.Picture` with its marks → DOT.

Every string that comes from data (labels, names, titles, box titles) passes through
:func:`text` or :func:`field` before it reaches DOT: control characters become visible
symbols and overlong lines are cut (:mod:`~microgrid.viz.safe_text`), backslashes are
doubled (no DOT escape such as ``\\N`` or ``\\l`` is read from data), record separators
are escaped, and the string is marked as never being an HTML-like label, so a label
``<x> evil [image=…]`` is written as those characters, in quotes. Attribute names and node
ids are ours. Names, box titles and the title are shown at most
:data:`~microgrid.viz.safe_text.LIMIT` characters long, and the drawing says when a label
was changed to be drawn.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import graphviz  # type: ignore[import-untyped]

from ..engine import Value
from ..parts import l2_norm
from ..stepper import NumberFormat, format_number
from .colors import COLORS
from .marks import Marks, paren
from .picture import GRAD_OUT, SUMMARY_ROLES, Item, Picture, const_slot
from .render import Diagram
from .safe_text import changes, dot_text, shown

__all__ = ["Style", "cell_texts", "emit", "field", "text"]


_RECORD_SPECIAL = re.compile(r'([{}|<>])')

# Spacing in inches and the records' font size and margin. Top-to-bottom pictures are the
# deep ones: tighter (a 2-3-1 MLP grouped by neuron is ~1040 pt wide, instead of ~1310 pt
# with the left-to-right settings), so they fit a notebook column at a readable scale.
# Edge texts are laid out by dot as nodes between the ranks, so ``labelled`` spacing keeps
# them apart: with the tight spacing the two texts of ``a*b`` ran into each other and the
# other operand's edge crossed them; with these, dot 2.43 leaves >= 5 pt between any two
# texts and no edge through a text on the lecture's graphs (tests/test_render.py measures it).
_LAYOUT = {
    "LR": {"nodesep": "0.2", "ranksep": "0.35", "fontsize": "11", "margin": "0.11,0.055",
           "labelled": "0.4"},
    "TB": {"nodesep": "0.06", "ranksep": "0.25", "fontsize": "10", "margin": "0.04,0.02",
           "labelled": "0.3"},
}


_ORDERED_MCLIMIT = "0.01"  # dot's crossing reduction, scaled: its first pass only


def text(value: str) -> str:
    """``value`` as a plain DOT string: shown as written (line breaks kept, control
    characters as symbols, see :func:`~microgrid.viz.safe_text.dot_text`), never HTML, no
    DOT escapes."""
    if not isinstance(value, str):
        raise TypeError(f"diagram text must be a string, got {value!r}")
    return graphviz.nohtml(dot_text(value))  # type: ignore[no-any-return]


def field(value: str) -> str:
    """``value`` escaped for one field of a Graphviz record label (written as it is, not
    through :func:`text`)."""
    return _RECORD_SPECIAL.sub(r"\\\1", dot_text(value))


def _record(fields: list[str]) -> str:
    return graphviz.nohtml("{ " + " | ".join(fields) + " }")  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Style:
    """How values are written and which edge texts are drawn."""

    fmt: NumberFormat = ".4g"
    show_grad: bool = True
    show_local: bool = False
    show_contribution: bool = False
    highlight: frozenset[Value] = frozenset()


def cell_texts(item: Item, marks: Marks, style: Style) -> tuple[str, str | None]:
    """What an item's ``data`` and ``grad`` cells say under ``marks``: the numbers known so
    far, ``?`` for the others; grad None when no grad cell is drawn. (The walk-through
    sizes its one layout from these texts.)"""
    node, fmt = item.node, style.fmt
    known = marks.known is None or node in marks.known or node.is_leaf
    data = format_number(node.data, fmt) if known else "?"
    grad: str | None = None
    if style.show_grad and marks.grads_shown and not node.is_constant:
        if marks.grads is None:
            grad = format_number(node.grad, fmt)
        else:
            grad = format_number(marks.grads[node], fmt) if node in marks.grads else "?"
    return data, grad


def _gradient_size(item: Item, marks: Marks, style: Style, done: bool) -> str | None:
    """The size of the gradient an item of many values sends back (a block, a run: over
    its inputs; a matrix: over its entries read), as the marks know it: ``?`` until every
    gradient it needs is known, None when no grad is shown (or, reading ``.grad``, before
    ``backward()``: ``done`` is False)."""
    piece = item.piece
    if piece is None or not (style.show_grad and marks.grads_shown):
        return None
    xs = piece.own if piece.kind == "matrix" or not piece.inputs else piece.inputs
    if marks.grads is None:
        return format_number(piece.grad_norm(), style.fmt) if done else None
    grads = marks.grads
    if not all(x in grads for x in xs):
        return "?"
    return format_number(l2_norm(grads[x] for x in xs), style.fmt)


def _summary_label(item: Item, marks: Marks, style: Style, done: bool) -> str:
    """A block, matrix or run: its title, what it holds, and its gradient's size."""
    piece = item.piece
    assert piece is not None
    if piece.kind == "matrix" and piece.matrix is not None:
        size = piece.matrix.size
        held = (f"{size:,} entr{'y' if size == 1 else 'ies'}" if piece.values == size
                else f"{piece.values:,} of {size:,} entries read")
        sign = "‖grad‖"
    elif not piece.inputs and piece.kind == "run":  # leaves: the gradient reaching them
        held = f"{piece.values:,} values"
        sign = "‖grad‖"
    else:
        held = (f"{piece.values:,} values · {len(piece.inputs):,} in · "
                f"{len(piece.outputs):,} out")
        sign = GRAD_OUT
    fields = [field(item.name), field(held)]
    grad = _gradient_size(item, marks, style, done)
    if grad is not None:
        fields.append(field(f"{sign} {grad}"))
    return _record(fields)


def _label(item: Item, marks: Marks, style: Style) -> str:
    data, grad = cell_texts(item, marks, style)
    if item.role == "constant":
        return _record([field(data)])
    fields = [field(item.name)] if item.name else []
    fields.append(f"data {field(data)}")
    if grad is not None:
        fields.append(f"grad {field(grad)}")
    return _record(fields)


_SUMMARY_FILL = {"block": COLORS["box"], "matrix": COLORS["parameter"], "run": COLORS["interior"]}


def _node_attrs(item: Item, marks: Marks, style: Style, current: str | None,
                done: bool = False) -> dict[str, str]:
    if item.role in SUMMARY_ROLES:
        attrs = {"label": _summary_label(item, marks, style, done),
                 "fillcolor": _SUMMARY_FILL[item.role]}
    else:
        attrs = {"label": _label(item, marks, style), "fillcolor": COLORS[item.role]}
    if item.role in ("box", "block", "run"):
        attrs["style"] = "rounded,filled"
    if item.ident == current or item.node in style.highlight:
        attrs.update(color=COLORS["highlight"], penwidth="3")
    elif item.role == "constant":
        attrs.update(style="filled,dashed", color="gray50")
    return attrs


def _op_attrs(item: Item, is_current: bool) -> dict[str, str]:
    return {"label": text(item.op or ""), "shape": "ellipse", "style": "filled",
            "fillcolor": COLORS["op"], "height": "0.3", "width": "0.3",
            "margin": "0.05,0.02", "fontsize": "12",
            "color": COLORS["flow"] if is_current else "gray40",
            "penwidth": "2" if is_current else "1"}


def _edge_texts(item: Item, picture: Picture, marks: Marks,
                style: Style) -> Mapping[int, dict[str, str]]:
    """Edge attributes by operand slot: the flowing contribution at the current step, or
    the local derivatives / contributions the style asks for."""
    node, fmt = item.node, style.fmt
    if node is marks.current:
        return {i: {"label": text(flow), "color": COLORS["flow"],
                    "fontcolor": COLORS["flow"], "penwidth": "2"}
                for i, flow in marks.flows.items()}
    contribution = style.show_contribution and marks.grads is None
    if item.op is None or not (style.show_local or contribution):
        return {}
    locals_ = node.local_grads()
    out = {}
    names = picture.names
    for i, p in enumerate(node.parents):
        if const_slot(node, i):
            continue
        parts = []
        if style.show_local:
            parts.append(f"∂{names[node]}/∂{names[p]} = {format_number(locals_[i], fmt)}")
        if contribution:
            parts.append(f"{format_number(node.grad, fmt)} × "
                         f"{paren(format_number(locals_[i], fmt))} = "
                         f"{format_number(node.grad * locals_[i], fmt)}")
        out[i] = {"label": text("\n".join(parts)), "fontcolor": "gray25"}
    return out


def _heading(picture: Picture) -> str | None:
    lines = [picture.title] if picture.title else []
    if picture.note:
        lines += textwrap.wrap(picture.note, 90)
    return "\n".join(lines) if lines else None


def _graph(picture: Picture, labelled: bool) -> Diagram:
    """An empty diagram with the layout, fonts and heading of ``picture`` (spaced for edge
    texts when ``labelled``)."""
    layout = _LAYOUT["LR" if picture.rankdir in ("LR", "RL") else "TB"]
    g = Diagram(
        name="microgrid",
        graph_attr={"rankdir": picture.rankdir,
                    "nodesep": layout["labelled" if labelled else "nodesep"],
                    "ranksep": layout["ranksep"], "fontname": "Helvetica", "fontsize": "12",
                    "bgcolor": "white"},
        node_attr={"fontname": "Helvetica", "fontsize": layout["fontsize"],
                   "margin": layout["margin"], "shape": "record", "style": "filled",
                   "height": "0.3"},
        edge_attr={"color": "gray30", "arrowsize": "0.6", "fontname": "Helvetica",
                   "fontsize": "9"},
    )
    g.note = picture.note
    heading = _heading(picture)
    if heading:
        g.attr(label=text(heading), labelloc="t", fontsize="14" if picture.title else "11")
    return g


def _add_nodes(g: Diagram, picture: Picture, marks: Marks, style: Style,
               current: str | None) -> None:
    """Every item's record (and op node), boxed items inside their cluster; in a block
    view the clusters nest as the blocks do."""
    done = any(r.grad != 0.0 for r in picture.roots)
    clusters: dict[str | None, list[tuple[str, dict[str, str]]]] = {None: []}
    inner: dict[str | None, list[str]] = {}
    for item in picture.reading_order():
        key = item.group
        if key not in clusters:
            chain = []
            while key is not None and key not in clusters:
                chain.append(key)
                clusters[key] = []
                box = picture.boxes.get(key)
                key = box.parent if box is not None else None
            for k in reversed(chain):
                up = picture.boxes[k].parent if k in picture.boxes else None
                inner.setdefault(up, []).append(k)
        members = clusters[item.group]
        members.append((item.ident, _node_attrs(item, marks, style, current, done)))
        if item.op is not None:
            members.append((item.ident + "op", _op_attrs(item, item.ident == current)))
    if len(clusters) > 1 and not picture.boxes:
        # dot keeps the boxes in the order they are written (L0.N0, L0.N1, ...) when its
        # crossing reduction is held to its first pass
        g.attr(mclimit=_ORDERED_MCLIMIT)
    count = [0]

    def fill(graph: Any, key: str | None, level: int) -> None:
        for child in inner.get(key, []):
            box = picture.boxes.get(child)
            with graph.subgraph(name=f"cluster_{count[0]}") as c:
                count[0] += 1
                c.attr(label=text(box.title if box is not None else child),
                       style="rounded,filled", fillcolor=_CLUSTER_FILL[level % 2],
                       color="gray70", fontsize="10", fontcolor="gray30")
                fill(c, child, level + 1)
        for ident, attrs in (_as_written(clusters[key], picture) if key is not None
                             else clusters[key]):
            graph.node(ident, **attrs)

    fill(g, None, 0)


_CLUSTER_FILL = (COLORS["cluster"], "white")  # nested boxes alternate, so each stands out


def _as_written(members: list[tuple[str, dict[str, str]]],
                picture: Picture) -> list[tuple[str, dict[str, str]]]:
    """A box's nodes in the order to write them. Top to bottom, dot lays out the leaves
    of a box that all feed one op (a fused neuron's w0 w1 b) in the reverse of their
    written order (measured with dot 2.43), so there they are written reversed; leaves
    feeding several ops (an unfused neuron) come out in written order."""
    if picture.rankdir not in ("TB", "BT"):
        return members
    items = [picture.by_ident.get(ident) for ident, _ in members]
    leaves = [i for i, item in enumerate(items) if item is not None and not item.inputs]
    fed = {ident for item in picture.items for _, ident in item.inputs}
    readers = {item.ident for item in picture.items
               if any(members[i][0] == src for i in leaves for _, src in item.inputs)}
    if len(leaves) < 2 or len(readers) != 1 or not all(members[i][0] in fed for i in leaves):
        return members
    out = list(members)
    for i, j in zip(leaves, reversed(leaves)):
        out[i] = members[j]
    return out


def _add_edges(g: Diagram, picture: Picture, texts: Mapping[str, Mapping[int, dict[str, str]]],
               current: str | None) -> None:
    """operand → op → value, with the edge ``texts`` (by item, then operand slot)."""
    for item in picture.items:
        if not item.inputs:
            continue
        if item.op is None:  # a box: its inputs go straight in, with how many they are
            for _, src in item.inputs:
                n = picture.edge_counts.get((src, item.ident), 1)
                attrs = {"label": text(f"×{n:,}"), "fontcolor": "gray35"} if n > 1 else {}
                if picture.by_ident[src].role == "matrix":  # the many reads of weights: light
                    attrs.update(color="gray65", fontcolor="gray55")
                g.edge(src, item.ident, **attrs)
            continue
        edges = texts.get(item.ident, {})
        for slot, src in item.inputs:
            g.edge(src, item.ident + "op", **edges.get(slot, {}))
        out = {"color": COLORS["flow"], "penwidth": "2"} if item.ident == current else {}
        g.edge(item.ident + "op", item.ident, **out)


def _drawable(picture: Picture) -> Picture:
    """``picture`` with its names, box titles and title as they are drawn
    (:func:`~microgrid.viz.safe_text.shown`), and a note saying so when that changed any.
    (In a block view an item's group is the key of its box, not text.)"""
    boxes = picture.boxes

    def titled(group: str) -> bool:
        return group not in boxes

    texts = [picture.title or "", *picture.names.values(),
             *(item.name for item in picture.items),
             *(item.group for item in picture.items if item.group is not None
               and titled(item.group)),
             *(box.title for box in boxes.values())]
    said = changes(texts)
    if said is None:
        return picture
    items = [replace(item, name=shown(item.name), group=shown(item.group)
                     if item.group is not None and titled(item.group) else item.group)
             for item in picture.items]
    return replace(picture, items=items, title=picture.title and shown(picture.title),
                   names={node: shown(name) for node, name in picture.names.items()},
                   boxes={k: replace(box, title=shown(box.title)) for k, box in boxes.items()},
                   note=f"{picture.note} {said}" if picture.note else said)


def emit(picture: Picture, marks: Marks, style: Style) -> Diagram:
    """The DOT of ``picture`` drawn with ``marks`` and ``style``, as a :class:`Diagram`."""
    picture = _drawable(picture)
    texts = {item.ident: _edge_texts(item, picture, marks, style) for item in picture.items
             if item.op is not None and item.inputs}
    g = _graph(picture, labelled=any(texts.values()))
    current = picture.where.get(marks.current) if marks.current is not None else None
    _add_nodes(g, picture, marks, style, current)
    _add_edges(g, picture, texts, current)
    return g
