"""Draw a network as neurons, the way textbooks do: ``draw_network(mlp)``."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..engine import Value
from ..stepper import NumberFormat, format_number
from .colors import COLORS

if TYPE_CHECKING:
    from .render import Diagram

__all__ = ["draw_network"]


def draw_network(model: Any, *, inputs: Sequence[str] | None = None,
                 neurons: Sequence[Sequence[str]] | None = None,
                 fmt: NumberFormat = ".4g", show_grad: bool = False) -> Diagram:
    """A network drawn as neurons, not as a computation graph: one circle per input and per
    neuron, one edge per weight labelled with its name and value (``w5 = 0.4``), one node
    per bias (a bias shared by several neurons is drawn once).

    ``model`` is a :class:`microgrid.nn.MLP` (anything with ``.layers`` of ``.neurons`` with
    ``.w`` and ``.b``). ``inputs`` names the inputs (default ``x0``, ``x1``, …) and
    ``neurons`` the neurons, one list per layer (default ``L0.N0``, …). ``show_grad`` adds
    each weight's ``grad`` to its edge.
    """
    try:
        from .dot import text
        from .render import Diagram
    except ImportError as e:
        raise ImportError("draw_network needs the graphviz package: pip install graphviz") from e

    layers = list(model.layers)
    nin = len(layers[0].neurons[0].w)
    in_names = list(inputs) if inputs is not None else [f"x{i}" for i in range(nin)]
    if len(in_names) != nin:
        raise ValueError(f"draw_network: {len(in_names)} input names for {nin} inputs")
    if not all(isinstance(n, str) for n in in_names):
        raise TypeError("draw_network: the input names must be strings")
    sizes = [len(layer.neurons) for layer in layers]
    if neurons is not None and (
            [len(names) for names in neurons] != sizes
            or not all(isinstance(n, str) for names in neurons for n in names)):
        raise ValueError(f"draw_network: neurons must give {sizes} names (strings), one "
                         "list per layer")
    g = Diagram(name="network", graph_attr={
        "rankdir": "LR", "ranksep": "2.2", "nodesep": "0.6", "fontname": "Helvetica",
        "splines": "line"},
        node_attr={"fontname": "Helvetica", "fontsize": "12", "shape": "circle",
                   "style": "filled", "width": "0.6", "fixedsize": "true"},
        edge_attr={"fontname": "Helvetica", "fontsize": "10", "arrowsize": "0.6",
                   "color": "gray35"})
    with g.subgraph(name="rank_in") as s:
        s.attr(rank="same")
        for i, name in enumerate(in_names):
            s.node(f"in{i}", text(name), fillcolor=COLORS["input"])
        for i in range(nin - 1):  # keep the inputs in order, top to bottom
            s.edge(f"in{i}", f"in{i + 1}", style="invis")
    previous = [f"in{i}" for i in range(nin)]
    last = len(layers) - 1
    for li, layer in enumerate(layers):
        names = (list(neurons[li]) if neurons is not None
                 else [f"L{li}.N{j}" for j in range(len(layer.neurons))])
        ids = [f"l{li}n{j}" for j in range(len(layer.neurons))]
        with g.subgraph(name=f"rank_{li}") as s:
            s.attr(rank="same")
            for ident, name in zip(ids, names):
                s.node(ident, text(name), fillcolor=COLORS["output"] if li == last else "white")
            for a, b in itertools.pairwise(ids):
                s.edge(a, b, style="invis")
        biases: dict[Value, str] = {}
        for j, neuron in enumerate(layer.neurons):
            for k, (w, src) in enumerate(zip(neuron.w, previous)):
                label = f"{w.label or f'w{k}'} = {format_number(w.data, fmt)}"
                if show_grad:
                    label += f"\n(grad {format_number(w.grad, fmt)})"
                g.edge(src, ids[j], taillabel=text(label), labeldistance="4.5", labelangle="12",
                       labelfontsize="10")
            b = neuron.b
            if b not in biases:
                biases[b] = f"l{li}b{len(biases)}"
                g.node(biases[b], text(f"{b.label or 'b'}\n{format_number(b.data, fmt)}"),
                       shape="box", fixedsize="false", fillcolor=COLORS["parameter"],
                       style="filled,rounded", fontsize="10")
            g.edge(biases[b], ids[j], style="dashed", color="gray55")
        previous = ids
    return g
