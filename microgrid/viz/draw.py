"""Draw a computation graph the way lecture slides do: ``draw_dot(f)``.

Left to right, one record per ``Value`` (label | data | grad) and one small node per op
(its symbol from the op table: ``+``, ``*``, ``exp``, ``σ``, ``tanh``, …), with edges
inputs → op → output. The result is a :class:`~microgrid.render.Diagram` (a
``graphviz.Digraph``): it shows itself in Jupyter and saves ``.svg``/``.png``.

Colours (after torchviz): the output is green, parameters are blue, other leaves (the
data) are yellow, constants grey; highlighted nodes get a thick red border.

The graphviz package is imported only when a diagram is drawn, so ``import microgrid``
works without it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..engine import Value
from ..graph import topological_order
from ..stepper import (
    BackwardStep,
    ForwardStep,
    NumberFormat,
    format_number,
    grads_after,
    node_names,
)

if TYPE_CHECKING:
    from .render import Diagram

__all__ = ["COLORS", "DiagramTooLargeError", "draw_dot", "group_of_label"]

COLORS = {
    "output": "darkolivegreen1",
    "parameter": "lightblue",
    "input": "lightyellow",
    "constant": "gray93",
    "interior": "white",
    "op": "gray88",
    "highlight": "red",
    "grad": "#b03a2e",
    "unknown": "gray55",
    "flow": "#c0392b",
    "cluster": "gray97",
}
"""Fill and line colours of the diagram, by role."""

_PARAM_LABEL = re.compile(r"(^|\.)N\d+\.(w\d+|b)$")


class DiagramTooLargeError(ValueError):
    """The graph has more nodes than a readable diagram (``max_nodes``)."""


def group_of_label(label: str, level: str = "neuron") -> str | None:
    """The neuron (``"L0.N1"``) or layer (``"L0"``) of a parameter labelled ``"L0.N1.w0"``."""
    parts = label.split(".")
    keep = len(parts) - (1 if level == "neuron" else 2)
    if level not in ("neuron", "layer"):
        raise ValueError(f"group must be 'neuron', 'layer' or a mapping, got {level!r}")
    return ".".join(parts[:keep]) if keep >= 1 else None


@dataclass
class _State:
    """What the diagram shows of each node: data known? which grads? which flows?"""

    known: set[Value] | None = None  # None: every node's data is known
    grads: Mapping[Value, float] | None = None  # None: read node.grad
    current: Value | None = None
    flows: dict[int, str] = field(default_factory=dict)  # parent slot → edge label


def _step_state(steps: Sequence[ForwardStep] | Sequence[BackwardStep], at: int | None,
                fmt: NumberFormat) -> tuple[_State, bool]:
    """The state after ``steps[at]`` and whether grads are shown (backward steps)."""
    if not steps:
        return _State(), True
    k = len(steps) - 1 if at is None else at
    if not -1 <= k < len(steps):
        raise IndexError(f"at={at} is outside the {len(steps)} steps")
    if isinstance(steps[0], ForwardStep):
        known = {s.node for s in steps[:k + 1]}
        current = steps[k].node if k >= 0 else None
        return _State(known=known, grads={}, current=current), False
    bsteps: Sequence[BackwardStep] = steps  # type: ignore[assignment]
    state = _State(grads=grads_after(bsteps, k) if k >= 0 else {})
    if k >= 0:
        step = bsteps[k]
        state.current = step.node
        for i, c in enumerate(step.contributions):
            if not c.constant:
                state.flows[i] = (f"{format_number(step.upstream, fmt)} × "
                                  f"{_paren(format_number(c.local, fmt))} = "
                                  f"{format_number(c.contribution, fmt)}")
    return state, True


def _paren(text: str) -> str:
    return f"({text})" if text.startswith("-") else text


def _assign_groups(order: Sequence[Value], params: set[Value],
                   group: str | Mapping[str, Iterable[Value]] | None) -> dict[Value, str]:
    """Each node's cluster. Explicit groups are taken as given; by label, a parameter
    belongs to its neuron/layer, an op node to the group of the parameters it reads, or
    else to the one group all its (non-constant) operands share."""
    if group is None:
        return {}
    if isinstance(group, Mapping):
        return {node: name for name, nodes in group.items() for node in nodes}
    out: dict[Value, str] = {}
    for node in order:
        if node in params:
            g = group_of_label(node.label, group)
            if g is not None:
                out[node] = g
            continue
        parents = [p for p in node.parents if not p.is_constant]
        if not parents:
            continue
        from_params = {out.get(p) for p in parents if p in params}
        candidates = from_params or {out.get(p) for p in parents}
        if len(candidates) == 1 and None not in candidates:
            out[node] = candidates.pop()  # type: ignore[assignment]
    return out


def _shown_name(name: str, cluster: str | None,
                group: str | Mapping[str, Iterable[Value]] | None) -> str:
    """Inside the box of neuron ``L0.N1`` the parameter ``L0.N1.w0`` is written ``w0``."""
    if isinstance(group, str) and cluster and name.startswith(cluster + "."):
        return name[len(cluster) + 1:]
    return name


def _role(node: Value, roots: set[Value], params: set[Value]) -> str:
    if node in roots:
        return "output"
    if node in params:
        return "parameter"
    if node.is_constant:
        return "constant"
    if node.is_leaf:
        return "input"
    return "interior"


_RECORD_SPECIAL = re.compile(r'([{}|<>"\\])')


def _field(text: str) -> str:
    """``text`` escaped for one field of a Graphviz record label."""
    return _RECORD_SPECIAL.sub(r"\\\1", text)


def _record(name: str, data: str | None, grad: str | None) -> str:
    """The record label of one Value: ``{ name | data … | grad … }``."""
    fields = [_field(name)] if name else []
    if data is not None:
        fields.append(f"data {_field(data)}")
    if grad is not None:
        fields.append(f"grad {_field(grad)}")
    return "{ " + " | ".join(fields) + " }"


def draw_dot(
    root: Value | Iterable[Value],
    *,
    fmt: NumberFormat = ".4g",
    show_grad: bool = True,
    show_local: bool = False,
    show_contribution: bool = False,
    highlight: Iterable[Value] = (),
    hide_constants: bool = False,
    params: Iterable[Value] | None = None,
    group: str | Mapping[str, Iterable[Value]] | None = None,
    steps: Sequence[ForwardStep] | Sequence[BackwardStep] | None = None,
    at: int | None = None,
    max_nodes: int = 200,
    rankdir: str = "LR",
    title: str | None = None,
) -> Diagram:
    """The graph below ``root`` (one ``Value`` or several) as a :class:`Diagram`.

    ``fmt``: how numbers are written (a format spec, default ``".4g"`` = 4 significant
    digits, or a function). ``show_grad``: the grad cell. ``show_local``: label each edge
    operand → op with the local derivative ∂out/∂operand; ``show_contribution``: with the
    contribution ∂L/∂out · ∂out/∂operand it sends back (from the current ``.grad``).
    ``highlight``: nodes drawn with a thick red border. ``hide_constants``: leave out
    constant operands and write them into the op node instead (``** 2``).
    ``params``: the parameters (blue); by default the leaves labelled as microgrid.nn
    labels them (``"L0.N1.w0"``, ``"L0.N1.b"``). ``group``: ``"neuron"`` or ``"layer"``
    boxes the nodes of each neuron or layer (read from parameter labels), or a mapping
    ``{title: nodes}`` gives the boxes explicitly.

    ``steps`` (from :func:`~microgrid.stepper.forward_steps` or
    :func:`~microgrid.stepper.backward_steps`) and ``at`` draw the state after
    ``steps[at]`` (default: the last): the current node highlighted, the values computed
    so far (forward; the leaves' values are given from the start) or the gradients known so
    far (backward), ``?`` for the rest, and the contributions flowing into the operands of
    the current node on its edges.

    Raises :class:`DiagramTooLargeError` when more than ``max_nodes`` values would be drawn.
    """
    roots = [root] if isinstance(root, Value) else list(root)
    order: list[Value] = topological_order(roots)
    drawn = [n for n in order if not (hide_constants and n.is_constant)]
    if len(drawn) > max_nodes:
        raise DiagramTooLargeError(
            f"this graph has {len(drawn)} values, more than max_nodes={max_nodes}: a "
            "diagram that size cannot be read. Draw a smaller part (one neuron's output, "
            "one example's loss), pass hide_constants=True or group='neuron', or raise "
            "max_nodes to draw it anyway.")

    try:
        from .render import Diagram  # imports graphviz, only now
    except ImportError as e:
        raise ImportError("draw_dot needs the graphviz package (the DOT writer): "
                          "pip install graphviz") from e

    names = node_names(order, fmt)
    root_set = set(roots)
    if params is None:
        param_set = {n for n in order if n.is_leaf and _PARAM_LABEL.search(n.label)}
    else:
        param_set = set(params)
    highlighted = set(highlight)
    state, grads_shown = _step_state(steps, at, fmt) if steps is not None else (_State(), True)
    show_grad = show_grad and grads_shown
    if state.current is not None:
        highlighted.add(state.current)
    groups = _assign_groups(order, param_set, group)
    names = {n: _shown_name(name, groups.get(n), group) for n, name in names.items()}
    ids = {node: f"n{i}" for i, node in enumerate(order)}

    g = Diagram(
        name="microgrid",
        graph_attr={"rankdir": rankdir, "nodesep": "0.2", "ranksep": "0.35",
                    "fontname": "Helvetica", "fontsize": "12", "bgcolor": "white"},
        node_attr={"fontname": "Helvetica", "fontsize": "11", "shape": "record",
                   "style": "filled", "height": "0.3"},
        edge_attr={"color": "gray30", "arrowsize": "0.6", "fontname": "Helvetica",
                   "fontsize": "9"},
    )
    if title:
        g.attr(label=title, labelloc="t", fontsize="14")

    clusters: dict[str, list[tuple[str, dict[str, str]]]] = {}
    top: list[tuple[str, dict[str, str]]] = []

    def add(node: Value, ident: str, attrs: dict[str, str]) -> None:
        name = groups.get(node)
        (clusters.setdefault(name, []) if name is not None else top).append((ident, attrs))

    for node in drawn:
        role = _role(node, root_set, param_set)
        known = state.known is None or node in state.known or node.is_leaf
        data = format_number(node.data, fmt) if known else "?"
        grad: str | None = None
        if show_grad and not node.is_constant:
            if state.grads is None:
                grad = format_number(node.grad, fmt)
            else:
                grad = (format_number(state.grads[node], fmt) if node in state.grads
                        else "?")
        label = ("{ " + _field(data) + " }" if node.is_constant
                 else _record(names[node], data, grad))
        attrs = {"label": label, "fillcolor": COLORS[role]}
        if node in highlighted:
            attrs.update(color=COLORS["highlight"], penwidth="3")
        elif node.is_constant:
            attrs.update(style="filled,dashed", color="gray50")
        add(node, ids[node], attrs)
        parents = node.parents
        if not parents:
            continue
        op_label = node.op.symbol
        if hide_constants:
            consts = [format_number(p.data, fmt) for p in parents if p.is_constant]
            op_label = " ".join([op_label, *consts])
        current = node is state.current
        add(node, ids[node] + "op", {
            "label": op_label, "shape": "ellipse", "style": "filled",
            "fillcolor": COLORS["op"], "height": "0.3", "width": "0.3",
            "margin": "0.05,0.02", "fontsize": "12",
            "color": COLORS["flow"] if current else "gray40",
            "penwidth": "2" if current else "1"})

    for k, (name, members) in enumerate(clusters.items()):
        with g.subgraph(name=f"cluster_{k}") as c:
            c.attr(label=name, style="rounded,filled", fillcolor=COLORS["cluster"],
                   color="gray70", fontsize="10", fontcolor="gray30")
            for ident, attrs in members:
                c.node(ident, **attrs)
    for ident, attrs in top:
        g.node(ident, **attrs)

    for node in drawn:
        parents = node.parents
        if not parents:
            continue
        current = node is state.current
        want_local = show_local or (show_contribution and state.grads is None)
        locals_: tuple[float, ...] = ()
        if want_local:
            locals_ = node.local_grads()
        for i, p in enumerate(parents):
            if hide_constants and p.is_constant:
                continue
            edge: dict[str, str] = {}
            const_slot = node.op.const_operand and i == 1
            if current and i in state.flows:
                edge = {"label": state.flows[i], "color": COLORS["flow"],
                         "fontcolor": COLORS["flow"], "penwidth": "2"}
            elif locals_ and not const_slot:
                parts = []
                if show_local:
                    parts.append(f"∂{names[node]}/∂{names[p]} = "
                                 f"{format_number(locals_[i], fmt)}")
                if show_contribution and state.grads is None:
                    parts.append(f"{format_number(node.grad, fmt)} × "
                                 f"{_paren(format_number(locals_[i], fmt))} = "
                                 f"{format_number(node.grad * locals_[i], fmt)}")
                edge = {"label": "\n".join(parts), "fontcolor": "gray25"}
            g.edge(ids[p], ids[node] + "op", **edge)
        edge = {"color": COLORS["flow"], "penwidth": "2"} if current else {}
        g.edge(ids[node] + "op", ids[node], **edge)
    return g
