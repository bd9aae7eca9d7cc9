"""``backward()``'s hand-written fast path is the chain-rule kernel, bit for bit.

``Value.backward`` writes the chain rule out by hand for the commonest ops (for speed);
:func:`microgrid.chain.contributions` is the one definition that ``_backward()``, ``grad``,
the stepper and compiled replay use. On random graphs over every op (Hypothesis), three
ways of computing the gradients must give exactly the same floats for every node:

1. ``out.backward()``;
2. seeding ``out.grad = 1`` and calling ``node._backward()`` (the kernel, one step) on each
   node in reverse topological order, the manual walk of the lecture notes;
3. ``grad(out, nodes)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from graphs import ORDINARY, RAW_BINARY, RAW_UNARY, SIMPLE, WIDE
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from microgrid import Value, grad, topological_order, wsum, zero_grad

UNARY, BINARY = RAW_UNARY, RAW_BINARY  # every op of the table as it is (tests/graphs.py)

values = st.one_of(ORDINARY, st.sampled_from(SIMPLE), WIDE)

Step = tuple[str, int, int, float]  # op, operand refs (k-th most recent node), a constant

steps = st.tuples(st.sampled_from([*UNARY, *BINARY, "wsum", "rconst", "const"]),
                  st.integers(0, 6), st.integers(0, 6), values)


def build(inputs: list[float], plan: list[Step]) -> tuple[list[Value], Value]:
    """Leaves and the last node made by ``plan`` (steps whose forward fails are skipped)."""
    leaves = [Value(x, f"x{i}") for i, x in enumerate(inputs)]
    nodes: list[Value] = list(leaves)
    for op, i, j, c in plan:
        a, b = nodes[-1 - i % len(nodes)], nodes[-1 - j % len(nodes)]
        try:
            if op in UNARY:
                node = UNARY[op](a)
            elif op in BINARY:
                node = BINARY[op](a, b)
            elif op == "const":  # a plain number on the right: a constant operand
                node = BINARY[("add", "sub", "mul", "div")[i % 4]](a, c)
            elif op == "rconst":  # on the left
                node = BINARY[("add", "sub", "mul", "div", "pow")[j % 5]](c, a)
            else:
                node = wsum([a, b, a], [b, a, c], b)  # fan-out inside one node
        except (OverflowError, ValueError, ZeroDivisionError):
            continue
        nodes.append(node)
    return leaves, nodes[-1]


def same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


@settings(max_examples=200, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(values, min_size=1, max_size=3), st.lists(steps, min_size=1, max_size=12))
def test_backward_equals_the_kernel_node_by_node_and_grad(inputs: list[float],
                                                          plan: list[Step]) -> None:
    _, out = build(inputs, plan)
    order = topological_order(out)
    try:
        out.backward()
    except (OverflowError, ValueError) as err:  # named errors, compared below
        fast_error: Exception | None = err
    else:
        fast_error = None
    fast = [n.grad for n in order]

    zero_grad(out)
    out.grad = 1.0
    try:
        for node in reversed(order):
            node._backward()
    except (OverflowError, ValueError) as err:
        # where the kernel refuses, backward() refuses too, with the same rule's error
        assert fast_error is not None, err
        assert (type(err), str(err)) == (type(fast_error), str(fast_error))
        return
    kernel = [n.grad for n in order]
    if fast_error is not None:
        # backward() checks finiteness after the walk; the bare kernel leaves inf or nan
        assert isinstance(fast_error, OverflowError), fast_error
        assert not all(map(math.isfinite, kernel)) or str(fast_error) == (
            "backward: a gradient is not finite"), fast_error
        return
    assert all(map(same, fast, kernel)), [
        (n, f, k) for n, f, k in zip(order, fast, kernel) if not same(f, k)]
    by_grad = grad(out, order)
    assert all(map(same, fast, by_grad)), [
        (n, f, g) for n, f, g in zip(order, fast, by_grad) if not same(f, g)]


SPECIAL = (0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 0.1, 0.7, 3.0, 1e-310, -1e-300, 40.0, -40.0,
           1e300)


def three_ways(out: Value) -> tuple[list[float], list[float], list[float]] | None:
    """Gradients of every node by backward(), by the kernel node by node, and by grad()."""
    order = topological_order(out)
    try:
        out.backward()
    except (OverflowError, ValueError):
        return None
    fast = [n.grad for n in order]
    zero_grad(out)
    out.grad = 1.0
    for node in reversed(order):  # backward() succeeded, so no rule of the kernel refuses
        node._backward()
    return fast, [n.grad for n in order], list(grad(out, order))


def test_every_op_at_kinks_zeros_and_extremes() -> None:
    checked = 0
    for a_ in SPECIAL:
        for b_ in SPECIAL:
            cases: list[Callable[[Value, Value], Value]] = [
                *(lambda a, b, f=f: f(a) * b for f in UNARY.values()),  # upstream b
                *BINARY.values(),
                # a gets 4 distinct contributions, whose order shows in the rounding
                lambda a, b: wsum([a, 3.0], [b, a], a) * a,
                lambda a, b: wsum([a], [2.0], b) * b,
            ]
            for case in cases:
                a, b = Value(a_), Value(b_)
                try:
                    out = case(a, b)
                except (OverflowError, ValueError, ZeroDivisionError):
                    continue
                got = three_ways(out)
                if got is None:
                    continue
                fast, kernel, by_grad = got
                assert all(map(same, fast, kernel)), (a_, b_, fast, kernel)
                assert all(map(same, fast, by_grad)), (a_, b_, fast, by_grad)
                checked += 1
    assert checked > 1500
