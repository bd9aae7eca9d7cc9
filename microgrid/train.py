"""A training loop: ``fit(model, X, y, ...)`` runs epochs of mini-batch updates.

Each step takes a batch, computes the mean of the per-example losses, calls
``zero_grad()``, ``backward()`` and ``optimizer.step()``. The order of the examples is
shuffled every epoch with ``random.Random(seed)``, so a run is reproducible.

**Data.** ``X`` is a list (or tuple, or numpy array) of inputs; ``y`` the targets. numpy
data is turned into Python numbers first (numpy itself is never imported here):
``np.int64`` labels are class labels, exactly like Python ints. Every example is checked
before the first step, eager or compiled: each row holds finite real numbers and has the
shape of ``X[0]``; every number in ``y`` is finite (with a loss name, a regression target
has one number per output). A bad example is named by its index (``fit: X[9][0] must be a
finite number, got nan``) and a refused ``fit`` leaves the model as it was.

**Targets.** ``y`` holds either class labels — ints ``0 .. k−1``, as :mod:`microgrid.data`
makes them — or regression targets (floats, or lists of floats for several outputs).
With class labels, each loss name encodes them for the model's k outputs (label c):

* ``"mse"``: one output, (y − t)² with t = ±1 (t = c, 0 or 1, for a sigmoid output);
  k ≥ 2 outputs, (1/k)·Σⱼ (yⱼ − tⱼ)² with t the one-hot vector of c.
* ``"sse"``: ½·Σⱼ (tⱼ − yⱼ)², the targets as for ``"mse"``.
* ``"hinge"``: one output, max(0, 1 − t·y) with t = ±1.
* ``"bce"``: one output, binary cross-entropy softplus(z) − t·z from the logit z (for a
  sigmoid output, z is the sigmoid's input: the same number as −log σ(z), stable).
* ``"cross_entropy"``: k ≥ 2 outputs (logits), −Σⱼ tⱼ·log softmax(y)ⱼ = −log softmax(y)_c.

With regression targets only ``"mse"`` and ``"sse"`` apply, target for target.
A callable ``loss(output, target)`` gets what the model returns — a bare ``Value`` for a
one-output model, a list of ``Value`` otherwise — and ``y[i]`` as given (numpy scalars
as Python numbers).

**One step, eager or compiled.** The table above is
:data:`microgrid.losses.NAMED_LOSSES`, the only definition of the named losses: each entry
encodes a label as numbers and computes the loss from them without looking at the label
again, so the same function runs eagerly (on floats) and under compiled replay
(on traced inputs), and the python backend reproduces eager training bit for bit.
A callable loss may branch on its target (``if t == 1``), so under compiled replay it is
traced one example at a time with the target passed as the plain Python value it is, one
trace per distinct target (a handful for class labels; one per example for regression
targets); its gradients then agree with eager mode to rounding, not bit for bit.

**What a compiled step sees.** A trace freezes everything the forward reads except the
parameters' values and the batch: an activation, a private attribute (``self._scale``), an
attribute's object changed in place (``self.cfg.scale``), a global, a closure, a random
draw. Nothing on a model shows when one of those changes, so compiled steps belong to one
``fit`` call: each call traces its batch shapes afresh, never replaying a step traced by an
earlier call (for the demo's 2-8-8-1 network on 100 points a trace costs about 0.4 s with
the python backend, 0.1 s with numpy, about 10-25 eager steps). Within one call the steps
read the parameters' values afresh at every step (a callback may set ``p.data``), and
nothing else: a callback, or the forward itself, that changes anything else the forward
reads (switches an activation, replaces a weight, sets ``self._scale``, draws random
numbers) is not seen by the steps of that call; train such a model with
``compiled=False``, or change it between ``fit`` calls.

**Predictions** (:func:`predict`, :func:`accuracy`, and the accuracy in the History): with
k ≥ 2 outputs the class is the argmax; with one output it is 1 when the output is > 0
(> 0.5 for a sigmoid output): :func:`microgrid.losses.predicted_class`, which the plots
use too.

**Compiled steps** come from the speed wing's one door,
:func:`microgrid.compile.training_step`; this module knows nothing else of compiling.
Newton's optimizer is the one special case of a step: it is given the batch loss itself
(its step differentiates it twice), so it trains eagerly only.

**Callbacks** watch the loop: ``fit(..., callbacks=[cb])`` calls whichever of these methods
``cb`` has: ``on_fit_start(model, X, y, loss)`` (``loss(outputs, target) -> Value``, the
per-example loss), ``on_step(model, history, loss)`` after each completed step (parameters
updated; ``loss``, the batch's mean loss before the update), ``on_epoch(model, history)``
after each epoch, ``on_fit_end(model, history)`` at the end, also after an interrupt or an
error. ``live=True`` adds a :class:`microgrid.viz.LiveView` (``live=`` takes any object
with those methods; the seeing wing is imported only for ``live=True``).

**Interrupting** (Ctrl-C, the Jupyter kernel's interrupt) stops after the step in progress
(:func:`microgrid.interrupt.stop_requested`):
the parameters are those of the last completed step, ``fit`` returns the :class:`History`
of the completed epochs with ``interrupted=True``. A second interrupt stops at once.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from . import _validate as check
from .collector import gc_paused
from .compile import training_step
from .engine import Value
from .interrupt import stop_requested
from .losses import Encode, LossFn, decision_threshold, model_outputs, named_loss, predicted_class
from .optim import SGD, Newton, Optimizer

__all__ = ["History", "accuracy", "fit", "predict"]

Target = int | float | Sequence[float]
Output = Value | list[Value]
ON_CHANGE = ("retrace", "error")
Step = Callable[[list[Any], list[Any]], tuple[float, list[list[float]]]]
"""One training step on a batch: ``(xs, targets) -> (mean loss, each output's numbers)``."""


class Model(Protocol):
    """What ``fit`` needs: called on one input, returns its output (one ``Value``, or a list
    of them); has parameters."""

    def __call__(self, x: Sequence[Any]) -> Any: ...

    def parameters(self) -> list[Value]: ...


@dataclass(repr=False)
class History:
    """Per-epoch mean training loss and accuracy (accuracy only for class labels).

    Both are measured during the epoch, on each batch before its update (like Keras).
    """

    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    steps: int = 0
    interrupted: bool = False  # stopped by Ctrl-C / the kernel's interrupt

    def __repr__(self) -> str:
        stop = ", interrupted" if self.interrupted else ""
        if not self.loss:
            return f"History(epochs=0, steps={self.steps}{stop})"
        acc = (f", accuracy {self.accuracy[0]:.3f} → {self.accuracy[-1]:.3f}"
               if self.accuracy else "")
        return (f"History(epochs={len(self.loss)}, steps={self.steps}, "
                f"loss {self.loss[0]:.4g} → {self.loss[-1]:.4g}{acc}{stop})")

    def plot(self, **kw: Any) -> Any:
        """Draw the loss and accuracy curves: :func:`microgrid.plot.history` (needs
        matplotlib). The plot module reads any object with ``loss`` and ``accuracy``
        lists and imports nothing of this one, so the import goes one way."""
        from .plot import history
        return history(self, **kw)


def _is_labels(y: Sequence[Target]) -> bool:
    return all(isinstance(t, int) and not isinstance(t, bool) for t in y)


def _numbers(out: Any) -> list[float]:
    """The numbers of one output (a ``Value``, a float, or a list of either)."""
    items = out if isinstance(out, (list, tuple)) else [out]
    return [float(v.data) if isinstance(v, Value) else float(v) for v in items]


def predict(model: Model, X: Sequence[Sequence[Any]]) -> list[int]:
    """The predicted class of each input (argmax, or a threshold for one output:
    :func:`microgrid.losses.predicted_class`)."""
    threshold = decision_threshold(model)
    return [predicted_class(_numbers(model_outputs(model(x), "predict")), threshold)
            for x in check.rows(X, "predict: X", numbers=True)]


def accuracy(model: Model, X: Sequence[Sequence[Any]], y: Sequence[int]) -> float:
    """The fraction of inputs whose predicted class equals the label."""
    xs, ys = check.rows(X, "accuracy: X", numbers=True), check.targets(y, "accuracy: y")
    if len(xs) != len(ys):
        raise ValueError(f"accuracy: {len(xs)} inputs but {len(ys)} labels")
    if not xs:
        raise ValueError("accuracy: no data")
    if not _is_labels(ys):
        raise TypeError("accuracy: y must hold class labels (ints 0..k-1)")
    hits: int = sum(p == t for p, t in zip(predict(model, xs), ys))
    return hits / len(ys)


def _batch_loss(model: Model, xs: Sequence[Any], ts: Sequence[Any],
                loss_fn: LossFn) -> tuple[Value, list[Any]]:
    """(1/B)·Σ loss(model(xᵢ), tᵢ) over the batch, and the model's outputs."""
    outs = [model(x) for x in xs]
    total: Value | None = None
    for out, t in zip(outs, ts):
        term = _checked(loss_fn(out, t))
        total = term if total is None else total + term
    assert total is not None
    return (total if len(xs) == 1 else total * (1.0 / len(xs))), outs


def _checked(term: object) -> Value:
    if not isinstance(term, Value):
        raise TypeError(f"fit: the loss must return a Value, got {type(term).__name__}")
    return term


def _hooks(callbacks: Sequence[Any], name: str) -> list[Callable[..., Any]]:
    """The callbacks' methods called ``name`` (a callback may define only some)."""
    return [m for cb in callbacks if (m := getattr(cb, name, None)) is not None]


def _eager_step(model: Model, params: list[Value], opt: Optimizer, encode: Encode,
                loss_fn: LossFn) -> Step:
    """One step by building the graph: zero grads, batch loss, backward, update."""
    mine = {id(p) for p in params}
    zeroed = params + [p for p in opt.params if id(p) not in mine]

    def step(xs: list[Any], ts: list[Any]) -> tuple[float, list[list[float]]]:
        for p in zeroed:  # the model's parameters and any other the optimizer holds
            p.grad = 0.0
        with gc_paused():  # acyclic graphs: refcounting frees them, see gc_paused
            loss, outs = _batch_loss(model, xs, [encode(t) for t in ts], loss_fn)
            if isinstance(opt, Newton):  # Newton's step differentiates the loss itself
                opt.step(loss)           # (gradient and Hessian): it needs the graph
            else:
                loss.backward()
                opt.step()
            return loss.data, [_numbers(o) for o in outs]
    return step


def _compiled_step(model: Model, params: list[Value], opt: Optimizer,
                   table: tuple[Encode, LossFn] | None, loss: Any, targets: list[Any],
                   backend: str, on_change: str, max_retraces: int) -> Step:
    """The same step by compiled replay: the speed wing's one door, ``training_step``."""
    options: dict[str, Any] = {"backend": backend, "on_change": on_change,
                               "max_retraces": max_retraces, "who": "fit"}
    if table is None:  # a callable loss may branch on its target: one example at a time
        def example_loss(x: Any, t: Any) -> tuple[Value, Any]:
            out = model(x)
            return _checked(loss(out, t)), out
        return training_step(params, opt, example_loss=example_loss, targets=targets,
                             **options)
    encode, loss_fn = table
    run = training_step(params, opt, batch_loss=lambda bx, bt: _batch_loss(
        model, bx, bt, loss_fn), **options)
    return lambda xs, ts: run(xs, [encode(t) for t in ts])


def _no_parameters(model: object) -> ValueError:
    name = type(model).__name__
    return ValueError(
        f"fit: {name} has no parameters: assign Values or Modules (or lists of them) to "
        f"its attributes in __init__, e.g. self.w = Value(0.5) or self.layer = Layer(2, 1); "
        f"names starting with '_' are not registered")


def fit(model: Model, X: Sequence[Sequence[Any]], y: Sequence[Target], *,
        loss: str | LossFn = "mse", optimizer: Optimizer | None = None, lr: float = 0.1,
        epochs: int = 100, batch_size: int | None = None, shuffle: bool = True,
        seed: int | None = 0, progress: bool = True, compiled: bool | str = False,
        on_change: str = "retrace", max_retraces: int = 8,
        callbacks: Sequence[Any] = (), live: bool | Any = False) -> History:
    """Train ``model`` on ``(X, y)`` and return the per-epoch :class:`History`.

    ``loss`` is a name (``"mse"``, ``"sse"``, ``"hinge"``, ``"bce"``, ``"cross_entropy"``)
    or a callable ``loss(output, target) -> Value``; a batch's loss is the mean over its
    examples. ``optimizer`` defaults to ``SGD(model.parameters(), lr)``; a
    :class:`~microgrid.optim.Newton` optimizer is given the batch loss itself.
    ``batch_size=None`` trains on the full batch. ``progress=False`` hides the tqdm bar.
    ``compiled=True`` (or ``"numpy"``) trains by compiled replay (:mod:`microgrid.compile`):
    each batch shape is traced once, then every step replays forward and backward without
    building a graph (``"numpy"``: the vectorized backend). Not with
    :class:`~microgrid.optim.Newton`, which needs the loss graph. When a comparison made
    while tracing comes out differently, ``on_change="retrace"`` traces again (at most
    ``max_retraces`` times per batch shape) and ``on_change="error"`` raises
    :class:`~microgrid.compile.GraphChanged`. Each call traces afresh (a trace freezes
    whatever the forward reads besides the parameters' values and the batch; nothing
    compiled is kept for a later call), so a model changed between calls, even in a way
    no registered attribute shows, trains as it would eagerly; during a call only the
    parameters' values may change (see "What a compiled step sees" in the module
    docstring).
    ``callbacks`` watch the loop (see the module docstring); ``live=True`` (or a
    :class:`~microgrid.viz.LiveView`) shows the live training dashboard. An interrupt
    stops after the current step and returns the History so far (``interrupted=True``).
    """
    if compiled is not False and compiled not in (True, "python", "numpy"):
        raise ValueError(f"fit: compiled must be True, False, 'python' or 'numpy', "
                         f"got {compiled!r}")
    backend = None if compiled is False else ("numpy" if compiled == "numpy" else "python")
    on_change = check.choice(on_change, ON_CHANGE, "fit: on_change")
    max_retraces = check.count(max_retraces, "fit: max_retraces", least=0)
    # every example is checked before the first step: a refused fit changes nothing
    xs, ys = check.rows(X, "fit: X", numbers=True), check.targets(y, "fit: y")
    if len(xs) != len(ys):
        raise ValueError(f"fit: {len(xs)} inputs but {len(ys)} targets")
    if not xs:
        raise ValueError("fit: no training data")
    epochs = check.count(epochs, "fit: epochs")
    if batch_size is not None:
        batch_size = check.count(batch_size, "fit: batch_size")
    shuffle = check.flag(shuffle, "fit: shuffle")
    progress = check.flag(progress, "fit: progress")
    rng = random.Random(check.seed(seed, "fit: seed"))
    if not callable(model):
        raise TypeError(f"fit: the model must be callable, got {type(model).__name__}")
    parameters = model.parameters()
    if not parameters:
        raise _no_parameters(model)
    first = model_outputs(model(xs[0]), "fit")
    sigmoid_output = getattr(model, "output_activation", None) == "sigmoid"
    threshold = decision_threshold(model)
    table = None if callable(loss) else named_loss(loss, ys, len(first), sigmoid_output)
    labels = _is_labels(ys)
    opt = optimizer if optimizer is not None else SGD(parameters, lr)
    if not isinstance(opt, Optimizer):
        raise TypeError(f"fit: optimizer must be a microgrid.optim optimizer, got "
                        f"{type(opt).__name__}")
    encode: Encode = table[0] if table else (lambda t: t)
    loss_fn: LossFn = table[1] if table else loss  # type: ignore[assignment]
    run = (_eager_step(model, parameters, opt, encode, loss_fn) if backend is None else
           _compiled_step(model, parameters, opt, table, loss, ys, backend, on_change,
                          max_retraces))
    if live is True:  # the seeing wing, through its one public door, only when asked for
        from .viz import LiveView
        live = LiveView()
    watchers = [*callbacks, *([live] if live is not False else [])]
    for cb in watchers:
        if not any(hasattr(cb, h) for h in ("on_fit_start", "on_step", "on_epoch",
                                            "on_fit_end")):
            what = "live" if cb is live else "callbacks"
            raise TypeError(f"fit: {what} must hold callbacks (objects with on_step, "
                            f"on_epoch, on_fit_start or on_fit_end), got {cb!r}")
    on_step, on_epoch = _hooks(watchers, "on_step"), _hooks(watchers, "on_epoch")

    def example_loss(out: Any, target: Any) -> Value:
        """The per-example loss on a raw target, as the callbacks see it."""
        return loss_fn(out, encode(target))

    n = len(xs)
    size = n if batch_size is None else min(batch_size, n)
    order = list(range(n))
    history = History()
    bar = _progress_bar(epochs) if progress else None
    with stop_requested() as stop:
        try:
            for hook in _hooks(watchers, "on_fit_start"):
                hook(model, xs, ys, example_loss)
            for _ in range(epochs):
                if shuffle:
                    rng.shuffle(order)
                total, correct = 0.0, 0
                for start in range(0, n, size):
                    batch = order[start:start + size]
                    value, outs = run([xs[i] for i in batch], [ys[i] for i in batch])
                    total += value * len(batch)
                    if labels:
                        correct += sum(predicted_class(out, threshold) == ys[i]
                                       for out, i in zip(outs, batch))
                    history.steps += 1
                    for hook in on_step:
                        hook(model, history, value)
                    if stop[0]:
                        break
                if stop[0] and start + size < n:  # stopped within an epoch: not recorded
                    history.interrupted = True
                    break
                history.loss.append(total / n)
                if labels:
                    history.accuracy.append(correct / n)
                for hook in on_epoch:
                    hook(model, history)
                if bar is not None:
                    postfix = {"loss": f"{history.loss[-1]:.4g}"}
                    if labels:
                        postfix["acc"] = f"{history.accuracy[-1]:.3f}"
                    bar.set_postfix(postfix, refresh=False)
                    bar.update()
                if stop[0]:  # stopped at the end of an epoch
                    history.interrupted = True
                    break
        finally:
            if bar is not None:
                bar.close()
            for hook in _hooks(watchers, "on_fit_end"):
                hook(model, history)
    return history


def _progress_bar(epochs: int) -> Any:
    """A tqdm bar over the epochs (tqdm is imported only when a bar is wanted)."""
    from tqdm.auto import tqdm  # type: ignore[import-untyped]

    return tqdm(total=epochs, desc="fit", unit="epoch")
