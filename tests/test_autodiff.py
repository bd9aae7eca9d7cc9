"""grad(), higher-order derivatives, hessian() and gradcheck()."""

from __future__ import annotations

import math
import re

import pytest

from microgrid import GradcheckError, Value, grad, gradcheck, hessian


def test_grad_returns_floats_and_leaves_dot_grad_alone() -> None:
    x, y = Value(3.0), Value(-2.0)
    f = x * x * y + y.exp()
    gx, gy = grad(f, [x, y])
    assert gx == 2 * 3.0 * -2.0
    assert gy == pytest.approx(9.0 + math.exp(-2.0), rel=1e-15)
    assert (x.grad, y.grad, f.grad) == (0.0, 0.0, 0.0)


def test_grad_agrees_with_backward() -> None:
    x, y = Value(0.7), Value(-1.3)
    f = (x * y).tanh() + (x / y).sigmoid() * x.softplus()
    expected = grad(f, [x, y])
    f.backward()
    assert (x.grad, y.grad) == pytest.approx(expected, rel=1e-14)


def test_grad_of_a_single_input_and_an_unused_input() -> None:
    x, unused = Value(2.0), Value(5.0)
    f = x ** 3
    assert grad(f, x) == (12.0,)
    assert grad(f, [x, unused]) == (12.0, 0.0)
    assert grad(f, [unused], create_graph=True)[0].data == 0.0


def test_grad_with_respect_to_an_interior_node() -> None:
    x = Value(1.5)
    h = x * x
    f = h.exp()
    (dh,) = grad(f, [h])
    assert dh == pytest.approx(math.exp(2.25), rel=1e-15)


def test_second_derivatives() -> None:
    x = Value(0.4)
    f = x.sigmoid()
    (d1,) = grad(f, [x], create_graph=True)
    (d2,) = grad(d1, [x])
    s = 1 / (1 + math.exp(-0.4))
    assert d1.data == pytest.approx(s * (1 - s), rel=1e-15)
    assert d2 == pytest.approx(s * (1 - s) * (1 - 2 * s), rel=1e-13)


def test_mixed_partials_are_symmetric() -> None:
    x, y = Value(0.5), Value(1.5)
    f = (x * y).exp() + x ** 2 * y ** 3
    dx, dy = grad(f, [x, y], create_graph=True)
    (dxy,) = grad(dx, [y])
    (dyx,) = grad(dy, [x])
    exact = math.exp(0.75) * (1 + 0.75) + 2 * 0.5 * 3 * 1.5 ** 2
    assert dxy == pytest.approx(exact, rel=1e-14)
    assert dyx == pytest.approx(exact, rel=1e-14)


def test_third_and_fourth_derivatives() -> None:
    x = Value(0.3)
    f = x.tanh()
    d = f
    derivs = []
    for _ in range(4):
        (d,) = grad(d, [x], create_graph=True)
        derivs.append(d.data)
    t = math.tanh(0.3)
    exact = [1 - t * t, -2 * t * (1 - t * t), -2 * (1 - t * t) * (1 - 3 * t * t),
             8 * t * (1 - t * t) * (2 - 3 * t * t)]
    assert derivs == pytest.approx(exact, rel=1e-12)


def test_derivatives_of_x_to_the_fifth_down_to_zero() -> None:
    x = Value(2.0)
    d = x ** 5
    out = []
    for _ in range(6):
        (d,) = grad(d, [x], create_graph=True)
        out.append(d.data)
    assert out == [80.0, 160.0, 240.0, 240.0, 120.0, 0.0]


def test_hessian_of_a_quadratic_form() -> None:
    x, y, z = Value(1.0), Value(-2.0), Value(0.5)
    f = 3 * x * x + 2 * x * y - y * y + 4 * y * z + z
    assert hessian(f, [x, y, z]) == [[6.0, 2.0, 0.0], [2.0, -2.0, 4.0], [0.0, 4.0, 0.0]]


def test_hessian_of_rosenbrock() -> None:
    x, y = Value(1.2), Value(0.8)
    f = (1 - x) ** 2 + 100 * (y - x * x) ** 2
    h = hessian(f, [x, y])
    assert h[0][0] == pytest.approx(2 - 400 * (0.8 - 3 * 1.2 ** 2), rel=1e-13)
    assert h[0][1] == pytest.approx(-400 * 1.2, rel=1e-13)
    assert h[1][0] == pytest.approx(-400 * 1.2, rel=1e-13)
    assert h[1][1] == 200.0


def test_create_graph_gradients_can_be_trained_on() -> None:
    # gradient penalty: minimise (∂f/∂x)² for f = w·x², d/dw of (2wx)² = 8wx²
    w, x = Value(0.5), Value(3.0)
    (dfdx,) = grad(w * x * x, [x], create_graph=True)
    penalty = dfdx * dfdx
    penalty.backward()
    assert w.grad == pytest.approx(8 * 0.5 * 9.0, rel=1e-15)


def test_gradcheck_passes_on_correct_gradients() -> None:
    def fn(a: Value, b: Value, c: Value) -> Value:
        return (a * b).tanh() + (c.softplus() / (a * a + 1)).log() + b ** 3 - 2 ** c

    assert gradcheck(fn, [0.3, -1.2, 0.8])
    assert gradcheck(fn, [0.3, -1.2, 0.8], second_order=True)


def test_gradcheck_reports_a_graph_broken_by_reading_data() -> None:
    def broken(x: Value) -> Value:
        return x * x.data  # the second factor is a constant to the engine

    with pytest.raises(GradcheckError) as info:
        gradcheck(broken, [1.5])
    report = str(info.value)
    assert re.search(r"∂f/∂x\[0\]: engine 1.5, finite difference 2.99999999\d*", report)
    assert gradcheck(broken, [1.5], raise_exception=False) is False


def test_gradcheck_second_order_catches_a_wrong_hessian() -> None:
    def tangent_line(x: Value) -> Value:
        c = x.data  # value c³ and slope 3c², but a straight line to the engine: no curvature
        return 3 * c * c * x - 2 * c ** 3

    assert gradcheck(tangent_line, [0.7])
    with pytest.raises(GradcheckError, match=r"∂²f/∂x0∂x\[0\]: engine 0.0"):
        gradcheck(tangent_line, [0.7], second_order=True)


def test_gradcheck_requires_a_value_result() -> None:
    with pytest.raises(TypeError, match="fn must return a Value"):
        gradcheck(lambda x: 1.0, [0.5])  # type: ignore[arg-type, return-value]


def test_grad_is_exact_where_a_product_of_local_derivatives_underflows_on_the_way_back(
        ) -> None:
    # the upstream of x/1e-300 is 1e-30·1e-300 = 1e-330, below the smallest float; times
    # the local derivative 1/1e-300 = 1e300 it is the whole answer, 1e-30
    x = Value(3.0)
    f = (x / 1e-300) * 1e-300 * 1e-30
    (g,) = grad(f, [x])
    assert g == pytest.approx(1e-30, rel=1e-15, abs=0.0)


def test_grad_refuses_with_a_named_error_where_no_scaling_of_floats_can_serve() -> None:
    # one gradient near the float maximum, another whose product underflows and would need
    # a local derivative of 1e300 to come back: no seed keeps both
    x, y = Value(3.0), Value(2.0)
    f = x * 1e300 + ((y / 1e-300) * 1e-300 * 1e-30) * 1e-20  # ∂f/∂y = 1e-50
    with pytest.raises(OverflowError, match=r"^grad: the gradient of a leaf .*cannot be computed"):
        grad(f, [x, y])
    assert grad(f, [x]) == (1e300,)  # y is not asked for: nothing to refuse
