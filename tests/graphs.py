"""Random expression graphs over the op table, shared by the property tests.

One place says how each op of :data:`microgrid.ops.OPS` is put into a random graph, so a
new op is added here once and every graph test draws it (``tests/test_graphs.py`` fails
while an op of the table is missing). Two families:

* **raw** (:data:`RAW_UNARY`, :data:`RAW_BINARY`): each op applied as it is, no domain
  protection, for tests whose graphs may raise (a log of a negative number, an overflow)
  and compare the errors too;
* **smooth** (:data:`SMOOTH_UNARY`, :data:`SMOOTH_BINARY`): each op kept inside its domain
  (``log(a² + ½)``, ``a / (b² + 1)``), for tests that compare numbers. They are written over
  a namespace ``F`` of the elementary functions, so one formula builds a graph of ``Value``
  nodes (:data:`VALUES`) or, in tests/test_sympy_oracle.py, the same SymPy expression.

A *program* is a list of instructions ``(op name, i, j)``; each applies the op to two
earlier nodes (``i``, ``j`` taken modulo the number of nodes so far), so graphs have fan-out
and shared subexpressions. Numbers come from a few named strategies of magnitudes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from hypothesis import strategies as st

from microgrid import Value, ops, wsum

# -- the op table ------------------------------------------------------------------------

#: every op of the table that computes something (leaves and constants aside)
OP_NAMES = tuple(name for name, op in ops.OPS.items() if op.arity != 0)
#: the table's ops of one operand, in table order
ONE_OPERAND_OPS = tuple(name for name, op in ops.OPS.items() if op.arity == 1)

# -- raw: every op as it is --------------------------------------------------------------

Unary = Callable[[Value], Value]
Binary = Callable[[Any, Any], Value]

RAW_UNARY: dict[str, Unary] = {
    "neg": lambda a: -a,
    "exp": Value.exp,
    "log": Value.log,
    "tanh": Value.tanh,
    "sigmoid": Value.sigmoid,
    "relu": Value.relu,
    "softplus": Value.softplus,
    "sqrt": Value.sqrt,
    "sin": Value.sin,
    "cos": Value.cos,
    "abs": abs,
    "leaky_relu": lambda a: a.leaky_relu(0.1),
    "square": lambda a: a ** 2,
    "cube": lambda a: a ** 3.0,
    "half_power": lambda a: a ** 0.5,
    "inverse": lambda a: a ** -1,
}
RAW_BINARY: dict[str, Binary] = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: a ** b,
}

# -- smooth: every op kept inside its domain, over a namespace of functions ---------------


class VALUES:  # a namespace, as microgrid.ops.FLOAT_FNS
    """The elementary functions of the smooth formulas, on ``Value`` nodes."""

    exp = staticmethod(Value.exp)
    log = staticmethod(Value.log)
    tanh = staticmethod(Value.tanh)
    sigmoid = staticmethod(Value.sigmoid)
    relu = staticmethod(Value.relu)
    softplus = staticmethod(Value.softplus)
    sqrt = staticmethod(Value.sqrt)
    sin = staticmethod(Value.sin)
    cos = staticmethod(Value.cos)

    @staticmethod
    def leaky_relu(a: Value, slope: float) -> Value:
        return a.leaky_relu(slope)

    @staticmethod
    def wsum(ws: list[Any], xs: list[Any], b: Any) -> Value:
        return wsum(ws, xs, b)


SmoothUnary = Callable[[Any, Any], Any]  # (F, a)
SmoothBinary = Callable[[Any, Any, Any], Any]  # (F, a, b)

SMOOTH_UNARY: dict[str, SmoothUnary] = {
    "neg": lambda F, a: -a,
    "exp": lambda F, a: F.exp(a * 0.3),
    "log": lambda F, a: F.log(a * a + 0.5),
    "tanh": lambda F, a: F.tanh(a),
    "sigmoid": lambda F, a: F.sigmoid(a),
    "relu": lambda F, a: F.relu(a),
    "softplus": lambda F, a: F.softplus(a),
    "sqrt": lambda F, a: F.sqrt(a * a + 0.5),
    "sin": lambda F, a: F.sin(a),
    "cos": lambda F, a: F.cos(a),
    "leaky_relu": lambda F, a: F.leaky_relu(a, 0.1),
    "abs": lambda F, a: abs(a),
    "square": lambda F, a: a ** 2,
    "cube": lambda F, a: a ** 3,
    "inverse": lambda F, a: (a * a + 1.0) ** -1,
    "half_power": lambda F, a: (a * a + 0.25) ** 0.5,
    "const": lambda F, a: 1.5 * a - 0.25,
}
SMOOTH_BINARY: dict[str, SmoothBinary] = {
    "add": lambda F, a, b: a + b,
    "sub": lambda F, a, b: a - b,
    "mul": lambda F, a, b: a * b,
    "div": lambda F, a, b: a / (b * b + 1.0),
    "pow": lambda F, a, b: (a * a + 0.5) ** F.tanh(b),
    "wsum": lambda F, a, b: F.wsum([a, b], [b, 0.5], a),
}


def on_values(unary: Mapping[str, SmoothUnary], binary: Mapping[str, SmoothBinary]
              ) -> tuple[dict[str, Unary], dict[str, Binary]]:
    """The smooth formulas as functions of ``Value`` nodes."""
    return ({n: (lambda a, f=f: f(VALUES, a)) for n, f in unary.items()},
            {n: (lambda a, b, f=f: f(VALUES, a, b)) for n, f in binary.items()})


# -- programs ----------------------------------------------------------------------------

Instruction = tuple[str, int, int]


def instructions(names: Sequence[str]) -> st.SearchStrategy[Instruction]:
    """One instruction: an op name and the two earlier nodes it reads."""
    return st.tuples(st.sampled_from(sorted(names)), st.integers(0, 10**6),
                     st.integers(0, 10**6))


def run_program(program: Sequence[Instruction], leaves: Sequence[Value],
        unary: Mapping[str, Unary], binary: Mapping[str, Binary]) -> list[Value]:
    """The nodes the program makes, in order (a unary op reads the first operand)."""
    nodes = list(leaves)
    for name, i, j in program:
        a, b = nodes[i % len(nodes)], nodes[j % len(nodes)]
        nodes.append(unary[name](a) if name in unary else binary[name](a, b))
    return nodes[len(leaves):]


# -- magnitudes --------------------------------------------------------------------------

#: ordinary numbers, where every smooth formula is well inside its domain
ORDINARY = st.floats(-3.0, 3.0)
#: zeros of both signs, ones, and the numbers where rules change
SIMPLE = (0.0, -0.0, 1.0, -1.0, 0.5, 2.0)
#: every finite float up to 1e300 in size
WIDE = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e300, max_value=1e300)
#: the edges of the ops' domains and of the float range: exp overflows past 709.78,
#: underflows below −745; 1e±160 squared leaves the range
EXTREMES = (0.0, 1.0, -1.0, 0.5, 1e-300, -1e-300, 1e-160, 1e160, -1e160, 1e300, 700.0,
            710.0, -745.0, 40.0)
