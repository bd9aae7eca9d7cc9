"""Seeing backprop: diagrams of computation graphs, renderers, the step-by-step explorer.

The door of the seeing wing. ``draw_dot`` describes a graph's picture and writes it as
DOT; :mod:`~microgrid.viz.render` turns DOT into SVG/PNG; :mod:`~microgrid.viz.explorer`
steps through a computation in a notebook. graphviz is imported only when a diagram is
drawn, so ``import microgrid`` works without it.

The rooms, each importing only those listed after it:

* :mod:`~microgrid.viz.live` — the dashboard while a network trains, in ``fit`` or in a
  hand-written loop (its charts in :mod:`~microgrid.viz.panels`, its graph redrawn in
  place by :mod:`~microgrid.viz.relabel`, its decision panel computed by
  :mod:`~microgrid.viz.field`);
* :mod:`~microgrid.viz.gradients` — where the gradient goes: per matrix and per block;
* :mod:`~microgrid.viz.player` — one HTML page that plays a walk-through
  (:mod:`~microgrid.viz.walkthrough`: one layout, per step what changes) or a recorded
  run (:mod:`~microgrid.viz.frame`: the frames the live view records), written to a file
  (``export_html``) or shown in place (``Player``);
* :mod:`~microgrid.viz.explorer` — step through a graph in a notebook;
* :mod:`~microgrid.viz.draw` and :mod:`~microgrid.viz.network` — a graph as the slides
  draw it, a network as neurons;
* :mod:`~microgrid.viz.dot` — a picture with its marks as DOT;
  :mod:`~microgrid.viz.picture` — what is drawn, read from the graph and the model;
  :mod:`~microgrid.viz.marks` — the state at one step;
* :mod:`~microgrid.viz.render`, :mod:`~microgrid.viz.page`,
  :mod:`~microgrid.viz.safe_text`, :mod:`~microgrid.viz.colors` — under every picture:
  renderers, SVG in HTML, text made safe to draw, the colours.

:mod:`~microgrid.viz.examples` holds the lecture notes' graphs that the demo and
``microgrid export`` show.
"""
from .colors import COLORS
from .draw import draw_dot
from .explorer import Explorer, explore
from .live import LiveView, watch
from .network import draw_network
from .picture import DiagramTooLargeError, group_of_label
from .player import Player, export_html

__all__ = [
    "COLORS",
    "DiagramTooLargeError",
    "Explorer",
    "LiveView",
    "Player",
    "draw_dot",
    "draw_network",
    "explore",
    "export_html",
    "group_of_label",
    "watch",
]
