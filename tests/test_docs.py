"""The documentation site builds with warnings as errors: the home page with its diagram,
the API reference from the docstrings, and the notebooks, executed, with their diagrams.

To keep the suite quick only the first notebook is executed here
(``MICROGRID_DOCS_EXECUTE``); CI also builds the whole site, every notebook executed."""

from __future__ import annotations

import base64
import html
import importlib.util
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
API_PAGES = {  # page: names its reference must show, read from the docstrings
    "microgrid": ["Value", "backward", "grad", "hessian", "gradcheck", "GradcheckError"],
    "nn": ["MLP", "Neuron", "Layer", "from_weights"],
    "losses": ["mse", "sum_squared_error"],
    "optim": ["SGD", "Adam", "Newton"],
    "data": ["make_moons"],
    "train": ["fit", "accuracy", "History"],
    "serialization": ["save", "load"],
    "viz": ["draw_dot"],
    "stepper": ["backward_steps", "forward_steps"],
    "explorer": ["explore"],
    "plot": [],
    "compile": ["compile_step"],
}


def words(text: str) -> str:
    return " ".join(re.findall(r"\w+", text))


def first_words(doc: str) -> str:
    """The first three words of a docstring, markup dropped."""
    found = words(doc).split()[:3]
    assert found, "an empty docstring"
    return " ".join(found)


def text_of(page: Path) -> str:
    """The words of a built page's article, markup dropped."""
    source = page.read_text(encoding="utf-8")
    article = source[source.index("<article"):source.index("</article>")]
    return words(html.unescape(re.sub(r"<[^>]+>", " ", article)))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    for module in ("mkdocs", "material", "mkdocstrings_handlers.python", "mkdocs_jupyter"):
        if importlib.util.find_spec(module.split(".")[0]) is None:
            message = f"{module} is not installed (pip install -e '.[dev]')"
            if os.environ.get("CI"):
                pytest.fail(message)
            pytest.skip(message)
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ,
           "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get(
               "PYTHONPATH")])]),
           "MICROGRID_DOCS_EXECUTE": "01_*",     # execute the first notebook only
           "MKDOCS_JUPYTER_CACHE": "false",      # really execute it, write no cache
           "MPLBACKEND": "Agg",
           "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir",
                           str(out)], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return out


def test_the_home_page_shows_the_slide_diagram(site: Path) -> None:
    home = (site / "index.html").read_text(encoding="utf-8")
    assert 'src="images/slide.svg"' in home
    svg = ET.parse(site / "images" / "slide.svg").getroot()
    texts = {"".join(t.itertext()) for t in svg.iter("{http://www.w3.org/2000/svg}text")}
    assert {"data -12", "grad -4", "grad 3", "∂q/∂x = 1", "-4 × 1 = -4"} <= texts


@pytest.mark.parametrize("page", sorted(API_PAGES))
def test_the_api_reference_is_built_from_the_docstrings(site: Path, page: str) -> None:
    text = text_of(site / "api" / page / "index.html")
    module = "microgrid" if page in ("microgrid", "viz", "explorer") else f"microgrid.{page}"
    imported = __import__(module, fromlist=["_"])
    for name in API_PAGES[page]:
        assert re.search(rf"\b{name}\b", text), f"{name} missing from api/{page}"
        doc = getattr(imported, name).__doc__ if hasattr(imported, name) else None
        if doc:  # its docstring is on the page
            assert first_words(doc) in text, f"{name}'s docstring missing from api/{page}"
    if page != "microgrid" and page in ("plot", "stepper", "compile", "nn"):
        assert first_words(imported.__doc__ or "") in text  # the module's docstring
    raw = (site / "api" / page / "index.html").read_text(encoding="utf-8")
    assert not re.search(r":(?:class|func|meth|mod):<code>", raw)  # roles read as plain code


def test_the_notebooks_are_pages_and_the_executed_one_shows_its_diagrams(site: Path) -> None:
    assert len(NOTEBOOKS) == 7  # the six lessons and the live view
    for stem in NOTEBOOKS:
        page = site / "notebooks" / stem / "index.html"
        assert page.is_file(), stem
        assert (site / "notebooks" / stem / f"{stem}.ipynb").is_file()  # the download
    first = (site / "notebooks" / NOTEBOOKS[0] / "index.html").read_text(encoding="utf-8")
    # each rich output (an image, an SVG or HTML) up to the next cell
    outputs = re.findall(r'<div class="jp-Rendered(?:SVG|Image|HTMLCommon jp-RenderedHTML) '
                         r'jp-OutputArea-output[^"]*"[^>]*>(.*?)(?=class="jp-Cell |\Z)',
                         first, flags=re.S)
    assert outputs, "the executed notebook shows no picture"
    assert re.search(r'<script src="[^"]*mathjax[^"]*">', first)  # its LaTeX gets typeset
    assert any("<svg" in o or "<img" in o for o in outputs)
    pictures = [html.unescape(o) for o in outputs]
    pictures += [base64.b64decode(b).decode("utf-8")  # <img src="data:image/svg+xml;base64,…">
                 for o in outputs for b in re.findall(r"data:image/svg\+xml;base64,([^\"']+)", o)]
    # a computation-graph diagram with its numbers
    assert any(re.search(r">\s*grad -?\d", p.replace("&#45;", "-")) for p in pictures)
    unexecuted = (site / "notebooks" / NOTEBOOKS[1] / "index.html").read_text(encoding="utf-8")
    # rendered as committed: without outputs
    assert not re.search(r'<div class="jp-Rendered\w+ jp-OutputArea-output', unexecuted)
