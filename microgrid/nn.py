"""Neurons, layers and multi-layer perceptrons, built from ``Value`` nodes.

A neuron computes ``act(b + Σᵢ wᵢ·xᵢ)``. By default the weighted sum is built from ``*`` and
``+`` nodes, one per term, so a diagram shows every product; ``fused=True`` uses the single
:func:`microgrid.wsum` node instead (same numbers, same gradients, far fewer nodes).
Either way the gradient comes from the chain rule.

* Activations by name: ``"sigmoid"``, ``"tanh"``, ``"relu"``, ``"leaky_relu"`` (slope 0.01),
  ``"softplus"``, ``"linear"`` (none).
* Initialization, seeded and reproducible: ``"uniform"`` draws weights from U[−ε, ε]
  (the seeds' symmetry breaking, ε = 0.12 by default); ``"xavier"`` (Glorot) from
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

import itertools
import math
import random
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, ClassVar, NamedTuple

from . import _validate as check
from .engine import Value, wsum

__all__ = ["ACTIVATIONS", "MAX_PARAMETERS", "MLP", "Layer", "Module", "Neuron"]

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
_VERSIONS = itertools.count(1)


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


def _unique(named: Iterable[tuple[str, Value]]) -> list[tuple[str, Value]]:
    """Drop repeats of a shared parameter (the first name wins)."""
    seen: set[int] = set()
    out = []
    for name, p in named:
        if id(p) not in seen:
            seen.add(id(p))
            out.append((name, p))
    return out


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


def _limit(count: int, what: str) -> None:
    if count > MAX_PARAMETERS:
        raise ValueError(f"{what} would have {count:,} parameters, more than "
                         f"microgrid.nn.MAX_PARAMETERS = {MAX_PARAMETERS:,} (each is a Python "
                         "object; this would exhaust memory). Raise the limit if you mean it.")


# --- registration ---------------------------------------------------------------------------

class _TrackedList(list[Any]):
    """A list held by a module: changing it in place tells the module (and its parents)."""

    __slots__ = ("_owner",)

    def __init__(self, items: Iterable[Any], owner: Module | None) -> None:
        super().__init__(items)
        self._owner = weakref.ref(owner) if owner is not None else None

    def _changed(self) -> None:
        owner = self._owner() if self._owner is not None else None
        if owner is not None:
            for i, v in enumerate(self):
                super().__setitem__(i, _adopt(v, owner))
            owner._changed()

    def __reduce_ex__(self, protocol: Any) -> Any:  # copies and pickles are plain lists
        return (list, (list(self),))


class _TrackedDict(dict[Any, Any]):
    """A dict held by a module: changing it in place tells the module (and its parents)."""

    __slots__ = ("_owner",)

    def __init__(self, items: Mapping[Any, Any], owner: Module | None) -> None:
        super().__init__(items)
        self._owner = weakref.ref(owner) if owner is not None else None

    def _changed(self) -> None:
        owner = self._owner() if self._owner is not None else None
        if owner is not None:
            for k, v in self.items():
                super().__setitem__(k, _adopt(v, owner))
            owner._changed()

    def __reduce_ex__(self, protocol: Any) -> Any:
        return (dict, (dict(self),))


def _mutator(cls: type, name: str) -> None:
    base = getattr(cls.__mro__[1], name)

    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = base(self, *args, **kwargs)
        self._changed()
        return self if name.startswith("__i") else result
    method.__name__ = name
    setattr(cls, name, method)


for _name in ("__setitem__", "__delitem__", "__iadd__", "__imul__", "append", "extend",
              "insert", "pop", "remove", "clear", "sort", "reverse"):
    _mutator(_TrackedList, _name)
for _name in ("__setitem__", "__delitem__", "__ior__", "pop", "popitem", "clear", "update",
              "setdefault"):
    _mutator(_TrackedDict, _name)


def _adopt(value: Any, owner: Module) -> Any:
    """``value`` as ``owner`` keeps it: lists and dicts become tracked copies (so in-place
    changes are noticed), sub-modules learn their parent; anything else is unchanged."""
    if isinstance(value, Module):
        value.__dict__["_mg_parents"][id(owner)] = weakref.ref(owner)
        return value
    if isinstance(value, list):
        if type(value) is _TrackedList and value._owner is not None and value._owner() is owner:
            return value
        return _TrackedList([_adopt(v, owner) for v in value], owner)
    if isinstance(value, dict):
        if type(value) is _TrackedDict and value._owner is not None and value._owner() is owner:
            return value
        return _TrackedDict({k: _adopt(v, owner) for k, v in value.items()}, owner)
    if type(value) is tuple:
        return tuple(_adopt(v, owner) for v in value)
    return value


def _walk(value: Any, name: str, pattern: str | None,
          active: set[int]) -> Iterator[tuple[str, Value]]:
    """(name, parameter) pairs found in an attribute's value, depth first, in order."""
    if isinstance(value, Value):
        yield (pattern if pattern and "{}" not in pattern else name), value
    elif isinstance(value, Module):
        if id(value) in active:  # a module that holds its own ancestor: counted once
            return
        prefix = pattern if pattern and "{}" not in pattern else name
        for sub, p in value._named(active):
            yield f"{prefix}.{sub}", p
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from _walk(v, pattern.format(i) if pattern else f"{name}.{i}", None, active)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(v, f"{name}.{k}", None, active)


class LoadResult(NamedTuple):
    """What :meth:`Module.load_state_dict` did not match (both empty when strict)."""

    missing_keys: list[str]
    unexpected_keys: list[str]


class Module:
    """Something with parameters, registered the way PyTorch registers them.

    Assign ``Value``s, other modules, or lists, tuples and dicts of them to attributes (in
    ``__init__`` or later) and they are registered in assignment order under dotted names:
    ``self.layers = [Lin(2, 3)]`` makes ``"layers.0.w.1"``. Attributes whose name starts
    with ``_`` are never registered (keep computed ``Value``s there, not in public
    attributes). Calling ``super().__init__()`` is optional.

    ``parameters()`` and ``named_parameters()`` are cached: the cache is dropped whenever
    this module or a sub-module changes — an attribute assigned or deleted, or a registered
    list or dict changed in place (``self.layers.append(...)``, ``self.w[0] = Value(2.0)``).
    :attr:`structure_version` changes at the same moments (compiled steps key on it).
    """

    _naming: ClassVar[dict[str, str]] = {}

    def __new__(cls, *args: Any, **kwargs: Any) -> Module:
        self = object.__new__(cls)
        d = self.__dict__
        d["_mg_parents"] = {}
        d["_mg_version"] = next(_VERSIONS)
        d["_mg_named"] = None
        d["_mg_params"] = None
        return self

    def __init__(self) -> None:
        pass

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            object.__setattr__(self, name, value)
            return
        object.__setattr__(self, name, _adopt(value, self))
        self._changed()

    def __delattr__(self, name: str) -> None:
        object.__delattr__(self, name)
        if not name.startswith("_"):
            self._changed()

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_mg_")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        d = self.__dict__
        d.update(_mg_parents={}, _mg_version=next(_VERSIONS), _mg_named=None, _mg_params=None)
        for k, v in state.items():
            d[k] = v if k.startswith("_") else _adopt(v, self)

    def _changed(self) -> None:
        """Drop the parameter caches of this module and every module that holds it."""
        stack: list[Module] = [self]
        seen: set[int] = set()
        while stack:
            m = stack.pop()
            if id(m) in seen:
                continue
            seen.add(id(m))
            d = m.__dict__
            d["_mg_version"] = next(_VERSIONS)
            d["_mg_named"] = d["_mg_params"] = None
            for ref in list(d["_mg_parents"].values()):
                parent = ref()
                if parent is not None:
                    stack.append(parent)

    @property
    def structure_version(self) -> int:
        """A number that changes whenever this module or a sub-module changes (a parameter
        replaced, an activation or ``fused`` switched, a registered list edited)."""
        return int(self.__dict__["_mg_version"])

    def _named(self, active: set[int]) -> Iterator[tuple[str, Value]]:
        active = active | {id(self)}
        naming = type(self)._naming
        for attr, value in list(self.__dict__.items()):
            if not attr.startswith("_"):
                yield from _walk(value, attr, naming.get(attr), active)

    def _params(self) -> list[Value]:
        """The cached parameter list itself (callers must not change it)."""
        ps = self.__dict__["_mg_params"]
        if ps is None:
            self.named_parameters()
            ps = self.__dict__["_mg_params"]
        return ps  # type: ignore[no-any-return]

    def named_parameters(self) -> list[tuple[str, Value]]:
        """(path, parameter) pairs, each parameter once (the first path wins), in order."""
        d = self.__dict__
        named = d["_mg_named"]
        if named is None:
            if type(self).parameters is not Module.parameters:  # a micrograd-style override
                return [(str(i), p) for i, p in enumerate(self.parameters())]
            named = _unique(self._named(set()))
            d["_mg_named"] = named
            d["_mg_params"] = [p for _, p in named]
        return list(named)

    def parameters(self) -> list[Value]:
        """Every parameter once (a shared one is listed once), in a fixed order (cached)."""
        return list(self._params())

    def zero_grad(self) -> None:
        """Set every parameter's ``grad`` to 0.0 (leaves accumulate across ``backward()``)."""
        ps = (self._params() if type(self).parameters is Module.parameters
              else self.parameters())
        for p in ps:
            p.grad = 0.0

    def state_dict(self) -> dict[str, float]:
        """Every parameter's number by name (``named_parameters()``): a plain dict."""
        return {name: p.data for name, p in self.named_parameters()}

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> LoadResult:
        """Set parameters from a dict name → number (as :meth:`state_dict` makes it).

        ``strict`` (default): the names must be exactly this module's, else ``ValueError``
        listing the missing and unexpected ones. Every value must be a finite number; nothing
        is changed unless every entry is good. Returns the missing and unexpected names.
        """
        who = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"{who}: state_dict must be a dict of name -> number, got "
                            f"{type(state_dict).__name__}")
        strict = check.flag(strict, f"{who}: strict")
        named = dict(self.named_parameters())
        missing = [n for n in named if n not in state_dict]
        unexpected = [str(k) for k in state_dict if k not in named]
        if strict and (missing or unexpected):
            parts = []
            if missing:
                parts.append(f"missing {_few(missing)}")
            if unexpected:
                parts.append(f"unexpected {_few(unexpected)}")
            raise ValueError(f"{who}: the state does not match the module's parameters: "
                             f"{'; '.join(parts)} (strict=False loads the names that match)")
        values = {}
        for name in named:
            if name in state_dict:
                raw = check.plain(state_dict[name])
                if isinstance(raw, bool) or not isinstance(raw, (int, float)):
                    raise TypeError(f"{who}: state_dict[{name!r}] must be a number (the "
                                    f"parameter's value), got {type(raw).__name__}")
                values[name] = check.real(raw, f"{who}: state_dict[{name!r}]")
        for name, v in values.items():
            named[name].data = v
        return LoadResult(missing, unexpected)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self._params())} parameters)"


def _few(names: list[str]) -> str:
    shown = ", ".join(repr(n) for n in names[:5])
    return f"{shown}{f' and {len(names) - 5} more' if len(names) > 5 else ''}"


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
