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
  layer 0, ``"L0.N1.b"`` its bias. ``named_parameters()`` and ``state_dict()`` use the same
  paths (the built-ins name their lists ``L``/``N``/``w``; other modules use dotted names).
* Your own modules work as in PyTorch: subclass :class:`Module` and assign ``Value``s,
  modules, or lists/tuples/dicts of them to attributes; they are registered in assignment
  order under dotted names (``"layers.0.w.2"``). See :class:`Module`.
* A network can be built from given weights (:meth:`MLP.from_weights`); passing the same
  ``Value`` twice shares it, as the worked example's one bias for two neurons.

**One output is a** ``Value``. Calling a :class:`Neuron`, a one-neuron :class:`Layer` or an
:class:`MLP` whose last layer has one neuron returns a bare ``Value`` (so ``(model(x) - y)**2``
works as in micrograd and the lecture); several outputs come back as a list of ``Value``.
Inside an :class:`MLP` layers always pass lists to each other, so a hidden layer of one
neuron is an ordinary layer (its one output is the next layer's one input).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from typing import ClassVar

from . import _validate as check
from .engine import Value, wsum
from .module import LoadResult, Module
from .recording import Block, block_of, place, recorded

__all__ = ["ACTIVATIONS", "MAX_PARAMETERS", "MLP", "Layer", "LoadResult", "Module", "Neuron"]

Input = Value | int | float
Activation = Callable[[Value], Value]

MAX_PARAMETERS = 2_000_000
"""The most parameters a built-in network may have. Each parameter is a ``Value`` (about
200 bytes with its label), and a scalar engine spends microseconds per weight per example,
so a larger network would exhaust memory or patience; raise this limit if you mean it."""


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


def _bound(init: str, fan_in: int, fan_out: int, epsilon: object) -> float:
    """The half-width a of the uniform distribution U[−a, a] that ``init`` draws from."""
    eps = check.real(epsilon, "epsilon", low=0.0)
    if init == "xavier":
        return math.sqrt(6.0 / (fan_in + fan_out))
    if init == "he":
        return math.sqrt(6.0 / fan_in)
    return eps


def _parameter(x: Value | float, label: str, what: str) -> Value:
    """A given weight: a ``Value`` is used as it is (labelled if it has no label)."""
    if isinstance(x, Value):
        if not x.label:
            x.label = label
        return x
    try:
        return Value(check.plain(x), label)
    except (TypeError, ValueError, OverflowError) as e:
        raise type(e)(f"{what}: {e}") from None


def _check_inputs(x: object, n: int, who: str) -> Sequence[Input]:
    if check.is_numpy(x):
        x = check.plain(x)
    if isinstance(x, (Value, int, float, str, bytes)) or not isinstance(x, Sequence):
        raise TypeError(f"{who} expects a list of {n} inputs (numbers or Values), "
                        f"got {type(x).__name__}")
    if len(x) != n:
        raise ValueError(f"{who} expects {n} inputs, got {len(x)}")
    if any(type(v).__module__ == "numpy" for v in x):  # numpy scalars: Python numbers
        x = [check.plain(v) for v in x]
    return x


def _block_name(module: Module, kind: str) -> str:
    """The name of a module's block while blocks are recorded: the last part of its label
    (``"N1"`` for neuron ``"L0.N1"``), else its kind (``"Neuron"``)."""
    label = getattr(module, "label", "")
    return label.rpartition(".")[2] if isinstance(label, str) and label else kind


def _own(module: Module, parent: Block | None = None) -> None:
    """Each parameter of ``module`` remembers it: a module block (``N1`` inside ``L0``)
    owned by the module whose ``w``/``b`` hold it, so a diagram reads which neuron and layer
    a parameter belongs to from the model, whatever it is labelled. Called by each
    constructor for its whole tree (a layer re-parents its neurons' blocks under its own).
    A parameter another module already owns (shared, or from another model) keeps its
    owner unless that owner is inside this tree."""
    blk = Block(_block_name(module, type(module).__name__), parent, "module", module)
    if isinstance(module, Neuron):
        for p in (*module.w, module.b):
            b = block_of(p)
            if b is None or b.kind != "module" or b.owner is module:
                place(p, blk)
        return
    children: Sequence[Module] = (module.neurons if isinstance(module, Layer) else
                                  module.layers if isinstance(module, MLP) else [])
    for child in children:
        _own(child, blk)


def _limit(count: int, what: str) -> None:
    if count > MAX_PARAMETERS:
        raise ValueError(f"{what} would have {count:,} parameters, more than "
                         f"microgrid.nn.MAX_PARAMETERS = {MAX_PARAMETERS:,} (each is a Python "
                         "object; this would exhaust memory). Raise the limit if you mean it.")


class Neuron(Module):
    """out = act(b + Σᵢ wᵢ·xᵢ) for ``nin`` inputs.

    ``weights``/``bias`` give the parameters explicitly (``Value``s are used as they are, so
    a ``Value`` passed to two neurons is shared; numbers become new ``Value``s); otherwise they
    are drawn by ``init`` and ``bias_init`` from ``rng`` if given, else from
    ``random.Random(seed)``. ``fan_out`` (the width of the neuron's layer) only matters for
    ``init="xavier"``.
    """

    _naming: ClassVar[dict[str, str]] = {"w": "w{}", "b": "b"}

    def __init__(self, nin: int, activation: str = "tanh", *, init: str = "uniform",
                 epsilon: float = 0.12, bias_init: str = "zero", seed: int | None = None,
                 fused: bool = False, label: str = "",
                 weights: Sequence[Value | float] | None = None,
                 bias: Value | float | None = None, fan_out: int = 1,
                 rng: random.Random | None = None) -> None:
        nin = check.count(nin, "Neuron: nin")
        _limit(nin + 1, f"Neuron({nin})")
        if not isinstance(label, str):
            raise TypeError(f"Neuron: label must be a str, got {type(label).__name__}")
        who = f"Neuron {label}" if label else "Neuron"
        prefix = f"{label}." if label else ""
        check.choice(init, _INITS, f"{who}: init")
        check.choice(bias_init, _BIAS_INITS, f"{who}: bias_init")
        fan_out = check.count(fan_out, f"{who}: fan_out")
        a = _bound(init, nin, fan_out, epsilon)
        rng = _rng(rng, seed, who)
        self.nin = nin
        self.activation = activation
        self.fused = fused
        self.label = label
        if weights is None:
            w = [Value(rng.uniform(-a, a), f"{prefix}w{i}") for i in range(nin)]
        else:
            weights = check.plain(weights)
            if isinstance(weights, (Value, str)) or not isinstance(weights, Sequence):
                raise TypeError(f"{who}: weights must be a list of {nin} Values or "
                                f"numbers, got {type(weights).__name__}")
            if len(weights) != nin:
                raise ValueError(f"{who}: {len(weights)} weights given for {nin} inputs")
            w = [_parameter(wi, f"{prefix}w{i}", f"{who}: weight {i}")
                 for i, wi in enumerate(weights)]
        if bias is None:
            b = Value(rng.uniform(-a, a) if bias_init == "uniform" else 0.0, f"{prefix}b")
        else:
            b = _parameter(check.plain(bias), f"{prefix}b", f"{who}: bias")
        self.w = w
        self.b = b
        _own(self)

    @property
    def activation(self) -> str:
        """The activation's name (settable: one of :data:`ACTIVATIONS`)."""
        return self._activation

    @activation.setter
    def activation(self, name: str) -> None:
        self._activation = check.choice(name, ACTIVATIONS, "activation")
        self._act = ACTIVATIONS[name]

    @property
    def fused(self) -> bool:
        """Whether Σ wᵢxᵢ + b is one fused ``wsum`` node (settable)."""
        return self._fused

    @fused.setter
    def fused(self, value: bool) -> None:
        self._fused = check.flag(value, "fused")

    def __call__(self, x: Sequence[Input]) -> Value:
        return self._forward(_check_inputs(x, self.nin, f"Neuron {self.label}".rstrip()))

    @recorded(lambda n: _block_name(n, "Neuron"))
    def _forward(self, x: Sequence[Input]) -> Value:
        if self._fused:
            net = wsum(self.w, x, self.b)
        else:
            net = self.b
            for wi, xi in zip(self.w, x):
                net = net + wi * xi
        return self._act(net)

    def __repr__(self) -> str:
        return f"Neuron({self.nin}, activation={self.activation!r})"


def _rng(rng: object, seed: object, who: str) -> random.Random:
    if rng is not None:
        if not isinstance(rng, random.Random):
            raise TypeError(f"{who}: rng must be a random.Random, got {type(rng).__name__}")
        return rng
    return random.Random(check.seed(seed, f"{who}: seed"))


class Layer(Module):
    """``nout`` neurons reading the same ``nin`` inputs; calling it returns their ``nout``
    outputs as a list (one neuron: its output as a bare ``Value``).

    ``weights`` is one list of ``nin`` weights per neuron, ``biases`` one bias per neuron.
    """

    _naming: ClassVar[dict[str, str]] = {"neurons": "N{}"}

    def __init__(self, nin: int, nout: int, activation: str = "tanh", *,
                 init: str = "uniform", epsilon: float = 0.12, bias_init: str = "zero",
                 seed: int | None = None, fused: bool = False, label: str = "",
                 weights: Sequence[Sequence[Value | float]] | None = None,
                 biases: Sequence[Value | float] | None = None,
                 rng: random.Random | None = None) -> None:
        nin = check.count(nin, "Layer: nin")
        nout = check.count(nout, "Layer: nout")
        _limit((nin + 1) * nout, f"Layer({nin}, {nout})")
        check.choice(activation, ACTIVATIONS, "Layer: activation")
        fused = check.flag(fused, "Layer: fused")
        if not isinstance(label, str):
            raise TypeError(f"Layer: label must be a str, got {type(label).__name__}")
        who = f"Layer {label}" if label else "Layer"
        weights, biases = check.plain(weights), check.plain(biases)
        for given, what in ((weights, "weight lists"), (biases, "biases")):
            if given is not None:
                given = check.sequence(given, f"{who}: {what}")
                if len(given) != nout:
                    raise ValueError(f"{who}: {len(given)} {what} given for {nout} neurons")
        rng = _rng(rng, seed, who)
        prefix = f"{label}." if label else ""
        self.nin = nin
        self.nout = nout
        self.label = label
        self.neurons = [
            Neuron(nin, activation, init=init, epsilon=epsilon, bias_init=bias_init,
                   fused=fused, label=f"{prefix}N{j}", fan_out=nout, rng=rng,
                   weights=None if weights is None else weights[j],
                   bias=None if biases is None else biases[j])
            for j in range(nout)]
        _own(self)

    @property
    def activation(self) -> str:
        """The neurons' activation name (settable)."""
        return str(self.neurons[0].activation)

    @activation.setter
    def activation(self, name: str) -> None:
        check.choice(name, ACTIVATIONS, "activation")
        for n in self.neurons:
            n.activation = name

    @property
    def fused(self) -> bool:
        """Whether the neurons use the fused ``wsum`` node (settable)."""
        return bool(self.neurons[0].fused)

    @fused.setter
    def fused(self, value: bool) -> None:
        value = check.flag(value, "fused")
        for n in self.neurons:
            n.fused = value

    def __call__(self, x: Sequence[Input]) -> Value | list[Value]:
        """The layer's outputs: a bare ``Value`` when ``nout == 1``, else a list of ``nout``."""
        out = self._forward(_check_inputs(x, self.nin, f"Layer {self.label}".rstrip()))
        return out[0] if len(out) == 1 else out

    @recorded(lambda layer: _block_name(layer, "Layer"))
    def _forward(self, x: Sequence[Input]) -> list[Value]:
        return [n._forward(x) for n in self.neurons]

    def __repr__(self) -> str:
        return f"Layer({self.nin}, {self.nout}, activation={self.activation!r})"


class MLP(Module):
    """A multi-layer perceptron: ``nin`` inputs, then one layer per entry of ``sizes``.

    ``activation`` is used by every hidden layer (a name, or a list of one name per hidden
    layer); ``output_activation`` by the last layer. Weights are drawn with
    ``random.Random(seed)``, so the same seed gives the same network.
    """

    _naming: ClassVar[dict[str, str]] = {"layers": "L{}"}

    def __init__(self, nin: int, sizes: Sequence[int], activation: str | Sequence[str] = "tanh",
                 output_activation: str = "linear", *, init: str = "uniform",
                 epsilon: float = 0.12, bias_init: str = "zero", seed: int | None = 0,
                 fused: bool = False, label: str = "",
                 weights: Sequence[Sequence[Sequence[Value | float]]] | None = None,
                 biases: Sequence[Sequence[Value | float]] | None = None) -> None:
        nin = check.count(nin, "MLP: nin")
        sizes = check.plain(sizes)
        if isinstance(sizes, (int, str)) or not isinstance(sizes, Sequence) or not sizes:
            raise TypeError(f"MLP: sizes must be a non-empty list of layer sizes, "
                            f"got {sizes!r}")
        sizes = [check.count(s, f"MLP: sizes[{i}]") for i, s in enumerate(sizes)]
        fan_ins = [nin, *sizes[:-1]]
        _limit(sum((a + 1) * b for a, b in zip(fan_ins, sizes)), f"MLP({nin}, {sizes})")
        hidden = len(sizes) - 1
        if isinstance(activation, str):
            acts = [activation] * hidden
            check.choice(activation, ACTIVATIONS, "MLP: activation")
        else:
            acts = list(check.sequence(activation, "MLP: activation"))
            if len(acts) != hidden:
                raise ValueError(f"MLP: {len(acts)} activations given for {hidden} hidden "
                                 "layers (the output layer uses output_activation)")
        acts = [check.choice(a, ACTIVATIONS, f"MLP: activation[{i}]") for i, a in enumerate(acts)]
        acts.append(check.choice(output_activation, ACTIVATIONS, "MLP: output_activation"))
        fused = check.flag(fused, "MLP: fused")
        if not isinstance(label, str):
            raise TypeError(f"MLP: label must be a str, got {type(label).__name__}")
        weights, biases = check.plain(weights), check.plain(biases)
        for given, what in ((weights, "weight matrices"), (biases, "bias lists")):
            if given is not None:
                given = check.sequence(given, f"MLP: {what}")
                if len(given) != len(sizes):
                    raise ValueError(f"MLP: {len(given)} {what} given for "
                                     f"{len(sizes)} layers")
        rng = _rng(None, seed, "MLP")
        prefix = f"{label}." if label else ""
        self.nin = nin
        self.label = label
        self.layers = [
            Layer(fan_ins[i], sizes[i], acts[i], init=init, epsilon=epsilon,
                  bias_init=bias_init, fused=fused, label=f"{prefix}L{i}", rng=rng,
                  weights=None if weights is None else weights[i],
                  biases=None if biases is None else biases[i])
            for i in range(len(sizes))]
        _own(self)

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
        weights = check.plain(weights)
        if (not isinstance(weights, Sequence) or not weights or not isinstance(weights[0], Sequence)
                or not weights[0] or not isinstance(weights[0][0], Sequence)
                or not weights[0][0]):
            raise ValueError("MLP.from_weights: weights must be a non-empty list of layers, "
                             "each a list of neurons, each a list of weights")
        sizes = [len(layer) for layer in weights]
        if biases is None:
            biases = [[0.0] * n for n in sizes]
        return cls(len(weights[0][0]), sizes, activation, output_activation, fused=fused,
                   label=label, weights=weights, biases=biases)

    @property
    def sizes(self) -> list[int]:
        """The layer widths (the last is the number of outputs)."""
        return [layer.nout for layer in self.layers]

    @property
    def activations(self) -> list[str]:
        """Each layer's activation name (change one with ``model.layers[i].activation``)."""
        return [layer.activation for layer in self.layers]

    @property
    def output_activation(self) -> str:
        """The last layer's activation name."""
        return str(self.layers[-1].activation)

    @property
    def fused(self) -> bool:
        """Whether the neurons use the fused ``wsum`` node (settable)."""
        return bool(self.layers[0].fused)

    @fused.setter
    def fused(self, value: bool) -> None:
        value = check.flag(value, "fused")
        for layer in self.layers:
            layer.fused = value

    @recorded(lambda m: _block_name(m, "MLP"))
    def __call__(self, x: Sequence[Input]) -> Value | list[Value]:
        """The network's outputs: a bare ``Value`` when the last layer has one neuron, else a
        list (layers pass lists between them, so one-neuron hidden layers work as any other)."""
        out = self.layers[0]._forward(_check_inputs(x, self.nin, "MLP"))
        for layer in self.layers[1:]:
            out = layer._forward(out)
        return out[0] if len(out) == 1 else out

    def __repr__(self) -> str:
        acts = self.activations
        hidden = acts[:-1]
        act = hidden[0] if hidden and len(set(hidden)) == 1 else hidden
        return (f"MLP({self.nin}, {self.sizes}, activation={act!r}, "
                f"output_activation={acts[-1]!r})")
