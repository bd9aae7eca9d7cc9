"""What a model is, read from the model itself (never from labels): the names of its
parameters, its neurons, and its parameter matrices.

* :func:`parameter_names`: each parameter → its name (``L0.N1.w0`` in an MLP, ``wte[3][7]``
  in a ``state_dict`` of matrices, a module's ``named_parameters()``).
* :func:`units_of`: the neurons of a network built of ``.layers`` of ``.neurons`` of ``.w``
  and ``.b`` (microgrid's, micrograd's, the lecture's).
* :func:`owning_models`: the networks a graph's parameters remember (each
  :mod:`microgrid.nn` parameter is placed in a module block owned by its neuron).
* :func:`matrices`: the parameters grouped into the matrices a reader thinks in: ``wte``
  (27×16) of a ``state_dict``, ``L0.w`` (a layer's weights, one row per neuron) and ``L0.b``.

The diagrams, the stepper, the live view and the gradient report all read names here.
Imports only the engine and the recording of blocks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .engine import Value
from .recording import block_of

__all__ = ["Matrix", "Params", "Unit", "graph_parameters", "matrices", "owning_models",
           "parameter_boxes", "parameter_names", "units_of"]

Params = Any  # a model, a mapping name -> Value, an iterable of Values, or None


def _checked(named: Iterable[tuple[str, Any]]) -> dict[Value, str]:
    out: dict[Value, str] = {}
    for name, p in named:
        if not isinstance(p, Value):
            raise TypeError(f"params: {name or 'each entry'} must be a Value (a parameter), "
                            f"got {type(p).__name__}")
        out.setdefault(p, name)  # a shared parameter keeps its first name
    return out


def _entries(name: str, value: Any) -> Iterable[tuple[str, Any]]:
    """(name, entry) for a mapping's value: a ``Value``, or nested lists of them (a
    matrix ``wte`` gives ``wte[3][7]``), or a mapping of those (``layer0.wq[1][2]``)."""
    if isinstance(value, Mapping):
        for k, v in value.items():
            yield from _entries(f"{name}.{k}", v)
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from _entries(f"{name}[{i}]", v)
    elif isinstance(value, Value):
        yield name, value
    else:
        raise TypeError(f"params: {name} must be a Value or a (nested) list of Values, "
                        f"got {type(value).__name__}: {value!r}")


def _named_mapping(params: Mapping[Any, Any]) -> dict[Value, str]:
    """Each ``Value`` of a mapping (a ``state_dict`` of matrices) → its name; one ``Value``
    under two names is refused, naming both."""
    out: dict[Value, str] = {}
    for key, value in params.items():
        for name, p in _entries(str(key), value):
            if p in out:
                raise ValueError(f"params: the same Value is named both {out[p]!r} and "
                                 f"{name!r}; give each parameter one name")
            out[p] = name
    return out


def parameter_names(params: Params) -> dict[Value, str]:
    """Each parameter → its name in the model, in the model's order (a shared parameter
    keeps its first name). What the model *is* decides, never how its values are labelled:

    * an MLP, layer or neuron — anything with ``.layers`` of ``.neurons`` (or ``.neurons``,
      or ``.w`` and ``.b``), as :mod:`microgrid.nn`, micrograd and the lecture write them:
      ``"L0.N1.w0"`` is weight 0 of neuron 1 of layer 0, ``"L0.N1.b"`` its bias;
    * another module with ``named_parameters()`` (PyTorch's convention): its names;
    * a mapping name → ``Value`` or name → nested lists of ``Value``s (a ``state_dict``
      of matrices: ``{"wte": [[...], ...]}`` names an entry ``wte[3][7]``; a nested mapping
      adds ``.key``); a ``Value`` under two names, or an entry that is no ``Value``, is
      refused, naming them;
    * anything with ``parameters()``, or an iterable of ``Value``s (their labels).
    """
    if isinstance(params, Value):
        raise TypeError("params must be a model, a mapping or an iterable of Values, "
                        "not one Value (write params=[v])")
    if isinstance(params, Mapping):
        return _named_mapping(params)
    units = units_of(params)
    if units is not None:
        return _checked(pair for u in units for pair in u.parameters())
    named = getattr(params, "named_parameters", None)
    if callable(named):
        return _checked((str(k), v) for k, v in named())
    listed = getattr(params, "parameters", None)
    values = listed() if callable(listed) else params
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise TypeError(f"params must be a model, a mapping or an iterable of Values, got "
                        f"{type(params).__name__}")
    return _checked((getattr(v, "label", ""), v) for v in values)


@dataclass(frozen=True)
class Unit:
    """One neuron of a model read from its structure: ``box`` its place (``"L0.N1"``;
    ``""`` for a lone neuron), ``layer`` its layer's (``"L0"``; ``""`` outside an MLP),
    ``name`` its own (``"N1"``), and its parameters ``w`` and ``b``."""

    box: str
    layer: str
    name: str
    w: tuple[Value, ...]
    b: Value

    def parameters(self) -> list[tuple[str, Value]]:
        """(name in the model, parameter): ``L0.N1.w0``, …, ``L0.N1.b``."""
        prefix = f"{self.box}." if self.box else ""
        return [*((f"{prefix}w{k}", w) for k, w in enumerate(self.w)), (f"{prefix}b", self.b)]


def _units(layer: Any, name: str) -> list[Unit]:
    return [Unit(f"{name}.N{j}" if name else f"N{j}", name, f"N{j}", tuple(n.w), n.b)
            for j, n in enumerate(layer.neurons)]


def units_of(model: Any) -> list[Unit] | None:
    """The neurons of an MLP, layer or neuron, read from what it is — ``.layers`` of
    ``.neurons`` of ``.w`` and ``.b``, as :mod:`microgrid.nn`, micrograd and the lecture
    build them — in the model's order; None when ``model`` is not built that way (another
    module, whose ``w`` may be a matrix, is named by its ``named_parameters()``)."""
    try:
        if hasattr(model, "layers"):
            units = [u for i, layer in enumerate(model.layers) for u in _units(layer, f"L{i}")]
        elif hasattr(model, "neurons"):
            units = _units(model, "")
        elif hasattr(model, "w") and hasattr(model, "b"):
            units = [Unit("", "", "", tuple(model.w), model.b)]
        else:
            return None
    except (AttributeError, TypeError):  # layers without neurons, a w that is no list
        return None
    ok = units and all(isinstance(p, Value) for u in units for p in (*u.w, u.b))
    return units if ok else None


def owning_models(nodes: Iterable[Value]) -> list[Any]:
    """The models whose parameters are among ``nodes``, as the parameters remember them
    (:mod:`microgrid.nn` gives each parameter a module block owned by its neuron, inside
    its layer's and its network's): the outermost owner of each, in order of first use."""
    models: dict[int, Any] = {}
    for node in nodes:
        b = block_of(node) if node.is_leaf else None
        if b is None or b.kind != "module" or b.owner is None:
            continue
        while b.parent is not None and b.parent.kind == "module" and b.parent.owner is not None:
            b = b.parent
        models.setdefault(id(b.owner), b.owner)
    return list(models.values())


def graph_parameters(order: Sequence[Value], params: Params) -> tuple[dict[Value, str], list[Any]]:
    """The parameters of a graph (its values ``order``) → their names, and the models that
    name them: those of ``params`` when given, else the :mod:`microgrid.nn` networks the
    graph's parameters remember (:func:`owning_models`)."""
    if params is None:
        models = owning_models(order)
        return {p: name for m in models for p, name in parameter_names(m).items()}, models
    names = parameter_names(params)
    return names, [params] if units_of(params) is not None else owning_models(names)


def parameter_boxes(models: Iterable[Any], level: str) -> dict[Value, str]:
    """Each parameter of the models built of neurons → the title of its ``level``'s box
    (``"neuron"``: ``"L0.N1"``, ``"layer"``: ``"L0"``, ``"model"``: ``"network"``), read
    from each model's structure (:func:`units_of`); other models give none."""
    out: dict[Value, str] = {}
    for model in models:
        for u in units_of(model) or ():
            box = {"neuron": u.box, "layer": u.layer,
                   "model": "network" if u.layer else ""}[level]
            if box:
                for _, p in u.parameters():
                    out.setdefault(p, box)
    return out


@dataclass(frozen=True)
class Matrix:
    """Parameters a reader sees as one matrix (or vector): ``name`` (``"wte"``), ``shape``
    (``(27, 16)``; ``()`` for a lone parameter) and ``entries`` row-major, each with its
    full name in ``names`` (``"wte[3][7]"``). :attr:`title` is ``"wte 27×16"``."""

    name: str
    shape: tuple[int, ...]
    entries: tuple[Value, ...]
    names: tuple[str, ...]

    @property
    def title(self) -> str:
        if not self.shape:
            return self.name
        return f"{self.name} " + "×".join(str(n) for n in self.shape)

    @property
    def size(self) -> int:
        return len(self.entries)

    def rows(self) -> list[list[Value]]:
        """The entries as rows (a vector or lone parameter is one row)."""
        cols = self.shape[-1] if len(self.shape) >= 2 else len(self.entries)
        return [list(self.entries[i:i + cols]) for i in range(0, len(self.entries), cols)]

    def index_of(self, k: int) -> tuple[int, ...]:
        """The index of entry ``k`` (``(3, 7)`` for ``wte[3][7]``)."""
        out: list[int] = []
        for n in reversed(self.shape):
            k, r = divmod(k, n)
            out.append(r)
        return tuple(reversed(out))


_INDEX = re.compile(r"((?:\[\d+\]|\.\d+)+)$")


def _split(name: str) -> tuple[str, tuple[int, ...]]:
    """``"wte[3][7]"`` → ``("wte", (3, 7))``, and so does ``"wte.3.7"`` (a module's
    ``named_parameters()`` numbers list entries that way); a name without indices →
    ``(name, ())``."""
    m = _INDEX.search(name)
    if not m or m.start() == 0:
        return name, ()
    return name[:m.start()], tuple(int(i) for i in re.findall(r"\d+", m.group(1)))


def _shaped(name: str, cells: Sequence[tuple[tuple[int, ...], str, Value]]) -> list[Matrix]:
    """One matrix when the indices fill a rectangle (``[0..r) × [0..c)``), else one
    matrix per entry (nothing is guessed)."""
    dims = len(cells[0][0])
    if dims and all(len(ix) == dims for ix, _, _ in cells):
        shape = tuple(1 + max(ix[d] for ix, _, _ in cells) for d in range(dims))
        total = 1
        for n in shape:
            total *= n
        if total == len(cells) and len({ix for ix, _, _ in cells}) == total:
            ordered = sorted(cells, key=lambda c: c[0])
            return [Matrix(name, shape, tuple(v for _, _, v in ordered),
                           tuple(n for _, n, _ in ordered))]
    return [Matrix(full, (), (v,), (full,)) for _, full, v in cells]


def matrices(params: Params) -> list[Matrix]:
    """The parameters of ``params`` (anything :func:`parameter_names` reads) as matrices,
    in the model's order: entries named ``wte[i][j]`` (or ``wte.i.j``) form the matrix
    ``wte``; a network
    built of neurons gives each layer's weights as ``L0.w`` (one row per neuron) and its
    biases as ``L0.b``; any other parameter is a matrix of its own."""
    units = units_of(params)
    if units is not None:
        out: list[Matrix] = []
        for layer in dict.fromkeys(u.layer for u in units):
            mine = [u for u in units if u.layer == layer]
            prefix = f"{layer}." if layer else ""
            if len({len(u.w) for u in mine}) == 1:
                out.append(Matrix(f"{prefix}w", (len(mine), len(mine[0].w)),
                                  tuple(w for u in mine for w in u.w),
                                  tuple(n for u in mine for n, _ in u.parameters()[:-1])))
            else:
                out += [Matrix(f"{u.box}.w" if u.box else "w", (len(u.w),), u.w,
                               tuple(n for n, _ in u.parameters()[:-1])) for u in mine]
            out.append(Matrix(f"{prefix}b", (len(mine),), tuple(u.b for u in mine),
                              tuple(u.parameters()[-1][0] for u in mine)))
        return out
    groups: dict[str, list[tuple[tuple[int, ...], str, Value]]] = {}
    for v, full in parameter_names(params).items():
        base, ix = _split(full)
        groups.setdefault(base if ix else full, []).append((ix, full, v))
    return [m for name, cells in groups.items() for m in _shaped(name, cells)]
