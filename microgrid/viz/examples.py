"""The graphs of the lecture notes that the demo and ``microgrid export`` show.

The slide's f = (x + y)·z, one tanh neuron, and Matt Mazur's step-by-step 2-2-2 network,
each built fresh by a function with every value labelled as the notes name it.
:data:`EXAMPLES` names them for ``microgrid export --example``; the tests check the
diagrams, the explorer and the player on the same graphs.
"""

from __future__ import annotations

from collections.abc import Callable

from ..engine import Value
from ..losses import sum_squared_error
from ..nn import MLP

__all__ = ["EXAMPLES", "neuron_example", "slide_example", "worked_example"]


def slide_example() -> Value:
    """f = (x + y)·z with x = −2, y = 5, z = −4 (q = x + y)."""
    x, y, z = Value(-2.0, "x"), Value(5.0, "y"), Value(-4.0, "z")
    q = x + y
    q.label = "q"
    f = q * z
    f.label = "f"
    return f


def neuron_example() -> Value:
    """One tanh neuron o = tanh(w0·x0 + w1·x1 + b), x = (2, 0), w = (−3, 1), b = 6.8814
    (so n = 0.8814 and o = 1/√2)."""
    x0, x1 = Value(2.0, "x0"), Value(0.0, "x1")
    w0, w1, b = Value(-3.0, "w0"), Value(1.0, "w1"), Value(6.8813735870195432, "b")
    n = x0 * w0 + x1 * w1 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return o


def worked_example() -> Value:
    """Matt Mazur's step-by-step example: a 2-2-2 sigmoid network, one bias per layer shared
    by its two neurons, inputs (0.05, 0.10), targets (0.01, 0.99), E = Σ ½(t − out)²."""
    w = [Value(v, f"w{k}") for k, v in
         enumerate([0.15, 0.20, 0.25, 0.30, 0.40, 0.45, 0.50, 0.55], start=1)]
    b1, b2 = Value(0.35, "b1"), Value(0.60, "b2")
    net = MLP.from_weights(weights=[[[w[0], w[1]], [w[2], w[3]]], [[w[4], w[5]], [w[6], w[7]]]],
                           biases=[[b1, b1], [b2, b2]], activation="sigmoid",
                           output_activation="sigmoid", fused=True)
    hidden = net.layers[0]([Value(0.05, "i1"), Value(0.10, "i2")])
    assert isinstance(hidden, list)  # two neurons: a list (one would be a bare Value)
    outputs = net.layers[1](hidden)
    assert isinstance(outputs, list)
    for node, name in zip([*hidden, *outputs], ["h1", "h2", "o1", "o2"]):
        node.label = f"out_{name}"
        node.parents[0].label = f"net_{name}"
    E = sum_squared_error(outputs, [0.01, 0.99])
    E.label = "E_total"
    E.parents[0].label, E.parents[1].label = "E_o1", "E_o2"
    return E


EXAMPLES: dict[str, tuple[Callable[[], Value], str]] = {
    "slide": (slide_example, "f = (x + y)·z, the slide"),
    "neuron": (neuron_example, "one tanh neuron"),
    "worked": (worked_example, "Matt Mazur's step-by-step example (2-2-2 network)"),
}
"""The walk-throughs ``microgrid export`` can write: name → (builder, title)."""

