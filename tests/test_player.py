"""export_html: the backprop walk-through and the recorded training run as one self-contained
HTML page — its content checked against the stepper, then played in headless Chromium with
the network cut off."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import struct
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import CHROMIUM_ARGS, chromium, missing_browser, require

from microgrid import Value, backward_steps, export_html, forward_steps
from microgrid.data import make_moons
from microgrid.losses import mse
from microgrid.nn import MLP
from microgrid.optim import Adam
from microgrid.train import fit
from microgrid.viz import DiagramTooLargeError, LiveView
from microgrid.viz.examples import EXAMPLES, neuron_example, slide_example
from microgrid.viz.explorer import Explorer
from microgrid.viz.frame import Frame
from microgrid.viz.player import picture_at, walkthrough_frames
from microgrid.viz.render import Diagram, find_renderer

ROOT = Path(__file__).resolve().parent.parent
SVG = "{http://www.w3.org/2000/svg}"

needs_renderer = pytest.mark.skipif(
    find_renderer("svg") is None and not os.environ.get("CI"),
    reason="no Graphviz renderer installed (CI installs one)")


def highlighted_names(svg: str) -> list[str]:
    """The first text (the name) of every node drawn with draw_dot's red highlight border."""
    root = ET.fromstring(svg)
    names = []
    for g in root.iter(f"{SVG}g"):
        if g.get("class") != "node":
            continue
        shapes = [e for e in g if e.tag in (f"{SVG}polygon", f"{SVG}path", f"{SVG}ellipse")]
        if any(s.get("stroke") == "red" for s in shapes):
            texts = [t.text or "" for t in g.iter(f"{SVG}text")]
            names.append(texts[0])
    return names


def step_text(step: Any) -> str:
    """The stepper's text of a step, without its index in its pass: the walk-through, like
    the notebook explorer, numbers the steps once across both passes."""
    return re.sub(r"^\[\d+\] ", "", str(step))


def stepper_script(f: Value, fmt: str = ".4g") -> list[tuple[str, str]]:
    """(the step's text, the highlighted node's name) for every step, from the stepper."""
    return ([(step_text(s), s.name) for s in forward_steps(f, fmt)]
            + [(step_text(s), s.name) for s in backward_steps(f, fmt=fmt)])


# -- the page's content, without a browser --------------------------------------------

@pytest.mark.slow
@needs_renderer
@pytest.mark.parametrize("example", ["slide", "neuron", "worked"])
def test_every_frame_has_the_steppers_text_and_highlights_its_node(example: str) -> None:
    f = EXAMPLES[example][0]()
    fmt = ".9g" if example == "worked" else ".4g"  # the lecture notes' precision
    board = walkthrough_frames(f, fmt=fmt, hide_constants=example == "worked")
    frames = board.frames
    expected = stepper_script(f, fmt)
    assert [fr["text"] for fr in frames] == [text for text, _ in expected]
    assert all(str(step).endswith(fr["text"]) for fr, step in zip(
        frames, [*forward_steps(f, fmt), *backward_steps(f, fmt=fmt)]))
    for k, (fr, (_, name)) in enumerate(zip(frames, expected)):
        assert highlighted_names(board.svg_at(k)) == [name]
        assert fr["node"] == name
    n_forward = len(forward_steps(f))
    assert frames[0]["caption"] == f"step 1 of {len(frames)} · forward"
    assert frames[n_forward]["caption"] == f"step {n_forward + 1} of {len(frames)} · backward"
    assert [fr["phase"] for fr in frames] == (["forward"] * n_forward
                                              + ["backward"] * (len(frames) - n_forward))
    if example == "worked":  # Matt Mazur's published numbers come out of the steps
        texts = "\n".join(fr["text"] for fr in frames)
        assert "E_total = E_o1 + E_o2 = 0.274811083 + 0.0235600256 = 0.298371109" in texts
        assert ("w5: local ∂net_o1/∂w5 = 0.593269992   contribution 0.138498562 × "
                "0.593269992 = 0.0821670406") in texts  # δ_o1 · out_h1 = ∂E/∂w5


@needs_renderer
def test_the_diagrams_show_the_numbers_of_each_step() -> None:
    f = slide_example()
    board = walkthrough_frames(f)
    last = board.svg_at(len(board.frames) - 1)  # after backprop: every gradient known
    texts = [t.text for t in ET.fromstring(last).iter(f"{SVG}text")]
    for value in (x for x in (f, *f.parents, *f.parents[0].parents)):
        assert value.label in texts
    f.backward()  # the engine as the oracle of the last picture
    (q, z), (x, y) = f.parents, f.parents[0].parents
    for node in (f, q, z, x, y):
        assert f"grad {node.grad:g}" in texts
    first_backward = board.svg_at(len(forward_steps(f)))
    assert "grad ?" in [t.text for t in ET.fromstring(first_backward).iter(f"{SVG}text")]


@needs_renderer
def test_the_page_is_one_file_that_fetches_nothing(tmp_path: Path) -> None:
    path = export_html(tmp_path / "slide.html", slide_example())
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert re.findall(r"<(?:link|iframe|img|object|embed)\b", page) == []
    assert re.findall(r'\b(?:src|href)\s*=\s*\\?["\']?(?!#)', page) == []
    assert "@import" not in page and "url(http" not in page
    urls = set(re.findall(r"https?://[^\s\\\"'<>)]+", page))
    assert urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}, urls
    found = re.search(r'<script type="application/json" id="mg-data">(.*?)</script>', page,
                      re.S)
    assert found is not None
    data = json.loads(found.group(1))
    assert [fr["text"] for fr in data["frames"]] == [t for t, _ in stepper_script(
        slide_example())]
    assert len(data["frames"]) == 7
    assert len(re.findall(r"<svg\b", page)) == 1  # one picture, laid out once


def svg_texts(svg: str) -> list[str]:
    return [t.text or "" for t in ET.fromstring(svg).iter(f"{SVG}text")]


def mlp_loss() -> tuple[Value, MLP]:
    """The MSE of an MLP 2-4-4-1 on two examples: 192 values, 305 steps."""
    model = MLP(2, [4, 4, 1], seed=0)
    loss = mse([model(x) for x in ([0.5, -1.0], [1.5, 0.25])], [1.0, -1.0])
    loss.label = "loss"
    return loss, model


@needs_renderer
def test_a_192_value_walk_through_is_laid_out_once_and_stays_small(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    loss, _ = mlp_loss()
    layouts = []
    render = Diagram.svg
    monkeypatch.setattr(Diagram, "svg", lambda self, *a, **k: layouts.append(1) or render(
        self, *a, **k))
    page = export_html(tmp_path / "mlp.html", loss).read_text(encoding="utf-8")
    assert len(layouts) == 1  # one Graphviz layout for all 305 steps
    assert page.count('"caption":') == 305
    assert len(re.findall(r"<svg\b", page)) == 1
    assert len(page.encode()) < 2_000_000  # was 98 MB with a picture per step


@pytest.mark.slow
@needs_renderer
def test_a_chain_whose_input_feeds_every_third_node_is_laid_out_in_seconds(
        tmp_path: Path) -> None:
    x = Value(0.3, "x")
    v = x
    for _ in range(64):  # 193 values; x is an operand of every product
        v = v * x + 1.0
    start = time.perf_counter()
    board = walkthrough_frames(v)
    assert time.perf_counter() - start < 30  # was over two minutes (dot's 120 s limit)
    assert board.layouts == 1 and len(board.frames) == 257
    last = ET.fromstring(board.svg_at(len(board.frames) - 1))
    v.backward()
    grads = {t[0]: t[2] for g in last.iter(f"{SVG}g") if g.get("class") == "node"
             and len(t := [e.text or "" for e in g.iter(f"{SVG}text")]) == 3}
    assert grads["x"] == f"grad {x.grad:.4g}"


@needs_renderer
@pytest.mark.parametrize("example", ["slide", "neuron"])
def test_each_steps_numbers_are_those_of_the_step_drawn_on_its_own(example: str) -> None:
    f = EXAMPLES[example][0]()
    board = walkthrough_frames(f)
    explorer = Explorer(f)
    n_forward = len(forward_steps(f))
    for k in range(len(board.frames)):
        explorer.goto(k)
        alone = svg_texts(explorer.diagram().svg())  # laid out for this step only
        shown = [t for t in svg_texts(board.svg_at(k)) if t]  # empty: no flow on that edge
        if k < n_forward:  # the one layout shows the grad cell before backprop, unknown
            assert [t for t in shown if t.startswith("grad ")] == ["grad ?"] * sum(
                t.startswith("data ") for t in shown)
            shown = [t for t in shown if not t.startswith("grad ")]
        assert sorted(shown) == sorted(alone)


@needs_renderer
def test_the_last_step_shows_the_engines_gradients_and_values() -> None:
    loss, model = mlp_loss()
    board = walkthrough_frames(loss)
    last = ET.fromstring(board.svg_at(len(board.frames) - 1))
    boxes = {}
    for g in last.iter(f"{SVG}g"):
        texts = [t.text or "" for t in g.iter(f"{SVG}text")]
        if g.get("class") == "node" and len(texts) == 3:
            boxes[texts[0]] = texts[1:]
    loss.backward()  # the engine is the oracle of the finished walk-through
    for name, p in model.named_parameters():
        assert boxes[name] == [f"data {p.data:.4g}", f"grad {p.grad:.4g}"], name
    assert boxes["loss"] == [f"data {loss.data:.4g}", "grad 1"]


@needs_renderer
def test_a_recorded_run_stores_each_frame_as_its_changes(tmp_path: Path) -> None:
    X, y = make_moons(40, noise=0.1, seed=0)
    model = MLP(2, [3, 1], activation="tanh", init="xavier", seed=0, fused=True)
    view = LiveView(record=True, every=1, resolution=8)
    fit(model, X, y, loss="bce", optimizer=Adam(model.parameters(), lr=0.1), epochs=20,
        progress=False, callbacks=[view])
    assert [f.step for f in view.frames] == [*range(21), 20]
    page = export_html(tmp_path / "run.html", view).read_text(encoding="utf-8")
    found = re.search(r'<script type="application/json" id="mg-data">(.*?)</script>', page,
                      re.S)
    assert found is not None
    frames = json.loads(found.group(1))["frames"]
    assert [picture_at(frames, k) for k in range(len(frames))] == [f.html() for f in view.frames]
    assert "whole" in frames[0] and all("delta" in f for f in frames[1:])
    assert len(page) < sum(len(f.html()) for f in view.frames) / 3  # was about 1


@needs_renderer
def test_a_picture_the_template_cannot_read_is_laid_out_step_by_step(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from microgrid.viz import walkthrough

    def unreadable(*args: Any) -> Any:
        raise walkthrough._NoTemplate("an SVG of another shape")

    monkeypatch.setattr(walkthrough, "_one_layout", unreadable)
    f = slide_example()
    board = walkthrough_frames(f)
    assert board.svg is None and board.layouts == len(board.frames) == 7
    explorer = Explorer(f)
    for k in range(7):  # each step exactly as draw_dot draws it
        explorer.goto(k)
        assert svg_texts(board.svg_at(k)) == svg_texts(explorer.diagram().svg())
        assert highlighted_names(board.svg_at(k)) == [board.frames[k]["node"]]
    page = export_html(tmp_path / "slide.html", f).read_text(encoding="utf-8")
    found = re.search(r'id="mg-data">(.*?)</script>', page, re.S)
    assert found is not None
    frames = json.loads(found.group(1))["frames"]
    assert [picture_at(frames, k) for k in range(7)] == [board.svg_at(k) for k in range(7)]


# -- bad input ----------------------------------------------------------------------

@needs_renderer
def test_an_unwritable_path_is_a_clear_error_naming_path(tmp_path: Path) -> None:
    f = slide_example()
    with pytest.raises(FileNotFoundError, match=r"export_html: cannot write path .*does "
                                                r"not exist"):
        export_html(tmp_path / "missing" / "slide.html", f)
    (tmp_path / "dir.html").mkdir()
    with pytest.raises(IsADirectoryError, match=r"export_html: path .* is a folder"):
        export_html(tmp_path / "dir.html", f)
    (tmp_path / "file").write_text("x")
    with pytest.raises(OSError, match="export_html: cannot write path"):
        export_html(tmp_path / "file" / "slide.html", f)
    with pytest.raises(ValueError, match=r"path must end in \.html"):
        export_html(tmp_path / "slide.svg", f)
    with pytest.raises(TypeError, match="path must be a file name"):
        export_html(3, f)  # type: ignore[arg-type]
    if os.geteuid() != 0:  # root may write anywhere
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        try:
            with pytest.raises(PermissionError, match="export_html: cannot write path"):
                export_html(locked / "slide.html", f)
        finally:
            locked.chmod(0o700)
        assert list(locked.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "locked") == [
        "dir.html", "file"]  # nothing half-written left behind


@needs_renderer
def test_a_failed_export_keeps_the_old_file_whole(tmp_path: Path) -> None:
    path = tmp_path / "slide.html"
    export_html(path, slide_example())
    before = path.read_bytes()
    x = Value(1.0, "x")
    big = x
    for _ in range(40):
        big = big * x + 1.0
    with pytest.raises(DiagramTooLargeError, match="export_html: source: this graph has"):
        export_html(path, big, max_nodes=30)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["slide.html"]


@needs_renderer
def test_an_interrupted_export_keeps_the_old_page_and_leaves_no_temporary_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "course page.html"
    export_html(path, slide_example())
    before = path.read_bytes()

    def ctrl_c(src: str, dst: str) -> None:  # Ctrl-C just before the rename
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        export_html(path, neuron_example())
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["course page.html"]


@needs_renderer
def test_re_exporting_keeps_the_pages_mode_and_a_new_page_follows_the_umask(
        tmp_path: Path) -> None:
    path = tmp_path / "private.html"
    path.write_text("old", encoding="utf-8")
    path.chmod(0o600)
    export_html(path, slide_example())
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    old = os.umask(0o027)
    try:
        fresh = export_html(tmp_path / "fresh.html", slide_example())
    finally:
        os.umask(old)
    assert fresh.stat().st_mode & 0o777 == 0o640


def test_a_source_that_is_not_a_graph_or_a_run_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="source must be a Value, a LiveView"):
        export_html(tmp_path / "x.html", [1, 2])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="LiveView that recorded no frames"):
        export_html(tmp_path / "x.html", LiveView())
    with pytest.raises(TypeError, match="apply to a graph"):
        export_html(tmp_path / "x.html", LiveView(), hide_constants=True)



def test_any_object_holding_recorded_frames_plays_as_a_run_and_one_with_none_is_refused(
        tmp_path: Path) -> None:
    class Run:  # not a LiveView: the player reads only its frames
        def __init__(self, frames: list[Any]) -> None:
            self.frames = frames

    recorded = [Frame(k, k // 2, f"step {k}", f'<svg><text x="{k}">{k * k}</text></svg>', "",
                      {"step": k}) for k in range(3)]
    page = export_html(tmp_path / "run.html", Run(recorded)).read_text(encoding="utf-8")
    found = re.search(r'<script type="application/json" id="mg-data">(.*?)</script>', page,
                      re.S)
    assert found is not None
    frames = json.loads(found.group(1))["frames"]
    assert [f["outline"] for f in frames] == ["step 0", "step 1", "step 2"]
    assert [picture_at(frames, k) for k in range(3)] == [f.html() for f in recorded]
    assert "from step 0 to step 2" in page
    with pytest.raises(ValueError, match="source is a Run that recorded no frames"):
        export_html(tmp_path / "x.html", Run([]))
    with pytest.raises(TypeError, match="source must be a Value, a LiveView or a list"):
        export_html(tmp_path / "x.html", Run([1, 2]))

# -- in a browser ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    missing = missing_browser()
    if find_renderer("svg") is None:
        missing.append("a Graphviz renderer")
    require(missing, "the browser tests")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        yield b
        b.close()


class Page:
    """A page opened from disk with every request but file:// refused and recorded."""

    def __init__(self, browser: Any, path: Path, width: int = 1000) -> None:
        self.context = browser.new_context(viewport={"width": width, "height": 800})
        self.refused: list[str] = []
        self.requested: list[str] = []
        self.errors: list[str] = []

        def route(r: Any) -> None:
            url = r.request.url
            if url.startswith("file://"):
                r.continue_()
            else:
                self.refused.append(url)
                r.abort()

        self.context.route("**/*", route)
        self.page = self.context.new_page()
        self.page.on("request", lambda req: self.requested.append(req.url))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("console", lambda m: self.errors.append(m.text)
                     if m.type == "error" else None)
        self.page.goto(path.as_uri())

    def state(self) -> tuple[str, str, list[str]]:
        """(caption, step text, names of the highlighted nodes) as the page shows them."""
        names = self.page.eval_on_selector_all(
            "#picture g.node",
            """gs => gs.filter(g => [...g.children].some(s => s.getAttribute('stroke') === 'red'
                                                             && s.tagName !== 'text'))
                       .map(g => g.querySelector('text').textContent)""")
        return self.page.inner_text("#caption"), self.page.text_content("#text") or "", names

    def close(self) -> None:
        self.context.close()


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.mark.slow
@pytest.mark.parametrize("example", ["slide", "neuron"])
def test_the_browser_plays_the_walk_through_offline(browser: Any, tmp_path: Path,
                                                    example: str) -> None:
    f = EXAMPLES[example][0]()
    path = export_html(tmp_path / f"{example}.html", f)
    expected = stepper_script(f)
    n_forward = len(forward_steps(f))
    page = Page(browser, path)
    try:
        seen = []
        for k, (text, name) in enumerate(expected):
            if k:
                page.page.click("#next")
            caption, shown, highlighted = page.state()
            assert shown == text
            assert highlighted == [name]
            phase = "forward" if k < n_forward else "backward"
            assert caption == f"step {k + 1} of {len(expected)} · {phase}"
            assert page.page.inner_text("#counter") == f"{k + 1} / {len(expected)}"
            seen.append((shown, tuple(highlighted)))
        assert page.page.is_disabled("#next") and page.page.is_disabled("#last")
        assert len(set(seen)) == len(expected)  # every step shows something new
        assert len({h for _, h in seen}) >= 2  # and the highlight moves
        page.page.click("#prev")
        assert page.state()[1] == expected[-2][0]
        page.page.click("#first")
        assert page.state()[1] == expected[0][0] and page.page.is_disabled("#prev")
        page.page.keyboard.press("End")
        assert page.state()[1] == expected[-1][0]
        page.page.fill("#slider", str(n_forward))  # the slider: the seed step of backprop
        assert page.state()[1] == expected[n_forward][0]
        page.page.click("#outline li:nth-child(2)")
        assert page.state()[1] == expected[1][0]
        shot = page.page.screenshot(path=str(tmp_path / "shot.png"))
        assert png_size(shot) == (1000, 800)
        assert len(shot) > 10_000  # a drawn page, not a blank one
        assert page.errors == []
        assert page.refused == []
        assert all(u.startswith("file://") for u in page.requested), page.requested
    finally:
        page.close()


@pytest.mark.slow
def test_the_browsers_picture_of_a_step_is_the_one_computed_for_it(browser: Any,
                                                                    tmp_path: Path) -> None:
    loss, _ = mlp_loss()
    board = walkthrough_frames(loss)
    path = export_html(tmp_path / "mlp.html", loss)
    page = Page(browser, path)
    try:
        n = len(board.frames)
        for k in (0, 1, 170, 171, 250, n - 1, 3, 0):  # forward, backward, and back again
            page.page.fill("#slider", str(k))
            texts = page.page.eval_on_selector_all("#picture svg text",
                                                   "ts => ts.map(t => t.textContent)")
            assert texts == svg_texts(board.svg_at(k)), k
            assert page.state()[2] == highlighted_names(board.svg_at(k)) == [
                board.frames[k]["node"]]
        assert page.errors == [] and page.refused == []
    finally:
        page.close()


OVERLAPS = """ol => {
  // every item's number and every line of its text, as boxes on the page
  const items = [...ol.querySelectorAll('li')], boxes = items.map(li => li.getBoundingClientRect());
  const ink = document.createElement('canvas').getContext('2d');
  const lines = items.map(li => { const r = document.createRange(); r.selectNodeContents(li);
                                  return [...r.getClientRects()]; });
  const marks = items.map((li, i) => {
    const style = getComputedStyle(li), b = boxes[i], first = lines[i][0];
    ink.font = style.font;
    const w = ink.measureText(`${i + 1}. `).width;
    return style.listStylePosition === 'inside'
      ? {left: first.left - w, right: first.left, top: first.top, bottom: first.bottom}
      : {left: b.left - w, right: b.left, top: b.top, bottom: first.bottom};
  });
  const meet = (a, b) => a.left < b.right - 0.5 && b.left < a.right - 0.5
                         && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5;
  const out = [];
  items.forEach((li, i) => {
    const inked = [marks[i], ...lines[i]];
    if (inked.some(r => r.left < boxes[i].left - 0.5 || r.right > boxes[i].right + 0.5)) {
      out.push(`${i + 1}: its number or text runs out of its box`);
    }
    items.forEach((_, j) => {
      if (j !== i && inked.some(r => meet(r, boxes[j]))) {
        out.push(`${i + 1} runs into ${j + 1}`);
      }
    });
  });
  return out;
}"""


@pytest.mark.slow
@pytest.mark.parametrize("width", [1200, 800])
def test_the_list_of_steps_never_overlaps_itself(browser: Any, tmp_path: Path,
                                                 width: int) -> None:
    path = export_html(tmp_path / "worked.html", EXAMPLES["worked"][0](), hide_constants=True)
    page = Page(browser, path, width=width)
    try:
        assert page.page.locator("#outline li").count() == 46
        assert page.page.eval_on_selector("#outline", OVERLAPS) == []
        columns = page.page.eval_on_selector_all(
            "#outline li", "ls => new Set(ls.map(l => l.getBoundingClientRect().left)).size")
        assert columns == 2  # two columns at both widths
    finally:
        page.close()


@pytest.mark.slow
def test_markup_in_labels_stays_text_in_the_one_layout_page(browser: Any,
                                                             tmp_path: Path) -> None:
    hostile = ['<img src=x onerror="alert(1)">', '"><script>alert(2)</script>',
               "</text></g><g id=mg-s0>"]
    a, b = Value(2.0, hostile[0]), Value(-3.0, hostile[1])
    f = a * b + a
    f.label = hostile[2]
    path = export_html(tmp_path / "hostile.html", f)
    page = Page(browser, path)
    dialogs: list[str] = []
    page.page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    try:
        for k in range(len(walkthrough_frames(f).frames)):
            page.page.fill("#slider", str(k))
            names = page.page.eval_on_selector_all(
                "#picture svg g.node", "gs => gs.map(g => g.querySelector('text').textContent)")
            assert set(hostile) <= set(names)
        assert page.page.locator("#picture img, #picture script").count() == 0
        assert dialogs == [] and page.errors == [] and page.refused == []
    finally:
        page.close()


@pytest.mark.slow
def test_the_browser_plays_a_recorded_training_run(browser: Any, tmp_path: Path) -> None:
    X, y = make_moons(40, noise=0.1, seed=0)
    model = MLP(2, [3, 1], activation="tanh", init="xavier", seed=0, fused=True)
    view = LiveView(record=True, every=5, overhead=None, resolution=8)
    fit(model, X, y, loss="bce", optimizer=Adam(model.parameters(), lr=0.1), epochs=20,
        progress=False, callbacks=[view])
    assert [fr.step for fr in view.frames] == [0, 5, 10, 15, 20, 20]
    path = view.export_html(tmp_path / "run.html")
    page = Page(browser, path)
    try:
        for k, frame in enumerate(view.frames):
            if k:
                page.page.keyboard.press("ArrowRight")
            assert page.page.inner_text("#picture .mg-head") == frame.head
            assert page.page.inner_text("#outline li.current") == frame.head
            numbers = json.loads(page.page.text_content("#picture .mg-numbers") or "")
            assert numbers == json.loads(json.dumps(frame.numbers))
        assert numbers["parameters"] == [[n, p.data, p.grad]
                                         for n, p in model.named_parameters()]
        for k in (0, 3, 1, len(view.frames) - 1):  # back, on, back: rebuilt from the start
            page.page.fill("#slider", str(k))
            shown = json.loads(page.page.text_content("#picture .mg-numbers") or "")
            assert shown == json.loads(json.dumps(view.frames[k].numbers))
            assert page.page.inner_text("#picture .mg-head") == view.frames[k].head
        assert page.page.locator("#picture .mg-graph svg").count() == 1
        page.page.click("#picture .mg-graph")  # the graph zooms to its natural size
        assert page.page.locator("#picture .mg-graph.mg-zoom").count() == 1
        shot = page.page.screenshot(full_page=True)
        width, height = png_size(shot)
        assert width == 1000 and height > 800
        assert page.errors == [] and page.refused == []
    finally:
        page.close()


# -- block by block ------------------------------------------------------------------------

def small_gpt() -> tuple[Value, dict]:
    import bench_modules

    return bench_modules.gpt_step(2, dim=8, heads=2, context=4, vocab=11)


def page_frames(page: str) -> list[dict[str, Any]]:
    found = re.search(r'<script type="application/json" id="mg-data">(.*?)</script>', page,
                      re.S)
    assert found is not None
    frames: list[dict[str, Any]] = json.loads(found.group(1))["frames"]
    return frames


@needs_renderer
def test_a_large_recorded_graph_is_walked_block_by_block_on_one_layout() -> None:
    from microgrid.viz.dot import Style, emit
    from microgrid.viz.walkthrough import walk_explorer

    loss, sd = small_gpt()
    e = Explorer(loss, params=sd)
    board = walk_explorer(e)
    assert board.layouts == 1 and len(board.frames) == len(e) < 100
    assert [f["text"].split("\n")[0] for f in board.frames] == [
        str(s).split("\n")[0].partition("] ")[2] for s in [*e.forward, *e.backward]]
    sizes = re.compile(r"‖grad(?: out)?‖ (?:\?|[-0-9.e+]+)")
    for k in range(len(e)):  # each step's gradient sizes are those of the step drawn alone
        marks = dataclasses.replace(e.marks(k), grads_shown=True)  # (as the walk-through)
        alone = emit(e.description(), marks, Style()).source
        assert sizes.findall(board.svg_at(k)) == sizes.findall(alone), k
    last = sizes.findall(board.svg_at(len(e) - 1))
    assert "?" not in "".join(last) and len(last) > 10


@needs_renderer
def test_an_opened_block_gets_its_own_page_of_scalar_steps_linked_both_ways(
        tmp_path: Path) -> None:
    loss, sd = small_gpt()
    path = export_html(tmp_path / "gpt.html", loss, params=sd, open="gpt #1")
    e = Explorer(loss, params=sd)
    at = next(s.at for s in e.forward if s.piece.title == "gpt #1")
    k = next(s.index for s in e.forward if s.at == at)
    inner = tmp_path / f"gpt-block{at}.html"
    assert sorted(p.name for p in tmp_path.iterdir()) == [inner.name, "gpt.html"]
    frames = page_frames(path.read_text(encoding="utf-8"))
    linked = [f for f in frames if f.get("link")]
    assert [f["link"] for f in linked] == [inner.name, inner.name]  # its forward and backward
    assert linked[0]["linktext"] == "open gpt #1: its scalar steps ↗"
    assert path.stat().st_size < 200_000
    page = inner.read_text(encoding="utf-8")
    assert f'href="gpt.html#{k}"' in page
    steps = e.blocks.descend(e.forward[k]) + e.blocks.descend(
        next(s for s in e.backward if s.at == at))
    assert [f["text"] for f in page_frames(page)] == [
        str(s).partition("] ")[2] for s in steps]


def test_open_names_a_block_of_the_walk_through_or_is_refused(tmp_path: Path) -> None:
    from microgrid.parts import UnknownBlockError

    loss, sd = small_gpt()
    with pytest.raises(UnknownBlockError, match="no block of the walk-through is named "
                                                "'gpt #7'; the closest are 'gpt #1', 'gpt #0'"):
        export_html(tmp_path / "x.html", loss, params=sd, open="gpt #7")
    with pytest.raises(ValueError, match="open: this graph is walked value by value"):
        export_html(tmp_path / "x.html", slide_example(), open="gpt #0")
    with pytest.raises(TypeError, match="open applies to a graph"):
        export_html(tmp_path / "x.html", [], open="gpt #0")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_the_player_of_a_gpt_training_step_opens_in_a_browser_in_seconds(
        browser: Any, tmp_path: Path) -> None:
    """One training step of the scalar GPT (5 positions, about 41,000 values), walked block
    by block: written in a few seconds, a small file, opened and stepped in seconds."""
    import bench_modules

    loss, sd = bench_modules.gpt_step(5)
    began = time.perf_counter()
    path = export_html(tmp_path / "gpt.html", loss, params=sd)
    written = time.perf_counter() - began
    size = path.stat().st_size
    frames = page_frames(path.read_text(encoding="utf-8"))
    began = time.perf_counter()
    page = Page(browser, path)
    try:
        page.page.wait_for_selector("body[data-position='0']")
        opened = time.perf_counter() - began
        page.page.keyboard.press("End")
        assert page.page.get_attribute("body", "data-position") == str(len(frames) - 1)
        stepped = time.perf_counter() - began
        assert page.errors == [] and page.refused == []
    finally:
        page.close()
    print(f"\nGPT step player: {len(frames)} frames, {size / 1e6:.2f} MB, written in "
          f"{written:.1f} s, opened in {opened:.2f} s, at its last step in {stepped:.2f} s")
    assert size < 1_000_000
    assert written < 60 and opened < 5 and stepped < 8
