"""The picture of a computation graph, before any drawing: what is drawn, in what order.

:func:`describe` walks the graph once (one topological order) and returns a
:class:`Picture`: one :class:`Item` per drawn thing, in evaluation order, each with its
name, its role (which colour), the box it sits in, its op and the items feeding it. It
knows nothing about Graphviz; :mod:`microgrid.viz.dot` turns it into DOT, and the
explorer restyles the same picture at every step without walking the graph again.

Structure is read from what the model is, never from labels: parameters and their names
come from the model when it is given (``params=model``, :func:`parameter_names`: its
layers, neurons, ``w`` and ``b``, its ``named_parameters()``, or a ``state_dict`` of
matrices), else from the networks the graph's parameters remember
(:func:`owning_models`: :mod:`microgrid.nn` gives each parameter a block owned by its
neuron). Neuron and layer boxes come from that structure, or, for a model not built of
neurons, from the blocks recorded while the graph was built (``microgrid.blocks()``).
Boxes and the parameters in them are drawn in the model's order
(:meth:`Picture.reading_order`).

A graph with more than ``max_nodes`` values gets a readable view instead of a refusal:
each neuron applied to one example becomes one box (its weighted sum and activation),
or, when that is still too many, each layer applied to one example; each example's
part is boxed as ``example k``, and the picture's ``note`` says what was collapsed.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..engine import Value
from ..graph import topological_order
from ..parts import Part, Parts, Piece, View, partition
from ..recording import Block, block_of
from ..stepper import NumberFormat, format_number, node_names
from ..structure import (
    Params,
    Unit,
    graph_parameters,
    owning_models,
    parameter_boxes,
    parameter_names,
    units_of,
)

__all__ = ["SUMMARY_ROLES", "Box", "DiagramTooLargeError", "Item", "Picture", "Unit",
           "describe", "group_of_label", "owning_models", "parameter_boxes",
           "parameter_names", "units_of"]

Groups = str | Mapping[str, Iterable[Value]] | None

_LEVELS = ("neuron", "layer")
LR_DEPTH = 5
"""The longest path (in values) a graph drawn left to right may have when ``rankdir`` is
not given: the lecture's ``L = (a*b + c)*f`` (4) and its neuron ``o = tanh(x1*w1 + x2*w2 +
b)`` (5) read left to right as on the slides, and still fit a notebook column at 60 %
scale; deeper graphs grow down the page."""
_COLLAPSE = ("neuron", "layer", "model")  # the collapsed views, finest first


class DiagramTooLargeError(ValueError):
    """The graph has more nodes than a readable diagram (``max_nodes``), even collapsed."""


def _check_level(level: Any) -> None:
    if level not in _LEVELS:
        raise ValueError(f"group must be 'neuron', 'layer' or a mapping, got {level!r}")


def group_of_label(label: str, level: str = "neuron") -> str | None:
    """Deprecated: the neuron (``"L0.N1"``) or layer (``"L0"``) a name like ``"L0.N1.w0"``
    spells. Diagrams no longer read structure from labels: they read the model
    (``params=model``) and the blocks its parameters and nodes recorded."""
    warnings.warn("group_of_label is deprecated: diagrams read the model's structure "
                  "(draw_dot(..., params=model)), not labels", DeprecationWarning,
                  stacklevel=2)
    _check_level(level)
    parts = label.split(".")
    keep = len(parts) - (1 if level == "neuron" else 2)
    return ".".join(parts[:keep]) if keep >= 1 else None


@dataclass(frozen=True)
class Item:
    """One drawn thing: a value's record (plus its op node when it has operands), or a box
    standing for a collapsed part of the graph (``members`` values, shown by the value
    leaving it)."""

    ident: str
    node: Value
    role: str  # output, parameter, input, constant, interior, box
    name: str
    group: str | None  # the title of the box (cluster) it is drawn in
    op: str | None  # the op node's text ("+", "** 2"), None for a leaf or a box
    inputs: tuple[tuple[int, str], ...]  # (operand slot, ident of the item feeding it)
    members: int = 1
    piece: Piece | None = None  # in a block view: the piece of the graph it stands for


SUMMARY_ROLES = frozenset({"block", "matrix", "run"})
"""The roles of items of a block view that stand for many values: a closed ``block``, a
parameter ``matrix``, a ``run`` of one operation (their label is no ``name | data | grad``
record, and ``item.piece`` says what they hold)."""


@dataclass(frozen=True)
class Box:
    """A box (graphviz cluster) of a block view: an open block, drawn with ``title``
    inside the box ``parent`` (its key in :attr:`Picture.boxes`; None: at the top)."""

    title: str
    parent: str | None = None
    part: Part | None = None


@dataclass
class Picture:
    """Everything :mod:`~microgrid.viz.dot` needs to draw a graph, in evaluation order."""

    roots: list[Value]
    items: list[Item]
    where: dict[Value, str]  # the ident of the item each drawn value is shown in
    names: dict[Value, str]  # every value's name (for edge texts ∂out/∂operand)
    params: frozenset[Value]
    rankdir: str
    values: int  # values in the graph (constants included unless hidden)
    note: str | None = None  # what was collapsed, shown under the title
    title: str | None = None
    collapsed: bool = False
    by_ident: dict[str, Item] = field(default_factory=dict)
    rank: dict[Value, int] = field(default_factory=dict)  # parameters in the model's order
    # a block view: the boxes items are in (item.group is a key here, else the box's
    # title), the scalar edges each (source ident, target ident) stands for, the view
    boxes: dict[str, Box] = field(default_factory=dict)
    edge_counts: dict[tuple[str, str], int] = field(default_factory=dict)
    view: View | None = None
    parts: Parts | None = None

    def __post_init__(self) -> None:
        self.by_ident = {item.ident: item for item in self.items}

    def reading_order(self) -> list[Item]:
        """The items in the order a reader expects them: the boxes (clusters) in order of
        their first parameter (``L0.N0`` before ``L0.N1``) or of their first item, and in
        each box its parameters in the model's order (``w0, w1, b``), then the rest in
        evaluation order."""
        box_rank: dict[str, tuple[int, int]] = {}
        for k, item in enumerate(self.items):
            if item.group is not None:
                first = (self.rank.get(item.node, len(self.rank)), k)
                box_rank[item.group] = min(box_rank.get(item.group, first), first)

        def key(k_item: tuple[int, Item]) -> tuple[Any, ...]:
            k, item = k_item
            box = box_rank.get(item.group, (-1, -1)) if item.group is not None else (-1, -1)
            return (box, self.rank.get(item.node, len(self.rank)), k)
        return [item for _, item in sorted(enumerate(self.items), key=key)]


def _role(node: Value, roots: set[Value], params: Mapping[Value, str]) -> str:
    if node in roots:
        return "output"
    if node in params:
        return "parameter"
    if node.is_constant:
        return "constant"
    if node.is_leaf:
        return "input"
    return "interior"


def _block_boxes(order: Sequence[Value], level: str) -> dict[Value, str]:
    """Boxes from the blocks recorded while the graph was built (``microgrid.blocks()``):
    each node made in a block is boxed by its innermost block (``"neuron"``), the one
    enclosing that (``"layer"``) or the outermost (``"model"``)."""
    out: dict[Value, str] = {}
    for node in order:
        b: Block | None = block_of(node)
        if b is None or (node.is_leaf and b.kind == "module"):
            continue  # made outside any block, or a parameter (it remembers its module)
        if level == "layer" and b.parent is not None:
            b = b.parent
        elif level == "model":
            b = b.ancestors()[-1]
        out[node] = b.title
    return out


def _assign_groups(order: Sequence[Value], params: Mapping[Value, str],
                   group: Groups, models: Sequence[Any] = ()) -> dict[Value, str]:
    """Each node's box. Explicit groups are taken as given. For ``"neuron"``/``"layer"``
    the structure of the models (``models``: an MLP, layer or neuron, given or found
    through what its parameters remember) puts a parameter in its neuron/layer, an op
    node in the group of the parameters it reads, or else in the one group all its
    (non-constant) operands share; a graph of no such model is boxed by its recorded
    blocks. Labels are never read."""
    if group is None:
        return {}
    if isinstance(group, Mapping):
        out = {}
        for name, nodes in group.items():
            if not isinstance(name, str):
                raise TypeError(f"group: box titles must be strings, got {name!r}")
            for node in nodes:
                out[node] = name
        return out
    if not isinstance(group, str):
        raise TypeError(f"group must be 'neuron', 'layer' or a mapping, got {group!r}")
    if group != "model":
        _check_level(group)
    boxes = parameter_boxes(models, group)
    if not boxes:
        return _block_boxes(order, group)
    out = {}
    for node in order:
        if node in params:
            if node in boxes:
                out[node] = boxes[node]
            continue
        g = _joins(node, out, params)
        if g is not None:
            out[node] = g
    return out


def const_slot(node: Value, i: int) -> bool:
    """Is operand ``i`` a slot the op declares constant (the exponent of ``x ** 3``)?"""
    op: Any = node.op
    slots = getattr(op, "const_operands", None)
    if slots is not None:
        return i in slots
    return bool(getattr(op, "const_operand", False)) and i == 1


def _joins(node: Value, groups: Mapping[Value, str], params: Mapping[Value, str]) -> str | None:
    """The group an op node belongs to: the one of the parameters it reads; else, for a
    sum of a neuron's terms or its activation, the one group all its operands share. An
    op with a free constant operand (``p - 1.0``) or a unary op on a unary op (the log of
    an activation) starts something new: a loss, not the neuron."""
    parents = [p for p in node.parents if not p.is_constant]
    if not parents:
        return None
    from_params = {groups.get(p) for p in parents if p in params}
    candidates = from_params or {groups.get(p) for p in parents}
    if len(candidates) != 1 or None in candidates:
        return None
    if not from_params:
        if any(p.is_constant and not const_slot(node, i) for i, p in enumerate(node.parents)):
            return None
        if len(parents) == 1 and sum(not q.is_constant for q in parents[0].parents) == 1:
            return None
    return candidates.pop()


def _shown_name(name: str, model_name: str | None, box: str | None, group: Groups) -> str:
    """Inside the box of neuron ``L0.N1`` the parameter ``L0.N1.w0`` is written ``w0``
    (also when its label adds a prefix to the model's name: ``net.L0.N1.w0``)."""
    if model_name and name.endswith("." + model_name):
        name = model_name
    if isinstance(group, str) and box and name.startswith(box + "."):
        return name[len(box) + 1:]
    return name


def _op_text(node: Value, hide_constants: bool, fmt: NumberFormat) -> str:
    if not hide_constants:
        return node.op.symbol
    consts = [format_number(p.data, fmt) for p in node.parents if p.is_constant]
    return " ".join([node.op.symbol, *consts])


def _depth(items: Sequence[Item]) -> int:
    """The number of items on the longest path: how many ranks the layout needs."""
    depth: dict[str, int] = {}
    for item in items:
        depth[item.ident] = 1 + max((depth[i] for _, i in item.inputs), default=0)
    return max(depth.values(), default=0)


def _full(order: Sequence[Value], names: Mapping[Value, str], roots: set[Value],
          params: Mapping[Value, str], group: Groups, hide_constants: bool,
          fmt: NumberFormat, models: Sequence[Any]) -> tuple[list[Item], dict[Value, str]]:
    groups = _assign_groups(order, params, group, models)
    ids = {node: f"n{i}" for i, node in enumerate(order)}
    items: list[Item] = []
    where: dict[Value, str] = {}
    for node in order:
        if hide_constants and node.is_constant:
            continue
        where[node] = ids[node]
        inputs = tuple((i, ids[p]) for i, p in enumerate(node.parents)
                       if not (hide_constants and p.is_constant))
        items.append(Item(
            ids[node], node, _role(node, roots, params),
            _shown_name(names[node], params.get(node), groups.get(node), group),
            groups.get(node),
            _op_text(node, hide_constants, fmt) if node.parents else None, inputs))
    return items, where


def _components(order: Sequence[Value], params: Mapping[Value, str],
                groups: Mapping[Value, str]) -> dict[Value, Value]:
    """Each grouped non-parameter value → the last value of its connected part of the
    group (one application of a neuron or layer to one example)."""
    parent: dict[Value, Value] = {}

    def find(v: Value) -> Value:
        while parent[v] is not v:
            parent[v] = parent[parent[v]]
            v = parent[v]
        return v

    for node in order:
        g = groups.get(node)
        if g is None or node in params or node.is_constant:
            continue
        parent[node] = node
        for p in node.parents:
            if p in parent and groups.get(p) == g:
                a, b = find(p), find(node)
                if a is not b:
                    parent[a] = b
    last: dict[Value, Value] = {}
    for node in order:  # later nodes overwrite: the last in evaluation order wins
        if node in parent:
            last[find(node)] = node
    return {node: last[find(node)] for node in parent}


def _collapsed(order: Sequence[Value], names: Mapping[Value, str], roots: set[Value],
               params: Mapping[Value, str], level: str, fmt: NumberFormat,
               models: Sequence[Any]) -> tuple[list[Item], dict[Value, str], int]:
    """Items with each application of a neuron (layer) drawn as one box; parameters and
    constants are not drawn. Also returns how many boxes there are."""
    groups = _assign_groups(order, params, level, models)
    exit_of = _components(order, params, groups)
    members: dict[Value, list[Value]] = {}
    for node, exit_node in exit_of.items():
        members.setdefault(exit_node, []).append(node)
    hidden = set(params)
    if level == "model":  # the data going into the network is inside its box too
        fed: dict[Value, bool] = {}
        for node in order:
            for p in node.parents:
                fed[p] = fed.get(p, True) and node in exit_of
        hidden |= {n for n in order if n.is_leaf and fed.get(n, False) and n not in roots}
    items: list[Item] = []
    where: dict[Value, str] = {}
    for k, node in enumerate(order):
        if node.is_constant or node in hidden:
            continue
        if node in exit_of and exit_of[node] is not node:
            continue  # drawn inside the box of its exit value
        ident = f"n{k}"
        inside = members.get(node, [node])
        feeding: dict[str, int] = {}
        for m in inside:
            for i, p in enumerate(m.parents):
                if p in where and exit_of.get(p) is not node:
                    feeding.setdefault(where[p], i)
        for m in inside:
            where[m] = ident
        inputs = tuple((i, src) for src, i in feeding.items())
        if node in members and len(inside) > 1:
            items.append(Item(ident, node, "output" if node in roots else "box",
                              groups[node], None, None, inputs, len(inside)))
        else:
            items.append(Item(ident, node, _role(node, roots, params), names[node], None,
                              _op_text(node, True, fmt) if node.parents else None, inputs))
    return _by_example(items), where, len({e for e in exit_of.values() if len(members[e]) > 1})


def _by_example(items: Sequence[Item]) -> list[Item]:
    """The collapsed ``items`` with each example's part in a box titled ``example k``.

    An example's part is what its boxes (neurons, layers or the network applied to it)
    connect: a box joins the parts of the items it reads, and another item joins a part
    when every part among its operands is that one (``(p - y) ** 2`` joins its example;
    the sum of two examples' losses joins none). Parts are numbered in evaluation order,
    so ``example 0`` is the first example the loss reads. One part: no boxes drawn.
    """
    parent: dict[str, str] = {}

    def find(i: str) -> str:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    loose: set[str] = set()  # leaves not yet in a part
    for item in items:
        sources = [src for _, src in item.inputs]
        parts = {find(src) for src in sources if src in parent}
        if item.role == "box" or len(parts) == 1:
            parent[item.ident] = item.ident
            for src in sources:
                if src in parent:
                    parent[find(src)] = item.ident
                elif src in loose:
                    parent[src] = item.ident
        elif not item.inputs:
            loose.add(item.ident)
    titles: dict[str, str] = {}
    for item in items:
        if item.ident in parent and item.role == "box":
            titles.setdefault(find(item.ident), f"example {len(titles)}")
    if len(titles) < 2:
        return list(items)
    return [replace(item, group=titles[find(item.ident)])
            if item.ident in parent and find(item.ident) in titles else item
            for item in items]


def _too_large(values: int, max_nodes: int, tried: str,
               no_model: bool) -> DiagramTooLargeError:
    hint = (" If it is a network's graph, pass the model (draw_dot(loss, params=model)) so "
            "that each neuron applied to one example is drawn as one box, or build the graph "
            "inside `with microgrid.blocks():` so that each function call is."
            if no_model else "")
    return DiagramTooLargeError(
        f"this graph has {values} values, more than max_nodes={max_nodes}{tried}: a "
        "diagram that size cannot be read. Draw a smaller part (one neuron's output, one "
        f"example's loss: draw_dot(part)), or pass max_nodes={values} to draw every value "
        f"anyway (laying out thousands of nodes can take minutes).{hint}")


GRAD_OUT = "‖grad out‖"
"""How a block's gradient is written: the 2-norm of the gradient it sends back to its
inputs in ``backward()`` (:meth:`~microgrid.parts.Piece.grad_norm`)."""


def _cluster(parts: Parts, piece: Piece) -> Part | None:
    """The open part a piece is drawn in (None: at the top)."""
    if piece.kind == "part":
        return piece.part.parent if piece.part is not None else None
    if piece.kind == "run":
        return piece.part
    if piece.kind == "value" and piece.value is not None:
        return parts.part_of.get(piece.value)
    return None


def _block_items(parts: Parts, view: View, names: Mapping[Value, str], roots: set[Value],
                 params: Mapping[Value, str], hide_constants: bool, fmt: NumberFormat
                 ) -> tuple[list[Item], dict[Value, str], dict[str, Box],
                            dict[tuple[str, str], int]]:
    """The items of a block view: one per piece (a value as its record and op, a closed
    block, a matrix or a run as one item), each in the box of the open part it is made in;
    with ``hide_constants`` a constant drawn alone is left out (written into its op)."""
    boxes: dict[str, Box] = {}
    key_of: dict[Part, str] = {}

    def box(part: Part | None) -> str | None:
        if part is None or part is parts.root:
            return None
        key = key_of.get(part)
        if key is None:
            parent = box(part.parent)
            key = key_of[part] = f"c{len(key_of)}"
            boxes[key] = Box(part.title, parent, part)
        return key

    ident: list[str] = []
    for k, piece in enumerate(view.pieces):
        if piece.kind == "value" and piece.value is not None:
            ident.append(f"n{parts.position[piece.value]}")
        else:
            ident.append(f"{piece.kind[0]}{k}")
    hidden = {k for k, piece in enumerate(view.pieces) if hide_constants
              and piece.kind == "value" and piece.value is not None and piece.value.is_constant}
    where = {v: ident[k] for v, k in view.piece_of.items() if k not in hidden}
    sources: dict[int, list[int]] = {}
    counts: dict[tuple[str, str], int] = {}
    for (a, b), n in sorted(view.edges.items()):
        if a not in hidden:
            sources.setdefault(b, []).append(a)
            counts[ident[a], ident[b]] = n
    items: list[Item] = []
    for k, piece in enumerate(view.pieces):
        if k in hidden:
            continue
        group = box(_cluster(parts, piece))
        v = piece.value
        if piece.kind == "value" and v is not None:
            inputs = tuple((i, ident[view.piece_of[p]]) for i, p in enumerate(v.parents)
                           if view.piece_of[p] not in hidden)
            items.append(Item(ident[k], v, _role(v, roots, params), names[v], group,
                              _op_text(v, hide_constants, fmt) if v.parents else None,
                              inputs, 1, piece))
            continue
        node = (piece.outputs or piece.own or
                [next(x for x, j in view.piece_of.items() if j == k)])[-1]
        role = {"part": "block", "matrix": "matrix", "run": "run"}[piece.kind]
        inputs = tuple(enumerate(ident[a] for a in sources.get(k, ())))
        items.append(Item(ident[k], node, role, piece.title, group, None, inputs,
                          piece.values, piece))
    return items, where, boxes, counts


def _opened_within(targets: Sequence[Part], levels: int) -> set[Part]:
    """The parts of ``targets`` and below them down to ``levels`` levels."""
    return {q for t in targets for q in t.walk() if q.depth - t.depth < levels}


def _down_to(parts: Parts, depth: int) -> set[Part]:
    """The parts open in a cut at ``depth``."""
    return {p for p in parts.root.walk() if p.depth <= depth}


def _height(part: Part) -> int:
    return max(q.depth for q in part.walk()) - part.depth + 1


def _pieces_text(n: int, what: str) -> str:
    return f"{n} {what}" + ("" if n == 1 else "s")


def _block_view(parts: Parts, max_nodes: int, depth: int | None,
                expand: str | Iterable[str] | None) -> tuple[View, int, str]:
    """The view of a block picture and what its note says about it.

    Without ``depth`` the deepest depth whose pieces fit ``max_nodes`` (Parts.deepest).
    Each block named by ``expand`` is opened down to single values when they fit, else
    one level (the blocks in it closed). The values drawn one by one are read as runs
    (Parts.runs: 96 inputs as one item ``inputs ×96``), but for those of the blocks opened
    down to single values; refused (DiagramTooLargeError) when that is still too many."""
    targets = parts.named(expand) if expand is not None else []
    forced = depth is not None
    if depth is None:
        depth = parts.fitting_depth(max_nodes)
    opened = _down_to(parts, depth)
    notes: list[str] = []
    view: View | None = None
    if targets:
        one = len(targets) == 1
        names = (targets[0].name if one else f"the {len(targets)} blocks "
                 + (", ".join(t.name for t in targets) if len(targets) <= 3
                    else f"expand={expand!r} names"))
        whole = _opened_within(targets, max(map(_height, targets)))
        view = None
        for d in ([depth] if forced else range(depth, -1, -1)):  # the deepest that fits
            size = parts.size(_down_to(parts, d) | whole)
            if size <= max_nodes:  # the blocks asked for one value at a time, the rest tidied
                view = parts.runs(parts.view(_down_to(parts, d) | whole), keep=whole)
                depth = d
                break
        if view is None:  # one level open, the blocks in it closed, its values as runs
            view = parts.runs(parts.view(opened | set(targets)))
            inner = [c.name for t in targets for c in t.children]
            its = "its" if one else "their"
            if len(view.pieces) > max_nodes:
                raise DiagramTooLargeError(
                    f"expand={expand!r}: {names} opened one level still "
                    f"{'has' if one else 'have'} {len(view.pieces)} pieces with {its} values "
                    f"read as runs, more than max_nodes={max_nodes}. "
                    + (f"Expand a block inside ({', '.join(map(repr, inner[:3]))}), "
                       if inner else "Expand fewer blocks, ")
                    + f"pass max_nodes={len(view.pieces)}, or pass max_nodes={size} to see "
                    "every value.")
            what = (f"{'it is' if one else 'they are'} opened one level, {its} blocks closed "
                    f"(expand={inner[0]!r} opens one) and {its} own values drawn as runs"
                    if inner else f"{its} values are drawn as runs")
            notes.append(f"{names} {'holds' if one else 'hold'} "
                         f"{sum(t.values for t in targets)} values, too many to draw one by "
                         f"one within max_nodes={max_nodes}: {what}; pass max_nodes={size} "
                         "to see each")
    else:
        view = parts.runs(parts.view(opened))
        if len(view.pieces) > max_nodes:
            how = (f"drawn as blocks to depth {depth}" if parts.root.children
                   else "read by its parameters and runs of values")
            raise DiagramTooLargeError(
                f"this graph has {parts.values} values; {how} it still has "
                f"{len(view.pieces)} items, more than max_nodes={max_nodes}. "
                + ("" if parts.root.children else "Build it inside `with microgrid.blocks():` "
                   "to draw it by the functions that made it, ")
                + ("Pass a smaller depth, " if depth and parts.root.children else "")
                + f"draw a smaller part (draw_dot(part)), or pass max_nodes="
                f"{len(view.pieces)}.")
    runs = sorted((p for p in view.pieces if p.kind == "run"),
                  key=lambda p: p.title.startswith("inputs"))  # an operation's, if any
    if runs:
        what, _, n = runs[0].title.rpartition(" ×")
        made = "inputs" if what == "inputs" else f"values made by {what}"
        notes.append(f"the values of one operation on the same pieces are drawn as one run "
                     f"('{runs[0].title}': {n} {made})")
    return view, depth, "; ".join(notes)


def _block_note(parts: Parts, view: View, depth: int, values: int, max_nodes: int,
                asked: bool, said: str) -> str:
    """What a block view's note says: why it is one, what is closed and how to open it,
    and what its numbers mean."""
    closed = [p for p in view.pieces if p.kind == "part"]
    matrices = sum(1 for p in view.pieces if p.kind == "matrix")
    lines = [] if asked else [f"{values} values are more than max_nodes={max_nodes}, so"]
    if parts.root.children:
        lines.append("the graph is drawn by the blocks recorded while it was built")
        if closed:
            biggest = max(closed, key=lambda p: p.values)
            lines.append(f"({_pieces_text(len(closed), 'closed block')} holding "
                         f"{sum(p.values for p in closed)} values; open one with "
                         f"expand={biggest.part.name if biggest.part else ''!r} or "
                         f"depth={depth + 1})")
    else:
        lines.append("the graph is drawn by its parameters and runs of values (no blocks "
                     "were recorded: build it inside `with microgrid.blocks():` to see it by "
                     "the functions that made it)")
    text = " ".join(lines)
    text = text[0].upper() + text[1:]
    if said:
        text += f"; {said}"
    if matrices:
        text += (f"; {matrices} parameter {'matrix' if matrices == 1 else 'matrices'} drawn "
                 "as one item each")
    text += (f". {GRAD_OUT}: the size (2-norm) of the gradient a block sends back to its "
             "inputs in backward(); ×n on an edge: the n scalar edges it stands for.")
    if not asked:
        text += f" Draw a part, or pass max_nodes={values} to see every value."
    return text


def _neuron_view(order: Sequence[Value], names: Mapping[Value, str], roots: set[Value],
                 params: Mapping[Value, str], fmt: NumberFormat, models: Sequence[Any],
                 values: int, max_nodes: int
                 ) -> tuple[list[Item], dict[Value, str], str] | None:
    """A network built of neurons, collapsed: each neuron (else layer, else the network)
    applied to one example as one box, when that fits ``max_nodes`` (None when not)."""
    for level in _COLLAPSE:
        items, where, boxes = _collapsed(order, names, roots, params, level, fmt, models)
        if boxes and len(items) <= max_nodes:
            what = ("the network" if level == "model" else f"each {level}") + \
                " applied to one example"
            hidden = ("weights, biases, inputs and constants" if level == "model"
                      else "weights, biases and constants")
            return items, where, (
                f"{values} values are more than max_nodes={max_nodes}, so {what} "
                f"is drawn as one box ({boxes} boxes) showing the value leaving it; "
                f"{hidden} are not drawn. Draw a part, or pass max_nodes={values} to see "
                "every value.")
    return None


def describe(root: Value | Iterable[Value], *, fmt: NumberFormat = ".4g",
             hide_constants: bool = False, params: Params = None,
             group: Groups = None, max_nodes: int = 200, rankdir: str | None = None,
             title: str | None = None, expand: str | Iterable[str] | None = None,
             depth: int | None = None) -> Picture:
    """The :class:`Picture` of the graph below ``root`` (see :func:`~microgrid.draw_dot`).

    ``rankdir`` None picks left to right (``"LR"``) when the longest path has at most
    :data:`LR_DEPTH` values (5: the lecture's expressions and its neuron, drawn as on the
    slides) and top to bottom for deeper ones, which then grow down the page instead of
    across it.
    """
    roots = [root] if isinstance(root, Value) else list(root)
    if not roots or not all(isinstance(r, Value) for r in roots):
        raise TypeError("draw_dot: root must be a Value or an iterable of Values")
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 1:
        raise ValueError(f"max_nodes must be a positive int, got {max_nodes!r}")
    if rankdir not in (None, "LR", "TB", "RL", "BT"):
        raise ValueError(f"rankdir must be 'LR', 'TB', 'RL', 'BT' or None, got {rankdir!r}")
    if title is not None and not isinstance(title, str):
        raise TypeError(f"title must be a string, got {title!r}")
    if isinstance(group, str):
        _check_level(group)  # 'neuron' or 'layer', else a ValueError naming group
    if depth is not None and (isinstance(depth, bool) or not isinstance(depth, int)
                              or depth < 0):
        raise ValueError(f"depth must be a non-negative int or None, got {depth!r}")
    if expand is not None and not isinstance(expand, str):
        if not isinstance(expand, Iterable):
            raise TypeError(f"expand must be a block name or a list of them, got {expand!r}")
        expand = list(expand)
    order: list[Value] = topological_order(roots)
    root_set = set(roots)
    param_names, models = graph_parameters(order, params)
    param_set = frozenset(param_names)
    # a parameter the model names but nobody labelled is shown by that name ("w0")
    unnamed = {p: name for p, name in param_names.items() if not p.label and name}
    names = node_names([n for n in order if n not in unnamed], fmt) | unnamed
    values = sum(1 for n in order if not (hide_constants and n.is_constant))
    note = None
    collapsed = False
    asked = depth is not None or expand is not None
    blocks: dict[str, Any] = {}
    found = None
    if values <= max_nodes and not asked:
        items, where = _full(order, names, root_set, param_names, group, hide_constants, fmt,
                             models)
    else:
        if not asked and any(units_of(m) is not None for m in models):
            found = _neuron_view(order, names, root_set, param_names, fmt, models, values,
                                 max_nodes)
        if found is not None:
            items, where, note = found
        else:
            parts = partition(roots, params, order=order)
            if not (asked or parts.root.children or parts.matrix_of):
                raise _too_large(values, max_nodes, "", params is None)
            view, depth, said = _block_view(parts, max_nodes, depth, expand)
            items, where, boxes, counts = _block_items(parts, view, names, root_set,
                                                       param_names, hide_constants, fmt)
            note = _block_note(parts, view, depth, values, max_nodes, asked, said)
            values = sum(item.members for item in items)
            blocks = {"boxes": boxes, "edge_counts": counts, "view": view, "parts": parts}
        collapsed = True
    if rankdir is None:
        rankdir = "LR" if _depth(items) <= LR_DEPTH else "TB"
    rank = {p: k for k, p in enumerate(param_names)}
    return Picture(roots, items, where, names, param_set, rankdir,
                   values, note, title, collapsed, rank=rank, **blocks)
