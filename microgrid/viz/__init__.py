"""Seeing backprop: diagrams of computation graphs, renderers, the step-by-step explorer.

The door of the seeing wing. ``draw_dot`` describes a graph's picture and writes it as
DOT; :mod:`~microgrid.viz.render` turns DOT into SVG/PNG; :mod:`~microgrid.viz.explorer`
steps through a computation in a notebook. graphviz is imported only when a diagram is
drawn, so ``import microgrid`` works without it.
"""

from .colors import COLORS
from .draw import draw_dot
from .explorer import Explorer, explore
from .live import LiveView
from .network import draw_network
from .picture import DiagramTooLargeError, group_of_label
from .player import export_html

__all__ = [
    "COLORS",
    "DiagramTooLargeError",
    "Explorer",
    "LiveView",
    "draw_dot",
    "draw_network",
    "explore",
    "export_html",
    "group_of_label",
]
