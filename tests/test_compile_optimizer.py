"""A compiled step with an optimizer is a whole training step (zero_grad, backward, step).

The optimizers' rules are checked against torch.optim's documented algorithms in
test_optim.py; here, applying a rule to whole numpy arrays (``vector_step``) must give the
numbers of ``optimizer.step()`` bit for bit, and a compiled training step must train a model
exactly as the eager loop does (python backend: bit for bit; numpy backend, which
reassociates sums in the backward pass: to 1e-12).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any

import pytest

from microgrid import Value
from microgrid.compile import compile_step
from microgrid.compile.update import vector_step, vectorizable
from microgrid.losses import mse
from microgrid.nn import MLP
from microgrid.optim import SGD, Adagrad, Adam, Newton, Optimizer, RMSprop

MAKERS: list[tuple[str, Callable[[list[Value]], Optimizer]]] = [
    ("sgd", lambda p: SGD(p, 0.05)),
    ("sgd_momentum", lambda p: SGD(p, 0.05, momentum=0.9)),
    ("sgd_dampening", lambda p: SGD(p, 0.05, 0.9, dampening=0.3, weight_decay=0.1)),
    ("sgd_nesterov", lambda p: SGD(p, 0.05, 0.8, nesterov=True)),
    ("adagrad", lambda p: Adagrad(p, 0.3, lr_decay=0.1, weight_decay=0.05,
                                  initial_accumulator_value=0.5)),
    ("rmsprop", lambda p: RMSprop(p, lr=0.01)),
    ("rmsprop_centered", lambda p: RMSprop(p, 0.01, alpha=0.9, centered=True, momentum=0.5,
                                           weight_decay=0.01)),
    ("adam", lambda p: Adam(p, lr=0.1)),
    ("adam_custom", lambda p: Adam(p, 0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
]
IDS = [name for name, _ in MAKERS]


def _state(opt: Optimizer) -> list[Any]:
    return [opt.t] + [list(getattr(opt, name)) for name in opt.state]


@pytest.mark.parametrize(("name", "make"), MAKERS, ids=IDS)
def test_the_rule_on_arrays_equals_step_bit_for_bit(name: str, make: Any) -> None:
    rng = random.Random(7)
    start = [rng.uniform(-2.0, 2.0) for _ in range(40)]
    eager = [Value(v) for v in start]
    opt_e, opt_v = make(eager), make([Value(v) for v in start])
    thetas = list(start)
    for t in range(25):
        # gradients over many scales, some exactly 0 and some tiny
        grads = [0.0 if i % 11 == 0 else rng.gauss(0.0, 1.0) * 10.0 ** rng.randint(-9, 3)
                 for i in range(len(start))]
        for p, g in zip(eager, grads):
            p.grad = g
        opt_e.step()
        thetas = vector_step(opt_v, thetas, grads)
        assert thetas == [p.data for p in eager], f"step {t + 1}"
        assert _state(opt_v) == _state(opt_e)
    assert thetas != start


def test_the_rule_on_arrays_refuses_what_step_refuses_and_changes_nothing() -> None:
    ps = [Value(1.0, "a"), Value(1e308, "b")]
    opt = Adam(ps, lr=0.1)
    with pytest.raises(OverflowError, match="Adam: gradient of 'b' is inf"):
        vector_step(opt, [1.0, 1e308], [1.0, math.inf])
    assert _state(opt) == [0, [0.0, 0.0], [0.0, 0.0]]
    sgd = SGD(ps, lr=1e308)
    for p, g in zip(ps, (1.0, -1.0)):
        p.grad = g
    with pytest.raises(OverflowError) as scalar:
        sgd.step()
    with pytest.raises(OverflowError) as vector:
        vector_step(sgd, [1.0, 1e308], [1.0, -1.0])
    assert str(vector.value) == str(scalar.value) == (
        "SGD: the update made 'b' inf (diverging: try a smaller lr)")
    assert sgd.t == 0 and [p.data for p in ps] == [1.0, 1e308]


def test_a_step_that_raises_keeps_the_optimizer_state() -> None:
    w = Value(1e308, "w")
    opt = SGD([w], lr=1.0, momentum=0.9)
    w.grad = 1.0
    opt.step()
    kept = _state(opt)
    w.grad = -1e308
    with pytest.raises(OverflowError, match="'w' inf"):
        opt.step()
    assert _state(opt) == kept and opt.t == 1


# -- a compiled training step against the eager loop --------------------------------------


def _data(n: int = 12) -> tuple[list[list[float]], list[list[float]]]:
    rng = random.Random(3)
    X = [[rng.uniform(-1.0, 1.0) for _ in range(3)] for _ in range(n)]
    Y = [[math.sin(x[0] + 2.0 * x[1]) - x[2], x[0] * x[1]] for x in X]
    return X, Y


def _loss(model: MLP, xs: list[Any], ys: list[Any]) -> Value:
    """The mean over examples of each example's mean squared error over its two outputs."""
    return sum((mse(model(x), y) for x, y in zip(xs, ys)), Value(0.0)) * (1.0 / len(xs))


def _model(fused: bool) -> MLP:
    return MLP(3, [5, 2], activation="tanh", output_activation="linear", seed=4,
               fused=fused)


def _eager(fused: bool, make: Any, steps: int) -> tuple[list[float], list[float], list[Any]]:
    X, Y = _data()
    model = _model(fused)
    opt = make(model.parameters())
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = _loss(model, X, Y)
        loss.backward()
        opt.step()
        losses.append(loss.data)
    return losses, [p.data for p in model.parameters()], _state(opt)


def _compiled(fused: bool, make: Any, steps: int,
              backend: str) -> tuple[list[float], list[float], list[Any]]:
    X, Y = _data()
    model = _model(fused)
    opt = make(model.parameters())
    step = compile_step(lambda xs, ys: _loss(model, xs, ys), model.parameters(),
                        backend=backend, optimizer=opt)
    losses = [step(X, Y) for _ in range(steps)]
    assert step.traces == 1
    return losses, [p.data for p in model.parameters()], _state(opt)


@pytest.mark.parametrize("fused", [False, True], ids=["neurons", "fused"])
@pytest.mark.parametrize(("name", "make"), MAKERS, ids=IDS)
def test_a_compiled_training_step_trains_as_the_eager_loop(name: str, make: Any,
                                                           fused: bool) -> None:
    expected = _eager(fused, make, 6)
    assert _compiled(fused, make, 6, "python") == expected
    losses, params, state = _compiled(fused, make, 6, "numpy")
    assert losses == pytest.approx(expected[0], rel=1e-12, abs=1e-15)
    assert params == pytest.approx(expected[1], rel=1e-11, abs=1e-14)
    assert state[0] == expected[2][0]
    assert losses[-1] < losses[0]


@pytest.mark.parametrize("backend", ["python", "numpy"])
def test_gradients_left_on_the_parameters_are_this_steps(backend: str) -> None:
    X, Y = _data()
    model = _model(True)
    ps = model.parameters()
    step = compile_step(lambda xs, ys: _loss(model, xs, ys), ps,
                        backend=backend, optimizer=SGD(ps, 0.01))
    for _ in range(3):
        step(X, Y)
    before = [p.data for p in ps]
    got = [p.grad for p in ps]
    # the oracle: central differences of the loss at the values the last step started from
    last = [b + 0.01 * g for b, g in zip(before, got)]

    def loss_at(i: int, h: float) -> float:
        for p, v in zip(ps, last):
            p.data = v
        ps[i].data += h
        return _loss(model, X, Y).data

    for i in range(0, len(ps), 7):
        h = 1e-6
        fd = (loss_at(i, h) - loss_at(i, -h)) / (2 * h)
        assert got[i] == pytest.approx(fd, rel=1e-5, abs=1e-8)


@pytest.mark.parametrize("backend", ["python", "numpy"])
def test_parameters_the_optimizer_does_not_hold_accumulate_as_in_eager_mode(
        backend: str) -> None:
    """The optimizer holds w and an extra z (not in the step); b is in the step only."""
    def run(compiled: bool) -> list[float]:
        w, b, z = Value(0.5, "w"), Value(-0.25, "b"), Value(2.0, "z")
        z.grad = 5.0
        opt = Adam([z, w], lr=0.1, weight_decay=0.1)
        fn = lambda x: (w * x + b - 1.0) ** 2  # noqa: E731
        step = compile_step(fn, [w, b], backend=backend, optimizer=opt) if compiled else None
        for k in range(4):
            x = 0.5 + k
            if step is not None:
                step(x)
            else:
                opt.zero_grad()
                fn(Value(x)).backward()
                opt.step()
        return [w.data, w.grad, b.data, b.grad, z.data, z.grad, opt.t]

    got, expected = run(True), run(False)
    assert got == pytest.approx(expected, rel=1e-13)
    assert got[3] != 0.0 and got[2] == -0.25  # b accumulates and is never stepped
    assert got[5] == 0.0 and got[4] != 2.0    # z is zeroed, then moved by weight decay


def test_the_optimizer_can_be_replaced_between_calls_and_is_checked() -> None:
    w = Value(1.0)
    step = compile_step(lambda x: (w * x - 3.0) ** 2, [w], backend="numpy",
                        optimizer=SGD([w], 0.1))
    step(1.0)
    assert w.data == pytest.approx(1.0 + 0.1 * 4.0)  # ∂/∂w = 2(w − 3) = −4
    step.optimizer = None
    w.grad = 0.0
    step(1.0)
    assert w.data == pytest.approx(1.4) and w.grad == pytest.approx(-3.2)
    with pytest.raises(ValueError, match="Newton needs the loss graph"):
        step.optimizer = Newton([w])
    with pytest.raises(TypeError, match=r"optimizer must be a microgrid\.optim optimizer"):
        compile_step(lambda x: w * x, [w], optimizer="sgd")  # type: ignore[arg-type]


class _Halving(Optimizer):
    """A user's optimizer with its own step(): θ ← θ/2 − γg (no rule to vectorize)."""

    def step(self) -> None:
        for p in self.params:
            p.data = p.data / 2 - self.lr * p.grad


def test_an_optimizer_with_its_own_step_is_stepped_as_written() -> None:
    w = Value(1.0)
    opt = _Halving([w], 0.1)
    assert not vectorizable(opt) and vectorizable(SGD([w], 0.1))
    step = compile_step(lambda x: w * x, [w], backend="numpy", optimizer=opt)
    step(2.0)
    step(2.0)
    assert w.data == pytest.approx((1.0 / 2 - 0.2) / 2 - 0.2)


def test_a_diverging_compiled_step_raises_and_keeps_the_parameters() -> None:
    w = Value(-1e308, "w")
    step = compile_step(lambda x: w + x, [w], backend="numpy",
                        optimizer=SGD([w], lr=1e308))
    with pytest.raises(OverflowError, match="SGD: the update made 'w' -inf"):
        step(1.0)   # the trace: the eager step
    assert w.data == -1e308
    with pytest.raises(OverflowError, match="SGD: the update made 'w' -inf"):
        step(1.0)   # the replay: the rule on arrays
    assert w.data == -1e308 and w.grad == 1.0


@pytest.mark.parametrize("backend", ["python", "numpy"])
def test_parameters_keep_python_floats(backend: str) -> None:
    X, Y = _data()
    model = _model(True)
    ps = model.parameters()
    step = compile_step(lambda xs, ys: _loss(model, xs, ys), ps, backend=backend,
                        optimizer=Adam(ps, 0.01))
    for _ in range(3):
        loss = step(X, Y)
    assert type(loss) is float
    assert {type(p.data) for p in ps} == {float} == {type(p.grad) for p in ps}
