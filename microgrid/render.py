"""``microgrid.render`` is :mod:`microgrid.viz.render` (the renderers), kept at its old path."""

import sys

from .viz import render as _impl
from .viz.render import (
    FORMATS,
    INSTALL_HELP,
    RENDERERS,
    Diagram,
    RendererNotFoundError,
    RenderError,
    available_renderers,
    find_renderer,
    render,
)

__all__ = ["FORMATS", "INSTALL_HELP", "RENDERERS", "Diagram", "RenderError",
           "RendererNotFoundError", "available_renderers", "find_renderer", "render"]

sys.modules[__name__] = _impl  # one module object: monkeypatching either path patches both
