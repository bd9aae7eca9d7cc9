"""Random expression graphs (Hypothesis) against SymPy's exact derivatives, 1st and 2nd order.

Each generated expression is built twice, once from ``Value`` nodes and once as a SymPy
expression; SymPy differentiates symbolically and evaluates at the same point. Variables are
reused freely, so the graphs have fan-out and shared subexpressions.

The generator never builds an expression SymPy cannot evaluate: a subexpression that SymPy
has already simplified to ``zoo``, ``oo`` or ``nan`` (``1/(x − x)``) is dropped where it is
drawn, before an op such as leaky ReLU (a ``Piecewise`` comparing it with 0) meets it.
Points where the engine refuses the expression (a named error), sits on a kink or leaves
the range 1e6 are rejected with ``assume`` and counted: a test that rejects more than
half of what it draws fails (:class:`Rejections`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sympy as sp
from graphs import SMOOTH_BINARY, SMOOTH_UNARY, VALUES
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from microgrid import Value, grad, hessian, ops, topological_order, wsum

Env = dict[str, Value]
Builder = Callable[[Env], Value]
Expr = tuple[Builder, sp.Expr]

NAMES = ("x", "y", "z")
SYMBOLS = {n: sp.Symbol(n, real=True) for n in NAMES}


class SYMPY:  # the namespace of tests/graphs.py's smooth formulas, on SymPy expressions
    """The elementary functions of the smooth formulas, on SymPy expressions."""

    exp, log, tanh, sqrt, sin, cos = sp.exp, sp.log, sp.tanh, sp.sqrt, sp.sin, sp.cos

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


def evaluable(expr: Expr) -> bool:
    """SymPy can evaluate it: no complex infinity, infinity or nan in the expression."""
    return not expr[1].has(sp.zoo, sp.oo, -sp.oo, sp.nan)


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
    ).filter(evaluable)


expressions = extend(st.recursive(leaf(), extend, max_leaves=10))  # at least one op
points = st.tuples(*[st.integers(-150, 150).map(lambda k: k / 100 + 0.003)] * 3)


class Rejections:
    """How many inputs the running test drew and how many it rejected with ``assume``."""

    most = 0.5  # a test that rejects more than this fraction of its inputs tests little

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def keep_if(self, ok: bool) -> None:
        """``assume(ok)``, counted."""
        if not ok:
            self.counts["rejected"] += 1
        assume(ok)

    def check(self) -> None:
        drawn = self.counts["drawn"]
        rejected = self.counts["rejected"]
        assert rejected <= self.most * drawn, (
            f"rejected {rejected} of {drawn} drawn inputs with assume(): the generator "
            "should build fewer expressions the engine or SymPy refuses")


REJECTIONS = Rejections()


@pytest.fixture(autouse=True)
def rejections_stay_few() -> Iterator[None]:
    """Each test starts counting from zero and fails if it rejected most of its inputs."""
    REJECTIONS.counts.clear()
    yield
    REJECTIONS.check()


def evaluate(expr: Expr, point: tuple[float, ...]) -> tuple[Env, Value]:
    REJECTIONS.counts["drawn"] += 1
    env = {n: Value(v, n) for n, v in zip(NAMES, point)}
    try:
        out = expr[0](env)
    except (OverflowError, ValueError, ZeroDivisionError):
        REJECTIONS.keep_if(False)
    order = topological_order(out)
    REJECTIONS.keep_if(  # off the kinks, and within 1e6
        all(abs(node.parents[0].data) > 1e-6 for node in order
            if node.op in (ops.RELU, ops.LEAKY_RELU, ops.ABS))
        and all(abs(node.data) < 1e6 for node in order))
    return env, out


def test_a_test_that_rejects_most_of_its_inputs_fails_loudly() -> None:
    counted = Rejections()
    counted.counts.update(drawn=10, rejected=5)
    counted.check()  # half is still fine
    counted.counts.update(rejected=1)
    with pytest.raises(AssertionError, match="rejected 6 of 10 drawn inputs"):
        counted.check()


def exact(e: sp.Expr, point: tuple[float, ...]) -> float:
    subs = {SYMBOLS[n]: sp.Float(v, 30) for n, v in zip(NAMES, point)}
    return float(e.evalf(30, subs=subs))


def close(a: float, b: float, rel: float) -> bool:
    return abs(a - b) <= rel * max(1.0, abs(a), abs(b))


SETTINGS = settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.slow  # 150 graphs through SymPy
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


@pytest.mark.slow  # third derivatives: SymPy's longest expressions
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


# -- second derivatives where a product of local derivatives underflows ------------------

X, Y = SYMBOLS["x"], SYMBOLS["y"]
EXTREME = [
    # (engine expression, SymPy expression, x, y): found by tests/test_fuzz_exact.py,
    # where the second reverse pass lost a product that underflowed to 0
    (lambda x, y: 6.1517e-319 ** (x ** x), sp.Float(6.1517e-319, 40) ** (X ** X),
     1.4290953288892287e-44, 1.0),
    (lambda x, y: wsum([1e-310], [x ** 1.650929747285566e-85], 5.2885e-320),
     sp.Float(1e-310, 40) * X ** sp.Float(1.650929747285566e-85, 40), 1.650929747285566e-85,
     1.0),
]


@pytest.mark.parametrize("case", range(len(EXTREME)))
def test_second_derivatives_at_extreme_magnitudes_equal_sympy(case: int) -> None:
    build, expr, x0, y0 = EXTREME[case]
    x, y = Value(x0), Value(y0)
    h = hessian(build(x, y), [x, y])
    subs = {X: sp.Float(x0, 40), Y: sp.Float(y0, 40)}
    for i, a in enumerate((X, Y)):
        for j, b in enumerate((X, Y)):
            want = float(sp.diff(expr, a, b).evalf(40, subs=subs))
            # relative: these numbers are far below 1 (close() would call 0 and 1e-272 equal);
            # 1e-7, as a subnormal such as 6.1517e-319 holds only 30 bits
            assert abs(h[i][j] - want) <= 1e-7 * abs(want), (case, i, j, h[i][j], want)


def test_a_second_derivative_floats_cannot_give_is_a_named_error_not_a_number() -> None:
    # ∂²(x·xʸ)/∂x² ≈ y/x: half of it needs x·y = 3e-601 times x⁻² = 2e565
    x, y = Value(2.16184337872617e-283), Value(1.36902e-318)
    with pytest.raises(OverflowError, match=r"^(grad|pow): .*(cannot be computed|overflows)"):
        hessian(x * x ** y, [x, y])
    want = sp.diff(X * X ** Y, X, X).evalf(40, subs={X: sp.Float(x.data, 40),
                                                      Y: sp.Float(y.data, 40)})
    assert 1e-36 < float(want) < 1e-34  # a normal number: refusing beats answering wrong
