"""``Value``: a scalar that records the operations applied to it, and ``backward()``.

Every arithmetic operator and method creates a new ``Value`` that remembers the op (an entry
of :mod:`microgrid.ops`) and its operands, in order. ``backward()`` walks that graph in
reverse topological order and applies the chain rule: each node's gradient is the sum,
over its uses, of the upstream gradient times the local derivative,

    ∂L/∂x = Σ_uses ∂L/∂out · ∂out/∂x.

This module applies the op table; it defines no op's maths. To change an op, open
:mod:`microgrid.ops` (forward and derivative side by side); the chain rule's reference is
:mod:`microgrid.chain`, the traversal :mod:`microgrid.graph`.

Data rules (checked when a ``Value`` is made, when its ``data`` or ``grad`` is assigned, and
after every op):

* ``data`` is a finite real number stored as a ``float``: ``int``, ``float`` and other
  ``numbers.Real`` types are accepted; ``bool`` is refused (``Value(x > 0)`` is almost
  always a bug; write ``1.0``/``0.0``), and so are ``str``, ``None``, ``complex`` and
  containers (``TypeError``).
* ``nan`` and ``±inf`` are refused (``ValueError``); an op whose result would not be finite
  raises ``OverflowError`` naming the op and its inputs, so a diverging computation stops at
  the first bad number instead of spreading ``nan``.
* ``grad`` follows the same rules when assigned (``x.grad = nan`` is refused); a refused
  assignment names the ``Value`` (its label, else its repr) and leaves it as it was.

Comparisons (``<``, ``<=``, ``>``, ``>=``) compare ``data`` with the other side as Python
compares a float with that number (exactly: ``Value(2.0 ** 53) < 2 ** 53 + 1`` is True) and
return a ``bool``; they are not recorded. ``==`` is identity, so ``Value`` nodes can be
dictionary keys and set members.
"""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from fractions import Fraction
from operator import attrgetter
from typing import Any, TypeAlias

from . import ops
from ._labels import check_label
from .chain import contributions, float_gradients, gradient_overflow
from .graph import operands, post_order, topological_order, traversal_lock
from .namespaces import TINY_NORMAL
from .ops import Op
from .recording import ACTIVE as _RECORDING
from .recording import current as _current_block

__all__ = ["Number", "Value", "float_comparison", "observing_comparisons", "wsum", "zero_grad"]

Number: TypeAlias = "int | float"
Operand: TypeAlias = "Value | int | float"
ComparisonObserver: TypeAlias = "Callable[[Value, str, Any, bool], None]"

_new = object.__new__
_isfinite = math.isfinite
_ADD, _MUL, _NEG, _DIV, _POW, _POWC = ops.ADD, ops.MUL, ops.NEG, ops.DIV, ops.POW, ops.POWC
_CONST, _WSUM, _RELU, _TANH = ops.CONST, ops.WSUM, ops.RELU, ops.TANH
_dtanh = ops.FLOAT_FNS.dtanh
_POWERS = ops.POWERS

_observer: ContextVar[ComparisonObserver | None] = ContextVar("microgrid_comparisons",
                                                              default=None)


@contextmanager
def observing_comparisons(callback: ComparisonObserver) -> Iterator[None]:
    """Report every comparison of a ``Value`` made inside the block to ``callback``.

    ``callback(value, symbol, other, result)`` is called for ``<``, ``<=``, ``>``, ``>=``
    (``symbol`` is the operator) and for ``bool(value)`` (``symbol`` ``"bool"``, ``other``
    None). The observer belongs to the current thread (a context variable), so tracing in
    two threads at once keeps their comparisons apart; blocks nest, the inner one wins.
    """
    token = _observer.set(callback)
    try:
        yield
    finally:
        _observer.reset(token)


def _check_number(x: Any, what: str) -> float:
    """``x`` as a float if it is a finite real number; otherwise a clear error."""
    if type(x) is float:
        if x - x == 0.0:  # finite: inf - inf and nan - nan are nan
            return x  # type: ignore[no-any-return]
    elif isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(
            f"{what} must be a real number (int or float), got {type(x).__name__}: {x!r}")
    try:
        value = float(x)
    except OverflowError:
        digits = len(str(abs(int(x)))) if isinstance(x, numbers.Integral) else None
        size = f"an integer of {digits} digits" if digits else repr(x)
        raise OverflowError(f"{what} is too large for a float: {size}") from None
    if not _isfinite(value):
        raise ValueError(f"{what} must be finite, got {value!r}")
    return value


def _named(node: Value) -> str:
    """How an error names a ``Value``: by its label, else by its repr."""
    return f"Value {node.label!r}" if node.label else repr(node)


def _assigned(node: Value, attr: str) -> str:
    """How an error names ``node.attr`` being assigned."""
    return f"{_named(node)}: {attr}"


def _not_a_number(node: Value, use: str) -> TypeError:
    """The error for a ``Value`` used as a plain number: the number would leave the graph
    and no gradient would reach the Value, without a word."""
    name = _named(node)
    if use.startswith("float"):
        return TypeError(
            f"{name} is not a float: {use} would take its number out of the graph, so no "
            "gradient would reach it. Use the Value's own op to stay in the graph (x.exp(), "
            "x.log(), x.tanh(), x.sigmoid(), x ** 0.5, abs(x)), or x.data for the number")
    return TypeError(f"{name} is not an integer: {use} would take its number out of the "
                     "graph. Use x.data for the number (int(x.data), round(x.data))")


def _node(op: Op, data: float, a: Any, b: Any, cls: type[Value] | None = None) -> Value:
    """A new interior node of class ``cls`` (no validation: callers pass finite floats)."""
    v = _new(cls or Value)
    v._data = data
    v._grad = 0.0
    v.label = ""
    v._fn = op
    v._a = a
    v._b = b
    v._mark = None
    if _RECORDING[0]:  # some thread records blocks (microgrid.recording): which made v
        v._block = _current_block()
    return v


def _const(x: Any, opname: str) -> Value:
    """A constant leaf for a plain-number operand of ``opname`` (a ``Value`` is returned as is)."""
    if type(x) is not float or x - x != 0.0:  # anything but a finite float: check it
        if isinstance(x, Value):
            return x
        x = _check_number(x, f"{opname}: operand")
    return _node(_CONST, x, None, None, _Constant)


def _not_finite(op: Op, *args: float) -> OverflowError:
    inputs = ", ".join(repr(a) for a in args)
    return OverflowError(f"{op.name}: the result of {op.name}({inputs}) is not a finite float")


def _apply(op: Op, a: Value, b: Value | None, cls: type[Value]) -> Value:
    """Apply a unary or binary op to Values: forward from the op table, then a new node
    of class ``cls`` (the class of the ``Value`` the op was called on)."""
    forward: Callable[..., float] = op.forward  # type: ignore[assignment]
    out = forward(a._data) if b is None else forward(a._data, b._data)
    if out - out != 0.0:
        raise _not_finite(op, a._data) if b is None else _not_finite(op, a._data, b._data)
    return _node(op, out, a, b, cls)


def _compared(other: Any, symbol: str) -> Any:
    """What a ``Value``'s data is compared with: a Value's data, or the number itself.

    Python compares a float with an ``int`` or a ``Fraction`` exactly, so the number is not
    rounded to a float first (``2.0 ** 53 < 2 ** 53 + 1`` is True). Other integers (numpy's)
    become ``int``, other numbers with ``as_integer_ratio`` (numpy's floats, which would
    compare in their own precision) a ``Fraction``: exact too.
    """
    if type(other) is float:
        return other
    if isinstance(other, Value):
        return other._data
    if isinstance(other, bool) or not isinstance(other, numbers.Real):
        raise TypeError(f"'{symbol}' compares a Value with a number or a Value, "
                        f"not {type(other).__name__}: {other!r}")
    if isinstance(other, (int, Fraction)):
        return other
    if isinstance(other, numbers.Integral):
        return int(other)
    ratio = getattr(other, "as_integer_ratio", None)
    if ratio is not None and other - other == 0:  # (nan and inf have no ratio)
        return Fraction(*ratio())
    return other


def _compare(v: Value, other: Any, symbol: str, compare: Callable[[Any, Any], Any]) -> bool:
    """``v.data <symbol> other`` as Python compares the float with that number, reported
    to the comparison observer (a tracing compiler) if there is one."""
    result = bool(compare(v._data, _compared(other, symbol)))
    observer = _observer.get()
    if observer is not None:
        observer(v, symbol, other, result)
    return result


def float_comparison(symbol: str, number: Any) -> tuple[str, float]:
    """A comparison with a float that holds for the same floats as ``x <symbol> number``.

    For every finite float x, ``x <symbol> number`` (compared exactly, as a ``Value``
    compares) equals ``x <symbol'> bound``: the number itself when it is a float; otherwise
    it lies strictly between two adjacent floats lo < number < hi (±inf beyond the float
    range), and x < number ⇔ x < hi, x > number ⇔ x > lo (likewise for ≤ and ≥). A compiled
    step re-checks its recorded comparisons this way, on floats only.
    """
    c = _compared(number, symbol)
    if type(c) is float:
        return symbol, c
    try:
        f = float(c)
    except OverflowError:
        f = math.inf if c > 0 else -math.inf
    if f == c:
        return symbol, f
    lo, hi = (f, math.nextafter(f, math.inf)) if f < c else (math.nextafter(f, -math.inf), f)
    return ("<", hi) if symbol in ("<", "<=") else (">", lo)


class Value:
    """A scalar node of a computation graph: ``data``, ``grad`` and how it was made.

    ``Value(data, label="")`` makes a leaf. ``grad`` is ∂L/∂self after ``L.backward()``.
    An op on instances of a subclass of ``Value`` returns an instance of that subclass.
    """

    # data and grad live in the slots _data and _grad, behind checking properties; the
    # engine's own hot paths (ops, backward, optimizers, compiled replay) use the slots.
    # _block: the microgrid.recording.Block that made the node, set only while recording.
    # The eighth slot asks for 96 bytes instead of 88, but pymalloc hands out 16-byte
    # multiples, so a node took 96 bytes before too: the process's memory per node is
    # unchanged (1,000,000 nodes: 128.4 vs 128.3 bytes each in RSS); tracemalloc, which
    # counts requested bytes, reports 8 more.
    __slots__ = ("_a", "_b", "_block", "_data", "_fn", "_grad", "_mark", "label")

    _data: float
    _grad: float
    label: str

    def __init__(self, data: Number, label: str = "") -> None:
        if type(label) is not str or (label and not label.isprintable()):  # rare: look closer
            check_label(label)
        self._data = _check_number(data, "Value data")
        self._grad = 0.0
        self.label = label
        self._fn: Op = ops.LEAF
        self._a: Any = None
        self._b: Any = None
        self._mark: object = None
        if _RECORDING[0]:
            self._block = _current_block()

    @property
    def data(self) -> float:
        """The number this node holds: a finite float (an assigned int is kept as a float)."""
        return self._data

    @data.setter
    def data(self, value: Number) -> None:
        if type(value) is not float or value - value != 0.0:
            value = _check_number(value, _assigned(self, "data"))
        self._data = value

    @property
    def grad(self) -> float:
        """∂L/∂self after ``L.backward()``: a finite float."""
        return self._grad

    @grad.setter
    def grad(self, value: Number) -> None:
        if type(value) is not float or value - value != 0.0:
            value = _check_number(value, _assigned(self, "grad"))
        self._grad = value

    # -- structure -----------------------------------------------------------------
    @property
    def op(self) -> Op:
        """The op table entry that made this node (``ops.LEAF`` for a leaf)."""
        return self._fn

    @property
    def parents(self) -> tuple[Value, ...]:
        """The operands this node was computed from, in order (``a + a`` lists ``a`` twice)."""
        return operands(self)

    @property
    def is_leaf(self) -> bool:
        """True for a node made by ``Value(...)`` or for a constant operand."""
        return self._a is None

    @property
    def is_constant(self) -> bool:
        """True for a constant made from a plain number operand (``2`` in ``2 * x``)."""
        return self._fn is _CONST

    def local_grads(self) -> tuple[float, ...]:
        """∂self/∂operand for each operand, from the op table at the operands' current data.

        ``()`` for a leaf. The slot of a constant operand is 0.0 (its rule is not evaluated).
        """
        parents = operands(self)
        if not parents:
            return ()
        local = [0.0] * len(parents)
        for i, _, d, _ in contributions(self, 1.0):
            local[i] = d
        return tuple(local)

    # -- micrograd's names, so lecture-style code runs as it is written ---------------
    @property
    def _prev(self) -> set[Value]:
        """The set of operands (micrograd's name; :attr:`parents` keeps order and repeats).

        As in micrograd, the fixed number of ``x ** 3`` or of a leaky ReLU's slope is not
        an operand here (it is part of the op, as ``_op`` shows)."""
        const = self._fn.const_operands
        return {p for i, p in enumerate(operands(self)) if i not in const}

    @property
    def _op(self) -> str:
        """The op's symbol as a string (``'+'``, ``'*'``, ``'tanh'``, ``'**2'``; ``''`` for a
        leaf)."""
        fn = self._fn
        if fn is _POWC:
            c = self._b._data
            return f"**{int(c)}" if c.is_integer() and abs(c) < 1e15 else f"**{c!r}"
        return fn.symbol

    def _backward(self) -> None:
        """Push this node's ``grad`` into its operands' ``grad`` once (one chain-rule step).

        The manual step done node by node in reverse topological order: each operand's
        ``grad`` += ``self.grad`` × ∂self/∂operand. ``backward()`` does all of them.
        """
        for _, p, _, c in contributions(self, self._grad):
            p._grad += c

    def item(self) -> float:
        """``data`` as a Python float (as ``tensor.item()``)."""
        return self._data

    def __format__(self, spec: str) -> str:
        """``f"{v:.4f}"`` formats ``data``; an empty spec gives ``repr``."""
        return format(self._data, spec) if spec else repr(self)

    def __repr__(self) -> str:
        """``Value(data=0.30000000000000004, grad=0.0)``: both numbers as Python prints a
        float (the shortest form that reads back exactly, as micrograd prints them), then
        the label if there is one."""
        label = f", label={self.label!r}" if self.label else ""
        return f"Value(data={self._data!r}, grad={self._grad!r}{label})"

    # -- not a plain number: float(v), int(v), round(v), math.exp(v) would leave the graph --
    def __float__(self) -> float:
        raise _not_a_number(self, "float(x) and math functions (math.exp(x), ...)")

    def __int__(self) -> int:
        raise _not_a_number(self, "int(x)")

    def __index__(self) -> int:
        raise _not_a_number(self, "an index or count (operator.index(x))")

    def __round__(self, ndigits: int | None = None) -> float:
        raise _not_a_number(self, "round(x)")

    def __trunc__(self) -> int:
        raise _not_a_number(self, "math.trunc(x), math.floor(x) and math.ceil(x)")

    __floor__ = __ceil__ = __trunc__

    def __bool__(self) -> bool:
        """``data != 0``, like a number (reported to a tracing compiler as a comparison)."""
        result = self._data != 0.0
        observer = _observer.get()
        if observer is not None:
            observer(self, "bool", None, result)
        return result

    # -- arithmetic ------------------------------------------------------------------
    def __add__(self, other: Operand) -> Value:
        cls = type(self)
        if type(other) is not cls:
            other = _const(other, "add")
        # ops.ADD.forward and _node, inlined: + and * make almost every node of a network,
        # and inlining them made the benchmark's training steps 5–15 % faster than calling
        # the op table's forward and _node (benchmarks/bench.py, workloads a and b).
        data = self._data + other._data
        if data - data != 0.0:
            raise _not_finite(_ADD, self._data, other._data)
        v = _new(cls)
        v._data = data
        v._grad = 0.0
        v.label = ""
        v._fn = _ADD
        v._a = self
        v._b = other
        v._mark = None
        if _RECORDING[0]:
            v._block = _current_block()
        return v

    def __radd__(self, other: Number) -> Value:
        return _apply(_ADD, _const(other, "add"), self, type(self))

    def __mul__(self, other: Operand) -> Value:
        cls = type(self)
        if type(other) is not cls:
            other = _const(other, "mul")
        data = self._data * other._data  # ops.MUL.forward and _node, inlined (see __add__)
        if data - data != 0.0:
            raise _not_finite(_MUL, self._data, other._data)
        v = _new(cls)
        v._data = data
        v._grad = 0.0
        v.label = ""
        v._fn = _MUL
        v._a = self
        v._b = other
        v._mark = None
        if _RECORDING[0]:
            v._block = _current_block()
        return v

    def __rmul__(self, other: Number) -> Value:
        return _apply(_MUL, _const(other, "mul"), self, type(self))

    def __neg__(self) -> Value:
        return _node(_NEG, -self._data, self, None, type(self))

    def __pos__(self) -> Value:
        return self

    def __abs__(self) -> Value:
        """|x|; abs'(x) = sign x (0 at x = 0, as PyTorch)."""
        return _apply(ops.ABS, self, None, type(self))

    def __sub__(self, other: Operand) -> Value:
        """a − b = a + (−b)."""
        if isinstance(other, Value):
            return self + (-other)
        return self + -_check_number(other, "sub: operand")

    def __rsub__(self, other: Number) -> Value:
        return _apply(_ADD, _const(other, "sub"), -self, type(self))

    def __truediv__(self, other: Operand) -> Value:
        """a / b, its own op: correctly rounded, ∂/∂a = 1/b, ∂/∂b = −(a/b)/b."""
        return _apply(_DIV, self, _const(other, "div"), type(self))

    def __rtruediv__(self, other: Number) -> Value:
        if self._data == 0.0:
            raise ZeroDivisionError(f"div: division by zero ({other!r} / 0.0)")
        return _apply(_DIV, _const(other, "div"), self, type(self))

    def __pow__(self, other: Operand) -> Value:
        """aᵇ. A number exponent is a constant (``x ** 2``); a ``Value`` exponent is
        differentiated too (∂/∂b = aᵇ·ln a, defined for a > 0)."""
        if isinstance(other, Value):
            return _apply(_POW, self, other, type(self))
        return _apply(_POWC, self, _const(other, "pow"), type(self))

    def __rpow__(self, other: Number) -> Value:
        """``2 ** x``: a constant base, a ``Value`` exponent."""
        return _apply(_POW, _const(other, "pow"), self, type(self))

    # -- comparisons (on data; not in the graph, but reported to a tracing compiler) -------
    def __lt__(self, other: Operand) -> bool:
        return _compare(self, other, "<", operator.lt)

    def __le__(self, other: Operand) -> bool:
        return _compare(self, other, "<=", operator.le)

    def __gt__(self, other: Operand) -> bool:
        return _compare(self, other, ">", operator.gt)

    def __ge__(self, other: Operand) -> bool:
        return _compare(self, other, ">=", operator.ge)

    __hash__ = object.__hash__

    # -- functions -------------------------------------------------------------------
    def exp(self) -> Value:
        """eˣ; exp'(x) = eˣ. Raises ``OverflowError`` past x ≈ 709.78."""
        return _apply(ops.EXP, self, None, type(self))

    def log(self) -> Value:
        """ln x for x > 0; log'(x) = 1/x."""
        return _apply(ops.LOG, self, None, type(self))

    def tanh(self) -> Value:
        """tanh x; tanh'(x) = 1 − tanh²x (evaluated without cancellation for large |x|)."""
        return _apply(_TANH, self, None, type(self))

    def sqrt(self) -> Value:
        """√x for x ≥ 0; sqrt'(x) = 1/(2√x), infinite at x = 0 (a gradient through √0 is an
        ``OverflowError``)."""
        return _apply(ops.SQRT, self, None, type(self))

    def sin(self) -> Value:
        """sin x (x in radians); sin'(x) = cos x."""
        return _apply(ops.SIN, self, None, type(self))

    def cos(self) -> Value:
        """cos x (x in radians); cos'(x) = −sin x."""
        return _apply(ops.COS, self, None, type(self))

    def sigmoid(self) -> Value:
        """σ(x) = 1/(1 + e⁻ˣ), stable for any finite x; σ'(x) = σ(x)σ(−x)."""
        return _apply(ops.SIGMOID, self, None, type(self))

    def relu(self) -> Value:
        """max(0, x); relu'(x) = 1 if x > 0 else 0 (0 at x = 0, as in PyTorch)."""
        return _apply(_RELU, self, None, type(self))

    def softplus(self) -> Value:
        """log(1 + eˣ), stable for any finite x (softplus(1000) = 1000); softplus' = σ."""
        return _apply(ops.SOFTPLUS, self, None, type(self))

    def leaky_relu(self, slope: float = 0.01) -> Value:
        """x if x > 0 else slope·x; derivative 1 or slope (slope at x = 0, as in PyTorch)."""
        s = _check_number(slope, "leaky_relu: slope")  # a number, never a Value
        return _apply(ops.LEAKY_RELU, self, _node(_CONST, s, None, None, _Constant),
                      type(self))

    # -- gradients -------------------------------------------------------------------
    def backward(self, gradient: float = 1.0) -> None:
        """Fill ``.grad`` of every node this one depends on with ∂self/∂node.

        Semantics (as PyTorch's ``.grad``): leaves *accumulate* — a second ``backward()``
        adds to their ``grad``, so zero them between training steps (``zero_grad``).
        Interior nodes are reset first and hold the gradient of the latest call only.
        ``gradient`` seeds ∂L/∂self (1.0 by default).

        Never a wrong number: each ``grad`` is the float nearest the exact derivative (of
        the float computation) up to the rounding of the products and sums that make it.
        Underflow costs any node's gradient at most 8·2⁻¹⁰⁷⁴: where a product upstream ×
        local fell below 2⁻¹⁰²² (1e-30·1e-300 = 1e-330 in ``(x / 1e-300) * 1e-300 * 1e-30``)
        and a later local derivative would magnify what it lost, the pass is rerun exactly
        as :func:`microgrid.grad` runs it, from a scaled seed. A gradient whose true value
        is itself below the float range reads as its rounding (0.0 or a subnormal).

        A gradient that is not a finite float (a local derivative that is infinite, as
        ∂√a/∂a at a = 0, or a product that overflows), or gradients no float scaling can
        hold at once, raise ``OverflowError`` naming the node; the leaves' ``grad`` are then
        as they were before the call and interior nodes' 0.0. Calls in several threads on
        graphs that share nodes are run one after the other (a process-wide lock).

        Local derivatives are read from the operands' current ``data``: change a
        parameter's ``data`` only after ``backward()`` (as an optimizer step does), then
        run the forward pass again; changing it in between mixes two states.
        """
        seed = _check_number(gradient, "backward: gradient")
        with traversal_lock:
            leaves: list[Value] = []
            order = post_order([self], leaves)  # interior grads reset on the way
            before = list(map(_grad_of, leaves))
            try:
                self._grad += seed
                if _propagate_into_grad(reversed(order)):  # a product fell below 2⁻¹⁰²²
                    grads = float_gradients(order, self, None, None, seed, "backward")
                    for node in order:
                        node._grad = grads.get(node, 0.0)
                    for node, g in zip(leaves, before):
                        node._grad = g + node._grad
                total = sum(map(_grad_of, leaves))
                if total - total != 0.0:
                    bad = next((n for n in leaves if n._grad - n._grad != 0.0), None)
                    if bad is not None:  # (finite grads whose sum overflows are fine)
                        raise _gradient_overflow(bad)
            except BaseException:  # refused: the leaves as they were, no inf left behind
                for node in order:
                    node._grad = 0.0
                for node, g in zip(leaves, before):
                    node._grad = g
                raise

    def zero_grad(self) -> None:
        """Set ``grad`` to 0.0 on this node and every node it depends on."""
        zero_grad(self)


class _Constant(Value):
    """A constant operand (``2`` in ``2 * x``): it receives no gradient, so its ``grad``
    stays 0.0 whatever finite number is written to it (the chain rule's fast path writes
    without asking)."""

    __slots__ = ()

    @property  # type: ignore[override]
    def grad(self) -> float:
        return 0.0

    @grad.setter
    def grad(self, value: Number) -> None:
        if type(value) is not float or value - value != 0.0:
            _check_number(value, _assigned(self, "grad"))  # checked as any Value's, not kept

    # what the chain rule's fast paths write (Value's slot _grad), likewise fixed at 0.0
    _grad = property(lambda self: 0.0, lambda self, value: None)  # type: ignore[assignment]


_grad_of = attrgetter("_grad")


def _gradient_overflow(node: Value) -> OverflowError:
    """The error for a node whose gradient is not a finite float."""
    return gradient_overflow("backward", node, node._grad)


def _propagate_into_grad(reverse_order: Iterable[Value]) -> bool:
    """The chain rule on floats: push each node's ``grad`` into its operands' ``grad``.

    :func:`microgrid.chain.contributions` (the reference) for every node, with the commonest
    ops written out, each a measured fast path: reading the table for add and mul made
    backward() 7–14 % slower on the benchmark's training steps, for wsum 20 %
    (benchmarks/bench.py, workloads a and b); for relu 23–40 % and tanh 22 % slower (CPU
    time of one backward() through ``MLP(2, [16, 16, 1])`` with that activation on 100
    points, a squared-error loss). tests/test_chain.py proves every written-out op equal to
    the reference, bit for bit, on random graphs.

    Returns whether a product upstream × local fell below 2⁻¹⁰²² (to a subnormal or to 0)
    with both factors nonzero, the products :func:`microgrid.chain.reverse_pass` counts:
    add and relu pass their upstream on exactly (local 1) and are not checked. Checking
    each product cost backward() 4–5 % more interpreter instructions on a 20,000-node
    add/mul chain and on the unfused MLP(2, [16, 16, 1]) step (callgrind); one check per
    node on data and upstream instead cost 7–12 %.
    """
    lo, hi = -TINY_NORMAL, TINY_NORMAL
    tiny = False
    for node in reverse_order:
        a = node._a
        if a is None:
            continue
        g = node._grad
        if g == 0.0:  # nothing flows back: no rule is evaluated ...
            if node._fn in _POWERS and a._data <= 0.0:
                contributions(node, g)  # ... but 0·∞ from a power at 0 raises (see chain)
            continue
        if g - g != 0.0:  # inf or nan
            raise _gradient_overflow(node)
        op = node._fn
        if op is _ADD:
            a._grad += g
            node._b._grad += g
        elif op is _MUL:
            b = node._b
            x = b._data
            y = a._data
            ca = g * x
            cb = g * y
            a._grad += ca
            b._grad += cb
            if (lo < ca < hi and x) or (lo < cb < hi and y):
                tiny = True
        elif op is _WSUM:
            # ops.WSUM's rule written out, in its order (all wᵢ, then all xᵢ, then b)
            n = len(a) >> 1
            ws, xs = a[:n], a[n:-1]
            for w, x in zip(ws, xs):
                d = x._data
                c = g * d
                w._grad += c
                if lo < c < hi and d:
                    tiny = True
            for w, x in zip(ws, xs):
                d = w._data
                c = g * d
                x._grad += c
                if lo < c < hi and d:
                    tiny = True
            a[-1]._grad += g
        elif op is _RELU:
            if a._data > 0.0:
                a._grad += g
        elif op is _TANH:
            d = _dtanh(a._data, node._data)
            c = g * d
            a._grad += c
            if lo < c < hi and d:
                tiny = True
        else:
            for _, p, d, c in contributions(node, g):
                p._grad += c
                if lo < c < hi and d:
                    tiny = True
    return tiny


def _roots(roots: Any, who: str) -> Value | list[Value]:
    """``roots`` checked: one Value or an iterable of Values."""
    if isinstance(roots, Value):
        return roots
    if isinstance(roots, (str, bytes)) or not isinstance(roots, Iterable):
        raise TypeError(f"{who}: roots must be a Value or an iterable of Values, "
                        f"got {type(roots).__name__}")
    nodes = list(roots)
    for i, r in enumerate(nodes):
        if not isinstance(r, Value):
            raise TypeError(f"{who}: roots[{i}] must be a Value, got {type(r).__name__}")
    return nodes


def zero_grad(roots: Value | Iterable[Value]) -> None:
    """Set ``grad`` to 0.0 on every node of the graph(s) below ``roots``."""
    with traversal_lock:
        for node in topological_order(_roots(roots, "zero_grad")):
            node._grad = 0.0


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
    datas = [p._data for p in args]
    data = ops.WSUM.forward(*datas)  # type: ignore[misc]
    if data - data != 0.0:
        raise _not_finite(ops.WSUM, *datas)
    cls = Value if isinstance(args[0], _Constant) else type(args[0])
    return _node(ops.WSUM, data, args, None, cls)
