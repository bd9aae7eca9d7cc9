"""Walk through a computation one node at a time: ``explore(f)``.

In a notebook, ``explore(f)`` shows a small app: First / Back / Next / Last buttons and a
slider step through the forward pass, then backprop, redrawing the diagram at each step
(the current node highlighted, the values or gradients known so far, the contributions on
the edges). Steps are numbered once, across both passes: "step 5 of 23 · backward".
Without ipywidgets, or outside a notebook, it prints the same steps as text.

A graph with more values than ``max_nodes`` that was built inside ``microgrid.blocks()`` is
stepped block by block (:mod:`microgrid.block_steps`) at the deepest cut with at most
``max_nodes`` pieces (or at ``depth=``, with the blocks of ``expand=`` open): each step one
block, matrix or value, with what flows in and out, and backward the gradients it sends
back. ``open()`` (the app's "open block" button) switches to the scalar steps of the
current block, with the block drawn value by value; ``close()`` goes back to the block
steps where it left them.

:class:`Explorer` holds the position and does the stepping; its ``widget()`` builds the
ipywidgets UI on top, so the logic can be used (and tested) without a browser. The
picture of the graph is described once; each step only redraws its marks.
"""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING, Any

from ..block_steps import BlockBackwardStep, BlockForwardStep, BlockSteps
from ..engine import Value
from ..stepper import ForwardStep, NumberFormat, backward_steps, forward_steps
from .marks import Marks, block_marks, marks_at
from .picture import DiagramTooLargeError, Picture, describe
from .safe_text import page_text

if TYPE_CHECKING:
    from .render import Diagram

__all__ = ["Explorer", "explore", "in_notebook"]

_PICTURE_OPTIONS = {"hide_constants", "params", "group", "max_nodes", "rankdir", "title",
                    "depth", "expand"}
_STYLE_OPTIONS = {"show_grad", "show_local", "show_contribution", "highlight"}
OPENABLE = ("part", "run")  # the pieces that hold scalar steps of their own
_STEP_INDEX = re.compile(r"^\[\d+\] ")
_CACHED_PICTURES = 64  # rendered steps kept, so stepping back and forth does not re-render


def in_notebook() -> bool:
    """True inside a Jupyter kernel, where rich output can be shown: JupyterLab, classic
    Notebook, VS Code, Colab (told by capability, a running kernel, not by class name)."""
    try:
        from IPython.core.getipython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()  # type: ignore[no-untyped-call]
    return shell is not None and getattr(shell, "kernel", None) is not None


def _widgets_available() -> bool:
    try:
        import ipywidgets  # type: ignore[import-untyped]  # noqa: F401
    except ImportError:
        return False
    return True


class Explorer:
    """The forward steps then the backward steps of ``root``, and a position among them.

    ``draw_options`` go to :func:`~microgrid.viz.draw_dot` (``hide_constants=True``,
    ``params=``, …); ``depth=`` and ``expand=`` choose the cut of a graph stepped block by
    block. ``blocks`` holds its :class:`~microgrid.block_steps.BlockSteps` (None when the
    graph is stepped value by value); ``opened`` the block step whose scalar steps are
    shown (None at the block steps).
    """

    def __init__(self, root: Value, *, fmt: NumberFormat = ".4g", **draw_options: Any) -> None:
        if not isinstance(root, Value):
            raise TypeError(f"explore: root must be a Value, got {type(root).__name__}")
        unknown = set(draw_options) - _PICTURE_OPTIONS - _STYLE_OPTIONS
        if unknown:
            raise TypeError(f"explore: unknown drawing option(s) {sorted(unknown)}")
        self.root = root
        self.fmt = fmt
        self.draw_options = draw_options
        self.params = draw_options.get("params")
        self.opened: BlockForwardStep | None = None
        self._pictures: dict[int | None, Picture] = {}
        self.blocks = self._block_steps()
        self.forward: list[Any]
        self.backward: list[Any]
        if self.blocks is not None:
            self.forward, self.backward = self.blocks.forward, self.blocks.backward
        else:
            self.forward = forward_steps(root, fmt, params=self.params)
            self.backward = backward_steps(root, fmt=fmt, params=self.params)
        self.position = 0
        self._outside = 0  # the block position to come back to
        self._svgs: dict[tuple[int | None, int], str] = {}
        self._widget: Any = None

    def _block_steps(self) -> BlockSteps | None:
        """The block steps of the block view the graph is drawn as (a graph above
        ``max_nodes`` with recorded blocks or named matrices, or ``depth=``/``expand=``
        given), else None: stepped value by value."""
        try:
            picture = self.description()
        except DiagramTooLargeError:
            return None  # (the diagram says so)
        if picture.view is None:
            return None
        return BlockSteps(self.root, picture.view, params=self.params, fmt=self.fmt)

    def __len__(self) -> int:
        return len(self.forward) + len(self.backward)

    def __repr__(self) -> str:
        where = (f", inside {self.opened.piece.title}" if self.opened is not None else
                 ", block by block" if self.blocks is not None else "")
        return (f"Explorer({len(self.forward)} forward steps, {len(self.backward)} backward "
                f"steps{where}, at {self.position})")

    # -- stepping --------------------------------------------------------------------
    @property
    def phase(self) -> str:
        """``"forward"`` or ``"backward"``."""
        return "forward" if self.position < len(self.forward) else "backward"

    @property
    def index(self) -> int:
        """The position within the current phase."""
        n = len(self.forward)
        return self.position if self.position < n else self.position - n

    @property
    def step(self) -> Any:
        """The current step: a scalar step, or a block step."""
        if self.phase == "forward":
            return self.forward[self.index]
        return self.backward[self.index]

    def goto(self, position: int) -> None:
        """Move to ``position`` (clamped to the first and last step)."""
        self.position = max(0, min(len(self) - 1, position))
        if self._widget is None:
            return
        if self.slider.value != self.position:
            self.slider.value = self.position  # its observer comes back here to redraw
        else:
            self._sync()

    def next(self) -> None:
        """One step on."""
        self.goto(self.position + 1)

    def prev(self) -> None:
        """One step back."""
        self.goto(self.position - 1)

    def first(self) -> None:
        """To the first step of the forward pass."""
        self.goto(0)

    def last(self) -> None:
        """To the last step of backprop."""
        self.goto(len(self) - 1)

    # -- opening a block -------------------------------------------------------------
    def can_open(self) -> bool:
        """True at a block step whose piece is a block (not a matrix or a single value)."""
        return (self.blocks is not None and self.opened is None
                and self.step.piece.kind in OPENABLE)

    def open(self) -> None:
        """Switch to the scalar steps of the current step's block: its forward steps then
        its backward steps (:meth:`~microgrid.block_steps.BlockSteps.descend`), starting
        at the first step of the phase the block step was in."""
        if self.blocks is None:
            raise ValueError("open: this graph is stepped value by value; there is no "
                             "block to open")
        if self.opened is not None:
            raise ValueError(f"open: already inside {self.opened.piece.title}; close() "
                             "first")
        step = self.step
        if step.piece.kind not in OPENABLE:
            raise ValueError(f"open: the step at {self.position} is the {step.piece.kind} "
                             f"{step.piece.title!r}, not a block; its step already shows "
                             "each of its values")
        phase = self.phase
        forward = next(s for s in self.blocks.forward if s.at == step.at)
        backward = next(s for s in self.blocks.backward if s.at == step.at)
        self._outside = self.position
        self.opened = forward
        self.forward = self.blocks.descend(forward)
        self.backward = self.blocks.descend(backward)
        self._resize(0 if phase == "forward" else len(self.forward))

    def close(self) -> None:
        """Back to the block steps, at the block step that was opened."""
        if self.blocks is None or self.opened is None:
            raise ValueError("close: no block is open")
        self.opened = None
        self.forward, self.backward = self.blocks.forward, self.blocks.backward
        self._resize(self._outside)

    def _resize(self, position: int) -> None:
        if self._widget is not None:
            self.slider.max = max(0, len(self) - 1)
        self.goto(position)

    # -- showing ---------------------------------------------------------------------
    def counter(self) -> str:
        """Where the explorer stands: ``"step 5 of 23 · backward"`` (``· block by block``,
        or ``· inside gpt #1``)."""
        where = (f" · inside {self.opened.piece.title}" if self.opened is not None else
                 " · block by block" if self.blocks is not None else "")
        return f"step {self.position + 1} of {len(self)} · {self.phase}{where}"

    def text(self) -> str:
        """The current step as text, under :meth:`counter`."""
        return f"{self.counter()}\n{_STEP_INDEX.sub('', str(self.step))}"

    def description(self) -> Picture:
        """The description of the graph's picture (computed once per block opened): the
        block view, or with a block open that block drawn value by value."""
        key = self.opened.at if self.opened is not None else None
        if key not in self._pictures:
            options = {k: v for k, v in self.draw_options.items() if k in _PICTURE_OPTIONS}
            options.update(self._block_view_options())
            self._pictures[key] = describe(self.root, fmt=self.fmt, **options)
        return self._pictures[key]

    def _block_view_options(self) -> dict[str, Any]:
        """The open block, added to the blocks ``expand=`` opens."""
        piece = self.opened.piece if self.opened is not None else None
        if piece is None or piece.kind != "part" or piece.part is None:
            return {}
        asked = self.draw_options.get("expand") or []
        return {"expand": [*([asked] if isinstance(asked, str) else asked), piece.part.name]}

    def marks(self, position: int | None = None) -> Marks:
        """What the diagram marks after the step at ``position`` (default: the current)."""
        at = self.position if position is None else position
        n = len(self.forward)
        steps, k = (self.forward, at) if at < n else (self.backward, at - n)
        if self.blocks is None:
            return marks_at(steps, k, self.fmt)
        step = steps[k]
        if isinstance(step, (BlockForwardStep, BlockBackwardStep)):
            return block_marks(self.blocks, step)
        full = (self.blocks.scalar_forward if isinstance(step, ForwardStep)
                else self.blocks.scalar_backward)
        return marks_at(full, step.index, self.fmt)  # the whole pass up to this step

    def diagram(self) -> Diagram:
        """The diagram of the state after the current step."""
        from .dot import Style, emit  # imports graphviz, only now

        options = self.draw_options
        style = Style(self.fmt, options.get("show_grad", True),
                      options.get("show_local", False),
                      options.get("show_contribution", False),
                      frozenset(options.get("highlight", ())))
        return emit(self.description(), self.marks(), style)

    def transcript(self) -> str:
        """Every step, forward then backward, as text (block by block, for a graph
        stepped so; inside the open block, its scalar steps)."""
        if self.blocks is not None and self.opened is None:
            return self.blocks.transcript()
        inside = f" inside {self.opened.piece.title}" if self.opened is not None else ""
        lines = [f"Forward pass{inside} (evaluation order):"]
        lines += [str(s) for s in self.forward]
        lines.append(f"Backward pass{inside} (reverse topological order):")
        lines += [str(s) for s in self.backward]
        return "\n".join(lines)

    # -- the Jupyter app ---------------------------------------------------------------
    def widget(self) -> Any:
        """The ipywidgets UI (built once): buttons and a slider above the step and the
        diagram, which sits in its own box that scrolls when the picture is tall."""
        if self._widget is not None:
            return self._widget
        try:
            import ipywidgets as w
        except ImportError as e:
            raise ImportError("the explorer app needs ipywidgets: "
                              "pip install 'microgrid-autodiff[notebook]'") from e

        def button(text: str, tooltip: str) -> Any:
            return w.Button(description=text, tooltip=tooltip,
                            layout=w.Layout(width="auto", min_width="4.5em"))

        self.first_button = button("First", "first step of the forward pass")
        self.prev_button = button("Back", "one step back")
        self.next_button = button("Next", "one step on")
        self.last_button = button("Last", "last step of backprop")
        self.slider = w.IntSlider(value=self.position, min=0, max=len(self) - 1,
                                  readout=False, continuous_update=False,
                                  layout=w.Layout(flex="1 1 auto", min_width="8em"))
        self.counter_label = w.HTML()
        self.step_text = w.HTML()
        self.picture = w.HTML(layout=w.Layout(width="100%"))
        self.first_button.on_click(lambda _: self.first())
        self.prev_button.on_click(lambda _: self.prev())
        self.next_button.on_click(lambda _: self.next())
        self.last_button.on_click(lambda _: self.last())
        self.open_button = button("Open block", "step through this block value by value")
        self.close_button = button("Back to blocks", "back to the block steps")
        self.open_button.on_click(lambda _: self.open())
        self.close_button.on_click(lambda _: self.close())
        if self.blocks is None:
            self.open_button.layout.display = self.close_button.layout.display = "none"
        self.slider.observe(lambda change: self.goto(change["new"]), names="value")
        controls = w.HBox([self.first_button, self.prev_button, self.next_button,
                           self.last_button, self.slider, self.counter_label,
                           self.open_button, self.close_button],
                          layout=w.Layout(width="100%", flex_flow="row wrap",
                                          align_items="center"))
        controls.add_class("microgrid-explorer-controls")
        self.counter_label.add_class("microgrid-explorer-counter")
        self.picture.add_class("microgrid-explorer-picture")
        self._widget = w.VBox([controls, self.step_text, self.picture],
                              layout=w.Layout(width="100%"))
        self._widget.add_class("microgrid-explorer")
        self._no_renderer = self._renderer_message()
        self._sync()
        return self._widget

    def _renderer_message(self) -> str | None:
        """How to install a renderer, when none is installed (shown once, not per step)."""
        from .render import find_renderer, install_help

        if find_renderer("svg") is not None:
            return None
        return (f'<pre style="white-space:pre-wrap">{html.escape(install_help())}</pre>'
                "<p>The steps above still change; the diagram appears once a renderer is "
                "installed.</p>")

    def _picture_html(self) -> str:
        from .page import fit_svg, scroll_box
        from .render import RendererNotFoundError, RenderError

        if self._no_renderer is not None:
            return self._no_renderer
        key = (self.opened.at if self.opened is not None else None, self.position)
        if key not in self._svgs:
            try:
                svg = self.diagram().svg()
            except DiagramTooLargeError as e:
                return f"<pre>{html.escape(str(e))}</pre>"
            except (RendererNotFoundError, RenderError) as e:
                return f"<pre>{html.escape(str(e))}</pre>"
            if len(self._svgs) >= _CACHED_PICTURES:
                del self._svgs[next(iter(self._svgs))]  # the oldest
            self._svgs[key] = scroll_box(fit_svg(svg), max_height="70vh")
        return self._svgs[key]

    def _sync(self) -> None:
        """Bring the buttons, the text and the picture in line with ``position``."""
        self.prev_button.disabled = self.first_button.disabled = self.position == 0
        self.next_button.disabled = self.last_button.disabled = self.position == len(self) - 1
        self.open_button.disabled = not self.can_open()
        self.close_button.disabled = self.opened is None
        self.counter_label.value = f"<b>{html.escape(self.counter())}</b>"
        self.step_text.value = (
            f"<pre>{page_text(_STEP_INDEX.sub('', str(self.step)))}</pre>")
        self.picture.value = self._picture_html()

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None,
                          **kwargs: Any) -> Any:
        if not _widgets_available():
            return {"text/plain": "The explorer app needs ipywidgets (pip install "
                                  "'microgrid-autodiff[notebook]'); here are its steps as "
                                  "text.\n\n" + self.transcript()}
        return self.widget()._repr_mimebundle_(include=include, exclude=exclude, **kwargs)


def explore(root: Value, *, fmt: NumberFormat = ".4g", **draw_options: Any) -> Explorer:
    """Step through ``root``'s forward pass and backprop.

    In a notebook with ipywidgets, the returned :class:`Explorer` shows as an app
    (buttons, slider, diagram); elsewhere every step is printed as text. ``draw_options``
    go to ``draw_dot``.
    """
    explorer = Explorer(root, fmt=fmt, **draw_options)
    if not in_notebook():
        print(explorer.transcript())
    return explorer
