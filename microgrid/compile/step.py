"""A compiled training step: trace ``fn`` once per argument shape, then replay its tape.

    step = compile_step(lambda xs, ts: mse([model(x)[0] for x in xs], ts),
                        model.parameters())
    loss = step(X, T)   # the loss as a float; every parameter's grad += ∂loss/∂parameter

Numbers in the arguments (nested lists of floats) become the step's inputs; the parameters'
current ``data`` is read on every call and ``∂loss/∂θ`` is added to each ``θ.grad``, as
``loss.backward()`` would (zero them between steps, as usual). Interior nodes are not
materialized, so they have no ``grad`` to show.

**What the tape freezes.** Leaves that are neither parameters nor inputs are constants;
so is any number the step reads out of a ``Value`` (``v.data``, ``float(v)``) to build
another. Comparisons of ``Value``s (``<``, ``<=``, ``>``, ``>=``; ``max`` uses them) are
recorded as *guards* and re-checked on every replay: when one comes out differently the
step's graph would change, and the step is re-traced (``on_change="retrace"``) or refused
with :class:`GraphChanged` (``on_change="error"``). Use ``relu`` and friends for choices
inside the math; branch in Python only through comparisons.

**Garbage collector.** Tracing runs the step eagerly with the cyclic collector paused
(:func:`~microgrid.collector.gc_paused`); replays allocate no graph at all.
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from .. import engine
from ..collector import gc_paused
from ..engine import Value
from .backends import BACKENDS, Replay, replayer
from .tape import Guard, GuardFailed, trace

__all__ = ["CompiledStep", "GraphChanged", "compile_step"]


class GraphChanged(RuntimeError):
    """A compiled step's graph depends on the data and no longer matches its tape."""


_NUMBERS = {float, int}


def _flatten(x: Any, flat: list[Any], path: str) -> Any:
    """Append the numbers of a nested list to ``flat``; return the nesting's shape key.

    A list whose first item is a number counts as a row of numbers (checked later, all at
    once, by :func:`_check_inputs`)."""
    if isinstance(x, (list, tuple)):
        if not x or type(x[0]) in _NUMBERS:
            flat.extend(x)
            return len(x)
        return tuple(_flatten(v, flat, f"{path}[{i}]") for i, v in enumerate(x))
    if type(x) in _NUMBERS:
        flat.append(x)
        return None
    raise TypeError(f"compiled step: argument {path} must be a number or a (nested) list of "
                    f"numbers, got {type(x).__name__}: {x!r} (pass it through static=)")


def _rebuild(shape: Any, values: Iterator[Any]) -> Any:
    if shape is None:
        return next(values)
    if type(shape) is int:
        return [next(values) for _ in range(shape)]
    return [_rebuild(s, values) for s in shape]


def _check_inputs(flat: list[Any]) -> None:
    """Refuse what ``Value(...)`` would refuse: non-numbers, bools, nan and ±inf."""
    types = set(map(type, flat))
    if not types <= {float, int}:
        for v in flat:
            if type(v) not in (float, int):
                raise TypeError(f"compiled step: inputs must be real numbers (int or float), "
                                f"got {type(v).__name__}: {v!r}")
    total = builtins.sum(flat, 0.0)
    if total - total != 0.0:
        for v in flat:
            if not math.isfinite(v):
                raise ValueError(f"compiled step: inputs must be finite, got {v!r}")


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


class CompiledStep:
    """``fn`` traced once per argument shape, then replayed; see :func:`compile_step`."""

    def __init__(self, fn: Callable[..., Any], params: Sequence[Value], *,
                 backend: str = "python", static: Sequence[int] = (),
                 on_change: str = "retrace", max_retraces: int = 8) -> None:
        if not callable(fn):
            raise TypeError(f"compile_step: fn must be callable, got {type(fn).__name__}")
        if isinstance(params, Value):
            raise TypeError("compile_step: params must be a list of Values "
                            "(model.parameters()), got a single Value")
        ps: list[Value] = []
        seen: set[Value] = set()
        for i, p in enumerate(params):
            if not isinstance(p, Value):
                raise TypeError(f"compile_step: params[{i}] must be a Value, "
                                f"got {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"compile_step: params[{i}] must be a leaf Value")
            if p not in seen:
                seen.add(p)
                ps.append(p)
        if backend not in BACKENDS:
            raise ValueError(f"compile_step: unknown backend {backend!r}; "
                             f"choose one of {', '.join(map(repr, BACKENDS))}")
        if on_change not in ("retrace", "error"):
            raise ValueError(f"compile_step: on_change must be 'retrace' or 'error', "
                             f"got {on_change!r}")
        self.fn = fn
        self.params = ps
        self.backend = backend
        self.static = frozenset(static)
        self.on_change = on_change
        self.max_retraces = max_retraces
        self.traces = 0  # how many times fn has been run eagerly
        self._cache: dict[Any, _Entry] = {}

    def __call__(self, *args: Any) -> Any:
        flat: list[Any] = []
        shape = []
        for i, a in enumerate(args):
            if i in self.static:
                shape.append(("static", a))
            else:
                shape.append(_flatten(a, flat, f"#{i}"))
        key = tuple(shape)
        try:
            entry = self._cache.get(key)
        except TypeError:
            raise TypeError("compiled step: static arguments must be hashable") from None
        _check_inputs(flat)
        if entry is None:
            return self._trace(key, args, None)
        try:
            outs, grads = entry.replay([p.data for p in self.params], flat)
        except GuardFailed as e:
            guard = entry.guards[e.k]
            if self.on_change == "error" or entry.retraces >= self.max_retraces:
                why = ("" if self.on_change == "error" else
                       f" (re-traced {entry.retraces} times already)")
                raise GraphChanged(
                    f"compiled step: the traced step compared {guard.text} and got "
                    f"{guard.expected}; with these numbers it is {not guard.expected}, so the "
                    f"graph would change{why}. Branch with ops (relu, …) instead of Python "
                    "comparisons, or use on_change='retrace'.") from None
            return self._trace(key, args, entry)
        except (ArithmeticError, ValueError):
            return self._trace(key, args, entry)  # eager names the op that failed
        total = builtins.sum(grads, builtins.sum(outs))
        if total - total != 0.0:
            return self._trace(key, args, entry)  # eager raises with the op's name
        for p, g in zip(self.params, grads):
            p.grad += g
        return _rebuild(entry.out_shape, iter(outs))

    def _trace(self, key: Any, args: tuple[Any, ...], old: _Entry | None) -> Any:
        """Run ``fn`` eagerly on fresh input Values, backward, and record its tape."""
        inputs: list[Value] = []

        def wrap(x: Any, i: int) -> Any:
            if i in self.static:
                return x
            if isinstance(x, (list, tuple)):
                return [wrap(v, -1) for v in x]
            v = Value(x)
            inputs.append(v)
            return v

        wrapped = [wrap(a, i) for i, a in enumerate(args)]
        guards: list[tuple[Value, str, Value | float, bool]] = []

        def record(value: Value, cmp: str, other: Any, result: bool) -> None:
            guards.append((value, cmp, other, result))

        with gc_paused():
            outer, engine._compare_hook = engine._compare_hook, record
            try:
                result = self.fn(*wrapped)
            except TypeError as e:
                if "Value" in str(e) and ("indices" in str(e) or "integer" in str(e)):
                    raise TypeError(f"compiled step: {e}; an argument used as an index or "
                                    "count must be passed through static=") from e
                raise
            finally:
                engine._compare_hook = outer
            flat_out: list[Value] = []
            out_shape = _out_shape(result, flat_out)
            loss = flat_out[0]
            self.traces += 1
            tape = trace(flat_out, self.params, inputs, guards)
            loss.backward()
        entry = _Entry(replayer(tape, self.backend), tape.guards, out_shape)
        if old is not None:
            entry.retraces = old.retraces + 1
        self._cache[key] = entry
        return _rebuild(out_shape, iter([v.data for v in flat_out]))


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


def compile_step(fn: Callable[..., Any], params: Sequence[Value], *,
                 backend: str = "python", static: Sequence[int] = (),
                 on_change: str = "retrace", max_retraces: int = 8) -> CompiledStep:
    """Compile ``fn(*args) -> loss`` (or ``(loss, *more)``) for replay.

    Calling the result with numbers (nested lists) returns ``fn``'s result as floats and
    adds ∂loss/∂θ to ``θ.grad`` for each parameter θ of ``params`` — what
    ``fn(*values).backward()`` does, without building the graph. The first call for each
    argument shape runs ``fn`` eagerly and records its tape; later calls replay it.
    Arguments at positions in ``static`` are passed through unchanged (labels used as
    indices, say) and are part of the cache key. ``on_change`` decides what happens when
    a recorded comparison comes out differently: ``"retrace"`` (at most ``max_retraces``
    times per shape) or ``"error"`` (:class:`GraphChanged`).
    """
    return CompiledStep(fn, params, backend=backend, static=static, on_change=on_change,
                        max_retraces=max_retraces)
