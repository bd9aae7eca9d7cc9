"""micrograd's API on microgrid's engine: change the import line, keep the code.

``from microgrid.micrograd.engine import Value`` and
``from microgrid.micrograd.nn import Module, Neuron, Layer, MLP`` behave as micrograd 0.1.0
(same signatures, defaults, reprs, parameter order, weights drawn from Python's ``random`` in
the same order, the same operator decompositions, so the same numbers), while the graph is
microgrid's: an iterative backward (no recursion limit), nodes without reference cycles, and
microgrid's error rules. What differs on purpose is listed in ``docs/micrograd.md``.
"""

from .engine import Value
from .nn import MLP, Layer, Module, Neuron

__all__ = ["MLP", "Layer", "Module", "Neuron", "Value"]
