"""fit(): learning two moons and XOR, the loss conventions, history, reproducibility,
the progress bar, symmetry breaking, and bad input."""

from __future__ import annotations

import gc
import math
from typing import Any

import numpy as np
import pytest

from microgrid import Value
from microgrid.compile import GraphChanged
from microgrid.data import make_blobs, make_moons, make_xor
from microgrid.losses import mse
from microgrid.nn import MLP, Module
from microgrid.optim import SGD, Adam, Newton
from microgrid.train import History, accuracy, fit, predict


@pytest.mark.slow
def test_mlp_learns_two_moons() -> None:
    X, y = make_moons(100, noise=0.1, seed=0)
    model = MLP(2, [8, 8, 1], activation="tanh", init="xavier", seed=0, fused=True)
    history = fit(model, X, y, loss="bce", optimizer=Adam(model.parameters(), lr=0.1),
                  epochs=50, progress=False)
    assert accuracy(model, X, y) >= 0.97
    assert history.loss[-1] < 0.1 < history.loss[0]


def test_mlp_learns_xor() -> None:
    X, y = make_xor()
    model = MLP(2, [4, 1], activation="tanh", init="xavier", seed=0)
    fit(model, X, y, loss="bce", optimizer=Adam(model.parameters(), lr=0.1), epochs=100,
        progress=False)
    assert predict(model, X) == [0, 1, 1, 0]
    assert accuracy(model, X, y) == 1.0


@pytest.mark.parametrize(("loss", "sizes", "output"), [
    ("mse", [6, 1], "tanh"), ("mse", [6, 1], "sigmoid"), ("sse", [6, 2], "linear"),
    ("hinge", [6, 1], "linear"), ("bce", [6, 1], "linear"), ("bce", [6, 1], "sigmoid"),
    ("cross_entropy", [6, 2], "linear")])
def test_every_loss_name_trains(loss: str, sizes: list[int], output: str) -> None:
    X, y = make_moons(40, noise=0.05, seed=1)
    model = MLP(2, sizes, output_activation=output, init="xavier", seed=2, fused=True)
    history = fit(model, X, y, loss=loss, optimizer=Adam(model.parameters(), lr=0.05),
                  epochs=40, progress=False)
    assert history.loss[-1] < 0.7 * history.loss[0]
    assert history.accuracy[-1] >= 0.8


def test_cross_entropy_with_three_classes() -> None:
    X, y = make_blobs(60, centers=3, noise=0.3, seed=0)
    model = MLP(2, [3], output_activation="linear", seed=0)
    fit(model, X, y, loss="cross_entropy", optimizer=Adam(model.parameters(), lr=0.1),
        epochs=30, progress=False)
    assert accuracy(model, X, y) >= 0.95


def test_a_callable_loss_gets_the_output_and_the_raw_target() -> None:
    seen: list[Any] = []

    def loss(output: Value, target: Any) -> Value:
        seen.append(target)
        assert isinstance(output, Value)  # one output: a bare Value
        return (output - (1.0 if target else -1.0)) ** 2

    X, y = make_xor()
    model = MLP(2, [4, 1], init="xavier", seed=0)
    history = fit(model, X, y, loss=loss, optimizer=Adam(model.parameters(), 0.1),
                  epochs=60, shuffle=False, progress=False)
    assert seen[:4] == [0, 1, 1, 0]
    assert history.accuracy[-1] == 1.0


def test_the_loss_is_the_mean_over_the_batch() -> None:
    X, y = [[0.0], [1.0], [2.0]], [[1.0], [3.0], [0.0]]
    model = MLP.from_weights([[[2.0]]], [[0.5]], output_activation="linear")
    history = fit(model, X, y, loss="mse", optimizer=SGD(model.parameters(), 1e-9), epochs=1,
                  progress=False)
    preds = [0.5, 2.5, 4.5]
    assert history.loss[0] == pytest.approx(
        sum((p - t[0]) ** 2 for p, t in zip(preds, y)) / 3)
    assert history.accuracy == []  # regression targets


def test_full_batch_sgd_is_gradient_descent_on_the_mean_loss() -> None:
    X, y = [[0.0], [1.0], [2.0]], [1, 0, 1]
    model = MLP.from_weights([[[0.3]]], [[-0.1]], output_activation="linear")
    w, b = model.parameters()
    fit(model, X, y, loss="mse", optimizer=SGD([w, b], 0.1), epochs=1, progress=False)
    # targets ±1 for a linear output; J = (1/3) Σ (w·x + b − t)²
    t = [1.0, -1.0, 1.0]
    dw = sum(2 * (0.3 * x[0] - 0.1 - ti) * x[0] for x, ti in zip(X, t)) / 3
    db = sum(2 * (0.3 * x[0] - 0.1 - ti) for x, ti in zip(X, t)) / 3
    assert (w.data, b.data) == pytest.approx((0.3 - 0.1 * dw, -0.1 - 0.1 * db))


def test_history_steps_and_batches() -> None:
    X, y = make_moons(10, seed=0)
    model = MLP(2, [3, 1], seed=0)
    h = fit(model, X, y, epochs=3, batch_size=4, progress=False)
    assert isinstance(h, History)
    assert len(h.loss) == len(h.accuracy) == 3 and h.steps == 9
    assert all(0.0 <= a <= 1.0 for a in h.accuracy)
    assert fit(model, X, y, epochs=2, progress=False).steps == 2  # full batch
    assert "epochs=3" in repr(h) and "loss" in repr(h)


def test_training_is_reproducible_and_the_seed_shuffles() -> None:
    X, y = make_moons(20, seed=0)

    def run(seed: int, shuffle: bool = True) -> list[float]:
        model = MLP(2, [4, 1], seed=0)
        fit(model, X, y, epochs=3, batch_size=5, seed=seed, shuffle=shuffle, progress=False)
        return [p.data for p in model.parameters()]

    assert run(1) == run(1)
    assert run(1) != run(2)
    assert run(1, shuffle=False) == run(2, shuffle=False)


def test_default_optimizer_is_sgd_with_lr() -> None:
    X, y = make_xor()
    a, b = MLP(2, [3, 1], seed=0), MLP(2, [3, 1], seed=0)
    fit(a, X, y, lr=0.05, epochs=2, progress=False)
    fit(b, X, y, optimizer=SGD(b.parameters(), 0.05), epochs=2, progress=False)
    assert [p.data for p in a.parameters()] == [p.data for p in b.parameters()]


def test_newton_inside_fit() -> None:
    X = [[x / 4] for x in range(-4, 5)]
    y = [[0.7 * x[0] - 0.2] for x in X]
    model = MLP(1, [1], output_activation="linear", seed=0)
    history = fit(model, X, y, loss="mse", optimizer=Newton(model.parameters()), epochs=1,
                  progress=False)
    assert [p.data for p in model.parameters()] == pytest.approx([0.7, -0.2])
    assert history.steps == 1


def test_progress_bar_can_be_turned_off(capsys: pytest.CaptureFixture[str]) -> None:
    X, y = make_xor()
    fit(MLP(2, [2, 1], seed=0), X, y, epochs=3, progress=True)
    assert "fit" in capsys.readouterr().err
    fit(MLP(2, [2, 1], seed=0), X, y, epochs=3, progress=False)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


def test_predict_conventions() -> None:
    one = MLP.from_weights([[[1.0]]], output_activation="linear")
    assert predict(one, [[-0.5], [0.5]]) == [0, 1]  # threshold 0
    sig = MLP.from_weights([[[1.0]]], [[-1.0]], output_activation="sigmoid")
    assert predict(sig, [[0.5], [1.5]]) == [0, 1]  # threshold 0.5 on σ
    two = MLP.from_weights([[[1.0], [-1.0]]], output_activation="linear")
    assert predict(two, [[2.0], [-2.0]]) == [0, 1]  # argmax
    assert accuracy(two, [[2.0], [-2.0]], [0, 0]) == 0.5


# -- the lecture notes' symmetry argument ------------------------------------------------------


def hidden_weights(model: MLP) -> list[list[float]]:
    return [[w.data for w in n.w] + [n.b.data] for n in model.layers[0].neurons]


def test_symmetric_initialization_keeps_hidden_units_identical() -> None:
    X, y = make_moons(30, noise=0.1, seed=0)
    model = MLP.from_weights([[[0.5, 0.5]] * 3, [[0.5, 0.5, 0.5]]], activation="tanh",
                             output_activation="linear")
    fit(model, X, y, loss="mse", optimizer=SGD(model.parameters(), 0.1), epochs=20,
        batch_size=8, progress=False)
    rows = hidden_weights(model)
    assert rows[0] != [0.5, 0.5, 0.0]      # the weights did change ...
    assert rows[0] == rows[1] == rows[2]   # ... but all hidden units stay identical
    out = [w.data for w in model.layers[1].neurons[0].w]
    assert out[0] == out[1] == out[2]


def test_random_initialization_breaks_the_symmetry() -> None:
    X, y = make_moons(30, noise=0.1, seed=0)
    model = MLP(2, [3, 1], activation="tanh", seed=0)
    fit(model, X, y, loss="mse", optimizer=SGD(model.parameters(), 0.1), epochs=20,
        batch_size=8, progress=False)
    rows = hidden_weights(model)
    assert rows[0] != rows[1] and rows[1] != rows[2] and rows[0] != rows[2]


# -- bad input -------------------------------------------------------------------------


def test_bad_input_is_named() -> None:
    X, y = make_xor()
    model = MLP(2, [2, 1], seed=0)
    with pytest.raises(ValueError, match="4 inputs but 3 targets"):
        fit(model, X, y[:3], progress=False)
    with pytest.raises(ValueError, match="no training data"):
        fit(model, [], [], progress=False)
    with pytest.raises(ValueError, match="unknown loss 'mae'"):
        fit(model, X, y, loss="mae", progress=False)
    with pytest.raises(ValueError, match="epochs must be at least 1"):
        fit(model, X, y, epochs=0, progress=False)
    with pytest.raises(TypeError, match="batch_size must be an int"):
        fit(model, X, y, batch_size=2.5, progress=False)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"class labels must be ints 0\.\.k-1"):
        fit(model, X, [-1, 1, 1, -1], loss="hinge", progress=False)
    with pytest.raises(ValueError, match="loss 'cross_entropy' needs one output per class"):
        fit(model, X, y, loss="cross_entropy", progress=False)
    with pytest.raises(ValueError, match="loss 'hinge' needs one output"):
        fit(MLP(2, [2, 2], seed=0), X, y, loss="hinge", progress=False)
    with pytest.raises(ValueError, match="loss 'bce' needs class labels"):
        fit(model, X, [0.0, 1.0, 1.0, 0.0], loss="bce", progress=False)
    with pytest.raises(ValueError, match="MLP expects 2 inputs, got 3"):
        fit(model, [[1.0, 2.0, 3.0]], [1], progress=False)
    with pytest.raises(ValueError, match="lr must be in"):
        fit(model, X, y, lr=0.0, progress=False)


def test_model_must_return_a_value_or_a_list_of_values() -> None:
    class Bare:
        def __call__(self, x: Any) -> float:
            return 1.0

        def parameters(self) -> list[Value]:
            return [Value(1.0)]

    with pytest.raises(TypeError, match="must return a Value or a non-empty list of Values"):
        fit(Bare(), [[1.0]], [1], progress=False)


def test_a_callable_loss_must_return_a_value() -> None:
    X, y = make_xor()
    with pytest.raises(TypeError, match="the loss must return a Value, got float"):
        fit(MLP(2, [2, 1]), X, y, loss=lambda out, t: 0.5, progress=False)  # type: ignore


def test_compiled_replay_trains_like_eager() -> None:
    X, y = make_xor()
    eager = fit(MLP(2, [4, 1], seed=3), X, y, epochs=5, progress=False)
    fast = fit(MLP(2, [4, 1], seed=3), X, y, epochs=5, progress=False, compiled=True)
    assert fast.loss == pytest.approx(eager.loss, rel=1e-12)
    assert fast.accuracy == eager.accuracy


def test_accuracy_checks_its_input() -> None:
    model = MLP(2, [1])
    with pytest.raises(ValueError, match="2 inputs but 1 labels"):
        accuracy(model, [[0.0, 0.0], [1.0, 1.0]], [0])
    with pytest.raises(ValueError, match="no data"):
        accuracy(model, [], [])


def test_losses_used_by_fit_are_finite_on_moons() -> None:
    X, y = make_moons(20, seed=0)
    model = MLP(2, [4, 1], seed=0)
    h = fit(model, X, y, loss=lambda out, t: mse(out, [float(t)]), epochs=2, progress=False)
    assert all(math.isfinite(v) for v in h.loss)


def test_fit_pauses_the_collector_only_during_steps_and_restores_it() -> None:
    X, y = make_xor()
    assert gc.isenabled()
    fit(MLP(2, [4, 1], seed=0), X, y, epochs=2, progress=False)
    assert gc.isenabled()
    gc.disable()
    try:
        fit(MLP(2, [4, 1], seed=0), X, y, epochs=2, progress=False)
        assert not gc.isenabled()
    finally:
        gc.enable()


# -- one step for eager and compiled; compiled steps kept per model ----------------------------


def _train(compiled: bool | str, loss: Any, sizes: list[int], out: str = "linear",
           data: Any = None, **kw: Any) -> tuple[list[float], list[float], dict[str, float]]:
    X, y = data if data is not None else make_moons(30, noise=0.1, seed=1)
    model = MLP(2, sizes, output_activation=out, seed=2)
    h = fit(model, X, y, loss=loss, lr=0.2, epochs=3, batch_size=7, progress=False,
            compiled=compiled, **kw)
    return h.loss, h.accuracy, model.state_dict()


@pytest.mark.parametrize(("loss", "sizes", "out"), [
    ("bce", [4, 1], "sigmoid"), ("bce", [4, 1], "linear"), ("mse", [4, 2], "linear"),
    ("hinge", [4, 1], "linear"), ("sse", [4, 1], "tanh"), ("cross_entropy", [4, 2], "linear")])
def test_compiled_python_training_is_bit_identical_to_eager(loss: str, sizes: list[int],
                                                            out: str) -> None:
    assert _train(True, loss, sizes, out) == _train(False, loss, sizes, out)


def test_cross_entropy_compiled_is_bit_identical_when_the_top_logit_changes() -> None:
    data = make_blobs(30, centers=3, noise=0.8, seed=0)  # the argmax differs between batches
    assert _train(True, "cross_entropy", [5, 3], data=data) == _train(
        False, "cross_entropy", [5, 3], data=data)


def test_a_loss_that_branches_on_the_label_trains_the_same_model_compiled() -> None:
    seen: set[type] = set()

    def loss(out: Value, c: Any) -> Value:
        seen.add(type(c))
        if c == 1:
            return (out - 1.0) ** 2
        if not c:
            return (out + 1.0) ** 2
        raise AssertionError(f"label {c!r}")

    eager = _train(False, loss, [4, 1])
    for backend in (True, "numpy"):
        h, acc, state = _train(backend, loss, [4, 1])
        assert h == pytest.approx(eager[0], rel=1e-12)
        assert acc == eager[1]
        assert list(state.values()) == pytest.approx(list(eager[2].values()), rel=1e-12)
    assert seen == {int}  # labels stay Python ints, never Values


class Counting(MLP):
    calls = 0

    def __call__(self, x: Any) -> Any:
        Counting.calls += 1
        return super().__call__(x)


def test_each_fit_call_traces_its_batch_shapes_afresh() -> None:
    X, y = make_moons(20, seed=0)
    model = Counting(2, [3, 1], seed=0)
    fit(model, X, y, epochs=2, batch_size=5, progress=False, compiled=True)
    Counting.calls = 0
    fit(model, X, y, epochs=2, batch_size=5, progress=False, compiled=True)
    assert Counting.calls == 1 + 5  # fit's first look at the outputs, one trace (5 examples)
    Counting.calls = 0
    fit(model, X, y, epochs=1, batch_size=8, progress=False, compiled=True)
    assert Counting.calls == 1 + 8 + 4  # two batch shapes (8, then the last 4): one trace each
    assert "_mg_compiled" not in model.__dict__  # nothing compiled is kept on the model


class Scaled(Module):
    """A forward that reads what no registered attribute shows: a private number, a number
    on a nested plain object, and a module-level global."""

    def __init__(self) -> None:
        self.net = MLP(2, [3, 1], seed=0)
        self._scale = 1.0
        self.cfg = _Config()

    def __call__(self, x: Any) -> Any:
        return self.net(x) * (self._scale * self.cfg.scale * _GLOBAL_SCALE[0])


class _Config:
    scale = 1.0


_GLOBAL_SCALE = [1.0]


@pytest.mark.parametrize("edit", ["private attribute", "object changed in place", "global"])
@pytest.mark.parametrize("backend", [True, "numpy"])
def test_a_change_no_registered_attribute_shows_trains_as_eager(edit: str,
                                                                backend: Any) -> None:
    def run(compiled: Any) -> tuple[list[float], dict[str, float]]:
        X, y = make_moons(20, seed=0)
        model = Scaled()
        fit(model, X, y, epochs=2, batch_size=5, progress=False, compiled=compiled)
        version = model.structure_version
        try:
            if edit == "private attribute":
                model._scale = 3.0
            elif edit == "object changed in place":
                model.cfg.scale = 3.0
            else:
                _GLOBAL_SCALE[0] = 3.0
            assert model.structure_version == version  # the model shows no change
            h = fit(model, X, y, epochs=2, batch_size=5, progress=False, compiled=compiled)
        finally:
            _GLOBAL_SCALE[0] = 1.0
        return h.loss, model.state_dict()

    eager, compiled = run(False), run(backend)
    if backend is True:  # the python backend: bit for bit
        assert compiled == eager
    else:
        assert compiled[0] == pytest.approx(eager[0], rel=1e-12)
        assert compiled[1] == pytest.approx(eager[1], rel=1e-12)
    X, y = make_moons(20, seed=0)
    unedited = Scaled()  # and the edit matters: without it the second fit differs
    fit(unedited, X, y, epochs=2, batch_size=5, progress=False)
    assert fit(unedited, X, y, epochs=2, batch_size=5, progress=False).loss != eager[0]


def test_a_callback_that_sets_parameter_values_is_seen_by_compiled_steps() -> None:
    class Shrink:
        def on_step(self, model: Any, history: History, loss: float) -> None:
            for p in model.parameters():
                p.data *= 0.5

    def run(compiled: bool) -> tuple[list[float], dict[str, float]]:
        X, y = make_moons(20, seed=0)
        model = MLP(2, [3, 1], seed=0)
        h = fit(model, X, y, epochs=3, batch_size=5, progress=False, compiled=compiled,
                callbacks=[Shrink()])
        return h.loss, model.state_dict()

    assert run(True) == run(False)


@pytest.mark.parametrize("edit", ["replace a weight", "switch an activation", "fuse"])
def test_an_edited_model_is_traced_again(edit: str) -> None:
    def run(compiled: bool) -> tuple[list[float], dict[str, float]]:
        X, y = make_moons(20, seed=0)
        model = MLP(2, [3, 1], seed=0)
        fit(model, X, y, epochs=2, batch_size=5, progress=False, compiled=compiled)
        if edit == "replace a weight":
            model.layers[1].neurons[0].w[0] = Value(2.0)
        elif edit == "switch an activation":
            model.layers[0].activation = "relu"
        else:
            model.fused = True
        h = fit(model, X, y, epochs=2, batch_size=5, progress=False, compiled=compiled)
        return h.loss, model.state_dict()

    eager, compiled = run(False), run(True)
    assert compiled == eager
    if edit == "replace a weight":
        assert compiled[1]["L1.N0.w0"] != 2.0  # the new Value is the one being trained


def test_the_retrace_policy_is_a_fit_setting() -> None:
    X, y = make_moons(20, seed=0)
    t = [float(c) for c in y]

    def branchy(out: Value, target: float) -> Value:
        return (out - target) ** 2 if out > 0 else (out - target) ** 4

    with pytest.raises(GraphChanged, match=r"fit\(\.\.\., on_change='retrace'\)"):
        fit(MLP(2, [3, 1], seed=0), X, t, loss=branchy, epochs=3, batch_size=5,
            progress=False, compiled=True, on_change="error")
    with pytest.raises(GraphChanged, match=r"fit\(\.\.\., max_retraces=\.\.\.\) allows more"):
        fit(MLP(2, [3, 1], seed=0), X, t, loss=branchy, epochs=3, batch_size=5,
            progress=False, compiled=True, max_retraces=0)
    eager = fit(MLP(2, [3, 1], seed=0), X, t, loss=branchy, epochs=3, batch_size=5,
                progress=False)
    fast = fit(MLP(2, [3, 1], seed=0), X, t, loss=branchy, epochs=3, batch_size=5,
               progress=False, compiled=True, max_retraces=1000)
    assert fast.loss == pytest.approx(eager.loss, rel=1e-12)


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"on_change": "ignore"}, ValueError, "unknown on_change 'ignore'"),
    ({"max_retraces": -1}, ValueError, "max_retraces must be at least 0"),
    ({"shuffle": "yes"}, TypeError, "shuffle must be True or False"),
    ({"progress": 1}, TypeError, "progress must be True or False"),
    ({"seed": 1.5}, TypeError, "seed must be an int or None"),
    ({"epochs": np.float64(2)}, TypeError, "epochs must be an int"),
    ({"optimizer": "adam"}, TypeError, "optimizer must be a microgrid.optim optimizer"),
    ({"compiled": "yes"}, ValueError, "compiled must be True, False"),
])
def test_fit_names_a_bad_setting(kwargs: dict[str, Any], error: type, match: str) -> None:
    X, y = make_xor()
    with pytest.raises(error, match=match):
        fit(MLP(2, [2, 1]), X, y, **{"progress": False, **kwargs})


def test_a_module_without_parameters_is_explained() -> None:
    class Constant(Module):
        def __init__(self) -> None:
            self._c = Value(1.0)  # private: not registered

        def __call__(self, x: Any) -> Value:
            return self._c

    with pytest.raises(ValueError, match=r"Constant has no parameters: assign Values or "
                                         r"Modules .* names starting with '_'"):
        fit(Constant(), [[1.0]], [1], progress=False)


def test_fit_trains_a_hand_written_module() -> None:
    class Perceptron(Module):
        def __init__(self) -> None:
            self.w = [Value(0.1), Value(-0.1)]
            self.b = Value(0.0)

        def __call__(self, x: Any) -> Value:
            return (self.b + self.w[0] * x[0] + self.w[1] * x[1]).tanh()

    X, y = make_blobs(40, centers=[[-2.0, -2.0], [2.0, 2.0]], noise=0.3, seed=0)
    for compiled in (False, True):
        model = Perceptron()
        fit(model, X, y, loss="mse", lr=0.1, epochs=20, progress=False, compiled=compiled)
        assert accuracy(model, X, y) == 1.0


def test_compiled_fit_on_int_data_traces_each_batch_shape_once() -> None:
    """Ints in a compiled step's arguments are static (labels); fit passes data as floats,
    so integer inputs such as XOR's do not make a trace per batch."""
    X, y = [[0, 0], [0, 1], [1, 0], [1, 1]], [0, 1, 1, 0]
    model = Counting(2, [4, 1], activation="tanh", seed=1)
    Counting.calls = 0
    compiled = fit(model, X, y, loss="mse", epochs=20, batch_size=2, compiled=True,
                   progress=False)
    assert Counting.calls == 1 + 2  # fit's first look at the outputs, one trace of 2
    eager_model = MLP(2, [4, 1], activation="tanh", seed=1)
    eager = fit(eager_model, X, y, loss="mse", epochs=20, batch_size=2, progress=False)
    assert compiled.loss == eager.loss  # bit-identical on the python backend


# --- bad data is refused before the first step -------------------------------------------

def _spoil(case: str, X: list[list[float]], y: list[Any]) -> tuple[Any, Any]:
    """Moons data with one bad example at index 9 (or in its target)."""
    if case == "nan in X":
        X[9][0] = math.nan
    elif case == "inf in X":
        X[9][1] = -math.inf
    elif case == "a short row":
        X[9] = X[9][:1]
    elif case == "a string in X":
        X[9][1] = "0.5"  # type: ignore[call-overload]
    elif case == "a bool in X":
        X[9][0] = True
    elif case == "nan target":
        y[9] = math.nan
    elif case == "inf target":
        y[9] = math.inf
    elif case == "numpy nan in X":
        arr = np.array(X)
        arr[9, 0] = np.nan
        return arr, np.array(y)
    else:
        assert case == "numpy nan target"
        return np.array(X), np.where(np.arange(len(y)) == 9, np.nan, np.array(y, float))
    return X, y


BAD_DATA = {
    "nan in X": (ValueError, r"^fit: X\[9\]\[0\] must be a finite number, got nan$"),
    "inf in X": (ValueError, r"^fit: X\[9\]\[1\] must be a finite number, got -inf$"),
    "a short row": (ValueError, r"^fit: X\[9\] has 1 number where X\[0\] has 2 numbers"),
    "a string in X": (TypeError, r"^fit: X\[9\]\[1\] must be a real number, got str: '0.5'$"),
    "a bool in X": (TypeError, r"^fit: X\[9\]\[0\] must be a real number, got bool: True$"),
    "nan target": (ValueError, r"^fit: y\[9\] must be a finite number, got nan$"),
    "inf target": (ValueError, r"^fit: y\[9\] must be a finite number, got inf$"),
    "numpy nan in X": (ValueError, r"^fit: X\[9\]\[0\] must be a finite number, got nan$"),
    "numpy nan target": (ValueError, r"^fit: y\[9\] must be a finite number, got nan$"),
}


def _callable_mse(out: Any, t: Any) -> Value:
    return mse(out, [float(t)])


@pytest.mark.parametrize("case", list(BAD_DATA))
@pytest.mark.parametrize("loss", ["mse", "sse", "hinge", "bce", "cross_entropy", "callable"])
@pytest.mark.parametrize("compiled", [False, True, "numpy"])
def test_bad_data_is_refused_before_the_first_step_naming_the_example(
        case: str, loss: str, compiled: Any) -> None:
    X, y = make_moons(20, seed=0)
    data = _spoil(case, [list(r) for r in X], list(y))
    model = MLP(2, [3, 2 if loss == "cross_entropy" else 1], seed=0)
    before = model.state_dict()
    grads = [p.grad for p in model.parameters()]
    error, match = BAD_DATA[case]
    with pytest.raises(error, match=match):
        fit(model, *data, loss=_callable_mse if loss == "callable" else loss, epochs=2,
            batch_size=4, progress=False, compiled=compiled)
    assert model.state_dict() == before  # no step was taken
    assert [p.grad for p in model.parameters()] == grads


def test_regression_targets_must_match_the_number_of_outputs() -> None:
    X = [[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
    model = MLP(2, [3, 2], seed=0)
    before = model.state_dict()
    with pytest.raises(ValueError, match=r"^fit: y\[2\] has 1 number\(s\) but the model "
                                         r"has 2 output\(s\)$"):
        fit(model, X, [[0.5, 1.0], [1.0, 0.5], [0.5]], progress=False)
    with pytest.raises(ValueError, match=r"^fit: y\[1\]\[0\] must be a finite number"):
        fit(model, X, [[0.5, 1.0], [math.nan, 0.5], [0.5, 1.0]], progress=False)
    assert model.state_dict() == before


def test_a_compiled_callable_loss_names_an_unhashable_target() -> None:
    X = [[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
    model = MLP(2, [3, 1], seed=0)
    before = model.state_dict()
    with pytest.raises(TypeError, match=r"^fit: y\[2\] must be hashable for compiled=True"):
        fit(model, X, [1.0, 0.0, {"t": 1.0}], loss=lambda out, t: out * 1.0,
            progress=False, compiled=True)
    assert model.state_dict() == before


def test_predict_and_accuracy_name_a_bad_row() -> None:
    model = MLP(2, [3, 1], seed=0)
    with pytest.raises(ValueError, match=r"^predict: X\[1\]\[1\] must be a finite number"):
        predict(model, [[0.0, 1.0], [1.0, math.nan]])
    with pytest.raises(ValueError, match=r"^accuracy: X\[2\] has 3 numbers where X\[0\]"):
        accuracy(model, [[0.0, 1.0], [1.0, 0.0], [1.0, 0.0, 2.0]], [0, 1, 1])


def test_the_quick_table_check_accepts_only_what_the_row_walk_accepts() -> None:
    from microgrid import _validate as check

    big = [[1e308, 1e308], (1e308, 1)]  # the sum overflows, every number is finite
    assert check.rows(big, "X", numbers=True) == big
    assert check.rows(np.array([[1, 2], [3, 4]]), "X", numbers=True) == [[1, 2], [3, 4]]
    assert check.rows([0.5, 2], "X", numbers=True) == [0.5, 2]  # one number per row
    for bad, match in [([[0.0, 1.0], [1.0, np.inf]], r"X\[1\]\[1\] must be a finite"),
                       ([1.0, True], r"X\[1\] must be a real number, got bool"),
                       ([[1.0, 2.0], 3.0], r"X\[1\] has a number where X\[0\] has 2"),
                       ([[[1.0, 2.0]], [[1.0]]], r"X\[1\] has a nested list of 1 item\b")]:
        with pytest.raises((TypeError, ValueError), match=match):
            check.rows(bad, "X", numbers=True)


def test_fit_reaches_the_compiler_through_training_step_alone() -> None:
    import ast
    from pathlib import Path

    import microgrid.train as train_module

    tree = ast.parse(Path(train_module.__file__).read_text(encoding="utf-8"))
    names = {(node.module, alias.name) for node in ast.walk(tree)
             if isinstance(node, ast.ImportFrom) for alias in node.names}
    assert {n for m, n in names if m and m.startswith("compile")} == {"training_step"}
    assert {n for m, n in names if m == "viz"} == {"LiveView"}  # for live=True only
    assert ("plot", "history") in names  # History.plot: train -> plot, never back
