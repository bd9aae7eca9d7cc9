"""The compiled training step ``fit(compiled=...)`` runs: :func:`training_step`.

The learning wing hands over what one step computes, as a function building the graph,
and gets back a step it calls once per batch; everything about compiling stays here:

* **a batch loss** ``batch_loss(xs, ts) -> (loss, outputs)`` over target *numbers* (the
  loss does not branch on them): one trace per batch shape, each step a replay that zeroes
  the gradients, runs backward and steps the optimizer (:func:`~.step.compile_step` with
  ``optimizer=``). Numbers go in as floats: a compiled step keeps ints static, and would
  trace once per distinct int;
* **an example loss** ``example_loss(x, t) -> (loss, output)`` that may branch on its
  target (a callable loss of the user's): one example at a time with ``t`` static, one
  trace per distinct target; the batch's mean loss is the sum of the terms ×(1/B), then
  the optimizer steps once.

A step belongs to one ``fit`` call: what the forward reads besides the parameters' values
and the batch (an attribute, a global) is frozen in its traces, so nothing is kept for a
later call. When a comparison made while tracing comes out differently, ``on_change``
decides (re-trace, at most ``max_retraces`` times, or :class:`~.step.GraphChanged`,
whose message then names ``who``'s arguments).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..engine import Value
from ..optim import Newton, Optimizer
from .step import CompiledStep, GraphChanged, compile_step

__all__ = ["TrainingStep", "training_step"]

Numbers = list[list[float]]


def _freeze(t: Any) -> Any:
    """A hashable stand-in for a target (lists become tuples)."""
    return tuple(_freeze(v) for v in t) if isinstance(t, (list, tuple)) else t


def _floats(data: Any) -> Any:
    """``data`` with every int made a float (nested lists kept)."""
    if isinstance(data, (list, tuple)):
        return [_floats(v) for v in data]
    if isinstance(data, int) and not isinstance(data, bool):
        return float(data)
    return data


def _numbers(out: Any) -> list[float]:
    """The numbers of one output as replayed (a float, or a list of floats)."""
    return [float(v) for v in out] if isinstance(out, (list, tuple)) else [float(out)]


class TrainingStep:
    """One training step on a batch by compiled replay; see :func:`training_step`."""

    def __init__(self, params: list[Value], optimizer: Optimizer,
                 batch_loss: Callable[[Any, Any], tuple[Value, Any]] | None,
                 example_loss: Callable[[Any, Any], tuple[Value, Any]] | None,
                 backend: str, on_change: str, max_retraces: int | None, who: str) -> None:
        self.params, self.opt, self.who = params, optimizer, who
        self.on_change, self.max_retraces = on_change, max_retraces
        held = {id(p) for p in optimizer.params}
        self._unheld = [p for p in params if id(p) not in held]  # not zeroed by the optimizer
        self._example = example_loss
        self._targets: dict[Any, Any] = {}  # each distinct target, by its frozen key
        self._step: CompiledStep
        if batch_loss is not None:
            self._step = compile_step(batch_loss, params, backend=backend,
                                      on_change=on_change, max_retraces=max_retraces)
            self._step.optimizer = optimizer  # the whole step: zero grads, backward, update
        else:
            self._step = compile_step(self._one, params, backend=backend, static=(2,),
                                      on_change=on_change, max_retraces=max_retraces)
            mine = {id(p) for p in params}
            self._zeroed = params + [p for p in optimizer.params if id(p) not in mine]

    def __call__(self, xs: list[Any], ts: list[Any]) -> tuple[float, Numbers]:
        """The batch's mean loss before the update and each example's output numbers;
        afterwards the parameters hold their gradients and their new values."""
        try:
            return self._batch(xs, ts) if self._example is None else self._examples(xs, ts)
        except GraphChanged as e:
            hint = (f"{self.who}(..., on_change='retrace') traces the step again instead"
                    if self.on_change == "error" else
                    f"{self.who}(..., max_retraces=...) allows more re-traces (now "
                    f"{self.max_retraces})")
            raise GraphChanged(f"{self.who}: {e} In {self.who}: {hint}; compiled=False "
                               "trains eagerly.") from None

    def _batch(self, xs: list[Any], ts: list[Any]) -> tuple[float, Numbers]:
        for p in self._unheld:
            p.grad = 0.0
        value, outs = self._step(_floats(xs), _floats(ts))
        return value, [_numbers(o) for o in outs]

    def _examples(self, xs: list[Any], ts: list[Any]) -> tuple[float, Numbers]:
        for p in self._zeroed:
            p.grad = 0.0
        weight = 1.0 / len(xs)
        total: float | None = None
        outs = []
        for x, t in zip(xs, ts):
            key = _freeze(t)
            self._targets.setdefault(key, t)
            _, term, out = self._step(_floats(x), weight if len(xs) > 1 else 1.0, key)
            total = term if total is None else total + term
            outs.append(_numbers(out))
        assert total is not None
        self.opt.step()
        return (total if len(xs) == 1 else total * weight), outs

    def _one(self, x: Any, weight: Value, key: Any) -> tuple[Value, Value, Any]:
        assert self._example is not None
        term, out = self._example(x, self._targets[key])
        return term * weight, term, out


def training_step(params: Sequence[Value], optimizer: Optimizer, *,
                  batch_loss: Callable[[Any, Any], tuple[Value, Any]] | None = None,
                  example_loss: Callable[[Any, Any], tuple[Value, Any]] | None = None,
                  targets: Sequence[Any] = (), backend: str = "python",
                  on_change: str = "retrace", max_retraces: int | None = 8,
                  who: str = "training_step") -> TrainingStep:
    """A compiled training step ``step(xs, ts) -> (mean loss, outputs as numbers)``.

    Give exactly one of ``batch_loss(xs, ts) -> (loss, outputs)`` (targets as numbers) or
    ``example_loss(x, t) -> (loss, output)`` (``t`` as given, static: one trace per
    distinct target; ``targets`` lists them, checked to be hashable before any step).
    ``optimizer`` is any of :mod:`microgrid.optim` but Newton, which needs the loss graph.
    Errors name ``who``.
    """
    if (batch_loss is None) == (example_loss is None):
        raise TypeError(f"{who}: give exactly one of batch_loss and example_loss")
    if isinstance(optimizer, Newton):
        raise ValueError(f"{who}: compiled=True cannot drive Newton, which needs the loss "
                         "graph itself; use compiled=False")
    if example_loss is not None:
        for i, t in enumerate(targets):
            try:
                hash(_freeze(t))
            except TypeError:
                raise TypeError(f"{who}: y[{i}] must be hashable for compiled=True with a "
                                f"callable loss (a number, or a list of them), got "
                                f"{type(t).__name__}") from None
    return TrainingStep(list(params), optimizer, batch_loss, example_loss, backend,
                        on_change, max_retraces, who)
