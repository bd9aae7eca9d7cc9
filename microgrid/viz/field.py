"""A two-input model's decision over a grid of the plane: the live view's decision panel
and the playground's background.

Cell (i, j) of an n × n grid over ``extent = (x_min, x_max, y_min, y_max)`` holds the model
at the cell's centre (x = x_min + (j + ½)·(x_max − x_min)/n, y = y_max − (i + ½)·(y_max −
y_min)/n: row 0 at the top). With one output it is the margin, the output minus the
decision threshold (:func:`microgrid.losses.decision_threshold`: > 0 is class 1); with
several outputs it is the predicted class (the argmax).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..compile import gc_paused
from ..engine import Value
from ..losses import decision_threshold, predicted_class

__all__ = ["DecisionField"]

Extent = tuple[float, float, float, float]


def _outputs(raw: Any) -> list[Value]:
    return [raw] if isinstance(raw, Value) else list(raw)


class DecisionField:
    """The decision of ``model`` (two inputs) over the plane; ``params`` are its parameters
    (default ``model.parameters()``), whose current values every grid reads."""

    def __init__(self, model: Any, params: Sequence[Value] | None = None) -> None:
        self.model = model
        self.params = list(model.parameters() if params is None else params)
        self._replay: Any = None  # the traced network, made on first use

    def evaluator(self) -> Callable[[float, float], list[float]]:
        """The model's outputs at a point (x, y), with the parameters' values of now.

        A network of :mod:`microgrid.nn` (no branches in Python) is traced once and
        replayed without building a graph (:mod:`microgrid.compile`'s python backend, the
        same float operations as eager: the same numbers, ~10× faster); any other model
        is called eagerly.
        """
        from ..nn import MLP, Layer, Neuron

        model = self.model
        if not isinstance(model, (MLP, Layer, Neuron)):
            def eager(a: float, b: float) -> list[float]:
                return [o.data for o in _outputs(model([a, b]))]
            return eager
        if self._replay is None:
            from ..compile import replayer, trace

            xs = [Value(0.0), Value(0.0)]
            with gc_paused():
                outs = _outputs(model(xs))
                self._replay = replayer(trace(outs, inputs=[*self.params, *xs]))
        replay, values = self._replay, [p.data for p in self.params]

        def fast(a: float, b: float) -> list[float]:
            outs: list[float] = replay([], [*values, a, b])[0]
            return outs
        return fast

    def grid(self, extent: Extent, n: int) -> tuple[list[list[float]], bool]:
        """``(rows, classes)``: the n × n grid over ``extent`` (see the module docstring);
        ``classes`` is True when the cells hold predicted classes, False for margins."""
        x0, x1, y0, y1 = extent
        threshold = decision_threshold(self.model)
        evaluate = self.evaluator()
        rows: list[list[float]] = []
        classes = False
        with gc_paused():
            for i in range(n):
                yv = y1 - (i + 0.5) * (y1 - y0) / n
                row = []
                for j in range(n):
                    outs = evaluate(x0 + (j + 0.5) * (x1 - x0) / n, yv)
                    if len(outs) == 1:
                        row.append(outs[0] - threshold)
                    else:
                        classes = True
                        row.append(float(predicted_class(outs)))
                rows.append(row)
        return rows, classes
