"""``Value``: a scalar that records the operations applied to it, and ``backward()``.

Every arithmetic operator and method creates a new ``Value`` that remembers the op (an entry
of :mod:`microgrid.ops`) and its operands, in order. ``backward()`` walks that graph in
reverse topological order and applies the chain rule: each node's gradient is the sum,
over its uses, of the upstream gradient times the local derivative,

    ∂L/∂x = Σ_uses ∂L/∂out · ∂out/∂x.

Data rules (checked when a ``Value`` is made and after every op):

* ``data`` is a finite real number stored as a ``float``: ``int``, ``float`` and other
  ``numbers.Real`` types are accepted; ``bool`` is refused (``Value(x > 0)`` is almost
  always a bug; write ``1.0``/``0.0``), and so are ``str``, ``None``, ``complex`` and
  containers (``TypeError``).
* ``nan`` and ``±inf`` are refused (``ValueError``); an op whose result would not be finite
  raises ``OverflowError`` naming the op and its inputs, so a diverging computation stops at
  the first bad number instead of spreading ``nan``.

Comparisons (``<``, ``<=``, ``>``, ``>=``) compare ``data`` and return a ``bool``; they are not
recorded. ``==`` is identity, so ``Value`` nodes can be dictionary keys and set members.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeAlias

from . import ops
from .graph import operands, topological_order
from .ops import Op

__all__ = ["Number", "Value", "wsum", "zero_grad"]

Number: TypeAlias = "int | float"
Operand: TypeAlias = "Value | int | float"

_new = object.__new__
_isfinite = math.isfinite
_ADD, _MUL, _NEG, _POW, _POWC = ops.ADD, ops.MUL, ops.NEG, ops.POW, ops.POWC
_CONST, _WSUM = ops.CONST, ops.WSUM

_compare_hook: Callable[[Value, str, Any, bool], None] | None = None
"""Set by :mod:`microgrid.compile` while it traces a step: each comparison of a ``Value``
(``value <cmp> other`` gave ``result``) is reported, so a replay can re-check it."""


def _check_number(x: Any, what: str) -> float:
    """``x`` as a float if it is a finite real number; otherwise a clear error."""
    if type(x) is float:
        if x - x == 0.0:  # finite: inf - inf and nan - nan are nan
            return x  # type: ignore[no-any-return]
    elif isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(
            f"{what} must be a real number (int or float), got {type(x).__name__}: {x!r}")
    value = float(x)
    if not _isfinite(value):
        raise ValueError(f"{what} must be finite, got {value!r}")
    return value


def _node(op: Op, data: float, a: Any, b: Any) -> Value:
    """A new interior node (no validation: callers pass finite floats)."""
    v = _new(Value)
    v.data = data
    v.grad = 0.0
    v.label = ""
    v._op = op
    v._a = a
    v._b = b
    v._mark = None
    return v


def _const(x: Any, opname: str) -> Value:
    """A constant leaf for a plain-number operand of ``opname``."""
    if type(x) is not float or x - x != 0.0:  # anything but a finite float: check it
        if isinstance(x, Value):
            return x
        x = _check_number(x, f"{opname}: operand")
    return _node(_CONST, x, None, None)


def _not_finite(op: Op, *args: float) -> OverflowError:
    inputs = ", ".join(repr(a) for a in args)
    return OverflowError(f"{op.name}: the result of {op.name}({inputs}) is not a finite float")


def _apply(op: Op, a: Value, b: Value | None = None) -> Value:
    """Apply a unary or binary op to Values: forward from the op table, then a new node."""
    forward: Callable[..., float] = op.forward  # type: ignore[assignment]
    out = forward(a.data) if b is None else forward(a.data, b.data)
    if out - out != 0.0:
        raise _not_finite(op, a.data) if b is None else _not_finite(op, a.data, b.data)
    return _node(op, out, a, b)


class Value:
    """A scalar node of a computation graph: ``data``, ``grad`` and how it was made.

    ``Value(data, label="")`` makes a leaf. ``grad`` is ∂L/∂self after ``L.backward()``.
    """

    __slots__ = ("_a", "_b", "_mark", "_op", "data", "grad", "label")

    data: float
    grad: float
    label: str

    def __init__(self, data: Number, label: str = "") -> None:
        if not isinstance(label, str):
            raise TypeError(f"Value label must be a str, got {type(label).__name__}")
        self.data = _check_number(data, "Value data")
        self.grad = 0.0
        self.label = label
        self._op: Op = ops.LEAF
        self._a: Any = None
        self._b: Any = None
        self._mark: object = None

    # -- structure -----------------------------------------------------------------
    @property
    def op(self) -> Op:
        """The op table entry that made this node (``ops.LEAF`` for a leaf)."""
        return self._op

    @property
    def parents(self) -> tuple[Value, ...]:
        """The operands this node was computed from, in order (``a + a`` lists ``a`` twice)."""
        return operands(self)

    @property
    def is_leaf(self) -> bool:
        """True for a node made by ``Value(...)`` or for a constant operand."""
        return self._a is None

    def local_grads(self) -> tuple[float, ...]:
        """∂self/∂operand for each operand, from the op table at the operands' current data.

        ``()`` for a leaf. The slot of a ``const_operand`` op's fixed operand is 0.0.
        """
        if self._a is None:
            return ()
        return tuple(self._op.local(  # type: ignore[misc]
            ops.FLOAT_FNS, *[p.data for p in operands(self)], self.data))

    @property
    def is_constant(self) -> bool:
        """True for a constant made from a plain number operand (``2`` in ``2 * x``)."""
        return self._op is ops.CONST

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g}{label})"

    def __float__(self) -> float:
        return self.data

    # -- arithmetic ------------------------------------------------------------------
    def __add__(self, other: Operand) -> Value:
        if type(other) is not Value:
            other = _const(other, "add")
        # ops.ADD.forward and _node, inlined: + and * make almost every node of a network,
        # and inlining them made the benchmark's training steps 5–15 % faster than calling
        # the op table's forward and _node (benchmarks/bench.py, workloads a and b).
        data = self.data + other.data
        if data - data != 0.0:
            raise _not_finite(_ADD, self.data, other.data)
        v = _new(Value)
        v.data = data
        v.grad = 0.0
        v.label = ""
        v._op = _ADD
        v._a = self
        v._b = other
        v._mark = None
        return v

    def __radd__(self, other: Number) -> Value:
        return _const(other, "add") + self

    def __mul__(self, other: Operand) -> Value:
        if type(other) is not Value:
            other = _const(other, "mul")
        data = self.data * other.data  # ops.MUL.forward and _node, inlined (see __add__)
        if data - data != 0.0:
            raise _not_finite(_MUL, self.data, other.data)
        v = _new(Value)
        v.data = data
        v.grad = 0.0
        v.label = ""
        v._op = _MUL
        v._a = self
        v._b = other
        v._mark = None
        return v

    def __rmul__(self, other: Number) -> Value:
        return _const(other, "mul") * self

    def __neg__(self) -> Value:
        return _node(_NEG, -self.data, self, None)

    def __pos__(self) -> Value:
        return self

    def __sub__(self, other: Operand) -> Value:
        """a − b = a + (−b)."""
        if isinstance(other, Value):
            return self + (-other)
        return self + -_check_number(other, "sub: operand")

    def __rsub__(self, other: Number) -> Value:
        return _const(other, "sub") + (-self)

    def __truediv__(self, other: Operand) -> Value:
        """a / b = a · b⁻¹."""
        if isinstance(other, Value):
            if other.data == 0.0:
                raise ZeroDivisionError(f"div: division by zero ({self.data!r} / 0.0)")
            return self * other ** -1
        d = _check_number(other, "div: operand")
        if d == 0.0:
            raise ZeroDivisionError(f"div: division by zero ({self.data!r} / {other!r})")
        return self * (1.0 / d)

    def __rtruediv__(self, other: Number) -> Value:
        if self.data == 0.0:
            raise ZeroDivisionError(f"div: division by zero ({other!r} / 0.0)")
        return _const(other, "div") * self ** -1

    def __pow__(self, other: Operand) -> Value:
        """aᵇ. A number exponent is a constant (``x ** 2``); a ``Value`` exponent is
        differentiated too (∂/∂b = aᵇ·ln a, defined for a > 0)."""
        if isinstance(other, Value):
            return _apply(_POW, self, other)
        return _apply(_POWC, self, _const(other, "pow"))

    def __rpow__(self, other: Number) -> Value:
        """``2 ** x``: a constant base, a ``Value`` exponent."""
        return _apply(_POW, _const(other, "pow"), self)

    # -- comparisons (on data; not in the graph, but reported to a tracing compiler) -------
    def __lt__(self, other: Operand) -> bool:
        result = self.data < float(other)
        if _compare_hook is not None:
            _compare_hook(self, "<", other, result)
        return result

    def __le__(self, other: Operand) -> bool:
        result = self.data <= float(other)
        if _compare_hook is not None:
            _compare_hook(self, "<=", other, result)
        return result

    def __gt__(self, other: Operand) -> bool:
        result = self.data > float(other)
        if _compare_hook is not None:
            _compare_hook(self, ">", other, result)
        return result

    def __ge__(self, other: Operand) -> bool:
        result = self.data >= float(other)
        if _compare_hook is not None:
            _compare_hook(self, ">=", other, result)
        return result

    __hash__ = object.__hash__

    # -- functions -------------------------------------------------------------------
    def exp(self) -> Value:
        """eˣ; exp'(x) = eˣ. Raises ``OverflowError`` past x ≈ 709.78."""
        return _apply(ops.EXP, self)

    def log(self) -> Value:
        """ln x for x > 0; log'(x) = 1/x."""
        return _apply(ops.LOG, self)

    def tanh(self) -> Value:
        """tanh x; tanh'(x) = 1 − tanh²x."""
        return _apply(ops.TANH, self)

    def sigmoid(self) -> Value:
        """σ(x) = 1/(1 + e⁻ˣ), stable for any finite x; σ'(x) = σ(x)(1 − σ(x))."""
        return _apply(ops.SIGMOID, self)

    def relu(self) -> Value:
        """max(0, x); relu'(x) = 1 if x > 0 else 0 (0 at x = 0, as in PyTorch)."""
        return _apply(ops.RELU, self)

    def softplus(self) -> Value:
        """log(1 + eˣ), stable for any finite x (softplus(1000) = 1000); softplus' = σ."""
        return _apply(ops.SOFTPLUS, self)

    def leaky_relu(self, slope: float = 0.01) -> Value:
        """x if x > 0 else slope·x; derivative 1 or slope (slope at x = 0, as in PyTorch)."""
        s = _check_number(slope, "leaky_relu: slope")  # a number, never a Value
        return _apply(ops.LEAKY_RELU, self, _node(ops.CONST, s, None, None))

    # -- gradients -------------------------------------------------------------------
    def backward(self, gradient: float = 1.0) -> None:
        """Fill ``.grad`` of every node this one depends on with ∂self/∂node.

        Semantics (as PyTorch's ``.grad``): leaves *accumulate* — a second ``backward()``
        adds to their ``grad``, so zero them between training steps (``zero_grad``).
        Interior nodes are reset first and hold the gradient of the latest call only.
        ``gradient`` seeds ∂L/∂self (1.0 by default).

        Local derivatives are read from the operands' current ``data``: change a
        parameter's ``data`` only after ``backward()`` (as an optimizer step does), then
        run the forward pass again; changing it in between mixes two states.
        """
        order = topological_order(self)
        for node in order:
            if node._a is not None:
                node.grad = 0.0
        self.grad += _check_number(gradient, "backward: gradient")
        _propagate_into_grad(reversed(order))

    def zero_grad(self) -> None:
        """Set ``grad`` to 0.0 on this node and every node it depends on."""
        zero_grad(self)


class _ValueFns:
    """The functions derivative rules need, on Values (for ``create_graph=True``)."""

    @staticmethod
    def log(x: Value) -> Value:
        return x.log()

    @staticmethod
    def sigmoid(x: Value) -> Value:
        return x.sigmoid()


VALUE_FNS = _ValueFns()


def _propagate_into_grad(reverse_order: Iterable[Value]) -> None:
    """The chain rule on floats: push each node's ``grad`` into its operands' ``grad``."""
    F = ops.FLOAT_FNS
    for node in reverse_order:
        a = node._a
        if a is None:
            continue
        g = node.grad
        op = node._op
        b = node._b
        # add and mul written out (their op-table rules are (1, 1) and (b, a)): reading the
        # table for them made backward() 7–14 % slower on the benchmark's training steps.
        if op is _ADD:
            a.grad += g
            b.grad += g
        elif op is _MUL:
            a.grad += g * b.data
            b.grad += g * a.data
        elif op is _WSUM:
            # ops.WSUM.local written out, in its order (all wᵢ, then all xᵢ, then b):
            # backward() on the fused demo network is 20 % faster than reading the table.
            n = len(a) >> 1
            ws, xs = a[:n], a[n:-1]
            for w, x in zip(ws, xs):
                w.grad += g * x.data
            for w, x in zip(ws, xs):
                x.grad += g * w.data
            a[-1].grad += g
        elif b is None:
            if type(a) is tuple:
                locals_ = op.local(F, *[p.data for p in a], node.data)  # type: ignore[misc]
                for p, d in zip(a, locals_):
                    p.grad += g * d
            else:
                a.grad += g * op.local(F, a.data, node.data)[0]  # type: ignore[misc]
        else:
            da, db = op.local(F, a.data, b.data, node.data)  # type: ignore[misc]
            a.grad += g * da
            b.grad += g * db


def zero_grad(roots: Value | Iterable[Value]) -> None:
    """Set ``grad`` to 0.0 on every node of the graph(s) below ``roots``."""
    for node in topological_order(roots):
        node.grad = 0.0


_ONLY_VALUES = {Value}


def wsum(weights: Sequence[Value], inputs: Sequence[Operand], bias: Operand) -> Value:
    """One fused node for Σᵢ wᵢ·xᵢ + b (∂/∂wᵢ = xᵢ, ∂/∂xᵢ = wᵢ, ∂/∂b = 1).

    The same number as building it from ``*`` and ``+``, with one node instead of 2n.
    """
    if len(weights) != len(inputs):
        raise ValueError(
            f"wsum: {len(weights)} weights but {len(inputs)} inputs; they must pair up")
    args: tuple[Any, ...] = (*weights, *inputs, bias)
    if set(map(type, args)) != _ONLY_VALUES:  # numbers among the operands: constants
        args = tuple(_const(p, "wsum") for p in args)
    datas = [p.data for p in args]
    data = ops.WSUM.forward(*datas)  # type: ignore[misc]
    if data - data != 0.0:
        raise _not_finite(ops.WSUM, *datas)
    return _node(ops.WSUM, data, args, None)
