"""micrograd's ``Value``, as a thin subclass of :class:`microgrid.Value`.

The forward values and local derivatives come from microgrid's op table; what this module
adds is micrograd's way of composing them, so the same expression gives the same
floating-point numbers as micrograd 0.1.0:

* a plain number operand becomes a leaf ``Value`` (it receives a ``grad``, as in micrograd);
* ``-a`` is ``a * -1``, ``a - b`` is ``a + (-b)``, ``a / b`` is ``a * b**-1`` (so ``a / 2.0``
  is ``a * 2.0**-1``, computed by ``pow``), ``n + a`` is ``a + n``, ``n * a`` is ``a * n``;
* ``x ** 3`` is microgrid's constant-exponent power, ``_op`` ``'**3'``.

Everything else is microgrid's: ``backward()`` is the engine's own (iterative, any depth),
leaves accumulate and interior nodes are reset on each call, data must be a finite real
number (kept as a float), and an op whose result is not finite raises instead of producing
``nan``.

``Value(data, _children, _op)`` with operands makes a node of your own, as in micrograd:
assign its ``_backward`` (a function of no arguments that adds this node's contribution,
local derivative × ``out.grad``, to each operand's ``grad``). The node's op reads its local
derivatives from that function (called once with ``out.grad`` = 1, every ``grad`` put
back), so the engine's ``backward()`` and :func:`microgrid.grad` apply the chain rule to it
as to any op; nothing is switched for the rest of the process.
"""

from __future__ import annotations

import math
import numbers
import weakref
from collections.abc import Callable, Iterable
from typing import Any

from .. import ops
from ..engine import Value as _EngineValue
from ..graph import operands

__all__ = ["Value"]

Operand = Any  # a Value or a real number, as micrograd takes it

# The engine's operators (they return an instance of the operand's class, so compat nodes).
_engine_add: Callable[[Any, Any], Value] = _EngineValue.__add__  # type: ignore[assignment]
_engine_mul: Callable[[Any, Any], Value] = _EngineValue.__mul__  # type: ignore[assignment]
_engine_pow: Callable[[Any, Any], Value] = _EngineValue.__pow__  # type: ignore[assignment]
_POWC = ops.POWC


def _own_op(node: Value, symbol: str) -> ops.Op:
    """The op of a node made by ``Value(data, _children, symbol)``: drawn with ``symbol``,
    its local derivatives read from the node's ``_backward`` (:func:`_pushed`). One op per
    node, holding the node weakly: a graph keeps no reference cycle."""
    ref = weakref.ref(node)

    def rule(F: Any, *xs: Any) -> list[float]:
        own = ref()
        if F.graph or own is None:
            raise TypeError(
                "a node made with Value(data, _children, _op) has its derivative only in its "
                "own _backward(), on numbers: create_graph=True and hessian need op-table ops")
        return _pushed(own)

    return ops.Op("micrograd_node", symbol, -1, "{label}",
                  "given by the node's own _backward()", vector_rule=rule)


def _pushed(node: Value) -> list[float]:
    """What ``node._backward()`` adds to each operand's ``grad`` when ``node.grad`` is 1:
    ∂node/∂operand, for a ``_backward`` that adds ``local × node.grad`` (as micrograd's do).
    The engine's ``backward()`` then adds upstream × local, the product micrograd's
    ``_backward`` forms, so the numbers are micrograd's. Every ``grad`` is restored."""
    parents = operands(node)
    saved, upstream = [p._grad for p in parents], node._grad
    try:
        for p in parents:
            p._grad = 0.0
        node._grad = 1.0
        node._backward()
        return [p._grad for p in parents]
    finally:
        node._grad = upstream
        for p, g in zip(parents, saved):
            p._grad = g


def _nothing() -> None:
    """micrograd's default ``_backward``: a node made by hand pushes nothing until given one."""


class Value(_EngineValue):
    """A scalar node with micrograd 0.1.0's interface, on microgrid's engine.

    ``Value(data, _children=(), _op='', label='')``: a leaf, or, with ``_children``, a node
    of your own whose gradient rule is the ``_backward`` you assign.
    """

    # Slots only, as the engine's nodes (an instance dict made every node about 30 % slower
    # to create); a node made with _children is an _OwnNode, which takes any attribute.
    __slots__ = ()

    def __new__(cls, data: Any = 0.0, _children: Iterable[_EngineValue] = (),
                _op: str = "", label: str = "") -> Value:
        empty = isinstance(_children, (tuple, list)) and not _children
        if cls is Value and not empty:  # operands (any iterable): a node of your own
            return object.__new__(_OwnNode)
        return object.__new__(cls)

    def __init__(self, data: Any, _children: Iterable[_EngineValue] = (), _op: str = "",
                 label: str = "") -> None:
        super().__init__(data, label)
        if not isinstance(_op, str):
            raise TypeError(f"Value _op must be a str, got {type(_op).__name__}")
        children = tuple(dict.fromkeys(_children))  # micrograd keeps a set: each once
        if children:
            for child in children:
                if not isinstance(child, _EngineValue):
                    raise TypeError("Value _children must be Values, got "
                                    f"{type(child).__name__}: {child!r}")
            self._a = children
            self._fn = _own_op(self, _op)
            self._backward = _nothing  # type: ignore[method-assign]

    def __repr__(self) -> str:
        return f"Value(data={self.data}, grad={self.grad})"

    # -- micrograd's view of the graph ------------------------------------------------------
    @property
    def _prev(self) -> set[_EngineValue]:
        """The set of operands, without fixed numbers (the exponent of ``x ** 3``)."""
        const = self._fn.const_operands
        if not const:
            return set(self.parents)
        return {p for i, p in enumerate(self.parents) if i not in const}

    @property
    def _op(self) -> str:
        """micrograd's op string: ``'+'``, ``'*'``, ``'ReLU'``, ``'**3'``; ``''`` for a leaf."""
        if self._fn is _POWC:
            written = self.parents[1].label  # the exponent as it was written (see __pow__)
            if written:
                return "**" + written
        return super()._op

    # -- arithmetic, composed as micrograd composes it -----------------------------------
    def __add__(self, other: Operand) -> Value:
        return _engine_add(self, other if isinstance(other, _EngineValue) else Value(other))

    def __radd__(self, other: Operand) -> Value:  # n + a is a + n
        return _engine_add(self, other if isinstance(other, _EngineValue) else Value(other))

    def __mul__(self, other: Operand) -> Value:
        return _engine_mul(self, other if isinstance(other, _EngineValue) else Value(other))

    def __rmul__(self, other: Operand) -> Value:  # n * a is a * n
        return _engine_mul(self, other if isinstance(other, _EngineValue) else Value(other))

    def __neg__(self) -> Value:  # −a = a · (−1)
        return self * -1

    def __sub__(self, other: Operand) -> Value:  # a − b = a + (−b)
        if not isinstance(other, _EngineValue) and (
                isinstance(other, bool) or not isinstance(other, numbers.Real)):
            raise TypeError(
                f"sub: operand must be a real number, got {type(other).__name__}: {other!r}")
        return self + (-other)

    def __rsub__(self, other: Operand) -> Value:  # n − a = (−a) + n
        return other + (-self)  # type: ignore[no-any-return]

    def __truediv__(self, other: Operand) -> Value:  # a / b = a · b⁻¹
        if isinstance(other, _EngineValue):
            return self * other ** -1
        return self * _reciprocal(other, self)

    def __rtruediv__(self, other: Operand) -> Value:  # n / a = (a⁻¹) · n
        return other * self ** -1  # type: ignore[no-any-return]

    def __pow__(self, other: Operand) -> Value:
        """aⁿ for a number n (``_op`` ``'**n'``); a ``Value`` exponent works too (microgrid)."""
        out = _engine_pow(self, other)
        if not isinstance(other, _EngineValue):
            out.parents[1].label = str(other)  # the constant exponent, as written
        return out

class _OwnNode(Value):
    """A node made by ``Value(data, _children, _op)``: it has an instance dict, so its
    ``_backward`` can be assigned (and any other attribute, as on micrograd's nodes)."""


def _reciprocal(d: Any, numerator: Value) -> float:
    """``d ** -1`` for a number divisor, computed as micrograd computes it (by ``pow``)."""
    if isinstance(d, bool) or not isinstance(d, numbers.Real):
        raise TypeError(f"div: the divisor must be a real number, got {type(d).__name__}: {d!r}")
    if not math.isfinite(d):
        raise ValueError(f"div: the divisor must be finite, got {d!r}")
    if d == 0:
        raise ZeroDivisionError(f"div: division by zero ({numerator.data!r} / {d!r})")
    if not isinstance(d, (int, float)):  # numpy integers refuse negative powers
        d = float(d)
    return d ** -1  # type: ignore[no-any-return]
