"""The rules' namespace on ``Value`` nodes: what ``grad(..., create_graph=True)`` evaluates
rules with, so a gradient is itself a graph that can be differentiated again.

:data:`VALUE_FNS` gives the same functions as :data:`~microgrid.namespaces.floats.FLOAT_FNS`,
built from the operands' own ``Value`` methods and operators (so this module needs no import
of the engine, which sits above it), written so that their own derivatives are accurate too.

It imports only the float namespace.
"""

from __future__ import annotations

from typing import Any

from .floats import FLOAT_FNS, TINY_NORMAL, exponent_minus_one

__all__ = ["VALUE_FNS", "ValueFns"]

Node = Any
"""A ``microgrid.Value`` (not imported, not even for type checking: the engine is
built on top of this module, and the floor's imports run one way)."""


class ValueFns:
    """The functions derivative rules need, on Values (for ``create_graph=True``).

    Each mirrors :class:`~microgrid.namespaces.floats.FloatFns`, building graph instead of
    numbers, so the derivative of a derivative comes from the same op table. The graph is
    built with the ``Value`` methods and operators of the operands themselves.
    """

    graph = True

    @staticmethod
    def where(cond: Any, x: Any, y: Any) -> Any:
        return x if cond else y

    @staticmethod
    def log(x: Node) -> Node:
        return x.log()

    @staticmethod
    def sigmoid(x: Node) -> Node:
        return x.sigmoid()

    @staticmethod
    def sin(x: Node) -> Node:
        return x.sin()

    @staticmethod
    def cos(x: Node) -> Node:
        return x.cos()

    @staticmethod
    def dsqrt(out: Node) -> Node:
        FLOAT_FNS.dsqrt(out.data)  # the named error at √0
        return 0.5 / out

    @staticmethod
    def dtanh(a: Node, out: Node) -> Node:
        if -0.5 < a.data < 0.5:
            # 1 − out·out, not (1 − out)(1 + out): its derivative −2·out·out' has one term,
            # the other form's (1 − out)·out' − (1 + out)·out' cancels to nothing near 0
            # (tanh''(1e-20) came out 0.0; found by tests/test_fuzz_exact.py)
            return 1.0 - out * out
        return 4.0 * (2.0 * a).sigmoid() * (-2.0 * a).sigmoid()  # = 1 − tanh²a

    @staticmethod
    def dsigmoid(a: Node, out: Node) -> Node:
        if -1.0 < a.data < 1.0:
            # σ'(a) = ¼·(1 − tanh²(a/2)): its derivative −¼·tanh(a/2)·sech²(a/2) has one
            # term; out·σ(−a) differentiates to σ'σ(−a) − σσ'(−a), which cancels near 0
            t = (0.5 * a).tanh()
            return 0.25 * (1.0 - t * t)
        return out * (-a).sigmoid()  # no cancellation for |a| ≥ 1: |σ(−a) − σ(a)| ≥ 0.46

    @staticmethod
    def _times_power(c: Any, c_: float, a: Node, e: Any, e_: float, lo: float) -> Node:
        """c · a^(e + lo), with e the rounded exponent c − 1 and lo the rest, accurate where
        a^e underflows (see FloatFns.dpowc). c and e are numbers or nodes; ``c_`` and ``e_``
        are their numbers."""
        p = a ** e
        if -TINY_NORMAL < p.data < TINY_NORMAL and a.data != 0.0:
            # a^e underflowed, c·a^e may not have: multiply c by |a|^(e/2) before squaring
            odd = a.data < 0.0 and e_ % 2.0 == 1.0
            q = abs(a) ** (0.5 * e)
            if q.data >= TINY_NORMAL:
                return ValueFns._corrected(((-c if odd else c) * q) * q, a, lo)
            # q is subnormal too (a = 2.5e-323): a graph (c·q)·q would carry its few bits
            # into the Hessian (10⁴ ulps; found by tests/test_fuzz_exact.py). The graph stays
            # c · a^e, differentiated by the float rule of a^e; its value is the float one.
            d = c * p
            d._data = ((-c_ if odd else c_) * q.data) * q.data
            return ValueFns._corrected(d, a, lo)
        return ValueFns._corrected(c * p, a, lo)

    @staticmethod
    def _corrected(d: Node, a: Node, lo: float) -> Node:
        """d · a^lo: the part of the exponent that c − 1 rounded away."""
        if lo != 0.0 and a.data > 0.0:
            return d * (lo * a.log()).exp()
        return d

    @staticmethod
    def dpowc(a: Node, c: float) -> Any:
        if c == 0.0:
            return 0.0
        if c == 1.0:
            return 1.0
        h, lo = exponent_minus_one(c)
        return ValueFns._times_power(c, c, a, h, h, lo)

    @staticmethod
    def dpow_base(a: Node, b: Node) -> Node:
        h, lo = exponent_minus_one(b.data)
        return ValueFns._times_power(b, b.data, a, b - 1.0, h, lo)

    @staticmethod
    def dpow_exponent(a: Node, b: Node, out: Node) -> Any:
        if a.data > 0.0:
            if out.data < TINY_NORMAL:  # see FloatFns.dpow_exponent
                h = a ** (0.5 * b)
                return h * a.log() * h
            return out * a.log()
        if a.data == 0.0 and b.data > 0.0 and a.is_constant:
            return 0.0
        raise ValueError(
            f"pow: ∂(a ** b)/∂b = a ** b · ln(a) has no derivative graph at a = {a.data!r}")

    @staticmethod
    def dquotient(a: Node, b: Node, out: Node) -> Node:
        if a.data != 0.0 and -TINY_NORMAL <= out.data <= TINY_NORMAL:
            s = 2.0 ** 600  # a/b underflowed: scale as FloatFns.dquotient does
            return -((a * s) / b / b) * (1.0 / s)
        return -out / b

    @staticmethod
    def recip(b: Node, op: str = "div") -> Node:
        return 1.0 / b


VALUE_FNS = ValueFns()
"""The Value namespace of the rules (``grad(..., create_graph=True)``)."""
