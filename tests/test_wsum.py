"""The fused weighted sum, wsum(w, x, b) = Σᵢ wᵢ·xᵢ + b: one node, its own op-table entry.

Checked against central finite differences (first and second order), against the unfused
composition of * and + nodes, and against sympy's exact derivatives.
"""

from __future__ import annotations

import math
import random
from fractions import Fraction

import pytest
import sympy as sp

from microgrid import Value, grad, gradcheck, hessian, ops, topological_order, wsum


def unfused(ws: list[Value], xs: list[Value], b: Value) -> Value:
    out = b
    for w, x in zip(ws, xs):
        out = out + w * x
    return out


def leaves(r: random.Random, n: int) -> tuple[list[Value], list[Value], Value]:
    return ([Value(r.uniform(-2, 2)) for _ in range(n)],
            [Value(r.uniform(-2, 2)) for _ in range(n)], Value(r.uniform(-2, 2)))


@pytest.mark.parametrize("n", [0, 1, 2, 5, 33])
def test_one_node_with_every_operand(n: int) -> None:
    ws, xs, b = leaves(random.Random(n), n)
    out = wsum(ws, xs, b)
    assert out.op is ops.WSUM
    assert out.parents == (*ws, *xs, b)
    assert len(topological_order(out)) == 2 * n + 2


@pytest.mark.parametrize("n", [1, 2, 5, 33])
def test_value_and_gradients_equal_the_unfused_composition(n: int) -> None:
    ws, xs, b = leaves(random.Random(10 + n), n)
    fused = wsum(ws, xs, b)
    plain = unfused(ws, xs, b)
    assert fused.data == pytest.approx(plain.data, rel=1e-15, abs=1e-15)
    everything = [*ws, *xs, b]
    # each gradient is a single product (∂/∂wᵢ = xᵢ, ∂/∂xᵢ = wᵢ, ∂/∂b = 1): exactly equal
    assert grad(fused, everything) == grad(plain, everything)


@pytest.mark.parametrize("seed", range(5))
def test_first_and_second_derivatives_match_finite_differences(seed: int) -> None:
    r = random.Random(seed)
    n = r.randint(1, 4)

    def f(*v: Value) -> Value:
        return wsum(list(v[:n]), list(v[n:2 * n]), v[2 * n])

    point = [r.uniform(-3, 3) for _ in range(2 * n + 1)]
    assert gradcheck(f, point, second_order=True)


def test_fused_inside_a_larger_expression_matches_finite_differences() -> None:
    def f(w0: Value, w1: Value, x0: Value, x1: Value, b: Value) -> Value:
        return wsum([w0, w1], [x0, x1], b).tanh() * wsum([w0, x0], [w1, w1], 0.5)

    assert gradcheck(f, [0.3, -0.7, 1.1, 0.4, -0.2], second_order=True)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_derivatives_equal_sympy_exactly(n: int) -> None:
    w = sp.symbols(f"w0:{n}")
    x = sp.symbols(f"x0:{n}")
    b = sp.Symbol("b")
    symbols = [*w, *x, b]
    expr = sum((wi * xi for wi, xi in zip(w, x)), b)
    r = random.Random(n)
    point = [Fraction(r.randint(-40, 40), 16) for _ in symbols]  # exact in binary
    at = dict(zip(symbols, point))
    vs = [Value(float(p)) for p in point]
    out = wsum(vs[:n], vs[n:2 * n], vs[2 * n])
    assert out.data == float(expr.subs(at))
    first = grad(out, vs)
    for s, g in zip(symbols, first):
        assert g == float(sp.diff(expr, s).subs(at)), s
    h = hessian(out, vs)
    for i, si in enumerate(symbols):
        for j, sj in enumerate(symbols):
            assert h[i][j] == float(sp.diff(expr, si, sj).subs(at)), (si, sj)


def test_numbers_become_constants_and_get_no_gradient_slot() -> None:
    w = Value(2.0)
    out = wsum([w, 3], [0.5, w], 1)
    assert out.data == 2.0 * 0.5 + 3 * 2.0 + 1
    assert [p.is_constant for p in out.parents] == [False, True, True, False, True]
    out.backward()
    assert w.grad == 0.5 + 3.0


def test_backward_through_a_shared_operand_sums_both_paths() -> None:
    x = Value(1.5)
    out = wsum([x, x], [x, 2.0], x)   # x² + 2x + x
    out.backward()
    assert out.data == 1.5 ** 2 + 3 * 1.5
    assert x.grad == 2 * 1.5 + 3.0


def test_bad_input_fails_loudly() -> None:
    w = Value(1.0)
    with pytest.raises(ValueError, match="2 weights but 1 inputs"):
        wsum([w, w], [1.0], 0.0)
    with pytest.raises(TypeError, match="wsum"):
        wsum([w], ["1"], 0.0)  # type: ignore[list-item]
    with pytest.raises(ValueError, match="wsum"):
        wsum([w], [math.inf], 0.0)
    with pytest.raises(OverflowError, match="wsum"):
        wsum([Value(1e200)], [1e200], 0.0)
