"""Walk through a computation one node at a time: ``explore(f)``.

In Jupyter, ``explore(f)`` shows a small app: buttons and a slider step through the
forward pass, then backprop, redrawing the diagram at each step (the current node
highlighted, the values or gradients known so far, the contributions on the edges).
Elsewhere it prints the same steps as text.

:class:`Explorer` holds the position and does the stepping; its ``widget()`` builds the
ipywidgets UI on top, so the logic can be used (and tested) without a browser.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from ..engine import Value
from ..stepper import BackwardStep, ForwardStep, NumberFormat, backward_steps, forward_steps

if TYPE_CHECKING:
    from .render import Diagram

__all__ = ["Explorer", "explore", "in_notebook"]


def in_notebook() -> bool:
    """True inside a Jupyter kernel (where widgets can be shown)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


class Explorer:
    """The forward steps then the backward steps of ``root``, and a position among them.

    ``draw_options`` go to :func:`~microgrid.viz.draw_dot` (``hide_constants=True``, …).
    """

    def __init__(self, root: Value, *, fmt: NumberFormat = ".4g", **draw_options: Any) -> None:
        self.root = root
        self.fmt = fmt
        self.draw_options = draw_options
        self.forward = forward_steps(root, fmt)
        self.backward = backward_steps(root, fmt=fmt)
        self.position = 0
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
    def text(self) -> str:
        """The current step as text, with where it stands."""
        total = len(self.forward) if self.phase == "forward" else len(self.backward)
        return f"{self.phase} pass, step {self.index + 1} of {total}\n{self.step}"

    def diagram(self) -> Diagram:
        """The diagram of the state after the current step."""
        from .draw import draw_dot

        steps = self.forward if self.phase == "forward" else self.backward
        return draw_dot(self.root, fmt=self.fmt, steps=steps, at=self.index,
                        **self.draw_options)

    def transcript(self) -> str:
        """Every step, forward then backward, as text."""
        lines = ["Forward pass (evaluation order):"]
        lines += [str(s) for s in self.forward]
        lines.append("Backward pass (reverse topological order):")
        lines += [str(s) for s in self.backward]
        return "\n".join(lines)

    # -- the Jupyter app ---------------------------------------------------------------
    def widget(self) -> Any:
        """The ipywidgets UI (built once): ⏮ ◀ ▶ ⏭ buttons, a slider, the step, the diagram."""
        if self._widget is not None:
            return self._widget
        try:
            import ipywidgets as w  # type: ignore[import-untyped]
        except ImportError as e:
            raise ImportError("the explorer app needs ipywidgets: "
                              "pip install 'microgrid[notebook]'") from e

        self.first_button = w.Button(description="⏮", tooltip="first step",
                                     layout=w.Layout(width="3em"))
        self.prev_button = w.Button(description="◀", tooltip="step back",
                                    layout=w.Layout(width="3em"))
        self.next_button = w.Button(description="▶", tooltip="step on",
                                    layout=w.Layout(width="3em"))
        self.last_button = w.Button(description="⏭", tooltip="last step",
                                    layout=w.Layout(width="3em"))
        self.slider = w.IntSlider(value=self.position, min=0, max=len(self) - 1,
                                  description="step", continuous_update=False)
        self.step_text = w.HTML()
        self.picture = w.HTML()
        self.first_button.on_click(lambda _: self.first())
        self.prev_button.on_click(lambda _: self.prev())
        self.next_button.on_click(lambda _: self.next())
        self.last_button.on_click(lambda _: self.last())
        self.slider.observe(lambda change: self.goto(change["new"]), names="value")
        controls = w.HBox([self.first_button, self.prev_button, self.next_button,
                           self.last_button, self.slider])
        self._widget = w.VBox([controls, self.step_text, self.picture])
        self._sync()
        return self._widget

    def _sync(self) -> None:
        """Bring the buttons, the text and the picture in line with ``position``."""
        self.prev_button.disabled = self.first_button.disabled = self.position == 0
        self.next_button.disabled = self.last_button.disabled = self.position == len(self) - 1
        self.step_text.value = f"<pre>{html.escape(self.text())}</pre>"
        bundle = self.diagram()._repr_mimebundle_()
        svg = bundle.get("image/svg+xml")
        self.picture.value = svg[svg.find("<svg"):] if svg else bundle["text/html"]

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None,
                          **kwargs: Any) -> Any:
        bundle = self.widget()._repr_mimebundle_(include=include, exclude=exclude, **kwargs)
        return bundle


def explore(root: Value, *, fmt: NumberFormat = ".4g", **draw_options: Any) -> Explorer:
    """Step through ``root``'s forward pass and backprop.

    In Jupyter the returned :class:`Explorer` shows as an app (buttons, slider, diagram);
    elsewhere every step is printed as text. ``draw_options`` go to ``draw_dot``.
    """
    explorer = Explorer(root, fmt=fmt, **draw_options)
    if not in_notebook():
        print(explorer.transcript())
    return explorer
