"""Every op of the table against central finite differences, first and second order.

The oracle knows nothing of the op table's derivative rules: it only evaluates forward
values. First derivatives are compared with (f(x+h) − f(x−h)) / 2h, second derivatives with
(f(x+h) − 2f(x) + f(x−h)) / h² and the four-point mixed formula.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from microgrid import Value, grad, ops, wsum


@dataclass(frozen=True)
class Case:
    op: str
    fn: Callable[..., Value]
    sample: Callable[[random.Random], list[float]]


def away_from_zero(rng: random.Random, lo: float = -4.0, hi: float = 4.0) -> float:
    while True:
        x = rng.uniform(lo, hi)
        if abs(x) > 1e-2:
            return x


CASES = [
    Case("add", lambda a, b: a + b, lambda r: [r.uniform(-5, 5), r.uniform(-5, 5)]),
    Case("mul", lambda a, b: a * b, lambda r: [r.uniform(-5, 5), r.uniform(-5, 5)]),
    Case("neg", lambda a: -a, lambda r: [r.uniform(-5, 5)]),
    Case("div", lambda a, b: a / b, lambda r: [r.uniform(-5, 5), away_from_zero(r)]),
    Case("div", lambda a: 3.0 / a, lambda r: [away_from_zero(r)]),
    Case("abs", lambda a: abs(a), lambda r: [away_from_zero(r)]),
    Case("pow", lambda a, b: a ** b, lambda r: [r.uniform(0.1, 4), r.uniform(-3, 3)]),
    Case("powc", lambda a: a ** 2, lambda r: [r.uniform(-4, 4)]),
    Case("powc", lambda a: a ** 3, lambda r: [r.uniform(-4, 4)]),
    Case("powc", lambda a: a ** -1, lambda r: [away_from_zero(r)]),
    Case("powc", lambda a: a ** 0.5, lambda r: [r.uniform(0.1, 9)]),
    Case("powc", lambda a: a ** -2.5, lambda r: [r.uniform(0.2, 5)]),
    Case("sqrt", lambda a: a.sqrt(), lambda r: [r.uniform(0.05, 9)]),
    Case("sin", lambda a: a.sin(), lambda r: [r.uniform(-7, 7)]),
    Case("cos", lambda a: a.cos(), lambda r: [r.uniform(-7, 7)]),
    Case("exp", lambda a: a.exp(), lambda r: [r.uniform(-6, 6)]),
    Case("log", lambda a: a.log(), lambda r: [r.uniform(0.05, 20)]),
    Case("tanh", lambda a: a.tanh(), lambda r: [r.uniform(-4, 4)]),
    Case("sigmoid", lambda a: a.sigmoid(), lambda r: [r.uniform(-8, 8)]),
    Case("relu", lambda a: a.relu(), lambda r: [away_from_zero(r)]),
    Case("softplus", lambda a: a.softplus(), lambda r: [r.uniform(-8, 8)]),
    Case("leaky_relu", lambda a: a.leaky_relu(), lambda r: [away_from_zero(r)]),
    Case("leaky_relu", lambda a: a.leaky_relu(0.2), lambda r: [away_from_zero(r)]),
    Case("wsum", lambda w0, w1, w2, x0, x1, x2, b: wsum([w0, w1, w2], [x0, x1, x2], b),
         lambda r: [r.uniform(-3, 3) for _ in range(7)]),
]
POINTS = 40


def f_at(case: Case, xs: list[float]) -> float:
    return case.fn(*[Value(x) for x in xs]).data


def central_gradient(case: Case, xs: list[float], h: float = 1e-6) -> list[float]:
    out = []
    for i in range(len(xs)):
        up, down = list(xs), list(xs)
        up[i] += h
        down[i] -= h
        out.append((f_at(case, up) - f_at(case, down)) / (2 * h))
    return out


def central_hessian(case: Case, xs: list[float], h: float = 1e-4) -> list[list[float]]:
    n = len(xs)
    hess = [[0.0] * n for _ in range(n)]
    f0 = f_at(case, xs)
    for i in range(n):
        for j in range(n):
            if i == j:
                up, down = list(xs), list(xs)
                up[i] += h
                down[i] -= h
                hess[i][i] = (f_at(case, up) - 2 * f0 + f_at(case, down)) / (h * h)
            else:
                corners = []
                for si, sj in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
                    p = list(xs)
                    p[i] += si * h
                    p[j] += sj * h
                    corners.append(f_at(case, p))
                hess[i][j] = (corners[0] - corners[1] - corners[2] + corners[3]) / (4 * h * h)
    return hess


def ids(case: Case) -> str:
    return case.op


def test_every_op_of_the_table_has_an_oracle_row() -> None:
    tested = {c.op for c in CASES}
    assert set(ops.OPS) - {"leaf", "const"} == tested


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_first_derivatives_match_central_differences(case: Case) -> None:
    rng = random.Random(f"first-{CASES.index(case)}")
    for _ in range(POINTS):
        xs = case.sample(rng)
        values = [Value(x) for x in xs]
        out = case.fn(*values)
        out.backward()
        numeric = central_gradient(case, xs)
        from_backward = [v.grad for v in values]
        from_grad = list(grad(case.fn(*values), values))
        for a, b, n in zip(from_backward, from_grad, numeric):
            assert a == pytest.approx(n, rel=1e-6, abs=1e-7), (case.op, xs)
            assert b == pytest.approx(a, rel=1e-12, abs=1e-15), (case.op, xs)


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_second_derivatives_match_central_differences(case: Case) -> None:
    rng = random.Random(f"second-{CASES.index(case)}")
    for _ in range(POINTS // 2):
        xs = case.sample(rng)
        values = [Value(x) for x in xs]
        firsts = grad(case.fn(*values), values, create_graph=True)
        engine = [list(grad(g, values)) for g in firsts]
        numeric = central_hessian(case, xs)
        for row_e, row_n in zip(engine, numeric):
            for e, n in zip(row_e, row_n):
                assert e == pytest.approx(n, rel=1e-4, abs=1e-5), (case.op, xs, engine, numeric)


@pytest.mark.parametrize("case", CASES, ids=ids)
def test_create_graph_first_derivatives_equal_the_float_path(case: Case) -> None:
    rng = random.Random(f"graph-{CASES.index(case)}")
    for _ in range(10):
        xs = case.sample(rng)
        values = [Value(x) for x in xs]
        out = case.fn(*values)
        as_values = grad(out, values, create_graph=True)
        as_floats = grad(out, values)
        assert [v.data for v in as_values] == pytest.approx(as_floats, rel=1e-14, abs=1e-300)
