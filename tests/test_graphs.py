"""The shared random-graph tables (tests/graphs.py) reach every op of the table."""

from __future__ import annotations

import math
from collections.abc import Mapping

import pytest
from graphs import (
    ONE_OPERAND_OPS,
    OP_NAMES,
    RAW_BINARY,
    RAW_UNARY,
    SMOOTH_BINARY,
    SMOOTH_UNARY,
    Binary,
    Unary,
    on_values,
    run_program,
)

from microgrid import Value, ops, topological_order

SMOOTH = on_values(SMOOTH_UNARY, SMOOTH_BINARY)
FAMILIES = {"raw": (RAW_UNARY, RAW_BINARY), "smooth": SMOOTH}


def ops_made(unary: Mapping[str, Unary], binary: Mapping[str, Binary], a: float = 0.7,
             b: float = 1.3) -> set[str]:
    made = [f(Value(a)) for f in unary.values()]
    made += [f(Value(a), Value(b)) for f in binary.values()]
    return {node.op.name for out in made for node in topological_order(out)}


def test_the_op_names_are_the_tables() -> None:
    assert set(OP_NAMES) == set(ops.OPS) - {"leaf", "const"}
    assert set(ONE_OPERAND_OPS) == {n for n, op in ops.OPS.items() if op.arity == 1}
    assert set(ONE_OPERAND_OPS) < set(OP_NAMES)


@pytest.mark.parametrize("family", FAMILIES)
def test_each_family_of_formulas_makes_every_op_of_the_table(family: str) -> None:
    # a new op in microgrid/ops.py fails here until tests/graphs.py draws it
    unary, binary = FAMILIES[family]
    missing = set(OP_NAMES) - ops_made(unary, binary)
    if family == "raw":
        missing -= {"wsum"}  # a variadic op: each test builds its own fan-out around it
    assert not missing, f"tests/graphs.py never makes {sorted(missing)} ({family})"


@pytest.mark.parametrize("a", [-3.0, -1.0, -1e-3, 0.0, 0.4, 3.0])
def test_smooth_formulas_stay_inside_their_domains_at_ordinary_numbers(a: float) -> None:
    unary, binary = SMOOTH
    for name, f in [*unary.items(), *binary.items()]:
        x, y = Value(a), Value(-a / 2 + 0.3)
        out = f(x) if name in unary else f(x, y)
        out.backward()
        assert math.isfinite(out.data) and math.isfinite(x.grad), (name, a)


def test_a_program_reads_earlier_nodes_modulo_their_number() -> None:
    x, y = Value(2.0), Value(3.0)
    made = run_program([("mul", 0, 1), ("neg", 5, 0), ("add", 2, 4)], [x, y],
                       RAW_UNARY, RAW_BINARY)
    # x·y; −(x·y), node 5 mod 3 = 2; (x·y) + x, nodes 2 and 4 mod 4 = 0
    assert [n.data for n in made] == [6.0, -6.0, 8.0]
