"""MkDocs hook: the docstrings' Sphinx roles (``:class:`~microgrid.viz.render.Diagram```,
``:func:`grad```) read as plain code in the API reference (``Diagram``, ``grad``) instead
of showing the role's markup."""

from __future__ import annotations

import re
from typing import Any

ROLE = re.compile(r":(?:class|func|meth|mod|attr|data|exc|obj|const):<code>(~?)([^<]+)</code>")


def _plain(match: re.Match[str]) -> str:
    short, target = match.groups()
    return f"<code>{target.rsplit('.', 1)[-1] if short else target}</code>"


def on_page_content(html: str, page: Any, config: Any, files: Any) -> str:
    return ROLE.sub(_plain, html)
