"""The documentation site builds with warnings as errors: the home page with its diagram,
the API reference from the docstrings, and the notebooks, executed, with their diagrams.

To keep the suite quick the site is built once per test session with only the first
notebook executed (``docs_site`` in conftest.py, shared with the browser tests of its
pages); CI also builds the whole site, every notebook executed."""

from __future__ import annotations

import base64
import html
import json
import re
import shlex
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


@pytest.fixture
def site(docs_site: Path) -> Path:
    """The site built once per test session (tests/conftest.py)."""
    return docs_site


@pytest.mark.slow
def test_the_home_page_shows_the_slide_diagram(site: Path) -> None:
    home = (site / "index.html").read_text(encoding="utf-8")
    assert 'src="images/slide.svg"' in home
    svg = ET.parse(site / "images" / "slide.svg").getroot()
    texts = {"".join(t.itertext()) for t in svg.iter("{http://www.w3.org/2000/svg}text")}
    assert {"data -12", "grad -4", "grad 3", "∂q/∂x = 1", "-4 × 1 = -4"} <= texts


@pytest.mark.slow
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


@pytest.mark.slow
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


# ---------------------------------------------------------------- the docs match the repository

NUMBER_WORDS = {w: n for n, w in enumerate(["zero", "one", "two", "three", "four", "five", "six",
                                             "seven", "eight", "nine", "ten", "eleven",
                                             "twelve"])}


def documents() -> list[tuple[str, str]]:
    """(name, text) of every page a reader meets: the README, the docs pages and the
    notebooks' prose."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    found = [(p.relative_to(ROOT).as_posix(), p.read_text(encoding="utf-8")) for p in pages]
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        found.append((path.name, "\n\n".join("".join(c["source"]) for c in nb["cells"]
                                              if c["cell_type"] == "markdown")))
    return found


def shell_commands(text: str) -> list[str]:
    """The commands a page shows: its inline code and the lines of its fenced blocks that are
    not Python, each split at ``&&``, ``||``, ``;`` and ``|``, comments dropped."""
    pieces: list[str] = []
    for lang, block in re.findall(r"```([^\n]*)\n(.*?)```", text, flags=re.S):
        if lang.strip() not in ("python", "py", "pycon"):
            pieces += block.splitlines()
    pieces += re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", text, flags=re.S))
    parts = (part.split(" #")[0].strip() for piece in pieces
             for part in re.split(r"&&|\|\||;|\|", piece))
    return [part for part in parts if part]


def microgrid_arguments(command: str) -> list[str] | None:
    """The arguments of ``microgrid ...`` or ``python -m microgrid...`` (None for any other
    command). Running a module other than ``microgrid`` is an error: there is one command
    line."""
    if not re.match(r"(?:microgrid(?![\w./-])|python3? -m microgrid)", command):
        return None
    words = shlex.split(command)
    if words[0] == "microgrid":
        return words[1:]
    assert words[2] == "microgrid", f"{command!r}: the command line is `python -m microgrid`"
    return words[3:]


def test_the_docs_state_the_number_of_notebooks_there_are() -> None:
    count = len(NOTEBOOKS)
    stated = [(name, word) for name, text in documents()  # "six notebooks", "7 teaching notebooks"
              for word in re.findall(r"\b(\w+)(?=\s+(?:[a-z]+\s+)?notebooks\b)", text, flags=re.I)
              if word.lower() in NUMBER_WORDS or word.isdigit()]
    assert {name for name, _ in stated} >= {"README.md", "docs/index.md"}
    wrong = [(name, word) for name, word in stated
             if (int(word) if word.isdigit() else NUMBER_WORDS[word.lower()]) != count]
    assert wrong == [], f"there are {count} notebooks in notebooks/"


def test_every_command_in_the_docs_is_one_the_command_line_accepts(
        capsys: pytest.CaptureFixture[str]) -> None:
    from microgrid.__main__ import parse

    found: dict[str, list[str]] = {}
    for name, text in documents():
        for command in shell_commands(text):
            arguments = microgrid_arguments(command)
            if arguments is None:
                continue
            found.setdefault(name, []).append(command)
            try:
                parse(arguments)
            except SystemExit as stop:  # --help and --version exit 0; a bad argument 2
                assert stop.code == 0, f"{name}: `{command}`: {capsys.readouterr().err}"
    # the demo and the export, under both names, in the README; the export in notebook 07
    readme = found["README.md"]
    assert {"python -m microgrid", "microgrid export", "python -m microgrid export"} <= set(
        readme), readme
    assert any(c.startswith("microgrid export") for c in found["07_live_training.ipynb"])
    assert "microgrid export" in found["docs/index.md"]
