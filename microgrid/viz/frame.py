"""One frame of the live training dashboard: its HTML, and the exact numbers behind it.

:class:`~microgrid.viz.live.LiveView` draws frames while training runs and keeps them when
it records (``record=True``); :func:`~microgrid.viz.player.export_html` plays them as one
page. Both import this module, and neither imports the other for it: the player takes any
:class:`Recording` (an object with ``frames``), a recording live view among them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from .safe_text import page_text

__all__ = ["STYLE", "Frame", "Recording"]

STYLE = (
    ".mg-live{font-family:Helvetica,Arial,sans-serif;font-size:13px;color:#222}"
    ".mg-live .mg-head{font-weight:bold;margin:4px 0 6px 0}"
    ".mg-live .mg-panels{display:flex;flex-wrap:wrap;gap:8px;align-items:flex-start}"
    ".mg-live .mg-graph{overflow:auto;max-height:640px;border:1px solid #ddd;"
    "margin-top:6px;background:#fff}"
    ".mg-live .mg-graph svg{max-width:100%;height:auto;cursor:zoom-in}"
    ".mg-live .mg-graph.mg-zoom svg{max-width:none;cursor:zoom-out}"
    ".mg-live .mg-note{border:1px solid #e0b000;background:#fffbe6;padding:6px;"
    "margin-top:6px;white-space:pre-wrap}"
    ".mg-live .mg-sub{color:#666;font-size:12px;margin:2px 0}"
)
"""The dashboard's CSS (every rule scoped to ``.mg-live``)."""


def _json_for_html(obj: Any) -> str:
    """JSON that can sit inside ``<script>`` (no ``<`` to close it early); a number that is
    not finite is written as null."""
    try:
        text = json.dumps(obj, allow_nan=False)
    except ValueError:
        text = json.dumps(_finite(obj))
    return text.replace("<", "\\u003c")


def _finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


@dataclass
class Frame:
    """One picture of the dashboard, and the exact numbers behind it (``numbers``)."""

    step: int
    epoch: int
    head: str
    panels: str
    graph: str  # an inline SVG, or an HTML note saying why there is none
    numbers: dict[str, Any] = field(default_factory=dict)

    def html(self) -> str:
        """The frame as a standalone HTML fragment (styles included)."""
        return (f'<div class="mg-live" data-step="{self.step}"><style>{STYLE}</style>'
                f'<div class="mg-head">{page_text(self.head)}</div>'
                f'<div class="mg-panels">{self.panels}</div>{self.graph}'
                f'<script type="application/json" class="mg-numbers">'
                f'{_json_for_html(self.numbers)}</script></div>')

    def _repr_html_(self) -> str:
        return self.html()


class Recording(Protocol):
    """What the player plays from a training run: the frames recorded (a
    :class:`~microgrid.viz.live.LiveView` made with ``record=True``)."""

    @property
    def frames(self) -> Sequence[Frame]: ...
