"""The op table on numpy arrays: the rules' namespace ``F`` and each op's forward.

Derivative rules are written once, in :mod:`microgrid.ops`, over a namespace ``F``; this
module gives that namespace on arrays (:data:`NUMPY_FNS`, the twin of
:class:`microgrid.ops.FloatFns`), so the numpy backend calls ``op.partials`` directly on
whole groups of nodes. Where a float rule raises (an infinite local derivative, a log of a
non-positive number), the array twin gives ``inf`` or ``nan`` instead: the replay refuses
any non-finite number, and the compiled step re-runs eagerly so the op raises its own error.

:func:`forward` is each op's forward value on arrays: the lowering of an op to numpy,
registered here per op (one registry per concern, as the op table is the one for
derivatives); an op without one runs its exact float ``forward`` element by element.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from .. import ops
from ..ops import Op

__all__ = ["NUMPY_FNS", "NumpyFns", "forward"]

Array = npt.NDArray[np.float64]
_TINY_NORMAL = 2.2250738585072014e-308  # the smallest normal float


def _sigmoid(x: Any) -> Any:
    """σ(x) without overflow: e^(−|x|) is at most 1."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0.0, 1.0 / (1.0 + e), e / (1.0 + e))


class NumpyFns:
    """:class:`microgrid.ops.FloatFns` on arrays: the same names, the same values
    (to rounding), inf or nan where the float version raises."""

    graph = False

    @staticmethod
    def where(cond: Any, x: Any, y: Any) -> Any:
        return np.where(cond, x, y)

    @staticmethod
    def log(x: Any) -> Any:
        return np.log(x)

    @staticmethod
    def sigmoid(x: Any) -> Any:
        return _sigmoid(x)

    @staticmethod
    def sin(x: Any) -> Any:
        return np.sin(x)

    @staticmethod
    def cos(x: Any) -> Any:
        return np.cos(x)

    @staticmethod
    def dsqrt(out: Any) -> Any:
        """0.5/√a: inf at a = 0."""
        return 0.5 / out

    @staticmethod
    def dtanh(a: Any, out: Any) -> Any:
        """1 − tanh²a, as 4e^(−2|a|)/(1 + e^(−2|a|))² for |a| ≥ ½."""
        e = np.exp(-2.0 * np.abs(a))
        return np.where(np.abs(a) < 0.5, (1.0 - out) * (1.0 + out),
                        4.0 * e / ((1.0 + e) * (1.0 + e)))

    @staticmethod
    def dsigmoid(a: Any, out: Any) -> Any:
        return out * _sigmoid(-a)

    @staticmethod
    def dpowc(a: Any, c: Any) -> Any:
        """c·a^(c−1): 0 for c = 0, 1 for c = 1, 0 at a = 0 for c > 1, inf at a = 0 for c < 1."""
        general = c * np.power(a, c - 1.0)
        at_zero = np.where(c > 1.0, 0.0, np.inf)
        return np.where(c == 0.0, 0.0, np.where(c == 1.0, 1.0,
                                                 np.where(a == 0.0, at_zero, general)))

    @staticmethod
    def dpow_base(a: Any, b: Any) -> Any:
        return NumpyFns.dpowc(a, b)

    @staticmethod
    def dpow_exponent(a: Any, b: Any, out: Any) -> Any:
        """aᵇ·ln a for a > 0; 0 at a = 0 with b > 0; nan elsewhere (the float rule raises)."""
        safe = np.where(a > 0.0, a, 1.0)
        return np.where(a > 0.0, out * np.log(safe),
                        np.where((a == 0.0) & (b > 0.0), 0.0, np.nan))

    @staticmethod
    def dquotient(a: Any, b: Any, out: Any) -> Any:
        """−(a/b)/b; where a/b is below the normal range, from 2⁶⁰⁰·a (exact) instead."""
        tiny = np.abs(out) <= _TINY_NORMAL
        scaled = -np.ldexp(np.ldexp(a, 600) / b / b, -600)
        return np.where((a != 0.0) & tiny, scaled, -out / b)

    @staticmethod
    def recip(b: Any, op: str = "div") -> Any:
        return 1.0 / b


NUMPY_FNS = NumpyFns()


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
    ops.SIGMOID: _sigmoid,
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
