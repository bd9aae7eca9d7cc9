"""micrograd's ``Module``, ``Neuron``, ``Layer`` and ``MLP``, on :mod:`microgrid.micrograd.engine`.

A neuron computes b + w₁x₁ + w₂x₂ + … (left to right, bias first) and applies ReLU unless
``nonlin=False``; an ``MLP`` has ReLU hidden layers and a linear last layer. Weights are drawn
from U(−1, 1) with Python's global ``random`` (layer by layer, neuron by neuron, weight by
weight), biases start at 0, so after the same ``random.seed`` the network is the one
micrograd builds. A layer of one neuron returns a bare ``Value``, as in micrograd.

Two things micrograd does not do: a neuron takes a bare ``Value`` as an input of length one,
so a one-neuron hidden layer feeds the next layer (in micrograd it raises ``TypeError``), and
an input whose length differs from the neuron's number of weights is an error instead of
being cut short silently. Sizes must be ints ≥ 1.
"""

from __future__ import annotations

import numbers
import random
from collections.abc import Callable, Sequence
from typing import Any

from ..engine import Value as _EngineValue
from .engine import Value

_add: Callable[[Any, Any], Any] = _EngineValue.__add__
_mul: Callable[[Any, Any], Any] = _EngineValue.__mul__

__all__ = ["MLP", "Layer", "Module", "Neuron"]


def _size(n: Any, what: str) -> int:
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"{what} must be an int, got {type(n).__name__}: {n!r}")
    if n < 1:
        raise ValueError(f"{what} must be at least 1, got {n}")
    return int(n)


def _inputs(x: Any) -> Any:
    """A neuron's inputs as a sized sequence: a bare ``Value`` or number (the output of a
    one-neuron layer) is an input of length one; an iterator is read into a list."""
    if isinstance(x, (_EngineValue, numbers.Real)):
        return [x]
    if not hasattr(x, "__len__"):
        return list(x)
    return x


class Module:
    """Base class: ``parameters()`` (none here) and ``zero_grad()``."""

    def zero_grad(self) -> None:
        """Set the ``grad`` of every parameter to 0."""
        for p in self.parameters():
            p.grad = 0.0

    def parameters(self) -> list[Value]:
        """The trainable ``Value``s, in a fixed order (a subclass lists its own)."""
        return []


class Neuron(Module):
    """``relu(b + Σᵢ wᵢxᵢ)``, or the sum alone with ``nonlin=False``; wᵢ ~ U(−1, 1), b = 0."""

    def __init__(self, nin: int, nonlin: bool = True) -> None:
        nin = _size(nin, "Neuron nin")
        self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(0)
        self.nonlin = nonlin

    def __call__(self, x: Any) -> Value:
        x = _inputs(x)
        if len(x) != len(self.w):
            raise ValueError(f"Neuron input x has {len(x)} entries but the neuron has "
                             f"{len(self.w)} weights")
        act: Any = self.b
        for wi, xi in zip(self.w, x):
            # Value inputs go to the engine's + and * directly (one call less per node);
            # a number input becomes a leaf Value, as micrograd makes it.
            act = _add(act, _mul(wi, xi)) if isinstance(xi, Value) else act + wi * xi
        return act.relu() if self.nonlin else act  # type: ignore[no-any-return]

    def parameters(self) -> list[Value]:
        """The weights in order, then the bias."""
        return [*self.w, self.b]

    def __repr__(self) -> str:
        kind = "ReLU" if self.nonlin else "Linear"
        return f"{kind}Neuron({len(self.w)})"


class Layer(Module):
    """``nout`` neurons reading the same inputs; one neuron's output is a bare ``Value``."""

    def __init__(self, nin: int, nout: int, **kwargs: Any) -> None:
        nout = _size(nout, "Layer nout")
        self.neurons = [Neuron(nin, **kwargs) for _ in range(nout)]

    def __call__(self, x: Any) -> Value | list[Value]:
        x = _inputs(x)  # an iterator is read once, for every neuron
        outs = [neuron(x) for neuron in self.neurons]
        if len(outs) == 1:
            return outs[0]
        return outs

    def parameters(self) -> list[Value]:
        return [p for neuron in self.neurons for p in neuron.parameters()]

    def __repr__(self) -> str:
        return "Layer of [" + ", ".join(str(n) for n in self.neurons) + "]"


class MLP(Module):
    """Layers of sizes ``nouts`` after ``nin`` inputs: ReLU hidden layers, a linear output."""

    def __init__(self, nin: int, nouts: Sequence[int]) -> None:
        if isinstance(nouts, (str, bytes)) or not isinstance(nouts, Sequence):
            raise TypeError(f"MLP nouts must be a list of layer sizes, got "
                            f"{type(nouts).__name__}: {nouts!r}")
        if not nouts:
            raise ValueError("MLP nouts must list at least one layer size")
        sizes = [_size(nin, "MLP nin"), *(_size(n, "MLP nouts entry") for n in nouts)]
        last = len(nouts) - 1
        self.layers = [Layer(sizes[i], sizes[i + 1], nonlin=i != last)
                       for i in range(len(nouts))]

    def __call__(self, x: Any) -> Value | list[Value]:
        for layer in self.layers:
            x = layer(x)
        return x  # type: ignore[no-any-return]

    def parameters(self) -> list[Value]:
        return [p for layer in self.layers for p in layer.parameters()]

    def __repr__(self) -> str:
        return "MLP of [" + ", ".join(str(layer) for layer in self.layers) + "]"
