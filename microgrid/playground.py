"""The playground: points of two classes on the plane and a network learning to tell them
apart, one update at a time.

A :class:`Playground` is one session: the points and their labels (0 or 1), a
:class:`microgrid.nn.MLP` with two inputs, the chosen hidden layers and activation and one
output, an optimizer and a loss. :meth:`Playground.step` makes updates and returns a
:class:`Snapshot` of everything the playground page draws (the loss per update, the
decision over the plane, the weights and their gradients, the graph of one sample with its
``data`` and ``grad``); :meth:`Playground.code` writes the Python script that reproduces
the run with microgrid's public API, in a notebook or a terminal: the same losses, to the
last bit on the same Python (the page's WebAssembly maths library may round ``tanh`` or a
power differently from another machine's, in the last bit: measured, 1e-15 relative).

**One update is one epoch.** Training is full batch, in the points' order (no shuffle):
each update is ``fit(model, X, y, epochs=1, shuffle=False, ...)``, the loss being the mean
of the per-example losses, computed before the update as :class:`microgrid.train.History`
records it. So k updates made one at a time are the same floating-point operations as one
``fit(..., epochs=k)``, and the script of :meth:`Playground.code` is that one call.
Changing the points keeps the network: the run goes on with the new points, and the script
then holds one ``fit`` call per set of points.

**Bad input** raises :class:`PlaygroundError` (a ``ValueError``) naming the argument:
no points, a class with no point, a layer list that is not whole numbers, a size or a
count beyond the limits below (the network trains in the page, on one core).

:class:`Controller` serves the page: it takes one request (a JSON object) at a time and
answers with a snapshot, or with ``{"error": message}`` for bad input, so the page's
script only passes messages. The page runs it in a Web Worker, in Pyodide; nothing here
knows where it runs.

This module sits on top of both wings it uses, as the command line does: the learning
wing (``nn``, ``optim``, ``train``, ``data``) and the seeing wing (``viz``); neither
imports it.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from . import _validate as check
from .data import make_moons
from .engine import Value
from .losses import named_loss
from .nn import ACTIVATIONS, MLP
from .optim import SGD, Adam, Optimizer
from .train import fit
from .viz import panels
from .viz.draw import draw_dot
from .viz.field import DecisionField
from .viz.live import render_errors
from .viz.page import inline_svg
from .viz.picture import DiagramTooLargeError

__all__ = ["EXTENT", "LIMITS", "LOSSES", "OPTIMIZERS", "Controller", "Playground",
           "PlaygroundError", "Snapshot", "default_points", "parse_layers"]

OPTIMIZERS: dict[str, type[Optimizer]] = {"adam": Adam, "sgd": SGD}
"""The optimizers by name (the playground's choice)."""

LOSSES = ("mse", "hinge", "bce")
"""The losses for one output and labels 0/1 (see :data:`microgrid.losses.NAMED_LOSSES`)."""

EXTENT = (-1.6, 2.6, -1.35, 1.85)
"""The part of the plane shown by default, ``(x_min, x_max, y_min, y_max)``: the two moons
of :func:`default_points` with a margin."""


@dataclass(frozen=True)
class Limits:
    """The largest session the page trains (one core, in the browser)."""

    points: int = 1000
    layers: int = 6
    width: int = 64
    resolution: int = 64
    steps: int = 1000  # updates per call of step()


LIMITS = Limits()


class PlaygroundError(ValueError):
    """Input the playground refuses; the message names the argument and what to do."""


@contextlib.contextmanager
def _refused() -> Iterator[None]:
    """A shared argument check's refusal (its message names the argument), raised as a
    :class:`PlaygroundError`."""
    try:
        yield
    except (TypeError, ValueError) as e:
        raise PlaygroundError(str(e)) from None


def default_points(n: int = 100, noise: float = 0.1) -> tuple[list[list[float]], list[int]]:
    """The two moons of :func:`microgrid.data.make_moons` (``n`` points, the first draw)."""
    return make_moons(n, noise=noise, seed=0)


def parse_layers(text: str | Sequence[int]) -> list[int]:
    """The hidden layers' sizes from text such as ``"16, 16"`` (or a list of ints); empty
    text means no hidden layer (a linear decision)."""
    if isinstance(text, str):
        parts = [p.strip() for p in text.replace(";", ",").split(",")]
        if parts == [""]:
            parts = []
        sizes = []
        for i, part in enumerate(parts):
            if not part.isdigit():
                raise PlaygroundError(
                    f"layers: {part!r} (item {i + 1} of {text!r}) is not a whole number; "
                    f"write the hidden layers' sizes separated by commas, e.g. 8, 8")
            sizes.append(int(part))
    else:
        sizes = [check.count(s, f"layers[{i}]", least=0) for i, s in
                 enumerate(check.sequence(text, "layers"))]
    if len(sizes) > LIMITS.layers:
        raise PlaygroundError(f"layers: {len(sizes)} hidden layers; at most {LIMITS.layers}")
    for i, size in enumerate(sizes):
        if not 1 <= size <= LIMITS.width:
            raise PlaygroundError(f"layers: hidden layer {i + 1} has {size} neurons; a layer "
                                  f"has 1 to {LIMITS.width}")
    return sizes


def _points(points: object, labels: object) -> tuple[list[list[float]], list[int]]:
    """The points as [x, y] floats and the labels as 0/1, checked."""
    with _refused():
        rows = check.sequence(points, "points")
        marks = check.sequence(labels, "labels")
    if len(rows) != len(marks):
        raise PlaygroundError(f"points: {len(rows)} points but {len(marks)} labels")
    if not rows:
        raise PlaygroundError("points: there are no points; add points of both classes")
    if len(rows) > LIMITS.points:
        raise PlaygroundError(f"points: {len(rows)} points; at most {LIMITS.points}")
    xs: list[list[float]] = []
    for i, p in enumerate(rows):
        with _refused():
            pair = check.sequence(p, f"points[{i}]")
            if len(pair) != 2:
                raise ValueError(f"points[{i}] must be [x, y], got {len(pair)} numbers")
            xs.append([check.real(v, f"points[{i}][{j}]") for j, v in enumerate(pair)])
    ys: list[int] = []
    for i, label in enumerate(marks):
        if isinstance(label, bool) or label not in (0, 1):
            raise PlaygroundError(f"labels[{i}] = {label!r}; a label is 0 or 1")
        ys.append(int(label))
    for c in (0, 1):
        if c not in ys:
            raise PlaygroundError(f"points: class {c} has no points; add at least one "
                                  f"point of each class")
    return xs, ys


@dataclass
class _Segment:
    """Updates made on one set of points."""

    X: list[list[float]]
    y: list[int]
    updates: int = 0


class Snapshot(dict[str, Any]):
    """What the page draws after a call, as a JSON-able dict (``_repr_json_`` shows it as
    JSON in Jupyter and in the page's interpreter)."""

    def _repr_json_(self) -> dict[str, Any]:
        return dict(self)


class Playground:
    """One session: ``points`` (``[x, y]`` each) with ``labels`` (0/1), by default the two
    moons; an MLP with two inputs, the hidden ``layers`` (``"8, 8"`` or ``[8, 8]``) of
    ``activation`` and one linear output, its weights drawn by ``MLP(..., seed=seed)``
    (Xavier initialization, fused neurons); ``optimizer`` (``"adam"``, ``"sgd"``) with
    learning rate ``lr``; ``loss`` (``"mse"``, ``"hinge"``, ``"bce"``). ``sample`` is the
    index of the point whose graph is drawn; ``extent`` the part of the plane shown and
    ``resolution`` the cells per side of its decision grid; ``max_nodes``: a sample graph
    of more values is drawn collapsed, one box per neuron (``draw_dot``'s; 60 shows every
    value of a network of a few neurons)."""

    def __init__(self, points: Sequence[Sequence[float]] | None = None,
                 labels: Sequence[int] | None = None, *, layers: str | Sequence[int] = "8, 8",
                 activation: str = "tanh", optimizer: str = "adam", lr: float = 0.05,
                 loss: str = "mse", seed: int = 0, sample: int = 0,
                 extent: Sequence[float] = EXTENT, resolution: int = 24,
                 max_nodes: int = 60) -> None:
        if points is None and labels is None:
            points, labels = default_points()
        X, y = _points(points, labels)
        self.layers = parse_layers(layers)
        self.activation = self._choice(activation, ACTIVATIONS, "activation")
        self.optimizer_name = self._choice(optimizer, OPTIMIZERS, "optimizer")
        self.loss = self._choice(loss, LOSSES, "loss")
        with _refused():
            self.lr = check.real(lr, "lr", low=0.0, low_ok=False, high=10.0)
            self.seed = check.count(seed, "seed", least=0)
            self.resolution = check.count(resolution, "resolution", least=2,
                                          most=LIMITS.resolution)
            self.max_nodes = check.count(max_nodes, "max_nodes")
            box = [check.real(v, f"extent[{i}]") for i, v in
                   enumerate(check.sequence(extent, "extent"))]
        if len(box) != 4 or not (box[0] < box[1] and box[2] < box[3]):
            raise PlaygroundError(f"extent must be (x_min, x_max, y_min, y_max) with "
                                  f"x_min < x_max and y_min < y_max, got {list(extent)}")
        self.extent = (box[0], box[1], box[2], box[3])
        self.model = MLP(2, [*self.layers, 1], activation=self.activation, init="xavier",
                         seed=self.seed, fused=True)
        self.optimizer = OPTIMIZERS[self.optimizer_name](self.model.parameters(), lr=self.lr)
        self.segments = [_Segment(X, y)]
        self.losses: list[float] = []
        self.accuracy: list[float] = []
        self.sample = 0
        self.choose_sample(sample)
        self._field = DecisionField(self.model)

    @staticmethod
    def _choice(value: object, choices: Any, name: str) -> str:
        with _refused():
            return check.choice(value, choices, name)

    # -- the data ------------------------------------------------------------------------
    @property
    def points(self) -> list[list[float]]:
        return self.segments[-1].X

    @property
    def labels(self) -> list[int]:
        return self.segments[-1].y

    @property
    def updates(self) -> int:
        """The updates made so far (= epochs: training is full batch)."""
        return len(self.losses)

    def set_points(self, points: Sequence[Sequence[float]], labels: Sequence[int]) -> None:
        """Train on these points from now on (the network keeps its weights)."""
        X, y = _points(points, labels)
        if self.segments[-1].updates == 0:
            self.segments[-1] = _Segment(X, y)
        else:
            self.segments.append(_Segment(X, y))
        if self.sample >= len(X):
            self.sample = 0

    def choose_sample(self, index: int) -> None:
        """Draw the graph of point ``index``."""
        with _refused():
            self.sample = check.count(index, "sample", least=0, most=len(self.points) - 1)

    # -- training ------------------------------------------------------------------------
    def step(self, n: int = 1, *, graph: bool = True) -> Snapshot:
        """Make ``n`` updates and return the :meth:`snapshot` (``graph``: with the sample's
        graph). An update the optimizer refuses (a value would overflow) stops the run
        there: the updates before it stay, and the error says so."""
        with _refused():
            n = check.count(n, "n", least=0, most=LIMITS.steps)
        segment = self.segments[-1]
        for _ in range(n):
            try:
                history = fit(self.model, segment.X, segment.y, loss=self.loss,
                              optimizer=self.optimizer, epochs=1, shuffle=False,
                              progress=False)
            except OverflowError as e:
                raise PlaygroundError(
                    f"lr: update {self.updates + 1} would overflow ({e}); the run stops "
                    f"after update {self.updates}. Lower the learning rate and reset."
                ) from None
            segment.updates += 1
            self.losses.extend(history.loss)
            self.accuracy.extend(history.accuracy)
        return self.snapshot(graph=graph)

    # -- what the page draws -------------------------------------------------------------
    def snapshot(self, *, graph: bool = True) -> Snapshot:
        """The session now, as JSON-able data: ``updates``; ``losses`` and ``accuracy``
        (one per update, measured before it); ``points``, ``labels``, ``counts`` (points
        per class); ``extent`` and ``boundary`` (the margin over the plane:
        :class:`~microgrid.viz.field.DecisionField`); ``weights`` (per layer: neuron rows
        of ``w0, w1, …, b`` with ``data`` and ``grad``, the gradient of the last update);
        ``panels`` (the live view's SVG charts: loss, accuracy, weights, gradients);
        ``sample`` (the chosen point, its loss, and its graph as DOT and as SVG drawn by
        :mod:`microgrid.viz.render` — Graphviz, or Graphviz in WebAssembly in the page —
        or why there is none)."""
        try:
            values: list[list[float]] | None = self._field.grid(self.extent,
                                                                self.resolution)[0]
        except ArithmeticError:  # an overflow (or the replay's NotFinite)
            values = None
        layers = self._weights()
        return Snapshot(
            updates=self.updates, losses=list(self.losses), accuracy=list(self.accuracy),
            points=[list(p) for p in self.points], labels=list(self.labels),
            counts=[self.labels.count(0), self.labels.count(1)],
            extent=list(self.extent),
            boundary={"resolution": self.resolution, "values": values},
            weights=layers, panels=self._panels(layers),
            sample=self._sample(graph),
            config={"layers": list(self.layers), "activation": self.activation,
                    "optimizer": self.optimizer_name, "lr": self.lr, "loss": self.loss},
            colors=list(panels.CLASS_COLORS[:2]))

    def _weights(self) -> list[dict[str, Any]]:
        out = []
        for i, layer in enumerate(self.model.layers):
            neurons = layer.neurons
            out.append({"name": f"L{i}", "rows": [f"N{j}" for j in range(len(neurons))],
                        "cols": [f"w{k}" for k in range(len(neurons[0].w))] + ["b"],
                        "data": [[p.data for p in (*u.w, u.b)] for u in neurons],
                        "grad": [[p.grad for p in (*u.w, u.b)] for u in neurons]})
        return out

    def _panels(self, layers: list[dict[str, Any]]) -> dict[str, Any]:
        """The live view's charts of the run (:mod:`microgrid.viz.panels`)."""
        stride = max(1, len(self.losses) // 400)
        charts: dict[str, Any] = {
            "loss": panels.line_chart([(self.losses[::stride], "#1f77b4", "loss")],
                                      title="loss per update", x_label="update"),
            "accuracy": panels.line_chart([(self.accuracy[::stride], "#2ca02c", "accuracy")],
                                          title="accuracy per update", x_label="update",
                                          y_range=(0.0, 1.0)),
            "weights": []}
        for layer in layers:
            for key, what in (("data", "weights"), ("grad", "gradients")):
                charts["weights"].append(panels.heat_map(
                    layer[key], title=f"{layer['name']} {what}", row_labels=layer["rows"],
                    col_labels=layer["cols"]))
        return charts

    def _sample(self, graph: bool) -> dict[str, Any]:
        """The chosen point's loss through the network now and, with ``graph``, its graph
        (DOT) with ``grad`` = ∂loss/∂node for this point alone; the parameters' gradients
        (the last update's) are put back afterwards."""
        x, t = self.points[self.sample], self.labels[self.sample]
        params = self.model.parameters()
        saved = [p.grad for p in params]
        encode, loss_fn = named_loss(self.loss, [0, 1], 1, False, who="Playground")
        out: dict[str, Any] = {"index": self.sample, "point": list(x), "label": t,
                               "dot": None, "svg": None, "message": None}
        try:
            inputs = [Value(x[0], "x0"), Value(x[1], "x1")]
            prediction = self.model(inputs)
            assert isinstance(prediction, Value)  # one output
            prediction.label = "out"
            out["output"] = prediction.data
            try:
                lv = loss_fn(prediction, encode(t))
            except OverflowError as e:
                out["loss"], out["message"] = None, f"The loss of this point overflows: {e}"
                return out
            lv.label = "loss"
            out["loss"] = lv.data
            if graph:
                for p in params:
                    p.grad = 0.0
                lv.backward()
                try:
                    diagram = draw_dot(lv, params=self.model, group="neuron",
                                       hide_constants=True, max_nodes=self.max_nodes,
                                       rankdir="LR")  # inputs left, the loss right
                    out["dot"] = diagram.source
                    out["svg"] = inline_svg(diagram.svg())  # at its natural size
                except render_errors() as e:  # the DOT is there; the page says why
                    out["message"] = f"No picture of the graph: {e}"
                except DiagramTooLargeError as e:
                    out["message"] = (f"The graph of this point is too large to draw ({e}); "
                                      f"choose fewer or smaller layers to see it.")
                except ImportError as e:
                    out["message"] = f"No picture of the graph: {e}"
        finally:
            for p, g in zip(params, saved):
                p.grad = g
        return out

    # -- the script ----------------------------------------------------------------------
    def code(self) -> str:
        """A Python script that reproduces this run with microgrid's public API: the same
        network, the same updates, the same losses (printed at the end), to the last bit on
        the same Python."""
        opt = "Adam" if self.optimizer_name == "adam" else "SGD"
        lines = [
            "# The playground's run, reproduced (it runs unchanged in a notebook).",
            "from microgrid.nn import MLP",
            f"from microgrid.optim import {opt}",
            "from microgrid.train import fit",
            "",
            f"model = MLP(2, {[*self.layers, 1]}, activation={self.activation!r}, "
            f"init='xavier', seed={self.seed}, fused=True)",
            f"optimizer = {opt}(model.parameters(), lr={self.lr!r})",
            "losses = []",
        ]
        for k, seg in enumerate(self.segments):
            if seg.updates == 0 and k < len(self.segments) - 1:
                continue
            lines += ["", *(["# the points as changed after "
                             f"{sum(s.updates for s in self.segments[:k])} updates"]
                            if k else []),
                      f"X = {_numbers(seg.X)}", f"y = {seg.y!r}"]
            if seg.updates:
                lines.append(
                    f"history = fit(model, X, y, loss={self.loss!r}, optimizer=optimizer, "
                    f"epochs={seg.updates}, shuffle=False, progress=False)")
                lines.append("losses += history.loss")
        lines += ["", "print(f'{len(losses)} updates, loss {losses[-1]:.6g}' if losses "
                      "else 'no updates yet')"]
        return "\n".join(lines) + "\n"


def _numbers(rows: list[list[float]]) -> str:
    """A list of points as Python source, each number exact (``repr``), a few per line."""
    items = [f"[{a!r}, {b!r}]" for a, b in rows]
    lines = [", ".join(items[i:i + 3]) for i in range(0, len(items), 3)]
    return "[\n    " + ",\n    ".join(lines) + ",\n]" if items else "[]"


class Controller:
    """The page's end of the playground: :meth:`handle` takes one request and answers with
    a snapshot (or ``{"error": message}`` when the input is refused, the session as it
    was).

    Requests (``action`` and its fields): ``"reset"`` with the session's settings
    (:class:`Playground`'s arguments: ``points``, ``labels``, ``layers``, ``activation``,
    ``optimizer``, ``lr``, ``loss``, ``seed``, ``extent``, ``resolution``), ``"points"``
    with ``points`` and ``labels``, ``"step"`` with ``n`` (updates, 0 to redraw),
    ``"sample"`` with ``index``, ``"code"``. Every request may say ``graph`` (default
    True): whether to draw the sample's graph.
    """

    SETTINGS = ("points", "labels", "layers", "activation", "optimizer", "lr", "loss",
                "seed", "extent", "resolution", "max_nodes")

    def __init__(self) -> None:
        self.playground: Playground | None = None

    def handle(self, request: dict[str, Any] | str) -> Snapshot:
        """Answer one request (a dict, or its JSON text)."""
        try:
            message = json.loads(request) if isinstance(request, str) else request
        except json.JSONDecodeError as e:
            return Snapshot(error=f"request: not JSON ({e})")
        if not isinstance(message, dict):
            return Snapshot(error=f"request: a JSON object is needed, got {message!r:.60}")
        action = message.get("action")
        graph = bool(message.get("graph", True))
        try:
            if action == "reset":
                unknown = sorted(set(message) - {*self.SETTINGS, "action", "graph"})
                if unknown:
                    raise PlaygroundError(f"reset: unknown setting {unknown[0]!r}")
                settings = {k: message[k] for k in self.SETTINGS if k in message}
                self.playground = Playground(**settings)
                return self.playground.snapshot(graph=graph)
            pg = self.playground
            if pg is None:
                raise PlaygroundError(f"{action}: no session yet; reset first")
            if action == "step":
                return pg.step(message.get("n", 1), graph=graph)
            if action == "points":
                pg.set_points(message.get("points"), message.get("labels"))  # type: ignore[arg-type]
                return pg.snapshot(graph=graph)
            if action == "sample":
                pg.choose_sample(message.get("index"))  # type: ignore[arg-type]
                return pg.snapshot(graph=graph)
            if action == "code":
                return Snapshot(code=pg.code())
            raise PlaygroundError(f"action: unknown action {action!r}; one of reset, step, "
                                  f"points, sample, code")
        except PlaygroundError as e:
            return Snapshot(error=str(e))

