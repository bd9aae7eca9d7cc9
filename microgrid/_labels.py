"""What a label may hold: any text but control characters and lone surrogates.

A label is the user's text, shown in diagrams, pages and state files. Two kinds of
character cannot be shown faithfully anywhere, so a label that holds one is refused where
it comes in (``Value(data, label=...)`` and the model-file loader):

* control characters, U+0000–U+001F and U+007F–U+009F (NUL, tab, line breaks, escape, …):
  Graphviz stops reading a line at a NUL, and SVG (XML) cannot hold most of the others;
* lone surrogates, U+D800–U+DFFF: Python can hold them, UTF-8 cannot encode them, so no
  file or page could be written.

The character classes are defined here, once; :mod:`microgrid.viz.safe_text` (what a
drawing does with text it did not check) and :func:`microgrid.viz.render.check_source`
read them. Nothing of microgrid's is imported here, so the engine can use it.
"""

from __future__ import annotations

import re

__all__ = ["CONTROL", "SURROGATES", "check_label", "label_problem", "preview"]

CONTROL = "\x00-\x1f\x7f-\x9f"
"""The control characters (Unicode category Cc), as a regular-expression class body."""

SURROGATES = "\ud800-\udfff"
"""The surrogate code points, as a regular-expression class body."""

_REFUSED = re.compile(f"[{CONTROL}{SURROGATES}]")


def preview(text: str, width: int = 40) -> str:
    """``repr(text)``, cut after ``width`` characters: a message never quotes a whole
    20,000-character label."""
    return repr(text) if len(text) <= width else repr(text[:width]) + "…"


def label_problem(text: str) -> str | None:
    """What in ``text`` cannot be a label (the first such character and its index), or
    None when ``text`` is fine."""
    m = _REFUSED.search(text)
    if m is None:
        return None
    c = ord(m.group())
    kind = "a lone surrogate" if 0xD800 <= c <= 0xDFFF else "the control character"
    return f"holds {kind} U+{c:04X} at index {m.start()}"


def check_label(label: object, what: str = "Value label") -> str:
    """``label`` when it is a ``str`` without control characters or lone surrogates;
    else ``TypeError`` / ``ValueError`` naming ``what`` and the offending character."""
    if not isinstance(label, str):
        raise TypeError(f"{what} must be a str, got {type(label).__name__}")
    problem = None if label.isprintable() else label_problem(label)  # isprintable: fast
    if problem is not None:
        raise ValueError(f"{what} {preview(label)} {problem}: a label is printable text "
                         "(no NUL, tab, line break or other control character, no lone "
                         "surrogate)")
    return label
