"""LiveView: the live training dashboard — its numbers are the model's, watching never changes
training (eager, compiled, every optimizer), the sample graph's gradients against finite
differences, the throttle, bad input, the interrupt (in-process and through a real Jupyter
kernel), and notebook 07 run top to bottom."""

from __future__ import annotations

import html
import json
import os
import queue
import re
import signal
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

from microgrid import Value
from microgrid.data import make_moons
from microgrid.losses import mse
from microgrid.nn import MLP, Neuron
from microgrid.optim import SGD, Adagrad, Adam, Newton, Optimizer, RMSprop
from microgrid.stepper import format_number
from microgrid.train import History, fit
from microgrid.viz import LiveView, draw_dot
from microgrid.viz import live as live_module
from microgrid.viz.live import Frame
from microgrid.viz.relabel import Relabel, ShapeChanged
from microgrid.viz.render import find_renderer

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "07_live_training.ipynb"
SVG = "{http://www.w3.org/2000/svg}"

needs_renderer = pytest.mark.skipif(
    find_renderer("svg") is None and not os.environ.get("CI"),
    reason="no Graphviz renderer installed (CI installs one)")


def moons(n: int = 24) -> tuple[list[list[float]], list[int]]:
    X, y = make_moons(n, noise=0.1, seed=3)
    return [list(map(float, row)) for row in X], list(y)


def small_model(seed: int = 0) -> MLP:
    return MLP(2, [3, 1], activation="tanh", init="xavier", seed=seed, fused=True)


def model_numbers(model: Any) -> list[list[Any]]:
    return [[n, p.data, p.grad] for n, p in model.named_parameters()]


# -- the numbers ---------------------------------------------------------------------------

@needs_renderer
def test_the_final_frame_holds_the_models_numbers() -> None:
    X, y = moons()
    model = small_model()
    view = LiveView(record=True, every=3, overhead=None)
    history = fit(model, X, y, loss="bce", optimizer=Adam(model.parameters(), lr=0.1),
                  epochs=10, progress=False, callbacks=[view])
    assert [f.step for f in view.frames] == [0, 3, 6, 9, 10]  # start, every 3 steps, end
    assert view.refreshes == 5 and view.frame is view.frames[-1]
    start = view.frames[0]  # the weights before training, no curve yet
    assert start.numbers["loss"] is None and start.numbers["epoch"] == 0
    assert start.head == "step 0 · 0 epochs" and "L0 weights" in start.panels
    final = view.frame.numbers
    assert final["parameters"] == model_numbers(model)
    assert final["loss"] == history.loss[-1] and final["accuracy"] == history.accuracy[-1]
    assert final["step"] == final["graph_step"] == history.steps == 10
    assert view.frame.head.endswith(" · done")
    assert f"accuracy {history.accuracy[-1]:.1%}" in view.frame.head
    assert view.history is history
    # the frame's HTML carries the same numbers, exactly
    markup = view.frame.html()
    start = markup.index('class="mg-numbers">') + len('class="mg-numbers">')
    assert json.loads(markup[start:markup.index("</script>", start)]) == final


def run(optimizer: Callable[[list[Value]], Optimizer], compiled: bool | str,
        view: LiveView | None) -> tuple[MLP, History]:
    X, y = moons(16)
    model = small_model(seed=5)
    history = fit(model, X, y, loss="bce", optimizer=optimizer(model.parameters()),
                  epochs=4, batch_size=8, progress=False, compiled=compiled,
                  callbacks=[view] if view is not None else [])
    return model, history


OPTIMIZERS: dict[str, Callable[[list[Value]], Optimizer]] = {
    "sgd-momentum": lambda ps: SGD(ps, lr=0.2, momentum=0.9),
    "adagrad": lambda ps: Adagrad(ps, lr=0.1),
    "rmsprop": lambda ps: RMSprop(ps, lr=0.01),
    "adam": lambda ps: Adam(ps, lr=0.05),
    "newton": lambda ps: Newton(ps, lr=0.5, damping=1.0),
}


@needs_renderer
@pytest.mark.parametrize(("name", "compiled"), [
    *((name, False) for name in OPTIMIZERS), ("adam", True), ("sgd-momentum", "numpy")])
def test_watching_never_changes_training(name: str, compiled: bool | str) -> None:
    plain_model, plain = run(OPTIMIZERS[name], compiled, None)
    view = LiveView(record=True, every=2, overhead=None, resolution=4)
    model, history = run(OPTIMIZERS[name], compiled, view)
    assert model_numbers(model) == model_numbers(plain_model)  # bit for bit, grads too
    assert (history.loss, history.accuracy) == (plain.loss, plain.accuracy)
    assert [f.step for f in view.frames] == [0, 2, 4, 6, 8, 8]
    assert view.frame.numbers["parameters"] == model_numbers(model)
    assert view.frame.graph.count("<svg") == 1


@needs_renderer
def test_the_sample_graph_holds_its_gradients_checked_by_finite_differences() -> None:
    X, y = moons()
    model = small_model(seed=1)
    view = LiveView(record=True, sample=4, every=100, overhead=None)
    fit(model, X, y, loss="mse", optimizer=Adam(model.parameters(), lr=0.05), epochs=3,
        progress=False, callbacks=[view])
    sample = view.frame.numbers["sample"]
    assert sample["input"] == X[4]
    loss = view.loss
    assert loss is not None

    def sample_loss() -> float:
        return loss(model(X[4]), y[4]).data

    assert sample["loss"] == sample_loss()
    assert sample["outputs"] == [model(X[4]).data]  # one output: a bare Value
    h = 1e-6
    for (name, g), p in zip(sample["grads"], model.parameters()):
        keep = p.data
        p.data = keep + h
        up = sample_loss()
        p.data = keep - h
        down = sample_loss()
        p.data = keep
        assert g == pytest.approx((up - down) / (2 * h), rel=1e-5, abs=1e-9), name
    # the picture: every parameter's box shows that gradient, and its value
    shown = {}
    root = ET.fromstring(view.frame.graph[view.frame.graph.index("<svg"):
                                          view.frame.graph.rindex("</svg>") + 6])
    for g in root.iter(f"{SVG}g"):
        if g.get("class") == "node":
            texts = [html.unescape(t.text or "") for t in g.iter(f"{SVG}text")]
            if len(texts) == 3:
                shown[(g.findtext(f"{SVG}title"), texts[0])] = texts[1:]
    by_name = dict(sample["grads"])
    params = dict(model.named_parameters())
    cells = [v for (_, label), v in shown.items() if label in ("w0", "w1", "w2", "b")]
    assert len(cells) == len(params)  # boxed by neuron: named w0, w1, b inside each box
    for name, p in params.items():
        want = [f"data {format_number(p.data)}", f"grad {format_number(by_name[name])}"]
        assert want in cells, name
    assert "L0.N0" in view.frame.graph and "L1.N0" in view.frame.graph  # the neuron boxes


def svg_boxes(svg: str) -> dict[str, list[str]]:
    """Every node box of an SVG diagram: its DOT id → its texts (padding stripped)."""
    root = ET.fromstring(svg[svg.index("<svg"):])
    return {g.findtext(f"{SVG}title") or "": [
        html.unescape(t.text or "").replace("\u00a0", " ").strip()
        for t in g.iter(f"{SVG}text")]
        for g in root.iter(f"{SVG}g") if g.get("class") == "node"}


@needs_renderer
def test_the_relabelled_graph_reads_as_a_fresh_drawing() -> None:
    """The layout is made once; later numbers are written into it. Box by box, the texts
    equal those of a diagram drawn from scratch."""
    X, y = moons()
    model = MLP(2, [3, 2], activation="relu", init="xavier", seed=6, fused=False)
    options: dict[str, Any] = {"hide_constants": True, "group": "neuron",
                               "params": model.parameters()}

    def sample_graph(target: float = 1.0) -> Value:
        loss = mse(model(X[1]), [target, 0.0])
        model.zero_grad()
        loss.backward()
        return loss

    template = Relabel(sample_graph(), **options)
    fit(model, X, y, loss="cross_entropy", optimizer=Adam(model.parameters(), lr=0.1),
        epochs=3, progress=False)
    fresh = sample_graph()
    filled = template.fill(fresh)
    assert svg_boxes(filled) == svg_boxes(draw_dot(fresh, **options).svg())
    assert "data" in filled and "grad" in filled
    with pytest.raises(ShapeChanged):  # another graph
        template.fill(fresh * 2.0)
    with pytest.raises(ShapeChanged):  # a constant written in an op's label changed
        template.fill(sample_graph(target=0.5))


@needs_renderer
def test_a_label_the_drawing_cleans_still_relabels_in_place() -> None:
    """A box whose name is drawn cleaned (a control character as its symbol) is matched by
    the name as drawn, so the layout is kept instead of failing as another graph."""
    x = Value(2.0, "x")
    x.label = "x\x00"  # assigned after Value(), which refuses it; drawn as x␀
    w = Value(-3.0, "w")

    def graph() -> Value:
        out = (x * w).tanh()
        out.backward()
        return out

    template = Relabel(graph())
    x.data = 0.5
    fresh = graph()
    assert svg_boxes(template.fill(fresh)) == svg_boxes(draw_dot(fresh).svg())


@needs_renderer
def test_a_graph_too_large_is_said_and_the_curves_stay() -> None:
    X, y = moons()
    model = small_model()
    view = LiveView(record=True, every=5, overhead=None, max_nodes=8)
    fit(model, X, y, loss="bce", epochs=5, progress=False, callbacks=[view])
    assert "<svg" in view.frame.graph  # drawn collapsed, one box per neuron, and says so
    assert "more than max_nodes=8" in html.unescape(view.frame.graph)
    assert view.frame.numbers["parameters"] == model_numbers(model)
    assert "loss per step" in view.frame.panels and "L0 weights" in view.frame.panels
    assert "L1 gradients" in view.frame.panels and "decision" in view.frame.panels

    class Chain:  # no neurons to box: too large even collapsed
        def __init__(self) -> None:
            self.a = [Value(0.1 * i, f"a{i}") for i in range(30)]

        def __call__(self, x: list[Value]) -> list[Value]:
            t = x[0]
            for a in self.a:
                t = (t * a).tanh()
            return [t]

        def parameters(self) -> list[Value]:
            return self.a

    chain = Chain()
    view = LiveView(record=True, every=5, overhead=None, max_nodes=10)
    fit(chain, [[0.1 * i] for i in range(8)], [i % 2 for i in range(8)], epochs=5,
        progress=False, callbacks=[view])
    frame = view.frame
    assert "<svg" not in frame.graph
    assert "too large to draw" in frame.graph and "max_nodes=10" in frame.graph
    assert "loss per step" in frame.panels and "other weights" in frame.panels
    assert frame.numbers["sample"]["grads"] is not None  # the numbers are still there
    assert frame.numbers["parameters"] == [[p.label, p.data, p.grad] for p in chain.a]


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_the_decision_field_is_the_models_own_output(activation: str) -> None:
    """The field replays a trace of the network (no graph built): the same numbers as
    calling the model, on both sides of every ReLU kink."""
    X, y = moons()
    model = MLP(2, [5, 3], activation=activation, init="xavier", seed=4)
    view = LiveView(record=True, every=100, overhead=None, max_nodes=1)
    fit(model, X, y, loss="cross_entropy", epochs=2, progress=False, callbacks=[view])
    evaluate = view._evaluator()
    for a in (-1.5, -0.2, 0.0, 0.7, 2.5):
        for b in (-1.0, 0.0, 0.4, 1.3):
            assert evaluate(a, b) == [o.data for o in model([a, b])]
    field = view._draw_field()
    assert field.count("<rect") == 20 * 20 + 1 and field.count("<circle") == len(X)


def test_without_a_renderer_or_graphviz_the_view_says_so_and_goes_on(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from microgrid.viz import relabel, render

    X, y = moons()
    monkeypatch.setattr(render, "find_renderer", lambda format="svg": None)
    view = LiveView(record=True, every=2, overhead=None)
    model = small_model()
    fit(model, X, y, loss="bce", epochs=4, progress=False, callbacks=[view])
    assert view.frame is not None and view.frame.graph.startswith('<div class="mg-note">')
    assert "No picture of the graph: No Graphviz renderer" in view.frame.graph
    assert "loss per step" in view.frame.panels
    assert view.frame.numbers["parameters"] == model_numbers(model)

    def no_graphviz(*args: Any, **kwargs: Any) -> Any:
        raise ImportError("draw_dot needs the graphviz package (the DOT writer): "
                          "pip install graphviz")

    monkeypatch.setattr(relabel, "draw_dot", no_graphviz)
    view = LiveView(record=True, every=2, overhead=None)
    fit(model, X, y, loss="bce", epochs=4, progress=False, callbacks=[view])
    assert view.frame is not None and "pip install graphviz" in view.frame.graph
    assert [f.step for f in view.frames] == [0, 2, 4, 4]


def test_a_model_without_two_inputs_gets_no_decision_field() -> None:
    X = [[0.1 * i, 0.2, -0.1 * i] for i in range(6)]
    y = [i % 2 for i in range(6)]
    model = MLP(3, [1], activation="tanh", seed=0)
    view = LiveView(record=True, every=6, overhead=None, max_nodes=1)
    fit(model, X, y, loss="hinge", epochs=2, progress=False, callbacks=[view])
    assert "decision" not in view.frame.panels and "weights" in view.frame.panels
    assert view.frame.numbers["parameters"] == model_numbers(model)


# -- the throttle -------------------------------------------------------------------------

def test_the_throttle_keeps_drawing_within_its_share_of_the_time(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A fake clock: each training step takes 1 s, a light frame 0.02 s, a full one 0.5 s."""
    clock = [0.0]
    monkeypatch.setattr(live_module.time, "perf_counter", lambda: clock[0])

    def slow(cost: float, real: Callable[..., Any]) -> Callable[..., Any]:
        def drawn(*args: Any) -> Any:
            result = real(*args)
            if result is not False:  # the graph is not drawn while its layout runs
                clock[0] += cost
            return result
        return drawn

    view = LiveView(display=True, overhead=0.05, min_interval=0.25, max_nodes=1)
    shown: list[Frame] = []  # what the notebook would show (a view that does not record)
    monkeypatch.setattr(view, "_show", lambda markup: shown.append(view.frame))
    monkeypatch.setattr(view, "_panels", slow(0.02, view._panels))
    monkeypatch.setattr(view, "_draw_graph", slow(0.48, view._draw_graph))

    class Tick:
        def on_step(self, model: Any, history: Any, loss: float) -> None:
            clock[0] += 1.0
            if view._relabel is not None:  # the real layout is done within the first step
                view._relabel._thread.join()

    X, y = moons(8)
    model = small_model()
    fit(model, X, y, loss="bce", epochs=60, progress=False, callbacks=[Tick(), view])
    assert view.frames == []
    full = [f.step for f in shown[1:] if f.numbers["graph_step"] == f.step]
    light = len(shown) - len(full)  # the first frame (step 0) is a light one
    assert view.time_drawing == pytest.approx(0.5 * len(full) + 0.02 * light)
    # within 5 % of the run, but for the final frame, which is always drawn
    assert view.time_drawing - 0.5 <= 0.05 * (60.0 + view.time_drawing)
    assert len(full) >= 3  # the graph is refreshed during the run, not only at the end
    assert len(shown) > len(full)  # with light frames in between
    assert shown[-1].step == 60


@needs_renderer
def test_a_recording_keeps_every_asked_for_step_complete_whatever_the_throttle() -> None:
    X, y = moons(8)
    model = small_model()
    view = LiveView(every=10, record=True)  # the default throttle: 3 % of the run
    fit(model, X, y, loss="bce", epochs=30, progress=False, callbacks=[view])
    assert [f.step for f in view.frames] == [0, 10, 20, 30, 30]
    for f in view.frames:  # every frame has the graph of its own step, none is a placeholder
        assert "laying out" not in f.graph and f.graph.startswith('<div class="mg-sub">graph')
        assert f.numbers["graph_step"] == f.step and "<svg" in f.graph
        assert "decision" in f.panels
    assert view.frames[-1].numbers["parameters"] == model_numbers(model)
    throttled = LiveView(record=True)  # no every: the throttle chooses the frames
    fit(small_model(), X, y, loss="bce", epochs=30, progress=False, callbacks=[throttled])
    assert 2 <= len(throttled.frames) < 31
    first = throttled.frames[0]  # complete too: it waited for the layout
    assert "laying out" not in first.graph and "<svg" in first.graph
    assert first.numbers["graph_step"] == 0


# -- outside Jupyter -------------------------------------------------------------------------

def test_outside_jupyter_the_view_draws_nothing_and_says_nothing(
        capsys: pytest.CaptureFixture[str]) -> None:
    X, y = moons()
    view = LiveView()
    assert view.display is False
    model = small_model()
    history = fit(model, X, y, loss="bce", epochs=3, progress=False, callbacks=[view])
    assert view.refreshes == 0 and view.frames == [] and view.frame is None
    assert view.history is history
    fit(small_model(), X, y, loss="bce", epochs=3, progress=False, live=True)
    assert capsys.readouterr() == ("", "")
    assert "not started" in repr(LiveView()) and "0 refreshes" in repr(view)


# -- bad input -------------------------------------------------------------------------------

class NoParameters:
    def __call__(self, x: Any) -> list[Value]:
        return [Value(1.0)]

    def parameters(self) -> list[Value]:
        return []


def test_bad_input_is_a_clear_error_naming_the_argument() -> None:
    X, y = moons(6)
    model = small_model()
    with pytest.raises(ValueError, match="LiveView: model has no parameters"):
        LiveView().on_fit_start(NoParameters(), X, y)
    with pytest.raises(ValueError, match=r"LiveView: sample has 3 values but the model's "
                                         r"inputs .* have 2"):
        fit(model, X, y, epochs=1, progress=False, callbacks=[LiveView(sample=[1, 2, 3])])
    with pytest.raises(IndexError, match="LiveView: sample=6 is outside X"):
        fit(model, X, y, epochs=1, progress=False, callbacks=[LiveView(sample=6)])
    for bad_sample in (1.5, "ab", True, [1.0, None]):
        with pytest.raises(TypeError, match="LiveView: sample must be an index into X or a "
                                            "list of input numbers"):
            LiveView(sample=bad_sample)
    assert LiveView(sample=np.int64(2)).sample == 2  # numpy's numbers do
    assert LiveView(sample=np.array([0.5, -1.0])).sample == [0.5, -1.0]
    for bad in ({"every": 0}, {"max_nodes": True}, {"resolution": 2.0}):
        with pytest.raises(ValueError, match=f"LiveView: {next(iter(bad))} must be"):
            LiveView(**bad)  # type: ignore[arg-type]
    for overhead in (0, 1.5, "5%"):
        with pytest.raises(ValueError, match="LiveView: overhead must be"):
            LiveView(overhead=overhead)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="LiveView: nothing to draw yet"):
        LiveView().refresh()
    with pytest.raises(TypeError, match="fit: live must hold callbacks"):
        fit(model, X, y, epochs=1, progress=False, live="yes")
    with pytest.raises(TypeError, match="fit: callbacks must hold callbacks"):
        fit(model, X, y, epochs=1, progress=False, callbacks=[print])
    before = model_numbers(model)
    fit(model, X, y, epochs=1, progress=False, callbacks=[LiveView(record=True,
                                                                   max_nodes=1)])
    assert model_numbers(model) != before  # after all those refusals, it still trains


def test_a_one_neuron_model_is_drawn_without_boxes() -> None:
    X, y = moons(6)
    neuron = Neuron(2, activation="tanh", seed=0)

    def model(x: Any) -> list[Value]:
        return [neuron(x)]

    class One:
        __call__ = staticmethod(model)
        parameters = staticmethod(neuron.parameters)

    view = LiveView(record=True, every=1, overhead=None, max_nodes=1)
    view.on_fit_start(One(), X, y)
    assert view._grouped is False
    view.on_fit_start(small_model(), X, y)
    assert view._grouped is True


# -- interrupting ------------------------------------------------------------------------

class Recorder:
    """Snapshots of the parameters after every step of a run."""

    def __init__(self) -> None:
        self.after: dict[int, list[float]] = {}

    def on_step(self, model: Any, history: History, loss: float) -> None:
        self.after[history.steps] = [p.data for p in model.parameters()]


class Interrupt:
    def __init__(self, at: int, times: int = 1) -> None:
        self.at, self.times = at, times

    def on_step(self, model: Any, history: History, loss: float) -> None:
        if history.steps == self.at:
            for _ in range(self.times):
                signal.raise_signal(signal.SIGINT)


@pytest.mark.parametrize("compiled", [False, True])
@pytest.mark.parametrize("at", [7, 8])  # within the 4th epoch, and at its very end
def test_an_interrupt_stops_after_the_step_and_keeps_every_completed_epoch(
        compiled: bool, at: int) -> None:
    X, y = moons(16)

    def train(callbacks: list[Any]) -> tuple[MLP, History]:
        model = small_model(seed=2)
        history = fit(model, X, y, loss="bce", optimizer=Adam(model.parameters(), lr=0.05),
                      epochs=10, batch_size=8, compiled=compiled, progress=False,
                      callbacks=callbacks)
        return model, history

    reference = Recorder()
    _, whole = train([reference])
    view = LiveView(record=True, every=100, overhead=None, max_nodes=1)
    model, history = train([Interrupt(at), view])
    assert history.interrupted and history.steps == at
    assert [p.data for p in model.parameters()] == reference.after[at]  # those of the last step
    assert history.loss == whole.loss[:at // 2]  # every completed epoch (2 steps each)
    assert history.accuracy == whole.accuracy[:at // 2]
    assert "interrupted" in repr(history)
    assert view.frame is not None and view.frame.head.endswith(" · interrupted")
    assert view.frame.numbers["parameters"] == model_numbers(model)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back


def test_a_second_interrupt_stops_at_once_and_the_handler_is_put_back() -> None:
    X, y = moons(16)
    model = small_model()
    view = LiveView(record=True, every=100, overhead=None, max_nodes=1)
    with pytest.raises(KeyboardInterrupt):
        fit(model, X, y, loss="bce", epochs=10, batch_size=8, progress=False,
            callbacks=[Interrupt(5, times=2), view])
    assert view.frame is not None and view.frame.step == 5  # the view still closed the run
    assert view.frame.numbers["parameters"] == model_numbers(model)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


# -- in Jupyter ---------------------------------------------------------------------------

class CountingClient(NotebookClient):  # type: ignore[misc]
    """Records every display message (display_data / update_display_data) by display id."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.displays: list[tuple[int, str, str, str]] = []

    def process_message(self, msg: dict[str, Any], cell: Any, cell_index: int) -> Any:
        content = msg["content"]
        transient = content.get("transient") or {}
        if msg["msg_type"] in ("display_data", "update_display_data") and \
                transient.get("display_id"):
            self.displays.append((cell_index, msg["msg_type"], transient["display_id"],
                                  content.get("data", {}).get("text/html", "")))
        return super().process_message(msg, cell, cell_index)


def numbers_in(markup: str) -> dict[str, Any]:
    start = markup.index('class="mg-numbers">') + len('class="mg-numbers">')
    result: dict[str, Any] = json.loads(markup[start:markup.index("</script>", start)])
    return result


MARK = "notebook-07-values:"
READ = {  # what the test reads from the notebook's kernel after its last cell
    "model": "[[n, p.data, p.grad] for n, p in model.named_parameters()]",
    "final": "view.frame.numbers",
    "frames": "[f.step for f in view.frames]",
    "refreshes": "view.refreshes",
    "history": "(history.loss, history.accuracy, history.steps)",
    "accuracy": "accuracy(model, X, y)",
    "sample": "(sample_loss.data, sample_grads, batch_grads)",
    "in_picture": "f'grad {sample_grads[0][1]:.4g}' in html.unescape(view.frame.graph)",
    "live_true": "(len(history2.loss), history2.interrupted)",
    "interrupted": "(history3.interrupted, history3.steps, history3.loss)",
    "model3": "[[n, p.data, p.grad] for n, p in model3.named_parameters()]",
    "final3": "(view3.frame.numbers, view3.frame.head)",
    "pages": "(str(run), str(page), [str(s) for s in steps])",
}


def test_notebook_07_is_committed_clean_and_reads_as_a_lesson() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code)
    asserts = sum(line.lstrip().startswith("assert ") for c in code
                  for line in c.source.splitlines())
    assert asserts <= 2  # a lesson: the checks are here
    assert "the seeds" not in "".join(c.source for c in nb.cells).lower()


@pytest.mark.slow
@needs_renderer
def test_notebook_07_shows_one_dashboard_updated_per_refresh(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    reading = [f"_values[{k!r}] = {v}" for k, v in READ.items()]
    nb.cells.append(nbformat.v4.new_code_cell(
        "import json as _json\n_values = {}\n" + "\n".join(reading)
        + f"\nprint({MARK!r} + _json.dumps(_values))"))
    client = CountingClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    start = time.perf_counter()
    client.execute()
    assert time.perf_counter() - start < 150
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
    v = json.loads(text.split(MARK)[1])

    # the dashboard: one display, one update per refresh, the last holding the model's numbers
    training_cell = next(i for i, c in enumerate(nb.cells) if "callbacks=[view]" in c.source)
    messages = [d for d in client.displays if d[0] == training_cell]
    assert {d[2] for d in messages} == {messages[0][2]}
    assert [d[1] for d in messages] == ["display_data"] + ["update_display_data"] * 7
    steps = [0, 10, 20, 30, 40, 50, 60, 60]  # a frame per refresh: the start, every 10, end
    assert [numbers_in(d[3])["step"] for d in messages] == steps
    assert v["refreshes"] == 8 and v["frames"] == steps
    final = numbers_in(messages[-1][3])
    assert final == v["final"]
    assert final["parameters"] == v["model"]  # the final frame's numbers are the model's
    losses, accuracies, n_steps = v["history"]
    assert (final["loss"], final["accuracy"], final["step"]) == (losses[-1], accuracies[-1],
                                                                 n_steps)
    assert v["accuracy"] >= 0.9 and losses[-1] < 0.1 < losses[0]
    (shown,) = [o for o in nb.cells[training_cell].outputs if o.output_type == "display_data"]
    assert numbers_in(shown["data"]["text/html"]) == final  # and the notebook keeps it
    assert "<svg" in shown["data"]["text/html"]

    # the sample graph's gradients, against an independent backward in the notebook
    loss, grads, batch_grads = v["sample"]
    assert final["sample"]["loss"] == loss and final["sample"]["grads"] == grads
    assert batch_grads == [g for _, _, g in v["model"]]  # the batch gradients untouched
    assert v["in_picture"] is True

    assert v["live_true"] == [40, False]
    interrupted, at, epochs = v["interrupted"]
    assert interrupted and at == 25 and len(epochs) == 12
    numbers3, head3 = v["final3"]
    assert numbers3["parameters"] == v["model3"] and head3.endswith("interrupted")

    run, slide, texts = v["pages"]
    assert (tmp_path / run).stat().st_size > 10_000
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")
                     if p.is_file())  # only into the output folder, which git ignores
    assert written == ["microgrid-output/moons_run.html", "microgrid-output/slide.html"]
    page = (tmp_path / slide).read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and len(texts) == 7
    for t in texts:  # the stepper's own words, every step (numbered once, across passes)
        assert json.dumps(re.sub(r"^\[\d+\] ", "", t), ensure_ascii=False)[1:-1] in page


@pytest.mark.slow
@needs_renderer
def test_the_kernels_interrupt_stops_live_training_without_losing_the_model(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from jupyter_client.manager import start_new_kernel

    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    km, kc = start_new_kernel(kernel_name="python3")
    try:
        def run(code: str, timeout: float = 120) -> tuple[str, list[str]]:
            """Execute; return the status and the stream text."""
            msg_id = kc.execute(code)
            out = []
            while True:
                msg = kc.get_iopub_msg(timeout=timeout)
                if msg["parent_header"].get("msg_id") != msg_id:
                    continue
                if msg["msg_type"] == "stream":
                    out.append(msg["content"]["text"])
                if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                    break
            reply = kc.get_shell_msg(timeout=timeout)
            return reply["content"]["status"], out

        status, _ = run(
            "from microgrid.data import make_moons\n"
            "from microgrid.nn import MLP\n"
            "from microgrid.optim import Adam\n"
            "from microgrid.train import fit\n"
            "from microgrid.viz import LiveView\n"
            "X, y = make_moons(40, noise=0.1, seed=0)\n"
            "model = MLP(2, [4, 1], activation='tanh', init='xavier', seed=0, fused=True)\n"
            "view = LiveView(every=10, max_nodes=1)\n"
            "assert view.display\n"
            "class Say:\n"
            "    def on_step(self, model, history, loss):\n"
            "        if history.steps == 30:\n"
            "            print('training', flush=True)\n"
            "snap = {}\n"
            "class Snap:\n"
            "    def on_step(self, model, history, loss):\n"
            "        snap[history.steps] = [p.data for p in model.parameters()]\n")
        assert status == "ok"
        msg_id = kc.execute(
            "history = fit(model, X, y, loss='bce', optimizer=Adam(model.parameters(), "
            "lr=0.05), epochs=100000, batch_size=10, progress=False, "
            "callbacks=[Say(), Snap(), view])\nprint('returned', history.steps)")
        while True:  # wait until training runs, then press the interrupt
            msg = kc.get_iopub_msg(timeout=120)
            if msg["parent_header"].get("msg_id") == msg_id and \
                    msg["msg_type"] == "stream" and "training" in msg["content"]["text"]:
                break
        km.interrupt_kernel()
        deadline = time.monotonic() + 60
        reply = None
        while time.monotonic() < deadline:
            try:
                reply = kc.get_shell_msg(timeout=1)
            except queue.Empty:
                continue
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        assert reply is not None and reply["content"]["status"] == "ok"  # fit returned
        status, out = run(
            "assert history.interrupted and 30 <= history.steps < 400000\n"
            "assert [p.data for p in model.parameters()] == snap[history.steps]\n"
            "assert len(history.loss) == history.steps // 4\n"
            "assert view.frame.numbers['parameters'] == "
            "[[n, p.data, p.grad] for n, p in model.named_parameters()]\n"
            "assert view.frame.head.endswith('interrupted')\n"
            "print('checked', history.steps)")
        assert status == "ok", out
        assert "checked" in "".join(out)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


# -- structure read from the model, never from labels ----------------------------------------

class HandNeuron:
    def __init__(self, w: list[float], b: float) -> None:
        self.w = [Value(x) for x in w]  # no labels at all
        self.b = Value(b)

    def __call__(self, x: list[Any]) -> Value:
        return sum((wi * xi for wi, xi in zip(self.w, x)), self.b).tanh()


class HandLayer:
    def __init__(self, rows: list[list[float]]) -> None:
        self.neurons = [HandNeuron(r, 0.1 * j) for j, r in enumerate(rows)]

    def __call__(self, x: list[Any]) -> list[Value]:
        return [n(x) for n in self.neurons]


class HandMLP:
    """The lecture's own classes: layers of neurons of w and b, written by hand."""

    def __init__(self) -> None:
        self.layers = [HandLayer([[0.5, -0.25], [0.3, 0.2], [-0.4, 0.6]]),
                       HandLayer([[0.7, -0.1, 0.2]])]

    def __call__(self, x: list[Any]) -> Value:
        for layer in self.layers:
            x = layer(x)
        return x[0]

    def parameters(self) -> list[Value]:
        return [p for layer in self.layers for n in layer.neurons for p in (*n.w, n.b)]


def heat_maps(view: LiveView) -> dict[str, tuple[list[str], list[str], list[list[Any]]]]:
    return {name: (rows, cols, cells) for name, rows, cols, cells in view._layers}


@pytest.mark.parametrize("which", ["relabelled MLP", "hand-written MLP"])
def test_heat_maps_and_neuron_boxes_come_from_the_models_structure(which: str) -> None:
    X, y = moons(6)
    model: Any
    if which == "relabelled MLP":
        model = MLP(2, [3, 1], seed=0)
        for k, p in enumerate(model.parameters()):
            p.label = f"theta{k}"  # nothing left that reads like L0.N1.w0
    else:
        model = HandMLP()
    view = LiveView(record=True, every=1, overhead=None)
    view.on_fit_start(model, X, y)
    maps = heat_maps(view)
    assert list(maps) == ["L0", "L1"]  # no "other": every parameter has its place
    rows, cols, cells = maps["L0"]
    assert rows == ["N0", "N1", "N2"] and cols == ["w0", "w1", "b"]
    n1 = model.layers[0].neurons[1]
    assert cells[1][0] is n1.w[0] and cells[1][1] is n1.w[1] and cells[1][2] is n1.b
    assert maps["L1"][1] == ["w0", "w1", "w2", "b"]
    # the counts add up: each parameter in exactly one cell
    placed = [p for _, _, cells in maps.values() for row in cells for p in row]
    assert len(placed) == len(model.parameters()) == 13
    assert set(map(id, placed)) == set(map(id, model.parameters()))
    assert view._grouped is True
    from microgrid.viz.picture import describe

    with view._sample_graph() as (roots, lv):
        options = view._draw_options(lv)
        picture = describe(roots, params=options["params"], group=options["group"])
    boxes = {item.group for item in picture.items if item.group is not None}
    assert boxes == {"L0.N0", "L0.N1", "L0.N2", "L1.N0"}
    blue = [item.node for item in picture.items if item.role == "parameter"]
    assert set(map(id, blue)) == set(map(id, model.parameters()))


# -- a hand-written loop (microgrid.watch) -------------------------------------------------

def tiny_state_dict(seed: int = 0) -> dict[str, Any]:
    """An embedding read by rows, a 2×3 weight matrix and a bias: a state_dict of matrices."""
    import random

    rng = random.Random(seed)
    return {"emb": [[Value(rng.uniform(-1, 1)) for _ in range(3)] for _ in range(4)],
            "w": [[Value(rng.uniform(-1, 1)) for _ in range(3)] for _ in range(2)],
            "b": [Value(0.0), Value(0.0)]}


def tiny_loss(sd: dict[str, Any], step: int) -> Value:
    """Reads the embedding rows of tokens 0 and 2 (row 1 and 3 never)."""
    total = Value(0.0)
    for token, target in ((0, 1.0), (2, -1.0)):
        x = sd["emb"][token]
        out = sum((wi * xi for wi, xi in zip(sd["w"][0], x)), sd["b"][0]).tanh()
        total = total + (out - target) ** 2
    return total


def hand_written_loop(view: Any, sd: dict[str, Any], steps: int,
                      seen: dict[int, Any] | None = None,
                      grads_at: dict[int, list[float]] | None = None) -> list[float]:
    """A loop the way the lecture writes one: forward, backward, report, update, zero."""
    import microgrid

    params = [p for m in sd.values() for row in m for p in (row if isinstance(row, list)
                                                             else [row])]
    losses = []
    for step in range(1, steps + 1):
        loss = tiny_loss(sd, step)
        loss.backward()
        if seen is not None:
            seen[step] = microgrid.gradient_report(sd)
        if grads_at is not None:
            grads_at[step] = [p.grad for p in params]
        view.update(step, loss=loss.data, text=f"sample {step}")
        losses.append(loss.data)
        for p in params:
            p.data -= 0.1 * p.grad
            p.grad = 0.0
    return losses


def heat_map_cells(panels_svg: str) -> dict[str, int]:
    """Each heat map's title → how many cells (rects with a hover text) it draws."""
    out = {}
    for svg in re.findall(r"<svg.*?</svg>", panels_svg, flags=re.S):
        title = re.search(r'font-weight="bold">([^<]*)</text>', svg)
        if title and ("weights" in title.group(1) or "gradients" in title.group(1)):
            out[html.unescape(title.group(1))] = len(re.findall(r"<rect[^>]*><title>", svg))
    return out


def test_a_hand_written_loop_gets_its_losses_gradients_heat_maps_and_texts() -> None:
    import microgrid

    sd = tiny_state_dict()
    view = microgrid.watch(sd, record=True, every=2)
    assert [f.step for f in view.frames] == [0]  # the parameters before training
    seen: dict[int, Any] = {}
    grads_at: dict[int, list[float]] = {}
    losses = hand_written_loop(view, sd, 7, seen, grads_at)
    final = view.close()
    assert final is view.frame and final.head.endswith(" · done")
    assert [f.step for f in view.frames] == [0, 2, 4, 6, 7]
    assert view._batch_losses == losses  # the losses it was given, in order
    for f in view.frames[1:-1]:
        assert f.numbers["loss"] == losses[f.step - 1]
        assert f.numbers["matrices"] == [r.as_dict() for r in seen[f.step].rows]
        assert f.numbers["text"] == [f"sample {f.step}"] and f"{f.step}: sample" in f.panels
        assert f.numbers["maps_step"] == f.step
    # the final frame: the parameters as the loop left them, the last update's gradients
    assert final.numbers["matrices"] == [r.as_dict() for r in seen[7].rows]
    assert [g for _, _, g in final.numbers["parameters"]] == grads_at[7]
    names = [n for n, _, _ in final.numbers["parameters"]]
    assert names[:4] == ["emb[0][0]", "emb[0][1]", "emb[0][2]", "emb[1][0]"]
    assert names[-2:] == ["b[0]", "b[1]"]
    assert [d for _, d, _ in final.numbers["parameters"]] == [
        p.data for m in sd.values() for row in m for p in (row if isinstance(row, list)
                                                           else [row])]
    assert all(p.grad == 0.0 for row in sd["w"] for p in row)  # zeroed again after drawing
    emb = final.numbers["matrices"][0]
    assert emb["title"] == "emb 4×3" and emb["rows_with_grad"] == (0, 2)
    assert "emb 0, 2 of 4" in final.graph
    cells = heat_map_cells(final.panels)
    assert cells == {"emb 4×3 weights": 12, "emb 4×3 gradients": 12, "w 2×3 weights": 6,
                     "w 2×3 gradients": 6, "b 2 weights": 2, "b 2 gradients": 2}
    assert "‖gradient‖ per matrix" in final.panels and "loss per step" in final.panels
    page = view.export_html(Path(__import__("tempfile").mkdtemp()) / "loop.html")
    assert page.stat().st_size > 5_000  # the player plays a loop's frames too


def test_a_hand_written_loop_is_throttled_as_fit_is(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fake clock: each step of the loop takes 1 s, the heat maps (the full refresh)
    0.5 s, the rest of a frame 0.02 s."""
    import microgrid

    clock = [0.0]
    monkeypatch.setattr(live_module.time, "perf_counter", lambda: clock[0])
    sd = tiny_state_dict(1)
    view = live_module.LiveView(params=sd, display=True, overhead=0.05, min_interval=0.25)
    shown: list[Frame] = []
    monkeypatch.setattr(view, "_show", lambda markup: shown.append(view.frame))
    real_maps, real_bars = view._heat_maps, live_module.panels.log_bars

    def slow_maps() -> str:
        clock[0] += 0.48
        return real_maps()

    def slow_bars(*args: Any, **kwargs: Any) -> str:
        clock[0] += 0.02
        return real_bars(*args, **kwargs)

    monkeypatch.setattr(view, "_heat_maps", slow_maps)
    monkeypatch.setattr(live_module.panels, "log_bars", slow_bars)
    view.start()

    class Clocked:
        def update(self, step: int, **kw: Any) -> None:
            clock[0] += 1.0
            view.update(step, **kw)

    hand_written_loop(Clocked(), sd, 60)
    view.close()
    assert view.frames == [] and shown[0].step == 0 and shown[-1].step == 60
    full = [f.step for f in shown if f.numbers["maps_step"] == f.step]
    light = len(shown) - len(full)
    assert view.time_drawing == pytest.approx(0.5 * len(full) + 0.02 * light)
    # within 5 % of the run, the fixed first frame and the final one aside
    assert view.time_drawing - 1.0 <= 0.05 * (60.0 + view.time_drawing)
    assert len(full) >= 4 and light >= 1  # heat maps during the run, light frames between
    assert [f.numbers["loss"] for f in shown[1:]] == [
        view._batch_losses[f.step - 1] for f in shown[1:]]
    assert microgrid.watch is live_module.watch


def test_outside_jupyter_watching_a_loop_draws_nothing_and_says_nothing(
        capsys: pytest.CaptureFixture[str]) -> None:
    import microgrid

    sd = tiny_state_dict()
    with microgrid.watch(sd) as view:
        hand_written_loop(view, sd, 3)
    assert view.display is False and view.refreshes == 0 and view.frame is None
    assert view.close() is None and view._batch_losses != []
    assert capsys.readouterr() == ("", "")


def test_in_jupyter_the_loop_updates_one_display(monkeypatch: pytest.MonkeyPatch) -> None:
    import IPython.core.display_functions as shown

    calls: list[tuple[str, str]] = []

    class Handle:
        def update(self, obj: Any) -> None:
            calls.append(("update", obj.data))

    def display(obj: Any, display_id: bool = False) -> Handle:
        assert display_id is True
        calls.append(("display", obj.data))
        return Handle()

    monkeypatch.setattr(shown, "display", display)
    sd = tiny_state_dict()
    view = live_module.watch(sd, display=True, every=3, overhead=None)
    hand_written_loop(view, sd, 6)
    view.close()
    assert [c[0] for c in calls] == ["display", "update", "update", "update"]
    assert [numbers_in(c[1])["step"] for c in calls] == [0, 3, 6, 6]


def test_a_list_of_parameters_is_watched_as_one_vector() -> None:
    import microgrid

    sd = tiny_state_dict()
    params = [p for row in sd["w"] for p in row]
    view = microgrid.watch(params, record=True, every=1, overhead=None)
    loss = tiny_loss(sd, 0)
    loss.backward()
    frame = view.update(loss=loss)  # a Value's data; step 1 after the start's 0
    assert frame is not None and frame.step == 1 and frame.numbers["loss"] == loss.data
    (vector,) = frame.numbers["matrices"]
    assert vector["title"] == "parameters 6" and vector["zeros"] == 3  # row 1 of w unread
    assert heat_map_cells(frame.panels) == {"parameters 6 weights": 6,
                                            "parameters 6 gradients": 6}
    assert [n for n, _, _ in frame.numbers["parameters"]] == [
        f"parameters[{i}]" for i in range(6)]


def test_watching_a_loop_refuses_bad_input_by_name() -> None:
    import microgrid

    sd = tiny_state_dict()
    with pytest.raises(TypeError, match=r"params: w\[0\]\[1\] must be a Value"):
        microgrid.watch({"w": [[Value(1.0), "x"]]})
    with pytest.raises(ValueError, match="the same Value is named both 'a' and 'b'"):
        microgrid.watch({"a": sd["b"][0], "b": sd["b"][0]})
    with pytest.raises(ValueError, match="LiveView: params holds no parameters"):
        microgrid.watch({})
    with pytest.raises(TypeError, match=r"LiveView\.start: give the parameters to watch"):
        LiveView().update(1, loss=1.0)
    view = microgrid.watch(sd, record=True, every=1, overhead=None)
    view.update(3, loss=1.0)
    with pytest.raises(ValueError, match="step 3 comes after step 3; steps must increase"):
        view.update(3, loss=0.5)
    for bad_step in (-1, 2.5, True):
        with pytest.raises(TypeError, match=r"LiveView\.update: step must be an int ≥ 0"):
            view.update(bad_step)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"LiveView\.update: loss must be a number or a Value"):
        view.update(4, loss="low")
    with pytest.raises(TypeError, match=r"LiveView\.update: text must be a str or a list"):
        view.update(4, loss=0.5, text=[1, 2])  # type: ignore[list-item]
    assert view._batch_losses == [1.0] and [f.step for f in view.frames] == [0, 3]
    view.update(4, loss=0.25, text=["ann", "bob"])  # refused calls left nothing behind
    assert view.frame is not None and view.frame.numbers["text"] == ["ann", "bob"]
    assert view._batch_losses == [1.0, 0.25] and view._steps == [3, 4]
    final = view.close()
    assert view.close() is final and len(view.frames) == 4  # closed once
    with pytest.raises(RuntimeError, match="this view was closed"):
        view.update(5, loss=0.1)
    first = microgrid.watch(sd, record=True, every=1, overhead=None)
    first.update(0, loss=2.0)  # a loop counting from 0, as the lecture's does
    assert [f.step for f in first.frames] == [0] and first.update(loss=1.0) is first.frame
    assert first.frame is not None and first.frame.step == 1


def test_fit_with_params_shows_the_matrices_it_names() -> None:
    X, y = moons(8)
    model = small_model()
    sd = {"w1": [n.w for n in model.layers[0].neurons], "b1": [n.b for n in
                                                                model.layers[0].neurons],
          "w2": [n.w for n in model.layers[1].neurons], "b2": [model.layers[1].neurons[0].b]}
    view = LiveView(params=sd, record=True, every=4, overhead=None, max_nodes=1)
    fit(model, X, y, loss="bce", epochs=2, progress=False, callbacks=[view])
    assert heat_map_cells(view.frame.panels) == {
        "w1 3×2 weights": 6, "w1 3×2 gradients": 6, "b1 3 weights": 3, "b1 3 gradients": 3,
        "w2 1×3 weights": 3, "w2 1×3 gradients": 3, "b2 1 weights": 1, "b2 1 gradients": 1}
    names = [n for n, _, _ in view.frame.numbers["parameters"]]
    assert names[:3] == ["w1[0][0]", "w1[0][1]", "w1[1][0]"]
    assert sorted(map(id, (p for _, p in view._params))) == sorted(map(id, model.parameters()))
    by_name = {n: (d, g) for n, d, g in view.frame.numbers["parameters"]}
    assert by_name["w1[1][0]"] == (model.layers[0].neurons[1].w[0].data,
                                   model.layers[0].neurons[1].w[0].grad)


@pytest.mark.slow
def test_in_a_real_kernel_a_hand_written_loop_updates_one_display(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    source = (
        "import microgrid\n"
        "from microgrid import Value\n"
        "sd = {'w': [[Value(0.5), Value(-0.3)], [Value(0.1), Value(0.2)]]}\n"
        "params = [p for row in sd['w'] for p in row]\n"
        "view = microgrid.watch(sd, every=5, overhead=None)\n"
        "assert view.display\n"
        "for step in range(1, 21):\n"
        "    loss = sum((p * p for p in params), Value(0.0))\n"
        "    loss.backward()\n"
        "    view.update(step, loss=loss.data, text=f'name {step}')\n"
        "    for p in params:\n"
        "        p.data -= 0.1 * p.grad\n"
        "        p.grad = 0.0\n"
        "view.close()\n")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    client = CountingClient(nb, timeout=60, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    kinds = [d[1] for d in client.displays]
    assert kinds == ["display_data"] + ["update_display_data"] * 5  # start, 5…20, end
    assert len({d[2] for d in client.displays}) == 1
    assert [numbers_in(d[3])["step"] for d in client.displays] == [0, 5, 10, 15, 20, 20]
    last = numbers_in(client.displays[-1][3])
    assert last["text"] == ["name 20"] and last["matrices"][0]["title"] == "w 2×2"
    (shown,) = [o for o in nb.cells[0].outputs if o.output_type == "display_data"]
    assert numbers_in(shown["data"]["text/html"]) == last
