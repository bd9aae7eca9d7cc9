"""Optimizers: several steps against the documented update rules, computed independently
(and against PyTorch when it is installed); Newton's method; bad input."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from microgrid import Value
from microgrid.linalg import solve
from microgrid.optim import SGD, Adagrad, Adam, Newton, Optimizer, RMSprop

START = [1.0, -2.0, 0.5]
STEPS = 6


def loss_of(ps: list[Value]) -> Value:
    """f(θ) = θ₀² + 3θ₁² + ½θ₂⁴ + θ₀θ₁ − θ₂ (not quadratic, so the steps vary)."""
    a, b, c = ps
    return a * a + 3 * b * b + 0.5 * c ** 4 + a * b - c


def gradient(t: list[float]) -> list[float]:
    a, b, c = t
    return [2 * a + b, 6 * b + a, 2 * c ** 3 - 1]


def run(make: Callable[[list[Value]], Optimizer], steps: int = STEPS) -> list[float]:
    ps = [Value(v) for v in START]
    opt = make(ps)
    for _ in range(steps):
        opt.zero_grad()
        loss_of(ps).backward()
        opt.step()
    return [p.data for p in ps]


# -- the reference rules, one scalar at a time (torch.optim's documented algorithms) -----


def ref_sgd(lr: float, momentum: float = 0.0, dampening: float = 0.0,
            weight_decay: float = 0.0, nesterov: bool = False) -> list[float]:
    th = list(START)
    buf = [0.0] * 3
    for t in range(1, STEPS + 1):
        g = gradient(th)
        for i in range(3):
            gi = g[i] + weight_decay * th[i]
            if momentum:
                buf[i] = gi if t == 1 else momentum * buf[i] + (1 - dampening) * gi
                gi = gi + momentum * buf[i] if nesterov else buf[i]
            th[i] -= lr * gi
    return th


def ref_adagrad(lr: float, lr_decay: float = 0.0, weight_decay: float = 0.0,
                init: float = 0.0, eps: float = 1e-10) -> list[float]:
    th = list(START)
    s = [init] * 3
    for t in range(1, STEPS + 1):
        g = gradient(th)
        clr = lr / (1 + (t - 1) * lr_decay)
        for i in range(3):
            gi = g[i] + weight_decay * th[i]
            s[i] += gi * gi
            th[i] -= clr * gi / (math.sqrt(s[i]) + eps)
    return th


def ref_rmsprop(lr: float, alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0.0,
                momentum: float = 0.0, centered: bool = False) -> list[float]:
    th = list(START)
    v, gav, buf = [0.0] * 3, [0.0] * 3, [0.0] * 3
    for _ in range(STEPS):
        g = gradient(th)
        for i in range(3):
            gi = g[i] + weight_decay * th[i]
            v[i] = alpha * v[i] + (1 - alpha) * gi ** 2
            vt = v[i]
            if centered:
                gav[i] = alpha * gav[i] + (1 - alpha) * gi
                vt = vt - gav[i] ** 2
            if momentum > 0:
                buf[i] = momentum * buf[i] + gi / (math.sqrt(vt) + eps)
                th[i] -= lr * buf[i]
            else:
                th[i] -= lr * gi / (math.sqrt(vt) + eps)
    return th


def ref_adam(lr: float, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8,
             weight_decay: float = 0.0) -> list[float]:
    th = list(START)
    m, v = [0.0] * 3, [0.0] * 3
    for t in range(1, STEPS + 1):
        g = gradient(th)
        for i in range(3):
            gi = g[i] + weight_decay * th[i]
            m[i] = b1 * m[i] + (1 - b1) * gi
            v[i] = b2 * v[i] + (1 - b2) * gi ** 2
            mhat = m[i] / (1 - b1 ** t)
            vhat = v[i] / (1 - b2 ** t)
            th[i] -= lr * mhat / (math.sqrt(vhat) + eps)
    return th


CASES: list[tuple[str, Callable[[list[Value]], Optimizer], Callable[[], list[float]]]] = [
    ("sgd", lambda p: SGD(p, 0.05), lambda: ref_sgd(0.05)),
    ("sgd_momentum", lambda p: SGD(p, 0.05, momentum=0.9), lambda: ref_sgd(0.05, 0.9)),
    ("sgd_dampening", lambda p: SGD(p, 0.05, 0.9, dampening=0.3, weight_decay=0.1),
     lambda: ref_sgd(0.05, 0.9, 0.3, 0.1)),
    ("sgd_nesterov", lambda p: SGD(p, 0.05, 0.8, nesterov=True),
     lambda: ref_sgd(0.05, 0.8, nesterov=True)),
    ("adagrad", lambda p: Adagrad(p, lr=0.3), lambda: ref_adagrad(0.3)),
    ("adagrad_decay", lambda p: Adagrad(p, 0.3, lr_decay=0.1, weight_decay=0.05,
                                        initial_accumulator_value=0.5),
     lambda: ref_adagrad(0.3, 0.1, 0.05, 0.5)),
    ("rmsprop", lambda p: RMSprop(p, lr=0.01), lambda: ref_rmsprop(0.01)),
    ("rmsprop_centered", lambda p: RMSprop(p, 0.01, alpha=0.9, centered=True, momentum=0.5,
                                           weight_decay=0.01),
     lambda: ref_rmsprop(0.01, 0.9, weight_decay=0.01, momentum=0.5, centered=True)),
    ("adam", lambda p: Adam(p, lr=0.1), lambda: ref_adam(0.1)),
    ("adam_custom", lambda p: Adam(p, 0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1),
     lambda: ref_adam(0.05, 0.8, 0.99, 1e-6, 0.1)),
]


@pytest.mark.parametrize(("name", "make", "ref"), CASES, ids=[c[0] for c in CASES])
def test_several_steps_follow_the_documented_rule(name: str, make: Any, ref: Any) -> None:
    got, expected = run(make), ref()
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-14)
    assert got != START


def test_sgd_is_plain_gradient_descent() -> None:
    p = Value(3.0)
    opt = SGD([p], lr=0.1)
    (p * p).backward()
    opt.step()
    assert p.data == 3.0 - 0.1 * 6.0


def test_momentum_first_step_is_the_gradient_and_then_accumulates() -> None:
    p = Value(0.0)
    opt = SGD([p], lr=1.0, momentum=0.5, dampening=0.5)
    for expected in (-1.0, -1.0 - (0.5 * 1 + 0.5 * 1), -1.0 - 1.0 - (0.5 * 1.0 + 0.5)):
        opt.zero_grad()
        p.grad = 1.0  # a constant gradient
        opt.step()
        assert p.data == pytest.approx(expected)


def test_adam_first_step_moves_each_parameter_by_about_lr() -> None:
    ps = [Value(v) for v in START]
    opt = Adam(ps, lr=0.01)
    loss_of(ps).backward()
    opt.step()
    assert gradient(START)[0] == 0.0
    assert ps[0].data == START[0]  # a zero gradient does not move its parameter
    for p, start, g in zip(ps[1:], START[1:], gradient(START)[1:]):
        # bias correction makes m̂ = g and v̂ = g² on step 1: the step is lr·sign(g)
        assert start - p.data == pytest.approx(0.01 * math.copysign(1.0, g), rel=1e-6)


def test_optimizers_reduce_the_loss() -> None:
    for make in (lambda p: SGD(p, 0.05), lambda p: Adam(p, 0.05),
                 lambda p: RMSprop(p, 0.01), lambda p: Adagrad(p, 0.1)):
        ps = [Value(v) for v in run(make, steps=50)]
        assert loss_of(ps).data < loss_of([Value(v) for v in START]).data


def test_zero_grad_clears_the_parameters() -> None:
    ps = [Value(v) for v in START]
    opt = SGD(ps, 0.1)
    loss_of(ps).backward()
    opt.zero_grad()
    assert [p.grad for p in ps] == [0.0, 0.0, 0.0]


def test_a_shared_parameter_is_updated_once() -> None:
    p = Value(1.0)
    opt = SGD([p, p, p], lr=0.5)
    assert len(opt.params) == 1
    p.grad = 1.0
    opt.step()
    assert p.data == 0.5


# -- Newton's method -------------------------------------------------------------------


def test_solve_matches_numpy() -> None:
    a = [[4.0, 1.0, 2.0], [1.0, 3.0, 0.5], [2.0, 0.5, 5.0]]
    b = [1.0, -2.0, 0.25]
    assert solve(a, b) == pytest.approx(list(np.linalg.solve(a, b)), rel=1e-13)
    assert solve([[0.0, 1.0], [1.0, 0.0]], [2.0, 3.0]) == [3.0, 2.0]  # needs pivoting
    with pytest.raises(ValueError, match="singular"):
        solve([[1.0, 2.0], [2.0, 4.0]], [1.0, 1.0])


def test_newton_solves_a_quadratic_in_one_step() -> None:
    x, y = Value(3.0), Value(-1.0)

    def f() -> Value:  # minimum at (1, -2)
        return (x - 1) ** 2 + 2 * (y + 2) ** 2 + (x - 1) * (y + 2)

    opt = Newton([x, y])
    opt.step(f())
    assert (x.data, y.data) == pytest.approx((1.0, -2.0), abs=1e-15)
    assert x.grad == 0.0 and y.grad == 0.0  # Newton leaves .grad alone


def test_newton_converges_far_faster_than_gradient_descent() -> None:
    """The lecture notes' contrast, on Rosenbrock's valley f = (1 − a)² + 100(b − a²)²."""
    def rosenbrock(a: Value, b: Value) -> Value:
        return (1 - a) ** 2 + 100 * (b - a * a) ** 2

    a, b = Value(-1.2), Value(1.0)
    newton = Newton([a, b])
    for _ in range(8):
        newton.step(rosenbrock(a, b))
    assert (a.data, b.data) == pytest.approx((1.0, 1.0), abs=1e-10)

    c, d = Value(-1.2), Value(1.0)
    gd = SGD([c, d], lr=1e-3)
    for _ in range(8):
        gd.zero_grad()
        rosenbrock(c, d).backward()
        gd.step()
    assert rosenbrock(c, d).data > 1.0  # still far from the minimum


def test_newton_on_a_singular_hessian_needs_damping() -> None:
    x, y = Value(1.0), Value(2.0)
    with pytest.raises(ValueError, match="singular; pass damping > 0"):
        Newton([x, y]).step((x + y) ** 2)
    Newton([x, y], damping=1.0).step((x + y) ** 2)
    assert x.data + y.data < 3.0


def test_newton_needs_the_loss() -> None:
    x = Value(1.0)
    with pytest.raises(TypeError, match="pass the loss Value"):
        Newton([x]).step()


# -- bad input -------------------------------------------------------------------------

ALL = [SGD, Adagrad, RMSprop, Adam, Newton]


@pytest.mark.parametrize("cls", ALL)
@pytest.mark.parametrize("lr", [0.0, -0.1, math.inf, math.nan])
def test_learning_rate_must_be_positive(cls: Any, lr: float) -> None:
    with pytest.raises(ValueError, match=f"{cls.__name__}: lr must be in"):
        cls([Value(1.0)], lr=lr)


@pytest.mark.parametrize("cls", ALL)
def test_learning_rate_must_be_a_number(cls: Any) -> None:
    with pytest.raises(TypeError, match="lr must be a number"):
        cls([Value(1.0)], lr="0.1")
    with pytest.raises(TypeError, match="lr must be a number"):
        cls([Value(1.0)], lr=True)


@pytest.mark.parametrize("cls", ALL)
def test_empty_parameter_list_is_refused(cls: Any) -> None:
    with pytest.raises(ValueError, match=f"{cls.__name__}: empty parameter list"):
        cls([], lr=0.1)
    with pytest.raises(ValueError, match="empty parameter list"):
        cls(iter([]), lr=0.1)


@pytest.mark.parametrize("cls", ALL)
def test_parameters_must_be_values(cls: Any) -> None:
    with pytest.raises(TypeError, match=r"params\[1\] must be a Value, got float"):
        cls([Value(1.0), 2.0], lr=0.1)
    with pytest.raises(TypeError, match="got a single Value"):
        cls(Value(1.0), lr=0.1)


@pytest.mark.parametrize(("make", "match"), [
    (lambda p: SGD(p, 0.1, momentum=-0.5), "momentum must be in"),
    (lambda p: SGD(p, 0.1, nesterov=True), "nesterov needs momentum > 0"),
    (lambda p: SGD(p, 0.1, momentum=0.9, dampening=0.1, nesterov=True), "dampening = 0"),
    (lambda p: Adam(p, betas=(0.9, 1.0)), r"betas\[1\] must be in \[0, 1\)"),
    (lambda p: Adam(p, betas=(0.9,)), "betas must be a pair"),
    (lambda p: Adam(p, eps=-1.0), "eps must be in"),
    (lambda p: RMSprop(p, alpha=1.5), "alpha must be in"),
    (lambda p: Adagrad(p, initial_accumulator_value=-1.0), "initial_accumulator_value"),
    (lambda p: Newton(p, damping=-1.0), "damping must be in"),
])
def test_bad_hyperparameters_are_named(make: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make([Value(1.0)])


def test_a_diverging_update_stops_with_an_error() -> None:
    p = Value(1e300, "w")
    opt = SGD([p], lr=1e300)
    p.grad = 1e10
    with pytest.raises(OverflowError, match=r"w.*smaller lr"):
        opt.step()
    assert p.data == 1e300  # the parameter is left as it was


def test_base_optimizer_has_no_rule() -> None:
    with pytest.raises(NotImplementedError):
        Optimizer([Value(1.0)], 0.1).step()


@pytest.mark.parametrize(("make", "match"), [
    (lambda ps: Adam(ps, eps=0), r"Adam: eps must be in \(0, inf\)"),
    (lambda ps: Adagrad(ps, eps=0.0), r"Adagrad: eps must be in \(0, inf\)"),
    (lambda ps: RMSprop(ps, eps=-1.0), r"RMSprop: eps must be in \(0, inf\)"),
    (lambda ps: Adam(ps, betas=(1.0, 0.9)), r"Adam: betas\[0\] must be in \[0, 1\)"),
    (lambda ps: Adam(ps, betas=(0.9,)), r"Adam: betas must be a pair"),
    (lambda ps: SGD(ps, 0.1, momentum=1.5), r"SGD: momentum must be in \[0, 1\)"),
    (lambda ps: SGD(ps, 0.1, dampening=2.0), r"SGD: dampening must be in \[0, 1\]"),
    (lambda ps: RMSprop(ps, alpha=1.5), r"RMSprop: alpha must be in \[0, 1\]"),
    (lambda ps: RMSprop(ps, momentum=-0.1), r"RMSprop: momentum must be in \[0, 1\)"),
    (lambda ps: Adagrad(ps, lr_decay=-1.0), r"Adagrad: lr_decay must be in \[0, inf\)"),
    (lambda ps: Newton(ps, damping=math.nan), r"Newton: damping must be in \[0, inf\)"),
])
def test_every_hyperparameter_range_is_checked(make: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make([Value(1.0)])


@pytest.mark.parametrize(("make", "match"), [
    (lambda ps: SGD(ps, 0.1, nesterov="yes"), "SGD: nesterov must be True or False"),
    (lambda ps: RMSprop(ps, centered=1), "RMSprop: centered must be True or False"),
    (lambda ps: Adam(ps, lr="0.1"), "Adam: lr must be a number"),
])
def test_flags_and_types_are_checked(make: Any, match: str) -> None:
    with pytest.raises(TypeError, match=match):
        make([Value(1.0)])
    with pytest.raises(TypeError, match="params must be a list of Values"):
        SGD("ab", 0.1)  # type: ignore[arg-type]


def test_a_diverging_update_changes_no_parameter() -> None:
    a, b = Value(1.0, "a"), Value(1e308, "b")
    a.grad, b.grad = 1.0, -1.0
    opt = SGD([a, b], lr=1e308)
    with pytest.raises(OverflowError, match="the update made 'b' inf"):
        opt.step()
    assert (a.data, b.data) == (1.0, 1e308)  # all or nothing


def test_centered_rmsprop_never_takes_the_root_of_a_negative_variance() -> None:
    w = Value(1.0)
    opt = RMSprop([w], lr=0.01, centered=True)
    for _ in range(5):
        w.grad = 0.1  # a constant gradient: v − ḡ² is 0 up to rounding
        opt.step()
    assert math.isfinite(w.data)


def test_solve_names_a_bad_entry() -> None:
    assert solve([[2.0, 0.0], [0.0, 4.0]], [2.0, 4.0]) == [1.0, 1.0]
    with pytest.raises(TypeError, match=r"solve: A\[0\]\[1\] must be a number"):
        solve([[1.0, "a"]], [1.0])  # type: ignore[list-item]
    with pytest.raises(ValueError, match=r"solve: b\[0\] must be a finite number"):
        solve([[1.0]], [math.nan])
