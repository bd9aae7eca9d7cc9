"""The rules' namespace on floats: what ``backward()`` and ``grad()`` evaluate rules with.

:data:`FLOAT_FNS` gives the functions the op table's derivative rules call (``F.dtanh``,
``F.dpowc``, ...) on plain floats, each accurate where the textbook formula would cancel or
underflow, and raising a named error where the derivative is infinite or undefined. The
stable float maths the table's forward functions share (:func:`stable_sigmoid`,
:func:`stable_softplus`) and :data:`TINY_NORMAL` live here too.

It imports nothing of microgrid.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["FLOAT_FNS", "TINY_NORMAL", "FloatFns", "exponent_minus_one", "stable_sigmoid",
           "stable_softplus"]


def stable_sigmoid(x: float) -> float:
    """σ(x) = 1 / (1 + e⁻ˣ), evaluated without overflow for any finite x."""
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def stable_softplus(x: float) -> float:
    """softplus(x) = log(1 + eˣ) = max(x, 0) + log1p(e^(−|x|)), finite for any finite x."""
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


TINY_NORMAL = 2.2250738585072014e-308
"""The smallest normal float, 2⁻¹⁰²²: below it a float keeps fewer significant bits."""


def exponent_minus_one(c: float) -> tuple[float, float]:
    """c − 1 exactly, as ``h + lo`` with ``h`` the rounded float (Knuth's TwoSum)."""
    h = c - 1.0
    cc = h + 1.0
    lo = (c - cc) + (-1.0 - (h - cc))
    return h, lo


def _infinite(what: str) -> OverflowError:
    return OverflowError(f"{what} is infinite there, so the gradient cannot be computed")


class FloatFns:
    """The functions derivative rules call, on floats (the namespace ``F`` of a rule).

    :class:`~microgrid.namespaces.values.ValueFns` (on ``Value`` nodes) and
    :class:`~microgrid.namespaces.arrays.NumpyFns` (on arrays) provide the same names with
    the same meaning. ``graph`` tells the chain rule whether
    the namespace builds graph (then operands are passed as nodes, not numbers).
    """

    graph = False

    @staticmethod
    def where(cond: Any, x: Any, y: Any) -> Any:
        """x where cond holds, else y."""
        return x if cond else y

    @staticmethod
    def log(x: float) -> float:
        return math.log(x)

    @staticmethod
    def sigmoid(x: float) -> float:
        return stable_sigmoid(x)

    @staticmethod
    def sin(x: float) -> float:
        return math.sin(x)

    @staticmethod
    def cos(x: float) -> float:
        return math.cos(x)

    @staticmethod
    def dsqrt(out: float) -> float:
        """∂√a/∂a = 1/(2√a) = 0.5/out, from out = √a; infinite at a = 0 (raises)."""
        if out == 0.0:
            raise _infinite("sqrt: ∂√a/∂a = 1/(2√a) at a = 0")
        return 0.5 / out  # out ≥ √(5e-324) ≈ 2.2e-162, so this is at most 2.3e161

    @staticmethod
    def dtanh(a: float, out: float) -> float:
        """tanh'(a) = 1 − tanh²a = 4e^(−2|a|) / (1 + e^(−2|a|))², the second form for |a| ≥ ½
        (where 1 − tanh²a would cancel)."""
        if -0.5 < a < 0.5:
            return (1.0 - out) * (1.0 + out)
        e = math.exp(-2.0 * abs(a))
        return 4.0 * e / ((1.0 + e) * (1.0 + e))

    @staticmethod
    def dsigmoid(a: float, out: float) -> float:
        """σ'(a) = σ(a)·σ(−a), accurate for large |a| (σ(a)(1 − σ(a)) cancels)."""
        return out * stable_sigmoid(-a)

    @staticmethod
    def dpowc(a: float, c: float) -> float:
        """∂(aᶜ)/∂a = c·a^(c−1) for a fixed exponent c, exact where it is 0 or c."""
        if c == 0.0:
            return 0.0
        if c == 1.0:
            return 1.0
        if a == 0.0:
            if c > 1.0:
                return 0.0
            raise _infinite(f"pow: ∂(a ** {c!r})/∂a = {c!r}·a^{c - 1.0!r} at a = 0")
        h, lo = exponent_minus_one(c)
        try:
            p = float(a ** h)
            if -TINY_NORMAL < p < TINY_NORMAL:
                # a^(c−1) underflowed, but c·a^(c−1) may not: its rounding error times c
                # would show. |a|^((c−1)/2) is normal; square it after multiplying by c.
                q = float(abs(a) ** (0.5 * h))
                odd = a < 0.0 and h % 2.0 == 1.0
                d = ((-c if odd else c) * q) * q
            else:
                d = c * p
            if lo != 0.0:
                # a^(c−1) = a^h · a^lo: the rounding of c − 1 (c = 1/3, 0.3) would cost up
                # to |ln a^(c−1)| ≈ 700 ulps at a = 1e-300 (found by tests/test_fuzz_exact.py)
                d *= math.exp(lo * math.log(a)) if a > 0.0 else float(a ** lo)
        except OverflowError:
            d = math.inf
        if d - d != 0.0:
            raise OverflowError(f"pow: ∂(a ** {c!r})/∂a = {c!r}·a^{c - 1.0!r} at a = {a!r} "
                                "overflows a float")
        return d

    @staticmethod
    def dpow_base(a: float, b: float) -> float:
        """∂(aᵇ)/∂a = b·a^(b−1) with a ``Value`` exponent b."""
        return FloatFns.dpowc(a, b)

    @staticmethod
    def dpow_exponent(a: float, b: float, out: float) -> float:
        """∂(aᵇ)/∂b = aᵇ·ln a: defined for a > 0; 0 at a = 0 with b > 0 (the limit)."""
        if a > 0.0:
            if out >= TINY_NORMAL:
                return out * math.log(a)
            # aᵇ underflowed: its rounding error (up to 2⁻¹⁰⁷⁵) times |ln a| ≤ 745 would
            # be 240 ulps of a normal result (a = 1e-320, b = 0.9695); a^(b/2) is normal
            h = float(a ** (0.5 * b))
            return (h * math.log(a)) * h
        if a == 0.0 and b > 0.0:
            return 0.0
        raise ValueError(
            f"pow: ∂(a ** b)/∂b = a ** b · ln(a) is undefined for a = {a!r}; "
            "use a number exponent (x ** 3) when the exponent is a constant")

    @staticmethod
    def dquotient(a: float, b: float, out: float) -> float:
        """∂(a/b)/∂b = −(a/b)/b. Where a/b underflowed (|a/b| below 2⁻¹⁰²²) its rounding
        error, up to 2⁻¹⁰⁷⁵, would be divided by b: 10⁴ ulps off for a = 3e-320,
        b = 3e-5 (found by tests/test_fuzz_exact.py). There a is scaled by 2⁶⁰⁰ (exactly)
        before dividing and the result scaled back."""
        if a != 0.0 and -TINY_NORMAL <= out <= TINY_NORMAL:
            return -math.ldexp(math.ldexp(a, 600) / b / b, -600)
        return -out / b

    @staticmethod
    def recip(b: float, op: str = "div") -> float:
        """1/b: ∂(a/b)/∂a, and log'(b)."""
        r = 1.0 / b
        if r - r != 0.0:  # b is subnormal: 1/b is finite but past the largest float
            raise OverflowError(f"{op}: the local derivative 1/x at x = {b!r} overflows a "
                                "float, so the gradient cannot be computed")
        return r


FLOAT_FNS = FloatFns()
"""The float namespace of the rules."""
