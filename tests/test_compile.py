"""Compiled replay (microgrid.compile) against eager mode.

The python backend performs eager mode's float operations in eager mode's order, so its
losses and gradients must be *equal* to eager's. The numpy backend reassociates sums, so it
must agree to 1e-12 of the computation's first-order error scale: for a value,
M(n) = |n| + Σᵢ |∂n/∂xᵢ|·M(xᵢ); for a gradient, the same bound carried backward. When no
cancellation happens this is 1e-12 relative.
"""

from __future__ import annotations

import gc
import itertools
import math
import random
import re
import subprocess
import sys
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from graphs import SMOOTH_BINARY, SMOOTH_UNARY, Instruction, instructions, on_values, run_program
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from microgrid import Value, ops
from microgrid.compile import (
    CompiledStep,
    GraphChanged,
    Tape,
    compile_step,
    gc_paused,
    python_source,
    replayer,
    trace,
)

BACKENDS = ["python", "numpy"]

# Random graphs: every op of the table, kept inside its domain (tests/graphs.py).
UNARY, BINARY = on_values(SMOOTH_UNARY, SMOOTH_BINARY)
program_st = st.lists(instructions([*UNARY, *BINARY]), min_size=1, max_size=14)
point_st = st.lists(st.floats(-2.0, 2.0), min_size=5, max_size=5)


def build(program: Sequence[Instruction], leaves: Sequence[Value]) -> Value:
    """Run a program on the leaves (each instruction reads two earlier nodes); sum it up."""
    made = run_program(program, leaves, UNARY, BINARY)
    out = made[0]
    for n in made[1:]:
        out = out + n * 0.5
    return out


def eager(program: Sequence[tuple[str, int, int]], params: Sequence[float],
          inputs: Sequence[float]) -> tuple[float, list[float]]:
    ps = [Value(p) for p in params]
    loss = build(program, [*ps, *(Value(x) for x in inputs)])
    loss.backward()
    return loss.data, [p.grad for p in ps]


def error_scales(tape: Tape, wrt_values: Sequence[float],
                 input_values: Sequence[float]) -> tuple[float, list[float]]:
    """First-order error scales of the loss and of each gradient (see the module doc)."""
    n = len(tape)
    val = list(tape.data)
    for k, i in enumerate(tape.wrt):
        val[i] = wrt_values[k]
    for k, i in enumerate(tape.inputs):
        val[i] = input_values[k]
    local: list[tuple[float, ...]] = [()] * n
    mag = [0.0] * n
    for i in range(n):
        op, args = tape.ops[i], tape.args[i]
        if op.arity == 0:
            mag[i] = abs(val[i])
            continue
        assert op.forward is not None and op.local is not None
        val[i] = op.forward(*(val[j] for j in args))
        local[i] = op.local(ops.FLOAT_FNS, *(val[j] for j in args), val[i])
        mag[i] = abs(val[i]) + sum(abs(d) * mag[j] for d, j in zip(local[i], args))
    g = [0.0] * n
    gmag = [0.0] * n
    root = tape.outputs[0]
    g[root] = gmag[root] = 1.0
    for i in range(n - 1, -1, -1):
        for d, j in zip(local[i], tape.args[i]):
            g[j] += g[i] * d
            gmag[j] += abs(d) * (gmag[i] + abs(g[i]))
    return mag[root], [gmag[i] if i >= 0 else 0.0 for i in tape.wrt]


def assert_agree(backend: str, got: tuple[Sequence[float], Sequence[float]],
                 want: tuple[float, Sequence[float]],
                 scales: tuple[float, Sequence[float]]) -> None:
    ((loss,), grads), (loss0, grads0), (lscale, gscales) = got, want, scales
    if backend == "python":
        assert loss == loss0
        assert list(grads) == list(grads0)
        return
    assert abs(loss - loss0) <= 1e-12 * max(lscale, abs(loss0)), (loss, loss0, lscale)
    for g, g0, s in zip(grads, grads0, gscales):
        assert abs(g - g0) <= 1e-12 * max(s, abs(g0)) + 1e-300, (g, g0, s)


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program=program_st, first=point_st, second=point_st)
def test_random_graph_replays_equal_eager(backend: str, program: list[tuple[str, int, int]],
                                          first: list[float], second: list[float]) -> None:
    params, inputs = first[:3], first[3:]
    ps = [Value(p) for p in params]
    xs = [Value(x) for x in inputs]
    loss = build(program, [*ps, *xs])
    tape = trace(loss, ps, xs)
    replay = replayer(tape, backend)
    # the traced point, then a new one (relu and leaky_relu branches may flip there)
    for point in (first, second):
        p, x = point[:3], point[3:]
        want = eager(program, p, x)
        assert_agree(backend, replay(p, x), want, error_scales(tape, p, x))


@pytest.mark.parametrize("backend", BACKENDS)
def test_relu_derivative_is_evaluated_on_every_replay(backend: str) -> None:
    w = Value(1.0)
    x = Value(2.0)
    loss = (w * x).relu() * 3.0
    replay = replayer(trace(loss, [w], [x]), backend)
    assert replay([1.0], [2.0]) == ([6.0], [6.0])
    assert replay([1.0], [-2.0]) == ([0.0], [0.0])   # the branch flipped: no gradient
    assert replay([-1.0], [-2.0]) == ([6.0], [-6.0])


# ----------------------------------------------------------------------------------
# Training steps.
# ----------------------------------------------------------------------------------

def mlp(seed: int, sizes: Sequence[int]) -> list[list[tuple[list[Value], Value]]]:
    r = random.Random(seed)
    return [[([Value(r.uniform(-1, 1)) for _ in range(nin)], Value(r.uniform(-0.1, 0.1)))
             for _ in range(nout)] for nin, nout in itertools.pairwise(sizes)]


def forward(layers: list[list[tuple[list[Value], Value]]], x: Sequence[Any]) -> list[Any]:
    for k, layer in enumerate(layers):
        out = []
        for ws, b in layer:
            act = sum((w * xi for w, xi in zip(ws, x)), b)
            out.append(act if k == len(layers) - 1 else act.relu())
        x = out
    return list(x)


def params_of(layers: list[list[tuple[list[Value], Value]]]) -> list[Value]:
    return [p for layer in layers for ws, b in layer for p in (*ws, b)]


def cross_entropy(layers: list[list[tuple[list[Value], Value]]], xs: Sequence[Any],
                  ts: Sequence[Any]) -> Value:
    terms = []
    for x, t in zip(xs, ts):
        z = forward(layers, x)
        lse = sum((zk.exp() for zk in z[1:]), z[0].exp()).log()
        terms.append(lse - sum((tk * zk for tk, zk in zip(t, z)), Value(0.0)))
    return sum(terms[1:], terms[0]) * (1.0 / len(terms))


def data(seed: int, n: int, nin: int, k: int) -> tuple[list[list[float]], list[list[float]]]:
    r = random.Random(seed)
    xs = [[r.uniform(-1, 1) for _ in range(nin)] for _ in range(n)]
    ts = [[1.0 if j == i % k else 0.0 for j in range(k)] for i in range(n)]
    return xs, ts


def train(layers: list[list[tuple[list[Value], Value]]], batches: list[tuple[Any, Any]],
          step: CompiledStep | None, lr: float = 0.3) -> list[float]:
    ps = params_of(layers)
    losses = []
    for xb, tb in batches:
        for p in ps:
            p.grad = 0.0
        if step is None:
            loss = cross_entropy(layers, [[Value(v) for v in x] for x in xb],
                                 [[Value(v) for v in t] for t in tb])
            loss.backward()
            losses.append(loss.data)
        else:
            losses.append(step(xb, tb))
        for p in ps:
            p.data -= lr * p.grad
    return losses


@pytest.mark.parametrize("backend", BACKENDS)
def test_training_run_matches_eager(backend: str) -> None:
    X, T = data(1, 22, 5, 3)
    batches = [(X[i:i + 8], T[i:i + 8]) for i in range(0, 22, 8)] * 3  # sizes 8, 8, 6
    eager_net, compiled_net = mlp(7, [5, 6, 3]), mlp(7, [5, 6, 3])
    want = train(eager_net, batches, None)
    step = compile_step(lambda xs, ts: cross_entropy(compiled_net, xs, ts),
                        params_of(compiled_net), backend=backend)
    got = train(compiled_net, batches, step)
    assert step.traces == 2  # one per batch shape (8 and 6), replayed ever after
    final = [p.data for p in params_of(compiled_net)]
    final0 = [p.data for p in params_of(eager_net)]
    if backend == "python":
        assert got == want
        assert final == final0
    else:
        assert got == pytest.approx(want, rel=1e-12)
        scale = max(abs(v) for v in final0)
        assert max(abs(a - b) for a, b in zip(final, final0)) <= 1e-12 * scale


@pytest.mark.parametrize("backend", BACKENDS)
def test_compiled_step_accumulates_into_grad_like_backward(backend: str) -> None:
    w = Value(0.5)
    step = compile_step(lambda x: (w * x[0] + x[1]) ** 2, [w], backend=backend)
    w.grad = 10.0
    assert step([2.0, 1.0]) == 4.0          # traced: (0.5·2 + 1)² = 4, ∂/∂w = 2·2·2 = 8
    assert w.grad == 18.0
    assert step([1.0, 0.0]) == 0.25         # replayed: (0.5)², ∂/∂w = 2·0.5·1 = 1
    assert w.grad == 19.0
    assert step.traces == 1


def test_outputs_come_back_with_their_nesting() -> None:
    w = Value(2.0)
    step = compile_step(lambda x: (w * x[0], [w + x[1], [x[0] * x[1]]]), [w])
    assert step([3.0, 4.0]) == [6.0, [6.0, [12.0]]]
    assert step([1.0, 5.0]) == [2.0, [7.0, [5.0]]]
    assert step.traces == 1


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_fused_network_replays_like_eager(backend: str) -> None:
    from microgrid.nn import MLP

    X, T = data(4, 10, 3, 2)
    models = [MLP(3, [5, 4, 2], activation="tanh", seed=2, fused=True) for _ in range(2)]

    def loss(model: MLP, xs: Any, ts: Any) -> Value:
        terms = [sum(((o - t) ** 2 for o, t in zip(model(x), tt)), Value(0.0))
                 for x, tt in zip(xs, ts)]
        return sum(terms[1:], terms[0]) * (1.0 / len(terms))

    step = compile_step(lambda xs, ts: loss(models[1], xs, ts), models[1].parameters(),
                        backend=backend)
    for _ in range(3):
        eager_loss = loss(models[0], [[Value(v) for v in x] for x in X], T)
        eager_loss.backward()
        got = step(X, T)
        for m in models:
            for p in m.parameters():
                p.data -= 0.1 * p.grad
                p.grad = 0.0
        if backend == "python":
            assert got == eager_loss.data
        else:
            assert got == pytest.approx(eager_loss.data, rel=1e-12)
    p0 = [p.data for p in models[0].parameters()]
    p1 = [p.data for p in models[1].parameters()]
    if backend == "python":
        assert p0 == p1
    else:
        assert max(abs(a - b) for a, b in zip(p0, p1)) <= 1e-12 * max(map(abs, p0))
    if backend == "numpy":
        from microgrid.compile.numpy_backend import _Contraction

        replay = next(iter(step._cache.values())).replay
        parts = [p for g in replay.groups if g.is_sum for p in g.operands]  # type: ignore
        assert sum(isinstance(p, _Contraction) for p in parts) == 3   # one matmul a layer


def test_numpy_backend_fuses_a_layer_into_a_matmul() -> None:
    from microgrid.compile.numpy_backend import NumpyReplay, _Contraction

    layers = mlp(3, [4, 5, 2])
    xs, ts = data(2, 6, 4, 2)
    loss = cross_entropy(layers, [[Value(v) for v in x] for x in xs],
                         [[Value(v) for v in t] for t in ts])
    replay = NumpyReplay(trace(loss, params_of(layers)))
    parts = [p for g in replay.groups if g.is_sum for p in g.operands]
    # one per layer, and Σₖ tₖ·zₖ of the loss
    assert sum(isinstance(p, _Contraction) for p in parts) == 3


# ----------------------------------------------------------------------------------
# Graphs that depend on the data: guards.
# ----------------------------------------------------------------------------------

def branchy(w: Value) -> Callable[[list[Value]], Value]:
    def fn(x: list[Value]) -> Value:
        y = w * x[0]
        return y * 2.0 if y > 0 else y * -3.0   # a Python branch on a Value comparison
    return fn


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_changed_branch_is_refused_with_a_clear_error(backend: str) -> None:
    w = Value(1.0)
    step = compile_step(branchy(w), [w], backend=backend, on_change="error")
    assert step([2.0]) == 4.0
    assert step([3.0]) == 6.0
    with pytest.raises(GraphChanged, match=r"compared .* > 0 and got True"):
        step([-1.0])


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_changed_branch_is_retraced(backend: str) -> None:
    w = Value(1.0)
    step = compile_step(branchy(w), [w], backend=backend, max_retraces=3)
    assert step([2.0]) == 4.0
    w.grad = 0.0
    assert step([-1.0]) == 3.0          # re-traced: now y * -3
    assert w.grad == 3.0                # ∂(−3·w·x)/∂w = −3·x = 3
    assert step([-2.0]) == 6.0          # replayed with the new branch
    assert step.traces == 2
    step([1.0])
    step([-1.0])
    with pytest.raises(GraphChanged, match="re-traced 3 times"):
        step([1.0])


def test_graph_changed_suggests_settings_that_exist() -> None:
    w = Value(1.0)
    step = compile_step(branchy(w), [w], max_retraces=1)
    step([1.0])
    step([-1.0])
    with pytest.raises(GraphChanged, match=r"max_retraces=1\).*max_retraces=2, or None"):
        step([1.0])
    forever = compile_step(branchy(w), [w], max_retraces=None)
    for k in range(12):
        assert forever([(-1.0) ** k]) == (2.0 if k % 2 == 0 else 3.0)
    assert forever.traces == 12
    strict = compile_step(branchy(w), [w], on_change="error")
    strict([1.0])
    with pytest.raises(GraphChanged, match="on_change='retrace'"):
        strict([-1.0])
    with pytest.raises(ValueError, match="max_retraces"):
        compile_step(branchy(w), [w], max_retraces=-1)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_replaced_weight_or_a_changed_activation_traces_again(backend: str) -> None:
    weights = [Value(0.5), Value(-0.25)]
    config = {"activation": "tanh"}

    def loss(x: list[Value]) -> Value:
        z = weights[0] * x[0] + weights[1] * x[1]
        return getattr(z, config["activation"])() ** 2

    step = compile_step(loss, lambda: list(weights), backend=backend,
                        key=lambda: config["activation"])

    def check(x: list[float]) -> None:
        for p in weights:
            p.grad = 0.0
        got = step(x)
        grads = [p.grad for p in weights]
        for p in weights:
            p.grad = 0.0
        want = loss([Value(v) for v in x])
        want.backward()
        assert got == pytest.approx(want.data, rel=1e-12)
        assert grads == pytest.approx([p.grad for p in weights], rel=1e-12)

    check([0.5, -1.0])
    check([0.25, 2.0])
    assert step.traces == 1
    weights[0] = Value(3.0)            # a new parameter object: traced again
    check([0.5, -1.0])
    assert step.traces == 2
    config["activation"] = "sigmoid"   # what the parameter list cannot show: the key
    check([0.5, -1.0])
    assert step.traces == 3
    check([0.75, 1.0])
    assert step.traces == 3


def test_max_of_values_is_guarded() -> None:
    a, b = Value(1.0), Value(2.0)
    step = compile_step(lambda x: max(a * x[0], b * x[1]) * 1.0, [a, b], on_change="error")
    assert step([1.0, 1.0]) == 2.0
    assert step([1.0, 3.0]) == 6.0
    with pytest.raises(GraphChanged):
        step([5.0, 1.0])


def test_comparisons_outside_tracing_are_not_recorded() -> None:
    from microgrid.engine import observing_comparisons

    w = Value(1.0)
    step = compile_step(branchy(w), [w], on_change="error")
    seen: list[str] = []
    with observing_comparisons(lambda v, cmp, other, result: seen.append(cmp)):
        assert step([2.0]) == 4.0          # traced: its comparison goes to the step only
        assert (Value(1.0) < 2) and (Value(3.0) >= Value(3.0))
    assert seen == ["<", ">="]
    assert (Value(1.0) < 2) and seen == ["<", ">="]   # after the block: nobody listens
    with pytest.raises(GraphChanged):
        step([-2.0])                       # the traced comparison was recorded


@pytest.mark.parametrize("backend", BACKENDS)
def test_bool_of_a_value_is_a_guard(backend: str) -> None:
    w = Value(1.0)
    step = compile_step(lambda x: w * x[0] if w * x[0] else w * 2.0, [w], backend=backend,
                        on_change="error")
    assert step([3.0]) == 3.0
    assert step([-1.0]) == -1.0
    with pytest.raises(GraphChanged, match="!= 0"):
        step([0.0])


def test_tracing_in_two_threads_at_once_keeps_their_guards_apart() -> None:
    import threading

    barrier = threading.Barrier(2)
    results: dict[int, Any] = {}

    def worker(k: int) -> None:
        w = Value(1.0)

        def fn(x: list[Value]) -> Value:
            y = w * x[0]
            barrier.wait()                 # both traces are inside fn at the same moment
            flag = y > 0                   # one comparison per thread
            barrier.wait()
            return y * 2.0 if flag else y * -3.0

        step = compile_step(fn, [w], on_change="error")
        first = step([float(k + 1)])
        results[k] = (first, step([5.0]), len(step._cache))
        try:
            step([-1.0])
            results[k] += ("no error",)
        except GraphChanged as e:
            results[k] += (str(e).count("compared"),)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {0: (2.0, 10.0, 1, 1), 1: (4.0, 10.0, 1, 1)}


# ----------------------------------------------------------------------------------
# Bad input.
# ----------------------------------------------------------------------------------

@pytest.mark.parametrize("bad, error, message", [
    ("1.0", TypeError, "must be a number"),
    ([1.0, "2"], TypeError, "must be real numbers"),
    ([1.0, True], TypeError, "must be real numbers"),
    ([1.0, None], TypeError, "must be real numbers"),
    ([1.0, math.nan], ValueError, "must be finite"),
    ([1.0, -math.inf], ValueError, "must be finite"),
])
def test_bad_arguments_fail_loudly(bad: Any, error: type[Exception], message: str) -> None:
    w = Value(1.0)
    step = compile_step(lambda x: w * sum(x, Value(0.0)), [w])
    step([1.0, 2.0])
    with pytest.raises(error, match=message):
        step(bad)


def test_bad_construction_fails_loudly() -> None:
    w = Value(1.0)
    with pytest.raises(TypeError, match="must be callable"):
        compile_step(3, [w])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="list of Values"):
        compile_step(lambda x: x, w)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"params\[1\] must be a Value"):
        compile_step(lambda x: x, [w, 2.0])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="leaf"):
        compile_step(lambda x: x, [w * 2])
    with pytest.raises(ValueError, match="unknown backend"):
        compile_step(lambda x: x, [w], backend="cuda")
    with pytest.raises(ValueError, match="on_change"):
        compile_step(lambda x: x, [w], on_change="ignore")


def test_a_function_not_returning_a_value_is_refused() -> None:
    w = Value(1.0)
    with pytest.raises(TypeError, match="must return a Value"):
        compile_step(lambda x: 3.0, [w])([1.0])


def test_a_value_used_as_an_index_names_static() -> None:
    w = Value(1.0)
    step = compile_step(lambda x, k: [w * 1.0, w * x[0]][k], [w])
    with pytest.raises(TypeError, match="static="):
        step([1.0], 1.0)          # a float becomes a Value, which cannot index
    ok = compile_step(lambda x, k: [w * 1.0, w * x[0]][k], [w], static=[1])
    assert ok([3.0], 1) == 3.0
    assert ok([3.0], 0) == 1.0
    assert ok.traces == 2


@pytest.mark.parametrize("backend", BACKENDS)
def test_int_arguments_stay_ints_so_a_loss_can_branch_on_a_label(backend: str) -> None:
    w = Value(0.5)

    def loss(x: list[Value], c: int) -> Value:
        assert type(c) is int
        y = w * x[0]
        return (y - 1.0) ** 2 if c == 1 else y ** 2   # eager and compiled: the same branch

    step = compile_step(loss, [w], backend=backend)
    for x, c in [(2.0, 1), (2.0, 0), (3.0, 1), (3.0, 0), (4.0, 1)]:
        w.grad = 0.0
        got = step([x], c)
        v = Value(0.5)
        want = (v * x - 1.0) ** 2 if c == 1 else (v * x) ** 2
        want.backward()
        assert (got, w.grad) == (want.data, v.grad)
    assert step.traces == 2        # one per label value: ints are part of the cache key
    labels = compile_step(lambda x, cs: sum((w * xi * c for xi, c in zip(x, cs)), w * 0.0),
                          [w], backend=backend)
    assert labels([1.0, 2.0], [3, 4]) == 0.5 * 1.0 * 3 + 0.5 * 2.0 * 4
    assert labels([1.0, 2.0], [1, 0]) == 0.5
    assert labels.traces == 2


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_overflow_during_replay_names_the_op(backend: str) -> None:
    w = Value(1.0)
    step = compile_step(lambda x: (w * x[0]).exp(), [w], backend=backend)
    step([1.0])
    with pytest.raises(OverflowError, match="exp"):
        step([1000.0])


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_out_of_domain_value_hidden_by_relu_raises_like_eager(backend: str) -> None:
    q = Value(2.0)
    step = compile_step(lambda x: q * (x[0] - 1.0).log().relu(), [q], backend=backend)
    assert step([3.0]) == 2.0 * math.log(2.0)
    with pytest.raises(ValueError, match="log"):
        q * (Value(0.5) - 1.0).log().relu()      # eager
    with pytest.raises(ValueError, match="log"):
        step([0.5])                               # compiled: the same error
    big = compile_step(lambda x: q * (x[0] * 1e300 * x[0]).tanh(), [q], backend=backend)
    big([1.0])
    with pytest.raises(OverflowError):
        big([1e10])                               # tanh would hide the overflow
    tiny = compile_step(lambda x: q * (x[0] * 1e-200).log().relu(), [q], backend=backend)
    assert tiny([2e200]) == 2.0 * math.log(2.0)
    q.grad = 0.0
    assert tiny([1e-120]) == 0.0    # log(1e-320) < 0: relu gives 0, and its zero upstream
    assert q.grad == 0.0            # gradient never meets log's huge local derivative


def test_trace_refuses_interior_and_doubled_leaves() -> None:
    a = Value(1.0)
    b = a * 2
    with pytest.raises(ValueError, match="must be a leaf"):
        trace(b, [b])
    with pytest.raises(ValueError, match="both"):
        trace(b, [a], [a])
    with pytest.raises(TypeError, match="outputs"):
        trace([], [a])


def test_unused_parameters_get_zero_gradient() -> None:
    a, unused = Value(3.0), Value(4.0)
    for backend in BACKENDS:
        assert replayer(trace(a * a, [a, unused]), backend)([2.0, 9.0], []) == (
            [4.0], [4.0, 0.0])


# ----------------------------------------------------------------------------------
# The rules come from the op table.
# ----------------------------------------------------------------------------------

def test_backends_read_the_op_tables_declarations() -> None:
    x, w = Value(2.0), Value(3.0)
    source = python_source(trace((w * x).relu() + (w / x).exp() + 2.0 ** w, [w], [x]))
    assert "v0 * v1" in source or "v1 * v0" in source      # kind="product": inline
    assert " + " in source                                  # kind="sum": inline
    assert "for " not in source and "while " not in source  # straight-line code
    # relu's rule is called when its upstream gradient is not zero
    assert any(line.strip().startswith("if g") for line in source.splitlines())
    # the constant base 2.0 of 2.0 ** w gets no gradient line
    assert "g_" not in source


def test_numpy_forward_of_every_op_matches_the_op_tables_forward() -> None:
    np = pytest.importorskip("numpy")
    from microgrid.compile.numpy_fns import forward

    r = random.Random(7)
    for op in ops.OPS.values():
        if op.arity <= 0:
            continue   # leaves; wsum (variadic) runs as a matmul, tested with fused networks
        signs = [1] if op.name in ("log", "pow", "powc", "sqrt") else [1, -1]
        cols = [[r.uniform(0.1, 3.0) * r.choice(signs if k == 0 else [1]) for _ in range(50)]
                for k in range(op.arity)]
        assert op.forward is not None
        want = [op.forward(*xs) for xs in zip(*cols)]
        got = forward(op, op.arity)(*[np.array(c) for c in cols])
        assert list(got) == pytest.approx(want, rel=1e-14), op.name


def test_numpy_namespace_has_every_rule_function_of_the_float_one() -> None:
    np = pytest.importorskip("numpy")
    from microgrid.namespaces.arrays import NUMPY_FNS

    names = [n for n in dir(ops.FLOAT_FNS) if not n.startswith("_") and n != "graph"]
    r = random.Random(5)
    for name in names:
        fn = getattr(ops.FLOAT_FNS, name)
        twin = getattr(NUMPY_FNS, name)
        for _ in range(30):
            a, b = r.uniform(0.01, 3.0), r.choice([0.0, 1.0, 2.0, 0.5, r.uniform(-2, 2)])
            args = {"where": (a > 1.0, a, b), "log": (a,), "sigmoid": (b * 20,),
                    "dtanh": (b * 3, math.tanh(b * 3)), "dsigmoid": (b, ops.stable_sigmoid(b)),
                    "dpowc": (a, b), "dpow_base": (a, b), "dpow_exponent": (a, b, a ** b),
                    "recip": (a,), "dquotient": (b, a, b / a), "sin": (b * 3,),
                    "cos": (b * 3,), "dsqrt": (a,)}[name]
            want = fn(*args)
            got = float(twin(*[np.float64(v) if isinstance(v, float) else v for v in args]))
            assert got == pytest.approx(want, rel=1e-14, abs=1e-300), name


# ----------------------------------------------------------------------------------
# The garbage-collector policy and imports.
# ----------------------------------------------------------------------------------

def test_gc_paused_restores_the_collector() -> None:
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), gc_paused():
        raise RuntimeError
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()   # a collector the user disabled stays disabled
    finally:
        gc.enable()


def test_importing_microgrid_and_its_compiler_does_not_import_numpy() -> None:
    code = "import sys, microgrid, microgrid.compile; print('numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


# ----------------------------------------------------------------------------------
# The training loop's switch: fit(..., compiled=True).
# ----------------------------------------------------------------------------------

FIT_CASES = [
    # (loss, sizes, output activation, data)
    ("mse", [3, 1], "linear", "moons"),
    ("sse", [3, 1], "sigmoid", "moons"),
    ("hinge", [3, 1], "linear", "moons"),
    ("bce", [3, 1], "linear", "moons"),
    ("bce", [3, 1], "sigmoid", "moons"),
    ("mse", [3, 3], "linear", "blobs"),
    ("cross_entropy", [4, 3], "linear", "blobs"),
    ("mse", [3, 2], "linear", "regression"),
    ("callable", [3, 1], "linear", "regression"),
]


def fit_data(kind: str) -> tuple[list[list[float]], list[Any]]:
    from microgrid.data import make_blobs, make_moons

    if kind == "moons":
        X, y = make_moons(24, seed=1)
        return X, list(y)
    if kind == "blobs":
        X, y = make_blobs(30, centers=3, seed=2)
        return X, list(y)
    r = random.Random(3)
    X = [[r.uniform(-1, 1), r.uniform(-1, 1)] for _ in range(20)]
    return X, [[x0 * x1, x0 - x1] for x0, x1 in X]


@pytest.mark.parametrize("backend", [True, "numpy"])
@pytest.mark.parametrize("loss, sizes, out_act, kind", FIT_CASES)
def test_fit_compiled_matches_eager(loss: str, sizes: list[int], out_act: str, kind: str,
                                    backend: bool | str) -> None:
    from microgrid.losses import mse
    from microgrid.nn import MLP
    from microgrid.train import fit

    X, y = fit_data(kind)
    if kind == "regression" and sizes[-1] == 1:
        y = [t[0] for t in y]
    loss_arg: Any = (lambda out, t: mse(out, [t]) * 2.0) if loss == "callable" else loss
    runs = []
    for compiled in (False, backend):
        model = MLP(2, sizes, activation="tanh", output_activation=out_act, seed=5)
        history = fit(model, X, y, loss=loss_arg, lr=0.2, epochs=3, batch_size=7,
                      progress=False, compiled=compiled)
        runs.append((history, [p.data for p in model.parameters()]))
    (h0, p0), (h1, p1) = runs
    assert h1.loss == pytest.approx(h0.loss, rel=1e-12)
    assert h1.accuracy == h0.accuracy
    assert h1.steps == h0.steps
    scale = max(abs(v) for v in p0)
    assert max(abs(a - b) for a, b in zip(p0, p1)) <= 1e-12 * scale


def test_fit_compiled_refuses_newton_and_unknown_modes() -> None:
    from microgrid.nn import MLP
    from microgrid.optim import Newton
    from microgrid.train import fit

    X, y = [[0.0, 1.0], [1.0, 0.0]], [0.5, -0.5]
    model = MLP(2, [1])
    with pytest.raises(ValueError, match="Newton"):
        fit(model, X, y, optimizer=Newton(model.parameters()), compiled=True, progress=False)
    with pytest.raises(ValueError, match="compiled must be"):
        fit(model, X, y, compiled="cuda", progress=False)


# ----------------------------------------------------------------------------------
# Nodes with a gradient rule of their own (micrograd's hand-made nodes) are refused.

def _lecture_tanh(x: Any) -> Any:
    """tanh as the lecture builds it: a node made by hand with its own _backward."""
    from microgrid.micrograd.engine import Value as MgValue

    t = (math.exp(2 * x.data) - 1) / (math.exp(2 * x.data) + 1)
    out = MgValue(t, (x,), "tanh")

    def _backward() -> None:
        x.grad += (1 - t ** 2) * out.grad

    out._backward = _backward
    return out


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("label", ["o", ""])
def test_a_node_with_its_own_backward_is_refused_naming_it(backend: str, label: str) -> None:
    from microgrid.micrograd.engine import Value as MgValue

    w = MgValue(0.5, label="w")

    def fn(x: Any) -> Any:
        out = _lecture_tanh(w * x)
        out.label = label
        return out * 2.0

    step = compile_step(fn, [w], backend=backend)
    data = re.escape(repr((math.exp(1.0) - 1) / (math.exp(1.0) + 1)))
    named = "the node 'o' " if label else "the node "
    with pytest.raises(TypeError, match=rf"^compile: {named}\(op 'tanh', data={data}\) has "
                                        r"its own _backward\(\), which a compiled step "
                                        r"cannot replay"):
        step(1.0)
    assert w.grad == 0.0 and w.data == 0.5
    with pytest.raises(TypeError, match=r"op 'tanh'.* has its own _backward"):
        trace(fn(MgValue(1.0)), [w])


def test_an_op_node_given_a_backward_of_its_own_is_refused() -> None:
    from microgrid.micrograd.engine import Value as MgValue

    class Node(MgValue):  # no __slots__: its nodes take any attribute, _backward too
        pass

    a, b = Node(2.0, label="a"), Node(3.0, label="b")
    out = a * b
    out._backward = lambda: None
    with pytest.raises(TypeError, match=r"^compile: the node \(op '\*', data=6\.0\) has its "
                                        r"own _backward"):
        trace(out, [a, b])
    plain = MgValue(2.0) * MgValue(3.0)  # the table's own rule: traced as usual
    assert len(trace(plain).ops) == 3


def test_fit_compiled_refuses_a_hand_made_node_and_leaves_the_model_unchanged() -> None:
    from microgrid.micrograd.engine import Value as MgValue
    from microgrid.train import fit

    class Lecture:
        def __init__(self) -> None:
            self.w, self.b = MgValue(0.3, label="w"), MgValue(-0.1, label="b")

        def __call__(self, x: Any) -> Any:
            return _lecture_tanh(self.w * x[0] + self.b)

        def parameters(self) -> list[Any]:
            return [self.w, self.b]

    X, y = [[0.5], [-1.0], [2.0]], [0.2, -0.4, 0.9]
    model = Lecture()
    for backend in (True, "numpy"):
        with pytest.raises(TypeError, match=r"op 'tanh'.* has its own _backward"):
            fit(model, X, y, epochs=3, progress=False, compiled=backend)
        assert (model.w.data, model.b.data) == (0.3, -0.1)
    eager = fit(model, X, y, epochs=3, progress=False)  # eager training runs its _backward
    assert eager.loss[-1] < eager.loss[0]
