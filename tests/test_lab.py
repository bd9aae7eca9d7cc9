"""The Lab page in a real browser: microgrid running in Pyodide, served by a plain server.

The Lab is built once (``python docs/hooks/lab.py --out``'s code, into a temporary
folder), served by Python's static file server on 127.0.0.1 and opened once in headless
Chromium (tests/browser.py), which then runs every check on that one page: the slide run
when the page opens (its printed output and its diagram's numbers), the player stepping
forward and back, an exception's traceback and a run after it, an endless loop stopped and
a run after it, a graph too large to draw. Every request is recorded; any to another host
fails the test. A second, short page load without WebAssembly shows the plain message.

Needs npm (to install the pinned interpreter) and, the first time, a network; Chromium and
Playwright. Locally a missing piece skips the test and says which; under CI it fails. The
whole test has a fixed budget: ``BUDGET`` seconds, or ``MICROGRID_LAB_BUDGET``.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import unquote

import pytest
from browser import CHROMIUM_ARGS, chromium, missing_browser, require, until
from hooks import hook
from test_player import highlighted_names
from test_viz import check_slide_svg

pytestmark = pytest.mark.slow  # a browser and a WebAssembly interpreter

ROOT = Path(__file__).resolve().parent.parent
BUDGET = float(os.environ.get("MICROGRID_LAB_BUDGET", "60"))  # seconds, all of it
LAB = "#microgrid-lab"


def builder() -> ModuleType:
    """docs/hooks/lab.py, the Lab's builder, as a module."""
    return hook("lab")


@pytest.fixture(scope="session")
def lab_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Lab built on its own into a folder, once per test session."""
    require(missing_browser(), "the Lab's browser test")
    out = tmp_path_factory.mktemp("lab")
    said: list[str] = []
    manifest = builder().build(out, said.append, standalone=True)
    require(said, "the Lab's browser test (the Lab could not be built)")
    assert manifest["complete"] and manifest["wheels"] and manifest["vendor"]
    return out


@pytest.fixture
def served(lab_folder: Path) -> Iterator[str]:
    """The Lab's folder served by a plain static server on 127.0.0.1: its URL."""
    with builder().serve(lab_folder) as url:
        yield url


RUNS = f"n => Number(document.querySelector('{LAB}').dataset.runs || 0) >= n"


def output(page: Any) -> str:
    text: str = page.inner_text(f"{LAB} .mg-output")
    return text


def run(page: Any, code: str, runs: int, deadline: float) -> str:
    """Put ``code`` in the editor, press Run, wait for the run to end: its output text."""
    page.fill(f"{LAB} textarea", code)
    page.click(f"{LAB} .mg-run")
    until(page, RUNS, runs, deadline, f"run {runs} to end")
    return output(page)


def diagram_svgs(page: Any) -> list[str]:
    """The SVG of every diagram shown (each an <img> of a data: URL)."""
    srcs: list[str] = page.eval_on_selector_all(f"{LAB} img.microgrid-output-svg",
                                                "imgs => imgs.map(i => i.src)")
    return [unquote(src.split(",", 1)[1]) for src in srcs]


def player_frame(page: Any, deadline: float) -> Any:
    """The frame holding the player's page (inside the Lab's sandboxed output frame)."""
    while time.monotonic() < deadline:
        for frame in page.frames:
            try:
                if frame.evaluate("() => !!document.getElementById('next')"):
                    return frame
            except Exception:  # a frame still loading
                continue
        time.sleep(0.1)
    raise AssertionError("the player did not appear (time budget spent)")


def player_state(frame: Any) -> tuple[str, list[str]]:
    """The player's counter and the names of its highlighted nodes."""
    svg: str = frame.evaluate("() => document.querySelector('#picture svg').outerHTML")
    return frame.inner_text("#counter"), highlighted_names(svg)


def left_out(folder: Path) -> Path:
    """The Lab's page as a build without npm leaves it: the scripts, no bundle."""
    lab = builder()
    folder.mkdir()
    said: list[str] = []
    lab.npm_packages = lambda say: say("npm is not installed") or None  # as without npm
    lab.DEPENDENCIES = ()
    lab.own_wheel = lambda say: None
    manifest = lab.build(folder, said.append, standalone=True)
    assert not manifest["complete"] and not (folder / "vendor").exists()
    return folder


def test_the_lab_runs_the_slide_steps_stops_and_recovers_offline(served: str,
                                                                 tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    deadline = time.monotonic() + BUDGET
    origin = served.rstrip("/")
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS,
                                    timeout=30_000)
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        page.set_default_timeout(20_000)
        page.on("request", lambda r: requests.append(r.url))
        try:
            page.goto(served, wait_until="domcontentloaded")
            # the slide runs when the page opens: its printed output and its diagram
            until(page, RUNS, 1, deadline, "the slide's first run")
            slide_code = page.input_value(f"{LAB} textarea")
            text = output(page)
            assert "f = -12.0" in text and "grads: -4.0 -4.0 3.0" in text, text
            (svg,) = diagram_svgs(page)
            check_slide_svg(svg)  # data -12, grad -4 for x and y, grad 3 for z, …

            # the editor: Tab indents, Escape then Tab moves on to the Run button
            page.fill(f"{LAB} textarea", "for i in range(3):\n")
            page.press(f"{LAB} textarea", "End")
            page.keyboard.press("Control+End")
            page.keyboard.press("Tab")
            page.keyboard.type("print(i)")
            assert page.input_value(f"{LAB} textarea") == "for i in range(3):\n    print(i)"
            page.keyboard.press("Escape")
            page.keyboard.press("Tab")
            assert page.evaluate("() => document.activeElement.className") == "mg-run"

            # the player: next moves the highlight to the next node, back moves it back
            page.fill(f"{LAB} textarea", slide_code)  # unedited: no question asked
            page.select_option(f"{LAB} select", index=1)  # the player's example
            assert "Player(f)" in page.input_value(f"{LAB} textarea")
            page.click(f"{LAB} .mg-run")
            until(page, RUNS, 2, deadline, "the player's run")
            frame = player_frame(page, deadline)
            first = player_state(frame)
            assert first == ("1 / 7", ["x"]), first
            frame.click("#next")
            assert player_state(frame) == ("2 / 7", ["y"])
            frame.click("#last")
            last = player_state(frame)
            assert last[0] == "7 / 7" and last[1] == ["q"], last  # backprop reaches q
            frame.click("#prev")
            assert player_state(frame) == ("6 / 7", ["f"])

            # an exception shows its traceback; the interpreter stays usable
            text = run(page, "def g(v):\n    return 1 / v\ng(0)", 3, deadline)
            assert "Traceback" in text and 'File "<cell>", line 3' in text, text
            assert "ZeroDivisionError: division by zero" in text, text
            assert run(page, "print(sum(range(10)))", 4, deadline).strip() == "45"

            # a stream's carriage returns overwrite its line, as in a terminal (tqdm's bar)
            run(page, "import sys\nsys.stderr.write('fit 10%\\rfit 50%\\rfit 100%\\n')",
                5, deadline)
            assert page.text_content(f"{LAB} .microgrid-output-stderr") == "fit 100%\n"

            # what a run shows cannot reach into the page: HTML runs in a sandboxed frame,
            # an SVG is shown as an image (its script never runs)
            page.evaluate("() => { document.title = 'Lab'; }")
            run(page, "from IPython.display import display, HTML, SVG\n"
                      "display(HTML('<p id=mine>mine</p><script>parent.document.title = "
                      "\"changed\"</script>'))\n"
                      "SVG('<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"parent.document"
                      ".title = 1\"><script>parent.document.title = 2</script></svg>')", 6,
                deadline)
            frame = page.locator(f"{LAB} iframe.microgrid-output-frame")
            assert frame.get_attribute("sandbox") == "allow-scripts"
            assert page.frame_locator(f"{LAB} iframe.microgrid-output-frame").locator(
                "#mine").inner_text() == "mine"
            assert page.locator(f"{LAB} img.microgrid-output-svg").count() == 1
            time.sleep(0.3)
            assert page.title() == "Lab"

            # a graph too large to draw: draw_dot's message
            text = run(page, "from microgrid import Value, draw_dot\nv = Value(1.0)\n"
                             "for _ in range(300):\n    v = v * 1.0\ndraw_dot(v)", 7,
                       deadline)
            assert "DiagramTooLargeError" in text and "max_nodes" in text, text

            # an endless run is stopped; the fresh interpreter runs the next code
            page.fill(f"{LAB} textarea", "while True:\n    pass")
            page.click(f"{LAB} .mg-run")
            time.sleep(0.5)
            assert page.is_enabled(f"{LAB} .mg-stop")
            page.click(f"{LAB} .mg-stop")
            until(page, RUNS, 8, deadline, "the endless run to be stopped")
            assert "Stopped" in output(page)
            text = run(page, "from microgrid import Value\nprint(Value(2.0).exp().data)",
                       9, deadline)
            assert text.strip() == "7.38905609893065", text

            # choosing an example over edited code asks first (declined here: code kept)
            dialogs: list[str] = []
            page.once("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.select_option(f"{LAB} select", index=2)
            assert dialogs and "Replace the code you edited" in dialogs[0]
            assert "Value(2.0).exp()" in page.input_value(f"{LAB} textarea")

            # no WebAssembly: a plain message, no interpreter
            bare = browser.new_page()
            bare.on("request", lambda r: requests.append(r.url))
            bare.add_init_script("delete globalThis.WebAssembly")
            bare.goto(served, wait_until="domcontentloaded")
            message = until(bare, "() => { const m = document.querySelector('.mg-message');"
                                  " return m && m.innerText; }", None, deadline,
                            "the message for a browser without WebAssembly")
            assert "no WebAssembly" in message

            # a site built without npm: the page says what was left out
            with builder().serve(left_out(tmp_path / "left-out")) as url:
                bare = browser.new_page()
                bare.on("request", lambda r: requests.append(r.url))
                bare.goto(url, wait_until="domcontentloaded")
                message = until(bare, "() => { const m = document.querySelector("
                                      "'.mg-message'); return m && m.innerText; }", None,
                                deadline, "the message for a build without the bundle")
                assert "left the Lab out" in message and "npm is not installed" in message
                origin2 = url.rstrip("/")
                requests[:] = [u for u in requests if not u.startswith(origin2 + "/")]
        except AssertionError:
            page.screenshot(path=str(tmp_path / "failure.png"))
            raise
        finally:
            browser.close()
    elsewhere = [u for u in requests
                 if not (u.startswith(origin + "/") or u.startswith(("data:", "about:")))]
    assert not elsewhere, elsewhere
    assert any(u.endswith("pyodide.asm.wasm") for u in requests)  # it did load from here


def test_the_readme_states_the_bundles_size_as_built(lab_folder: Path) -> None:
    manifest = json.loads((lab_folder / "manifest.json").read_text())
    vendor, wheels = manifest["vendor"], manifest["wheels"]
    interpreter = sum(v for k, v in vendor.items() if k.startswith("py"))
    graphviz = sum(v for k, v in vendor.items() if not k.startswith("py"))
    page = sum(p.stat().st_size for p in (ROOT / "docs" / "lab").iterdir() if p.is_file())
    own = sum(v for k, v in wheels.items() if k.startswith("microgrid")) + page
    total = interpreter + graphviz + sum(wheels.values()) + page
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    stated = re.search(r"The bundle is ([\d.]+) MB, nearly all of it the interpreter "
                       r"\(([\d.]+) MB\) and Graphviz \(([\d.]+) MB\); microgrid's own part, "
                       r"its wheel and the page's scripts, is under ([\d.]+) MB", readme)
    assert stated, "README.md no longer states the Lab's bundle size"
    assert [float(x) for x in stated.groups()[:3]] == [
        round(total / 1e6, 1), round(interpreter / 1e6, 1), round(graphviz / 1e6, 1)]
    assert own < float(stated.group(4)) * 1e6  # our own part stays small
