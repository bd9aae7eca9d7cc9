"""The op table: every primitive operation, its forward value and its local derivatives.

Each :class:`Op` holds, side by side,

* ``forward(*xs) -> float``: the value on plain floats (validating its input), and
* ``local(F, *xs, out) -> tuple``: the local derivatives ∂out/∂xᵢ, one per operand.

Local derivatives are written with ordinary arithmetic plus the few functions of the
namespace ``F`` (``F.log``, ``F.sigmoid``). Called with floats and :data:`FLOAT_FNS` they
give numbers (the fast first-order path of ``backward()``); called with ``Value`` nodes and
the engine's namespace they build graph (``grad(..., create_graph=True)``), so higher-order
derivatives come from the same rule. Everything that needs to know about an op — backward,
higher-order gradients, the stepper, diagram labels, compiled replay — reads this table.

Ops marked ``const_operand`` take their second operand as a fixed number (the exponent of
``x ** 3``, the slope of a leaky ReLU): it is stored as a constant input node, ``local``
receives it as a float, and its derivative slot is ``0.0``.

This module is the ground floor: it imports nothing of microgrid.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ADD",
    "CONST",
    "EXP",
    "FLOAT_FNS",
    "LEAF",
    "LEAKY_RELU",
    "LOG",
    "MUL",
    "NEG",
    "OPS",
    "POW",
    "POWC",
    "RELU",
    "SIGMOID",
    "SOFTPLUS",
    "TANH",
    "WSUM",
    "Op",
    "stable_sigmoid",
    "stable_softplus",
]


@dataclass(frozen=True, eq=False)
class Op:
    """One primitive: its forward value and its local derivatives, defined together.

    ``name`` is the method-style name (``"mul"``), ``symbol`` the short label drawn in
    diagrams (``"*"``), ``formula`` shows the forward math with ``{0}``, ``{1}`` for the
    operands, and ``derivative`` states the local derivative in one line. ``arity`` is the
    number of operands (0 for leaves and constants, -1 for a variable number).
    """

    name: str
    symbol: str
    arity: int
    formula: str
    derivative: str
    forward: Callable[..., float] | None = None
    local: Callable[..., tuple[Any, ...]] | None = None
    const_operand: bool = False

    def __repr__(self) -> str:
        return f"Op({self.name})"


class _FloatFns:
    """The functions derivative rules need, on floats."""

    @staticmethod
    def log(x: float) -> float:
        return math.log(x)

    @staticmethod
    def sigmoid(x: float) -> float:
        return stable_sigmoid(x)


FLOAT_FNS = _FloatFns()


def stable_sigmoid(x: float) -> float:
    """σ(x) = 1 / (1 + e⁻ˣ), evaluated without overflow for any finite x."""
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def stable_softplus(x: float) -> float:
    """softplus(x) = log(1 + eˣ) = max(x, 0) + log1p(e^(−|x|)), finite for any finite x."""
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


# ----------------------------------------------------------------------------------
# Forward functions: plain floats in, a float out, bad input rejected with the op's name.
# ----------------------------------------------------------------------------------

def _add(a: float, b: float) -> float:
    return a + b


def _mul(a: float, b: float) -> float:
    return a * b


def _neg(a: float) -> float:
    return -a


def _pow(a: float, b: float) -> float:
    if a == 0.0 and b < 0.0:
        raise ZeroDivisionError(f"pow: 0.0 ** {b!r} divides by zero")
    if a < 0.0 and not float(b).is_integer():
        raise ValueError(
            f"pow: a negative base with a non-integer exponent has no real value: "
            f"{a!r} ** {b!r}")
    try:
        return float(a ** b)
    except OverflowError:
        raise OverflowError(f"pow: {a!r} ** {b!r} overflows a float") from None


def _exp(a: float) -> float:
    try:
        return math.exp(a)
    except OverflowError:
        raise OverflowError(
            f"exp: exp({a!r}) overflows a float (the largest input is about 709.78)") from None


def _log(a: float) -> float:
    if a <= 0.0:
        raise ValueError(f"log: input must be > 0, got {a!r}")
    return math.log(a)


def _relu(a: float) -> float:
    return a if a > 0.0 else 0.0


def _leaky_relu(a: float, slope: float) -> float:
    return a if a > 0.0 else slope * a


def _wsum(*xs: float) -> float:
    # operands: w₁..wₙ, x₁..xₙ, b  (2n + 1 of them)
    n = (len(xs) - 1) // 2
    return sum(map(operator.mul, xs[:n], xs[n:2 * n]), xs[-1])


# ----------------------------------------------------------------------------------
# Local derivatives: (F, *operands, out) -> one ∂out/∂operand per operand.
# Written with arithmetic (and F.*), so they evaluate on floats and on Values alike.
# ----------------------------------------------------------------------------------

def _pow_local(F: Any, a: Any, b: Any, out: Any) -> tuple[Any, Any]:
    da = b * a ** (b - 1.0)
    av = float(a)
    if av > 0.0:
        db = out * F.log(a)
    elif av == 0.0 and float(b) > 0.0:
        db = 0.0  # lim a→0⁺ of aᵇ·ln a = 0
    else:
        raise ValueError(
            f"pow: ∂(a ** b)/∂b = a ** b · ln(a) is undefined for a = {av!r}; "
            "use a number exponent (x ** 3) when the exponent is a constant")
    return da, db


def _wsum_local(F: Any, *xs: Any) -> tuple[Any, ...]:
    # xs = w₁..wₙ, x₁..xₙ, b, out:  ∂/∂wᵢ = xᵢ, ∂/∂xᵢ = wᵢ, ∂/∂b = 1
    n = (len(xs) - 2) // 2
    return (*xs[n:2 * n], *xs[:n], 1.0)


LEAF = Op("leaf", "", 0, "{label}", "a leaf: its gradient accumulates")
CONST = Op("const", "", 0, "{label}", "a constant operand")

ADD = Op("add", "+", 2, "{0} + {1}", "∂/∂a = 1, ∂/∂b = 1",
         _add, lambda F, a, b, out: (1.0, 1.0))
MUL = Op("mul", "*", 2, "{0} · {1}", "∂/∂a = b, ∂/∂b = a",
         _mul, lambda F, a, b, out: (b, a))
NEG = Op("neg", "−", 1, "−{0}", "∂/∂a = −1",
         _neg, lambda F, a, out: (-1.0,))
POW = Op("pow", "**", 2, "{0} ** {1}", "∂/∂a = b·a^(b−1), ∂/∂b = a^b·ln a",
         _pow, _pow_local)
POWC = Op("powc", "**", 2, "{0} ** {1}", "∂/∂a = c·a^(c−1) for a constant exponent c",
          _pow, lambda F, a, c, out: (c * a ** (c - 1.0), 0.0), const_operand=True)
EXP = Op("exp", "exp", 1, "exp({0})", "exp'(a) = exp(a)",
         _exp, lambda F, a, out: (out,))
LOG = Op("log", "log", 1, "log({0})", "log'(a) = 1/a",
         _log, lambda F, a, out: (1.0 / a,))
TANH = Op("tanh", "tanh", 1, "tanh({0})", "tanh'(a) = 1 − tanh(a)²",
          math.tanh, lambda F, a, out: (1.0 - out * out,))
SIGMOID = Op("sigmoid", "σ", 1, "σ({0})", "σ'(a) = σ(a)(1 − σ(a))",
             stable_sigmoid, lambda F, a, out: (out * (1.0 - out),))
RELU = Op("relu", "ReLU", 1, "max(0, {0})", "relu'(a) = 1 if a > 0 else 0",
          _relu, lambda F, a, out: (1.0 if a > 0.0 else 0.0,))
SOFTPLUS = Op("softplus", "softplus", 1, "log(1 + exp({0}))", "softplus'(a) = σ(a)",
              stable_softplus, lambda F, a, out: (F.sigmoid(a),))
LEAKY_RELU = Op("leaky_relu", "LReLU", 2, "leaky_relu({0}, slope={1})",
                "∂/∂a = 1 if a > 0 else slope",
                _leaky_relu, lambda F, a, s, out: (1.0 if a > 0.0 else s, 0.0),
                const_operand=True)
WSUM = Op("wsum", "Σw·x+b", -1, "Σ wᵢ·xᵢ + b", "∂/∂wᵢ = xᵢ, ∂/∂xᵢ = wᵢ, ∂/∂b = 1",
          _wsum, _wsum_local)

OPS: dict[str, Op] = {op.name: op for op in (
    LEAF, CONST, ADD, MUL, NEG, POW, POWC, EXP, LOG, TANH, SIGMOID, RELU, SOFTPLUS,
    LEAKY_RELU, WSUM)}
"""Every op by name."""
