"""micrograd's ``Value``, as a thin subclass of :class:`microgrid.Value`.

The forward values and local derivatives come from microgrid's op table; what this module
adds is micrograd's way of composing them, so the same expression gives the same
floating-point numbers as micrograd 0.1.0:

* a plain number operand becomes a leaf ``Value`` (it receives a ``grad``, as in micrograd);
* ``-a`` is ``a * -1``, ``a - b`` is ``a + (-b)``, ``a / b`` is ``a * b**-1`` (so ``a / 2.0``
  is ``a * 2.0**-1``, computed by ``pow``), ``n + a`` is ``a + n``, ``n * a`` is ``a * n``;
* ``x ** 3`` is microgrid's constant-exponent power, ``_op`` ``'**3'``.

Everything else is microgrid's: ``backward()`` is iterative (any depth), leaves accumulate and
interior nodes are reset on each call, data must be a finite real number (kept as a float),
and an op whose result is not finite raises instead of producing ``nan``.

``Value(data, _children, _op)`` with operands makes a node of your own, as in micrograd:
assign its ``_backward`` (a function of no arguments that adds this node's contribution to
each operand's ``grad``) and ``backward()`` calls it in reverse topological order.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

from .. import ops
from ..engine import Value as _EngineValue
from ..graph import topological_order

__all__ = ["Value"]

Operand = Any  # a Value or a real number, as micrograd takes it

_engine_add = _EngineValue.__add__
_engine_mul = _EngineValue.__mul__
_engine_pow = _EngineValue.__pow__


def _own_rule(F: Any, *xs: Any) -> tuple[Any, ...]:
    raise TypeError(
        "a node made with Value(data, _children, _op) has its derivative in its own "
        "_backward(); differentiate it with .backward() of microgrid.micrograd")


_CUSTOM = ops.Op("micrograd_node", "", -1, "{label}",
                 "given by the node's own _backward()", None, _own_rule)
"""The op of a node made by ``Value(data, _children, _op)``: its rule is its ``_backward``."""

_custom_nodes = False
"""Set once a node with its own ``_backward`` exists; ``backward()`` then goes node by node."""


def _nothing() -> None:
    """micrograd's default ``_backward``: a node made by hand pushes nothing until given one."""


def _adopt(node: _EngineValue) -> Value:
    """The engine's result as a compat ``Value`` (the engine made a base-class node)."""
    if type(node) is Value:
        return node
    new = object.__new__(Value)
    for name in _EngineValue.__slots__:
        setattr(new, name, getattr(node, name))
    return new


class Value(_EngineValue):
    """A scalar node with micrograd 0.1.0's interface, on microgrid's engine.

    ``Value(data, _children=(), _op='', label='')``: a leaf, or, with ``_children``, a node
    of your own whose gradient rule is the ``_backward`` you assign.
    """

    # No __slots__: like micrograd's nodes, these take any attribute (``_backward`` above all).

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
            global _custom_nodes
            _custom_nodes = True
            self._a = children
            self._op = _CUSTOM
            self._backward = _nothing  # type: ignore[method-assign]

    def __repr__(self) -> str:
        return f"Value(data={self.data}, grad={self.grad})"

    # -- arithmetic, composed as micrograd composes it -----------------------------------
    def __add__(self, other: Operand) -> Value:
        return _adopt(_engine_add(self, other if isinstance(other, Value) else Value(other)))

    def __radd__(self, other: Operand) -> Value:  # n + a is a + n
        return _adopt(_engine_add(self, Value(other)))

    def __mul__(self, other: Operand) -> Value:
        return _adopt(_engine_mul(self, other if isinstance(other, Value) else Value(other)))

    def __rmul__(self, other: Operand) -> Value:  # n * a is a * n
        return _adopt(_engine_mul(self, Value(other)))

    def __neg__(self) -> Value:  # −a = a · (−1)
        return self * -1

    def __sub__(self, other: Operand) -> Value:  # a − b = a + (−b)
        if not isinstance(other, Value) and (
                isinstance(other, bool) or not isinstance(other, numbers.Real)):
            raise TypeError(
                f"sub: operand must be a real number, got {type(other).__name__}: {other!r}")
        return self + (-other)

    def __rsub__(self, other: Operand) -> Value:  # n − a = (−a) + n
        return other + (-self)  # type: ignore[no-any-return]

    def __truediv__(self, other: Operand) -> Value:  # a / b = a · b⁻¹
        if isinstance(other, Value):
            return self * other ** -1
        return self * _reciprocal(other, self)

    def __rtruediv__(self, other: Operand) -> Value:  # n / a = (a⁻¹) · n
        return other * self ** -1  # type: ignore[no-any-return]

    def __pow__(self, other: Operand) -> Value:
        """aⁿ for a number n (``_op`` ``'**n'``); a ``Value`` exponent works too (microgrid)."""
        return _adopt(_engine_pow(self, other))

    def relu(self) -> Value:
        """max(0, a); relu'(a) = 1 if a > 0 else 0."""
        return _adopt(_EngineValue.relu(self))

    # -- gradients -------------------------------------------------------------------------
    def backward(self, gradient: float = 1.0) -> None:
        """Fill ``grad`` of every node below with ∂self/∂node (microgrid's semantics:
        leaves accumulate, interior nodes are reset first)."""
        if not _custom_nodes:
            super().backward(gradient)
            return
        order = topological_order(self)
        for node in order:
            if not node.is_leaf:
                node.grad = 0.0
        self.grad += _EngineValue(gradient).data  # checked as the engine checks it
        for node in reversed(order):
            node._backward()  # type: ignore[attr-defined]

    def _backward(self) -> None:
        """Push this node's ``grad`` into its operands' ``grad`` once (one chain-rule step)."""
        g = self.grad
        for operand, local in zip(self.parents, self.local_grads()):
            if not operand.is_constant:
                operand.grad += g * local


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
