"""A training loop: ``fit(model, X, y, ...)`` runs epochs of mini-batch updates.

Each step takes a batch, computes the mean of the per-example losses, calls
``zero_grad()``, ``backward()`` and ``optimizer.step()``. The order of the examples is
shuffled every epoch with ``random.Random(seed)``, so a run is reproducible.

**Targets.** ``y`` holds either class labels — ints ``0 .. k−1``, as :mod:`microgrid.data`
makes them — or regression targets (floats, or lists of floats for several outputs).
With class labels, each loss name encodes them for the model's k outputs (label c):

* ``"mse"``: one output, (y − t)² with t = ±1 (t = c, 0 or 1, for a sigmoid output);
  k ≥ 2 outputs, (1/k)·Σⱼ (yⱼ − tⱼ)² with t the one-hot vector of c.
* ``"sse"``: ½·Σⱼ (tⱼ − yⱼ)², the targets as for ``"mse"``.
* ``"hinge"``: one output, max(0, 1 − t·y) with t = ±1.
* ``"bce"``: one output, binary cross-entropy from the logit y (from the probability y
  when the output activation is sigmoid).
* ``"cross_entropy"``: k ≥ 2 outputs (logits), −log softmax(y)_c.

With regression targets only ``"mse"`` and ``"sse"`` apply, target for target.
A callable ``loss(outputs, target)`` gets the model's output list and ``y[i]`` as given.

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
from typing import Any, Protocol, cast

from . import losses
from .compile import CompiledStep, compile_step, gc_paused
from .engine import Value
from .optim import SGD, Newton, Optimizer

__all__ = ["History", "accuracy", "fit", "predict"]

Target = int | float | Sequence[float]
LossFn = Callable[[list[Value], Any], Value]
LOSSES = ("mse", "sse", "hinge", "bce", "cross_entropy")


class Model(Protocol):
    """What ``fit`` needs: called on one input, returns a list of outputs; has parameters."""

    def __call__(self, x: Sequence[Any]) -> list[Value]: ...

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


def _output_activation(model: Model) -> str:
    act = getattr(model, "output_activation", "linear")
    return act if isinstance(act, str) else "linear"


def _is_labels(y: Sequence[Target]) -> bool:
    return all(isinstance(t, int) and not isinstance(t, bool) for t in y)


def _decide(outputs: Sequence[Value], sigmoid_output: bool) -> int:
    if len(outputs) == 1:
        return int(outputs[0].data > (0.5 if sigmoid_output else 0.0))
    return max(range(len(outputs)), key=lambda j: outputs[j].data)


def predict(model: Model, X: Sequence[Sequence[Any]]) -> list[int]:
    """The predicted class of each input (argmax, or a threshold for one output)."""
    sig = _output_activation(model) == "sigmoid"
    return [_decide(model(x), sig) for x in X]


def accuracy(model: Model, X: Sequence[Sequence[Any]], y: Sequence[int]) -> float:
    """The fraction of inputs whose predicted class equals the label."""
    if len(X) != len(y):
        raise ValueError(f"accuracy: {len(X)} inputs but {len(y)} labels")
    if not X:
        raise ValueError("accuracy: no data")
    return sum(p == t for p, t in zip(predict(model, X), y)) / len(y)


def _label_loss(name: str, k: int, sigmoid_output: bool, classes: int) -> LossFn:
    """The per-example loss for class labels under the table of the module docstring."""
    def need(condition: bool, what: str) -> None:
        if not condition:
            raise ValueError(f"fit: loss {name!r} needs {what}; the model has {k} output(s)")

    low = 0.0 if sigmoid_output else -1.0
    if name in ("mse", "sse"):
        if k >= 2:
            need(classes <= k, f"one output per class ({classes} classes)")

            def target(c: int) -> list[float]:
                return [1.0 if j == c else 0.0 for j in range(k)]
        else:
            need(classes <= 2, "two classes for one output")

            def target(c: int) -> list[float]:
                return [1.0 if c else low]
        if name == "mse":
            return lambda out, c: losses.mse(out, target(c))
        return lambda out, c: losses.sum_squared_error(out, target(c))
    if name == "hinge":
        need(k == 1 and classes <= 2, "one output and labels 0/1")
        return lambda out, c: losses.hinge_loss(out, [1 if c else -1])
    if name == "bce":
        need(k == 1 and classes <= 2, "one output and labels 0/1")
        if sigmoid_output:
            return lambda out, c: losses.binary_cross_entropy(out, [c])
        return lambda out, c: losses.binary_cross_entropy_with_logits(out, [c])
    need(k >= 2 and classes <= k, f"one output per class ({classes} classes)")
    return lambda out, c: losses.cross_entropy(out, c)


def _regression_loss(name: str) -> LossFn:
    def targets(t: Any) -> Any:
        return t if isinstance(t, Sequence) else [t]
    if name == "mse":
        return lambda out, t: losses.mse(out, targets(t))
    if name == "sse":
        return lambda out, t: losses.sum_squared_error(out, targets(t))
    raise ValueError(f"fit: loss {name!r} needs class labels (ints 0..k-1) in y")


def _progress_bar(epochs: int) -> Any:
    """A tqdm bar over the epochs (tqdm is imported only when a bar is wanted)."""
    from tqdm.auto import tqdm  # type: ignore[import-untyped]

    return tqdm(total=epochs, desc="fit", unit="epoch")


def _check_count(n: object, what: str, allow_none: bool = False) -> None:
    if n is None and allow_none:
        return
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"fit: {what} must be an int, got {type(n).__name__}: {n!r}")
    if n < 1:
        raise ValueError(f"fit: {what} must be at least 1, got {n}")


def _resolve_loss(loss: str | LossFn, y: Sequence[Target], k: int,
                  sigmoid_output: bool) -> LossFn:
    """The per-example loss for ``loss`` (a name or a callable) and these targets."""
    if callable(loss):
        return loss
    if not isinstance(loss, str) or loss not in LOSSES:
        raise ValueError(f"fit: unknown loss {loss!r}; choose one of "
                         f"{', '.join(map(repr, LOSSES))} or pass a callable")
    if not _is_labels(y):
        return _regression_loss(loss)
    classes = cast(Sequence[int], y)
    if min(classes) < 0:
        raise ValueError(f"fit: class labels must be ints 0..k-1, got {min(classes)}")
    return _label_loss(loss, k, sigmoid_output, max(classes) + 1)


def _batch_loss(model: Model, X: Sequence[Sequence[Any]], y: Sequence[Target],
                batch: Sequence[int], loss_fn: LossFn) -> tuple[Value, list[list[Value]]]:
    """(1/B)·Σ loss(model(xᵢ), yᵢ) over the batch, and the model's outputs."""
    outputs = [model(X[i]) for i in batch]
    total: Value | None = None
    for out, i in zip(outputs, batch):
        term = loss_fn(out, y[i])
        if not isinstance(term, Value):
            raise TypeError(f"fit: the loss must return a Value, got {type(term).__name__}")
        total = term if total is None else total + term
    assert total is not None
    return (total if len(batch) == 1 else total * (1.0 / len(batch))), outputs


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


def _compiled_loss(loss: str | LossFn, y: Sequence[Target], k: int,
                   sigmoid_output: bool) -> tuple[Callable[[Any], Any], LossFn]:
    """For compiled replay: ``(encode, loss)``, the targets encoded as numbers.

    The compiled step takes the encoded targets as inputs, so one traced graph serves every
    batch; ``loss(outputs, encoded)`` is the eager loss of the module docstring's table
    (cross-entropy as −Σⱼ tⱼ·log softmax(y)ⱼ with t one-hot: the same number).
    """
    eager = _resolve_loss(loss, y, k, sigmoid_output)  # validates as eager mode does
    if callable(loss) or not _is_labels(y):
        return (lambda t: t), eager
    low = 0.0 if sigmoid_output else -1.0

    def one_hot(c: int) -> list[float]:
        return [1.0 if j == c else 0.0 for j in range(k)]

    if loss == "cross_entropy":
        def ce(out: list[Value], t: Any) -> Value:
            logp = losses.log_softmax(out)
            picked: Value = sum((tj * lj for tj, lj in zip(t[1:], logp[1:])), t[0] * logp[0])
            return -picked
        return one_hot, ce
    if loss in ("mse", "sse"):
        fn = losses.mse if loss == "mse" else losses.sum_squared_error
        if k >= 2:
            return one_hot, fn
        return (lambda c: [1.0 if c else low]), fn
    if loss == "hinge":
        return (lambda c: [1.0 if c else -1.0]), losses.hinge_loss
    bce = (losses.binary_cross_entropy if sigmoid_output
           else losses.binary_cross_entropy_with_logits)
    return (lambda c: [float(c)]), bce


def fit(model: Model, X: Sequence[Sequence[Any]], y: Sequence[Target], *,
        loss: str | LossFn = "mse", optimizer: Optimizer | None = None, lr: float = 0.1,
        epochs: int = 100, batch_size: int | None = None, shuffle: bool = True,
        seed: int = 0, progress: bool = True, compiled: bool | str = False,
        callbacks: Sequence[Any] = (), live: bool | Any = False) -> History:
    """Train ``model`` on ``(X, y)`` and return the per-epoch :class:`History`.

    ``loss`` is a name (``"mse"``, ``"sse"``, ``"hinge"``, ``"bce"``, ``"cross_entropy"``)
    or a callable ``loss(outputs, target) -> Value``; a batch's loss is the mean over its
    examples. ``optimizer`` defaults to ``SGD(model.parameters(), lr)``; a
    :class:`~microgrid.optim.Newton` optimizer is given the batch loss itself.
    ``batch_size=None`` trains on the full batch. ``progress=False`` hides the tqdm bar.
    ``compiled=True`` (or ``"numpy"``) trains by compiled replay (:mod:`microgrid.compile`):
    each batch shape is traced once, then every step replays forward and backward without
    building a graph (``"numpy"``: the vectorized backend). Same losses and gradients;
    not with :class:`~microgrid.optim.Newton`, which needs the loss graph.
    ``callbacks`` watch the loop (see the module docstring); ``live=True`` (or a
    :class:`~microgrid.viz.LiveView`) shows the live training dashboard. An interrupt
    stops after the current step and returns the History so far (``interrupted=True``).
    """
    backend = "numpy" if compiled == "numpy" else "python"
    if compiled not in (False, True, "python", "numpy"):
        raise ValueError(f"fit: compiled must be True, False, 'python' or 'numpy', "
                         f"got {compiled!r}")
    if len(X) != len(y):
        raise ValueError(f"fit: {len(X)} inputs but {len(y)} targets")
    if not X:
        raise ValueError("fit: no training data")
    _check_count(epochs, "epochs")
    _check_count(batch_size, "batch_size", allow_none=True)
    first = model(X[0])
    if not isinstance(first, list):
        raise TypeError(f"fit: the model must return a list of Values, got "
                        f"{type(first).__name__}")
    sigmoid_output = _output_activation(model) == "sigmoid"
    loss_fn = _resolve_loss(loss, y, len(first), sigmoid_output)
    labels = _is_labels(y)
    opt = optimizer if optimizer is not None else SGD(model.parameters(), lr)
    parameters = model.parameters()
    step: CompiledStep | None = None
    if compiled:
        if isinstance(opt, Newton):
            raise ValueError("fit: compiled=True cannot drive Newton, which needs the loss "
                             "graph itself; use compiled=False")
        encode, loss_of = _compiled_loss(loss, y, len(first), sigmoid_output)
        step = compile_step(
            lambda xs, ts: _batch_loss(model, xs, ts, range(len(xs)), loss_of),
            parameters, backend=backend)
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
    rng = random.Random(seed)
    n = len(X)
    size = n if batch_size is None else min(batch_size, n)
    order = list(range(n))
    history = History()
    bar = _progress_bar(epochs) if progress else None
    with _stop_on_interrupt() as stop:
        try:
            for hook in _hooks(watchers, "on_fit_start"):
                hook(model, X, y, loss_fn)
            for _ in range(epochs):
                if shuffle:
                    rng.shuffle(order)
                total, correct = 0.0, 0
                for start in range(0, n, size):
                    batch = order[start:start + size]
                    if step is not None:  # compiled replay: the same step, without a graph
                        for p in parameters:
                            p.grad = 0.0
                        opt.zero_grad()
                        value, outs = step([X[i] for i in batch],
                                           [encode(y[i]) for i in batch])
                        total += value * len(batch)
                        if labels:
                            correct += sum(
                                _decide([Value(v) for v in out], sigmoid_output) == y[i]
                                for out, i in zip(outs, batch))
                        opt.step()
                    else:
                        with gc_paused():  # acyclic graphs: refcounting frees them
                            batch_loss, outputs = _batch_loss(model, X, y, batch, loss_fn)
                            value = batch_loss.data
                            total += value * len(batch)
                            if labels:
                                correct += sum(_decide(out, sigmoid_output) == y[i]
                                               for out, i in zip(outputs, batch))
                            if isinstance(opt, Newton):
                                opt.step(batch_loss)
                            else:
                                for p in parameters:  # the model's, the optimizer's below
                                    p.grad = 0.0
                                opt.zero_grad()
                                batch_loss.backward()
                                opt.step()
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
