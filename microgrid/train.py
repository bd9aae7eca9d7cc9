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

**One step, eager or compiled.** The table above is the only definition of the losses:
each entry encodes a label as numbers and computes the loss from them without looking at
the label again, so the same function runs eagerly (on floats) and under compiled replay
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

**Predictions** (:func:`predict`, :func:`accuracy`): with k ≥ 2 outputs the class is the
argmax; with one output it is 1 when the output is > 0 (> 0.5 for a sigmoid output).

**Callbacks** watch the loop: ``fit(..., callbacks=[cb])`` calls whichever of these methods
``cb`` has: ``on_fit_start(model, X, y, loss)`` (``loss(outputs, target) -> Value``, the
per-example loss), ``on_step(model, history, loss)`` after each completed step (parameters
updated; ``loss``, the batch's mean loss before the update), ``on_epoch(model, history)``
after each epoch, ``on_fit_end(model, history)`` at the end, also after an interrupt or an
error. ``live=True`` adds a :class:`microgrid.viz.LiveView`.

**Interrupting** (Ctrl-C, the Jupyter kernel's interrupt) stops after the step in progress:
the parameters are those of the last completed step, ``fit`` returns the :class:`History`
of the completed epochs with ``interrupted=True``. A second interrupt stops at once.
"""

from __future__ import annotations

import contextlib
import random
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from . import _validate as check
from . import losses
from .compile import GraphChanged, compile_step, gc_paused
from .engine import Value
from .optim import SGD, Newton, Optimizer

__all__ = ["History", "accuracy", "fit", "predict"]

Target = int | float | Sequence[float]
Output = Value | list[Value]
LossFn = Callable[[Any, Any], Value]
LOSSES = ("mse", "sse", "hinge", "bce", "cross_entropy")
ON_CHANGE = ("retrace", "error")


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
        """Draw the loss and accuracy curves: :func:`microgrid.plot.history` (needs matplotlib)."""
        from .plot import history
        return history(self, **kw)


def _output_activation(model: Model) -> str:
    act = getattr(model, "output_activation", "linear")
    return act if isinstance(act, str) else "linear"


def _is_labels(y: Sequence[Target]) -> bool:
    return all(isinstance(t, int) and not isinstance(t, bool) for t in y)


def _outputs(out: object, who: str) -> list[Value]:
    """A model's output as a list: a bare ``Value`` is one output."""
    if isinstance(out, Value):
        return [out]
    if isinstance(out, (list, tuple)) and out and all(isinstance(v, Value) for v in out):
        return list(out)
    raise TypeError(f"{who}: the model must return a Value or a non-empty list of Values, "
                    f"got {type(out).__name__}")


def _numbers(out: Any) -> list[float]:
    """The numbers of one output (a ``Value``, a float, or a list of either)."""
    items = out if isinstance(out, (list, tuple)) else [out]
    return [float(v.data) if isinstance(v, Value) else float(v) for v in items]


def _decide(outputs: Sequence[float], sigmoid_output: bool) -> int:
    if len(outputs) == 1:
        return int(outputs[0] > (0.5 if sigmoid_output else 0.0))
    return max(range(len(outputs)), key=lambda j: outputs[j])


def predict(model: Model, X: Sequence[Sequence[Any]]) -> list[int]:
    """The predicted class of each input (argmax, or a threshold for one output)."""
    sig = _output_activation(model) == "sigmoid"
    return [_decide(_numbers(_outputs(model(x), "predict")), sig)
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


# --- the loss table --------------------------------------------------------------------------

Encode = Callable[[Any], Any]


def _sum(terms: list[Value]) -> Value:
    total = terms[0]
    for t in terms[1:]:
        total = total + t
    return total


def _bce_logits(out: Any, t: Sequence[Any]) -> Value:
    """softplus(z) − t·z, branch-free in t (t a float or a traced input)."""
    z = _outputs(out, "fit")[0]
    loss: Value = z.softplus() - t[0] * z
    return loss


def _bce_sigmoid(out: Any, t: Sequence[Any]) -> Value:
    """BCE of a sigmoid output σ(z), computed from z (stable, no log 0 at σ(z) = 1)."""
    p = _outputs(out, "fit")[0]
    if p.op.name == "sigmoid" and len(p.parents) == 1:
        return _bce_logits(p.parents[0], t)
    loss: Value = -(t[0] * p.log() + (1.0 - t[0]) * (1.0 - p).log())
    return loss


def _cross_entropy(out: Any, t: Sequence[Any]) -> Value:
    """−Σⱼ tⱼ·log softmax(y)ⱼ with t one-hot: −log softmax(y)_c, branch-free in t."""
    logp = losses.log_softmax(_outputs(out, "fit"))
    return -_sum([tj * lj for tj, lj in zip(t, logp)])


def _label_loss(name: str, k: int, sigmoid_output: bool, classes: int) -> tuple[Encode, LossFn]:
    """``(encode, loss)`` for class labels under the table of the module docstring."""
    def need(condition: bool, what: str) -> None:
        if not condition:
            raise ValueError(f"fit: loss {name!r} needs {what}; the model has {k} output(s)")

    def one_hot(c: int) -> list[float]:
        return [1.0 if j == c else 0.0 for j in range(k)]

    low = 0.0 if sigmoid_output else -1.0
    if name in ("mse", "sse"):
        fn = losses.mse if name == "mse" else losses.sum_squared_error
        if k >= 2:
            need(classes <= k, f"one output per class ({classes} classes)")
            return one_hot, fn
        need(classes <= 2, "two classes for one output")
        return (lambda c: [1.0 if c else low]), fn
    if name == "hinge":
        need(k == 1 and classes <= 2, "one output and labels 0/1")
        return (lambda c: [1.0 if c else -1.0]), losses.hinge_loss
    if name == "bce":
        need(k == 1 and classes <= 2, "one output and labels 0/1")
        return (lambda c: [float(c)]), (_bce_sigmoid if sigmoid_output else _bce_logits)
    need(k >= 2 and classes <= k, f"one output per class ({classes} classes)")
    return one_hot, _cross_entropy


def _regression_loss(name: str) -> tuple[Encode, LossFn]:
    def encode(t: Any) -> Any:
        return list(t) if isinstance(t, (list, tuple)) else [t]
    if name == "mse":
        return encode, losses.mse
    if name == "sse":
        return encode, losses.sum_squared_error
    raise ValueError(f"fit: loss {name!r} needs class labels (ints 0..k-1) in y")


def _resolve_loss(loss: str | LossFn, y: Sequence[Target], k: int,
                  sigmoid_output: bool) -> tuple[Encode, LossFn] | None:
    """``(encode, loss)`` for a loss name and these targets; None for a callable."""
    if callable(loss):
        return None
    if not isinstance(loss, str) or loss not in LOSSES:
        raise ValueError(f"fit: unknown loss {loss!r}; choose one of "
                         f"{', '.join(map(repr, LOSSES))} or pass a callable")
    if not _is_labels(y):
        for i, t in enumerate(y):
            values = t if isinstance(t, (list, tuple)) else [t]
            if not all(isinstance(v, (int, float)) for v in values):
                raise TypeError(f"fit: y[{i}] must be a class label (int), a number or a "
                                f"list of numbers, got {type(t).__name__}")
            if len(values) != k:
                raise ValueError(f"fit: y[{i}] has {len(values)} number(s) but the model has "
                                 f"{k} output(s)")
        return _regression_loss(loss)
    classes = [c for c in y if isinstance(c, int)]
    if min(classes) < 0:
        raise ValueError(f"fit: class labels must be ints 0..k-1, got {min(classes)}")
    return _label_loss(loss, k, sigmoid_output, max(classes) + 1)


def _batch_loss(model: Model, xs: Sequence[Any], ts: Sequence[Any],
                loss_fn: LossFn) -> tuple[Value, list[Any]]:
    """(1/B)·Σ loss(model(xᵢ), tᵢ) over the batch, and the model's outputs."""
    outputs = [model(x) for x in xs]
    total: Value | None = None
    for out, t in zip(outputs, ts):
        term = loss_fn(out, t)
        if not isinstance(term, Value):
            raise TypeError(f"fit: the loss must return a Value, got {type(term).__name__}")
        total = term if total is None else total + term
    assert total is not None
    return (total if len(xs) == 1 else total * (1.0 / len(xs))), outputs


@contextlib.contextmanager
def _stop_on_interrupt() -> Iterator[list[bool]]:
    """While training, the first SIGINT only sets the flag (``flag[0]``): the loop stops
    after the step in progress, so no update is left half done. A second SIGINT raises
    ``KeyboardInterrupt`` at once. Outside the main thread signals go elsewhere: no-op."""
    flag = [False]
    previous = (signal.getsignal(signal.SIGINT)
                if threading.current_thread() is threading.main_thread() else None)
    if previous is None:
        yield flag
        return

    def ask_to_stop(signum: int, frame: Any) -> None:
        if flag[0]:
            raise KeyboardInterrupt
        flag[0] = True

    signal.signal(signal.SIGINT, ask_to_stop)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)


def _hooks(callbacks: Sequence[Any], name: str) -> list[Callable[..., Any]]:
    """The callbacks' methods called ``name`` (a callback may define only some)."""
    return [m for cb in callbacks if (m := getattr(cb, name, None)) is not None]


# --- compiled steps -------------------------------------------------------------------------

def _freeze(t: Any) -> Any:
    """A hashable stand-in for a target (lists become tuples)."""
    return tuple(_freeze(v) for v in t) if isinstance(t, (list, tuple)) else t


def _floats(data: Any) -> Any:
    """``data`` with every int made a float (nested lists kept), for a compiled step, which
    treats ints as static values (class labels) and would trace once per distinct int."""
    if isinstance(data, (list, tuple)):
        return [_floats(v) for v in data]
    if isinstance(data, int) and not isinstance(data, bool):
        return float(data)
    return data


class _Runner:
    """One training step on a batch: the loss as a float and each example's output numbers;
    the gradients are filled (eagerly, or by compiled replay) and the optimizer stepped."""

    def __init__(self, model: Model, params: list[Value], opt: Optimizer,
                 table: tuple[Encode, LossFn] | None, loss: LossFn | str,
                 backend: str | None, on_change: str, max_retraces: int) -> None:
        self.model, self.params, self.opt = model, params, opt
        mine, held = {id(p) for p in params}, {id(p) for p in opt.params}
        self.zeroed = params + [p for p in opt.params if id(p) not in mine]
        self.unheld = [p for p in params if id(p) not in held]  # zeroed by fit, not opt
        self.backend = backend or "python"
        self.eager = backend is None
        self.encode: Encode = table[0] if table else (lambda t: t)
        self.loss_fn: LossFn = table[1] if table else loss  # type: ignore[assignment]
        self.per_example = table is None
        self.on_change, self.max_retraces = on_change, max_retraces
        self.targets: dict[Any, Any] = {}
        self._step: Any = None  # the compiled step of this fit call, made at its first batch

    def __call__(self, xs: list[Any], ts: list[Any]) -> tuple[float, list[list[float]]]:
        if self.eager:
            self._zero_grads()
            with gc_paused():  # acyclic graphs: refcounting frees them, see gc_paused
                loss, outs = _batch_loss(self.model, xs, [self.encode(t) for t in ts],
                                         self.loss_fn)
                if isinstance(self.opt, Newton):
                    self.opt.step(loss)
                else:
                    loss.backward()
                    self.opt.step()
                return loss.data, [_numbers(o) for o in outs]
        try:
            value, outs = self._replay(xs, ts)
        except GraphChanged as e:
            hint = ("fit(..., on_change='retrace') traces the step again instead"
                    if self.on_change == "error" else
                    f"fit(..., max_retraces=...) allows more re-traces (now "
                    f"{self.max_retraces})")
            raise GraphChanged(f"fit: {e} In fit: {hint}; compiled=False trains "
                               "eagerly.") from None
        return value, outs

    def _zero_grads(self) -> None:
        for p in self.zeroed:  # the model's parameters and any other the optimizer holds
            p.grad = 0.0

    def _compiled(self) -> Any:
        """This fit call's compiled step, traced afresh (never one kept from an earlier call:
        what the forward reads besides its parameters, a private attribute, a nested
        object, a global, may have changed since, and nothing on the model shows it)."""
        if self._step is None:
            if self.per_example:  # one example at a time, the target static
                self._step = compile_step(
                    self._one, self.params, backend=self.backend, static=(2,),
                    on_change=self.on_change, max_retraces=self.max_retraces)
            else:
                self._step = compile_step(
                    lambda bx, bt: _batch_loss(self.model, bx, bt, self.loss_fn),
                    self.params, backend=self.backend, on_change=self.on_change,
                    max_retraces=self.max_retraces)
        return self._step

    def _replay(self, xs: list[Any], ts: list[Any]) -> tuple[float, list[list[float]]]:
        step = self._compiled()
        if not self.per_example:
            encoded = [self.encode(t) for t in ts]
            for p in self.unheld:
                p.grad = 0.0
            step.optimizer = self.opt  # the whole step: zero grads, backward, update
            # numbers as floats: a compiled step keeps ints static (one trace per value)
            value, outs = step(_floats(xs), _floats(encoded))
            return value, [_numbers(o) for o in outs]
        # a callable loss: one example at a time, the target static (a plain Python value)
        self._zero_grads()
        weight = 1.0 / len(xs)
        total: float | None = None
        outs = []
        for x, t in zip(xs, ts):
            key = _freeze(t)
            self.targets.setdefault(key, t)
            _, term, out = step(_floats(x), weight if len(xs) > 1 else 1.0, key)
            total = term if total is None else total + term
            outs.append(_numbers(out))
        assert total is not None
        self.opt.step()
        return (total if len(xs) == 1 else total * weight), outs

    def _one(self, x: Any, weight: Value, key: Any) -> tuple[Value, Value, Any]:
        out = self.model(x)
        term = self.loss_fn(out, self.targets[key])
        if not isinstance(term, Value):
            raise TypeError(f"fit: the loss must return a Value, got {type(term).__name__}")
        return term * weight, term, out


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
    first = _outputs(model(xs[0]), "fit")
    sigmoid_output = _output_activation(model) == "sigmoid"
    table = _resolve_loss(loss, ys, len(first), sigmoid_output)
    labels = _is_labels(ys)
    if table is None and backend is not None:  # a compiled step keys on each target
        for i, t in enumerate(ys):
            try:
                hash(_freeze(t))
            except TypeError:
                raise TypeError(f"fit: y[{i}] must be hashable for compiled=True with a "
                                f"callable loss (a number, or a list of them), got "
                                f"{type(t).__name__}") from None
    opt = optimizer if optimizer is not None else SGD(parameters, lr)
    if not isinstance(opt, Optimizer):
        raise TypeError(f"fit: optimizer must be a microgrid.optim optimizer, got "
                        f"{type(opt).__name__}")
    if backend is not None and isinstance(opt, Newton):
        raise ValueError("fit: compiled=True cannot drive Newton, which needs the loss "
                         "graph itself; use compiled=False")
    run = _Runner(model, parameters, opt, table, loss, backend, on_change, max_retraces)
    if live is True:
        from .viz import LiveView  # the seeing wing, only when asked for
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
        return run.loss_fn(out, run.encode(target))

    n = len(xs)
    size = n if batch_size is None else min(batch_size, n)
    order = list(range(n))
    history = History()
    bar = _progress_bar(epochs) if progress else None
    with _stop_on_interrupt() as stop:
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
                        correct += sum(_decide(out, sigmoid_output) == ys[i]
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
