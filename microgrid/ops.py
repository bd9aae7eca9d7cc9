"""The op table: every primitive operation, its forward value and its local derivatives.

Each :class:`Op` holds, side by side,

* ``forward(*xs) -> float``: the value on plain floats (validating its input), and
* ``partials``: one rule per operand, ``rule(F, *xs, out) -> ∂out/∂xᵢ`` (variadic ops give
  one ``vector_rule`` that returns them all).

Rules are written with ordinary arithmetic plus the functions of a namespace ``F``, kept
beside this table in :mod:`microgrid.namespaces`. Called with floats and :data:`FLOAT_FNS`
they give numbers (the fast first-order path of ``backward()``); called with ``Value`` nodes
and ``VALUE_FNS`` they build graph (``grad(..., create_graph=True)``), so higher-order
derivatives come from the same rule; ``NUMPY_FNS`` evaluates them on arrays (compiled
replay). Rules contain no Python branches on their operands: choices go through ``F.where``.

**To add or change an op**, edit its entry here (forward and rules side by side); a rule that
needs a new function ``F.name`` gets it in each of the three namespaces; then one row in the
oracle tests (tests/test_ops_oracle.py).

What consumers need is *declared*, never guessed from names:

* ``const_operands``: operands that are always fixed numbers (the exponent of ``x ** 3``,
  the slope of a leaky ReLU). Their rule slot is ``0.0`` and is never evaluated.
* ``kind``: the structure of the forward function — ``"sum"`` (add: out = a + b),
  ``"product"`` (mul), ``"dot"`` (wsum: Σ wᵢxᵢ + b), ``"elementwise"`` (a function of its
  operands, value by value) or ``"leaf"``.

A rule is evaluated only for an operand that needs it: not for constant operands, not when
the upstream gradient is zero (see :mod:`microgrid.chain`). Where a derivative is infinite
(√a at a = 0) the float rule raises ``OverflowError`` naming the op; ops whose rule can have
no value declare ``refuse``, which raises that error even behind a zero upstream gradient.

This module is on the ground floor: it imports only the float namespace of the rules
(:mod:`microgrid.namespaces.floats`, whose names ``FLOAT_FNS``, ``FloatFns``,
``stable_sigmoid``, ``stable_softplus`` and ``exponent_minus_one`` it also offers).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .namespaces.floats import (
    FLOAT_FNS,
    FloatFns,
    exponent_minus_one,
    stable_sigmoid,
    stable_softplus,
)

__all__ = [
    "ABS",
    "ADD",
    "CONST",
    "COS",
    "DIV",
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
    "POWERS",
    "RELU",
    "SIGMOID",
    "SIN",
    "SOFTPLUS",
    "SQRT",
    "TANH",
    "WSUM",
    "FloatFns",
    "Op",
    "Rule",
    "exponent_minus_one",
    "stable_sigmoid",
    "stable_softplus",
]

Rule = Callable[..., Any]
"""A local-derivative rule: ``rule(F, *operands, out)``."""


@dataclass(frozen=True, eq=False)
class Op:
    """One primitive: its forward value and its local derivatives, defined together.

    ``name`` is the method-style name (``"mul"``), ``symbol`` the short label drawn in
    diagrams (``"*"``), ``formula`` shows the forward math with ``{0}``, ``{1}`` for the
    operands, and ``derivative`` states the local derivatives in one line. ``arity`` is the
    number of operands (0 for leaves and constants, -1 for a variable number).
    """

    name: str
    symbol: str
    arity: int
    formula: str
    derivative: str
    forward: Callable[..., float] | None = None
    partials: tuple[Rule, ...] = ()
    vector_rule: Rule | None = None
    const_operands: tuple[int, ...] = ()
    kind: str = "elementwise"
    spelling: str = ""
    """How Python code writes it (``a / b``, ``a.exp()``), for the documentation."""
    refuse: Callable[..., None] | None = None
    """For an op whose local derivative can have no value (√a at 0, c·a^(c−1) at 0 for
    c < 1, aᵇ·ln a at a < 0), only ever where its first operand is ≤ 0:
    ``refuse(F, wanted, *operands, out)`` raises the rule's named error there, and is
    called even when the upstream gradient is 0 (0·∞ has no value; ``wanted`` holds the
    operand indices that receive a gradient)."""

    @property
    def const_operand(self) -> bool:
        """True when the second operand is always a fixed number (``x ** 3``, the slope)."""
        return 1 in self.const_operands

    def local(self, F: Any, *args: Any) -> tuple[Any, ...]:
        """Every local derivative ∂out/∂xᵢ: ``args`` are the operands then ``out``.

        A ``const_operands`` slot is 0.0 (its rule is not evaluated).
        """
        if self.vector_rule is not None:
            return tuple(self.vector_rule(F, *args))
        const = self.const_operands
        return tuple(0.0 if i in const else rule(F, *args)
                     for i, rule in enumerate(self.partials))

    def __repr__(self) -> str:
        return f"Op({self.name})"


# ----------------------------------------------------------------------------------
# Forward functions: plain floats in, a float out, bad input rejected with the op's name.
# ----------------------------------------------------------------------------------

def _add(a: float, b: float) -> float:
    return a + b


def _mul(a: float, b: float) -> float:
    return a * b


def _neg(a: float) -> float:
    return -a


def _div(a: float, b: float) -> float:
    if b == 0.0:
        raise ZeroDivisionError(f"div: division by zero ({a!r} / {b!r})")
    return a / b


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


def _sqrt(a: float) -> float:
    if a < 0.0:
        raise ValueError(f"sqrt: input must be >= 0, got {a!r}")
    return math.sqrt(a)


def _relu(a: float) -> float:
    return a if a > 0.0 else 0.0


def _leaky_relu(a: float, slope: float) -> float:
    return a if a > 0.0 else slope * a


def _wsum(*xs: float) -> float:
    # operands: w₁..wₙ, x₁..xₙ, b  (2n + 1 of them)
    n = (len(xs) - 1) // 2
    return sum(map(operator.mul, xs[:n], xs[n:2 * n]), xs[-1])


def _wsum_rule(F: Any, *xs: Any) -> Sequence[Any]:
    # xs = w₁..wₙ, x₁..xₙ, b, out:  ∂/∂wᵢ = xᵢ, ∂/∂xᵢ = wᵢ, ∂/∂b = 1
    n = (len(xs) - 2) // 2
    return (*xs[n:2 * n], *xs[:n], 1.0)


def _one(F: Any, *args: Any) -> float:
    return 1.0


def _refuse_power(F: Any, wanted: Sequence[int], a: float, b: float, out: float) -> None:
    # b·0^(b−1) is infinite for 0 < b < 1; aᵇ·ln a (a Value exponent) is undefined at a < 0
    if wanted[0] == 0 and a == 0.0:
        F.dpowc(0.0, b)
    if wanted[-1] == 1:
        F.dpow_exponent(a, b, out)


def _refuse_sqrt(F: Any, wanted: Sequence[int], a: float, out: float) -> None:
    F.dsqrt(out)  # 1/(2√a) at a = 0


# ----------------------------------------------------------------------------------
# The table. Each rule: (F, *operands, out) -> ∂out/∂operand, arithmetic and F only.
# ----------------------------------------------------------------------------------

LEAF = Op("leaf", "", 0, "{label}", "a leaf: its gradient accumulates", kind="leaf")
CONST = Op("const", "", 0, "{label}", "a constant operand", kind="leaf")

ADD = Op("add", "+", 2, "{0} + {1}", "∂/∂a = 1, ∂/∂b = 1", _add, (_one, _one), kind="sum",
         spelling='`a + b`')
MUL = Op("mul", "*", 2, "{0} · {1}", "∂/∂a = b, ∂/∂b = a", _mul,
         (lambda F, a, b, out: b, lambda F, a, b, out: a), kind="product",
         spelling='`a * b`')
NEG = Op("neg", "−", 1, "−{0}", "∂/∂a = −1", _neg, (lambda F, a, out: -1.0,),
         spelling='`-a`')
DIV = Op("div", "/", 2, "{0} / {1}", "∂/∂a = 1/b, ∂/∂b = −(a/b)/b", _div,
         (lambda F, a, b, out: F.recip(b), lambda F, a, b, out: F.dquotient(a, b, out)),
         spelling='`a / b`, `2 / x`')
POW = Op("pow", "**", 2, "{0} ** {1}", "∂/∂a = b·a^(b−1), ∂/∂b = a^b·ln a", _pow,
         (lambda F, a, b, out: F.dpow_base(a, b),
          lambda F, a, b, out: F.dpow_exponent(a, b, out)),
         spelling='`a ** b` (a `Value` exponent), `2 ** x`', refuse=_refuse_power)
POWC = Op("powc", "**", 2, "{0} ** {1}", "∂/∂a = c·a^(c−1) for a constant exponent c", _pow,
          (lambda F, a, c, out: F.dpowc(a, c), _one), const_operands=(1,),
         spelling='`a ** 3` (a number exponent)', refuse=_refuse_power)
SQRT = Op("sqrt", "√", 1, "√{0}", "sqrt'(a) = 1/(2√a) (infinite at a = 0)", _sqrt,
          (lambda F, a, out: F.dsqrt(out),), spelling='`a.sqrt()`', refuse=_refuse_sqrt)
EXP = Op("exp", "exp", 1, "exp({0})", "exp'(a) = exp(a)", _exp, (lambda F, a, out: out,),
         spelling='`a.exp()`')
LOG = Op("log", "log", 1, "log({0})", "log'(a) = 1/a", _log,
         (lambda F, a, out: F.recip(a, "log"),),
         spelling='`a.log()`')
TANH = Op("tanh", "tanh", 1, "tanh({0})", "tanh'(a) = 1 − tanh(a)²", math.tanh,
          (lambda F, a, out: F.dtanh(a, out),),
         spelling='`a.tanh()`')
SIN = Op("sin", "sin", 1, "sin({0})", "sin'(a) = cos(a)", math.sin,
         (lambda F, a, out: F.cos(a),), spelling='`a.sin()`')
COS = Op("cos", "cos", 1, "cos({0})", "cos'(a) = −sin(a)", math.cos,
         (lambda F, a, out: -F.sin(a),), spelling='`a.cos()`')
SIGMOID = Op("sigmoid", "σ", 1, "σ({0})", "σ'(a) = σ(a)(1 − σ(a)) = σ(a)σ(−a)",
             stable_sigmoid, (lambda F, a, out: F.dsigmoid(a, out),),
         spelling='`a.sigmoid()`')
RELU = Op("relu", "ReLU", 1, "max(0, {0})", "relu'(a) = 1 if a > 0 else 0", _relu,
          (lambda F, a, out: F.where(a > 0.0, 1.0, 0.0),),
         spelling='`a.relu()`')
SOFTPLUS = Op("softplus", "softplus", 1, "log(1 + exp({0}))", "softplus'(a) = σ(a)",
              stable_softplus, (lambda F, a, out: F.sigmoid(a),),
         spelling='`a.softplus()`')
LEAKY_RELU = Op("leaky_relu", "LReLU", 2, "leaky_relu({0}, slope={1})",
                "∂/∂a = 1 if a > 0 else slope", _leaky_relu,
                (lambda F, a, s, out: F.where(a > 0.0, 1.0, s), _one), const_operands=(1,),
         spelling='`a.leaky_relu(slope=0.01)`')
ABS = Op("abs", "abs", 1, "|{0}|", "abs'(a) = sign(a) (0 at a = 0, as PyTorch)", abs,
         (lambda F, a, out: F.where(a > 0.0, 1.0, F.where(a < 0.0, -1.0, 0.0)),),
         spelling='`abs(a)`')
WSUM = Op("wsum", "Σw·x+b", -1, "Σ wᵢ·xᵢ + b", "∂/∂wᵢ = xᵢ, ∂/∂xᵢ = wᵢ, ∂/∂b = 1",
          _wsum, vector_rule=_wsum_rule, kind="dot",
         spelling='`wsum(ws, xs, b)`')

OPS: dict[str, Op] = {op.name: op for op in (
    LEAF, CONST, ADD, MUL, NEG, DIV, POW, POWC, SQRT, EXP, LOG, TANH, SIN, COS, SIGMOID, RELU,
    SOFTPLUS, LEAKY_RELU, ABS, WSUM)}
"""Every op by name."""

POWERS = tuple(op for op in OPS.values() if op.refuse is not None)
"""The ops whose rule can have no value (powers and √ at base 0, ln of a base < 0): their
``refuse`` runs even behind a zero upstream gradient, where the first operand is ≤ 0, so such
a point is refused rather than given 0."""


def markdown_table() -> str:
    """The op table as the README shows it: how each op is written, its forward formula and
    its local derivatives (generated here so the documentation cannot drift from the table)."""
    rows = ["| op | forward | local derivative |", "|---|---|---|"]
    for op in OPS.values():
        if op.spelling:
            forward = op.formula.format("a", "b" if op is not POWC else "c")
            if op is LEAKY_RELU:
                forward = "a if a > 0 else slope·a"
            cells = (op.spelling, forward, op.derivative)
            rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(rows)
