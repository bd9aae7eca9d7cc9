"""The python backend: one straight-line Python function per tape.

``v7 = (v3 * v5)`` … ``g3 += g7 * v5``, built with ``compile()``: the op's rule as an
expression where it could be read on symbols (:mod:`.rules`), else a call of the op
table's ``forward``/``local``. It performs the same float operations in the same order as
``backward()``, so its losses and gradients are bit-identical to eager mode.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from typing import Any

from .. import ops
from .rules import PY, Sym, forward_rule, local_rule, render
from .tape import GuardFailed, Tape

__all__ = ["PythonReplay"]


def const_operand(tape: Tape, i: int, variable: set[int]) -> float | None:
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
        namespace: dict[str, Any] = {"GuardFailed": GuardFailed, "_F": ops.FLOAT_FNS}
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
                names[i] = render(tape.data[i], (), PY)
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
                rule = forward_rule(op, len(args), const_operand(tape, i, variable))
                if rule is None:
                    lines.append(f"    v{i} = _f_{op.name}({', '.join(args)})")
                else:
                    lines.append(f"    v{i} = {render(rule, args, PY)}")
            for k in guards_after.get(i, ()):
                gd = tape.guards[k]
                other = names[gd.other] if isinstance(gd.other, int) else render(gd.other, (),
                                                                                  PY)
                test = f"{names[gd.node]} {gd.cmp} {other}"
                lines.append(f"    if {'not ' if gd.expected else ''}({test}): "
                             f"raise GuardFailed({k})")
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
            local = local_rule(op, len(args), const_operand(tape, i, variable))
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
                        term = f"g{i} * {render(d, [*args, f'v{i}'], PY)}"
                lines.append(f"    g{j} {'+=' if has[j] else '='} {term}")
                has[j] = True
        outs = "".join(f"{names[o]}, " for o in tape.outputs)
        grads = "".join(f"g{w}, " if w >= 0 and has[w] else "0.0, " for w in tape.wrt)
        lines.append(f"    return ({outs}), ({grads})")
        return "\n".join(lines) + "\n"
