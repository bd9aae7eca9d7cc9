"""The namespaces ``F`` the op table's derivative rules are evaluated with.

Every rule of :mod:`microgrid.ops` is written once, over a namespace ``F``; which namespace it
is called with decides what the rule computes:

* :mod:`.floats` — :data:`FLOAT_FNS`, on floats: ``backward()`` and ``grad()``;
* :mod:`.values` — :data:`VALUE_FNS`, on ``Value`` nodes, building graph:
  ``grad(..., create_graph=True)``, so higher derivatives come from the same rule;
* :mod:`.arrays` — ``NUMPY_FNS``, on numpy arrays: the compiled numpy replay. It imports
  numpy, so it is not imported here: ``from microgrid.namespaces.arrays import NUMPY_FNS``.

All three give the same names with the same meaning; a rule that needs a new function gets
it in each (tests/test_chain.py checks that they offer the same names).
"""

from .floats import FLOAT_FNS, TINY_NORMAL, FloatFns
from .values import VALUE_FNS, ValueFns

__all__ = ["FLOAT_FNS", "TINY_NORMAL", "VALUE_FNS", "FloatFns", "ValueFns"]
