"""Compiled replay: trace a training step's graph once, then replay it on new numbers.

A training step builds the same graph every time; only the numbers change. A compiled step
runs the step eagerly once, records its graph as a :class:`Tape` (the nodes in topological
order: an op-table entry and operand indices each), and from then on replays forward and
backward over flat arrays of numbers, making no ``Value`` at all::

    step = compile_step(lambda xs, ts: mse([model(x) for x in xs], ts),
                        model.parameters())
    loss = step(X, T)   # the loss as a float; every parameter's grad += ∂loss/∂parameter

or, with ``optimizer=SGD(model.parameters(), lr=0.1)``, a whole training step per call.

Both backends read the op table's declarations (``kind``, ``const_operands``, the rules
through ``F``), never op names, and give the same exception type as eager mode.

The wing's rooms, each with one job; backends see only the tape:

* :mod:`.tape` — tracing a graph to a :class:`Tape` (with its comparison guards);
* :mod:`.python_backend` — ``backend="python"``: straight-line Python code per tape
  (compiled in chunks), the same float operations in the same order as ``backward()``
  (bit-identical);
* :mod:`.numpy_backend` — ``backend="numpy"`` (needs numpy): nodes of one op at one depth
  as one array operation, layers of products and sums (or of ``wsum`` nodes) as matrix
  products; :mod:`.numpy_fns` lowers each op's forward to numpy (the rules run with the
  numpy namespace, :mod:`microgrid.namespaces.arrays`);
* :mod:`.update` — an optimizer's rule applied to all parameters at once on arrays (the
  numpy backend's training steps);
* :mod:`.backends` — the backends by name (:func:`replayer`);
* :mod:`.step` — :func:`compile_step`: trace per argument shape, replay, re-trace or refuse
  when the graph changes;
* :mod:`.training` — :func:`training_step`: the compiled training step of
  ``fit(compiled=...)``, the one entry the learning wing calls.
"""

from __future__ import annotations

from ..collector import gc_paused
from .backends import BACKENDS, replayer
from .python_backend import PythonReplay, python_source
from .step import CompiledStep, GraphChanged, compile_step
from .tape import Guard, GuardFailed, NotFinite, Tape, trace
from .training import TrainingStep, training_step

__all__ = ["BACKENDS", "CompiledStep", "GraphChanged", "Guard", "GuardFailed", "NotFinite",
           "PythonReplay", "Tape", "TrainingStep", "compile_step", "gc_paused", "python_source",
           "replayer", "trace", "training_step"]
