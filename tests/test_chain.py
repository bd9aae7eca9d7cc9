"""``backward()``'s hand-written fast path is the chain-rule kernel, bit for bit.

``Value.backward`` writes the chain rule out by hand for the commonest ops (for speed);
:func:`microgrid.chain.contributions` is the one definition that ``_backward()``, ``grad``,
the stepper and compiled replay use. On random graphs over every op (Hypothesis), three
ways of computing the gradients must give exactly the same floats for every node:

1. ``out.backward()``;
2. seeding ``out.grad = 1`` and calling ``node._backward()`` (the kernel, one step) on each
   node in reverse topological order, the manual walk of the lecture notes;
3. ``grad(out, nodes)``.

The compiled python replay writes the chain rule out as code: on the same random graphs its
gradients are the kernel's, bit for bit. A node with its own rule (micrograd's
``Value(data, _children, _op)`` with an assigned ``_backward``) goes through the engine's own
``backward()``. Lastly, the rules' three namespaces offer the same functions.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
from graphs import ORDINARY, RAW_BINARY, RAW_UNARY, SIMPLE, WIDE
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from microgrid import Value, grad, topological_order, wsum, zero_grad
from microgrid.compile import NotFinite, replayer, trace
from microgrid.micrograd import Value as MicrogradValue
from microgrid.namespaces import FLOAT_FNS, VALUE_FNS

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


def kernel_grads(out: Value) -> list[Value]:
    """The reference: ``out.grad = 1``, then ``node._backward()`` node by node in reverse
    topological order (raises where a rule refuses). Returns the order."""
    order = topological_order(out)
    zero_grad(out)
    out.grad = 1.0
    for node in reversed(order):
        node._backward()
    return order


@settings(max_examples=150, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(values, min_size=1, max_size=3), st.lists(steps, min_size=1, max_size=12))
def test_the_compiled_python_replay_equals_the_kernel_on_random_graphs(
        inputs: list[float], plan: list[Step]) -> None:
    leaves, out = build(inputs, plan)
    replay = replayer(trace(out, leaves), "python")
    try:
        order = kernel_grads(out)
    except (OverflowError, ValueError) as err:
        with pytest.raises((type(err), NotFinite)):
            replay([x.data for x in leaves], [])
        return
    grads = [n.grad for n in order]
    try:
        outs, compiled = replay([x.data for x in leaves], [])
    except NotFinite:
        # the replay refuses a non-finite gradient (or a sum of them that overflows, which
        # the compiled step then re-runs eagerly); the kernel has one
        assert not all(map(math.isfinite, grads)) or math.isinf(sum(map(abs, grads)))
        return
    assert outs == [out.data]
    kernel = [x.grad for x in leaves]
    assert all(map(same, compiled, kernel)), (compiled, kernel)


def test_backward_walks_a_node_with_its_own_rule_as_it_walks_the_op_tables() -> None:
    # f = tanh(u²) with u = a·b made by hand, micrograd style: ∂f/∂a = (1 − tanh²u²)·2u·b
    a, b = MicrogradValue(0.7), MicrogradValue(-0.4)
    u = MicrogradValue(a.data * b.data, (a, b), "times")

    def rule() -> None:
        a.grad += b.data * u.grad
        b.grad += a.data * u.grad

    u._backward = rule
    f = (u * u).tanh()
    Value.backward(f)  # the engine's own walk, not the compatibility layer's
    a2, b2 = Value(0.7), Value(-0.4)
    f2 = ((a2 * b2) * (a2 * b2)).tanh()
    f2.backward()
    assert (a.grad, b.grad) == (a2.grad, b2.grad)
    t, w = math.tanh((0.7 * -0.4) ** 2), 0.7 * -0.4
    assert a.grad == pytest.approx((1 - t * t) * 2 * w * -0.4, rel=1e-15)
    assert b.grad == pytest.approx((1 - t * t) * 2 * w * 0.7, rel=1e-15)
    u.grad = 5.0
    Value.backward(f)  # interior nodes are reset, leaves accumulate
    assert u.grad == pytest.approx(2 * w * (1 - t * t), rel=1e-15)
    assert a.grad == 2 * a2.grad


def test_the_three_namespaces_of_the_rules_offer_the_same_functions() -> None:
    np = pytest.importorskip("numpy")
    from microgrid.namespaces.arrays import NUMPY_FNS

    def names(F: object) -> set[str]:
        return {n for n in dir(F) if not n.startswith("_")}

    assert names(FLOAT_FNS) == names(VALUE_FNS) == names(NUMPY_FNS)
    assert (FLOAT_FNS.graph, VALUE_FNS.graph, NUMPY_FNS.graph) == (False, True, False)
    assert np.isnan(NUMPY_FNS.dpow_exponent(np.float64(-1.0), 0.5, 1.0))


def test_every_op_backward_writes_out_is_among_the_ops_these_tests_build() -> None:
    import ast
    import inspect

    from microgrid import engine

    tree = ast.parse(inspect.getsource(engine._propagate_into_grad))
    written = {getattr(engine, c.comparators[0].id) for c in ast.walk(tree)
               if isinstance(c, ast.Compare) and isinstance(c.ops[0], ast.Is)
               and isinstance(c.left, ast.Name) and c.left.id == "op"}
    a, b = Value(0.3), Value(-0.6)
    built = {f(a).op for f in UNARY.values()} | {f(a, b).op for f in BINARY.values()}
    built |= {wsum([a, b, a], [b, a, 2.0], b).op}
    assert len(written) >= 5 and written <= built, written - built
