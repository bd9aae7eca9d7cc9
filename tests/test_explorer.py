"""The explorer: stepping logic, the text transcript, and the widget app driven by code."""

from __future__ import annotations

import pytest

from microgrid import explore
from microgrid import explorer as explorer_module
from microgrid import render as rendering
from microgrid.__main__ import slide_example as slide
from microgrid.explorer import Explorer


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
    assert e.text().startswith("backward pass, step 2 of 2\n[1] q = x + y")
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
    assert "[0] x = -2" in e.step_text.value
    e.next_button.click()
    assert e.position == 1 and e.slider.value == 1
    assert "[1] y = 5" in e.step_text.value
    e.last_button.click()
    assert e.slider.value == 6 and e.next_button.disabled and not e.prev_button.disabled
    assert "backward pass, step 2 of 2" in e.step_text.value
    e.prev_button.click()
    assert e.position == 5 and "(the seed)" in e.step_text.value
    e.slider.value = 3  # dragging the slider moves the explorer
    assert e.position == 3 and "[3] z = -4" in e.step_text.value
    e.first_button.click()
    assert e.position == 0 and e.slider.value == 0
    assert app.children[0].children[4] is e.slider


def test_the_widget_shows_the_rendered_diagram() -> None:
    assert rendering.find_renderer() is not None, "pip install -e '.[dev]' brings a renderer"
    e = Explorer(slide())
    e.widget()
    e.last()
    assert e.picture.value.startswith("<svg")
    assert "grad &#45;4" in e.picture.value or "grad -4" in e.picture.value


def test_without_a_renderer_the_widget_shows_how_to_install_one(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rendering, "available_renderers", lambda: [])
    e = Explorer(slide())
    e.widget()
    assert "pip install" in e.picture.value and "digraph microgrid" in e.picture.value


def test_in_jupyter_explore_returns_the_app_instead_of_printing(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(explorer_module, "in_notebook", lambda: True)
    e = explore(slide())
    assert capsys.readouterr().out == ""
    bundle = e._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
