"""Save and load models as JSON: an :class:`~microgrid.nn.MLP`'s architecture and
parameters, or any :class:`~microgrid.nn.Module`'s parameters (its ``state_dict``).

The file is plain JSON (never pickle: loading runs no code). It lists every parameter
once, with its label and value, and each neuron names its weights and bias by position in
that list, so a parameter shared by two neurons stays shared::

    {"format": "microgrid.MLP", "version": 1, "nin": 2, "fused": false,
     "layers": [{"activation": "sigmoid", "neurons": [{"w": [0, 1], "b": 2}, ...]}, ...],
     "parameters": [{"label": "w1", "data": 0.15}, ...]}

Floats are written with ``repr`` (the shortest string that reads back as the same float),
so a save/load round trip reproduces every parameter exactly. A malformed file, or one
that does not match the model it is loaded into, raises ``ValueError`` saying what is wrong.

Any other module is saved as its state (``{"format": "microgrid.state", "version": 1,
"module": "MyNet", "parameters": {"layers.0.w.0": 0.5, ...}}``) and loaded into a module
you build: ``load(path, into=MyNet())`` (strict: the names must match exactly). An MLP
subclass with parameters of its own outside its layers is saved as its state too.

**A load fills every parameter of the model or nothing.** Loading ``into`` a model sets
each of its parameters from the file, or refuses with a ``ValueError`` naming what is
missing or extra (an MLP file loaded into a subclass that has more parameters is refused)
and leaves the model exactly as it was. A JSON object that repeats a key is refused too.

**Files are never half-written.** :func:`save` writes a temporary file in the target's
folder, flushes it to disk (``fsync``) and then atomically renames it over the target, so
a failed write leaves the previous file as it was. A symbolic link at the target is
replaced by the new file (the link is not followed, so the file it pointed to is left
alone). :func:`load` reads only regular files of at most :data:`MAX_FILE_BYTES` (so
``/dev/zero`` or a huge file is refused before it is read), refuses JSON nested too deeply
and text that is not UTF-8, and names the file in every error.
"""

from __future__ import annotations

import json
import math
import os
import stat
from typing import Any, TypeVar, overload

from . import _validate as check
from ._files import write_atomically
from ._labels import check_label, label_problem, preview
from .engine import Value
from .nn import ACTIVATIONS, MLP, Module

__all__ = ["MAX_FILE_BYTES", "from_json", "load", "save", "to_json"]

M = TypeVar("M", bound=Module)

FORMAT = "microgrid.MLP"
STATE_FORMAT = "microgrid.state"
VERSION = 1
MAX_FILE_BYTES = 64 * 2**20
"""The largest model file :func:`load` reads (64 MiB, about a million parameters)."""


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


def _outside_layers(model: MLP) -> list[str]:
    """The names of the parameters an MLP holds outside its layers (a subclass may add
    some of its own; the MLP format cannot hold them)."""
    _, params = _layers(model)
    inside = {id(p) for p in params}
    return [name for name, p in model.named_parameters() if id(p) not in inside]


def _is_whole_mlp(model: object) -> bool:
    """An MLP whose layers hold all its parameters."""
    return isinstance(model, MLP) and not _outside_layers(model)


def _state_json(model: Module) -> str:
    head = {"format": STATE_FORMAT, "version": VERSION, "module": type(model).__name__}
    lines = [_dumps(head)[:-1] + ",", ' "parameters": {']
    state = model.state_dict()
    for name in state:
        check_label(name, "to_json: the parameter name")
    lines.extend(f"  {_dumps(name)}: {_dumps(v)}," for name, v in state.items())
    lines[-1] = lines[-1][:-1] if len(lines) > 2 else lines[-1]
    lines.append(" }}")
    return "\n".join(lines)


def to_json(model: Module) -> str:
    """The model as a JSON string: an MLP's architecture and parameters (one line per neuron
    and per parameter), or any other module's parameters by name."""
    if not isinstance(model, Module):
        raise TypeError(f"to_json: expected an MLP or another microgrid.nn.Module, got "
                        f"{type(model).__name__}")
    if not _is_whole_mlp(model):
        if not model.parameters():
            raise ValueError(f"to_json: {type(model).__name__} has no parameters to save")
        return _state_json(model)
    assert isinstance(model, MLP)
    layers, params = _layers(model)
    head = {"format": FORMAT, "version": VERSION, "nin": model.nin, "fused": model.fused}
    lines = [_dumps(head)[:-1] + ",", ' "layers": [']
    for i, layer in enumerate(layers):
        lines.append(f'  {{"activation": {_dumps(layer["activation"])}, "neurons": [')
        lines.extend(f"   {_dumps(n)}," for n in layer["neurons"])
        lines[-1] = lines[-1][:-1] + "]}" + ("," if i < len(layers) - 1 else "],")
    lines.append(' "parameters": [')
    for i, p in enumerate(params):  # a label assigned after Value() is checked here
        check_label(p.label, f"to_json: parameters[{i}].label")
    lines.extend(f"  {_dumps({'label': p.label, 'data': p.data})}," for p in params)
    lines[-1] = lines[-1][:-1] + "]}"
    return "\n".join(lines)


def _fail(what: str) -> ValueError:
    return ValueError(f"not a valid microgrid model file: {what}")


def _check_name(name: str, what: str = "parameter name") -> None:
    """Refuse a label or parameter name read from a file that holds a control character or
    a lone surrogate (:func:`microgrid._labels.check_label`), naming where it is."""
    problem = label_problem(name)
    if problem is not None:
        raise _fail(f"{what} {preview(name)} {problem}")


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


def _decode(text: str) -> Any:
    """The JSON document of ``text``: a clear ``ValueError`` for bad or too-deep JSON."""
    if len(text) > MAX_FILE_BYTES:
        raise _fail(f"{len(text):,} characters, more than MAX_FILE_BYTES = "
                    f"{MAX_FILE_BYTES:,}")
    try:
        return json.loads(text, parse_constant=_reject_constant,
                          object_pairs_hook=_no_repeated_keys)
    except json.JSONDecodeError as e:
        raise ValueError(f"malformed JSON in model file: {e}") from None
    except RecursionError:
        raise _fail("JSON nested too deeply (a model file is at most 4 levels deep)") from None


def _no_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object as a dict; a key written twice is refused (JSON would keep the last,
    and a parameter's value would be lost without a word)."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _fail(f"the key {key!r} appears twice in one JSON object")
            seen.add(key)
    return obj


def _finite(v: int | float, where: str) -> float:
    """A number read from the file as a finite float (an int too large for a float is not)."""
    try:
        f = float(v)
    except OverflowError:
        f = math.inf
    if not math.isfinite(f):
        raise _fail(f"{where} is not a finite float")
    return f


def _parse_state(doc: Any) -> tuple[str, dict[str, float]]:
    """(module class name, name -> number) from a state document."""
    if _get(doc, "version", int, "the file") != VERSION:
        raise _fail(f"version {doc['version']} is not supported (this is version {VERSION})")
    name = _get(doc, "module", str, "the file")
    raw = _get(doc, "parameters", dict, "the file")
    values = {}
    for key, v in raw.items():
        _check_name(key)
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise _fail(f"parameters[{key!r}] is not a number")
        values[key] = _finite(v, f"parameters[{key!r}]")
    return name, values


def _parse(doc: Any) -> tuple[int, bool, Layers, list[tuple[str, float]]]:
    """Check a model document thoroughly; return (nin, fused, layers, parameters), the
    parameters renumbered in order of first use (the order :func:`to_json` writes)."""
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
        _check_name(label, f"parameters[{i}].label")
        data = _finite(_get(p, "data", (int, float), f"parameters[{i}]"),
                       f"parameters[{i}].data")
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


@overload
def from_json(text: str, *, into: None = None) -> MLP: ...


@overload
def from_json(text: str, *, into: M) -> M: ...


def from_json(text: str, *, into: Module | None = None) -> Module:
    """The model described by ``text``; with ``into``, copy the parameter values into that
    existing model instead: every one of its parameters, or none (its architecture and its
    parameter names must match the file's). A module's state (any module but an MLP) can
    only be loaded ``into`` a module built for it."""
    if not isinstance(text, str):
        raise TypeError(f"from_json: expected a str, got {type(text).__name__}")
    doc = _decode(text)
    if isinstance(doc, dict) and doc.get("format") == STATE_FORMAT:
        name, values = _parse_state(doc)
        if into is None:
            raise ValueError(f"the file holds the parameters of a {name}, not an MLP's "
                             f"architecture: build the model and load into it, "
                             f"load(path, into={name}(...))")
        if not isinstance(into, Module):
            raise TypeError(f"from_json: into must be a microgrid.nn.Module, got "
                            f"{type(into).__name__}")
        into.load_state_dict(values)
        return into
    nin, fused, layers, params = _parse(doc)
    if into is not None:
        if not isinstance(into, MLP):
            raise TypeError(f"from_json: into must be an MLP (the file holds an MLP), got "
                            f"{type(into).__name__}")
        mine, targets = _layers(into)
        extra = _outside_layers(into)
        if extra:
            cls = type(into).__name__
            raise ValueError(
                f"model file does not match the model: the file holds an MLP's layers, but "
                f"the {cls} also has {', '.join(map(repr, extra))}, which the file does not "
                f"have (nothing was loaded; a {cls} saved by save() keeps them all)")
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
    made = [Value(data, label) for label, data in params]
    weights = [[[made[r] for r in n["w"]] for n in layer["neurons"]] for layer in layers]
    biases = [[made[n["b"]] for n in layer["neurons"]] for layer in layers]
    acts = [layer["activation"] for layer in layers]
    return MLP.from_weights(weights, biases, acts[:-1], acts[-1], fused=fused)


def save(model: Module, path: str | os.PathLike[str]) -> None:
    """Write ``model`` to ``path`` as JSON (UTF-8), atomically: a temporary file in the same
    folder, flushed to disk, then renamed over ``path``. On any failure the previous file is
    untouched. A symbolic link at ``path`` is replaced, not followed."""
    p = check.path(path, "save")
    text = to_json(model) + "\n"
    if os.path.isdir(p) and not os.path.islink(p):
        raise IsADirectoryError(f"save: {p} is a directory")
    write_atomically(p, text, "save")


def _read(p: str) -> str:
    """The text of the model file ``p``: a regular file of at most MAX_FILE_BYTES, UTF-8."""
    try:
        info = os.stat(p)
        if not stat.S_ISREG(info.st_mode):
            raise ValueError(f"{p}: not a regular file (a model file is a JSON text file)")
        if info.st_size > MAX_FILE_BYTES:
            raise ValueError(f"{p}: {info.st_size:,} bytes, more than a model file may have "
                             f"(microgrid.serialization.MAX_FILE_BYTES = {MAX_FILE_BYTES:,})")
        with open(p, "rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        raise type(e)(e.errno, f"load: cannot read {p}: {e.strerror}") from e
    if len(raw) > MAX_FILE_BYTES:
        raise ValueError(f"{p}: more than MAX_FILE_BYTES = {MAX_FILE_BYTES:,} bytes")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"{p}: not a UTF-8 text file (byte {e.start}: {e.reason}); a model "
                         "file is JSON written by microgrid.serialization.save") from None


@overload
def load(path: str | os.PathLike[str], *, into: None = None) -> MLP: ...


@overload
def load(path: str | os.PathLike[str], *, into: M) -> M: ...


def load(path: str | os.PathLike[str], *, into: Module | None = None) -> Module:
    """Read a model saved by :func:`save` (or copy its values ``into`` a matching model)."""
    p = check.path(path, "load")
    text = _read(p)
    try:
        return from_json(text, into=into)
    except ValueError as e:
        raise ValueError(f"{p}: {e}") from None
