"""The forward and backward steppers: formulas, local derivatives, and backward() replayed."""

from __future__ import annotations

import math
from collections.abc import Callable

from graphs import SMOOTH_BINARY, SMOOTH_UNARY, on_values
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from microgrid import Value, backward_steps, forward_steps, grads_after, topological_order, wsum
from microgrid.stepper import format_number, node_names


def slide() -> tuple[Value, ...]:
    x, y, z = Value(-2.0, "x"), Value(5.0, "y"), Value(-4.0, "z")
    q = x + y
    q.label = "q"
    f = q * z
    f.label = "f"
    return x, y, z, q, f


def test_forward_steps_follow_evaluation_order_with_formulas_filled_in() -> None:
    x, y, z, q, f = slide()
    steps = forward_steps(f)
    assert [s.node for s in steps] == [x, y, q, z, f]
    assert [s.value for s in steps] == [-2.0, 5.0, 3.0, -4.0, -12.0]
    assert (steps[2].formula, steps[2].expression) == ("x + y", "-2 + 5")
    assert str(steps[2]) == "[2] q = x + y = -2 + 5 = 3"
    assert str(steps[4]) == "[4] f = q · z = 3 · (-4) = -12"
    assert str(steps[0]) == "[0] x = -2   (leaf)"


def test_backward_steps_on_the_slide() -> None:
    x, y, z, q, f = slide()
    steps = backward_steps(f)
    assert [s.node for s in steps] == [f, q]
    seed, at_q = steps
    assert seed.upstream == 1.0
    assert [(c.parent, c.local, c.contribution, c.grad_after) for c in seed.contributions] == [
        (q, -4.0, -4.0, -4.0), (z, 3.0, 3.0, 3.0)]
    assert at_q.upstream == -4.0
    assert [(c.parent, c.local, c.contribution, c.grad_before, c.grad_after)
            for c in at_q.contributions] == [(x, 1.0, -4.0, 0.0, -4.0), (y, 1.0, -4.0, 0.0, -4.0)]
    assert grads_after(steps) == {f: 1.0, q: -4.0, z: 3.0, x: -4.0, y: -4.0}
    assert grads_after(steps, 0) == {f: 1.0, q: -4.0, z: 3.0}
    text = str(at_q)
    assert text.splitlines()[0] == "[1] q = x + y    ∂f/∂q = -4"
    assert "x: local ∂q/∂x = 1   contribution -4 × 1 = -4   ∂f/∂x: 0 → -4" in text
    assert "(the seed)" in str(seed)


def test_the_stepper_only_reads_the_graph() -> None:
    *_, f = slide()
    backward_steps(f)
    assert all(n.grad == 0.0 for n in topological_order(f))


def test_a_node_used_twice_accumulates_step_by_step() -> None:
    a = Value(3.0, "a")
    s = a * a
    (step,) = backward_steps(s)
    first, second = step.contributions
    assert (first.grad_before, first.grad_after) == (0.0, 3.0)
    assert (second.grad_before, second.grad_after) == (3.0, 6.0)


def test_constant_operands_are_marked_and_left_out_of_the_text() -> None:
    x = Value(2.0, "x")
    y = (x ** 3).leaky_relu(0.1) * 2
    y.label = "y"
    steps = backward_steps(y)
    cube = next(s for s in steps if s.node.op.name == "powc")
    exponent = cube.contributions[1]
    assert exponent.constant and exponent.local == 0.0
    assert cube.contributions[0].local == 12.0  # 3·x²
    assert all(s.node.op.name != "const" for s in steps)
    assert "∂y/∂2" not in str(steps[0]) and "∂y/∂v2" in str(steps[0])


def test_wsum_formula_spells_out_its_terms() -> None:
    w = [Value(0.5, "w0"), Value(-1.0, "w1")]
    xs = [Value(2.0, "x0"), Value(3.0, "x1")]
    n = wsum(w, xs, Value(0.25, "b"))
    n.label = "n"
    last = forward_steps(n)[-1]
    assert last.formula == "w0·x0 + w1·x1 + b"
    assert last.expression == "0.5·2 + (-1)·3 + 0.25"
    assert last.value == -1.75


def test_names_and_number_format() -> None:
    a = Value(1.0)
    v1 = Value(2.0, "v1")  # a label that an automatic name must not reuse
    c = a * 3 + v1
    names = node_names(topological_order(c))
    assert names[v1] == "v1" and names[a] == "v2"
    assert "3" in names.values()
    assert format_number(-0.0) == "0"
    assert format_number(2 / 3) == "0.6667"
    assert format_number(2 / 3, ".2f") == "0.67"
    assert format_number(2.0, lambda v: f"<{v}>") == "<2.0>"
    assert str(forward_steps(Value(2 / 3, "t"), fmt=".2f")[0]) == "[0] t = 0.67   (leaf)"


def test_a_leaf_root_is_one_seed_step() -> None:
    x = Value(4.0, "x")
    steps = backward_steps(x, gradient=2.5)
    assert len(steps) == 1 and steps[0].contributions == ()
    assert grads_after(steps) == {x: 2.5}


# -- random graphs: replaying every step gives exactly the grads of backward() -----------

# every op of the table, kept inside its domain (tests/graphs.py), and constants on the left
UNARY, BINARY = on_values(SMOOTH_UNARY, SMOOTH_BINARY)
WITH_CONSTANT: dict[str, Callable[[Value, float], Value]] = {
    "radd": lambda a, k: k + a, "rmul": lambda a, k: k * a}
NAMES = [*UNARY, *BINARY, *WITH_CONSTANT]


def _apply(name: str, a: Value, b: Value, k: float) -> Value:
    if name in WITH_CONSTANT:
        return WITH_CONSTANT[name](a, k)
    return UNARY[name](a) if name in UNARY else BINARY[name](a, b)


@st.composite
def random_graph(draw: st.DrawFn) -> Value:
    n_leaves = draw(st.integers(1, 4))
    nodes = [Value(draw(st.floats(-3, 3)), f"x{i}") for i in range(n_leaves)]
    for _ in range(draw(st.integers(1, 14))):
        pick = st.integers(0, len(nodes) - 1)
        a, b = nodes[draw(pick)], nodes[draw(pick)]
        k = draw(st.floats(-2, 2))
        if draw(st.booleans()) and len(nodes) >= 2:
            m = draw(st.integers(1, 3))
            ws = [nodes[draw(pick)] for _ in range(m)]
            xs = [nodes[draw(pick)] for _ in range(m)]
            node = wsum(ws, xs, nodes[draw(pick)])
        else:
            node = _apply(draw(st.sampled_from(NAMES)), a, b, k)
        nodes.append(node.tanh() if abs(node.data) > 50 else node)
    # the root sums a few of the nodes, so some are shared and some reached twice
    root = nodes[-1]
    for i in draw(st.lists(st.integers(0, len(nodes) - 1), max_size=3)):
        root = root + nodes[i]
    return root


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_graph(), st.floats(-3, 3))
def test_replaying_every_backward_step_gives_exactly_the_grads_of_backward(
        root: Value, seed: float) -> None:
    assume(all(math.isfinite(n.data) for n in topological_order(root)))
    steps = backward_steps(root, gradient=seed)
    replayed = grads_after(steps)
    root.backward(seed)
    order = topological_order(root)
    assert set(replayed) == set(order)
    for node in order:
        assert replayed[node] == node.grad, node  # exactly: the same sums in the same order
    # each step's upstream is the node's final gradient
    for step in steps:
        assert step.upstream == step.node.grad


def test_steps_through_an_underflowed_product_end_with_the_gradients_of_backward() -> None:
    """(x / 1e-300)·1e-300·1e-30: the upstream 1e-30 times the local 1e-300 underflows, and
    the next local 1/1e-300 would bring it back. backward() reruns from a scaled seed; the
    steps are computed the same way, so they show ∂/∂x = 1e-30, not 0."""
    x = Value(3.0, "x")
    root = (x / 1e-300) * 1e-300 * 1e-30
    steps = backward_steps(root)
    replayed = grads_after(steps)
    root.backward()
    assert x.grad == 1e-30
    assert replayed[x] == x.grad
    for node in topological_order(root):
        assert replayed[node] == node.grad, node
    for step in steps:
        assert step.upstream == step.node.grad
