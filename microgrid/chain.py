"""The chain rule, once: what one node passes back to each of its operands.

For a node ``out = f(x₁, …, xₙ)`` that has received the upstream gradient ḡ = ∂L/∂out,

    contribution to xᵢ = ḡ · ∂out/∂xᵢ      (upstream × local),

and ∂L/∂xᵢ is the sum of the contributions xᵢ receives from all its uses.
:func:`contributions` lists them for one node. It is the reference implementation of that
rule: ``Value._backward()``, :func:`microgrid.grad` (floats, or graph with
``create_graph=True``) and the stepper call it. Where speed was measured to need it, the rule
is written out instead, and a test proves the result equal to this one: ``Value.backward()``
for its commonest ops and the compiled python replay, bit for bit (tests/test_chain.py); the
numpy replay, which reassociates sums, to rounding (tests/test_compile_fuzz.py).

It evaluates only what can matter:

* no rule for a constant operand (``2`` in ``2 * x``, the exponent of ``x ** 3``);
* on floats, nothing at all when ḡ = 0: a zero upstream gradient contributes exactly zero,
  even where a local derivative is huge (``relu(log(1e-310))``, log' = 1e310). The
  exception is a power rule that has no value at all: c·a^(c−1) at a = 0 with 0 < c < 1
  is truly infinite, and 0·∞ has none (d/dx (x^⅓)² at 0 is infinite although the upstream
  2·x^⅓ is 0); ∂aᵇ/∂b for a < 0 is undefined (aᵇ is not real for b near an integer), and
  an upstream that underflowed to 0 does not make it so; √a at a = 0 is infinite too.
  Such ops declare ``refuse`` in the op table, which is evaluated and raises their named
  errors;
* a local derivative that is exactly 0 contributes exactly 0 (never 0 × ∞ = nan).

This module is on the ground floor: it imports only the op table, the float namespace and the
traversal.
"""

from __future__ import annotations

from collections.abc import Container
from typing import Any

from . import ops
from .graph import operands
from .namespaces import FLOAT_FNS

__all__ = ["contributions"]

Contribution = tuple[int, Any, Any, Any]
"""(operand index, operand node, local derivative, upstream × local)."""

_CONST = ops.CONST
_POWERS = ops.POWERS


def contributions(node: Any, upstream: Any, F: Any = FLOAT_FNS,
                  needed: Container[Any] | None = None) -> list[Contribution]:
    """What ``node`` passes back to each operand, given ∂L/∂node = ``upstream``.

    ``F`` is the namespace the rules are evaluated with: :data:`~microgrid.namespaces.FLOAT_FNS`
    (numbers; ``upstream`` a float) or a graph-building one (``F.graph`` true; ``upstream``
    a node; the result's locals and contributions are nodes or plain numbers).
    ``needed``, when given, holds the operands worth a contribution; others are skipped.
    Constant operands never get one, and on floats a zero ``upstream`` gives ``[]``.
    """
    parents = operands(node)
    if not parents:
        return []
    op = node._fn
    const = op.const_operands
    wanted = [i for i, p in enumerate(parents)
              if p._fn is not _CONST and i not in const
              and (needed is None or p in needed)]
    if not wanted:
        return []
    graph = F.graph
    if not graph and upstream == 0.0:
        if op in _POWERS and parents[0]._data <= 0.0:  # the rule may have no value there
            op.refuse(F, wanted, *[p._data for p in parents], node._data)
        return []
    if graph:
        args = [p._data if i in const else p for i, p in enumerate(parents)]
        args.append(node)
    else:
        args = [p._data for p in parents]
        args.append(node._data)
    if op.vector_rule is not None:
        every = op.vector_rule(F, *args)
        locals_ = [every[i] for i in wanted]
    else:
        rules = op.partials
        locals_ = [rules[i](F, *args) for i in wanted]
    out: list[Contribution] = []
    for i, d in zip(wanted, locals_):
        if graph:
            if isinstance(d, (int, float)):
                if d == 0.0:
                    continue
                c = upstream if d == 1.0 else upstream * d
            else:
                c = upstream * d
        else:
            c = upstream * d if d != 0.0 else 0.0
        out.append((i, parents[i], d, c))
    return out
