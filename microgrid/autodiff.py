"""Gradients as values: ``grad`` (like ``torch.autograd.grad``), ``hessian`` and ``gradcheck``.

``grad`` runs the same chain rule as ``Value.backward`` but returns the gradients instead of
writing ``.grad``. With ``create_graph=True`` every local derivative from the op table is
evaluated on ``Value`` nodes, so the gradients are themselves graphs that can be
differentiated again (second derivatives, mixed partials, third derivatives, ...).

On the ground floor, above the engine: it imports only ``Value``, the chain rule's reference,
the traversal and the rules' namespaces.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal, overload

from .chain import float_gradients, reverse_pass
from .engine import Number, Value
from .graph import operands, topological_order
from .namespaces import VALUE_FNS

__all__ = ["GradcheckError", "grad", "gradcheck", "hessian"]

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
    from a scaled seed (see :func:`microgrid.chain.float_gradients`), or refused with
    ``OverflowError``.
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
        graph = reverse_pass(order, output, needed, Value(1.0), VALUE_FNS)[0]
        zero = Value(0.0)
        return tuple(graph.get(x, zero) for x in xs)
    grads = float_gradients(order, output, needed, xs)
    return tuple(grads.get(x, 0.0) for x in xs)


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
