"""Compiled replay: trace a training step's graph once, then replay it on new numbers.

A training step builds the same graph every time; only the numbers change. A compiled step
runs the step eagerly once, records its graph as a :class:`Tape` (the nodes in topological
order: an op-table entry and operand indices each), and from then on replays forward and
backward over flat arrays of numbers, making no ``Value`` at all::

    step = compile_step(lambda xs, ts: mse([model(x)[0] for x in xs], ts),
                        model.parameters())
    loss = step(X, T)   # the loss as a float; every parameter's grad += ∂loss/∂parameter

Numbers in the arguments (nested lists of floats) become the step's inputs; the parameters'
current ``data`` is read on every call and ``∂loss/∂θ`` is added to each ``θ.grad``, as
``loss.backward()`` would (zero them between steps, as usual). Interior nodes are not
materialized, so they have no ``grad`` to show.

Backends (``backend=``):

* ``"python"``: one straight-line Python function per tape (``v7 = (v3 * v5)`` …
  ``g3 += g7 * v5``), built with ``compile()``. It performs the same float operations in
  the same order as ``backward()``, so its losses and gradients are bit-identical to eager.
* ``"numpy"`` (:mod:`microgrid.replay_numpy`, needs the ``fast`` extra): independent nodes
  of one op at one depth run as one array operation; chains of ``+`` become one sum.
  It agrees with eager to rounding (sums are reassociated).

**Derived from the op table.** No rule is written twice: each op's ``forward`` and
``local`` are *run once on symbols* (:class:`Sym`), which records their arithmetic as an
expression; branches (``a if a > 0.0 else 0.0``) are explored both ways and become a
conditional evaluated on every replay, so relu's derivative is never baked in. A rule that
needs a real number (``math.exp``, a validity check that raises) is simply called per
replay, its checks included.

**What the tape freezes.** Leaves that are neither parameters nor inputs are constants;
so is any number the step reads out of a ``Value`` (``v.data``, ``float(v)``) to build
another. Comparisons of ``Value``s (``<``, ``<=``, ``>``, ``>=``; ``max`` uses them) are
recorded as *guards* and re-checked on every replay: when one comes out differently the
step's graph would change, and the step is re-traced (``on_change="retrace"``) or refused
with :class:`GraphChanged` (``on_change="error"``). Use ``relu`` and friends for choices
inside the math; branch in Python only through comparisons.

**Garbage collector.** Tracing runs the step eagerly with the cyclic collector paused
(:func:`gc_paused`): the graph has no reference cycles, so reference counting frees it and
the collector would only re-scan live nodes. Replays allocate no graph at all.
"""

from __future__ import annotations

import builtins
import contextlib
import gc
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

from . import engine, ops
from .engine import Value
from .graph import topological_order
from .ops import Op

__all__ = ["CompiledStep", "GraphChanged", "Sym", "Tape", "compile_step", "gc_paused",
           "replayer", "trace"]


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector inside the block, then restore its state.

    Safe for microgrid graphs: nodes hold no reference cycles, so reference counting alone
    frees a graph the moment it goes out of scope; the collector would only traverse live
    nodes again and again (on large graphs, about half of a training step). Cyclic garbage
    made by other code inside the block waits for the next collection after it. The
    collector's state is process-wide: the block leaves it as it found it (disabled stays
    disabled), and a block in another thread may end the pause early, which only costs time.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class GraphChanged(RuntimeError):
    """A compiled step's graph depends on the data and no longer matches its tape."""


# ----------------------------------------------------------------------------------
# Symbols: run an op's rule once on these to record its arithmetic as an expression.
# ----------------------------------------------------------------------------------

class _Untraceable(Exception):
    """The rule needed a real number (``float()``, ``math.*``): call it per replay."""


_CMP = {"<", "<=", ">", ">=", "==", "!="}


class Sym:
    """A symbolic number: arithmetic on it builds an expression tree instead of a value.

    ``kind`` is ``"var"`` (args: operand position), an operator (``"+" "-" "*" "/" "**"``,
    ``"neg"``), a comparison (``"<"`` …), ``"where"`` (condition, if-true, if-false) or
    ``"call"`` (name of a function of ``ops.FLOAT_FNS``, argument). Leaves that are plain
    numbers stay Python floats. Truth-testing a comparison asks the active path explorer.
    """

    __slots__ = ("args", "kind")

    def __init__(self, kind: str, *args: Any) -> None:
        self.kind = kind
        self.args = args

    def __add__(self, o: Any) -> Sym:
        return Sym("+", self, o)

    def __radd__(self, o: Any) -> Sym:
        return Sym("+", o, self)

    def __sub__(self, o: Any) -> Sym:
        return Sym("-", self, o)

    def __rsub__(self, o: Any) -> Sym:
        return Sym("-", o, self)

    def __mul__(self, o: Any) -> Sym:
        return Sym("*", self, o)

    def __rmul__(self, o: Any) -> Sym:
        return Sym("*", o, self)

    def __truediv__(self, o: Any) -> Sym:
        return Sym("/", self, o)

    def __rtruediv__(self, o: Any) -> Sym:
        return Sym("/", o, self)

    def __pow__(self, o: Any) -> Sym:
        return Sym("**", self, o)

    def __rpow__(self, o: Any) -> Sym:
        return Sym("**", o, self)

    def __neg__(self) -> Sym:
        return Sym("neg", self)

    def __pos__(self) -> Sym:
        return self

    def __lt__(self, o: Any) -> Sym:
        return Sym("<", self, o)

    def __le__(self, o: Any) -> Sym:
        return Sym("<=", self, o)

    def __gt__(self, o: Any) -> Sym:
        return Sym(">", self, o)

    def __ge__(self, o: Any) -> Sym:
        return Sym(">=", self, o)

    def __eq__(self, o: Any) -> Sym:  # type: ignore[override]
        return Sym("==", self, o)

    def __ne__(self, o: Any) -> Sym:  # type: ignore[override]
        return Sym("!=", self, o)

    __hash__ = object.__hash__

    def __bool__(self) -> bool:
        explorer = _Paths.current
        if explorer is None:
            raise _Untraceable("a symbol was truth-tested outside path exploration")
        return explorer.decide(self if self.kind in _CMP else Sym("!=", self, 0.0))

    def __float__(self) -> float:
        raise _Untraceable("float() of a symbol")

    def __index__(self) -> int:
        raise _Untraceable("a symbol used as an int")

    def __repr__(self) -> str:
        return render(self, [f"x{i}" for i in range(64)], _PY)


class _SymFns:
    """The derivative rules' namespace ``F`` on symbols: ``F.log(x)`` → a call node."""

    def __getattr__(self, name: str) -> Callable[[Any], Sym]:
        if not hasattr(ops.FLOAT_FNS, name):
            raise AttributeError(name)
        return lambda x: Sym("call", name, x)


_SYM_FNS = _SymFns()


class _Paths:
    """Drives one run of a rule along a fixed prefix of branch decisions (then True)."""

    current: _Paths | None = None

    def __init__(self, prefix: list[bool]) -> None:
        self.prefix = prefix
        self.conds: list[Sym] = []

    def decide(self, cond: Sym) -> bool:
        k = len(self.conds)
        self.conds.append(cond)
        return self.prefix[k] if k < len(self.prefix) else True


def _where(cond: Sym, t: Any, f: Any) -> Any:
    if isinstance(t, tuple) and isinstance(f, tuple) and len(t) == len(f):
        return tuple(_where(cond, a, b) for a, b in zip(t, f))
    if t is f or (type(t) in (int, float) and type(f) in (int, float) and t == f):
        return t
    return Sym("where", cond, t, f)


def explore(fn: Callable[..., Any], args: Sequence[Any], limit: int = 16) -> Any:
    """``fn(*args)`` on symbols along every branch: one expression with ``where`` nodes.

    Raises ``_Untraceable`` (or whatever ``fn`` raises) if some path cannot be traced.
    """
    runs = 0

    def build(prefix: list[bool]) -> Any:
        nonlocal runs
        runs += 1
        if runs > limit:
            raise _Untraceable(f"more than {limit} paths")
        paths = _Paths(prefix)
        outer, _Paths.current = _Paths.current, paths
        try:
            result = fn(*args)
        finally:
            _Paths.current = outer
        if len(paths.conds) <= len(prefix):
            return result
        cond = paths.conds[len(prefix)]
        return _where(cond, build([*prefix, True]), build([*prefix, False]))

    return build([])


def _is_expr(x: Any) -> bool:
    return isinstance(x, Sym) or (type(x) in (int, float) and math.isfinite(x))


_rule_cache: dict[tuple[Any, ...], Any] = {}


def forward_rule(op: Op, nargs: int, const: float | None = None) -> Sym | float | None:
    """``op.forward`` on symbols ``x0 … x(n−1)``, or None if it must be called per replay.

    ``const`` is the value of a ``const_operand`` op's fixed operand, folded in. n-ary ops
    are always called: builtins such as ``sum`` may round differently on symbols.
    """
    key = ("f", op, nargs, const)
    if key not in _rule_cache:
        rule: Any = None
        if op.forward is not None and op.arity >= 0:
            xs: list[Any] = [Sym("var", i) for i in range(nargs)]
            if const is not None:
                xs[1] = const
            try:
                rule = explore(op.forward, xs)
            except Exception:
                rule = None
            if not _is_expr(rule):
                rule = None
        _rule_cache[key] = rule
    return _rule_cache[key]  # type: ignore[no-any-return]


def local_rule(op: Op, nargs: int, const: float | None = None) -> tuple[Any, ...] | None:
    """``op.local`` on symbols ``x0 … x(n−1)`` and ``out`` = ``x(n)``; None if untraceable."""
    key = ("l", op, nargs, const)
    if key not in _rule_cache:
        rule: Any = None
        local = op.local
        if local is not None:
            xs: list[Any] = [Sym("var", i) for i in range(nargs + 1)]
            if const is not None:
                xs[1] = const
            try:
                rule = explore(lambda *a: local(_SYM_FNS, *a), xs)
            except Exception:
                rule = None
            if not (isinstance(rule, tuple) and len(rule) == nargs
                    and all(_is_expr(d) for d in rule)):
                rule = None
        _rule_cache[key] = rule
    return _rule_cache[key]  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Dialect:
    """How expressions are written: conditionals and the ``F`` functions."""

    where: str      # format with {c}, {t}, {f}
    call: str       # format with {name}, {x}


_PY = Dialect("({t} if {c} else {f})", "_F_{name}({x})")


def render(e: Any, names: Sequence[str], dialect: Dialect) -> str:
    """Source text of expression ``e``; ``names[i]`` is what variable ``i`` is called."""
    if not isinstance(e, Sym):
        x = float(e)
        return f"({x!r})" if x < 0.0 or (x == 0.0 and math.copysign(1.0, x) < 0.0) else repr(x)
    k, a = e.kind, e.args
    if k == "var":
        name: str = names[a[0]]
        return name
    if k == "neg":
        return f"(-{render(a[0], names, dialect)})"
    if k == "where":
        return dialect.where.format(c=render(a[0], names, dialect),
                                    t=render(a[1], names, dialect),
                                    f=render(a[2], names, dialect))
    if k == "call":
        return dialect.call.format(name=a[0], x=render(a[1], names, dialect))
    return f"({render(a[0], names, dialect)} {k} {render(a[1], names, dialect)})"


# ----------------------------------------------------------------------------------
# The tape: a traced graph as flat arrays.
# ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Guard:
    """A comparison made while tracing: ``node <cmp> other`` came out ``expected``.

    ``other`` is a node index (int) or a constant (float); ``text`` describes it for errors.
    """

    node: int
    cmp: str
    other: int | float
    expected: bool
    text: str


@dataclass
class Tape:
    """A traced graph: node i has op ``ops[i]``, operands ``args[i]`` (node indices, all
    smaller than i) and traced value ``data[i]``.

    Leaves listed in ``wrt`` (whose gradients are wanted) and ``inputs`` take new values on
    every replay; every other leaf is a constant. An entry of ``wrt``/``inputs`` is -1 when
    that leaf is not in the graph. ``outputs[0]`` is the loss that backward starts from.
    """

    ops: list[Op]
    args: list[tuple[int, ...]]
    data: list[float]
    wrt: list[int]
    inputs: list[int]
    outputs: list[int]
    guards: list[Guard] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ops)

    def variables(self) -> set[int]:
        """Indices of the leaves that take new values on every replay."""
        return {i for i in chain(self.wrt, self.inputs) if i >= 0}

    def needs_grad(self) -> list[bool]:
        """Per node: on a path from a ``wrt`` leaf to the loss (so it carries gradient)."""
        n = len(self.ops)
        leads = [False] * n
        for i in self.wrt:
            if i >= 0:
                leads[i] = True
        for i in range(n):
            if not leads[i] and any(leads[j] for j in self.args[i]):
                leads[i] = True
        live = [False] * n
        live[self.outputs[0]] = True
        for i in range(n - 1, -1, -1):
            if live[i]:
                for j in self.args[i]:
                    live[j] = True
        return [a and b for a, b in zip(leads, live)]


def _leaf_list(values: Sequence[Value], what: str) -> list[Value]:
    out = list(values)
    for i, v in enumerate(out):
        if not isinstance(v, Value):
            raise TypeError(f"trace: {what}[{i}] must be a Value, got {type(v).__name__}")
        if not v.is_leaf:
            raise ValueError(f"trace: {what}[{i}] must be a leaf (made by Value(...)), "
                             f"but it was computed by {v.op.name}")
    return out


def trace(outputs: Value | Sequence[Value], wrt: Sequence[Value] = (),
          inputs: Sequence[Value] = (),
          guards: Sequence[tuple[Value, str, Value | float, bool]] = ()) -> Tape:
    """Record the graph below ``outputs`` (the first is the loss) as a :class:`Tape`.

    ``wrt`` are the leaves whose gradients a replay returns, ``inputs`` the leaves that
    take new values on each replay without needing a gradient; every other leaf is frozen
    as a constant. ``guards`` are comparisons ``(value, "<", other, result)`` to re-check.
    """
    outs = [outputs] if isinstance(outputs, Value) else list(outputs)
    if not outs or not all(isinstance(o, Value) for o in outs):
        raise TypeError("trace: outputs must be a Value or a non-empty list of Values")
    ws = _leaf_list(wrt, "wrt")
    xs = _leaf_list(inputs, "inputs")
    if set(ws) & set(xs):
        raise ValueError("trace: a leaf cannot be both in wrt and in inputs")
    extra = [g[0] for g in guards] + [g[2] for g in guards if isinstance(g[2], Value)]
    order: list[Value] = topological_order([*outs, *extra])
    index = {node: i for i, node in enumerate(order)}
    tape = Tape(ops=[node.op for node in order],
                args=[tuple(index[p] for p in node.parents) for node in order],
                data=[node.data for node in order],
                wrt=[index.get(w, -1) for w in ws],
                inputs=[index.get(x, -1) for x in xs],
                outputs=[index[o] for o in outs])
    variable = tape.variables()

    def frozen(i: int) -> bool:
        return tape.ops[i].arity == 0 and i not in variable

    for value, cmp, other, expected in guards:
        if cmp not in ("<", "<=", ">", ">="):
            raise ValueError(f"trace: unknown comparison {cmp!r}")
        a = index[value]
        b: int | float = index[other] if isinstance(other, Value) else float(other)
        if frozen(a) and (not isinstance(b, int) or frozen(b)):
            continue  # constants on both sides: it cannot change
        text = f"{value!r} {cmp} {other!r}"
        tape.guards.append(Guard(a, cmp, b, bool(expected), text))
    return tape


# ----------------------------------------------------------------------------------
# The python backend: one straight-line function per tape.
# ----------------------------------------------------------------------------------

class _GuardFailed(Exception):
    def __init__(self, k: int) -> None:
        super().__init__(k)
        self.k = k


def _const_operand(tape: Tape, i: int, variable: set[int]) -> float | None:
    """The fixed operand of a ``const_operand`` op at node i, if it is a constant."""
    op = tape.ops[i]
    if op.const_operand:
        c = tape.args[i][1]
        if tape.ops[c].arity == 0 and c not in variable:
            return tape.data[c]
    return None


class PythonReplay:
    """The python backend: ``replay(wrt_values, input_values) -> (outputs, grads)``.

    The function is generated from the tape: one assignment per node forward (the op's
    rule as an expression, or a call of ``op.forward``), one accumulation per operand
    backward (``g_a += g_out * ∂out/∂a`` from ``op.local``), in ``backward()``'s order.
    """

    def __init__(self, tape: Tape) -> None:
        self.nodes = len(tape)
        self.source = self._generate(tape)  # the tape itself is not kept: see CompiledStep
        namespace: dict[str, Any] = {"_GuardFailed": _GuardFailed, "_F": ops.FLOAT_FNS}
        for name in dir(ops.FLOAT_FNS):
            if not name.startswith("_"):
                namespace[f"_F_{name}"] = getattr(ops.FLOAT_FNS, name)
        for op in ops.OPS.values():
            namespace[f"_f_{op.name}"] = op.forward
            namespace[f"_l_{op.name}"] = op.local
        code = builtins.compile(self.source, f"<microgrid replay of {self.nodes} nodes>", "exec")
        exec(code, namespace)
        self._run: Callable[[Sequence[float], Sequence[float]],
                            tuple[tuple[float, ...], tuple[float, ...]]] = namespace["replay"]

    def __call__(self, wrt_values: Sequence[float],
                 input_values: Sequence[float]) -> tuple[list[float], list[float]]:
        outs, grads = self._run(wrt_values, input_values)
        return list(outs), list(grads)

    def _generate(self, tape: Tape) -> str:
        n = len(tape)
        variable = tape.variables()
        names = [f"v{i}" for i in range(n)]
        for i in range(n):
            if tape.ops[i].arity == 0 and i not in variable:
                names[i] = render(tape.data[i], (), _PY)
        lines = ["def replay(P, X):"]

        def unpack(slots: list[int], src: str) -> None:
            if slots:
                targets = ", ".join(names[i] if i >= 0 else "_" for i in slots)
                lines.append(f"    {targets}, = {src}")

        unpack(tape.wrt, "P")
        unpack(tape.inputs, "X")
        guards_after: dict[int, list[int]] = {}
        for k, gd in enumerate(tape.guards):
            last = max(gd.node, gd.other if isinstance(gd.other, int) else -1)
            guards_after.setdefault(last, []).append(k)
        for i in range(n):
            op = tape.ops[i]
            if op.arity != 0:
                args = [names[j] for j in tape.args[i]]
                rule = forward_rule(op, len(args), _const_operand(tape, i, variable))
                if rule is None:
                    lines.append(f"    v{i} = _f_{op.name}({', '.join(args)})")
                else:
                    lines.append(f"    v{i} = {render(rule, args, _PY)}")
            for k in guards_after.get(i, ()):
                gd = tape.guards[k]
                other = names[gd.other] if isinstance(gd.other, int) else render(gd.other, (),
                                                                                  _PY)
                test = f"{names[gd.node]} {gd.cmp} {other}"
                lines.append(f"    if {'not ' if gd.expected else ''}({test}): "
                             f"raise _GuardFailed({k})")
        needs = tape.needs_grad()
        has = [False] * n
        root = tape.outputs[0]
        if needs[root]:
            lines.append(f"    g{root} = 1.0")
            has[root] = True
        for i in range(n - 1, -1, -1):
            op = tape.ops[i]
            if op.arity == 0 or not has[i]:
                continue
            js = tape.args[i]
            args = [names[j] for j in js]
            local = local_rule(op, len(args), _const_operand(tape, i, variable))
            if local is None:
                lines.append(f"    _d = _l_{op.name}(_F, {', '.join(args)}, v{i})")
            for pos, j in enumerate(js):
                if not needs[j]:
                    continue
                if local is None:
                    term = f"g{i} * _d[{pos}]"
                else:
                    d = local[pos]
                    if not isinstance(d, Sym) and d == 1.0:
                        term = f"g{i}"
                    elif not isinstance(d, Sym) and d == 0.0:
                        continue
                    else:
                        term = f"g{i} * {render(d, [*args, f'v{i}'], _PY)}"
                lines.append(f"    g{j} {'+=' if has[j] else '='} {term}")
                has[j] = True
        outs = "".join(f"{names[o]}, " for o in tape.outputs)
        grads = "".join(f"g{w}, " if w >= 0 and has[w] else "0.0, " for w in tape.wrt)
        lines.append(f"    return ({outs}), ({grads})")
        return "\n".join(lines) + "\n"


Replay = Callable[[Sequence[float], Sequence[float]], tuple[list[float], list[float]]]

BACKENDS = ("python", "numpy")


def replayer(tape: Tape, backend: str = "python") -> Replay:
    """A function ``(wrt_values, input_values) -> (output values, gradients of wrt)``.

    Raises ``_GuardFailed`` internally when a guard comes out differently; use
    :class:`CompiledStep` for the handling of changed graphs.
    """
    if backend == "python":
        return PythonReplay(tape)
    if backend == "numpy":
        from .replay_numpy import NumpyReplay  # numpy is imported only here

        return NumpyReplay(tape)
    raise ValueError(f"compile: unknown backend {backend!r}; choose 'python' or 'numpy'")


# ----------------------------------------------------------------------------------
# A compiled training step.
# ----------------------------------------------------------------------------------

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
        except _GuardFailed as e:
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
            if cmp == "bool":  # bool(v) is v != 0: both signs recorded
                guards.append((value, ">", 0.0, value.data > 0.0))
                guards.append((value, "<", 0.0, value.data < 0.0))
            else:
                guards.append((value, cmp, other, result))

        with gc_paused():
            try:
                with engine.observing_comparisons(record):
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
