"""The explorer: stepping logic, the text transcript, and the widget app driven by code."""

from __future__ import annotations

import sys

import pytest

from microgrid import explore
from microgrid.__main__ import slide_example as slide
from microgrid.viz import explorer as explorer_module
from microgrid.viz import render as rendering
from microgrid.viz.explorer import Explorer


def test_stepping_runs_forward_then_backward_and_stops_at_the_ends() -> None:
    e = Explorer(slide())
    assert len(e) == 5 + 2
    assert (e.phase, e.index, e.step.name) == ("forward", 0, "x")
    e.prev()
    assert e.position == 0
    for _ in range(4):
        e.next()
    assert (e.phase, e.index, e.step.name) == ("forward", 4, "f")
    e.next()
    assert (e.phase, e.index, e.step.name) == ("backward", 0, "f")
    e.last()
    assert (e.phase, e.index, e.step.name) == ("backward", 1, "q")
    e.next()
    assert e.position == 6
    assert e.text().startswith("step 7 of 7 · backward\nq = x + y    ∂f/∂q = -4")
    e.goto(4)
    assert e.counter() == "step 5 of 7 · forward"
    e.first()
    assert e.position == 0


def test_the_diagram_follows_the_position() -> None:
    e = Explorer(slide(), hide_constants=True)
    e.goto(2)
    src = e.diagram().source
    assert "{ q | data 3 }" in src and "{ f | data ? }" in src
    e.last()
    src = e.diagram().source
    assert "{ x | data -2 | grad -4 }" in src and "-4 × 1 = -4" in src


def test_outside_jupyter_explore_prints_every_step(capsys: pytest.CaptureFixture[str]) -> None:
    assert not explorer_module.in_notebook()
    e = explore(slide())
    out = capsys.readouterr().out
    assert out.startswith("Forward pass (evaluation order):\n[0] x = -2")
    assert "[4] f = q · z = 3 · (-4) = -12" in out
    assert "Backward pass (reverse topological order):" in out
    assert "x: local ∂q/∂x = 1   contribution -4 × 1 = -4   ∂f/∂x: 0 → -4" in out
    assert isinstance(e, Explorer)


def test_the_widget_app_steps_with_buttons_and_slider() -> None:
    e = Explorer(slide())
    app = e.widget()
    assert e.widget() is app
    assert e.prev_button.disabled and e.first_button.disabled and not e.next_button.disabled
    assert e.step_text.value == "<pre>x = -2   (leaf)</pre>"
    assert e.counter_label.value == "<b>step 1 of 7 · forward</b>"
    e.next_button.click()
    assert e.position == 1 and e.slider.value == 1
    assert e.step_text.value == "<pre>y = 5   (leaf)</pre>"
    e.last_button.click()
    assert e.slider.value == 6 and e.next_button.disabled and not e.prev_button.disabled
    assert e.counter_label.value == "<b>step 7 of 7 · backward</b>"
    e.prev_button.click()
    assert e.position == 5 and "(the seed)" in e.step_text.value
    e.slider.value = 3  # dragging the slider moves the explorer
    assert e.position == 3 and "z = -4" in e.step_text.value
    assert e.counter_label.value == "<b>step 4 of 7 · forward</b>"
    e.first_button.click()
    assert e.position == 0 and e.slider.value == 0
    controls = app.children[0]
    assert controls.children[4] is e.slider and not e.slider.readout  # one numbering
    labels = [b.description for b in controls.children[:4]]
    assert labels == ["First", "Back", "Next", "Last"]  # words: no font needed
    assert all(label.isascii() for label in labels)


def test_the_widget_shows_the_rendered_diagram() -> None:
    assert rendering.find_renderer() is not None, "pip install -e '.[dev]' brings a renderer"
    e = Explorer(slide())
    e.widget()
    e.last()
    assert e.picture.value.startswith('<div class="microgrid-diagram"')
    assert 'width="100%"' in e.picture.value and "overflow:auto" in e.picture.value
    assert "grad &#45;4" in e.picture.value or "grad -4" in e.picture.value


def test_without_a_renderer_the_widget_shows_how_to_install_one(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rendering, "available_renderers", lambda: [])
    e = Explorer(slide())
    e.widget()
    assert "pip install" in e.picture.value and "digraph" not in e.picture.value
    first = e.picture.value
    e.next()
    assert e.picture.value == first  # the same message, no DOT source per step
    assert e.counter_label.value == "<b>step 2 of 7 · forward</b>"


def test_in_jupyter_explore_returns_the_app_instead_of_printing(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(explorer_module, "in_notebook", lambda: True)
    e = explore(slide())
    assert capsys.readouterr().out == ""
    bundle = e._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle


class _Shell:
    """A kernel-backed shell under a name other than ZMQInteractiveShell (as in Colab)."""

    kernel = object()


def test_a_notebook_is_told_by_its_kernel_not_by_the_shell_class_name(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from IPython.core import getipython

    monkeypatch.setattr(getipython, "get_ipython", lambda: _Shell())
    assert explorer_module.in_notebook()
    monkeypatch.setattr(getipython, "get_ipython", lambda: object())  # terminal IPython
    assert not explorer_module.in_notebook()
    monkeypatch.setattr(getipython, "get_ipython", lambda: None)
    assert not explorer_module.in_notebook()


def test_without_ipywidgets_a_notebook_gets_the_steps_as_text(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(explorer_module, "in_notebook", lambda: True)
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # import ipywidgets fails
    e = explore(slide())
    assert capsys.readouterr().out == ""
    bundle = e._repr_mimebundle_()
    assert list(bundle) == ["text/plain"]
    assert "needs ipywidgets" in bundle["text/plain"]
    assert "[4] f = q · z = 3 · (-4) = -12" in bundle["text/plain"]
    with pytest.raises(ImportError, match="pip install"):
        e.widget()


def test_the_graph_is_described_once_and_only_restyled_per_step(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from microgrid.viz import picture

    calls = []
    original = picture.topological_order

    def counting(roots: object) -> object:
        calls.append(1)
        return original(roots)  # type: ignore[arg-type]

    monkeypatch.setattr(picture, "topological_order", counting)
    e = Explorer(slide())
    sources = set()
    for k in range(len(e)):
        e.goto(k)
        sources.add(e.diagram().source)
    assert len(calls) == 1
    assert len(sources) == len(e)  # every step draws something different


def test_unknown_drawing_options_are_refused() -> None:
    with pytest.raises(TypeError, match="show_locals"):
        Explorer(slide(), show_locals=True)
    with pytest.raises(TypeError, match="Value"):
        Explorer([slide()])  # type: ignore[arg-type]


def test_a_large_graph_is_explored_in_its_collapsed_view() -> None:
    from microgrid import Value
    from microgrid.nn import MLP

    model = MLP(3, [4, 4, 1], seed=1)
    xs = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
    ys = [1.0, -1.0, -1.0, 1.0]
    outs = [model([Value(v) for v in x]) for x in xs]
    preds = [o if isinstance(o, Value) else o[0] for o in outs]
    loss = sum(((p - y) ** 2 for p, y in zip(preds, ys)), Value(0.0))
    e = Explorer(loss)
    assert e.description().collapsed
    e.last()
    src = e.diagram().source
    assert "each neuron applied to one example is drawn as one box" in src.replace("\n", " ")
    assert "color=red" in src  # the current step's box or node is highlighted


def gpt_step() -> tuple:
    import bench_modules

    return bench_modules.gpt_step(2, dim=8, heads=2, context=4, vocab=11)


def test_a_large_recorded_graph_is_stepped_block_by_block_and_a_block_opens() -> None:
    from microgrid import backward_steps, forward_steps

    loss, sd = gpt_step()
    e = Explorer(loss, params=sd)
    assert e.blocks is not None and len(e.blocks.view.pieces) <= 200
    pieces = [s.piece for s in e.forward]
    assert len(e) == len(e.blocks.forward) + len(e.blocks.backward) < 2 * len(pieces) + 1
    assert e.counter() == f"step 1 of {len(e)} · forward · block by block"
    head = e.forward[0].piece
    assert e.text().split("\n")[1].startswith(f"head 11×8 · {head.values} entries")
    assert not e.can_open()  # a matrix holds no steps of its own
    with pytest.raises(ValueError, match="open: the step at 0 is the matrix 'head 11×8'"):
        e.open()
    block = next(k for k, s in enumerate(e.backward) if s.piece.kind == "part")
    e.goto(len(e.forward) + block)
    title = e.step.piece.title
    assert e.can_open()
    e.open()
    assert e.opened is not None and e.opened.piece.title == title
    assert e.phase == "backward" and e.index == 0
    assert e.counter().endswith(f"· backward · inside {title}")
    members = set(e.opened.piece.part.members())
    full_forward = forward_steps(loss, params=sd)
    full_backward = backward_steps(loss, params=sd)
    assert [s.index for s in e.forward] == [s.index for s in full_forward if s.node in members]
    assert [str(s) for s in e.backward] == [str(full_backward[s.index]) for s in e.backward]
    e.last()
    marks = e.marks()  # the whole scalar pass up to this step: backward()'s gradients so far
    assert marks.current is e.step.node
    assert all(marks.grads[c.parent] == c.grad_after for c in e.step.contributions)
    with pytest.raises(ValueError, match="already inside"):
        e.open()
    e.close()
    assert e.opened is None and e.position == len(e.forward) + block
    assert e.step.piece.title == title
    with pytest.raises(ValueError, match="close: no block is open"):
        e.close()


def test_a_block_steps_marks_show_what_the_pieces_stepped_so_far_know() -> None:
    loss, sd = gpt_step()
    e = Explorer(loss, params=sd)
    k = next(i for i, s in enumerate(e.forward) if s.piece.kind == "part")
    marks = e.marks(k)
    step = e.forward[k]
    assert marks.current is step.piece.outputs[-1]
    assert set(step.piece.part.members()) <= marks.known
    assert not marks.grads_shown
    marks = e.marks(len(e) - 1)  # backward done: every gradient is backward()'s
    read = [v for row in sd["wq"] for v in row if v in e.blocks.view.piece_of]
    assert len(read) > 40 and all(marks.grads[v] == v.grad for v in read)


def test_the_widget_opens_a_block_and_comes_back() -> None:
    loss, sd = gpt_step()
    e = Explorer(loss, params=sd)
    e.widget()
    assert e.open_button.disabled and e.close_button.disabled
    k = next(i for i, s in enumerate(e.forward) if s.piece.kind == "part")
    e.slider.value = k
    assert not e.open_button.disabled
    e.open_button.click()
    assert e.opened is not None and e.slider.max == len(e) - 1 and e.slider.value == 0
    assert "inside " + e.opened.piece.title in e.counter_label.value
    assert e.open_button.disabled and not e.close_button.disabled
    e.next_button.click()
    assert e.position == 1 and e.step_text.value.startswith("<pre>")
    e.close_button.click()
    assert e.opened is None and e.slider.value == k and e.position == k
    assert "block by block" in e.counter_label.value
    small = Explorer(slide())
    small.widget()
    assert small.open_button.layout.display == "none"


def test_a_small_graph_or_one_without_blocks_is_stepped_value_by_value() -> None:
    assert Explorer(slide()).blocks is None
    with pytest.raises(ValueError, match="open: this graph is stepped value by value"):
        Explorer(slide()).open()
    loss, sd = gpt_step()
    assert Explorer(loss, params=sd, max_nodes=10**6).blocks is None
    e = Explorer(loss, params=sd, depth=0)  # asked for: block steps even so
    assert e.blocks is not None
    assert {s.piece.kind for s in e.forward} >= {"matrix", "part"}


def test_params_name_the_parameters_in_the_explorers_steps() -> None:
    from microgrid import Value

    w = [[Value(0.5), Value(-1.0)]]
    x = Value(2.0, "x")
    y = w[0][0] * x + w[0][1]
    e = Explorer(y, params={"w": w})
    assert [s.name for s in e.forward][:3] == ["w[0][0]", "x", "v1"]
    assert "w[0][1]: local" in e.transcript()
