"""Each op's forward value on numpy arrays: the lowering of the op table to numpy.

:func:`forward` gives an op's forward on arrays of its operands, registered here per op (one
registry per concern, as the op table is the one for derivatives); an op without one runs its
exact float ``forward`` element by element. The derivative rules need no lowering: they are
evaluated with the numpy namespace, :data:`microgrid.namespaces.arrays.NUMPY_FNS`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import ops
from ..namespaces.arrays import NUMPY_FNS
from ..ops import Op

__all__ = ["forward"]


def _softplus(a: Any) -> Any:
    return np.maximum(a, 0.0) + np.log1p(np.exp(-np.abs(a)))


_FORWARD: dict[Op, Callable[..., Any]] = {
    ops.ADD: np.add,
    ops.MUL: np.multiply,
    ops.NEG: np.negative,
    ops.DIV: np.divide,
    ops.POW: np.power,
    ops.POWC: np.power,
    ops.EXP: np.exp,
    ops.LOG: np.log,
    ops.TANH: np.tanh,
    ops.SQRT: np.sqrt,
    ops.SIN: np.sin,
    ops.COS: np.cos,
    ops.SIGMOID: NUMPY_FNS.sigmoid,
    ops.RELU: lambda a: np.where(a > 0.0, a, 0.0),
    ops.SOFTPLUS: _softplus,
    ops.LEAKY_RELU: lambda a, s: np.where(a > 0.0, a, s * a),
    ops.ABS: np.abs,
}


def _elementwise(op: Op, nin: int) -> Callable[..., Any]:
    """``op.forward`` on floats, applied element by element (exact, with its checks)."""
    assert op.forward is not None
    ufunc = np.frompyfunc(op.forward, nin, 1)

    def run(*xs: Any) -> Any:
        return np.asarray(ufunc(*xs), dtype=np.float64)

    return run


def forward(op: Op, nin: int) -> Callable[..., Any]:
    """``op``'s forward value on arrays of its ``nin`` operands."""
    return _FORWARD.get(op) or _elementwise(op, nin)
