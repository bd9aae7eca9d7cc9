"""The rules' namespace on numpy arrays: what the compiled numpy replay evaluates rules with.

:data:`NUMPY_FNS` gives the functions of :data:`~microgrid.namespaces.floats.FLOAT_FNS` on
whole arrays of operands at once, so the numpy backend calls the op table's ``partials``
directly on groups of nodes. Where a float rule raises (an infinite local derivative, a log
of a non-positive number), the array twin gives ``inf`` or ``nan`` instead: the replay
refuses any non-finite number, and the compiled step re-runs eagerly so the op raises its
own error.

This module imports numpy: import it only when the numpy namespace is asked for (the rest of
:mod:`microgrid.namespaces` does not). Of microgrid it imports only the float namespace.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .floats import TINY_NORMAL

__all__ = ["NUMPY_FNS", "NumpyFns"]


def _sigmoid(x: Any) -> Any:
    """σ(x) without overflow: e^(−|x|) is at most 1."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0.0, 1.0 / (1.0 + e), e / (1.0 + e))


class NumpyFns:
    """:class:`~microgrid.namespaces.floats.FloatFns` on arrays: the same names, the same
    values (to rounding), inf or nan where the float version raises."""

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
        tiny = np.abs(out) <= TINY_NORMAL
        scaled = -np.ldexp(np.ldexp(a, 600) / b / b, -600)
        return np.where((a != 0.0) & tiny, scaled, -out / b)

    @staticmethod
    def recip(b: Any, op: str = "div") -> Any:
        return 1.0 / b


NUMPY_FNS = NumpyFns()
"""The numpy namespace of the rules (the compiled numpy replay)."""
