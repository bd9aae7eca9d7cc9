"""Tracing to a tape: a recorded graph as flat lists, the only thing backends see.

A :class:`Tape` lists the nodes of a graph in topological order: node i has an op-table
entry ``ops[i]``, operand indices ``args[i]`` (all smaller than i) and its traced value
``data[i]``. Leaves in ``wrt`` and ``inputs`` take new values on every replay; every other
leaf is a constant. Comparisons made while tracing are kept as :class:`Guard` s, re-checked
on every replay; a replay whose guard comes out differently raises :class:`GuardFailed`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain

from ..engine import Value, float_comparison
from ..graph import topological_order
from ..ops import CONST, Op

__all__ = ["Guard", "GuardFailed", "NotFinite", "Tape", "trace"]


class GuardFailed(Exception):
    """Raised by a replay when guard number ``k`` of its tape comes out differently."""

    def __init__(self, k: int) -> None:
        super().__init__(k)
        self.k = k


class NotFinite(ArithmeticError):
    """Raised by a replay that met a number eager mode refuses (inf or nan, anywhere).

    The compiled step then runs the step eagerly, so the op raises its own error.
    """


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

    def read_counts(self, operands: Mapping[int, Sequence[int]] | None = None) -> list[int]:
        """How often each node is read: by the nodes' operands (``args``, or the given
        ``operands`` of some nodes), and twice for an output or a guarded node (read after
        the replay), so a backend never folds away a value that is read again."""
        uses = [0] * len(self.ops)
        for reads in (operands.values() if operands is not None else self.args):
            for j in reads:
                uses[j] += 1
        for i in self.outputs:
            uses[i] += 2
        for gd in self.guards:
            uses[gd.node] += 2
            if isinstance(gd.other, int):
                uses[gd.other] += 2
        return uses

    def needs_grad(self) -> list[bool]:
        """Per node: on a path from a leaf to the loss, so ``backward()`` computes its
        gradient — not only for ``wrt``: eager mode also differentiates inputs and frozen
        leaves, and raises when one of those gradients is not finite, so a replay must too.
        Constants (``ops.CONST``) get none."""
        n = len(self.ops)
        leads = [op.arity == 0 and op is not CONST for op in self.ops]
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


def _replayable(node: Value) -> None:
    """Refuse a node whose gradient rule is not in the op table: one made by hand with its
    own ``_backward`` (micrograd's way, ``Value(data, (a,), 'op')`` in
    :mod:`microgrid.micrograd`), whose op has no forward to replay, or one given a
    ``_backward`` of its own. A tape replays op-table rules only, so it would compute
    different gradients."""
    op = node.op
    own = "_backward" in getattr(node, "__dict__", ())
    if not own and (op.arity == 0 or op.forward is not None):
        return
    label = f"{node.label!r} " if node.label else ""
    raise TypeError(
        f"compile: the node {label}(op {op.symbol!r}, data={node.data!r}) has its own "
        f"_backward(), which a compiled step cannot replay: a tape holds op-table ops "
        f"only. Build the node from microgrid's ops (x.tanh(), x.exp(), x ** 2, ...) or "
        f"run it eagerly (.backward(), fit(..., compiled=False))")


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
    for node in order:
        _replayable(node)
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
        if cmp not in ("<", "<=", ">", ">=", "!="):
            raise ValueError(f"trace: unknown comparison {cmp!r}")
        a = index[value]
        text = f"{value!r} {cmp} {other!r}"
        b: int | float
        if isinstance(other, Value):
            b = index[other]
        else:  # the same comparison, with a float (other may be an int beyond 2⁵³ ...)
            cmp, b = float_comparison(cmp, other)
        if frozen(a) and (not isinstance(b, int) or frozen(b)):
            continue  # constants on both sides: it cannot change
        tape.guards.append(Guard(a, cmp, b, bool(expected), text))
    return tape
