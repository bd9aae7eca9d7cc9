"""Plots for learning: training curves, decision boundaries, activations, optimizer paths.

Each function draws on ``ax`` (a matplotlib ``Axes``; a new figure when omitted) and returns
what it drew on. Everything drawn is computed by microgrid itself: the activation curves and
their derivatives by ``Value`` ops and ``backward()``, the optimizer paths by
:mod:`microgrid.optim`, the decision regions by calling the model.

matplotlib is imported only when a function is called, so ``import microgrid`` works without
it; it comes with the notebook extra: ``pip install "microgrid-autodiff[notebook]"``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from . import _validate as check
from .collector import gc_paused
from .engine import Value
from .losses import decision_threshold, predicted_class
from .optim import Newton, Optimizer

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from .viz.gradients import GradientReport

__all__ = ["activation_curve", "activations", "decision_boundary", "gradients", "history",
           "optimizer_paths"]

Point = tuple[float, float]
MARKERS = "os^Dv<>pP*"


def _pyplot() -> Any:
    """matplotlib.pyplot, or an ImportError that says how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as e:
        raise ImportError(
            "microgrid.plot needs matplotlib, which comes with the notebook extra: "
            'pip install "microgrid-autodiff[notebook]" (or: pip install matplotlib)') from e
    return plt


def _axes(ax: object, who: str, figsize: tuple[float, float]) -> Axes:
    """``ax`` checked to be an Axes, or the Axes of a new figure when it is None."""
    plt = _pyplot()
    if ax is None:
        return plt.subplots(figsize=figsize, layout="constrained")[1]  # type: ignore[no-any-return]
    from matplotlib.axes import Axes

    if not isinstance(ax, Axes):
        raise TypeError(f"{who}: ax must be a matplotlib Axes, got {type(ax).__name__}")
    return ax


def _pair(p: object, what: str) -> Point:
    if isinstance(p, (str, bytes)) or not isinstance(p, Sequence) or len(p) != 2:
        raise TypeError(f"{what} must be a pair of numbers (x0, x1), got {p!r}")
    return check.real(p[0], f"{what}[0]"), check.real(p[1], f"{what}[1]")


def _linspace(lo: float, hi: float, n: int) -> list[float]:
    return [lo + (hi - lo) * i / (n - 1) for i in range(n)]


# ----------------------------------------------------------------------------------
# Training history
# ----------------------------------------------------------------------------------

class _History(Protocol):
    """What :func:`history` reads: per-epoch ``loss`` and ``accuracy`` lists (what ``fit``
    returns, :class:`microgrid.train.History`; this module does not import it)."""

    loss: list[float]
    accuracy: list[float]


def _is_history(h: object) -> bool:
    return isinstance(getattr(h, "loss", None), list) and isinstance(
        getattr(h, "accuracy", None), list)


def history(hist: _History | Mapping[str, _History], ax: Axes | None = None, *,
            log: bool | None = None) -> Axes:
    """The loss curve of a :class:`~microgrid.train.History`, and its accuracy on a second
    y-axis (right, 0 to 1) when it has one. Epochs are numbered from 1.

    ``hist`` may also map names to histories (``{"SGD": h1, "Adam": h2}``): one loss curve
    each, for comparing runs. ``log=None`` puts the loss on a log scale when every loss is
    positive and they span more than a factor of 10. Returns the loss Axes.
    """
    single = _is_history(hist)
    runs: dict[str, Any]
    if single:
        runs = {"loss": hist}
    elif isinstance(hist, Mapping):
        if not hist:
            raise ValueError("history: hist is an empty mapping; give one History or "
                             "a mapping of names to Histories")
        runs = {}
        for name, h in hist.items():
            if not _is_history(h):
                raise TypeError(f"history: hist[{name!r}] must be a History, "
                                f"got {type(h).__name__}")
            runs[str(name)] = h
    else:
        raise TypeError(f"history: hist must be a History (what fit returns) or a mapping "
                        f"of names to Histories, got {type(hist).__name__}")
    for name, h in runs.items():
        if not h.loss:
            where = "hist" if single else f"hist[{name!r}]"
            raise ValueError(f"history: {where} has no epochs; train with fit first")
    if log is not None and not isinstance(log, bool):
        raise TypeError(f"history: log must be True, False or None, got {log!r}")
    ax = _axes(ax, "history", (7.0, 3.5))
    lines = []
    for name, h in runs.items():
        lines += ax.plot(range(1, len(h.loss) + 1), h.loss, label=name)
    everything = [v for h in runs.values() for v in h.loss]
    if log is None:
        log = min(everything) > 0 and max(everything) > 10 * min(everything)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean loss")
    ax.grid(alpha=0.3, which="both")
    if single and runs["loss"].accuracy:
        right = ax.twinx()
        accuracy = runs["loss"].accuracy
        lines += right.plot(range(1, len(accuracy) + 1), accuracy,
                            color="tab:green", label="accuracy")
        right.set_ylim(0.0, 1.02)
        right.set_ylabel("accuracy")
    if len(lines) > 1:
        ax.legend(lines, [str(line.get_label()) for line in lines], loc="best")
    return ax


# ----------------------------------------------------------------------------------
# Decision boundary
# ----------------------------------------------------------------------------------

def _scores(out: object) -> list[float]:
    """The model's outputs as floats (a Value, a number, or a list of them)."""
    items = out if isinstance(out, (list, tuple)) else [out]
    scores = []
    for o in items:
        if isinstance(o, Value):
            scores.append(o.data)
        elif isinstance(o, (int, float)) and not isinstance(o, bool):
            scores.append(float(o))
        else:
            raise TypeError(f"decision_boundary: model must return a Value or a list of "
                            f"Values, got {type(out).__name__}: {out!r}")
    if not scores:
        raise ValueError("decision_boundary: model returned no outputs")
    return scores


def _light(color: Any, amount: float = 0.7) -> tuple[float, float, float]:
    """``color`` mixed with white (``amount`` of white)."""
    from matplotlib.colors import to_rgb

    return tuple(c + (1.0 - c) * amount for c in to_rgb(color))  # type: ignore[return-value]


def decision_boundary(model: Callable[[list[float]], Any], X: Sequence[Sequence[float]],
                      y: Sequence[int], ax: Axes | None = None, *,
                      resolution: int = 60) -> Axes:
    """The regions a 2-input classifier assigns to each class, with the data on top.

    ``model([x0, x1])`` returns a ``Value`` or a list of them. One output: class 1 where it
    is > 0 (> 0.5 when ``model.output_activation == "sigmoid"``), and the boundary is drawn as
    a line; k outputs: the argmax. The model is called on a ``resolution × resolution`` grid
    over the data (plus a 10% margin); each call builds a scalar graph, so the default
    60 × 60 (3,600 calls) takes about half a second for a 2-8-8-1 MLP.

    The regions are the image ``ax.images[-1]``, one pixel per grid point (row j is the j-th
    x1 value): for one output it holds the scores, coloured by their side of the threshold
    (interpolated between grid points, so the shading meets the boundary line); for k
    outputs, the class numbers.
    """
    if not callable(model):
        raise TypeError(f"decision_boundary: model must be callable on [x0, x1], "
                        f"got {type(model).__name__}")
    if isinstance(X, (str, bytes)) or not isinstance(X, Sequence) or not X:
        raise ValueError("decision_boundary: X must be a non-empty list of points (x0, x1)")
    points = [_pair(p, f"decision_boundary: X[{i}]") for i, p in enumerate(X)]
    if isinstance(y, (str, bytes)) or not isinstance(y, Sequence):
        raise TypeError(f"decision_boundary: y must be a list of class labels, "
                        f"got {type(y).__name__}")
    if len(y) != len(points):
        raise ValueError(f"decision_boundary: y has {len(y)} labels but X has "
                         f"{len(points)} points")
    for i, t in enumerate(y):
        if isinstance(t, bool) or not isinstance(t, int) or t < 0:
            raise ValueError(f"decision_boundary: y[{i}] must be a class label "
                             f"(an int 0, 1, ...), got {t!r}")
    n = check.count(resolution, "decision_boundary: resolution", least=2, most=1000)
    threshold = decision_threshold(model)

    def span(values: list[float]) -> tuple[float, float]:
        lo, hi = min(values), max(values)
        pad = 0.1 * (hi - lo) if hi > lo else 0.5
        return lo - pad, hi + pad

    (x_lo, x_hi), (y_lo, y_hi) = span([p[0] for p in points]), span([p[1] for p in points])
    xs, ys = _linspace(x_lo, x_hi, n), _linspace(y_lo, y_hi, n)
    k = 0
    scores: list[list[float]] = []
    classes: list[list[int]] = []
    with gc_paused():
        for gy in ys:
            score_row, class_row = [], []
            for gx in xs:
                s = _scores(model([gx, gy]))
                if k and len(s) != k:
                    raise ValueError(f"decision_boundary: model returned {len(s)} outputs at "
                                     f"({gx:.3g}, {gy:.3g}) but {k} before")
                k = len(s)
                score_row.append(s[0])
                class_row.append(predicted_class(s, threshold))
            scores.append(score_row)
            classes.append(class_row)

    from matplotlib.colors import BoundaryNorm, ListedColormap

    ax = _axes(ax, "decision_boundary", (6.0, 4.5))
    n_classes = max(2, k, max(y) + 1)
    colors = [f"C{c % 10}" for c in range(n_classes)]
    dx, dy = (x_hi - x_lo) / (n - 1), (y_hi - y_lo) / (n - 1)
    extent = (x_lo - dx / 2, x_hi + dx / 2, y_lo - dy / 2, y_hi + dy / 2)
    flat = [s for row in scores for s in row]
    if k == 1:  # bins [low, t'), [t', high] with t' the float after t: score > t is class 1
        above = math.nextafter(threshold, math.inf)
        bounds = [min(min(flat), threshold) - 1.0, above, max(max(flat), above) + 1.0]
        ax.imshow(scores, origin="lower", aspect="auto", extent=extent,
                  cmap=ListedColormap([_light(c) for c in colors[:2]]),
                  norm=BoundaryNorm(bounds, 2), interpolation="bilinear",
                  interpolation_stage="data")
    else:
        ax.imshow(classes, origin="lower", interpolation="nearest", aspect="auto",
                  extent=extent, cmap=ListedColormap([_light(c) for c in colors]),
                  vmin=-0.5, vmax=n_classes - 0.5)
    if k == 1 and min(flat) < threshold < max(flat):
        ax.contour(xs, ys, scores, levels=[threshold], colors="k", linewidths=1)
    for c in sorted(set(y)):
        mine = [p for p, t in zip(points, y) if t == c]
        ax.scatter([p[0] for p in mine], [p[1] for p in mine], c=colors[c],
                   marker=MARKERS[c % len(MARKERS)], edgecolors="k", linewidths=0.5,
                   label=f"class {c}", zorder=3)
    ax.set_xlim(x_lo - dx / 2, x_hi + dx / 2)
    ax.set_ylim(y_lo - dy / 2, y_hi + dy / 2)
    ax.set_xlabel("x0")
    ax.set_ylabel("x1")
    ax.legend(loc="best", fontsize="small")
    return ax


# ----------------------------------------------------------------------------------
# Activation functions
# ----------------------------------------------------------------------------------

ACTIVATION_NAMES = {"sigmoid": "sigmoid", "tanh": "tanh", "relu": "ReLU",
                    "softplus": "softplus", "leaky_relu": "leaky ReLU"}


def activation_curve(name: str, grid: Sequence[float], *,
                     slope: float = 0.1) -> tuple[list[float], list[float]]:
    """φ(n) and φ'(n) at each n of ``grid``: φ by the ``Value`` op, φ' by ``backward()``.

    ``name`` is one of ``sigmoid tanh relu softplus leaky_relu`` (``slope`` is leaky ReLU's α).
    """
    if name not in ACTIVATION_NAMES:
        raise ValueError(f"activation name must be one of {', '.join(ACTIVATION_NAMES)}; "
                         f"got {name!r}")
    slope = check.real(slope, "slope")
    values, slopes = [], []
    for i, n in enumerate(grid):
        v = Value(check.real(n, f"grid[{i}]"))
        out = v.leaky_relu(slope) if name == "leaky_relu" else getattr(v, name)()
        out.backward()
        values.append(out.data)
        slopes.append(v.grad)
    return values, slopes


def activations(names: Sequence[str] | None = None,
                ax: tuple[Axes, Axes] | None = None, *, slope: float = 0.1,
                lo: float = -4.0, hi: float = 4.0, points: int = 401) -> tuple[Axes, Axes]:
    """The activations φ (top) and their derivatives φ' (bottom) on [lo, hi].

    ``names`` picks from ``sigmoid tanh relu softplus leaky_relu`` (all by default);
    ``slope`` is leaky ReLU's α. Each curve is computed by microgrid
    (:func:`activation_curve`): ``Value(n).sigmoid()`` for σ(n), then ``backward()`` for
    σ'(n), at ``points`` evenly spaced n. ``ax`` is a pair of Axes (values, derivatives);
    returns that pair.
    """
    chosen = list(ACTIVATION_NAMES) if names is None else names
    if isinstance(chosen, str) or not isinstance(chosen, Sequence) or not chosen:
        raise TypeError(f"activations: names must be a non-empty list of names from "
                        f"{', '.join(ACTIVATION_NAMES)}; got {names!r}")
    for name in chosen:
        if name not in ACTIVATION_NAMES:
            raise ValueError(f"activations: names has {name!r}; choose from "
                             f"{', '.join(ACTIVATION_NAMES)}")
    slope = check.real(slope, "activations: slope")
    lo, hi = check.real(lo, "activations: lo"), check.real(hi, "activations: hi")
    if not lo < hi:
        raise ValueError(f"activations: lo must be below hi, got lo={lo}, hi={hi}")
    grid = _linspace(lo, hi, check.count(points, "activations: points", least=2, most=100_000))
    if ax is None:
        top, bottom = _pyplot().subplots(2, 1, figsize=(8.0, 6.5), sharex=True,
                                           layout="constrained")[1]
    else:
        pair = tuple(ax) if isinstance(ax, Iterable) else ()
        if len(pair) != 2:
            raise TypeError(f"activations: ax must be a pair of Axes (values, derivatives), "
                            f"got {type(ax).__name__}")
        top, bottom = (_axes(a, "activations", (8.0, 3.25)) for a in pair)
    for name in chosen:
        values, slopes = activation_curve(name, grid, slope=slope)
        label = ACTIVATION_NAMES[name] + (f" (α = {slope:g})" if name == "leaky_relu" else "")
        style: dict[str, Any] = ({"ls": "--"} if name == "leaky_relu"
                                 else {"lw": 2.5} if name == "relu" else {})
        top.plot(grid, values, label=label, **style)
        bottom.plot(grid, slopes, label=label, **style)
    top.set_ylabel("φ(n)")
    top.set_title("activations")
    bottom.set_ylabel("φ'(n)  (from backward())")
    bottom.set_xlabel("n")
    bottom.set_title("their derivatives")
    for a in (top, bottom):
        a.axhline(0, color="gray", lw=0.5)
        a.axvline(0, color="gray", lw=0.5)
        a.grid(alpha=0.3)
    top.legend(loc="upper left")
    return top, bottom


# ----------------------------------------------------------------------------------
# Optimizer paths
# ----------------------------------------------------------------------------------

MakeOptimizer = Callable[[list[Value]], Optimizer]


def _descend(loss_fn: Callable[[Value, Value], Value], make: MakeOptimizer, name: str,
             start: Point, steps: int) -> tuple[list[Point], float]:
    """The points the optimizer visits from ``start`` (``steps`` updates), and the final loss."""
    x, y = Value(start[0], "x"), Value(start[1], "y")
    opt = make([x, y])
    if not isinstance(opt, Optimizer):
        raise TypeError(f"optimizer_paths: optimizers[{name!r}] must make an optimizer from "
                        f"[x, y] (e.g. lambda ps: SGD(ps, lr=0.01)), got {type(opt).__name__}")
    path = [start]
    for _ in range(steps):
        loss = loss_fn(x, y)
        if isinstance(opt, Newton):  # its step differentiates the loss itself (twice)
            opt.step(loss)
        else:
            opt.zero_grad()
            loss.backward()
            opt.step()
        path.append((x.data, y.data))
    return path, loss_fn(x, y).data


def _levels(values: list[float], count: int = 12) -> list[float]:
    """Contour levels: log-spaced for a positive surface, evenly spaced otherwise."""
    lo, hi = min(values), max(values)
    if not hi > lo:
        return [lo]
    if lo >= 0.0:
        floor = max(lo, hi * 1e-4)
        ratio = hi / floor
        return [floor * ratio ** ((i + 0.5) / count) for i in range(count)]
    return [lo + (hi - lo) * (i + 0.5) / count for i in range(count)]


def optimizer_paths(loss_fn: Callable[[Value, Value], Value],
                    optimizers: Mapping[str, MakeOptimizer], start: Sequence[float],
                    ax: Axes | None = None, *, steps: int | Mapping[str, int] = 100,
                    bounds: tuple[Sequence[float], Sequence[float]] | None = None,
                    minimum: Sequence[float] | None = None, resolution: int = 100) -> Axes:
    """Paths of microgrid optimizers over the contours of a 2-D loss f(x, y).

    ``loss_fn(x, y)`` takes two ``Value`` parameters and returns a ``Value``.
    ``optimizers`` maps a name to a function making the optimizer from ``[x, y]``, e.g.
    ``{"SGD": lambda ps: SGD(ps, lr=1e-3), "Newton": Newton}``. Each starts at ``start`` and
    takes ``steps`` updates (an int, or one per name): ``zero_grad(); f.backward(); step()``,
    or ``step(f)`` for :class:`~microgrid.optim.Newton`. Each path is the line labelled with
    its name (and the final f). ``bounds`` ``((x_lo, x_hi), (y_lo, y_hi))`` defaults to the
    paths' extent; ``minimum`` marks a known minimum with a star; the contours evaluate f
    on a ``resolution × resolution`` grid.
    """
    if not callable(loss_fn):
        raise TypeError(f"optimizer_paths: loss_fn must be a function of two Values, "
                        f"got {type(loss_fn).__name__}")
    if not isinstance(optimizers, Mapping) or not optimizers:
        raise TypeError("optimizer_paths: optimizers must be a non-empty mapping of names to "
                        "functions making an optimizer, e.g. {'SGD': lambda ps: SGD(ps, 0.01)}")
    for name, make in optimizers.items():
        if not callable(make):
            raise TypeError(f"optimizer_paths: optimizers[{name!r}] must be callable on [x, y]")
    begin = _pair(start, "optimizer_paths: start")
    probe = loss_fn(Value(begin[0]), Value(begin[1]))
    if not isinstance(probe, Value):
        raise TypeError(f"optimizer_paths: loss_fn must return a Value, "
                        f"got {type(probe).__name__}")
    if isinstance(steps, Mapping):
        missing = set(optimizers) - set(steps)
        if missing:
            raise ValueError(f"optimizer_paths: steps has no entry for {sorted(missing)}")
        counts = {name: check.count(steps[name], f"optimizer_paths: steps[{name!r}]",
                                    least=1, most=10**6) for name in optimizers}
    else:
        n = check.count(steps, "optimizer_paths: steps", least=1, most=10**6)
        counts = dict.fromkeys(optimizers, n)
    res = check.count(resolution, "optimizer_paths: resolution", least=2, most=1000)
    mark = None if minimum is None else _pair(minimum, "optimizer_paths: minimum")

    paths = {name: _descend(loss_fn, make, name, begin, counts[name])
             for name, make in optimizers.items()}
    if bounds is None:
        seen = [p for path, _ in paths.values() for p in path] + ([mark] if mark else [])
        box = []
        for d in (0, 1):
            lo, hi = min(p[d] for p in seen), max(p[d] for p in seen)
            pad = 0.1 * (hi - lo) if hi > lo else 1.0
            box.append((lo - pad, hi + pad))
    else:
        if not isinstance(bounds, Sequence) or len(bounds) != 2:
            raise TypeError("optimizer_paths: bounds must be ((x_lo, x_hi), (y_lo, y_hi))")
        box = [_pair(bounds[d], f"optimizer_paths: bounds[{d}]") for d in (0, 1)]
        if not all(lo < hi for lo, hi in box):
            raise ValueError(f"optimizer_paths: bounds must have lo < hi, got {bounds!r}")
    gx, gy = _linspace(*box[0], res), _linspace(*box[1], res)
    with gc_paused():
        surface = [[loss_fn(Value(a), Value(b)).data for a in gx] for b in gy]

    ax = _axes(ax, "optimizer_paths", (6.5, 5.0))
    ax.contour(gx, gy, surface, levels=_levels([v for row in surface for v in row]),
               cmap="viridis", linewidths=0.8, alpha=0.8)
    for name, (path, final) in paths.items():
        few = len(path) <= 40
        ax.plot([p[0] for p in path], [p[1] for p in path], "o-" if few else ".-",
                ms=4 if few else 2, lw=1, label=f"{name}: f = {final:.3g}")
    ax.plot(*begin, "ko", ms=6, label="start")
    if mark is not None:
        ax.plot(*mark, "k*", ms=12, label="minimum")
    ax.set_xlim(*box[0])
    ax.set_ylim(*box[1])
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.legend(loc="best", fontsize="small")
    return ax


# ----------------------------------------------------------------------------------
# Where the gradient goes
# ----------------------------------------------------------------------------------

def gradients(report: GradientReport, ax: Axes | None = None) -> Axes:
    """A :func:`microgrid.gradient_report` drawn: one bar per matrix, its gradient's norm
    on a log scale (a matrix whose gradient is 0 everywhere gets no bar but a ``0`` at the
    axis, in red); beside them (an inset on the right), for each matrix where some rows
    received no gradient, one cell per row: dark where the row received gradient. Returns
    the Axes of the bars."""
    rows = getattr(report, "rows", None)
    if not isinstance(rows, list) or not all(hasattr(r, "norm") for r in rows):
        raise TypeError(f"gradients: report must be a GradientReport (what "
                        f"gradient_report returns), got {type(report).__name__}")
    if not rows:
        raise ValueError("gradients: the report holds no matrix")
    ax = _axes(ax, "gradients", (7.0, 0.45 * len(rows) + 1.2))
    ys = list(range(len(rows)))
    positive = [r.norm for r in rows if r.norm > 0 and math.isfinite(r.norm)]
    floor = min(positive) / 10 if positive else 1e-3
    ax.barh([y for y, r in zip(ys, rows) if r.norm > 0],
            [r.norm - floor for r in rows if r.norm > 0], left=floor,  # ends at the norm
            color="tab:blue")
    ax.set_xscale("log")
    ax.set_xlim(floor, max(positive) * 3 if positive else 1.0)
    for y, r in zip(ys, rows):
        if r.norm == 0:
            ax.text(floor, y, " 0 (no gradient)", va="center", color="tab:red")
    ax.set_yticks(ys, [r.title for r in rows])
    ax.invert_yaxis()
    ax.set_xlabel("‖gradient‖₂ per matrix")
    ax.grid(alpha=0.3, axis="x", which="both")
    partial = [(y, r) for y, r in zip(ys, rows)
               if len(r.shape) >= 2 and len(r.rows_with_grad) < r.rows]
    if partial:
        strip = ax.inset_axes((1.03, 0.0, 0.35, 1.0), sharey=ax)
        for y, r in partial:
            got = set(r.rows_with_grad)
            strip.bar([(i + 0.5) / r.rows for i in range(r.rows)], 0.7, bottom=y - 0.35,
                      width=1 / r.rows, align="center",
                      color=["#1f3b73" if i in got else "#e6e6e6" for i in range(r.rows)],
                      edgecolor="white", linewidth=0.3)
        strip.set_xlim(0, 1)
        strip.set_xticks([])
        strip.tick_params(labelleft=False, left=False)
        strip.set_title("rows with gradient", fontsize=9)
    return ax
