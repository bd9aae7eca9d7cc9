"""Watch a network learn: ``fit(model, X, y, live=True)`` or ``fit(..., callbacks=[LiveView()])``.

In Jupyter the view shows one dashboard under the cell and updates it while training runs:

* the numbers: step, epoch, loss, accuracy;
* the loss per step and the loss and accuracy per epoch;
* each layer's weights and their gradients as heat maps (red > 0, blue < 0);
* for a model with two inputs, its decision over the plane with the data points;
* the computation graph of one chosen sample (``sample=``, default ``X[0]``) through the
  model and its loss, boxed by neuron, with ``data`` and ``grad`` on every node: ``grad`` is
  ∂loss(sample)/∂node, from a ``backward()`` on that sample alone (the parameters' batch
  gradients are put back afterwards, so training never sees it).

**Throttling.** Drawing costs time the training could use. A refresh is considered every
``every`` steps. While training runs, the time spent drawing is kept within ``overhead``
(default 3 %) of the time since it began, less the expected cost of the final frame (kept
in reserve): a *full* refresh (the graph and the decision field too) when that budget
allows one, else a *light* one (numbers, curves, weights) at most every ``min_interval``
seconds, light ones taking at most half of the budget. Each kind's cost is measured as it
goes. ``overhead=None`` refreshes fully every ``every`` steps. Fixed costs come on top: at
the start, laying the graph out (Graphviz runs in a thread meanwhile) and a light first
frame (step 0, the weights before training); at the end, a full final frame, whose numbers
are the model's — a few tens of milliseconds for a small network, so a run shorter than a
second shows little more than those two frames.

**Recording.** With ``record=True`` the view keeps the frames it draws, each one complete
(the first one waits for the graph's layout instead of saying it is under way). Given
``every=N`` explicitly, a recording keeps a full frame of every N-th step whatever the
throttle (the graph and the decision field redrawn for that step; a few tens of
milliseconds and, for a 2-8-8-1 network, about 0.3 MB of memory each, so choose N for the
length of the run): ``LiveView(every=10, record=True)`` over 30 steps keeps the steps 0, 10,
20, 30 and the final frame. Without ``every`` the throttle chooses the frames, as it does
for the notebook. :meth:`LiveView.export_html` writes them as one self-contained HTML page.

**A hand-written loop.** ``view = microgrid.watch(state_dict)`` (or
``LiveView(params=state_dict).start()``) watches a loop that does its own forward pass,
``backward()`` and update over a dict of matrices (nested lists of ``Value``s, named
``wte[3][7]``), a model, or a list of parameters (shown as one vector ``parameters``).
In the loop, ``view.update(step, loss=loss.data, text=sample)`` — **after**
``backward()`` and **before** the update zeroes the gradients, since that is when the
gradients are read — and ``view.close()`` at the end (or ``with microgrid.watch(...) as
view:``). The frames show the losses given, the gradient per matrix (the numbers of
:func:`~microgrid.viz.gradients.gradient_report`: its norm on a log scale, and which rows
received any), the texts given (sampled names, say) and each matrix and its gradient as
heat maps. Throttled as in ``fit``: the heat maps are the full refresh (their step is
written under them), the rest the light one. Each ``update`` keeps a copy of the
gradients (one float per parameter), so the final frame drawn by ``close()`` shows the
parameters as the loop left them with the gradients of the last ``update``.

``params=`` in ``fit`` too: the heat maps are then the matrices it names (one each, with its
gradient), and the graph of the sample names its parameters the same way.

Outside Jupyter nothing is shown (unless ``display=True``).
"""

from __future__ import annotations

import contextlib
import html
import numbers
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from ..compile import gc_paused
from ..engine import Value
from ..stepper import NumberFormat, format_number
from . import panels
from .draw import DiagramTooLargeError, draw_dot
from .explorer import in_notebook
from .field import DecisionField
from .frame import Frame
from .gradients import matrix_gradients, rows_text, watched_matrices
from .page import inline_svg
from .picture import owning_models, units_of
from .relabel import Relabel, ShapeChanged

__all__ = ["Frame", "LiveView", "render_errors", "watch"]


def render_errors() -> tuple[type[Exception], ...]:
    """The errors of a missing or failing Graphviz renderer (none without graphviz): what a
    view catches to say there is no picture and go on."""
    try:
        from .render import RendererNotFoundError, RenderError
    except ImportError:
        return ()
    return (RendererNotFoundError, RenderError)


def _number(v: Any) -> float:
    """An input number as a float (a ``Value`` gives its data)."""
    if isinstance(v, bool):
        raise TypeError("a bool is not an input number")
    return v.data if isinstance(v, Value) else float(v)


def _outputs(raw: Any) -> list[Value]:
    return [raw] if isinstance(raw, Value) else list(raw)


def _named_parameters(model: Any) -> list[tuple[str, Value]]:
    named = getattr(model, "named_parameters", None)
    if callable(named):
        return [(str(n), p) for n, p in named()]
    return [(p.label or f"p{i}", p) for i, p in enumerate(model.parameters())]


def _structured(model: Any, params: Sequence[Value]) -> Any:
    """The model whose neurons and layers the view shows: ``model`` itself when it is built
    of neurons (``.layers`` of ``.neurons`` of ``.w``/``.b``), else the one network its
    parameters remember (a module holding a microgrid MLP), else None."""
    if units_of(model) is not None:
        return model
    found = [m for m in owning_models(params) if units_of(m) is not None]
    return found[0] if len(found) == 1 else None


HeatMap = tuple[str, list[str], list[str], list[list[Value | None]]]  # name, rows, cols, cells


def _matrix_maps(mats: Sequence[Any]) -> list[HeatMap]:
    """One heat map per matrix (a vector is one row): rows and columns numbered."""
    out: list[HeatMap] = []
    for m in mats:
        grid: list[list[Value | None]] = [list(r) for r in (
            m.rows() if len(m.shape) >= 2 else [list(m.entries)])]
        rows = [str(i) for i in range(len(grid))] if 1 < len(grid) <= 32 else []
        out.append((m.title, rows, [str(j) for j in range(len(grid[0]))], grid))
    return out


def _layers(model: Any, named: Sequence[tuple[str, Value]]) -> list[HeatMap]:
    """The parameters as matrices, one per layer: ``(name, rows, cols, cells)``, read from
    the model's structure: row N1 of layer L0 holds neuron 1's weights w0, w1, … and its
    bias b (the last column); parameters outside it share one last row of their own."""
    structured = _structured(model, [p for _, p in named])
    units = units_of(structured) if structured is not None else None
    out = []
    placed: set[Value] = set()
    layers: dict[str, list[Any]] = {}
    for u in units or ():
        layers.setdefault(u.layer or "weights", []).append(u)
    for name, neurons in layers.items():
        width = max(len(u.w) for u in neurons)
        cols = [f"w{j}" for j in range(width)] + ["b"]
        cells: list[list[Value | None]] = [
            [*u.w, *([None] * (width - len(u.w))), u.b] for u in neurons]
        placed.update(p for row in cells for p in row if p is not None)
        out.append((name, [u.name or "N0" for u in neurons], cols, cells))
    loose = [(n, p) for n, p in named if p not in placed]
    if loose:
        out.append(("other", ["·"], [n for n, _ in loose], [[p for _, p in loose]]))
    return out


class LiveView:
    """A live dashboard of a training run; pass it to ``fit(callbacks=[...])`` or ``live=``.

    ``sample``: the example whose graph is drawn, an index into ``X`` (default 0) or an
    input list (then ``target`` is its target, or None to draw the outputs without a loss).
    ``every``: steps between refreshes. ``overhead``: the largest fraction of the run spent
    drawing (None: no limit). ``min_interval``: seconds between light refreshes.
    ``max_nodes``: the largest graph drawn (beyond it the view says so and keeps the rest).
    ``resolution``: grid points per side of the decision field. ``record``: keep the frames
    (for :meth:`export_html`): with ``every`` given, a full frame of every ``every``-th
    step, not throttled. ``display``: show in the notebook (default: in Jupyter).
    ``params``: the parameters by name (a ``state_dict`` of matrices, a model, a list):
    heat maps per matrix in ``fit``, and what :meth:`start` watches in a hand-written loop.
    """

    def __init__(self, *, sample: int | Sequence[float] | Any = 0, target: Any = None,
                 every: int | None = None, overhead: float | None = 0.03,
                 min_interval: float = 0.5,
                 max_nodes: int = 200, resolution: int = 20, record: bool = False,
                 display: bool | None = None, fmt: NumberFormat = ".4g",
                 params: Any = None) -> None:
        for name, n in (("every", 1 if every is None else every), ("max_nodes", max_nodes),
                        ("resolution", resolution)):
            if isinstance(n, bool) or not isinstance(n, int) or n < 1:
                raise ValueError(f"LiveView: {name} must be an int ≥ 1, got {n!r}")
        if overhead is not None and not (isinstance(overhead, (int, float))
                                         and 0 < overhead <= 1):
            raise ValueError(f"LiveView: overhead must be a fraction in (0, 1] or None, "
                             f"got {overhead!r}")
        chosen: int | list[float]
        if isinstance(sample, numbers.Integral) and not isinstance(sample, bool):
            chosen = int(sample)
        else:
            try:
                if isinstance(sample, (str, bytes, bool)):
                    raise TypeError
                chosen = [_number(v) for v in sample]  # type: ignore[union-attr]
            except (TypeError, ValueError):
                raise TypeError(f"LiveView: sample must be an index into X or a list of "
                                f"input numbers, got {sample!r}") from None
        self.sample = chosen
        self.target = target
        self.every = 1 if every is None else every
        self._every_given = every is not None  # recorded: every every-th step, unthrottled
        self.overhead = overhead
        self.min_interval = float(min_interval)
        self.max_nodes = max_nodes
        self.resolution = resolution
        self.record = record
        self.display = in_notebook() if display is None else bool(display)
        self.fmt = fmt
        self.params = params
        self._mats = watched_matrices(params) if params is not None else None
        self._loop = False  # watching a hand-written loop (start/update/close)
        self.frames: list[Frame] = []
        self.frame: Frame | None = None
        self.history: Any = None
        self.refreshes = 0
        self.time_drawing = 0.0
        self._started = False
        self._handle: Any = None

    def __repr__(self) -> str:
        state = f"{self.refreshes} refreshes" if self._started else "not started"
        return f"LiveView({state}, {len(self.frames)} frames recorded)"

    # -- the callback protocol of fit ------------------------------------------------
    def on_fit_start(self, model: Any, X: Sequence[Sequence[Any]], y: Sequence[Any],
                     loss: Callable[[Any, Any], Value] | None = None) -> None:
        """Check the model and the sample, start laying out the sample's graph, and show
        the first frame (step 0: the weights before training)."""
        self._started = self._loop = False
        params = (_named_parameters(model) if self._mats is None else
                  [(n, v) for m in self._mats for n, v in zip(m.names, m.entries)])
        if not params:
            raise ValueError("LiveView: model has no parameters, so there is nothing to "
                             "watch learn")
        if len(X) == 0:
            raise ValueError("LiveView: X holds no examples")
        self.model, self.loss = model, loss
        self._X = [[_number(v) for v in row] for row in X]
        self._y = list(y)
        self._labels = all(isinstance(t, numbers.Integral) and not isinstance(t, bool)
                           for t in self._y)
        self._params = params
        self._param_list = list(dict.fromkeys(p for _, p in params))  # each once
        self._replay: DecisionField | None = None  # the decision field's model
        self._layers = (_layers(model, params) if self._mats is None
                        else _matrix_maps(self._mats))
        nin = len(self._X[0])
        if isinstance(self.sample, int):
            if not -len(self._X) <= self.sample < len(self._X):
                raise IndexError(f"LiveView: sample={self.sample} is outside X "
                                 f"({len(self._X)} examples)")
            self._x, self._t = self._X[self.sample], self._y[self.sample]
        else:
            if len(self.sample) != nin:
                raise ValueError(f"LiveView: sample has {len(self.sample)} values but the "
                                 f"model's inputs (the rows of X) have {nin}")
            self._x, self._t = list(self.sample), self.target
        structured = _structured(model, self._param_list)
        self._grouped = structured is not None and len(units_of(structured) or ()) > 1
        self._reset()
        if self.display or self.record:
            start = time.perf_counter()
            with self._sample_graph() as (roots, lv):
                self._lay_out(roots, lv)  # laid out in a thread, while training runs
            self.time_drawing += time.perf_counter() - start
            # step 0, the weights before training: light while the graph is laid out in a
            # thread, unless recorded (a recorded frame is complete)
            self.refresh(full=self.record)
        self._start_cost = self.time_drawing  # fixed, outside the budget of the run
        self._light_spent = 0.0

    def _reset(self) -> None:
        """A new run: no frames, no losses, the throttle's clock started."""
        self._batch_losses: list[float] = []
        self.frames, self.frame, self.history = [], None, None
        self.refreshes, self.time_drawing = 0, 0.0
        self._t0 = self._last_time = time.perf_counter()
        self._last_step = 0
        # first estimates (a 2-8-8-1 network on the development machine), then measured
        self._cost = {"full": 0.03, "light": 0.005}
        self._measured: set[str] = set()
        self._graph, self._field, self._graph_step = "", "", 0
        self._sample: dict[str, Any] | None = None  # the sample graph's numbers
        self._relabel: Relabel | None = None
        self._problem = ""  # why the graph cannot be drawn
        self._handle = None
        self._started = True

    def on_step(self, model: Any, history: Any, loss: float) -> None:
        """After each completed step: refresh when it is due and within the budget."""
        if not self._started or self._loop:
            return
        self.history = history
        self._batch_losses.append(_number(loss))
        self._tick(history.steps)

    def _tick(self, step: int) -> None:
        """Refresh at ``step`` when it is due and within the budget (the throttle)."""
        if not (self.display or self.record) or step - self._last_step < self.every:
            return
        if self.overhead is None or (self.record and self._every_given):
            self.refresh(full=True)
            return
        now = time.perf_counter()
        # what may be spent now, keeping back the cost of the final frame
        budget = self.overhead * (now - self._t0)
        allowed = budget - (self.time_drawing - self._start_cost) - self._cost["full"]
        if allowed >= self._cost["full"]:
            self.refresh(full=True)
        elif (budget / 2 - self._light_spent >= self._cost["light"]  # half for light ones
              and now - self._last_time >= self.min_interval):
            before = self.time_drawing
            self.refresh(full=False)
            self._light_spent += self.time_drawing - before

    def on_fit_end(self, model: Any, history: Any) -> None:
        """The final frame: every number is the model's as training left it."""
        if not self._started or self._loop:
            return
        self.history = history
        if self.display or self.record:
            self.refresh(full=True, final=True)

    # -- a hand-written loop -----------------------------------------------------------
    def start(self, params: Any = None) -> LiveView:
        """Watch a hand-written loop over ``params`` (or the ``params=`` given to the
        view): show the first frame (step 0, the parameters before training) and return
        the view. :meth:`update` starts it when it has not been started."""
        if params is not None:
            self.params, self._mats = params, watched_matrices(params)
        if self._mats is None:
            raise TypeError("LiveView.start: give the parameters to watch: "
                            "LiveView(params=state_dict) or microgrid.watch(state_dict)")
        if not self._mats:
            raise ValueError("LiveView: params holds no parameters, so there is nothing to "
                             "watch learn")
        self._loop = True
        self._params = [(n, v) for m in self._mats for n, v in zip(m.names, m.entries)]
        self._param_list = list(dict.fromkeys(p for _, p in self._params))
        self._layers = _matrix_maps(self._mats)
        self._reset()
        self._step = 0
        self._updated = self._closed = False
        self._steps: list[int] = []  # the steps of the losses given
        self._texts: list[tuple[int, str]] = []  # (step, text) as reported
        self._grads: list[float] | None = None  # copied at the last update
        self._maps, self._maps_step = "", 0
        if self.display or self.record:
            self.refresh(full=True)
        self._start_cost = self.time_drawing
        self._light_spent = 0.0
        return self

    def update(self, step: int | None = None, *, loss: Any = None,
               text: str | Sequence[str] | None = None) -> Frame | None:
        """One step of the loop done: ``loss`` its loss (a number or a ``Value``), ``text``
        anything the loop reports (a sampled name, or a list of them). Call it after
        ``backward()`` and before the gradients are zeroed: the gradients are read now.
        ``step`` defaults to the last one + 1. Returns the frame drawn, if one is due."""
        if not (self._started and self._loop):
            self.start()
        if self._closed:
            raise RuntimeError("LiveView.update: this view was closed; watch the next run "
                               "with a new one (microgrid.watch(params))")
        if step is None:
            step = self._step + 1 if self._updated else 1
        if isinstance(step, bool) or not isinstance(step, numbers.Integral) or step < 0:
            raise TypeError(f"LiveView.update: step must be an int ≥ 0, got {step!r}")
        if self._updated and step <= self._step:
            raise ValueError(f"LiveView.update: step {step} comes after step "
                             f"{self._step}; steps must increase")
        try:  # every argument checked before anything is kept
            value = None if loss is None else _number(loss)
        except (TypeError, ValueError):
            raise TypeError(f"LiveView.update: loss must be a number or a Value, got "
                            f"{loss!r}") from None
        lines = [] if text is None else [text] if isinstance(text, str) else list(text)
        if not all(isinstance(t, str) for t in lines):
            raise TypeError(f"LiveView.update: text must be a str or a list of str, "
                            f"got {text!r}")
        step = int(step)
        if value is not None:
            self._batch_losses.append(value)
            self._steps.append(step)
        self._texts += [(step, t) for t in lines]
        del self._texts[:-50]
        self._step, self._updated = step, True
        self._grads = [p.grad for p in self._param_list]
        before = self.refreshes
        self._tick(self._step)
        return self.frame if self.refreshes > before else None

    def close(self) -> Frame | None:
        """The final frame: the parameters as the loop left them, with the gradients of
        the last :meth:`update` (zeroed since, they are put back while it is drawn). The
        view is then done: a second ``close()`` returns the same frame, ``update`` refuses."""
        if not (self._started and self._loop) or not (self.display or self.record):
            self._closed = self._loop
            return None
        if self._closed:  # closed already: its final frame
            return self.frame
        self._closed = True
        now = [p.grad for p in self._param_list]
        try:
            if self._grads is not None:
                for p, g in zip(self._param_list, self._grads):
                    p.grad = g
            return self.refresh(full=True, final=True)
        finally:
            for p, g in zip(self._param_list, now):
                p.grad = g

    def __enter__(self) -> LiveView:
        if not (self._started and self._loop):
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _loop_frame(self, full: bool, final: bool) -> Frame:
        """A frame of a hand-written loop: losses, gradient per matrix, texts, heat maps."""
        step = self._step
        grads = matrix_gradients(self._mats or ())
        if full:
            self._maps, self._maps_step = self._heat_maps(), step
        losses = self._batch_losses
        stride = max(1, len(losses) // 400)
        charts = [panels.line_chart(
            [(losses[::stride], "#7f7f7f", "loss")], title="loss per step", x_label="step",
            x_ends=(self._steps[0], self._steps[-1]) if self._steps else None)]
        charts.append(panels.log_bars(
            [(g.title, g.norm, [i in set(g.rows_with_grad) for i in range(g.rows)]
              if len(g.shape) >= 2 and len(g.rows_with_grad) < g.rows else None)
             for g in grads], title="‖gradient‖ per matrix"))
        if self._texts:
            charts.append(panels.text_lines([f"{s}: {t}" for s, t in self._texts],
                                            title="reported"))
        head = [f"step {step}"]
        if losses:
            head.append(f"loss {format_number(losses[-1], self.fmt)}")
        if final:
            head.append("done")
        sub = (f'<div class="mg-sub">matrices at step {self._maps_step}: weights and '
               f'gradients; rows with gradient: '
               + html.escape("; ".join(f"{g.name} {rows_text(g.rows_with_grad, g.rows)}"
                                       for g in grads if len(g.shape) >= 2)) + "</div>")
        numbers_ = {
            "step": step, "loss": losses[-1] if losses else None,
            "maps_step": self._maps_step,
            "matrices": [g.as_dict() for g in grads],
            "parameters": [[name, p.data, p.grad] for name, p in self._params],
            "text": [t for s, t in self._texts if s == self._texts[-1][0]] if self._texts
            else None}
        return Frame(step, 0, " · ".join(head), "".join(charts) + self._maps, sub, numbers_)

    # -- drawing ---------------------------------------------------------------------
    def refresh(self, full: bool = True, final: bool = False) -> Frame:
        """Draw a frame now (``full``: the graph and the decision field too) and show it."""
        if not self._started:
            raise RuntimeError("LiveView: nothing to draw yet; pass the view to fit() "
                               "(callbacks=[view]) first")
        start = time.perf_counter()
        if self._loop:
            frame = self._loop_frame(full, final)
        else:
            step = self.history.steps if self.history is not None else 0
            if full:
                if self._draw_graph(final):
                    self._graph_step = step
                self._field = self._draw_field() if len(self._x) == 2 else ""
            frame = Frame(step, len(self.history.loss) if self.history is not None else 0,
                          self._head(step, final), self._panels(), self._graph_html(),
                          self._numbers(step))
        step = frame.step
        self.frame = frame
        if self.record:
            self.frames.append(frame)
        if self.display:
            self._show(frame.html())
        self.refreshes += 1
        self._last_step = step
        self._last_time = end = time.perf_counter()
        spent = end - start
        self.time_drawing += spent
        kind = "full" if full else "light"
        self._cost[kind] = (0.5 * (self._cost[kind] + spent) if kind in self._measured
                            else spent)
        self._measured.add(kind)
        return frame

    def _show(self, markup: str) -> None:
        from IPython.core.display import HTML
        from IPython.core.display_functions import display

        shown: Any = HTML(markup)  # type: ignore[no-untyped-call]
        if self._handle is None:
            self._handle = display(shown, display_id=True)  # type: ignore[no-untyped-call]
        else:
            self._handle.update(shown)

    def _head(self, step: int, final: bool) -> str:
        h = self.history
        done = len(h.loss) if h is not None else 0
        parts = [f"step {step}", f"{done} epoch{'' if done == 1 else 's'}"]
        if h is not None and h.loss:
            parts.append(f"loss {format_number(h.loss[-1], self.fmt)}")
        elif self._batch_losses:
            parts.append(f"batch loss {format_number(self._batch_losses[-1], self.fmt)}")
        if h is not None and h.accuracy:
            parts.append(f"accuracy {h.accuracy[-1]:.1%}")
        if final:
            parts.append("interrupted" if getattr(h, "interrupted", False) else "done")
        return " · ".join(parts)

    def _panels(self) -> str:
        h = self.history
        losses = self._batch_losses
        stride = max(1, len(losses) // 400)
        charts = [panels.line_chart([(losses[::stride], "#7f7f7f", "batch loss")],
                                    title="loss per step", x_label="step")]
        if h is not None and h.loss:
            series = [(h.loss, "#1f77b4", "loss")]
            charts.append(panels.line_chart(series, title="loss per epoch", x_label="epoch"))
        if h is not None and h.accuracy:
            charts.append(panels.line_chart([(h.accuracy, "#2ca02c", "accuracy")],
                                            title="accuracy per epoch", x_label="epoch",
                                            y_range=(0.0, 1.0)))
        if self._field:
            charts.append(self._field)
        charts.append(self._heat_maps())
        return "".join(charts)

    def _heat_maps(self) -> str:
        """Each layer's (or matrix's) weights and gradients, as heat maps."""
        charts = []
        for name, rows, cols, cells in self._layers:
            data = [[None if p is None else p.data for p in row] for row in cells]
            grads = [[None if p is None else p.grad for p in row] for row in cells]
            # a matrix named by params= with more than 64 entries: small cells, no numbers
            small = self._mats is not None and len(cells) * len(cells[0]) > 64
            cell = 9 if small else 26
            charts.append(panels.heat_map(data, title=f"{name} weights", row_labels=rows,
                                          col_labels=cols, cell=cell, annotate=not small))
            charts.append(panels.heat_map(grads, title=f"{name} gradients", row_labels=rows,
                                          col_labels=cols, cell=cell, annotate=not small))
        return "".join(charts)

    def _graph_html(self) -> str:
        if not self._graph:
            return '<div class="mg-sub">laying out the graph of the sample…</div>'
        if self._graph.startswith("<svg"):
            return (f'<div class="mg-sub">graph of the sample at step {self._graph_step} '
                    f'(grad = ∂loss/∂node for this sample; click it to zoom)</div>'
                    f'<div class="mg-graph" onclick="this.classList.toggle(\'mg-zoom\')">'
                    f'{self._graph}</div>')
        return f'<div class="mg-note">{html.escape(self._graph)}</div>'

    @contextlib.contextmanager
    def _sample_graph(self) -> Iterator[tuple[Value | list[Value], Value | None]]:
        """A fresh forward pass of the sample and, when its loss is known, ``backward()``:
        ``(roots, loss or None)``. The parameters' own gradients (the batch's) are put back
        on leaving the block."""
        params = self._param_list
        saved = [p.grad for p in params]
        try:
            with gc_paused():
                xs = [Value(v, f"x{i}") for i, v in enumerate(self._x)]
                raw = self.model(xs)
                outs = _outputs(raw)
                for j, o in enumerate(outs):
                    if not o.label and not o.is_leaf:
                        o.label = "out" if len(outs) == 1 else f"out{j}"
                lv = None
                if self.loss is not None and self._t is not None:
                    lv = self.loss(raw, self._t)
                    if not lv.label and not lv.is_leaf:
                        lv.label = "loss"
                    for p in params:
                        p.grad = 0.0
                    lv.backward()
                self._sample = {
                    "input": list(self._x), "outputs": [o.data for o in outs],
                    "loss": lv.data if lv is not None else None,
                    "grads": ([[name, p.grad] for name, p in self._params]
                              if lv is not None else None)}
                yield (lv if lv is not None else outs[0] if len(outs) == 1 else outs), lv
        finally:
            for p, g in zip(params, saved):
                p.grad = g

    def _draw_options(self, lv: Value | None) -> dict[str, Any]:
        """How the sample's graph is drawn (``draw_dot``'s options)."""
        return {"fmt": self.fmt, "show_grad": lv is not None, "hide_constants": True,
                # the model itself when it is built of neurons (its structure names and boxes
                # them); else its parameters, which may remember the network they belong to
                "params": (self.params if self.params is not None else self.model
                           if units_of(self.model) is not None else self._param_list),
                "group": "neuron" if self._grouped else None,
                "max_nodes": self.max_nodes}

    def _lay_out(self, roots: Value | list[Value], lv: Value | None) -> None:
        """Start laying out the sample's graph (in a thread); or note why it cannot be."""
        try:
            self._relabel = Relabel(roots, **self._draw_options(lv))
        except DiagramTooLargeError as e:
            self._relabel = None
            self._problem = (f"The graph of the sample is too large to draw ({e}). The "
                             f"curves and weights go on; for the graph use a smaller or "
                             f"fused model (MLP(..., fused=True)) or "
                             f"LiveView(max_nodes=...).")
        except ImportError as e:  # no graphviz package: the rest of the view goes on
            self._relabel, self._problem = None, f"No picture of the graph: {e}"

    def _draw_graph(self, final: bool = False) -> bool:
        """Redraw the sample's graph (``self._graph``: an SVG, or a sentence saying why
        there is none). False, and nothing drawn, while its layout is still running (a
        final or recorded frame waits for it)."""
        if (self._relabel is not None and not self._relabel.ready() and not final
                and not self.record):  # a recorded frame waits for the layout
            return False
        with self._sample_graph() as (roots, lv):
            if self._relabel is None and not self._problem:
                self._lay_out(roots, lv)
            if self._relabel is None:
                self._graph = self._problem
                return True
            try:
                try:
                    self._graph = self._relabel.fill(roots)
                except ShapeChanged:  # another graph: lay it out again, and wait for it
                    self._lay_out(roots, lv)
                    self._graph = (self._relabel.fill(roots) if self._relabel is not None
                                   else self._problem)
            except ShapeChanged:  # a picture the template cannot read: draw it whole
                self._graph = inline_svg(draw_dot(roots, **self._draw_options(lv)).svg())
            except render_errors() as e:  # no Graphviz renderer: say so, go on
                self._relabel, self._problem = None, f"No picture of the graph: {e}"
                self._graph = self._problem
        return True

    def _draw_field(self) -> str:
        """The model's decision over a grid around the data, with the data points."""
        xs = [row[0] for row in self._X]
        ys = [row[1] for row in self._X]
        mx = 0.1 * (max(xs) - min(xs) or 1.0)
        my = 0.1 * (max(ys) - min(ys) or 1.0)
        extent = (min(xs) - mx, max(xs) + mx, min(ys) - my, max(ys) + my)
        if self._replay is None:
            self._replay = DecisionField(self.model, self._param_list)
        grid, classes = self._replay.grid(extent, self.resolution)
        labels = [int(t) for t in self._y] if self._labels else [None] * len(self._y)
        limit = 500  # points drawn at most
        keep = max(1, len(xs) // limit)
        return panels.decision_field(grid, extent,
                                     list(zip(xs, ys))[::keep], labels[::keep],
                                     classes=classes,
                                     title="decision" if self._labels else "output")

    def _evaluator(self) -> Callable[[float, float], list[float]]:
        """The model's outputs at a point (x, y) of the plane (:class:`DecisionField`)."""
        if self._replay is None:
            self._replay = DecisionField(self.model, self._param_list)
        return self._replay.evaluator()

    def _numbers(self, step: int) -> dict[str, Any]:
        """The frame's numbers, exact: the history's, each parameter's ``[name, data,
        grad]`` (the batch gradient of the last step) and the sample graph's (its input,
        outputs, loss and ∂loss/∂parameter, as of ``graph_step``)."""
        h = self.history
        return {
            "step": step,
            "epoch": len(h.loss) if h is not None else 0,
            "loss": h.loss[-1] if h is not None and h.loss else None,
            "accuracy": h.accuracy[-1] if h is not None and h.accuracy else None,
            "batch_loss": self._batch_losses[-1] if self._batch_losses else None,
            "graph_step": self._graph_step,
            "parameters": [[name, p.data, p.grad] for name, p in self._params],
            "sample": self._sample,
        }

    # -- output ----------------------------------------------------------------------
    def export_html(self, path: str | Path, *, title: str = "Training run") -> Path:
        """Write the recorded frames as one self-contained HTML player (``record=True``)."""
        from .player import export_html

        return export_html(path, self, title=title)

    def _repr_html_(self) -> str:
        if self.frame is not None:
            return self.frame.html()
        return f"<pre>{html.escape(repr(self))}</pre>"


def watch(params: Any, **options: Any) -> LiveView:
    """Watch a hand-written training loop over ``params`` (a ``state_dict`` of matrices, a
    model or a list of parameters): ``LiveView(params=params, **options).start()``. In the
    loop, after ``backward()`` and before the gradients are zeroed, ``view.update(step,
    loss=loss.data, text=sample)``; at the end ``view.close()``."""
    return LiveView(params=params, **options).start()
