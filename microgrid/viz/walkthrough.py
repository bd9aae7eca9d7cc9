"""The walk-through of a graph laid out once: one SVG, and per step only what changes.

Laying a graph out (Graphviz ``dot``) costs from a tenth of a second to many seconds, and
its SVG is tens to hundreds of kilobytes; a walk-through has about two steps per value. So
the picture is laid out once, with room for every number any step writes (each box is
sized for the widest text it ever shows, each edge that will carry a contribution gets a
label line sized for the widest), and every step is stored as what differs from the step
before: the texts that change (``data``, ``grad``, the contribution on an edge) and which
parts are highlighted (the current node in red, its op, the edges the contributions flow
along). The page's script applies those changes; :meth:`WalkThrough.svg_at` applies the
same changes in Python (the page's first picture, and tests).

During the forward pass the gradient cell shows ``grad ?`` (not yet known), so that every
step has the same boxes. An edge shows its contribution only while the contribution flows
(its local derivative, with ``show_local=True``, stays on it throughout).

A graph whose edges cross thousands of ranks (an input feeding nodes all the way down) is
laid out with straight edges (:data:`LONG_EDGES`), which takes seconds where curved ones
take minutes.

When the SVG does not read as expected (a number format whose text the template cannot
find), each step is drawn and laid out on its own, as :func:`~microgrid.viz.draw_dot`
draws it.
"""

from __future__ import annotations

import dataclasses
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..engine import Value
from ..stepper import NumberFormat
from .colors import COLORS
from .marks import Marks
from .page import inline_svg
from .picture import SUMMARY_ROLES

__all__ = ["LONG_EDGES", "MARK_STYLES", "WalkThrough", "marks_css", "step_frames",
           "walk_explorer", "walk_through"]

MARK_STYLES: dict[str, dict[str, dict[str, str]]] = {
    "node": {"shape": {"stroke": COLORS["highlight"], "stroke-width": "3"}},
    "op": {"shape": {"stroke": COLORS["flow"], "stroke-width": "2"}},
    "edge": {"path": {"stroke": COLORS["flow"], "stroke-width": "2"},
             "polygon": {"stroke": COLORS["flow"], "fill": COLORS["flow"],
                         "stroke-width": "2"},
             "text": {"fill": COLORS["flow"]}},
}
"""The SVG attributes a highlighted part takes, by kind of part and element (``shape``:
every element but text), as :mod:`~microgrid.viz.dot` draws the current step."""

_GROUP = re.compile(r'<g id="([^"]*)" class="(node|edge)">\s*<title>([^<]*)</title>(.*?)</g>',
                    re.S)
_TEXT = re.compile(r"<text\b[^>]*>(.*?)</text>", re.S)
_SLOT = re.compile(r'(<text id="mg-s(\d+)"[^>]*>)(.*?)(</text>)', re.S)
_TAG = re.compile(r"<(polygon|polyline|path|ellipse|text)\b([^>]*?)(/?)>")
_DOT_EDGE = re.compile(r"^(\s*)(\S+) -> (\S+)(?: \[(.*)\])?\s*$", re.S)
_DOT_NODE = re.compile(r"^\s*(\S+) \[(.*)\]\s*$", re.S)
_DOT_LABEL = re.compile(r'label="((?:[^"\\]|\\.)*)"')


class _NoTemplate(ValueError):
    """The DOT or the SVG does not read as the template expects."""


def _quoted(s: str) -> str:
    """``s`` inside a DOT string, shown as written (as :func:`~microgrid.viz.dot.text`)."""
    return s.replace("\\", "\\\\").replace('"', '\\"')


def _record_quoted(s: str) -> str:
    """A record label's text (escaped by :func:`~microgrid.viz.dot.field`) as graphviz
    writes it inside quotes: its unescaped quotes escaped."""
    return re.sub(r'(?<!\\)"', '\\\\"', s)


_LAST_FIELD = re.compile(r"\| ((?:[^|\\]|\\.)*) \}$", re.S)
_ESCAPED = re.compile(r"\\(.)", re.S)


def _last_field(line: str) -> re.Match[str] | None:
    """The last field of a record label in a DOT node line (its text still escaped)."""
    label = _DOT_LABEL.search(line)
    if label is None:
        return None
    return _LAST_FIELD.search(line, label.start(1), label.end(1))


def _summary_sizes(diagram: Any, summaries: set[str]) -> dict[tuple[str, str], str]:
    """The size of the gradient each block, matrix or run of a block view shows (the last
    field of its record, ``‖grad out‖ 0.12`` or ``?``) as ``diagram`` draws it."""
    out: dict[tuple[str, str], str] = {}
    for line in diagram.body:
        node = _DOT_NODE.match(line)
        if node is None or node.group(1) not in summaries:
            continue
        last = _last_field(line)
        if last is not None and last.group(1).startswith("‖grad"):
            shown = _ESCAPED.sub(r"\1", last.group(1).replace('\\"', '"'))
            out[node.group(1), "size"] = shown
    return out


def _sized(line: str, text: str) -> str:
    """A block's DOT line with the last field of its record written ``text``."""
    from .dot import field

    last = _last_field(line)
    if last is None:
        raise _NoTemplate("a block's label does not read as expected")
    return line[:last.start(1)] + _record_quoted(field(text)) + line[last.end(1):]


def _widest(texts: Sequence[str]) -> str:
    return max(texts, key=len)


@dataclass
class WalkThrough:
    """The frames of a walk-through and its picture.

    ``frames``: per step ``caption``, ``text``, ``outline``, ``phase``, ``node`` and, with one
    layout (``svg`` set), ``set`` (``[slot, text]`` pairs that change from the step before)
    and ``marks`` (``[element id, kind]`` highlighted, kinds of :data:`MARK_STYLES`);
    without it, ``parts`` (indices into ``parts``, one SVG per step). ``layouts``: how many
    times Graphviz laid the graph out.
    """

    frames: list[dict[str, Any]]
    svg: str | None = None
    slots: int = 0
    parts: list[str] = field(default_factory=list)
    layouts: int = 0

    def texts_at(self, k: int) -> list[str]:
        """Every slot's text at step ``k`` (one layout only)."""
        texts = [""] * self.slots
        for frame in self.frames[:k + 1]:
            for slot, text in frame["set"]:
                texts[slot] = text
        return texts

    def svg_at(self, k: int, marked: bool = True) -> str:
        """The picture of step ``k``, as the page shows it (``marked=False``: its texts,
        without its highlights)."""
        frame = self.frames[k]
        if self.svg is None:
            return "".join(self.parts[i] for i in frame["parts"])
        texts = self.texts_at(k)
        svg = _SLOT.sub(lambda m: m.group(1) + html.escape(texts[int(m.group(2))], quote=False)
                        + m.group(4), self.svg)
        for ident, kind in frame["marks"] if marked else ():
            svg = _mark(svg, ident, MARK_STYLES[kind])
        return svg


def marks_css(marks: Sequence[Sequence[str]]) -> str:
    """CSS giving the parts ``marks`` (``[element id, kind]``) their highlight: the first
    step's highlight in a page read without its script."""
    rules = []
    for ident, kind in marks:
        for element, attrs in MARK_STYLES[kind].items():
            tags = ("polygon", "polyline", "path", "ellipse") if element == "shape" else (
                element,)
            css = ";".join(f"{k}:{v}" for k, v in attrs.items())
            rules.append(",".join(f"#{ident}>{t}" for t in tags) + "{" + css + "}")
    return "".join(rules)


def _mark(svg: str, ident: str, styles: dict[str, dict[str, str]]) -> str:
    """``svg`` with the elements of the group ``ident`` given the attributes ``styles``."""
    m = re.search(r'<g id="' + re.escape(ident) + r'" class="(?:node|edge)">.*?</g>', svg,
                  re.S)
    if m is None:
        raise KeyError(ident)

    def restyle(tag: re.Match[str]) -> str:
        name, attrs = tag.group(1), tag.group(2)
        wanted = styles.get(name, styles.get("shape", {}) if name != "text" else {})
        for key, value in wanted.items():
            pattern = re.compile(r'\s' + re.escape(key) + r'="[^"]*"')
            if pattern.search(attrs):
                attrs = pattern.sub(f' {key}="{value}"', attrs, count=1)
            else:
                attrs += f' {key}="{value}"'
        return f"<{name}{attrs}{tag.group(3)}>"

    return svg[:m.start()] + _TAG.sub(restyle, m.group(0)) + svg[m.end():]


LONG_EDGES = 4000
"""Above this many rank crossings (:func:`_crossings`) the layout routes edges as straight
lines and bounds Graphviz's network simplex (``splines=line nslimit=1 nslimit1=1``): a
193-value chain whose input feeds every third node (8,000 crossings) took over two minutes
to lay out with curved edges, 1.6 s so; an MLP 2-4-4-1 on two examples (140) keeps its
curves and takes 0.2 s."""


def _crossings(items: Sequence[Any]) -> int:
    """About how many ranks the edges cross (Graphviz adds a point to route for each):
    ``Σ rank(target) − rank(source) − 1``, ranks counted from the inputs (an op one below
    its lowest operand, a value one below its op), an input one above its first user."""
    rank: dict[str, int] = {}
    users: dict[str, list[int]] = {}
    edges: list[tuple[str, int]] = []
    for item in items:
        if not item.inputs:
            continue
        at = 1 + max((rank.get(src, 0) for _, src in item.inputs), default=0)
        for _, src in item.inputs:
            users.setdefault(src, []).append(at)
            edges.append((src, at))
        rank[item.ident] = at + (item.op is not None)
    for src, ats in users.items():
        rank.setdefault(src, min(ats) - 1)  # a leaf sits just above its first user
    return sum(max(0, at - rank[src] - 1) for src, at in edges)


def walk_through(root: Value, *, fmt: NumberFormat = ".4g",
                 **draw_options: Any) -> WalkThrough:
    """The walk-through of ``root``: one frame per forward step, then per backward step,
    over one layout of the graph (``draw_options`` as :func:`~microgrid.viz.draw_dot`)."""
    from .explorer import Explorer

    return walk_explorer(Explorer(root, fmt=fmt, **draw_options))


def walk_explorer(explorer: Any) -> WalkThrough:
    """The walk-through of the steps an :class:`~microgrid.viz.explorer.Explorer` shows:
    its value steps, its block steps, or the scalar steps of its open block (it is left
    where it was)."""
    frames = step_frames(explorer)
    here = explorer.position
    try:
        return _one_layout(explorer, frames)
    except _NoTemplate:
        return _every_step(explorer, frames)
    finally:
        explorer.position = here


def step_frames(explorer: Any) -> list[dict[str, Any]]:
    """One frame per step the explorer shows: its ``caption`` (the counter), ``text``,
    ``outline`` (the text's first line), ``phase`` and ``node`` (the step's name)."""
    frames = []
    here = explorer.position
    for position in range(len(explorer)):
        explorer.position = position
        caption, _, text = explorer.text().partition("\n")
        frames.append({"caption": caption, "text": text, "outline": text.split("\n")[0],
                       "phase": explorer.phase, "node": explorer.step.name})
    explorer.position = here
    return frames


def _every_step(explorer: Any, frames: list[dict[str, Any]]) -> WalkThrough:
    """Each step drawn and laid out on its own (the fallback)."""
    parts: list[str] = []
    index: dict[str, int] = {}
    for position, frame in enumerate(frames):
        explorer.position = position
        svg = inline_svg(explorer.diagram().svg())
        frame["parts"] = [index.setdefault(svg, len(parts))]
        if frame["parts"][0] == len(parts):
            parts.append(svg)
    return WalkThrough(frames, parts=parts, layouts=len(frames))


def _style(explorer: Any) -> Any:
    from .dot import Style

    options = explorer.draw_options
    return Style(explorer.fmt, options.get("show_grad", True), options.get("show_local", False),
                 options.get("show_contribution", False),
                 frozenset(options.get("highlight", ())))


def _marks(explorer: Any, position: int) -> Marks:
    # every step draws the grad cell (``?`` before backprop), so all share one layout
    marks: Marks = explorer.marks(position)
    return dataclasses.replace(marks, grads_shown=True)


def _one_layout(explorer: Any, frames: list[dict[str, Any]]) -> WalkThrough:
    from .dot import cell_texts, emit, field

    picture = explorer.description()
    style = dataclasses.replace(_style(explorer), show_contribution=False)
    summaries = {item.ident for item in picture.items if item.role in SUMMARY_ROLES}
    items = [item for item in picture.items
             if item.role != "constant" and item.ident not in summaries]
    watched = list(dict.fromkeys(x for item in picture.items if item.ident in summaries
                                 and item.piece is not None
                                 for x in (*item.piece.inputs, *item.piece.own)))
    sized: tuple[Any, dict[tuple[str, str], str]] = (None, {})
    # what every step writes: (item ident, "data" | "grad") and (item ident, slot) → texts
    cells: dict[tuple[str, str], list[str]] = {}
    flows: dict[tuple[str, int], list[str]] = {}
    states: list[tuple[dict[Any, str], list[tuple[Any, str]]]] = []
    for position in range(len(frames)):
        marks = _marks(explorer, position)
        state: dict[Any, str] = {}
        for item in items:
            data, grad = cell_texts(item, marks, style)
            state[item.ident, "data"] = f"data {data}"
            if grad is not None:
                state[item.ident, "grad"] = f"grad {grad}"
        if summaries:  # drawn again only when a gradient they are made of changes
            seen_key = (marks.grads_shown, marks.grads is None, tuple(
                (n, marks.grads[n]) for n in watched if marks.grads and n in marks.grads))
            if seen_key != sized[0]:
                sized = (seen_key, _summary_sizes(emit(picture, marks, style), summaries))
            state.update(sized[1])
        current = picture.where.get(marks.current) if marks.current is not None else None
        lit: list[tuple[Any, str]] = []
        if current is not None:
            item = picture.by_ident[current]
            lit.append((current, "node"))
            if item.op is not None:
                lit += [(current + "op", "op"), ((current + "op", current), "edge")]
                if item.node is marks.current:
                    for slot, flow in marks.flows.items():
                        state[current, slot] = flow
                        lit.append(((current, slot), "edge"))
        for key, value in state.items():
            (cells if isinstance(key[1], str) else flows).setdefault(key, []).append(value)
        states.append((state, lit))
    widest = {key: _widest(texts) for key, texts in cells.items()}
    room = {key: _widest(texts) for key, texts in flows.items()}

    template = emit(picture, Marks(grads={}, grads_shown=True), style)
    base = {item.ident: cell_texts(item, Marks(grads={}, grads_shown=True), style)
            for item in items}
    body = template.body
    seen: dict[tuple[str, str], int] = {}
    edge_of: dict[tuple[str, str, int], tuple[str, int]] = {}  # (src, op, k-th) → its slot
    for item in items:
        count: dict[str, int] = {}
        for slot, src in item.inputs:
            k = count.get(src, 0)
            count[src] = k + 1
            edge_of[src, item.ident + "op", k] = (item.ident, slot)
    for i, line in enumerate(body):
        edge = _DOT_EDGE.match(line)
        if edge is not None:
            indent, src, dst, attrs = edge.groups()
            k = seen.get((src, dst), 0)
            seen[src, dst] = k + 1
            key = edge_of.get((src, dst, k))
            if key is None or key not in room:
                continue
            ph = _quoted(room[key])
            attrs = attrs or ""
            label = _DOT_LABEL.search(attrs)
            if label is None:
                attrs = f'label="{ph}" ' + attrs
            else:
                attrs = (attrs[:label.end(1)] + "\\n" + ph + attrs[label.end(1):])
            body[i] = f"{indent}{src} -> {dst} [{attrs.strip()}]\n"
            continue
        node = _DOT_NODE.match(line)
        if node is not None and (node.group(1), "size") in widest:
            body[i] = _sized(line, widest[node.group(1), "size"])
            continue
        if node is None or node.group(1) not in base:
            continue
        ident = node.group(1)
        data, grad = base[ident]
        old = f"data {field(data)}" + (f" | grad {field(grad)}" if grad is not None else "")
        new = (f"data {field(widest[ident, 'data'][5:])}"
               + (f" | grad {field(widest[ident, 'grad'][5:])}" if grad is not None else ""))
        at = line.rfind(_record_quoted(old))
        if at < 0:
            raise _NoTemplate(f"the label of {ident} does not read as expected")
        body[i] = line[:at] + _record_quoted(new) + line[at + len(_record_quoted(old)):]
    if _crossings(picture.items) > LONG_EDGES:
        template.graph_attr.update(splines="line", nslimit="1", nslimit1="1")
    svg = template.svg()
    svg = svg[svg.find("<svg"):]
    return _ids(svg, frames, states, widest, room, edge_of)


def _ids(svg: str, frames: list[dict[str, Any]],
         states: list[tuple[dict[Any, str], list[tuple[Any, str]]]], widest: dict[Any, str],
         room: dict[Any, str], edge_of: dict[tuple[str, str, int], tuple[str, int]]
         ) -> WalkThrough:
    """Name the SVG's parts (``mg-<ident>`` groups, ``mg-s<n>`` texts) and store each step
    as its changes."""
    slot_of: dict[Any, int] = {}
    group_id: dict[Any, str] = {}
    out: list[str] = []
    at = 0
    seen: dict[tuple[str, str], int] = {}
    for g in _GROUP.finditer(svg):
        title = html.unescape(g.group(3))
        inner_start = g.start(4)
        texts = list(_TEXT.finditer(svg, g.start(4), g.end(4)))
        wanted: list[tuple[Any, re.Match[str]]] = []
        if g.group(2) == "node":
            ident = title
            gid = "mg-" + ident
            fields = [f for f in ("data", "grad", "size") if (ident, f) in widest]
            if fields:
                if len(texts) < len(fields):
                    raise _NoTemplate(f"the box {ident} has too few texts")
                for f, t in zip(fields, texts[-len(fields):]):
                    shown = html.unescape(t.group(1))
                    if shown != widest[ident, f]:
                        raise _NoTemplate(f"the box {ident} shows {shown!r}")
                    wanted.append(((ident, f), t))
            group_id[ident] = gid
        else:
            src, _, dst = title.partition("->")
            k = seen.get((src, dst), 0)
            seen[src, dst] = k + 1
            key: Any = edge_of.get((src, dst, k), (src, dst))
            gid = f"mg-e{len(group_id)}"
            if key in room:
                if not texts or html.unescape(texts[-1].group(1)) != room[key]:
                    raise _NoTemplate(f"the edge {title} has no room for its contribution")
                wanted.append((key, texts[-1]))
            group_id[key] = gid
        out.append(svg[at:g.start(1)] + gid + svg[g.end(1):inner_start])
        at = inner_start
        for key_, t in wanted:
            slot_of[key_] = len(slot_of)
            tag_end = svg.index(">", t.start())
            out.append(svg[at:t.start()] + f'<text id="mg-s{slot_of[key_]}"'
                       + svg[t.start() + len("<text"):tag_end + 1])
            at = tag_end + 1
    out.append(svg[at:])
    template = "".join(out)
    missing = [k for k in [*widest, *room] if k not in slot_of]
    missing += [part for _, lit in states for part, _ in lit if part not in group_id]
    if missing:
        raise _NoTemplate(f"no part of the SVG found for {missing[0]!r}")
    previous: list[str] | None = None
    for frame, (state, lit) in zip(frames, states):
        now = [""] * len(slot_of)
        for key, text in state.items():
            now[slot_of[key]] = text
        frame["set"] = [[s, t] for s, t in enumerate(now) if previous is None
                        or t != previous[s]]
        frame["marks"] = [[group_id[part], kind] for part, kind in lit]
        previous = now
    return WalkThrough(frames, svg=template, slots=len(slot_of), layouts=1)
