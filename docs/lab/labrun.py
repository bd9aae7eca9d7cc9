"""Run one cell of the Lab's editor, as a notebook runs a cell, and report what it shows.

The Lab's worker (``worker.js``) loads this module into the page's interpreter and calls
:func:`run` with each piece of code and an ``emit(type, field, text)`` function that posts
one event to the page. Events, in the order they happen:

* ``("stdout"|"stderr", "text", s)``: what ``print`` and the program write;
* ``("display", "svg"|"html"|"json"|"text", s)``: a shown object — the value of the cell's
  last expression (unless None) and each :func:`display` call — as its richest form:
  ``image/svg+xml``, then ``text/html``, then ``application/json``, then ``repr``
  (``_repr_mimebundle_`` first, else ``_repr_svg_``, ``_repr_html_``, ``_repr_json_``);
* ``("error", "traceback", s)``: an exception, its traceback from the cell's own lines on.

Cells share one namespace, as a notebook's do. ``display`` is in builtins, and a small
``IPython.display`` stands in for IPython's (``display``, ``HTML``, ``SVG``), so code that
shows objects the Jupyter way runs unchanged. Nothing here is specific to the browser:
the same module runs (and is tested) in CPython. Under Pyodide, tqdm's warning that its
monitor thread cannot start (no thread can start there) is not shown.
"""

from __future__ import annotations

import ast
import builtins
import json
import sys
import traceback
import types
import warnings
from collections.abc import Callable
from typing import Any

__all__ = ["HTML", "SVG", "display", "install", "namespace", "represent", "run"]

Emit = Callable[[str, str, str], Any]
CELL = "<cell>"  # the file name tracebacks give the cell's lines

namespace: dict[str, Any] = {"__name__": "__main__"}
_emit: Emit | None = None


class _Stream:
    """A text stream that sends each write as an event."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def write(self, text: str) -> int:
        if text and _emit is not None:
            _emit(self.kind, "text", text)
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


class HTML:
    """HTML to show, as ``IPython.display.HTML``."""

    def __init__(self, data: str) -> None:
        self.data = data

    def _repr_html_(self) -> str:
        return self.data


class SVG:
    """An SVG picture to show, as ``IPython.display.SVG``."""

    def __init__(self, data: str) -> None:
        self.data = data

    def _repr_svg_(self) -> str:
        return self.data


_FORMS = [("image/svg+xml", "svg", "_repr_svg_"), ("text/html", "html", "_repr_html_"),
          ("application/json", "json", "_repr_json_")]


def represent(obj: Any) -> tuple[str, str]:
    """``(form, text)``: the richest form of ``obj`` the page shows (see the module doc)."""
    bundle = None
    method = getattr(obj, "_repr_mimebundle_", None)
    if callable(method) and not isinstance(obj, type):
        bundle = method()
        if isinstance(bundle, tuple):  # (data, metadata)
            bundle = bundle[0]
    for mime, form, name in _FORMS:
        if isinstance(bundle, dict):
            data = bundle.get(mime)
        else:
            rep = getattr(obj, name, None)
            data = rep() if callable(rep) and not isinstance(obj, type) else None
        if data is not None:
            return form, data if isinstance(data, str) else json.dumps(data)
    if isinstance(bundle, dict) and isinstance(bundle.get("text/plain"), str):
        return "text", bundle["text/plain"]
    return "text", repr(obj)


def display(*objs: Any) -> None:
    """Show each of ``objs`` below the cell, as Jupyter's ``display``."""
    for obj in objs:
        form, text = represent(obj)
        if _emit is not None:
            _emit("display", form, text)


def install() -> None:
    """Put :func:`display` into builtins and a small ``IPython.display`` into sys.modules
    (only where IPython itself is missing)."""
    builtins.display = display  # type: ignore[attr-defined]
    if sys.platform == "emscripten":  # the page's interpreter starts no threads: tqdm
        # then runs without its monitor thread, and need not say so (nor be imported here)
        warnings.filterwarnings("ignore", message="tqdm:disabling monitor support")
    try:
        import IPython.display  # type: ignore[import-not-found]  # noqa: F401
        return
    except ImportError:
        pass
    package = types.ModuleType("IPython", "A stand-in for IPython: display only.")
    package.__path__ = []  # a package, so `import IPython.core` fails as it should
    shown = types.ModuleType("IPython.display", "display, HTML and SVG, as IPython's.")
    shown.display, shown.HTML, shown.SVG = display, HTML, SVG  # type: ignore[attr-defined]
    package.display = shown  # type: ignore[attr-defined]
    sys.modules["IPython"], sys.modules["IPython.display"] = package, shown


def _traceback(error: BaseException) -> str:
    """The traceback of ``error`` from the cell's first frame on (this module's are cut)."""
    tb = error.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != CELL:
        tb = tb.tb_next
    lines = traceback.format_exception(type(error), error, tb)
    return "".join(lines)


def run(code: str, emit: Emit) -> bool:
    """Run ``code`` in the shared namespace, sending events to ``emit``; True when it ran to
    the end, False when it raised (the traceback was sent)."""
    global _emit
    _emit = emit
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Stream("stdout"), _Stream("stderr")
    import linecache
    linecache.cache[CELL] = (len(code), None, code.splitlines(True), CELL)
    try:
        tree = ast.parse(code, CELL, "exec")
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = ast.Expression(tree.body.pop().value)
        exec(compile(tree, CELL, "exec"), namespace)
        if last is not None:
            value = eval(compile(last, CELL, "eval"), namespace)
            if value is not None:
                namespace["_"] = value
                display(value)
        return True
    except BaseException as error:  # the cell's error is shown, not raised
        if isinstance(error, SyntaxError):
            text = "".join(traceback.format_exception_only(type(error), error))
        else:
            text = _traceback(error)
        emit("error", "traceback", text)
        return False
    finally:
        sys.stdout, sys.stderr = saved
        _emit = None
