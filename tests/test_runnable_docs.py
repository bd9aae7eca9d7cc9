"""Runnable docs: the Python examples of the docs site get Run and Edit buttons that run
them with the real microgrid in the page (docs/javascripts/runnable.js on the Lab's
interpreter), one interpreter per page.

In headless Chromium, from a plain static server on 127.0.0.1 serving the site built once
per session (``docs_site``): the home page's example runs (its printed gradients and its
diagram), an edited example runs and sees the names the first one made, and a notebook
page's cells get buttons except one drawing with matplotlib. Every request is recorded;
any to another host fails the test. The choice of examples (what the page's interpreter
can import, and what an example left out made) is checked in Node. Locally a missing piece
(npm, Chromium, Playwright, the Lab's bundle) skips naming it; under CI it fails. The
browser part has a fixed budget: ``BUDGET`` seconds, or ``MICROGRID_RUNNABLE_BUDGET``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from browser import Requests, browser_page, missing_browser, require, static_server, until
from test_viz import check_slide_svg, svg_texts

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "docs" / "javascripts" / "runnable.js"
BUDGET = float(os.environ.get("MICROGRID_RUNNABLE_BUDGET", "90"))  # seconds, the browser part
RUNS = "([i, n]) => Number(document.querySelectorAll('.microgrid-runnable')[i]" \
       "?.dataset.runs || 0) >= n"


def _node() -> str:
    node = shutil.which("node")
    require([] if node else ["node (apt-get install nodejs)"], "the runnable docs' check")
    assert node is not None
    return node


def _choose(tmp_path: Path, pages: list[list[str]]) -> list[list[bool]]:
    """runnable.js's choice of examples for each page (examples in page order), in Node."""
    module = tmp_path / "runnable.mjs"  # loadable in Node: its page-only parts wait on
    module.write_text(SCRIPT.read_text(encoding="utf-8").replace(  # `document`
        "new URL(\"../lab/\", import.meta.url)", "null"), encoding="utf-8")
    probe = ("const { choose } = await import(process.argv[1]);"
             "console.log(JSON.stringify(JSON.parse(process.argv[2]).map(choose)));")
    done = subprocess.run([_node(), "--input-type=module", "-e", probe, module.as_uri(),
                           json.dumps(pages)], capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 0, done.stderr
    chosen: list[list[bool]] = json.loads(done.stdout)
    return chosen


def test_an_example_gets_buttons_when_it_imports_only_what_the_page_has(
        tmp_path: Path) -> None:
    alone = {
        "from microgrid import Value\nx = Value(2.0)": True,
        "import math, random\nfrom microgrid.nn import MLP  # a model": True,
        "from microgrid.micrograd.engine import Value": True,
        "import os.path\nfrom IPython.display import display": True,
        "print(1 + 1)": True,
        "import numpy as np\nfrom microgrid import Value": False,
        "from matplotlib import pyplot as plt": False,
        "import signal, threading": False,
        "import math\nimport sympy": False,
        "from microgrid.plot import decision_boundary\ndecision_boundary(m, X, y)": False,
        "history.plot()": False,  # draws with matplotlib
        "%timeit Value(1.0) * 2": False,
        "!pip install microgrid-autodiff": False,
    }
    chosen = [page[0] for page in _choose(tmp_path, [[code] for code in alone])]
    assert dict(zip(alone, chosen, strict=True)) == alone


def test_an_example_using_what_a_left_out_one_made_is_left_out_too(tmp_path: Path) -> None:
    pages = [
        # the names a left-out example made (or imported) are missing later on the page
        ["import sympy\nfrom microgrid import Value\nx = Value(1.0)", "print(x.data)",
         "y = 2\nprint(y)", "def f(v):\n    return np.tanh(v)"],
        ["import numpy as np\nW = np.ones(3)", "for w in W:\n    print(w)",
         "from microgrid import Value\nv = Value(1.0)", "print(v.data, W)"],
        # a name bound to microgrid.plot: importing it works, using it does not
        ["from microgrid import Value, plot\nv = Value(1.0)", "ax = plot.activations()",
         "print(ax)", "print(v.data)", "from microgrid import plot as p", "p.history(h)"],
    ]
    assert _choose(tmp_path, pages) == [[False, False, True, True],
                                        [False, False, True, False],
                                        [True, False, False, True, True, False]]


def _ready(site: Path) -> None:
    """Skip (locally) or fail (under CI) when the build left the Lab's bundle out."""
    manifest = site / "lab" / "manifest.json"
    if not manifest.is_file():
        require(["the Lab's hook in mkdocs.yml (no lab/manifest.json)"], "runnable docs")
    require(json.loads(manifest.read_text(encoding="utf-8"))["missing"], "runnable docs")
    require(missing_browser(), "the runnable docs' browser test")


def _svgs(page: Any, box: int) -> list[str]:
    srcs: list[str] = page.evaluate(
        "i => [...document.querySelectorAll('.microgrid-runnable')[i]"
        ".querySelectorAll('img.microgrid-output-svg')].map(img => img.src)", box)
    return [unquote(src.split(",", 1)[1]) for src in srcs]


@pytest.mark.slow  # the docs build, a browser and the interpreter in WebAssembly
def test_a_docs_example_runs_in_the_page_and_an_edited_one_sees_its_names(
        docs_site: Path, tmp_path: Path) -> None:
    _ready(docs_site)
    deadline = time.monotonic() + BUDGET
    requests = Requests()
    with static_server(docs_site) as url, browser_page(requests) as page:
        try:
            page.goto(f"{url}/", wait_until="load")
            count = until(page, "() => document.body.dataset.microgridRunnable", None,
                          deadline, "the Run buttons")
            assert count == "1"  # the slide; the shell blocks get none
            block = page.locator(".md-typeset div.language-python").first
            assert "f.backward()" in block.inner_text()
            page.click(".microgrid-run")
            until(page, RUNS, [0, 1], deadline, "the example's run")
            assert page.inner_text(".microgrid-run-output pre").strip() == "-4.0 -4.0 3.0"
            (svg,) = _svgs(page, 0)
            check_slide_svg(svg)  # data -12, grad -4 for x and y, grad 3 for z, ...
            assert {"∂q/∂x = 1", "f = (x + y)·z"} <= set(svg_texts(svg))  # as the block asks
            assert page.inner_text(".microgrid-run-status").startswith("Done in ")

            # Edit: the code becomes a textarea; the run sees the names made above
            page.click(".microgrid-edit")
            assert not block.locator("pre").is_visible()  # the editor stands in its place
            page.fill(".microgrid-editor", "print(f.data, q.grad)\nz.data = 1 / 0")
            page.press(".microgrid-editor", "Control+Enter")
            until(page, RUNS, [0, 2], deadline, "the edited run")
            output = page.inner_text(".microgrid-run-output")
            assert output.startswith("-12.0 -4.0"), output
            assert "ZeroDivisionError: division by zero" in output, output
            assert page.inner_text(".microgrid-run-status").startswith("Failed after ")
            page.click(".microgrid-edit")  # Reset: the example as written, shown again
            assert page.locator(".microgrid-editor").count() == 0
            assert block.locator("pre").is_visible()

            # a notebook page: every cell that needs only microgrid gets the buttons; the
            # one drawing with matplotlib (microgrid.plot) does not
            page.goto(f"{url}/notebooks/02_one_neuron/", wait_until="load")
            count = until(page, "() => document.body.dataset.microgridRunnable", None,
                          deadline, "the notebook's Run buttons")
            cells = page.evaluate(
                "() => [...document.querySelectorAll('.jp-CodeCell > .jp-Cell-inputWrapper')]"
                ".map(c =>"
                " [c.innerText.includes('plot.'),"
                " !!c.nextElementSibling?.classList.contains('microgrid-runnable')])")
            assert sum(1 for plots, _ in cells if plots) >= 1
            assert int(count) == sum(1 for plots, _ in cells if not plots) >= 10
            assert all(button != plots for plots, button in cells), cells
        except AssertionError:
            page.screenshot(path=str(tmp_path / "failure.png"))
            raise
    assert requests.other_hosts == []
    assert requests.failed == [], requests.failed
    assert any(u.endswith("/lab/vendor/pyodide.asm.wasm") for u in requests.local)
