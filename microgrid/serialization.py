"""Save and load an :class:`~microgrid.nn.MLP` as JSON: architecture and parameters.

The file is plain JSON (never pickle: loading runs no code). It lists every parameter
once, with its label and value, and each neuron names its weights and bias by position in
that list, so a parameter shared by two neurons stays shared::

    {"format": "microgrid.MLP", "version": 1, "nin": 2, "fused": false,
     "layers": [{"activation": "sigmoid", "neurons": [{"w": [0, 1], "b": 2}, ...]}, ...],
     "parameters": [{"label": "w1", "data": 0.15}, ...]}

Floats are written with ``repr`` (the shortest string that reads back as the same float),
so a save/load round trip reproduces every parameter exactly. A malformed file, or one
that does not match the model it is loaded into, raises ``ValueError`` saying what is wrong.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any

from .engine import Value
from .nn import ACTIVATIONS, MLP

__all__ = ["from_json", "load", "save", "to_json"]

FORMAT = "microgrid.MLP"
VERSION = 1


def _layers(model: MLP) -> tuple[list[dict[str, Any]], list[Value]]:
    """The layer descriptions (parameters by index) and the parameter list."""
    index: dict[Value, int] = {}
    params: list[Value] = []

    def ref(p: Value) -> int:
        if p not in index:
            index[p] = len(params)
            params.append(p)
        return index[p]

    layers = [{"activation": layer.activation,
               "neurons": [{"w": [ref(w) for w in n.w], "b": ref(n.b)} for n in layer.neurons]}
              for layer in model.layers]
    return layers, params


def _dumps(x: Any) -> str:
    return json.dumps(x, allow_nan=False, ensure_ascii=False)


def to_json(model: MLP) -> str:
    """The model as a JSON string: one line per neuron and per parameter."""
    if not isinstance(model, MLP):
        raise TypeError(f"to_json: expected an MLP, got {type(model).__name__}")
    layers, params = _layers(model)
    head = {"format": FORMAT, "version": VERSION, "nin": model.nin, "fused": model.fused}
    lines = [_dumps(head)[:-1] + ",", ' "layers": [']
    for i, layer in enumerate(layers):
        lines.append(f'  {{"activation": {_dumps(layer["activation"])}, "neurons": [')
        lines.extend(f"   {_dumps(n)}," for n in layer["neurons"])
        lines[-1] = lines[-1][:-1] + "]}" + ("," if i < len(layers) - 1 else "],")
    lines.append(' "parameters": [')
    lines.extend(f"  {_dumps({'label': p.label, 'data': p.data})}," for p in params)
    lines[-1] = lines[-1][:-1] + "]}"
    return "\n".join(lines)


def _fail(what: str) -> ValueError:
    return ValueError(f"not a valid microgrid model file: {what}")


def _reject_constant(name: str) -> float:
    raise _fail(f"{name} is not a finite number")


def _get(obj: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    """``obj[key]``, checked to be of type ``kind`` (a bool is not a number here)."""
    if not isinstance(obj, dict):
        raise _fail(f"{where} must be a JSON object, got {type(obj).__name__}")
    if key not in obj:
        raise _fail(f"{where} has no {key!r}")
    value = obj[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise _fail(f"{where}.{key} has the wrong type ({type(value).__name__})")
    return value


Layers = list[dict[str, Any]]


def _parse(text: str) -> tuple[int, bool, Layers, list[tuple[str, float]]]:
    """Check a model document thoroughly; return (nin, fused, layers, parameters), the
    parameters renumbered in order of first use (the order :func:`to_json` writes)."""
    try:
        doc = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as e:
        raise ValueError(f"malformed JSON in model file: {e}") from None
    if _get(doc, "format", str, "the file") != FORMAT:
        raise _fail(f"format is {doc['format']!r}, expected {FORMAT!r}")
    if _get(doc, "version", int, "the file") != VERSION:
        raise _fail(f"version {doc['version']} is not supported (this is version {VERSION})")
    nin = _get(doc, "nin", int, "the file")
    if nin < 1:
        raise _fail(f"nin must be at least 1, got {nin}")
    fused = _get(doc, "fused", bool, "the file")
    params = []
    for i, p in enumerate(_get(doc, "parameters", list, "the file")):
        label = _get(p, "label", str, f"parameters[{i}]")
        data = _get(p, "data", (int, float), f"parameters[{i}]")
        try:
            data = float(data)
        except OverflowError:
            data = math.inf
        if not math.isfinite(data):
            raise _fail(f"parameters[{i}].data is not a finite float")
        params.append((label, data))
    raw_layers = _get(doc, "layers", list, "the file")
    if not raw_layers:
        raise _fail("there are no layers")
    renumber: dict[int, int] = {}  # file index -> index in order of first use
    layers: Layers = []
    fan_in = nin
    for li, layer in enumerate(raw_layers):
        where = f"layers[{li}]"
        act = _get(layer, "activation", str, where)
        if act not in ACTIVATIONS:
            raise _fail(f"{where}.activation {act!r} is unknown")
        neurons = []
        for ni, neuron in enumerate(_get(layer, "neurons", list, where)):
            nwhere = f"{where}.neurons[{ni}]"
            refs = [*_get(neuron, "w", list, nwhere), _get(neuron, "b", int, nwhere)]
            if len(refs) - 1 != fan_in:
                raise _fail(f"{nwhere} has {len(refs) - 1} weights but its layer gets "
                            f"{fan_in} inputs")
            for r in refs:
                if isinstance(r, bool) or not isinstance(r, int) or not 0 <= r < len(params):
                    raise _fail(f"{nwhere} refers to parameter {r!r}, but there are "
                                f"{len(params)} parameters")
                renumber.setdefault(r, len(renumber))
            neurons.append({"w": [renumber[r] for r in refs[:-1]], "b": renumber[refs[-1]]})
        if not neurons:
            raise _fail(f"{where} has no neurons")
        layers.append({"activation": act, "neurons": neurons})
        fan_in = len(neurons)
    if len(renumber) != len(params):
        unused = min(set(range(len(params))) - set(renumber))
        raise _fail(f"parameters[{unused}] is not used by any neuron")
    ordered = [params[i] for i in sorted(renumber, key=renumber.__getitem__)]
    return nin, fused, layers, ordered


def from_json(text: str, *, into: MLP | None = None) -> MLP:
    """The model described by ``text``; with ``into``, copy the parameter values into that
    existing model instead (its architecture must match the file's)."""
    if not isinstance(text, str):
        raise TypeError(f"from_json: expected a str, got {type(text).__name__}")
    nin, fused, layers, params = _parse(text)
    if into is not None:
        if not isinstance(into, MLP):
            raise TypeError(f"from_json: into must be an MLP, got {type(into).__name__}")
        mine, targets = _layers(into)
        if into.nin != nin or mine != layers:
            sizes = [len(layer["neurons"]) for layer in layers]
            acts = [layer["activation"] for layer in layers]
            if (into.nin, into.sizes, into.activations) == (nin, sizes, acts):
                raise ValueError("model file does not match the model: the same layers, "
                                 "but parameters are shared differently")
            raise ValueError(
                f"model file does not match the model: the file has {nin} inputs, layer "
                f"sizes {sizes} and activations {acts}; the model has {into.nin} inputs, "
                f"sizes {into.sizes} and activations {into.activations}")
        for p, (_, data) in zip(targets, params):
            p.data = data
        return into
    values = [Value(data, label) for label, data in params]
    weights = [[[values[r] for r in n["w"]] for n in layer["neurons"]] for layer in layers]
    biases = [[values[n["b"]] for n in layer["neurons"]] for layer in layers]
    acts = [layer["activation"] for layer in layers]
    return MLP.from_weights(weights, biases, acts[:-1], acts[-1], fused=fused)


def save(model: MLP, path: str | os.PathLike[str]) -> None:
    """Write ``model`` to ``path`` as JSON (UTF-8)."""
    text = to_json(model)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text + "\n")


def load(path: str | os.PathLike[str], *, into: MLP | None = None) -> MLP:
    """Read a model saved by :func:`save` (or copy its values ``into`` a matching model)."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        return from_json(text, into=into)
    except ValueError as e:
        raise ValueError(f"{os.fspath(path)}: {e}") from None
