"""Walk through a computation one node at a time: ``explore(f)``.

In a notebook, ``explore(f)`` shows a small app: First / Back / Next / Last buttons and a
slider step through the forward pass, then backprop, redrawing the diagram at each step
(the current node highlighted, the values or gradients known so far, the contributions on
the edges). Steps are numbered once, across both passes: "step 5 of 23 · backward".
Without ipywidgets, or outside a notebook, it prints the same steps as text.

:class:`Explorer` holds the position and does the stepping; its ``widget()`` builds the
ipywidgets UI on top, so the logic can be used (and tested) without a browser. The
picture of the graph is described once; each step only redraws its marks.
"""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING, Any

from ..engine import Value
from ..stepper import BackwardStep, ForwardStep, NumberFormat, backward_steps, forward_steps
from .marks import marks_at
from .picture import DiagramTooLargeError, Picture, describe
from .safe_text import page_text

if TYPE_CHECKING:
    from .render import Diagram

__all__ = ["Explorer", "explore", "in_notebook"]

_PICTURE_OPTIONS = {"hide_constants", "params", "group", "max_nodes", "rankdir", "title"}
_STYLE_OPTIONS = {"show_grad", "show_local", "show_contribution", "highlight"}
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

    ``draw_options`` go to :func:`~microgrid.viz.draw_dot` (``hide_constants=True``, …).
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
        self.forward = forward_steps(root, fmt)
        self.backward = backward_steps(root, fmt=fmt)
        self.position = 0
        self._picture: Picture | None = None
        self._svgs: dict[int, str] = {}
        self._widget: Any = None

    def __len__(self) -> int:
        return len(self.forward) + len(self.backward)

    def __repr__(self) -> str:
        return (f"Explorer({len(self.forward)} forward steps, {len(self.backward)} backward "
                f"steps, at {self.position})")

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
    def step(self) -> ForwardStep | BackwardStep:
        """The current step."""
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

    # -- showing ---------------------------------------------------------------------
    def counter(self) -> str:
        """Where the explorer stands: ``"step 5 of 23 · backward"``."""
        return f"step {self.position + 1} of {len(self)} · {self.phase}"

    def text(self) -> str:
        """The current step as text, under :meth:`counter`."""
        return f"{self.counter()}\n{_STEP_INDEX.sub('', str(self.step))}"

    def description(self) -> Picture:
        """The description of the graph's picture (computed once)."""
        if self._picture is None:
            options = {k: v for k, v in self.draw_options.items() if k in _PICTURE_OPTIONS}
            self._picture = describe(self.root, fmt=self.fmt, **options)
        return self._picture

    def diagram(self) -> Diagram:
        """The diagram of the state after the current step."""
        from .dot import Style, emit  # imports graphviz, only now

        steps = self.forward if self.phase == "forward" else self.backward
        options = self.draw_options
        style = Style(self.fmt, options.get("show_grad", True),
                      options.get("show_local", False),
                      options.get("show_contribution", False),
                      frozenset(options.get("highlight", ())))
        return emit(self.description(), marks_at(steps, self.index, self.fmt), style)

    def transcript(self) -> str:
        """Every step, forward then backward, as text."""
        lines = ["Forward pass (evaluation order):"]
        lines += [str(s) for s in self.forward]
        lines.append("Backward pass (reverse topological order):")
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
        self.slider.observe(lambda change: self.goto(change["new"]), names="value")
        controls = w.HBox([self.first_button, self.prev_button, self.next_button,
                           self.last_button, self.slider, self.counter_label],
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
        if self.position not in self._svgs:
            try:
                svg = self.diagram().svg()
            except DiagramTooLargeError as e:
                return f"<pre>{html.escape(str(e))}</pre>"
            except (RendererNotFoundError, RenderError) as e:
                return f"<pre>{html.escape(str(e))}</pre>"
            if len(self._svgs) >= _CACHED_PICTURES:
                del self._svgs[next(iter(self._svgs))]  # the oldest
            self._svgs[self.position] = scroll_box(fit_svg(svg), max_height="70vh")
        return self._svgs[self.position]

    def _sync(self) -> None:
        """Bring the buttons, the text and the picture in line with ``position``."""
        self.prev_button.disabled = self.first_button.disabled = self.position == 0
        self.next_button.disabled = self.last_button.disabled = self.position == len(self) - 1
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
