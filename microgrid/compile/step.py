"""A compiled training step: trace ``fn`` once per argument shape, then replay its tape.

    step = compile_step(lambda xs, ts: mse([model(x) for x in xs], ts),
                        model.parameters())
    loss = step(X, T)   # the loss as a float; every parameter's grad += ∂loss/∂parameter

Floats in the arguments (nested lists, or numpy arrays: read as their ``tolist()``, and
fast) become the step's inputs; ints stay Python ints (class labels: ``if c == 1`` behaves
as in eager mode) and are part of the cache key. The parameters' current ``data`` is read
on every call and ``∂loss/∂θ`` is added to each ``θ.grad``, as ``loss.backward()`` would
(zero them between steps, as usual). Interior nodes are not materialized, so they have no
``grad`` to show.

**What the tape freezes.** Leaves that are neither parameters nor inputs are constants;
so is any number the step reads out of a ``Value`` (``v.data``, ``v.item()``) to build
another, and anything else ``fn`` reads (an attribute, a global, a random draw): a replay
is the graph as it was traced. A node with a gradient rule of its own (micrograd's
hand-made node with a ``_backward`` closure) cannot be replayed: tracing refuses it with a
``TypeError`` naming the node. Comparisons of ``Value``s (``<``, ``<=``, ``>``, ``>=``;
``max`` uses them) and ``bool(v)`` are recorded as *guards* and re-checked on every
replay: when one comes out differently the step's graph would change, and the step is
re-traced (``on_change="retrace"``, at most ``max_retraces`` times) or refused with
:class:`GraphChanged` (``on_change="error"``). Use ``relu`` and friends for choices inside
the math; branch in Python only through comparisons. Tracing is safe in several threads
at once: each trace observes only its own thread's comparisons.

**Same errors as eager mode.** A replay that meets a number eager mode would refuse — an
out-of-domain or overflowing value anywhere (even one a later relu would hide), or a
non-finite gradient — runs the step eagerly instead, so the op raises its own error.

**Garbage collector.** Tracing runs the step eagerly with the cyclic collector paused
(:func:`~microgrid.collector.gc_paused`); replays allocate no graph at all.
"""

from __future__ import annotations

import builtins
import math
import numbers
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import repeat
from operator import attrgetter
from typing import Any

from ..collector import gc_paused
from ..engine import Value, observing_comparisons
from ..optim import Newton, Optimizer
from .backends import BACKENDS, Replay, replayer
from .tape import Guard, GuardFailed, trace

__all__ = ["CompiledStep", "GraphChanged", "compile_step"]


_DATA, _GRAD = attrgetter("_data"), attrgetter("_grad")  # the slots behind data, grad

MAX_SHAPES = 256
"""Traced shapes kept per compiled step (each int argument value is its own shape)."""


class GraphChanged(RuntimeError):
    """A compiled step's graph depends on the data and no longer matches its tape."""


@dataclass(frozen=True)
class _Static:
    """An int of the arguments, or an argument at a ``static`` position: passed to ``fn``
    as it is, and part of the cache key."""

    value: Any


_FLOAT = {float}


def _is_numpy(x: Any) -> bool:
    """Whether ``x`` is a numpy array or scalar (told by its type: numpy is not imported)."""
    return type(x).__module__ == "numpy" and hasattr(x, "dtype")


def _plain(x: Any) -> Any:
    """A numpy float or int array (or scalar) as Python floats or ints in nested lists."""
    return x.astype("float64").tolist() if x.dtype.kind == "f" else x.tolist()


@dataclass(slots=True)
class _Floats:
    """A float array of the arguments among the input numbers: added in one piece."""

    array: Any


def _float_key(shape: tuple[int, ...]) -> Any:
    """The shape key of a float array: :func:`_fast_key` of its ``tolist()``."""
    if not shape:
        return None
    if len(shape) == 1:
        return shape[0] or ()
    inner = _float_key(shape[1:])
    return (inner,) * shape[0]


def _fast_key(x: Any, flat: list[Any]) -> Any:
    """The shape key of an argument, assuming rows whose first item is a float hold floats."""
    if isinstance(x, (list, tuple)):
        if x and type(x[0]) is float:
            flat.extend(x)
            return len(x)
        return tuple(_fast_key(v, flat) for v in x)
    if type(x) is float:
        flat.append(x)
        return None
    if type(x) is int:
        return _Static(x)
    if _is_numpy(x):
        kind = x.dtype.kind
        if kind == "f":
            if x.ndim == 0:
                flat.append(float(x))
            else:
                flat.append(_Floats(x))
            return _float_key(x.shape)
        if kind in "iu":
            return _fast_key(x.tolist(), flat)   # ints: class labels, as in lists
        flat.append(x)  # refused: the exact walk names where it is
        return None
    return _exact_key(x, flat, "")


def _exact_key(x: Any, flat: list[Any], path: str) -> Any:
    """The shape key of an argument, item by item: floats are inputs, ints are static."""
    if isinstance(x, (list, tuple)):
        return tuple(_exact_key(v, flat, f"{path}[{i}]") for i, v in enumerate(x))
    if _is_numpy(x):
        if x.dtype.kind not in "fiu":
            raise TypeError(f"compiled step: numpy inputs must hold floats or ints, "
                            f"got dtype {x.dtype} at {path}")
        return _exact_key(_plain(x), flat, path)
    if isinstance(x, numbers.Integral) and not isinstance(x, bool):
        return _Static(int(x))
    if isinstance(x, numbers.Real) and not isinstance(x, bool):
        flat.append(float(x))
        return None
    if not path:
        raise TypeError(f"compiled step: argument {x!r} must be a number or a (nested) list of "
                        f"numbers, got {type(x).__name__} (pass it through static=)")
    raise TypeError(f"compiled step: inputs must be real numbers (int or float), "
                    f"got {type(x).__name__}: {x!r} at {path}")


def _signature(args: tuple[Any, ...], static: frozenset[int]) -> tuple[Any, Any]:
    """``(cache key, input numbers)`` of a call: floats are inputs; ints and the
    arguments at positions in ``static`` are part of the key. The input numbers are a
    list of floats, or a 1-D float64 array when numpy arrays are among the arguments."""
    flat: list[Any] = []
    key = tuple(_Static(a) if i in static else _fast_key(a, flat)
                for i, a in enumerate(args))
    kinds = set(map(type, flat)) - _FLOAT
    if kinds - {_Floats}:   # ints or other numbers among the rows: item by item
        flat = []
        key = tuple(_Static(a) if i in static else _exact_key(a, flat, f"#{i}")
                    for i, a in enumerate(args))
    elif kinds:
        return key, _joined(flat)
    total = builtins.sum(flat, 0.0)
    if total - total != 0.0:
        for v in flat:
            if not math.isfinite(v):
                raise ValueError(f"compiled step: inputs must be finite, got {v!r}")
    return key, flat


def _joined(flat: list[Any]) -> Any:
    """Floats and float arrays (:class:`_Floats`) as one 1-D float64 array, in order."""
    import numpy as np  # loaded already: an argument is one of its arrays

    pieces: list[Any] = []
    run: list[float] = []
    for item in flat:
        if type(item) is _Floats:
            if run:
                pieces.append(np.array(run, dtype=np.float64))
                run = []
            pieces.append(np.asarray(item.array, dtype=np.float64).reshape(-1))
        else:
            run.append(item)
    if run:
        pieces.append(np.array(run, dtype=np.float64))
    joined = pieces[0] if len(pieces) == 1 else np.concatenate(pieces)
    finite = np.isfinite(joined)
    if not finite.all():
        v = float(joined[~finite][0])
        raise ValueError(f"compiled step: inputs must be finite, got {v!r}")
    return joined


def _arguments(key: Any, args: tuple[Any, ...], inputs: list[Value]) -> list[Any]:
    """The arguments ``fn`` is traced with: a new input ``Value`` for every float."""

    def build(shape: Any, x: Any) -> Any:
        if type(shape) is _Static:
            return shape.value
        if _is_numpy(x):
            x = _plain(x)  # Python floats: the graph is the one of the same lists
        if shape is None:
            v = Value(float(x))
            inputs.append(v)
            return v
        if type(shape) is int:
            row = [Value(v) for v in x]
            inputs.extend(row)
            return row
        return [build(s, v) for s, v in zip(shape, x)]

    return [build(s, a) for s, a in zip(key, args)]


def _rebuild(shape: Any, values: Iterator[Any]) -> Any:
    if shape is None:
        return next(values)
    if type(shape) is int:
        return [next(values) for _ in range(shape)]
    return [_rebuild(s, values) for s in shape]


@dataclass
class _Entry:
    """A traced shape: its replay, its guards, the shape of its outputs.

    The tape is not kept: long-lived per-node lists would make every full pass of the
    cyclic collector longer for the whole process.
    """

    replay: Replay
    guards: list[Guard]
    out_shape: Any
    retraces: int = 0


class _Plan:
    """How a step's gradients reach its optimizer: which of the step's parameters the
    optimizer holds (their grads are zeroed before a step), which it holds besides, and,
    for each of its parameters, where it is among the step's (−1: not there, gradient 0)."""

    def __init__(self, params: list[Value], opt: Optimizer, vectorized: bool) -> None:
        index = {id(p): k for k, p in enumerate(params)}
        mine = {id(p) for p in opt.params}
        self.params = params
        self.vectorized = vectorized
        self.held = [id(p) in mine for p in params]
        self.all_held = all(self.held)
        self.extra = [p for p in opt.params if id(p) not in index]
        self.where = [index.get(id(p), -1) for p in opt.params]
        self.same_order = self.where == list(range(len(params)))
        self.vector: Callable[[list[float]], Any] = list
        if vectorized:
            from .update import as_vector  # numpy: only with the numpy backend

            self.vector = as_vector


class CompiledStep:
    """``fn`` traced once per argument shape, then replayed; see :func:`compile_step`."""

    def __init__(self, fn: Callable[..., Any],
                 params: Sequence[Value] | Callable[[], Sequence[Value]], *,
                 backend: str = "python", static: Sequence[int] = (),
                 on_change: str = "retrace", max_retraces: int | None = 8,
                 key: Callable[[], Hashable] | None = None,
                 optimizer: Optimizer | None = None) -> None:
        if not callable(fn):
            raise TypeError(f"compile_step: fn must be callable, got {type(fn).__name__}")
        if key is not None and not callable(key):
            raise TypeError(f"compile_step: key must be callable, got {type(key).__name__}")
        self._source: Callable[[], Sequence[Value]] | None = None
        if callable(params) and not isinstance(params, Value):
            self._source = params
            params = params()
        self._given: list[Value] = list(_checked_params(params))
        ps = list(dict.fromkeys(self._given))  # a shared parameter once
        if backend not in BACKENDS:
            raise ValueError(f"compile_step: unknown backend {backend!r}; "
                             f"choose one of {', '.join(map(repr, BACKENDS))}")
        if on_change not in ("retrace", "error"):
            raise ValueError(f"compile_step: on_change must be 'retrace' or 'error', "
                             f"got {on_change!r}")
        if max_retraces is not None and (isinstance(max_retraces, bool) or not isinstance(
                max_retraces, int) or max_retraces < 0):
            raise ValueError(f"compile_step: max_retraces must be an int >= 0 or None (no "
                             f"limit), got {max_retraces!r}")
        self.fn = fn
        self.params = ps
        self.backend = backend
        self.static = frozenset(static)
        self.on_change = on_change
        self.max_retraces = max_retraces
        self.key = key
        self.traces = 0  # how many times fn has been run eagerly
        self._cache: dict[Any, _Entry] = {}
        self._optimizer: Optimizer | None = None
        self._plan: _Plan | None = None
        self.optimizer = optimizer

    @property
    def optimizer(self) -> Optimizer | None:
        """The optimizer a call steps after its backward pass (``None``: gradients only)."""
        return self._optimizer

    @optimizer.setter
    def optimizer(self, opt: Optimizer | None) -> None:
        if opt is not None and not isinstance(opt, Optimizer):
            raise TypeError(f"compile_step: optimizer must be a microgrid.optim optimizer, "
                            f"got {type(opt).__name__}")
        if isinstance(opt, Newton):
            raise ValueError("compile_step: Newton needs the loss graph itself (its "
                             "Hessian); step it eagerly")
        if opt is not self._optimizer:  # fit assigns its optimizer before every step
            self._optimizer, self._plan = opt, None

    def _refresh(self) -> None:
        """Adopt the current parameter list (new objects: every shape is traced again)."""
        assert self._source is not None
        given = self._source()
        if given is not self._given and list(given) != self._given:
            self._given = list(_checked_params(given))
            self.params = list(dict.fromkeys(self._given))
            self._cache.clear()

    def __call__(self, *args: Any) -> Any:
        if self._source is not None:
            self._refresh()
        shape, flat = _signature(args, self.static)
        key = shape if self.key is None else (shape, self.key())
        try:
            entry = self._cache.get(key)
        except TypeError:
            raise TypeError("compiled step: static arguments (and what key() returns) must be "
                            "hashable") from None
        if entry is None:
            return self._trace(key, shape, args, None)
        opt = self._optimizer
        plan = None if opt is None else self._planned(opt)
        try:
            params = self.params
            data: Any = list(map(_DATA, params))
            if plan is not None and plan.vectorized:
                data = plan.vector(data)  # one float64 array for the replay and the update
            if plan is None:
                before: list[float] | None = list(map(_GRAD, params))
            else:   # optimizer.zero_grad(): only parameters it does not hold keep their grad
                for p in plan.extra:
                    p.grad = 0.0
                before = None if plan.all_held else [
                    0.0 if held else p.grad for p, held in zip(params, plan.held)]
            outs, grads = entry.replay(data, flat,
                                       before if before is not None and any(before) else None)
        except GuardFailed as e:
            guard = entry.guards[e.k]
            limit = self.max_retraces
            if self.on_change == "error" or (limit is not None and entry.retraces >= limit):
                raise GraphChanged(_changed_message(guard, self.on_change, entry.retraces,
                                                    limit)) from None
            return self._trace(key, shape, args, entry)
        except (ArithmeticError, ValueError):
            return self._trace(key, shape, args, entry)  # eager names the op that failed
        deque(map(setattr, params, repeat("_grad"), grads), maxlen=0)  # p.grad = g (finite)
        if opt is not None:
            assert plan is not None
            self._step(opt, plan, data, grads)
        return _rebuild(entry.out_shape, iter(outs))

    def _planned(self, opt: Optimizer) -> _Plan:
        """Where the optimizer's parameters are among the step's (made once per pairing)."""
        plan = self._plan
        if plan is None or plan.params is not self.params:
            plan = self._plan = _Plan(self.params, opt,
                                      vectorized=self.backend == "numpy" and _vectorizable(opt))
        return plan

    @staticmethod
    def _step(opt: Optimizer, plan: _Plan, data: Any, grads: list[float]) -> None:
        """``opt.step()`` with the gradients just computed: on whole arrays when ``plan`` is
        vectorized (the same numbers, see :mod:`.update`), else parameter by parameter."""
        if not plan.vectorized:
            opt.step()
            return
        from .update import vector_step

        if plan.same_order:
            new = vector_step(opt, data, grads)
        else:
            where = plan.where
            new = vector_step(opt, list(map(_DATA, opt.params)),
                              [0.0 if k < 0 else grads[k] for k in where])
        deque(map(setattr, opt.params, repeat("_data"), new), maxlen=0)  # p.data = θ' (finite)

    def _trace(self, key: Any, shape: Any, args: tuple[Any, ...], old: _Entry | None) -> Any:
        """Run ``fn`` eagerly on fresh input Values, backward, and record its tape."""
        inputs: list[Value] = []
        wrapped = _arguments(shape, args, inputs)
        opt = self._optimizer
        if opt is not None:
            opt.zero_grad()
        guards: list[tuple[Value, str, Value | float, bool]] = []

        def record(value: Value, cmp: str, other: Any, result: bool) -> None:
            if cmp == "bool":  # bool(v) is v != 0
                guards.append((value, "!=", 0.0, result))
            else:
                guards.append((value, cmp, other, result))

        with gc_paused():
            try:
                with observing_comparisons(record):
                    result = self.fn(*wrapped)
            except TypeError as e:
                if "Value" in str(e) and ("indices" in str(e) or "integer" in str(e)):
                    raise TypeError(f"compiled step: {e}; an argument used as an index or "
                                    "count must be passed through static=") from e
                raise
            flat_out: list[Value] = []
            out_shape = _out_shape(result, flat_out)
            loss = flat_out[0]
            self.traces += 1
            tape = trace(flat_out, self.params, inputs, guards)
            loss.backward()
            if opt is not None:
                opt.step()
        entry = _Entry(replayer(tape, self.backend), tape.guards, out_shape)
        if old is not None:
            entry.retraces = old.retraces + 1
        self._cache.pop(key, None)
        self._cache[key] = entry
        while len(self._cache) > MAX_SHAPES:  # the oldest first: dicts keep insertion order
            del self._cache[next(iter(self._cache))]
        return _rebuild(out_shape, iter([v.data for v in flat_out]))


def _vectorizable(opt: Optimizer) -> bool:
    from .update import vectorizable  # numpy: only with the numpy backend

    return vectorizable(opt)


def _checked_params(params: Any) -> list[Value]:
    if isinstance(params, (Value, str, bytes)) or not isinstance(params, Iterable):
        raise TypeError("compile_step: params must be a list of Values "
                        f"(model.parameters()), got {type(params).__name__}")
    checked: list[Value] = list(params)
    for i, p in enumerate(checked):
        if not isinstance(p, Value):
            raise TypeError(f"compile_step: params[{i}] must be a Value, "
                            f"got {type(p).__name__}")
        if not p.is_leaf:
            raise ValueError(f"compile_step: params[{i}] must be a leaf Value")
    return checked


def _changed_message(guard: Guard, on_change: str, retraces: int,
                     limit: int | None) -> str:
    """Why a replay stopped, and the settings that would let it go on."""
    head = (f"compiled step: the traced step compared {guard.text} and got {guard.expected}; "
            f"with these numbers it is {not guard.expected}, so the graph would change")
    if on_change == "error":
        return (f"{head}. Branch with ops (relu, max via relu, …) instead of Python "
                "comparisons, or pass on_change='retrace' to re-trace when it happens.")
    return (f"{head}, and it has been re-traced {retraces} times already (max_retraces="
            f"{limit}). A step whose comparisons flip often gains nothing from compiling: "
            f"raise the limit (max_retraces={2 * max(limit or 1, 1)}, or None for no limit), "
            "branch with ops (relu, …) instead, or run it eagerly.")


def _out_shape(result: Any, flat: list[Value]) -> Any:
    if isinstance(result, Value):
        flat.append(result)
        return None
    if isinstance(result, (list, tuple)) and result:
        if all(type(v) is Value for v in result):
            flat.extend(result)
            return len(result)
        return tuple(_out_shape(v, flat) for v in result)
    raise TypeError("compiled step: fn must return a Value (the loss) or a list/tuple whose "
                    f"first item is the loss, got {type(result).__name__}")


def compile_step(fn: Callable[..., Any],
                 params: Sequence[Value] | Callable[[], Sequence[Value]], *,
                 backend: str = "python", static: Sequence[int] = (),
                 on_change: str = "retrace", max_retraces: int | None = 8,
                 key: Callable[[], Hashable] | None = None,
                 optimizer: Optimizer | None = None) -> CompiledStep:
    """Compile ``fn(*args) -> loss`` (or ``(loss, *more)``) for replay.

    Calling the result with numbers (nested lists, numpy arrays) returns ``fn``'s result
    as floats and adds ∂loss/∂θ to ``θ.grad`` for each parameter θ of ``params`` — what
    ``fn(*values).backward()`` does, without building the graph. The first call for each
    argument shape runs ``fn`` eagerly and records its tape; later calls replay it.

    * **floats** in the arguments become the step's inputs (a ``Value`` each while tracing);
    * **numpy arrays** are their ``tolist()``: a float array (any width, read as float64)
      shares the trace of the same lists and gives the same numbers, without a Python
      loop over its items; an int array holds labels; other dtypes are refused;
    * **ints** stay Python ints (class labels: ``if c == 1`` behaves as in eager mode) and
      are part of the cache key, so each new combination of ints is traced once: pass data
      as floats. Arguments at positions in ``static`` are passed through unchanged and are
      part of the key too.
    * **Retrace policy.** ``on_change`` decides what happens when a recorded comparison
      (``<``, ``max``, ``bool(v)``) comes out differently: ``"retrace"`` (at most
      ``max_retraces`` times per shape; ``None``: no limit) or ``"error"``
      (:class:`GraphChanged`).
    * **Model edits.** Pass ``params`` as a function (``model.parameters``) and it is
      called on every step: when it lists other ``Value`` objects (a weight replaced, a
      layer added) the step traces again. What the parameter list cannot show (an
      activation switched) goes into ``key``: a function whose result is part of the
      cache key (``key=lambda: model.activation``).
    * **A whole training step.** With ``optimizer`` (any of :mod:`microgrid.optim` but
      Newton), a call is ``optimizer.zero_grad()``, the backward pass and
      ``optimizer.step()``: afterwards each parameter holds this step's gradient and its
      new value. With the numpy backend the optimizer's rule runs once on whole arrays
      (the same numbers as its ``step()``, bit for bit). The attribute ``step.optimizer``
      may be replaced between calls.
    * **Errors.** A node with its own ``_backward`` (made by hand, micrograd's way) is
      refused with ``TypeError`` when traced, naming its label, op and value. A replay
      that meets a number eager mode would refuse (a log of a negative, an overflow — also
      where relu would hide it) runs the step eagerly, so the op raises its own error, of
      the same type as eager mode's.
    """
    return CompiledStep(fn, params, backend=backend, static=static, on_change=on_change,
                        max_retraces=max_retraces, key=key, optimizer=optimizer)
