"""Gradients as values: ``grad`` (like ``torch.autograd.grad``), ``hessian`` and ``gradcheck``.

``grad`` runs the same chain rule as ``Value.backward`` but returns the gradients instead of
writing ``.grad``. With ``create_graph=True`` every local derivative from the op table is
evaluated on ``Value`` nodes, so the gradients are themselves graphs that can be
differentiated again (second derivatives, mixed partials, third derivatives, ...).

On the ground floor, above the engine: it imports only ``Value``, the chain rule's reference,
the traversal and the rules' namespaces.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, Literal, overload

from .chain import contributions
from .engine import Number, Value
from .graph import operands, topological_order
from .namespaces import FLOAT_FNS, TINY_NORMAL, VALUE_FNS
from .ops import POWERS

__all__ = ["GradcheckError", "grad", "gradcheck", "hessian"]

_POWERS = POWERS


def _as_inputs(inputs: Value | Sequence[Value]) -> list[Value]:
    seq = [inputs] if isinstance(inputs, Value) else list(inputs)
    for i, x in enumerate(seq):
        if not isinstance(x, Value):
            raise TypeError(f"grad: inputs[{i}] must be a Value, got {type(x).__name__}")
    return seq


@overload
def grad(output: Value, inputs: Value | Sequence[Value],
         create_graph: Literal[False] = False) -> tuple[float, ...]: ...


@overload
def grad(output: Value, inputs: Value | Sequence[Value],
         create_graph: Literal[True]) -> tuple[Value, ...]: ...


def grad(output: Value, inputs: Value | Sequence[Value],
         create_graph: bool = False) -> tuple[float, ...] | tuple[Value, ...]:
    """∂output/∂x for each x of ``inputs``, without touching any ``.grad``.

    Returns floats, or with ``create_graph=True`` ``Value`` nodes that can be
    differentiated again. An input that ``output`` does not depend on gets 0.
    Only the paths from ``output`` to ``inputs`` are evaluated.

    On floats, a product of local derivatives that underflows costs a gradient at most
    8·2⁻¹⁰⁷⁴: where later local derivatives would magnify what it lost, the pass is rerun
    from a scaled seed (see :func:`_float_gradients`), or refused with ``OverflowError``.
    """
    if not isinstance(output, Value):
        raise TypeError(f"grad: output must be a Value, got {type(output).__name__}")
    xs = _as_inputs(inputs)
    order = topological_order(output)

    wanted = set(xs)
    needed: set[Value] = set()  # nodes with a path to some input
    for node in order:
        if node in wanted or any(p in needed for p in operands(node)):
            needed.add(node)

    if create_graph:
        graph = _reverse(order, output, needed, Value(1.0), VALUE_FNS)[0]
        zero = Value(0.0)
        return tuple(graph.get(x, zero) for x in xs)
    grads = _float_gradients(order, output, needed, xs)
    return tuple(grads.get(x, 0.0) for x in xs)


# below TINY_NORMAL (2⁻¹⁰²²) a product loses precision; what underflow costs is counted
# in units of the smallest subnormal, 2⁻¹⁰⁷⁴:
_ROUNDING = 0.5  # the largest error of a product rounded below 2⁻¹⁰²²
_ALLOWED = 8.0  # what underflow may cost a gradient


def _reverse(order: list[Value], output: Value, needed: set[Value], seed: Any,
             F: Any) -> tuple[dict[Value, Any], dict[Value, float]]:
    """The chain rule from ``output`` (∂output/∂output = ``seed``) back over ``order``.

    Returns the gradients and, on floats, a bound on what underflow cost each one (in
    units of 2⁻¹⁰⁷⁴): a product upstream × local rounded below 2⁻¹⁰²² is off by up to ½ unit
    (or vanished), and later local derivatives multiply that error (also where no gradient
    got through: the rules skipped behind a zero upstream are evaluated for the bound).
    """
    grads: dict[Value, Any] = {}
    if output in needed:
        grads[output] = seed
    lost: dict[Value, float] = {}
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
            if node.op in _POWERS and node in needed:
                # no gradient reached it (a zero upstream, maybe an underflowed one), but a
                # power rule with no value still has none: the kernel raises (see chain)
                contributions(node, 0.0, FLOAT_FNS, needed)
            continue
        for _, p, d, c in contributions(node, g, F, needed):
            prev = grads.get(p)
            grads[p] = c if prev is None else prev + c
            if floats:
                cost = e * abs(d) if e else 0.0
                if -TINY_NORMAL < c < TINY_NORMAL and d != 0.0 and g != 0.0:
                    cost += _ROUNDING
                if cost:
                    lost[p] = lost.get(p, 0.0) + cost
    return grads, lost


def _float_gradients(order: list[Value], output: Value, needed: set[Value],
                     xs: list[Value]) -> dict[Value, float]:
    """The float chain rule, with underflow costing each gradient at most 8·2⁻¹⁰⁷⁴.

    A product that underflows (to a subnormal or to 0) loses up to 2⁻¹⁰⁷⁵, harmless unless
    later local derivatives multiply it: in the second reverse pass of ``hessian`` at
    x = 1.4e-44 a vanished product skipped the term that cancels another, and the answer
    came out twice the truth. The reverse pass is linear in its seed, so where the bound on
    that cost is too large it is run again from a seed 2ˢ large enough, and every gradient
    is scaled back by 2⁻ˢ (powers of two are exact). Where no seed serves (the largest
    gradient would overflow), the point is refused with a named error.
    """
    scale = 0
    for _ in range(8):
        grads, lost = _reverse(order, output, needed, math.ldexp(1.0, scale), FLOAT_FNS)
        bad = next((n for n, g in grads.items() if g - g != 0.0), None)
        if bad is not None:
            if scale:
                raise _unscalable(bad, "the products it needs span more than the range of "
                                       "a float")
            raise OverflowError(
                f"grad: the gradient of a {bad.op.name} node (data={bad.data!r}) is "
                f"{grads[bad]!r}: a product of local derivatives overflowed a float")
        worst = math.ldexp(max((lost.get(x, 0.0) for x in xs), default=0.0), -scale)
        if worst <= _ALLOWED:  # (what it cost, in the units of the unscaled gradients)
            break
        biggest = max((math.frexp(g)[1] for g in grads.values() if g), default=0)
        room = 1022 - biggest
        shift = min(room, math.frexp(worst / _ALLOWED)[1] + 1) if worst < math.inf else room
        if shift <= 0:
            node = max(xs, key=lambda x: lost.get(x, 0.0))
            raise _unscalable(node, "a product of local derivatives underflowed where later "
                                    "local derivatives would magnify what it lost, and "
                                    "scaling it up would overflow another gradient")
        scale += shift
    else:  # pragma: no cover - each round scales up, and the room runs out
        raise _unscalable(output, "its products of local derivatives underflow")
    if scale:
        return {n: math.ldexp(g, -scale) for n, g in grads.items()}
    return grads


def _unscalable(node: Value, why: str) -> OverflowError:
    what = f"a {node.op.name} node" if node.parents else "a leaf"
    label = f" {node.label!r}" if node.label else ""
    return OverflowError(f"grad: the gradient of {what}{label} (data={node.data!r}) cannot "
                         f"be computed in floats: {why}")


def hessian(output: Value, inputs: Sequence[Value]) -> list[list[float]]:
    """The matrix ``H[i][j]`` = ∂²output/∂xᵢ∂xⱼ for the given inputs."""
    xs = _as_inputs(inputs)
    first = grad(output, xs, create_graph=True)
    return [list(grad(g, xs)) for g in first]


class GradcheckError(AssertionError):
    """The engine's gradients disagree with finite differences."""


def _numeric_gradient(f: Callable[[list[float]], float], x: list[float],
                      eps: float) -> list[float]:
    """Central differences: ∂f/∂xᵢ ≈ (f(x + ε·eᵢ) − f(x − ε·eᵢ)) / 2ε."""
    out = []
    for i in range(len(x)):
        up = list(x)
        down = list(x)
        up[i] += eps
        down[i] -= eps
        out.append((f(up) - f(down)) / (2.0 * eps))
    return out


def _worst(name: str, analytic: Sequence[float], numeric: Sequence[float],
           atol: float, rtol: float) -> tuple[float, str] | None:
    """The worst violation of |a − n| ≤ atol + rtol·|n|, as (excess, report), or None."""
    worst: tuple[float, str] | None = None
    for i, (a, n) in enumerate(zip(analytic, numeric)):
        tol = atol + rtol * abs(n)
        err = abs(a - n)
        if err > tol and (worst is None or err - tol > worst[0]):
            worst = (err - tol, f"{name}[{i}]: engine {a!r}, finite difference {n!r}, "
                                f"|difference| {err:.3g} > tolerance {tol:.3g}")
    return worst


def gradcheck(fn: Callable[..., Value], inputs: Sequence[Number | Value], *,
              eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-4,
              second_order: bool = False, raise_exception: bool = True) -> bool:
    """Compare the engine's gradients of ``fn(*inputs)`` with central finite differences.

    ``fn`` takes one ``Value`` per input and returns a ``Value``. Each engine derivative
    ``a`` must satisfy |a − n| ≤ atol + rtol·|n| against its finite-difference estimate
    ``n``. With ``second_order=True`` the Hessian (from ``create_graph=True``) is checked
    against central differences of the engine's first derivatives as well.

    Returns True, or raises :class:`GradcheckError` naming the worst mismatch (returns
    False instead when ``raise_exception=False``).
    """
    x0 = [(v if isinstance(v, Value) else Value(v)).data for v in inputs]

    def values(x: list[float]) -> list[Value]:
        return [Value(v, label=f"x{i}") for i, v in enumerate(x)]

    def call(xs: list[Value]) -> Value:
        out = fn(*xs)
        if not isinstance(out, Value):
            raise TypeError(f"gradcheck: fn must return a Value, got {type(out).__name__}")
        return out

    def f(x: list[float]) -> float:
        return call(values(x)).data

    def engine_grad(x: list[float]) -> list[float]:
        xs = values(x)
        return list(grad(call(xs), xs))

    problems = []
    first = _worst("∂f/∂x", engine_grad(x0), _numeric_gradient(f, x0, eps), atol, rtol)
    if first:
        problems.append(first[1])
    if second_order:
        xs = values(x0)
        h = hessian(call(xs), xs)
        for i in range(len(x0)):
            def partial(x: list[float], i: int = i) -> float:
                return engine_grad(x)[i]
            column = _numeric_gradient(partial, x0, eps)
            bad = _worst(f"∂²f/∂x{i}∂x", h[i], column, atol, rtol)
            if bad:
                problems.append(bad[1])
    if problems:
        if raise_exception:
            raise GradcheckError(f"gradcheck failed at x = {x0}:\n  " + "\n  ".join(problems))
        return False
    return True
