"""Neurons, layers and multi-layer perceptrons, built from ``Value`` nodes.

A neuron computes ``act(b + Σᵢ wᵢ·xᵢ)``. By default the weighted sum is built from ``*`` and
``+`` nodes, one per term, so a diagram shows every product; ``fused=True`` uses the single
:func:`microgrid.wsum` node instead (same numbers, same gradients, far fewer nodes).
Either way the gradient comes from the chain rule.

* Activations by name: ``"sigmoid"``, ``"tanh"``, ``"relu"``, ``"leaky_relu"`` (slope 0.01),
  ``"softplus"``, ``"linear"`` (none).
* Initialization, seeded and reproducible: ``"uniform"`` draws weights from U[−ε, ε]
  (the lecture notes' symmetry breaking, ε = 0.12 by default); ``"xavier"`` (Glorot) from
  U[−a, a] with a = √(6 / (fan_in + fan_out)); ``"he"`` from U[−a, a] with a = √(6 / fan_in).
  Biases start at zero (``bias_init="zero"``) or from the same distribution as the weights
  (``bias_init="uniform"``).
* Parameters are labelled by where they live: ``"L0.N1.w0"`` is weight 0 of neuron 1 of
  layer 0, ``"L0.N1.b"`` its bias. ``named_parameters()`` gives the same paths.
* A network can be built from given weights (:meth:`MLP.from_weights`); passing the same
  ``Value`` twice shares it, as the worked example's one bias for two neurons.

Calling a :class:`Layer` or an :class:`MLP` always returns a list of ``Value`` — a list of one
for a one-neuron layer, never a bare ``Value``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable, Sequence

from .engine import Value, wsum

__all__ = ["ACTIVATIONS", "MLP", "Layer", "Module", "Neuron"]

Input = Value | int | float
Activation = Callable[[Value], Value]


def _linear(x: Value) -> Value:
    return x


ACTIVATIONS: dict[str, Activation] = {
    "sigmoid": Value.sigmoid,
    "tanh": Value.tanh,
    "relu": Value.relu,
    "leaky_relu": Value.leaky_relu,
    "softplus": Value.softplus,
    "linear": _linear,
}
"""Activation functions by name."""

_INITS = ("uniform", "xavier", "he")
_BIAS_INITS = ("zero", "uniform")


def _choice(value: object, choices: Iterable[str], what: str) -> str:
    options = ", ".join(repr(c) for c in choices)
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, one of {options}; got {type(value).__name__}")
    if value not in choices:
        raise ValueError(f"unknown {what} {value!r}; choose one of {options}")
    return value


def _count(n: object, what: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"{what} must be an int, got {type(n).__name__}: {n!r}")
    if n < 1:
        raise ValueError(f"{what} must be at least 1, got {n}")
    return n


def _bound(init: str, fan_in: int, fan_out: int, epsilon: float) -> float:
    """The half-width a of the uniform distribution U[−a, a] that ``init`` draws from."""
    if init == "xavier":
        return math.sqrt(6.0 / (fan_in + fan_out))
    if init == "he":
        return math.sqrt(6.0 / fan_in)
    if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or not (
            math.isfinite(epsilon) and epsilon >= 0.0):
        raise ValueError(f"epsilon must be a finite number >= 0, got {epsilon!r}")
    return float(epsilon)


def _parameter(x: Value | float, label: str, what: str) -> Value:
    """A given weight: a ``Value`` is used as it is (labelled if it has no label)."""
    if isinstance(x, Value):
        if not x.label:
            x.label = label
        return x
    try:
        return Value(x, label)
    except (TypeError, ValueError) as e:
        raise type(e)(f"{what}: {e}") from None


def _unique(named: Iterable[tuple[str, Value]]) -> list[tuple[str, Value]]:
    """Drop repeats of a shared parameter (the first name wins)."""
    seen: set[Value] = set()
    out = []
    for name, p in named:
        if p not in seen:
            seen.add(p)
            out.append((name, p))
    return out


def _check_inputs(x: object, n: int, who: str) -> Sequence[Input]:
    if isinstance(x, (Value, int, float, str, bytes)) or not isinstance(x, Sequence):
        raise TypeError(f"{who} expects a list of {n} inputs (numbers or Values), "
                        f"got {type(x).__name__}")
    if len(x) != n:
        raise ValueError(f"{who} expects {n} inputs, got {len(x)}")
    return x


class Module:
    """Something with parameters: ``parameters()``, ``named_parameters()``, ``zero_grad()``."""

    def named_parameters(self) -> list[tuple[str, Value]]:
        """(path, parameter) pairs, each parameter once, in a fixed order."""
        return []

    def parameters(self) -> list[Value]:
        """Every parameter once (a shared one is listed once), in a fixed order."""
        return [p for _, p in self.named_parameters()]

    def zero_grad(self) -> None:
        """Set every parameter's ``grad`` to 0.0 (leaves accumulate across ``backward()``)."""
        for p in self.parameters():
            p.grad = 0.0


class Neuron(Module):
    """out = act(b + Σᵢ wᵢ·xᵢ) for ``nin`` inputs.

    ``weights``/``bias`` give the parameters explicitly (``Value``s are used as they are, so
    a ``Value`` passed to two neurons is shared; numbers become new ``Value``s); otherwise they
    are drawn by ``init`` and ``bias_init`` from ``rng`` if given, else from
    ``random.Random(seed)``. ``fan_out`` (the width of the neuron's layer) only matters for
    ``init="xavier"``.
    """

    def __init__(self, nin: int, activation: str = "tanh", *, init: str = "uniform",
                 epsilon: float = 0.12, bias_init: str = "zero", seed: int | None = None,
                 fused: bool = False, label: str = "",
                 weights: Sequence[Value | float] | None = None,
                 bias: Value | float | None = None, fan_out: int = 1,
                 rng: random.Random | None = None) -> None:
        self.nin = _count(nin, "Neuron: nin")
        self.activation = _choice(activation, ACTIVATIONS, "activation")
        self._act = ACTIVATIONS[activation]
        self.fused = bool(fused)
        self.label = label
        who = f"Neuron {label}" if label else "Neuron"
        prefix = f"{label}." if label else ""
        _choice(init, _INITS, "init")
        _choice(bias_init, _BIAS_INITS, "bias_init")
        a = _bound(init, self.nin, fan_out, epsilon)
        rng = rng if rng is not None else random.Random(seed)
        if weights is None:
            self.w = [Value(rng.uniform(-a, a), f"{prefix}w{i}") for i in range(self.nin)]
        else:
            if isinstance(weights, (Value, str)) or not isinstance(weights, Sequence):
                raise TypeError(f"{who}: weights must be a list of {self.nin} Values or "
                                f"numbers, got {type(weights).__name__}")
            if len(weights) != self.nin:
                raise ValueError(f"{who}: {len(weights)} weights given for {self.nin} inputs")
            self.w = [_parameter(w, f"{prefix}w{i}", f"{who}: weight {i}")
                      for i, w in enumerate(weights)]
        if bias is None:
            b = rng.uniform(-a, a) if bias_init == "uniform" else 0.0
            self.b = Value(b, f"{prefix}b")
        else:
            self.b = _parameter(bias, f"{prefix}b", f"{who}: bias")

    def __call__(self, x: Sequence[Input]) -> Value:
        return self._forward(_check_inputs(x, self.nin, f"Neuron {self.label}".rstrip()))

    def _forward(self, x: Sequence[Input]) -> Value:
        if self.fused:
            net = wsum(self.w, x, self.b)
        else:
            net = self.b
            for wi, xi in zip(self.w, x):
                net = net + wi * xi
        return self._act(net)

    def named_parameters(self) -> list[tuple[str, Value]]:
        return _unique([*((f"w{i}", w) for i, w in enumerate(self.w)), ("b", self.b)])

    def __repr__(self) -> str:
        return f"Neuron({self.nin}, activation={self.activation!r})"


class Layer(Module):
    """``nout`` neurons reading the same ``nin`` inputs; calling it returns a list of ``nout``.

    ``weights`` is one list of ``nin`` weights per neuron, ``biases`` one bias per neuron.
    """

    def __init__(self, nin: int, nout: int, activation: str = "tanh", *,
                 init: str = "uniform", epsilon: float = 0.12, bias_init: str = "zero",
                 seed: int | None = None, fused: bool = False, label: str = "",
                 weights: Sequence[Sequence[Value | float]] | None = None,
                 biases: Sequence[Value | float] | None = None,
                 rng: random.Random | None = None) -> None:
        self.nin = _count(nin, "Layer: nin")
        self.nout = _count(nout, "Layer: nout")
        self.activation = _choice(activation, ACTIVATIONS, "activation")
        self.label = label
        who = f"Layer {label}" if label else "Layer"
        for given, what in ((weights, "weight lists"), (biases, "biases")):
            if given is not None and len(given) != self.nout:
                raise ValueError(f"{who}: {len(given)} {what} given for {self.nout} neurons")
        rng = rng if rng is not None else random.Random(seed)
        prefix = f"{label}." if label else ""
        self.neurons = [
            Neuron(self.nin, activation, init=init, epsilon=epsilon, bias_init=bias_init,
                   fused=fused, label=f"{prefix}N{j}", fan_out=self.nout, rng=rng,
                   weights=None if weights is None else weights[j],
                   bias=None if biases is None else biases[j])
            for j in range(self.nout)]

    @property
    def fused(self) -> bool:
        """Whether the neurons use the fused ``wsum`` node (settable)."""
        return self.neurons[0].fused

    @fused.setter
    def fused(self, value: bool) -> None:
        for n in self.neurons:
            n.fused = bool(value)

    def __call__(self, x: Sequence[Input]) -> list[Value]:
        return self._forward(_check_inputs(x, self.nin, f"Layer {self.label}".rstrip()))

    def _forward(self, x: Sequence[Input]) -> list[Value]:
        return [n._forward(x) for n in self.neurons]

    def named_parameters(self) -> list[tuple[str, Value]]:
        return _unique((f"N{j}.{name}", p) for j, n in enumerate(self.neurons)
                       for name, p in n.named_parameters())

    def __repr__(self) -> str:
        return f"Layer({self.nin}, {self.nout}, activation={self.activation!r})"


class MLP(Module):
    """A multi-layer perceptron: ``nin`` inputs, then one layer per entry of ``sizes``.

    ``activation`` is used by every hidden layer (a name, or a list of one name per hidden
    layer); ``output_activation`` by the last layer. Weights are drawn with
    ``random.Random(seed)``, so the same seed gives the same network.
    """

    def __init__(self, nin: int, sizes: Sequence[int], activation: str | Sequence[str] = "tanh",
                 output_activation: str = "linear", *, init: str = "uniform",
                 epsilon: float = 0.12, bias_init: str = "zero", seed: int | None = 0,
                 fused: bool = False, label: str = "",
                 weights: Sequence[Sequence[Sequence[Value | float]]] | None = None,
                 biases: Sequence[Sequence[Value | float]] | None = None) -> None:
        self.nin = _count(nin, "MLP: nin")
        if isinstance(sizes, (int, str)) or not isinstance(sizes, Sequence) or not sizes:
            raise TypeError(f"MLP: sizes must be a non-empty list of layer sizes, "
                            f"got {sizes!r}")
        self.sizes = [_count(s, f"MLP: sizes[{i}]") for i, s in enumerate(sizes)]
        hidden = len(self.sizes) - 1
        if isinstance(activation, str):
            acts = [activation] * hidden
        else:
            acts = list(activation)
            if len(acts) != hidden:
                raise ValueError(f"MLP: {len(acts)} activations given for {hidden} hidden "
                                 "layers (the output layer uses output_activation)")
        self.activations = [_choice(a, ACTIVATIONS, "activation") for a in acts]
        self.activations.append(_choice(output_activation, ACTIVATIONS, "output_activation"))
        self.label = label
        for given, what in ((weights, "weight matrices"), (biases, "bias lists")):
            if given is not None and len(given) != len(self.sizes):
                raise ValueError(f"MLP: {len(given)} {what} given for "
                                 f"{len(self.sizes)} layers")
        rng = random.Random(seed)
        prefix = f"{label}." if label else ""
        fan_ins = [self.nin, *self.sizes[:-1]]
        self.layers = [
            Layer(fan_ins[i], self.sizes[i], self.activations[i], init=init, epsilon=epsilon,
                  bias_init=bias_init, fused=fused, label=f"{prefix}L{i}", rng=rng,
                  weights=None if weights is None else weights[i],
                  biases=None if biases is None else biases[i])
            for i in range(len(self.sizes))]

    @classmethod
    def from_weights(cls, weights: Sequence[Sequence[Sequence[Value | float]]],
                     biases: Sequence[Sequence[Value | float]] | None = None,
                     activation: str | Sequence[str] = "tanh",
                     output_activation: str = "linear", *, fused: bool = False,
                     label: str = "") -> MLP:
        """An MLP with the given parameters: ``weights[l][j]`` lists the weights of neuron
        j of layer l, ``biases[l][j]`` its bias (zeros when ``biases`` is None).

        Numbers become new ``Value``s; a ``Value`` is used as it is, so passing one ``Value``
        in several places shares it (one bias for a whole layer, say).
        """
        if not weights or not weights[0] or not weights[0][0]:
            raise ValueError("MLP.from_weights: weights must be a non-empty list of layers, "
                             "each a list of neurons, each a list of weights")
        sizes = [len(layer) for layer in weights]
        if biases is None:
            biases = [[0.0] * n for n in sizes]
        return cls(len(weights[0][0]), sizes, activation, output_activation, fused=fused,
                   label=label, weights=weights, biases=biases)

    @property
    def output_activation(self) -> str:
        """The last layer's activation name."""
        return self.activations[-1]

    @property
    def fused(self) -> bool:
        """Whether the neurons use the fused ``wsum`` node (settable)."""
        return self.layers[0].fused

    @fused.setter
    def fused(self, value: bool) -> None:
        for layer in self.layers:
            layer.fused = value

    def __call__(self, x: Sequence[Input]) -> list[Value]:
        out = self.layers[0]._forward(_check_inputs(x, self.nin, "MLP"))
        for layer in self.layers[1:]:
            out = layer._forward(out)
        return out

    def named_parameters(self) -> list[tuple[str, Value]]:
        return _unique((f"L{i}.{name}", p) for i, layer in enumerate(self.layers)
                       for name, p in layer.named_parameters())

    def __repr__(self) -> str:
        hidden = self.activations[:-1]
        act = hidden[0] if hidden and len(set(hidden)) == 1 else hidden
        return (f"MLP({self.nin}, {self.sizes}, activation={act!r}, "
                f"output_activation={self.output_activation!r})")
