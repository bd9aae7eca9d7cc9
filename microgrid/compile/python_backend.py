"""The python backend: a tape as straight-line Python code, compiled chunk by chunk.

Each node becomes one line forward and one line per operand backward, derived from the op
table's declarations (never from names):

* ``kind="sum"``: ``v7 = v3 + v5`` and ``g3 += g7``; ``kind="product"``: ``v7 = v3 * v5``
  and ``g3 += g7 * v5``; ``kind="dot"`` (``wsum``): ``v7 = sum((w1 * x1, w2 * x2), b)``
  (the same products summed onto b in the same order as the op's ``forward``), then
  ``gw += g7 * vx`` for every weight, ``gx += g7 * vw`` for every input, ``gb += g7``;
* any other op: its ``forward`` called (with the same checks as eager mode, and refusing a
  non-finite operand that the op could hide, as relu hides −inf), and for each operand that
  is not in ``const_operands`` its rule from ``partials``: ``if g7: g3 += g7 * r(F, v3, v7)``
  — not evaluated when the upstream gradient is zero, as in ``backward()``.

The operations and their order are those of ``backward()``'s chain rule (leaves receive
their contributions from the last use to the first), so losses and gradients are
bit-identical to eager mode, the parameters' earlier ``grad`` included.

**Size.** A sum's terms that are used nowhere else are written inside its expression,
``v9 = ((v1 * v2) + (v3 * v4)) + v5``. The code is cut into chunks of about ten thousand
operands, each compiled on its own into a generator: it runs its forward part, pauses, and
runs its backward part when resumed, so values stay in fast local variables; only numbers
crossing a chunk boundary go through two shared lists. Compile time and memory grow
linearly with the tape.

**Errors.** As in ``backward()``, every gradient is computed — of inputs and other leaves
too, which are then dropped — and their sum, in the tape's order, must be finite; any
non-finite number makes the compiled step run eagerly, so the op raises its own error.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

from .. import ops
from ..namespaces import FLOAT_FNS
from ..ops import Op
from .tape import GuardFailed, NotFinite, Tape

__all__ = ["PythonReplay", "python_source"]

class FloatArray(Protocol):
    """A 1-D array of floats (a numpy ``float64`` array): its length and ``tolist()``."""

    def __len__(self) -> int: ...

    def tolist(self) -> Any: ...


CHUNK = 10_000
"""Operands (about lines of code) per compiled chunk."""


_POWERS = ops.POWERS


def _literal(x: float) -> str:
    text = repr(float(x))
    if x - x != 0.0:  # inf (a guard's bound beyond the floats) has no literal
        return f"float({text!r})"
    return f"({text})" if text.startswith("-") else text


def _checked(op: Op) -> Callable[..., float]:
    """``op.forward`` refusing non-finite operands and results (``Value`` never holds one:
    eager mode would have raised where the number was made)."""
    fwd = op.forward
    assert fwd is not None

    def one(a: float) -> float:
        if a - a != 0.0:
            raise NotFinite(f"{op.name}: operand {a!r}")
        out = fwd(a)
        if out - out != 0.0:
            raise NotFinite(f"{op.name}({a!r}) = {out!r}")
        return out

    def many(*xs: float) -> float:
        for x in xs:
            if x - x != 0.0:
                raise NotFinite(f"{op.name}: operand {x!r}")
        out = fwd(*xs)
        if out - out != 0.0:
            raise NotFinite(f"{op.name}{xs!r} = {out!r}")
        return out

    return one if op.arity == 1 else many


def _chunks(tape: Tape, size: int) -> list[tuple[int, int]]:
    """Consecutive node ranges of about ``size`` operands each (lines grow with operands)."""
    spans = []
    start, weight = 0, 0
    for i, args in enumerate(tape.args):
        weight += 1 + len(args)
        if weight >= size:
            spans.append((start, i + 1))
            start, weight = i + 1, 0
    if start < len(tape) or not spans:
        spans.append((start, len(tape)))
    return spans


class _Program:
    """The generated chunks of one tape, and what the driver needs to run them."""

    def __init__(self, tape: Tape, size: int = CHUNK) -> None:
        self.tape = tape
        n = len(tape)
        variable = tape.variables()
        self.constant = [op.arity == 0 and i not in variable for i, op in enumerate(tape.ops)]
        self.names = [_literal(tape.data[i]) if self.constant[i] else f"v{i}"
                      for i in range(n)]
        self.needs = tape.needs_grad()
        self.ops: dict[str, Any] = {}   # name in the code -> function
        self.op_names: dict[tuple[int, str, int], str] = {}
        self.spans = _chunks(tape, size)
        self.chunk_of = [0] * n
        for c, (s, e) in enumerate(self.spans):
            for i in range(s, e):
                self.chunk_of[i] = c
        constant = self.constant
        # values read by a later chunk (or returned) are written to V; gradients that
        # cross a chunk boundary go through G
        self.export_v = [False] * n
        self.export_g = [False] * n
        for i in range(n):
            for j in tape.args[i]:
                if not constant[j] and self.chunk_of[j] != self.chunk_of[i]:
                    self.export_v[j] = True
                    if self.needs[j] and self.needs[i]:
                        self.export_g[j] = True
        for o in tape.outputs:
            self.export_v[o] = True
        self.guards_after: dict[int, list[int]] = {}
        for k, gd in enumerate(tape.guards):
            nodes = [gd.node, *([gd.other] if isinstance(gd.other, int) else [])]
            last = max(nodes)
            self.guards_after.setdefault(last, []).append(k)
            for j in nodes:
                if self.chunk_of[j] != self.chunk_of[last]:
                    self.export_v[j] = True
        self.wrt_pos = {w: k for k, w in enumerate(tape.wrt) if w >= 0}
        self.inline = self._inlined()
        self.exprs: dict[int, str] = {}

    def _inlined(self) -> list[bool]:
        """Sums and products whose only use is a sum in the same chunk are written inside
        that sum's expression (``v9 = ((v1 * v2) + (v3 * v4))``): neither backward rule
        reads its own value, nor does a sum read its operands' values."""
        tape = self.tape
        n = len(tape)
        uses = tape.read_counts()
        user = [-1] * n  # the (last) node that reads each node
        for i, args in enumerate(tape.args):
            for j in args:
                user[j] = i
        inline = [False] * n
        depth = [0] * n
        for i in range(n):
            if tape.ops[i].kind in ("sum", "product"):
                depth[i] = 1 + max([depth[j] for j in tape.args[i] if inline[j]], default=0)
            c = user[i]
            inline[i] = (uses[i] == 1 and tape.ops[i].kind in ("sum", "product")
                         and tape.ops[c].kind == "sum" and not self.export_v[i]
                         and self.chunk_of[c] == self.chunk_of[i] and depth[i] < 100)
        return inline

    def fn(self, kind: str, op: Op, k: int = 0) -> str:
        """The name under which the code calls ``op``'s forward (kind ``"f"``), rule number
        k (``"r"``), vector rule (``"v"``) or refusal (``"x"``, see ``Op.refuse``)."""
        key = (id(op), kind, k)
        name = self.op_names.get(key)
        if name is None:
            name = f"_{kind}{len(self.op_names)}"
            self.op_names[key] = name
            if kind == "f":
                self.ops[name] = _checked(op) if op.kind == "elementwise" else op.forward
            elif kind == "v":
                self.ops[name] = op.vector_rule
            elif kind == "x":
                self.ops[name] = op.refuse
            else:
                self.ops[name] = op.partials[k]
        return name

    # -- one chunk --------------------------------------------------------------------
    def source(self, c: int) -> str:
        tape, v, needs = self.tape, self.names, self.needs
        s, e = self.spans[c]
        lines = [f"def chunk{c}(V, G, S):"]
        loaded: set[int] = set()
        for i in range(s, e):
            for j in tape.args[i]:
                if j < s and not self.constant[j] and j not in loaded:
                    loaded.add(j)
            if i in self.wrt_pos or (tape.ops[i].arity == 0 and not self.constant[i]):
                loaded.add(i)  # variable leaves of this chunk come in through V as well
            for k in self.guards_after.get(i, ()):
                gd = tape.guards[k]
                for j in [gd.node, *([gd.other] if isinstance(gd.other, int) else [])]:
                    if j < s and not self.constant[j]:
                        loaded.add(j)
        for j in sorted(loaded):
            lines.append(f"    {v[j]} = V[{j}]")
        for i in range(s, e):
            op = tape.ops[i]
            if self.inline[i]:
                self.exprs[i] = f"({self._forward(i, op)})"
            elif op.arity != 0:
                lines.append(f"    {v[i]} = {self._forward(i, op)}")
                if self.export_v[i]:
                    lines.append(f"    V[{i}] = {v[i]}")
            for k in self.guards_after.get(i, ()):
                lines.extend(self._guard(k))
        lines.append("    yield")
        if any(needs[i] for i in range(s, e)):
            lines.extend(self._backward(c))
        return "\n".join(lines) + "\n"

    def _forward(self, i: int, op: Op) -> str:
        args = [self.exprs.pop(j) if self.inline[j] else self.names[j]
                for j in self.tape.args[i]]
        if op.kind == "sum":
            return f"{args[0]} + {args[1]}"
        if op.kind == "product":
            return f"{args[0]} * {args[1]}"
        if op.kind == "dot":  # Σ wᵢ·xᵢ + b: the products summed onto b, as the op's forward
            n = (len(args) - 1) // 2
            terms = "".join(f"{w} * {x}, " for w, x in zip(args[:n], args[n:2 * n]))
            return f"_sum(({terms}), {args[-1]})"
        return f"{self.fn('f', op)}({', '.join(args)})"

    def _guard(self, k: int) -> list[str]:
        gd = self.tape.guards[k]
        a = self.names[gd.node]
        b = self.names[gd.other] if isinstance(gd.other, int) else _literal(gd.other)
        neg = "not " if gd.expected else ""
        return [f"    if {a} - {a} != 0.0: raise NotFinite('guard')",
                f"    if {neg}({a} {gd.cmp} {b}): raise GuardFailed({k})"]

    def _backward(self, c: int) -> list[str]:
        tape, v, needs = self.tape, self.names, self.needs
        s, e = self.spans[c]
        lines: list[str] = []
        has: set[int] = set()
        root = tape.outputs[0]
        outside: set[int] = set()   # gradients of earlier chunks' nodes, accumulated here

        def start(j: int) -> None:
            """First touch of g_j: later chunks' contributions (and a parameter's earlier
            grad) come first, as backward() adds them first."""
            if j < s:
                outside.add(j)
            if j < s or self.export_g[j] or j in self.wrt_pos:
                lines.append(f"    g{j} = G[{j}]")
                has.add(j)

        alias: dict[int, str] = {}  # g_j that is just another node's gradient: no copy

        def name(j: int) -> str:
            return alias.get(j, f"g{j}")

        def target(j: int, term: str, cond: str = "") -> None:
            if j not in has:
                start(j)
            if j in alias:      # a second contribution: the copy is made now
                first = alias.pop(j)
                if cond:
                    lines.append(f"    g{j} = {first}")
                    lines.append(f"    {cond}g{j} += {term}")
                else:
                    lines.append(f"    g{j} = {first} + {term}")
            elif j in has:
                lines.append(f"    {cond}g{j} += {term}")
            elif cond:
                lines.append(f"    g{j} = 0.0")
                lines.append(f"    {cond}g{j} += {term}")
                has.add(j)
            elif term.isidentifier():   # 0.0 + g is g: an alias, no line
                alias[j] = term
                has.add(j)
            else:
                lines.append(f"    g{j} = {term}")
                has.add(j)

        for i in range(e - 1, s - 1, -1):
            if not needs[i]:
                continue
            if i not in has:
                start(i)
            if i == root:
                lines.append(f"    g{i} += 1.0" if i in has else f"    g{i} = 1.0")
                has.add(i)
            op = tape.ops[i]
            if op.arity == 0:
                continue
            if i not in has:
                continue  # nothing reached this node
            js = tape.args[i]
            wanted = [p for p, j in enumerate(js) if needs[j] and p not in op.const_operands]
            if not wanted:
                continue
            g = name(i)
            if op.kind == "sum":
                for p in wanted:
                    target(js[p], g)
            elif op.kind == "product":
                for p in wanted:
                    target(js[p], f"{g} * {v[js[1 - p]]}")
            elif op.kind == "dot":
                n = (len(js) - 1) // 2
                for p in wanted:
                    if p == 2 * n:
                        target(js[p], g)
                    else:
                        other = js[p + n] if p < n else js[p - n]
                        target(js[p], f"{g} * {v[other]}")
            else:
                args = ", ".join([v[j] for j in js] + [v[i]])
                if op.vector_rule is not None:
                    lines.append(f"    if {g}: _d = {self.fn('v', op)}(_F, {args})")
                    for p in wanted:
                        target(js[p], f"{g} * _d[{p}]", f"if {g}: ")
                else:
                    for p in wanted:
                        target(js[p], f"{g} * {self.fn('r', op, p)}(_F, {args})", f"if {g}: ")
                if op in _POWERS:
                    # as backward(): a rule with no value at a first operand ≤ 0 is refused
                    # even behind a zero upstream gradient
                    lines.append(f"    if not {g} and {v[js[0]]} <= 0.0: "
                                 f"{self.fn('x', op)}(_F, {tuple(wanted)!r}, {args})")
        for j in sorted(outside):
            lines.append(f"    G[{j}] = {name(j)}")
        for i in range(s, e):
            if i in self.wrt_pos and i in has:
                lines.append(f"    G[{i}] = {name(i)}")
        # then, resumed once more (chunks in order): the sum of every gradient in the
        # tape's order, which backward() checks for a non-finite number
        lines.append("    yield")
        mine = [name(i) for i in range(s, e) if needs[i] and i in has]
        for k in range(0, len(mine), 100):
            lines.append(f"    S[0] = S[0] + {' + '.join(mine[k:k + 100])}")
        return lines


def python_source(tape: Tape, chunk: int = CHUNK) -> str:
    """The generated code for ``tape`` (every chunk), for reading."""
    program = _Program(tape, chunk)
    return "".join(program.source(c) for c in range(len(program.spans)))


class PythonReplay:
    """The python backend: ``replay(wrt_values, input_values, wrt_grads=None)`` returns
    ``(outputs, gradients)``; ``wrt_grads`` are the parameters' current ``grad``, which the
    gradients are added to (as ``backward()`` adds into leaves), zeros when omitted.
    ``input_values`` is a list of floats or a 1-D float64 array (read as Python floats)."""

    def __init__(self, tape: Tape, chunk: int = CHUNK) -> None:
        program = _Program(tape, chunk)
        namespace: dict[str, Any] = {"GuardFailed": GuardFailed, "NotFinite": NotFinite,
                                     "_F": FLOAT_FNS,
                                     "_sum": builtins.sum}
        self._chunks: list[Callable[[list[float], list[float], list[Any]],
                                    Iterator[None]]] = []
        for c in range(len(program.spans)):
            source = program.source(c)  # one chunk at a time: memory stays small
            namespace.update(program.ops)
            code = builtins.compile(source, f"<microgrid replay, chunk {c}>", "exec")
            exec(code, namespace)
            self._chunks.append(namespace.pop(f"chunk{c}"))
        self.nodes = len(tape)
        self._values = list(tape.data)
        self._zeros = [0.0] * len(tape)
        self._wrt = [(k, w) for k, w in enumerate(tape.wrt) if w >= 0]
        self._inputs = [(k, x) for k, x in enumerate(tape.inputs) if x >= 0]
        self._outputs = list(tape.outputs)
        self._backward = program.needs[tape.outputs[0]]
        self._nwrt = len(tape.wrt)
        self._ninputs = len(tape.inputs)

    def __call__(self, wrt_values: Sequence[float],
                 input_values: Sequence[float] | FloatArray,
                 wrt_grads: Sequence[float] | None = None) -> tuple[list[float], list[float]]:
        if len(wrt_values) != self._nwrt or len(input_values) != self._ninputs:
            raise ValueError(f"replay: expected {self._nwrt} parameters and "
                             f"{self._ninputs} inputs, got {len(wrt_values)} and "
                             f"{len(input_values)}")
        inputs: Sequence[float] = (input_values if isinstance(input_values, Sequence)
                                   else input_values.tolist())  # an array: Python floats
        grads_in = [0.0] * self._nwrt if wrt_grads is None else list(wrt_grads)
        V = self._values[:]
        G = self._zeros[:]
        for k, i in self._wrt:
            V[i] = wrt_values[k]
            G[i] = grads_in[k]
        for k, i in self._inputs:
            V[i] = inputs[k]
        S = [0]
        runs = [chunk(V, G, S) for chunk in self._chunks]
        for run in runs:
            next(run)
        outs = [V[o] for o in self._outputs]
        for out in outs:
            if out - out != 0.0:   # an overflow in a sum or product reached an output
                raise NotFinite("an output of the replay is not finite")
        if self._backward:
            for run in reversed(runs):
                next(run, None)
            for run in runs:
                next(run, None)
            total = S[0]
            if total - total != 0:
                raise NotFinite("a gradient of the replay is not finite")
        grads = [G[i] for _, i in self._wrt]
        if len(grads) != self._nwrt:
            present = dict(zip((k for k, _ in self._wrt), grads))
            grads = [present.get(k, grads_in[k]) for k in range(self._nwrt)]
        return outs, grads
