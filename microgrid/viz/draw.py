"""Draw a computation graph the way lecture slides do: ``draw_dot(f)``.

One record per ``Value`` (label | data | grad) and one small node per op (its symbol from
the op table: ``+``, ``*``, ``exp``, ``σ``, ``tanh``, …), with edges inputs → op → output.
The result is a :class:`~microgrid.viz.render.Diagram` (a ``graphviz.Digraph``): it shows
itself in Jupyter, scaled to the page, and saves ``.svg``/``.png``.

``draw_dot`` is three steps: :func:`~microgrid.viz.picture.describe` (what is drawn, in
what order and box), :func:`~microgrid.viz.marks.marks_at` (the state at a step) and
:func:`~microgrid.viz.dot.emit` (the DOT). graphviz is imported only by the last, so
``import microgrid`` works without it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..engine import Value
from ..stepper import BackwardStep, ForwardStep, NumberFormat
from .colors import COLORS
from .marks import marks_at
from .picture import DiagramTooLargeError, describe, group_of_label

if TYPE_CHECKING:
    from .render import Diagram

__all__ = ["COLORS", "DiagramTooLargeError", "draw_dot", "group_of_label"]


def draw_dot(
    root: Value | Iterable[Value],
    *,
    fmt: NumberFormat = ".4g",
    show_grad: bool = True,
    show_local: bool = False,
    show_contribution: bool = False,
    highlight: Iterable[Value] = (),
    hide_constants: bool = False,
    params: Any = None,
    group: str | Mapping[str, Iterable[Value]] | None = None,
    steps: Sequence[ForwardStep] | Sequence[BackwardStep] | None = None,
    at: int | None = None,
    max_nodes: int = 200,
    rankdir: str | None = None,
    title: str | None = None,
    expand: str | Iterable[str] | None = None,
    depth: int | None = None,
) -> Diagram:
    """The graph below ``root`` (one ``Value`` or several) as a :class:`Diagram`.

    ``fmt``: how numbers are written (a format spec, default ``".4g"`` = 4 significant
    digits, or a function). ``show_grad``: the grad cell. ``show_local``: label each edge
    operand → op with the local derivative ∂out/∂operand; ``show_contribution``: with the
    contribution ∂L/∂out · ∂out/∂operand it sends back (from the current ``.grad``).
    ``highlight``: nodes drawn with a thick red border. ``hide_constants``: leave out
    constant operands and write them into the op node instead (``** 2``).
    ``params``: the parameters (blue, the other leaves yellow), best given as the model
    itself (``params=model``): an MLP from :mod:`microgrid.nn`, from micrograd (or
    :mod:`microgrid.micrograd`) or the lecture's own classes is read through its
    ``layers``, ``neurons``, ``w`` and ``b``, so weight 0 of neuron 1 of layer 0 is
    ``L0.N1.w0`` whatever its label (another module through ``named_parameters()``); a
    mapping name → ``Value`` or a list of Values works too (see
    :func:`~microgrid.viz.picture.parameter_names`), and so does a ``state_dict`` of
    matrices (``{"wte": [[Value, ...], ...]}``: an entry is named ``wte[3][7]``). By
    default: the parameters of the :mod:`microgrid.nn` networks the graph reads (each
    parameter remembers its neuron; labels are never parsed). ``group``: ``"neuron"`` or
    ``"layer"`` boxes the nodes of each neuron or layer (from the model's structure; for a
    model not built of neurons, from the blocks recorded by ``microgrid.blocks()``), in
    index order (``L0.N0`` before ``L0.N1``, ``w0, w1, b`` inside), or a mapping
    ``{title: nodes}`` gives the boxes explicitly. ``rankdir``: ``"LR"`` (left to right)
    or ``"TB"`` (top to bottom); by default a graph whose longest path has at most 5 values
    (the lecture's ``L = (a*b + c)*f`` and its neuron) goes left to right, with each
    record's ``label | data | grad`` in one row as on the slides, and deeper ones top to
    bottom (fields stacked), so they fit the width of a page.

    ``steps`` (from :func:`~microgrid.stepper.forward_steps` or
    :func:`~microgrid.stepper.backward_steps`) and ``at`` draw the state after
    ``steps[at]`` (default: the last): the current node highlighted, the values computed
    so far (forward; the leaves' values are given from the start) or the gradients known so
    far (backward), ``?`` for the rest, and the contributions flowing into the operands of
    the current node on its edges.

    A graph with more than ``max_nodes`` values is drawn collapsed, and a note under the
    title says what was collapsed and how to open it. A network built of neurons (an MLP)
    is drawn with each neuron (or layer, or the network) applied to one example as one
    box, each example's boxes in a box titled ``example 0``, ``example 1``, … Any other
    graph is drawn as **blocks**: the blocks recorded while it was built (``with
    microgrid.blocks():`` — each call of the user's functions, each ``with
    microgrid.block("name"):``) as nested clusters, down to the deepest depth whose items
    fit ``max_nodes``. A closed block is one item showing its name, how many values it
    holds, its inputs and outputs, and after ``backward()`` ``‖grad out‖``, the 2-norm of
    the gradient it sends back to its inputs; a parameter matrix (``wte 27×16``) is one
    item with the norm of its gradient; an edge between items says how many scalar edges
    it stands for (``×432``). ``expand``: a block's name (``"gpt_step › gpt #2"``, its
    title ``"gpt #2"``, or the function's name ``"attention"`` for every call of it) or a
    list of them, opened down to single values — or, when those are more than
    ``max_nodes``, one level, its own values drawn as runs (one item per operation on the
    same items: ``+ ×16``); an unknown name raises
    :class:`~microgrid.parts.UnknownBlockError` naming the closest. ``depth``: the depth
    to draw at (0: each outermost block closed) instead of the deepest that fits. Without
    recorded blocks the graph is drawn by its named parameters (``params=``, as matrices)
    and runs of values.
    Raises :class:`DiagramTooLargeError` when even that is too many items, or when a graph
    with neither blocks nor named parameters has more than ``max_nodes`` values.
    """
    try:
        from .dot import Style, emit  # imports graphviz, only now
    except ImportError as e:
        raise ImportError("draw_dot needs the graphviz package (the DOT writer): "
                          "pip install graphviz") from e
    picture = describe(root, fmt=fmt, hide_constants=hide_constants, params=params,
                       group=group, max_nodes=max_nodes, rankdir=rankdir, title=title,
                       expand=expand, depth=depth)
    marks = marks_at(steps, at, fmt)
    style = Style(fmt, show_grad, show_local, show_contribution, frozenset(highlight))
    return emit(picture, marks, style)
