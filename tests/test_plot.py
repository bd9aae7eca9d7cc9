"""microgrid.plot draws what microgrid computes: the tests read the data back from the Axes."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

if os.environ.get("CI"):  # a dev dependency (the notebook extra): CI must have it
    import matplotlib
else:
    matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from microgrid import Value, plot  # noqa: E402
from microgrid.data import make_blobs, make_moons  # noqa: E402
from microgrid.nn import MLP  # noqa: E402
from microgrid.optim import SGD, Adam, Newton, RMSprop  # noqa: E402
from microgrid.train import History, fit, predict  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_import_microgrid_does_not_import_matplotlib() -> None:
    code = ("import sys, microgrid, microgrid.plot, microgrid.train; "
            "print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True, env={"PYTHONPATH": str(ROOT)})
    assert out.stdout.strip() == "False"


def test_without_matplotlib_the_error_names_the_notebook_extra(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"notebook extra.*microgrid-autodiff\[notebook\]"):
        plot.history(History(loss=[1.0, 0.5]))


# ---------------------------------------------------------------- history

def test_history_draws_the_loss_and_the_accuracy_of_each_epoch() -> None:
    hist = History(loss=[0.9, 0.4, 0.05, 0.01], accuracy=[0.5, 0.75, 1.0, 1.0], steps=4)
    ax = plot.history(hist)
    (loss,) = ax.lines
    assert list(loss.get_xdata()) == [1, 2, 3, 4] and list(loss.get_ydata()) == hist.loss
    assert ax.get_yscale() == "log"  # positive, spanning more than a factor of 10
    (right,) = [a for a in ax.figure.axes if a is not ax]
    (acc,) = right.lines
    assert list(acc.get_xdata()) == [1, 2, 3, 4] and list(acc.get_ydata()) == hist.accuracy
    assert right.get_ylim() == (0.0, 1.02)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["loss", "accuracy"]


def test_history_of_a_real_fit_and_the_History_plot_method_draw_the_same() -> None:
    X, y = make_moons(20, noise=0.1, seed=3)
    model = MLP(2, [4, 1], seed=0, fused=True)
    hist = fit(model, X, y, loss="hinge", epochs=5, progress=False)
    a, b = plot.history(hist), hist.plot(log=False)
    assert list(a.lines[0].get_ydata()) == list(b.lines[0].get_ydata()) == hist.loss
    assert b.get_yscale() == "linear"
    assert list(b.figure.axes[1].lines[0].get_ydata()) == hist.accuracy


def test_history_compares_several_runs_on_one_axes() -> None:
    runs = {"SGD": History(loss=[1.0, 0.8, 0.7]), "Adam": History(loss=[1.0, 0.3, 0.2])}
    fig, ax = plt.subplots()
    assert plot.history(runs, ax=ax) is ax
    assert [line.get_label() for line in ax.lines] == ["SGD", "Adam"]
    assert [list(line.get_ydata()) for line in ax.lines] == [runs["SGD"].loss,
                                                              runs["Adam"].loss]
    assert ax.get_yscale() == "linear" and fig.axes == [ax]  # no accuracy axis


@pytest.mark.parametrize(("hist", "kw", "error", "match"), [
    ([0.5, 0.2], {}, TypeError, "hist must be a History"),
    (History(), {}, ValueError, "hist has no epochs"),
    ({}, {}, ValueError, "hist is an empty mapping"),
    ({"a": [1.0]}, {}, TypeError, r"hist\['a'\] must be a History"),
    ({"a": History()}, {}, ValueError, r"hist\['a'\] has no epochs"),
    (History(loss=[1.0]), {"ax": "left"}, TypeError, "ax must be a matplotlib Axes"),
    (History(loss=[1.0]), {"log": "yes"}, TypeError, "log must be"),
])
def test_history_refuses_bad_arguments_by_name(hist: object, kw: dict[str, object],
                                               error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        plot.history(hist, **kw)  # type: ignore[arg-type]


# ---------------------------------------------------------------- decision boundary

def _pixel_centres(ax, n: int) -> tuple[list[float], list[float]]:
    x0, x1, y0, y1 = ax.images[-1].get_extent()
    return ([x0 + (x1 - x0) * (i + 0.5) / n for i in range(n)],
            [y0 + (y1 - y0) * (j + 0.5) / n for j in range(n)])


@pytest.mark.parametrize("output", ["linear", "sigmoid"])
def test_boundary_pixels_are_the_models_predictions_at_their_centres(output: str) -> None:
    X, y = make_moons(30, noise=0.1, seed=1)
    model = MLP(2, [5, 1], activation="tanh", output_activation=output, init="xavier",
                seed=2, fused=True)
    n = 15
    ax = plot.decision_boundary(model, X, y, resolution=n)
    image = ax.images[-1]
    grid = image.get_array()
    assert grid.shape == (n, n)
    xs, ys = _pixel_centres(ax, n)
    points = [[gx, gy] for gy in ys for gx in xs]
    assert grid.ravel().tolist() == pytest.approx([model(p).data for p in points],
                                                  rel=1e-12, abs=1e-15)  # the scores
    expected = predict(model, points)  # train.predict: its own threshold rule
    shaded = image.norm(grid.ravel()).tolist()  # the colour bin of each score
    assert shaded == expected
    assert 0 < sum(expected) < len(expected)  # both classes appear
    line = [c for c in ax.collections if hasattr(c, "levels")]
    assert [list(c.levels) for c in line] == [[0.5 if output == "sigmoid" else 0.0]]
    for c, dots in zip((0, 1), [c for c in ax.collections if c.get_label().startswith("class")]):
        assert dots.get_label() == f"class {c}"
        assert dots.get_offsets().tolist() == [p for p, t in zip(X, y) if t == c]
    assert min(xs) < min(p[0] for p in X) and max(xs) > max(p[0] for p in X)


def test_boundary_of_a_three_output_model_is_the_argmax_and_a_plain_function_works() -> None:
    X, y = make_blobs(12, centers=3, seed=0)

    def model(p: list[float]) -> list[Value]:  # three scores, not an MLP
        a, b = Value(p[0]), Value(p[1])
        return [a * 1.0, b * 1.0, -(a + b)]

    ax = plot.decision_boundary(model, X, y, resolution=9)
    xs, ys = _pixel_centres(ax, 9)
    got = ax.images[-1].get_array()
    for j, gy in enumerate(ys):
        for i, gx in enumerate(xs):
            scores = [gx, gy, -(gx + gy)]
            assert got[j, i] == scores.index(max(scores))
    assert not [c for c in ax.collections if hasattr(c, "levels")]  # regions only


def test_boundary_accepts_a_bare_value_for_one_output() -> None:
    ax = plot.decision_boundary(lambda p: Value(p[0]) - p[1], [[0, 0], [1, 2], [2, 1]],
                                [0, 0, 1], resolution=4)
    xs, ys = _pixel_centres(ax, 4)
    image = ax.images[-1]
    assert image.norm(image.get_array()).tolist() == [[int(gx - gy > 0) for gx in xs]
                                                      for gy in ys]


def test_a_score_exactly_at_the_threshold_is_shaded_as_class_0() -> None:
    ax = plot.decision_boundary(lambda p: Value(p[0]) * 0.0, [[0, 0], [1, 1]], [0, 1],
                                resolution=3)
    image = ax.images[-1]
    assert image.norm(image.get_array()).tolist() == [[0, 0, 0]] * 3
    assert predict(lambda p: Value(p[0]) * 0.0, [[0.5, 0.5]]) == [0]


@pytest.mark.parametrize(("args", "kw", "error", "match"), [
    (("not a model", [[0, 0]], [0]), {}, TypeError, "model must be callable"),
    ((lambda p: Value(p[0]), [], []), {}, ValueError, "X must be a non-empty list"),
    ((lambda p: Value(p[0]), [[0, 0], [1]], [0, 1]), {}, TypeError, r"X\[1\] must be a pair"),
    ((lambda p: Value(p[0]), [[0, "a"]], [0]), {}, TypeError, r"X\[0\]\[1\] must be a number"),
    ((lambda p: Value(p[0]), [[0, 0]], [0, 1]), {}, ValueError, "y has 2 labels but X has 1"),
    ((lambda p: Value(p[0]), [[0, 0]], [-1]), {}, ValueError, r"y\[0\] must be a class label"),
    ((lambda p: Value(p[0]), [[0, 0]], 0), {}, TypeError, "y must be a list"),
    ((lambda p: Value(p[0]), [[0, 0]], [0]), {"resolution": 1}, ValueError, "resolution"),
    ((lambda p: Value(p[0]), [[0, 0]], [0]), {"resolution": 2.5}, TypeError, "resolution"),
    ((lambda p: "yes", [[0, 0]], [0]), {}, TypeError, "model must return a Value"),
    ((lambda p: [Value(1.0)] * (1 + (p[0] > 0)), [[-1, 0], [1, 0]], [0, 1]), {}, ValueError,
     "returned 2 outputs .* but 1 before"),
    ((lambda p: Value(p[0]), [[0, 0]], [0]), {"ax": 3}, TypeError, "ax must be a matplotlib"),
])
def test_boundary_refuses_bad_arguments_by_name(args: tuple[object, ...], kw: dict[str, object],
                                                error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        plot.decision_boundary(*args, **kw)  # type: ignore[arg-type]


# ---------------------------------------------------------------- activations

CLOSED_FORMS = {  # independent of the engine: math's own functions
    "sigmoid": lambda n: 1 / (1 + math.exp(-n)),
    "tanh": math.tanh,
    "relu": lambda n: max(0.0, n),
    "softplus": lambda n: math.log1p(math.exp(n)),
    "leaky_relu": lambda n: n if n > 0 else 0.1 * n,
}


def _curves(ax):
    """The labelled lines (the axes' zero lines are unlabelled)."""
    return [line for line in ax.lines if not str(line.get_label()).startswith("_")]


def test_activation_curves_are_microgrid_values_and_backward_derivatives() -> None:
    top, bottom = plot.activations(points=81)
    names = list(CLOSED_FORMS)
    curves, derivatives = _curves(top), _curves(bottom)
    assert len(curves) == len(derivatives) == len(names)
    h = 1e-6
    for name, value_line, slope_line in zip(names, curves, derivatives):
        grid = [float(n) for n in value_line.get_xdata()]
        values = [float(v) for v in value_line.get_ydata()]
        slopes = [float(s) for s in slope_line.get_ydata()]
        assert grid[0] == -4.0 and grid[-1] == 4.0 and 0.0 in grid
        for n, v, s in zip(grid, values, slopes):
            op = (lambda x: x.leaky_relu(0.1)) if name == "leaky_relu" else getattr(Value, name)
            x = Value(n)
            out = op(x)
            out.backward()
            assert (v, s) == (out.data, x.grad), name  # what microgrid computes, exactly
            assert v == pytest.approx(CLOSED_FORMS[name](n), rel=1e-12, abs=1e-15), name
            if abs(n) > 10 * h:  # away from the kinks of ReLU and leaky ReLU
                numeric = (CLOSED_FORMS[name](n + h) - CLOSED_FORMS[name](n - h)) / (2 * h)
                assert s == pytest.approx(numeric, abs=1e-7), (name, n)
    assert value_line.get_label() == "leaky ReLU (α = 0.1)"


def test_activations_picks_names_and_draws_on_given_axes() -> None:
    _fig, axes = plt.subplots(2, 1)
    top, bottom = plot.activations(["tanh", "leaky_relu"], ax=axes, slope=0.25, lo=-1, hi=1,
                                   points=5)
    assert (top, bottom) == tuple(axes)
    assert [line.get_label() for line in _curves(bottom)] == ["tanh", "leaky ReLU (α = 0.25)"]
    assert list(_curves(bottom)[1].get_ydata()) == [0.25, 0.25, 0.25, 1.0, 1.0]  # 0 takes α
    values, slopes = plot.activation_curve("sigmoid", [0.0])
    assert (values, slopes) == ([0.5], [0.25])


@pytest.mark.parametrize(("kw", "error", "match"), [
    ({"names": ["swish"]}, ValueError, "names has 'swish'"),
    ({"names": "tanh"}, TypeError, "names must be a non-empty list"),
    ({"names": []}, TypeError, "names must be a non-empty list"),
    ({"points": 1}, ValueError, "points must be at least 2"),
    ({"lo": 2.0, "hi": 1.0}, ValueError, "lo must be below hi"),
    ({"slope": "0.1"}, TypeError, "slope must be a number"),
    ({"ax": "top"}, TypeError, "ax must be a pair of Axes"),
])
def test_activations_refuses_bad_arguments_by_name(kw: dict[str, object],
                                                   error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        plot.activations(**kw)  # type: ignore[arg-type]


# ---------------------------------------------------------------- optimizer paths

def rosenbrock(x: Value, y: Value) -> Value:
    return (1 - x) ** 2 + 100 * (y - x ** 2) ** 2


def by_hand(make, steps: int, newton: bool = False) -> tuple[float, float]:
    x, y = Value(-1.2), Value(1.0)
    opt = make([x, y])
    for _ in range(steps):
        loss = rosenbrock(x, y)
        if newton:
            opt.step(loss)
        else:
            opt.zero_grad()
            loss.backward()
            opt.step()
    return x.data, y.data


def test_each_path_ends_where_running_the_optimizer_by_hand_ends() -> None:
    makers = {"SGD": lambda ps: SGD(ps, lr=1e-3), "Adam": lambda ps: Adam(ps, lr=0.05),
              "RMSprop": lambda ps: RMSprop(ps, lr=0.01), "Newton": Newton}
    steps = {"SGD": 300, "Adam": 200, "RMSprop": 100, "Newton": 6}
    ax = plot.optimizer_paths(rosenbrock, makers, (-1.2, 1.0), steps=steps, minimum=(1, 1),
                              resolution=30)
    lines = {str(line.get_label()).split(":")[0]: line for line in ax.lines}
    assert set(lines) == {*makers, "start", "minimum"}
    for name, make in makers.items():
        xs, ys = lines[name].get_xdata(), lines[name].get_ydata()
        assert len(xs) == steps[name] + 1 and (xs[0], ys[0]) == (-1.2, 1.0)
        assert (xs[-1], ys[-1]) == by_hand(make, steps[name], newton=name == "Newton")
        final = rosenbrock(Value(xs[-1]), Value(ys[-1])).data
        assert lines[name].get_label() == f"{name}: f = {final:.3g}"
    assert max(abs(lines["Newton"].get_xdata()[-1] - 1), abs(lines["Newton"].get_ydata()[-1] - 1)
               ) < 1e-8  # Newton reaches the minimum (1, 1) in 6 steps
    (contours,) = [c for c in ax.collections if hasattr(c, "levels")]
    assert len(contours.levels) == 12
    assert all(a < b for a, b in zip(contours.levels, contours.levels[1:]))


def test_the_contours_are_the_loss_on_the_grid_within_the_given_bounds() -> None:
    def bowl(x: Value, y: Value) -> Value:
        return x * x + 3 * y * y

    ax = plot.optimizer_paths(bowl, {"GD": lambda ps: SGD(ps, lr=0.1)}, (2, 1), steps=10,
                              bounds=((-3, 3), (-2, 2)), resolution=21)
    assert ax.get_xlim() == (-3.0, 3.0) and ax.get_ylim() == (-2.0, 2.0)
    (contours,) = [c for c in ax.collections if hasattr(c, "levels")]
    top = 9 + 3 * 4  # the largest value on the grid, at a corner
    assert contours.levels[-1] < top and contours.levels[0] > 0
    gd = ax.lines[0]
    x, y = 2.0, 1.0
    for k in range(10):  # θ ← θ − 0.1·∇f, ∇f = (2x, 6y)
        x, y = x - 0.1 * 2 * x, y - 0.1 * 6 * y
        assert (gd.get_xdata()[k + 1], gd.get_ydata()[k + 1]) == pytest.approx((x, y),
                                                                               rel=1e-12)


@pytest.mark.parametrize(("args", "kw", "error", "match"), [
    ((rosenbrock, {}, (0, 0)), {}, TypeError, "optimizers must be a non-empty mapping"),
    ((rosenbrock, {"a": 1}, (0, 0)), {}, TypeError, r"optimizers\['a'\] must be callable"),
    ((rosenbrock, {"a": lambda ps: ps}, (0, 0)), {}, TypeError,
     r"optimizers\['a'\] must make an optimizer"),
    ((3, {"a": Newton}, (0, 0)), {}, TypeError, "loss_fn must be a function"),
    ((lambda x, y: 1.0, {"a": Newton}, (0, 0)), {}, TypeError, "loss_fn must return a Value"),
    ((rosenbrock, {"a": Newton}, (0,)), {}, TypeError, "start must be a pair"),
    ((rosenbrock, {"a": Newton}, (0, 0)), {"steps": 0}, ValueError, "steps must be at least 1"),
    ((rosenbrock, {"a": Newton}, (0, 0)), {"steps": {"b": 3}}, ValueError,
     r"steps has no entry for \['a'\]"),
    ((rosenbrock, {"a": Newton}, (0, 0)), {"bounds": ((1, 0), (0, 1))}, ValueError,
     "bounds must have lo < hi"),
    ((rosenbrock, {"a": Newton}, (0, 0)), {"bounds": (1, 2, 3)}, TypeError, "bounds must be"),
    ((rosenbrock, {"a": Newton}, (0, 0)), {"resolution": 1}, ValueError, "resolution"),
    ((rosenbrock, {"a": Newton}, (0, 0)), {"minimum": 1}, TypeError, "minimum must be a pair"),
])
def test_optimizer_paths_refuses_bad_arguments_by_name(
        args: tuple[object, ...], kw: dict[str, object], error: type[Exception],
        match: str) -> None:
    with pytest.raises(error, match=match):
        plot.optimizer_paths(*args, steps=kw.pop("steps", 2), **kw)  # type: ignore[arg-type]


def test_history_reads_any_object_with_loss_and_accuracy_lists_and_plot_never_imports_train(
        ) -> None:
    import ast

    class Run:  # not a History: what the plot reads is the two lists
        def __init__(self) -> None:
            self.loss, self.accuracy = [2.0, 1.0, 0.5], [0.5, 0.75, 1.0]

    run = Run()
    ax = plot.history(run, log=False)
    assert list(ax.lines[0].get_ydata()) == run.loss
    assert list(ax.figure.axes[1].lines[0].get_ydata()) == run.accuracy
    source = Path(plot.__file__).read_text(encoding="utf-8")
    imported = {node.module for node in ast.walk(ast.parse(source))
                if isinstance(node, ast.ImportFrom)}
    assert "train" not in imported and "compile" not in imported  # one-way: train -> plot
