"""Random expression graphs (Hypothesis) against SymPy's exact derivatives, 1st and 2nd order.

Each generated expression is built twice, once from ``Value`` nodes and once as a SymPy
expression; SymPy differentiates symbolically and evaluates at the same point. Variables are
reused freely, so the graphs have fan-out and shared subexpressions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sympy as sp
from graphs import SMOOTH_BINARY, SMOOTH_UNARY, VALUES
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from microgrid import Value, grad, hessian, ops, topological_order

Env = dict[str, Value]
Builder = Callable[[Env], Value]
Expr = tuple[Builder, sp.Expr]

NAMES = ("x", "y", "z")
SYMBOLS = {n: sp.Symbol(n, real=True) for n in NAMES}


class SYMPY:  # the namespace of tests/graphs.py's smooth formulas, on SymPy expressions
    """The elementary functions of the smooth formulas, on SymPy expressions."""

    exp, log, tanh = sp.exp, sp.log, sp.tanh

    @staticmethod
    def sigmoid(e: sp.Expr) -> sp.Expr:
        return 1 / (1 + sp.exp(-e))

    @staticmethod
    def relu(e: sp.Expr) -> sp.Expr:
        return sp.Piecewise((e, e > 0), (0, True))

    @staticmethod
    def softplus(e: sp.Expr) -> sp.Expr:
        return sp.log(1 + sp.exp(e))

    @staticmethod
    def leaky_relu(e: sp.Expr, slope: float) -> sp.Expr:
        return sp.Piecewise((e, e > 0), (sp.Float(slope) * e, True))

    @staticmethod
    def wsum(ws: list[sp.Expr], xs: list[sp.Expr], b: sp.Expr) -> sp.Expr:
        return sum((w * x for w, x in zip(ws, xs)), b)


def twins(formula: Callable[..., Any]) -> tuple[Callable[..., Value], Callable[..., sp.Expr]]:
    """The formula on ``Value`` nodes and on SymPy expressions."""
    return (lambda *a: formula(VALUES, *a)), (lambda *e: formula(SYMPY, *e))


# every op of the table kept inside its domain (tests/graphs.py), and a bare pole; wsum is
# left to tests/test_wsum.py's SymPy check (here its sums of products double the run time)
UNARY: dict[str, tuple[Callable[[Value], Value], Callable[[sp.Expr], sp.Expr]]] = {
    **{name: twins(f) for name, f in SMOOTH_UNARY.items()},
    "reciprocal": (lambda v: 1 / v, lambda e: 1 / e),
}
BINARY: dict[str, tuple[Callable[[Value, Value], Value], Callable[[sp.Expr, sp.Expr], sp.Expr]]] = {
    name: twins(f) for name, f in SMOOTH_BINARY.items() if name != "wsum"}


def leaf() -> st.SearchStrategy[Expr]:
    variable = st.sampled_from(NAMES).map(lambda n: ((lambda env: env[n]), SYMBOLS[n]))
    constant = st.integers(-20, 20).map(
        lambda k: ((lambda env: Value(k / 10)), sp.Float(k / 10)))
    return st.one_of(variable, variable, constant)


def extend(children: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
    def unary(name: str, child: Expr) -> Expr:
        f, g = UNARY[name]
        build = child[0]
        return (lambda env: f(build(env))), g(child[1])

    def binary(name: str, left: Expr, right: Expr) -> Expr:
        f, g = BINARY[name]
        bl, br = left[0], right[0]
        return (lambda env: f(bl(env), br(env))), g(left[1], right[1])

    return st.one_of(
        st.builds(unary, st.sampled_from(sorted(UNARY)), children),
        st.builds(binary, st.sampled_from(sorted(BINARY)), children, children),
    )


expressions = extend(st.recursive(leaf(), extend, max_leaves=10))  # at least one op
points = st.tuples(*[st.integers(-150, 150).map(lambda k: k / 100 + 0.003)] * 3)


def evaluate(expr: Expr, point: tuple[float, ...]) -> tuple[Env, Value]:
    env = {n: Value(v, n) for n, v in zip(NAMES, point)}
    try:
        out = expr[0](env)
    except (OverflowError, ValueError, ZeroDivisionError):
        assume(False)
    for node in topological_order(out):
        if node.op in (ops.RELU, ops.LEAKY_RELU, ops.ABS):  # stay off the kinks
            assume(abs(node.parents[0].data) > 1e-6)
    assume(all(abs(node.data) < 1e6 for node in topological_order(out)))
    return env, out


def exact(e: sp.Expr, point: tuple[float, ...]) -> float:
    subs = {SYMBOLS[n]: sp.Float(v, 30) for n, v in zip(NAMES, point)}
    return float(e.evalf(30, subs=subs))


def close(a: float, b: float, rel: float) -> bool:
    return abs(a - b) <= rel * max(1.0, abs(a), abs(b))


SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])


@SETTINGS
@given(expressions, points)
def test_first_derivatives_equal_sympy(expr: Expr, point: tuple[float, ...]) -> None:
    env, out = evaluate(expr, point)
    assert close(out.data, exact(expr[1], point), 1e-9)
    out.backward()
    inputs = [env[n] for n in NAMES]
    via_grad = grad(out, inputs)
    for n, g in zip(NAMES, via_grad):
        want = exact(sp.diff(expr[1], SYMBOLS[n]), point)
        assert close(env[n].grad, want, 1e-8), (n, env[n].grad, want, expr[1])
        assert close(g, want, 1e-8)


@pytest.mark.slow  # SymPy's second derivatives of 80 graphs: the oracle's longest run
@settings(SETTINGS, max_examples=80)
@given(expressions, points)
def test_second_derivatives_equal_sympy(expr: Expr, point: tuple[float, ...]) -> None:
    env, out = evaluate(expr, point)
    inputs = [env[n] for n in NAMES]
    h = hessian(out, inputs)
    for i, a in enumerate(NAMES):
        for j, b in enumerate(NAMES[i:], start=i):
            want = exact(sp.diff(expr[1], SYMBOLS[a], SYMBOLS[b]), point)
            assert close(h[i][j], want, 1e-7), (a, b, h[i][j], want, expr[1])
            assert close(h[j][i], want, 1e-7)


@settings(SETTINGS, max_examples=30)
@given(expressions, points)
def test_third_derivative_along_x_equals_sympy(expr: Expr, point: tuple[float, ...]) -> None:
    env, out = evaluate(expr, point)
    x = env["x"]
    (d1,) = grad(out, [x], create_graph=True)
    (d2,) = grad(d1, [x], create_graph=True)
    (d3,) = grad(d2, [x])
    want = exact(sp.diff(expr[1], SYMBOLS["x"], 3), point)
    assert close(d3, want, 1e-6), (d3, want, expr[1])
