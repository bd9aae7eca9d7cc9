"""Compiled steps called with numpy arrays: the same traces, numbers and errors as lists.

A numpy float array is the nested list ``X.tolist()`` (Python floats of the same values),
an int array is a list of class labels. Lists are the oracle here: the rest of the
compile tests check them against eager mode, and eager mode against finite differences.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from microgrid import Value
from microgrid.compile import compile_step, replayer, trace
from microgrid.compile.step import _signature
from microgrid.losses import cross_entropy, mse
from microgrid.nn import MLP

BACKENDS = ["python", "numpy"]
FLOATS = [np.float64, np.float32, np.float16, np.longdouble]


def regression(model: MLP) -> Callable[[Any, Any], Value]:
    return lambda xs, ts: mse([model(x) for x in xs], ts)


def run(step: Any, params: list[Value], *args: Any) -> tuple[Any, list[float]]:
    """The step's result and the gradients it left, which are then zeroed."""
    out = step(*args)
    grads = [p.grad for p in params]
    for p in params:
        p.grad = 0.0
    return out, grads


def eager(fn: Callable[..., Value], params: list[Value], *args: Any) -> tuple[float,
                                                                                 list[float]]:
    """fn on a fresh input Value for each float (ints stay ints), then backward(): the
    result compiled steps must give."""
    def wrap(x: Any) -> Any:
        if isinstance(x, list):
            return [wrap(v) for v in x]
        return Value(x) if type(x) is float else x

    loss = fn(*[wrap(a) for a in args])
    loss.backward()
    grads = [p.grad for p in params]
    for p in params:
        p.grad = 0.0
    return loss.data, grads


def agrees_with_eager(backend: str, got: tuple[Any, list[float]], fn: Callable[..., Value],
                      params: list[Value], *args: Any) -> None:
    """Equal to eager mode (python backend) or to 1e-12 (numpy reassociates sums)."""
    loss, grads = eager(fn, params, *args)
    if backend == "python":
        assert got == (loss, grads)
    else:
        assert got[0] == pytest.approx(loss, rel=1e-12, abs=1e-14)
        assert got[1] == pytest.approx(grads, rel=1e-12, abs=1e-14)


def batch(seed: int, n: int = 5, nin: int = 3) -> tuple[Any, Any]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, nin)), rng.normal(size=n)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", FLOATS)
def test_float_arrays_give_the_numbers_of_their_lists(backend: str, dtype: Any) -> None:
    model = MLP(3, [4, 1], activation="tanh", seed=1, fused=True)
    params = model.parameters()
    fn = regression(model)
    from_lists = compile_step(fn, params, backend=backend)
    from_arrays = compile_step(fn, params, backend=backend)
    for seed in range(3):   # the first call traces, the others replay
        X, t = (a.astype(dtype) for a in batch(seed))
        Xl, tl = X.astype(np.float64).tolist(), t.astype(np.float64).tolist()
        want = run(from_lists, params, Xl, tl)
        got = run(from_arrays, params, X, t)
        assert got == want
        assert all(type(v) is float for v in [got[0], *got[1]])  # no numpy scalars
        agrees_with_eager(backend, want, fn, params, Xl, tl)
    assert from_arrays.traces == from_lists.traces == 1


@pytest.mark.parametrize("backend", BACKENDS)
def test_lists_and_arrays_share_one_trace(backend: str) -> None:
    model = MLP(3, [4, 1], activation="relu", seed=2)
    params = model.parameters()
    step = compile_step(regression(model), params, backend=backend)
    X, t = batch(0)
    run(step, params, X.tolist(), t.tolist())      # traced (eager numbers)
    first = run(step, params, X.tolist(), t.tolist())   # replayed
    assert run(step, params, X, t) == first
    assert run(step, params, list(X), t) == first                     # a list of rows
    assert run(step, params, np.asfortranarray(X), t) == first        # any memory order
    X2, t2 = batch(1)
    assert run(step, params, X2.T.copy().T, t2) == run(step, params, X2.tolist(),
                                                         t2.tolist())
    assert step.traces == 1
    traced = run(step, params, X[:4], t[:4])       # another shape: traced from arrays
    assert step.traces == 2
    agrees_with_eager(backend, traced, regression(model), params, X[:4].tolist(),
                      t[:4].tolist())
    assert run(step, params, X[:4].tolist(), t[:4].tolist()) == run(step, params, X[:4],
                                                                     t[:4])
    assert step.traces == 2


@pytest.mark.parametrize("backend", BACKENDS)
def test_replays_take_their_inputs_as_a_float64_array(backend: str) -> None:
    w, b = Value(0.5), Value(-1.0)
    xs = [Value(v) for v in (0.25, 2.0, -1.5, 3.0)]
    loss = sum(((w * x + b).tanh() * x for x in xs), Value(0.0))
    replay = replayer(trace(loss, [w, b], xs), backend)
    for inputs in ([0.25, 2.0, -1.5, 3.0], [1.0, -0.5, 0.75, 0.125]):
        want = replay([0.5, -1.0], inputs, [0.5, 0.0])
        got = replay([0.5, -1.0], np.array(inputs), [0.5, 0.0])
        assert got == want
        assert all(type(v) is float for v in [*got[0], *got[1]])
    with pytest.raises(ValueError, match="expected"):
        replay([0.5, -1.0], np.zeros(3))
    # the values of the first inputs are eager mode's
    loss.backward()
    assert replay([0.5, -1.0], np.array([0.25, 2.0, -1.5, 3.0]))[0][0] == pytest.approx(
        loss.data, rel=1e-15)
    assert replay([0.5, -1.0], np.array([0.25, 2.0, -1.5, 3.0]))[1] == pytest.approx(
        [w.grad, b.grad], rel=1e-12)


def test_float_arrays_reach_the_replay_as_one_array() -> None:
    X, t = batch(3)
    key, flat = _signature((X, t), frozenset())
    assert key == _signature((X.tolist(), t.tolist()), frozenset())[0]
    assert type(flat) is np.ndarray and flat.dtype == np.float64
    assert flat.tolist() == [*X.ravel().tolist(), *t.tolist()]
    # items of other kinds among the arrays: still one array, in the lists' order
    key, flat = _signature(([X[0], 0.5, X[1]], np.float32(0.25)), frozenset())
    assert key == ((3, None, 3), None)
    assert flat.tolist() == [*X[0].tolist(), 0.5, *X[1].tolist(), 0.25]


@pytest.mark.parametrize("backend", BACKENDS)
def test_zero_dimensional_arrays_and_numpy_scalars_are_floats(backend: str) -> None:
    w = Value(0.75)

    def fn(a: Value, b: Value) -> Value:
        return (w * a).tanh() * b

    step = compile_step(fn, [w], backend=backend)
    want = run(step, [w], 0.5, -2.0)
    agrees_with_eager(backend, want, fn, [w], 0.5, -2.0)
    for a, b in [(np.array(0.5), np.array(-2.0)), (np.float64(0.5), np.float32(-2.0)),
                 (np.array(0.5, dtype=np.float32), -2.0)]:
        out, grads = run(step, [w], a, b)
        assert type(out) is float
        assert (out, grads) == want
    assert step.traces == 1


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [np.int64, np.int8, np.uint8])
def test_int_arrays_are_class_labels(backend: str, dtype: Any) -> None:
    model = MLP(3, [4, 3], activation="tanh", seed=3, fused=True)
    params = model.parameters()
    seen: list[type] = []

    def fn(xs: Any, labels: Any) -> Value:
        seen.extend(type(c) for c in labels)
        return sum((cross_entropy(model(x), c) for x, c in zip(xs, labels)), Value(0.0))

    step = compile_step(fn, params, backend=backend)
    X, _ = batch(4)
    labels = [0, 2, 1, 1, 0]
    traced = run(step, params, X, np.array(labels, dtype=dtype))
    assert seen == [int] * 5                # fn saw Python ints, as from a list
    agrees_with_eager(backend, traced, fn, params, X.tolist(), labels)
    assert run(step, params, X, np.array(labels, dtype=dtype)) == run(step, params,
                                                                       X.tolist(), labels)
    assert step.traces == 1                 # the labels are in the key: one trace
    other = [2, 2, 1, 0, 0]
    traced = run(step, params, X, np.array(other, dtype=dtype))
    assert step.traces == 2                 # other labels: traced again
    agrees_with_eager(backend, traced, fn, params, X.tolist(), other)
    assert run(step, params, X.tolist(), other) == run(step, params, X,
                                                       np.array(other, dtype=dtype))
    assert step.traces == 2


@pytest.mark.parametrize("backend", BACKENDS)
def test_arrays_beside_rows_mixing_ints_and_floats(backend: str) -> None:
    """A row like [0.5, 1] makes every argument go item by item: arrays too."""
    model = MLP(3, [2], activation="tanh", seed=4)
    params = model.parameters()
    fn = lambda xs, extra, k: model(xs[0])[k[0]] * extra[0][0] + extra[0][1]  # noqa: E731
    step = compile_step(fn, params, backend=backend)
    X, _ = batch(6)
    traced = run(step, params, X, [[0.5, 1]], np.array([1]))
    agrees_with_eager(backend, traced, fn, params, X.tolist(), [[0.5, 1]], [1])
    assert run(step, params, X, [[0.5, 1]], np.array([1])) == run(
        step, params, X.tolist(), [[0.5, 1]], [1])
    assert run(step, params, X.astype(np.float32), [[0.5, 1]], np.array([1])) == run(
        step, params, X.astype(np.float32).tolist(), [[0.5, 1]], [1])
    assert step.traces == 1


@pytest.mark.parametrize("bad, kind", [
    (np.array([True, False]), "bool"),
    (np.array([1.0, None], dtype=object), "object"),
    (np.array([1.0 + 0j, 2.0]), "complex128"),
    (np.array(["1.0"]), "<U3"),
    (np.bool_(True), "bool"),
])
def test_other_dtypes_are_refused_naming_where(bad: Any, kind: str) -> None:
    step = compile_step(lambda x, t: x[0] * t[0][0], [], backend="python")
    with pytest.raises(TypeError, match=rf"dtype {kind} at #1\[1\]"):
        step([1.0], [[2.0], bad])
    with pytest.raises(TypeError, match=rf"dtype {kind} at #0$"):
        step(bad, [[2.0]])
    assert step.traces == 0


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_arrays_are_refused_as_lists_are(bad: float) -> None:
    step = compile_step(lambda xs, t: xs[0][0] * t[1], [], backend="python")
    X, t = batch(5)
    X[1, 2] = bad
    with pytest.raises(ValueError) as from_list:
        step(X.tolist(), t.tolist())
    with pytest.raises(ValueError) as from_array:
        step(X, t)
    assert str(from_array.value) == str(from_list.value)
    assert str(from_array.value) == f"compiled step: inputs must be finite, got {bad!r}"
    with pytest.raises(ValueError, match="must be finite"):
        step(X[:1].tolist(), np.array([1.0, bad], dtype=np.float32))
    assert step.traces == 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_changed_branch_is_retraced_with_arrays(backend: str) -> None:
    w = Value(0.5)

    def fn(x: Any) -> Value:
        y = w * x[0] + x[1]
        return y * 2.0 if y > 0 else y * -3.0

    steps = {form: compile_step(fn, [w], backend=backend) for form in ("list", "array")}
    for x in [[2.0, 1.0], [1.0, 0.5], [-4.0, 0.5], [-2.0, 0.25], [3.0, 0.0]]:
        want = run(steps["list"], [w], x)
        agrees_with_eager(backend, want, fn, [w], x)
        assert run(steps["array"], [w], np.array(x)) == want
    assert steps["array"].traces == steps["list"].traces == 3


ERRORS: list[tuple[str, Callable[[Value, Any], Value], list[float], type[Exception]]] = [
    ("log of a negative", lambda w, x: (w * x[0]).log() + x[1], [-2.0, 1.0], ValueError),
    ("exp overflows", lambda w, x: (w * x[0]).exp() * x[1], [1000.0, 1.0], OverflowError),
    ("product overflows", lambda w, x: w * x[0] * x[1], [1e200, 1e200], OverflowError),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name, body, bad, error", ERRORS, ids=[e[0] for e in ERRORS])
def test_a_replay_that_meets_an_error_runs_eagerly_with_arrays(
        backend: str, name: str, body: Callable[[Value, Any], Value], bad: list[float],
        error: type[Exception]) -> None:
    w = Value(1.5)

    def fn(x: Any) -> Value:
        return body(w, x)

    step = compile_step(fn, [w], backend=backend)
    agrees_with_eager(backend, run(step, [w], np.array([2.0, 1.0])), fn, [w], [2.0, 1.0])
    with pytest.raises(error) as from_list:
        step(bad)
    with pytest.raises(error) as from_array:
        step(np.array(bad))
    assert str(from_array.value) == str(from_list.value)
    with pytest.raises(error) as from_eager:
        fn([Value(v) for v in bad])
    assert str(from_array.value) == str(from_eager.value)
    w.grad = 0.0
    agrees_with_eager(backend, run(step, [w], np.array([3.0, 0.5])), fn, [w], [3.0, 0.5])
