"""Exact derivatives where a naive engine goes wrong, each against an mpmath oracle.

Division and powers at extreme magnitudes, rules that must not be evaluated (constant
operands, zero upstream gradients), the power rule at base 0, σ′/tanh′/softplus″ far in
the tails, and the engine-side input checks (``bool``, comparisons, huge ints, ``zero_grad``)
and thread rule (concurrent ``backward()`` equals sequential).
"""

from __future__ import annotations

import math
import sys
import threading
from collections.abc import Callable

import mpmath
import pytest

from microgrid import Value, grad, hessian, zero_grad

mp = mpmath.MPContext()
mp.dps = 60


def ulps(got: float, exact: mpmath.mpf) -> float:
    """|got − exact| in units in the last place of the exact value."""
    return float(abs(mp.mpf(got) - exact) / math.ulp(float(abs(exact))))


def sig(a: float) -> mpmath.mpf:
    return 1 / (1 + mp.exp(-mp.mpf(a)))


# -- division is its own primitive -------------------------------------------------------

def test_x_times_y_over_y_has_derivative_exactly_one_when_y_is_huge() -> None:
    x = Value(3.0)
    y = 1e200 * x
    f = x * (y / y)
    f.backward()
    assert x.grad == 1.0  # exact: f = x
    assert grad(x * (y / y), [x]) == (1.0,)


def test_derivative_by_the_divisor_is_accurate_where_the_quotient_is_subnormal() -> None:
    # −(a/b)/b from a subnormal a/b would divide its rounding error by b
    for a_, b_ in ((3e-320, 3.14159e-5), (1e-320, 1e-8), (-7e-315, 2.5e-3), (1e-310, 3.0)):
        a, b = Value(a_), Value(b_)
        (a / b).backward()
        exact = -mp.mpf(a_) / mp.mpf(b_) ** 2
        assert abs(mp.mpf(b.grad) - exact) <= math.ulp(float(abs(exact))), (a_, b_)
        (g,) = grad(a / b, [b], create_graph=True)
        assert abs(mp.mpf(g.data) - exact) <= math.ulp(float(abs(exact))), (a_, b_)


def test_division_of_tiny_numbers_is_representable() -> None:
    q = Value(1e-300) / Value(1e-310)
    assert q.data == 1e-300 / 1e-310  # the correctly rounded quotient
    assert ulps(q.data, mp.mpf(1e-300) / mp.mpf(1e-310)) <= 0.5


def test_a_number_over_itself_is_exactly_one() -> None:
    assert (Value(49.0) / Value(49.0)).data == 1.0
    a = Value(49.0)
    assert (a / a).data == 1.0


def test_division_derivatives_at_extreme_divisors() -> None:
    # (a, b, ∂/∂b finite?): a naive b⁻² overflows or underflows for |b| past 1e154
    for a_, b, finite in ((3e-15, 1e-310, False), (3e-200, 1e-160, True),
                          (3e250, 1e200, True), (3e300, 1e300, True), (-5.0, 1e160, True)):
        a, d = Value(a_), Value(b)
        f = a / d
        assert f.data == a_ / b
        exact_a = 1 / mp.mpf(b)
        exact_b = -mp.mpf(a_) / mp.mpf(b) ** 2
        if not finite:  # ∂/∂b = −3e-15/1e-620: a named error, never inf in .grad
            with pytest.raises(OverflowError, match=r"^(div|backward): "):
                f.backward()
            continue
        f.backward()
        assert ulps(a.grad, exact_a) <= 1
        assert ulps(d.grad, exact_b) <= 2


# -- rules not evaluated for constants; zero upstream contributes zero -------------------

def test_a_constant_base_zero_is_never_differentiated() -> None:
    x = Value(0.7)
    f = 0.0 ** x.tanh()  # ∂/∂base would be b·0^(b−1): infinite, but the base is constant
    f.backward()
    assert f.data == 0.0 and x.grad == 0.0  # 0^b = 0 for every b > 0
    assert grad(0.0 ** x.tanh(), [x]) == (0.0,)


def test_x_minus_x_to_the_zero_has_derivative_zero() -> None:
    x = Value(0.7)
    f = (x - x) ** 0
    f.backward()
    assert f.data == 1.0 and x.grad == 0.0
    assert hessian((x - x) ** 0, [x]) == [[0.0]]


def test_square_root_of_a_dead_relu_is_a_named_error() -> None:
    # √(relu(−x)) is 0 around x = 0.7, but the chain rule meets the infinite ∂√a/∂a at
    # a = 0 times relu' = 0; the engine refuses the indeterminate 0·∞ with a named error.
    x = Value(0.7)
    f = (-x).relu() ** 0.5
    with pytest.raises(OverflowError, match=r"^pow: .*infinite"):
        f.backward()
    with pytest.raises(OverflowError, match=r"^pow: .*infinite"):
        grad(f, [x])


def test_hessian_of_x_to_the_first_power_at_zero_is_zero() -> None:
    x = Value(0.0)
    assert hessian(x ** 1, [x]) == [[0.0]]
    assert hessian(x ** 2, [x]) == [[2.0]]
    assert hessian(x ** 3, [x]) == [[0.0]]
    with pytest.raises(OverflowError, match=r"^pow: "):  # 1.5·0.5·x^−0.5: infinite
        hessian(x ** 1.5, [x])


def test_create_graph_skips_constants_and_does_not_overflow_where_floats_are_finite() -> None:
    x = Value(2.0)
    # ∂(x/c)/∂c = −(x/c)/c would overflow for c = 1e-300; c is a constant, never derived.
    (g,) = grad(x / 1e-300, [x], create_graph=True)
    assert g.data == 1.0 / 1e-300 == grad(x / 1e-300, [x])[0]
    assert hessian(x / 1e-300, [x]) == [[0.0]]
    # the exponent rule aᵇ·ln a is undefined at a < 0: not evaluated for a constant exponent
    # nor for a Value exponent that is not among the inputs
    neg, y = Value(-3.0), Value(2.0)
    (g,) = grad(neg ** 2.0, [neg], create_graph=True)
    assert g.data == -6.0 and grad(g, [neg]) == (2.0,)
    (g,) = grad(neg ** y, [neg], create_graph=True)
    assert g.data == -6.0 and grad(g, [neg]) == (2.0,)


def test_a_zero_upstream_gradient_times_a_huge_local_derivative_is_zero() -> None:
    x = Value(1e-310)
    f = x.log().relu()  # relu'(log 1e-310) = 0; log'(1e-310) = 1e310 overflows a float
    f.backward()
    assert x.grad == 0.0 and not math.isnan(x.grad)
    assert grad(f, [x]) == (0.0,)
    (g,) = grad(f, [x], create_graph=True)
    assert g.data == 0.0
    assert hessian(f, [x]) == [[0.0]]


def test_backward_accepts_finite_gradients_whose_sum_overflows() -> None:
    x = Value(1.0)
    y = x * 1.0
    f = y * 1e308  # y.grad = x.grad = 1e308, each finite
    f.backward()
    assert x.grad == 1e308 == grad(f, [x])[0]


# -- the power rule at base 0 -------------------------------------------------------------

@pytest.mark.parametrize("c, expected", [(0.0, 0.0), (1.0, 1.0), (2.0, 0.0), (2.5, 0.0)])
def test_power_rule_is_exact_at_base_zero(c: float, expected: float) -> None:
    x = Value(0.0)
    f = x ** c
    f.backward()
    assert x.grad == expected


def test_an_infinite_power_rule_at_base_zero_is_a_named_error() -> None:
    x = Value(0.0)
    with pytest.raises(OverflowError, match=r"^pow: "):
        (x ** 0.5).backward()
    with pytest.raises(ZeroDivisionError, match=r"^pow: "):
        x ** -1.0


def test_a_zero_upstream_times_a_truly_infinite_power_rule_is_refused() -> None:
    x = Value(0.0)
    f = (x ** (1 / 3)) ** 2
    with pytest.raises(OverflowError, match=r"^pow: "):
        f.backward()


def test_an_underflowed_upstream_does_not_hide_an_undefined_exponent_rule() -> None:
    x = Value(0.0)
    f = ((-1024.0) ** x.exp()).exp()  # (−1024)^b is not real for b near 1
    with pytest.raises(ValueError, match=r"^pow: "):
        f.backward()


def test_grad_refuses_an_undefined_exponent_rule_behind_an_underflowed_upstream() -> None:
    x = Value(0.0)
    f = ((-1024.0) ** x.exp()).exp()
    with pytest.raises(ValueError, match=r"^pow: "):
        grad(f, [x])
    # the zero may also stop further up: 0.5^(8e10) underflows, so no gradient at all
    # reaches (−2)^x; its rule is still refused
    z = Value(3.0)
    with pytest.raises(ValueError, match=r"^pow: "):
        grad(0.5 ** (((-2.0) ** z) * -1e10), [z])
    # a positive base is fine: the upstream exp(−1024) = 0 contributes exactly zero
    y = Value(0.0)
    assert grad((-(1024.0 ** y.exp())).exp(), [y]) == (0.0,)


def test_grad_refuses_a_zero_upstream_times_a_truly_infinite_power_rule() -> None:
    x = Value(0.0)
    with pytest.raises(OverflowError, match=r"^pow: "):
        grad((x ** (1 / 3)) ** 2, [x])
    y = Value(0.0)
    with pytest.raises(OverflowError, match=r"^pow: "):
        grad(0.0 * y ** 0.5, [y])  # 0·√y ≡ 0, but the engine cannot tell: refused, named


def test_power_rule_with_an_inexact_exponent_minus_one_is_accurate() -> None:
    # c − 1 is not a float for c = 1/3 or 0.3; a^(c−1) at a = 1e-300 amplifies that
    # rounding by |ln a| ≈ 690 unless it is corrected.
    for c in (1 / 3, 0.3, -0.3, 1e-3):
        for a in (1e-300, 1e-100, 1e100, 1e300, 7.0):
            x = Value(a)
            f = x ** c
            exact = mp.mpf(c) * mp.power(mp.mpf(a), mp.mpf(c) - 1)
            if abs(exact) > sys.float_info.max:
                with pytest.raises(OverflowError, match=r"^pow: .* overflows a float"):
                    f.backward()
                continue
            f.backward()
            assert ulps(x.grad, exact) <= 2, (c, a)
            (g,) = grad(x ** c, [x], create_graph=True)
            assert ulps(g.data, exact) <= 2, (c, a)


def test_power_rules_are_accurate_where_a_power_underflows() -> None:
    # c·a^(c−1) and aᵇ·ln a from a subnormal a^(c−1) or aᵇ: their rounding error times
    # c or |ln a| would show in a normal result
    for a_, c in ((0.9, 6760.0), (-0.9, 6761.0), (0.5, 1074.5), (1e-160, 2.9)):
        x = Value(a_)
        (x ** c).backward()
        exact = mp.mpf(c) * mp.power(mp.mpf(a_), mp.mpf(c) - 1)
        assert ulps(x.grad, exact) <= 2, (a_, c)
        (g,) = grad(x ** c, [x], create_graph=True)
        assert ulps(g.data, exact) <= 2, (a_, c)
    for a_, b_ in ((1e-320, 0.9695), (1e-300, 1.0333), (2e-310, 0.9999), (0.99, 70000.0)):
        a, b = Value(a_), Value(b_)
        (a ** b).backward()
        exact = mp.power(mp.mpf(a_), mp.mpf(b_)) * mp.log(mp.mpf(a_))
        assert ulps(b.grad, exact) <= 2, (a_, b_)
        (g,) = grad(a ** b, [b], create_graph=True)
        assert ulps(g.data, exact) <= 2, (a_, b_)


@pytest.mark.parametrize("a, c", [(2.5e-323, 2.940359660114419), (0.5, 1074.5), (0.9, 6760.0),
                                  (-0.9, 6761.0), (1e-160, 2.9), (5e-324, 2.5)])
def test_second_derivative_of_a_power_is_accurate_where_the_power_underflows(
        a: float, c: float) -> None:
    # c(c−1)·a^(c−2) from a graph of c·a^(c−1) whose a^(c−1) (and |a|^((c−1)/2)) underflow
    x = Value(a)
    exact = mp.mpf(c) * (mp.mpf(c) - 1) * mp.power(mp.mpf(a), mp.mpf(c) - 2)
    (h,), = hessian(x ** c, [x])
    assert abs(mp.mpf(h) - exact) <= 2 * max(math.ulp(float(abs(exact))), 2.0 ** -1074), (a, c)


def test_an_underflowed_upstream_meeting_a_local_derivative_past_the_float_range_is_refused(
        ) -> None:
    # ∂²(x·xᵇ)/∂x² = b(1 + b)·x^(b−1) ≈ b/x; half of it is x·∂²(xᵇ)/∂x² = −b/x, reached in
    # hessian's second reverse pass as the upstream x·b = 3e-601 (underflows to 0) times
    # ∂x^(b−1)/∂x ≈ −x⁻² = −2e565 (past the float range): floats cannot give it, so the
    # point is refused with a named error rather than answered b/x·2 (twice the truth)
    x, b = Value(2.16184337872617e-283), Value(1.36902e-318)
    exact = mp.mpf(1.36902e-318) * (1 + mp.mpf(1.36902e-318)) * mp.power(
        mp.mpf(2.16184337872617e-283), mp.mpf(1.36902e-318) - 1)
    assert 1e-36 < exact < 1e-34  # a normal number
    with pytest.raises(OverflowError, match=r"^(grad|pow): .*(cannot be computed|overflows)"):
        hessian(x * x ** b, [x, b])
    (g,) = grad(x * x ** b, [x], create_graph=True)  # the first derivatives stay exact
    assert ulps(g.data, mp.power(mp.mpf(x.data), mp.mpf(b.data)) * (1 + mp.mpf(b.data))) <= 2
    with pytest.raises(OverflowError, match=r"^pow: .* overflows a float"):
        grad(g, [x])  # scaled so that x·b is a normal number, x⁻² = 2e565 overflows


def test_an_upstream_that_underflowed_to_zero_meeting_finite_local_derivatives_is_zero(
        ) -> None:
    # (x · 1e-200 · 1e-200 · 1e-200): the gradient into x underflows, every local is finite
    x = Value(3.0)
    f = ((x * 1e-200) * 1e-200) * 1e-200
    assert grad(f, [x]) == (0.0,)
    assert hessian(f * x, [x]) == [[0.0]]


def test_backward_is_exact_where_a_product_of_local_derivatives_underflows_on_the_way_back(
        ) -> None:
    # the upstream of x/1e-300 is 1e-30·1e-300 = 1e-330, below the smallest float; times
    # the local derivative 1/1e-300 = 1e300 it is the whole answer, 1e-30 (it came out 0.0)
    x = Value(3.0)
    t = x / 1e-300
    u = t * 1e-300
    f = u * 1e-30
    f.backward()
    e30, e300 = mp.mpf(1e-30), mp.mpf(1e-300)
    assert ulps(x.grad, e30 * e300 / e300) <= 1
    assert x.grad == grad(f, [x])[0]
    assert ulps(u.grad, e30) == 0  # interior nodes: the float nearest their true gradient
    assert t.grad == float(e30 * e300) == 0.0
    y = Value(3.0)
    ((y / 1e-300) * 1e-300 * 1e-30).backward(0.5)
    assert ulps(y.grad, e30 / 2) <= 1


def test_backward_refuses_where_no_scaling_of_floats_can_serve_and_leaves_the_grads() -> None:
    # one gradient near the float maximum, another 1e-50 whose product underflows and
    # would need a local derivative of 1e300 to come back: no seed keeps both
    x, y = Value(3.0), Value(2.0)
    x.grad, y.grad = 0.25, -1.5
    f = x * 1e300 + ((y / 1e-300) * 1e-300 * 1e-30) * 1e-20
    with pytest.raises(OverflowError, match=r"^backward: the gradient of .*cannot be computed"):
        f.backward()
    assert (x.grad, y.grad) == (0.25, -1.5)  # as they were
    assert all(n.grad == 0.0 for n in f.parents)


def test_a_zero_upstream_beside_an_underflowed_product_is_exactly_zero() -> None:
    x = Value(3.0)
    z = (x / 1e-300) * 1e-300 * 1e-30
    dead = (z - 1.0).relu()  # relu'(z − 1 < 0) = 0: nothing flows back through it
    dead.backward()
    assert x.grad == 0.0 and grad(dead, [x]) == (0.0,)
    x.grad = 0.0
    f = dead + z  # the live path is exact, the dead one adds exactly zero
    f.backward()
    assert ulps(x.grad, mp.mpf(1e-30)) <= 1


# -- stable tails --------------------------------------------------------------------------

@pytest.mark.parametrize("a", [-745.0, -700.0, -40.0, -37.0, -1.0, 0.0, 1e-20, 2.0, 37.0,
                               40.0, 100.0, 700.0])
def test_sigmoid_derivatives_in_the_tails(a: float) -> None:
    x = Value(a)
    f = x.sigmoid()
    f.backward()
    d1 = sig(a) * sig(-a)
    assert ulps(x.grad, d1) <= 4
    d2 = -d1 * mp.tanh(mp.mpf(a) / 2)
    (h,), = hessian(x.sigmoid(), [x])
    assert ulps(h, d2) <= 8 if d2 != 0 else h == 0.0


def test_sigmoid_derivative_at_40() -> None:
    x = Value(40.0)
    x.sigmoid().backward()
    assert x.grad == pytest.approx(float(sig(40.0) * sig(-40.0)), rel=1e-15)
    assert x.grad == pytest.approx(4.248354255291589e-18, rel=1e-15)


@pytest.mark.parametrize("a", [-700.0, -40.0, -5.0, 0.0, 1e-20, 5.0, 40.0, 700.0])
def test_softplus_first_and_second_derivatives_in_the_tails(a: float) -> None:
    x = Value(a)
    x.softplus().backward()
    assert ulps(x.grad, sig(a)) <= 2
    (h,), = hessian(x.softplus(), [x])
    assert ulps(h, sig(a) * sig(-a)) <= 4


@pytest.mark.parametrize("a", [-300.0, -20.0, -0.6, -1e-20, 0.0, 0.3, 5.0, 20.0, 300.0])
def test_tanh_first_and_second_derivatives_at_large_and_small_arguments(a: float) -> None:
    x = Value(a)
    x.tanh().backward()
    exact1 = mp.sech(mp.mpf(a)) ** 2
    assert ulps(x.grad, exact1) <= 4
    exact2 = -2 * mp.tanh(mp.mpf(a)) * exact1
    (h,), = hessian(x.tanh(), [x])
    if exact2 == 0:
        assert h == 0.0
    else:
        assert ulps(h, exact2) <= 8


# -- square root, sine and cosine ---------------------------------------------------------

@pytest.mark.parametrize("a", [5e-324, 1e-300, 1e-20, 0.25, 2.0, 3.0, 1e20, 1e300,
                               1.7976931348623157e308])
def test_square_root_first_and_second_derivatives_against_mpmath(a: float) -> None:
    x = Value(a)
    f = x.sqrt()
    assert f.data == math.sqrt(a)
    f.backward()
    exact1 = 1 / (2 * mp.sqrt(mp.mpf(a)))
    assert ulps(x.grad, exact1) <= 1
    (g,) = grad(x.sqrt(), [x], create_graph=True)
    assert ulps(g.data, exact1) <= 1
    exact2 = -1 / (4 * mp.mpf(a) ** mp.mpf(1.5))
    if abs(exact2) > sys.float_info.max:  # ∂²√a/∂a² past the float range: named error
        with pytest.raises(OverflowError, match=r"^(grad|div): "):
            hessian(x.sqrt(), [x])
        return
    (h,), = hessian(x.sqrt(), [x])
    assert ulps(h, exact2) <= 4


def test_square_root_of_a_negative_number_is_a_value_error_naming_sqrt() -> None:
    with pytest.raises(ValueError, match=r"^sqrt: input must be >= 0, got -1e-300$"):
        Value(-1e-300).sqrt()


def test_square_root_at_zero_is_zero_and_its_derivative_a_named_error() -> None:
    for zero in (0.0, -0.0):
        x = Value(zero)
        assert x.sqrt().data == 0.0
        with pytest.raises(OverflowError, match=r"^sqrt: .*infinite"):
            x.sqrt().backward()
        with pytest.raises(OverflowError, match=r"^sqrt: .*infinite"):
            grad(x.sqrt(), [x])
        with pytest.raises(OverflowError, match=r"^sqrt: .*infinite"):
            grad(x.sqrt(), [x], create_graph=True)
        with pytest.raises(OverflowError, match=r"^sqrt: .*infinite"):
            hessian(x.sqrt(), [x])


def test_square_root_at_zero_behind_a_zero_upstream_is_refused_not_zero() -> None:
    # (√x)² = x has derivative 1, but the chain rule gives 2√0 · ∞ = 0·∞: refused, as x ** ½
    x = Value(0.0)
    with pytest.raises(OverflowError, match=r"^sqrt: .*infinite"):
        (x.sqrt() ** 2).backward()
    with pytest.raises(OverflowError, match=r"^sqrt: .*infinite"):
        grad(x.sqrt() ** 2, [x])
    # where no gradient reaches √0 at all (a constant operand), nothing is refused
    assert grad(x * 2.0 + Value(0.0).sqrt(), [x]) == (2.0,)


@pytest.mark.parametrize("a", [0.0, 5e-324, 1e-300, 0.5, 1.5707963267948966,
                               3.141592653589793, -7.0, 1e22, 1e300])
def test_sine_and_cosine_first_and_second_derivatives_against_mpmath(a: float) -> None:
    s_, c_ = mp.sin(mp.mpf(a)), mp.cos(mp.mpf(a))
    for method, d1, d2 in (("sin", c_, -s_), ("cos", -s_, -c_)):
        x = Value(a)
        f = getattr(x, method)()
        value = s_ if method == "sin" else c_
        assert f.data == 0.0 if value == 0 else ulps(f.data, value) <= 1
        f.backward()
        (h,), = hessian(getattr(x, method)(), [x])
        for got, exact in ((x.grad, d1), (h, d2)):
            if exact == 0:
                assert got == 0.0, (method, a)
            else:
                assert ulps(got, exact) <= 1, (method, a, got)


# -- engine-side input checks ----------------------------------------------------------------

def test_bool_follows_data() -> None:
    assert bool(Value(0.0)) is False
    assert bool(Value(-0.0)) is False
    assert bool(Value(2.0)) is True
    assert bool(Value(-5e-324)) is True


@pytest.mark.parametrize("compare", [
    lambda v: v < "1.5", lambda v: v <= "1.5", lambda v: v > "1.5", lambda v: v >= "1.5"])
def test_comparing_with_a_string_is_a_type_error_naming_the_operator(
        compare: Callable[[Value], bool]) -> None:
    with pytest.raises(TypeError, match=r"^'(<|<=|>|>=)' compares a Value"):
        compare(Value(1.0))


def test_a_huge_int_is_an_overflow_error_naming_value_data() -> None:
    with pytest.raises(OverflowError, match="Value data"):
        Value(10 ** 400)


def test_zero_grad_of_a_string_is_a_type_error_naming_roots() -> None:
    with pytest.raises(TypeError, match="roots"):
        zero_grad("ab")  # type: ignore[arg-type]


# -- threads ---------------------------------------------------------------------------------

def _shared_graph() -> tuple[list[Value], Value]:
    """Leaves and one deep interior node that every loss below shares."""
    xs = [Value(0.1 * (i + 1), f"x{i}") for i in range(4)]
    h = xs[0]
    for i in range(300):
        h = (h * xs[(i + 1) % 4] + xs[i % 4]).tanh()
    return xs, h


def test_concurrent_backward_on_graphs_sharing_nodes_equals_sequential_backward() -> None:
    threads, calls = 8, 30
    # sequential reference: the same losses, one backward after another
    xs_ref, h_ref = _shared_graph()
    for _ in range(threads * calls):
        (h_ref * 2.0).sigmoid().backward()
    expected = [x.grad for x in xs_ref]

    xs, h = _shared_graph()
    losses = [(h * 2.0).sigmoid() for _ in range(threads)]  # each thread its own output
    start = threading.Barrier(threads)
    errors: list[BaseException] = []

    def work(loss: Value) -> None:
        try:
            start.wait()
            for _ in range(calls):
                loss.backward()
        except BaseException as err:
            errors.append(err)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    try:
        pool = [threading.Thread(target=work, args=(loss,)) for loss in losses]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    assert not errors
    # every call adds the same sequence of numbers to the leaves, so any serial order
    # gives the same bits; an interleaving would not
    assert [x.grad for x in xs] == expected
    assert h.grad == h_ref.grad
