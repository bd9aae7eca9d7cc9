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

There is one routine for it over a whole graph on floats, underflow accounted for:
:func:`float_gradients`, which :func:`microgrid.grad` calls, and ``Value.backward()`` too where
its fast path saw a product fall below the normal range.

This module is on the ground floor: it imports only the op table, the float namespace and the
traversal.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Container
from typing import Any

from . import ops
from .graph import operands
from .namespaces import FLOAT_FNS, TINY_NORMAL

__all__ = ["contributions", "float_gradients", "gradient_overflow", "reverse_pass",
           "scaled_gradients", "seed_exponent"]

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


# below TINY_NORMAL (2⁻¹⁰²²) a product loses precision (or vanishes); what underflow costs is
# counted in units of the smallest subnormal, 2⁻¹⁰⁷⁴:
_ROUNDING = 0.5  # the largest error of a product rounded below 2⁻¹⁰²²
_ALLOWED = 8.0  # what underflow may cost a gradient


def reverse_pass(order: list[Any], output: Any, needed: Container[Any] | None, seed: Any,
                 F: Any) -> tuple[dict[Any, Any], dict[Any, float]]:
    """The chain rule from ``output`` (∂output/∂output = ``seed``) back over ``order``.

    Returns the gradients of the ``needed`` nodes (None: every node) and, on floats, a bound
    on what underflow cost each one (in units of 2⁻¹⁰⁷⁴): a product upstream × local
    rounded below 2⁻¹⁰²² is off by up to ½ unit (or vanished; a local of ±1 is exact), and
    later local derivatives multiply that error (also where no gradient got through: the
    rules skipped behind a zero upstream are evaluated for the bound).
    """
    grads: dict[Any, Any] = {}
    if needed is None or output in needed:
        grads[output] = seed
    lost: dict[Any, float] = {}
    floats = not F.graph
    for node in reversed(order):
        g = grads.get(node)
        e = lost.get(node, 0.0) if floats else 0.0
        if e and not g:  # 0 (or nothing) only because of underflow: where would it go?
            try:
                for _, p, d, _ in contributions(node, 1.0, F, needed):
                    lost[p] = lost.get(p, 0.0) + e * abs(d)
            except OverflowError:  # a local derivative past the float range
                for p in operands(node):
                    lost[p] = math.inf
        if g is None:
            if node._fn in _POWERS and (needed is None or node in needed):
                # no gradient reached it (a zero upstream, maybe an underflowed one), but a
                # power rule with no value still has none: the kernel raises (see above)
                contributions(node, 0.0, FLOAT_FNS, needed)
            continue
        for _, p, d, c in contributions(node, g, F, needed):
            prev = grads.get(p)
            grads[p] = c if prev is None else prev + c
            if floats:
                cost = e * abs(d) if e else 0.0
                if (-TINY_NORMAL < c < TINY_NORMAL and g != 0.0
                        and d != 0.0 and d != 1.0 and d != -1.0):  # (±g is exact)
                    cost += _ROUNDING
                if cost:
                    lost[p] = lost.get(p, 0.0) + cost
    return grads, lost


def float_gradients(order: list[Any], output: Any, needed: Container[Any] | None,
                    exact: Collection[Any] | None, seed: float = 1.0,
                    who: str = "grad") -> dict[Any, float]:
    """The float chain rule from ∂output/∂output = ``seed``, with underflow costing each
    gradient of ``exact`` (every gradient when None) at most 8·2⁻¹⁰⁷⁴ (see
    :func:`scaled_gradients`)."""
    grads, scale = scaled_gradients(order, output, needed, exact, seed, who)
    if scale:
        return {n: math.ldexp(g, -scale) for n, g in grads.items()}
    return grads


def seed_exponent(order: list[Any], output: Any, seed: float = 1.0,
                  who: str = "backward_steps") -> int:
    """The power of two s such that the chain rule run from ``seed``·2ˢ and scaled back by
    2⁻ˢ gives every gradient as :func:`float_gradients` does (0 where nothing underflows):
    what a step-by-step view of the reverse pass multiplies its numbers by."""
    return scaled_gradients(order, output, None, None, seed, who)[1]


def scaled_gradients(order: list[Any], output: Any, needed: Container[Any] | None,
                     exact: Collection[Any] | None, seed: float = 1.0,
                     who: str = "grad") -> tuple[dict[Any, float], int]:
    """The float chain rule from ∂output/∂output = ``seed``·2ˢ and that s, chosen so that
    underflow costs each gradient of ``exact`` (every gradient when None) at most 8·2⁻¹⁰⁷⁴
    once scaled back by 2⁻ˢ.

    A product that underflows (to a subnormal or to 0) loses up to 2⁻¹⁰⁷⁵, harmless unless
    later local derivatives multiply it: in the second reverse pass of ``hessian`` at
    x = 1.4e-44 a vanished product skipped the term that cancels another, and the answer
    came out twice the truth. The reverse pass is linear in its seed, so where the bound on
    that cost is too large it is run again from a seed 2ˢ times larger, and every gradient
    is scaled back by 2⁻ˢ (powers of two are exact). Where no seed serves (the largest
    gradient would overflow), the point is refused with an ``OverflowError`` that names
    the node and begins with ``who``.
    """
    scale = 0
    for _ in range(8):
        grads, lost = reverse_pass(order, output, needed, math.ldexp(seed, scale),
                                   FLOAT_FNS)
        bad = next((n for n, g in grads.items() if g - g != 0.0), None)
        if bad is not None:
            if scale:
                raise _unscalable(who, bad, "the products it needs span more than the "
                                            "range of a float")
            raise gradient_overflow(who, bad, grads[bad])
        costs = lost.values() if exact is None else (lost.get(x, 0.0) for x in exact)
        worst = math.ldexp(max(costs, default=0.0), -scale)
        if worst <= _ALLOWED:  # (what it cost, in the units of the unscaled gradients)
            break
        biggest = max((math.frexp(g)[1] for g in grads.values() if g), default=0)
        room = 1022 - biggest
        shift = min(room, math.frexp(worst / _ALLOWED)[1] + 1) if worst < math.inf else room
        if shift <= 0:
            candidates = lost if exact is None else exact
            node = max(candidates, key=lambda x: lost.get(x, 0.0))
            raise _unscalable(who, node, "a product of local derivatives underflowed where "
                                         "later local derivatives would magnify what it "
                                         "lost, and scaling it up would overflow another "
                                         "gradient")
        scale += shift
    else:  # pragma: no cover - each round scales up, and the room runs out
        raise _unscalable(who, output, "its products of local derivatives underflow")
    return grads, scale


def _named(node: Any) -> str:
    """How a gradient error names a node: its op (or "a leaf"), label and data."""
    what = f"a {node._fn.name} node" if node._a is not None else "a leaf"
    label = f" {node.label!r}" if node.label else ""
    return f"{what}{label} (data={node._data!r})"


def gradient_overflow(who: str, node: Any, g: float) -> OverflowError:
    """The error for a node whose gradient ``g`` is not a finite float."""
    return OverflowError(f"{who}: the gradient of {_named(node)} is {g!r}: a product of "
                         "local derivatives overflowed a float")


def _unscalable(who: str, node: Any, why: str) -> OverflowError:
    return OverflowError(f"{who}: the gradient of {_named(node)} cannot be computed in "
                         f"floats: {why}")
