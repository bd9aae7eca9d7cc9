"""Value construction, operators, structure and the semantics of backward()."""

from __future__ import annotations

import gc
import math
import operator
import random
import sys
from collections.abc import Callable
from fractions import Fraction

import numpy as np
import pytest

from microgrid import Value, ops, topological_order, zero_grad


def slide() -> tuple[Value, Value, Value, Value, Value]:
    x, y, z = Value(-2.0, "x"), Value(5.0, "y"), Value(-4.0, "z")
    q = x + y
    f = q * z
    return x, y, z, q, f


def test_the_slide_f_equals_x_plus_y_times_z() -> None:
    x, y, z, q, f = slide()
    f.backward()
    assert f.data == -12.0
    assert q.data == 3.0
    assert (x.grad, y.grad, z.grad) == (-4.0, -4.0, 3.0)
    assert q.grad == -4.0
    assert f.grad == 1.0


def test_value_holds_a_float_and_starts_with_zero_grad() -> None:
    v = Value(3, "v")
    assert type(v.data) is float and v.data == 3.0
    assert v.grad == 0.0
    assert v.label == "v"
    assert v.is_leaf and not v.is_constant
    assert v.op is ops.LEAF
    assert v.parents == ()


def test_parents_are_an_ordered_tuple_with_a_slot_per_operand() -> None:
    a, b = Value(2.0), Value(3.0)
    assert (a + a).parents == (a, a)
    assert (a * b).parents == (a, b)
    assert (b * a).parents == (b, a)
    assert (a * b).op is ops.MUL
    assert a.exp().parents == (a,)


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        (lambda x: 2 * x, 6.0), (lambda x: x * 2, 6.0), (lambda x: x + 1, 4.0),
        (lambda x: 1 + x, 4.0), (lambda x: x - 1, 2.0), (lambda x: 1 - x, -2.0),
        (lambda x: x / 3, 1.0), (lambda x: 3 / x, 1.0), (lambda x: -x, -3.0),
        (lambda x: x ** 2, 9.0), (lambda x: 2 ** x, 8.0), (lambda x: x ** Value(2.0), 9.0),
        (lambda x: +x, 3.0),
    ],
)
def test_operators_accept_numbers_on_either_side(expr, expected) -> None:  # type: ignore[no-untyped-def]
    assert expr(Value(3.0)).data == pytest.approx(expected, rel=1e-15)


def test_constants_are_marked() -> None:
    x = Value(3.0)
    y = 2 * x
    c = y.parents[0]
    assert c.is_constant and c.is_leaf and c.data == 2.0
    assert not x.is_constant


def test_repr_shows_data_grad_and_label() -> None:
    v = Value(1.5, "w")
    v.grad = -0.25
    assert repr(v) == "Value(data=1.5, grad=-0.25, label='w')"
    assert repr(Value(2.0)) == "Value(data=2.0, grad=0.0)"


def test_repr_prints_data_and_grad_as_python_prints_a_float() -> None:
    a = Value(0.1) + 0.2
    assert repr(a) == "Value(data=0.30000000000000004, grad=0.0)"
    x = Value(0.427678123456789, "a")
    (x * 1.1).backward()
    assert repr(x) == f"Value(data=0.427678123456789, grad={1.1!r}, label='a')"
    for number in (1e-300, -123456789.123456789, 2.0 ** 70, 5e-324):
        v = Value(number)
        v.grad = number / 3
        text = repr(v)
        assert text == f"Value(data={number!r}, grad={number / 3!r})"
        data, grad = (float(part.split("=")[1]) for part in text[6:-1].split(", "))
        assert (data, grad) == (number, number / 3)  # it reads back exactly


def test_comparisons_use_data_and_equality_is_identity() -> None:
    a, b = Value(1.0), Value(2.0)
    assert a < b and a <= b and b > a and b >= a and a < 1.5 and b >= 2
    assert max([a, b]) is b
    assert Value(1.0) != Value(1.0)
    assert len({a, b, a}) == 2
    assert b.item() == 2.0 and f"{b:.3f}" == "2.000"


COMPARISONS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def _numbers_near_floats(rng: random.Random) -> list[tuple[float, object]]:
    """(float, number) pairs where rounding the number to a float changes a comparison:
    integers past 2⁵³, fractions between adjacent floats, integers past the float range."""
    pairs: list[tuple[float, object]] = []
    for _ in range(200):
        n = rng.randrange(2 ** 53, 2 ** 64) * rng.choice([1, -1])
        x = float(n)
        pairs += [(x, n), (x, n + 1), (x, n - 1), (math.nextafter(x, math.inf), n)]
        q = Fraction(rng.randrange(1, 10 ** 6), rng.randrange(1, 10 ** 6))
        pairs += [(float(q), q), (math.nextafter(float(q), -math.inf), q)]
    big = 10 ** 400
    pairs += [(1.0, big), (-1.0, -big), (1.7976931348623157e308, big), (0.0, -big),
              (9007199254740992.0, 9007199254740993), (1 / 3, Fraction(1, 3)),
              (2.0, np.int64(2 ** 62 + 1)), (2.0 ** 62, np.int64(2 ** 62 + 1)),
              (0.1, np.float32(0.1)), (0.5, Fraction(1, 2)), (3.0, 3)]
    return pairs


def _exactly(number: object) -> Fraction:
    """The number as an exact fraction (numpy's float32 and float64 convert to float
    exactly)."""
    if isinstance(number, np.integer):
        return Fraction(int(number))
    if isinstance(number, np.floating):
        return Fraction(float(number))
    return Fraction(number)  # type: ignore[arg-type]


def test_comparisons_with_a_number_are_exact_as_pythons_float_comparisons() -> None:
    assert Value(9007199254740992.0) < 9007199254740993
    assert Value(1 / 3) < Fraction(1, 3)
    assert Value(1.0) < 10 ** 400 and Value(-1.0) > -(10 ** 400)
    for x, number in _numbers_near_floats(random.Random(5)):
        exact = Fraction(x), _exactly(number)
        for symbol, compare in COMPARISONS.items():
            got = compare(Value(x), number)
            assert type(got) is bool
            assert got == compare(*exact), (x, symbol, number)


@pytest.mark.parametrize("bad", [True, "1", None, 1j])
def test_a_value_is_compared_only_with_a_number_or_a_value(bad: object) -> None:
    for compare in COMPARISONS.values():
        with pytest.raises(TypeError, match="compares a Value with a number or a Value"):
            compare(Value(1.0), bad)


def test_the_float_comparison_of_a_number_holds_for_the_same_floats() -> None:
    from microgrid.engine import float_comparison

    for x, number in _numbers_near_floats(random.Random(6)):
        for symbol, compare in COMPARISONS.items():
            cmp, bound = float_comparison(symbol, number)
            assert type(bound) is float
            for y in (x, math.nextafter(x, math.inf), math.nextafter(x, -math.inf), bound):
                if math.isfinite(y):
                    assert COMPARISONS[cmp](y, bound) == compare(Value(y), number), \
                        (y, symbol, number)


@pytest.mark.parametrize("backend", ["python", "numpy"])
@pytest.mark.parametrize(
    ("number", "inside", "outside"),
    [(9007199254740993, 9007199254740992.0, 9007199254740994.0),
     (Fraction(1, 3), 1 / 3, math.nextafter(1 / 3, math.inf)),
     (10 ** 400, 1e308, None), (-(10 ** 400), None, -1e308), (math.inf, 1e308, None)],
    ids=["2**53+1", "1/3", "10**400", "-10**400", "inf"],
)
def test_a_compiled_step_rechecks_a_comparison_exactly_as_eager_mode_compares(
        backend: str, number: object, inside: float | None, outside: float | None) -> None:
    from microgrid.compile import GraphChanged, compile_step

    w = Value(1.0)

    def fn(x: list[Value]) -> Value:
        return w * 2.0 if x[0] < number else w * 3.0
    for start, later in ((inside, outside), (outside, inside)):
        if start is None:
            continue
        step = compile_step(fn, [w], backend=backend, on_change="error")
        expected = 2.0 if start < number else 3.0  # type: ignore[operator]
        assert step([start]) == expected
        assert step([start]) == expected  # replayed: the guard holds
        if later is not None:
            with pytest.raises(GraphChanged, match="compared"):
                step([later])


@pytest.mark.parametrize(
    ("use", "message"),
    [(float, "is not a float: float"), (math.exp, "is not a float: float"),
     (math.log, "is not a float"), (math.tanh, "is not a float"),
     (math.sqrt, "is not a float"), (math.isfinite, "is not a float"),
     (complex, "is not a float"), (lambda v: "%.3f" % v, "is not a float"),  # noqa: UP031
     (int, r"is not an integer: int\(x\)"), (round, r"is not an integer: round\(x\)"),
     (lambda v: round(v, 2), "is not an integer: round"),
     (operator.index, "is not an integer: an index"),
     (lambda v: range(v), "is not an integer: an index"),
     (lambda v: [1.0, 2.0][v], "is not an integer: an index"),
     (math.floor, "is not an integer: math.trunc"),
     (math.ceil, "is not an integer"), (math.trunc, "is not an integer")],
    ids=["float", "math.exp", "math.log", "math.tanh", "math.sqrt", "math.isfinite",
         "complex", "%-format", "int", "round", "round-2", "operator.index", "range",
         "list-index", "math.floor", "math.ceil", "math.trunc"],
)
def test_a_value_used_as_a_plain_number_is_refused_naming_it_and_the_fix(
        use: Callable[[Value], object], message: str) -> None:
    x = Value(1.0, "x")
    with pytest.raises(TypeError, match=f"Value 'x' {message}") as caught:
        use(x)
    assert "x.data" in str(caught.value)
    if "float" in message:
        assert "x.exp()" in str(caught.value)


def test_math_on_a_value_no_longer_drops_it_out_of_the_graph() -> None:
    x = Value(1.0)
    with pytest.raises(TypeError, match="is not a float"):
        math.exp(x) * x  # type: ignore[call-overload]  # was 2.718 * x: ∂/∂x 2.718, not 2e
    y = x.exp() * x
    y.backward()
    h = 1e-6
    assert x.grad == pytest.approx((math.exp(1 + h) * (1 + h) - math.exp(1 - h) * (1 - h))
                                   / (2 * h), rel=1e-8)  # 2e, by central differences


def test_gradcheck_takes_values_as_its_inputs_as_it_takes_numbers() -> None:
    from microgrid import gradcheck

    assert gradcheck(lambda a, b: (a * b).tanh() + a.exp(), [Value(0.3), Value(-1.2)])
    assert gradcheck(lambda a, b: (a * b).tanh() + a.exp(), [0.3, -1.2])
    with pytest.raises(TypeError, match="Value data must be a real number"):
        gradcheck(lambda a: a.exp(), ["0.3"])  # type: ignore[list-item]


def test_fan_out_accumulates_over_every_use() -> None:
    a = Value(3.0)
    f = a * a + a  # 2a + 1
    f.backward()
    assert a.grad == 7.0
    b = Value(-1.5)
    g = b + b  # the same node in both slots
    g.backward()
    assert b.grad == 2.0


def test_fan_out_through_shared_interior_node() -> None:
    x = Value(0.5)
    h = x.tanh()
    f = h * h + 3 * h  # df/dx = (2h + 3)(1 - h²)
    f.backward()
    t = math.tanh(0.5)
    assert x.grad == pytest.approx((2 * t + 3) * (1 - t * t), rel=1e-14)
    assert h.grad == pytest.approx(2 * t + 3, rel=1e-14)


def test_leaves_accumulate_across_backward_calls() -> None:
    x, y, z, _, f = slide()
    f.backward()
    f.backward()
    assert (x.grad, y.grad, z.grad) == (-8.0, -8.0, 6.0)


def test_interior_nodes_hold_the_latest_backward_never_doubled() -> None:
    *_, q, f = slide()
    f.backward()
    f.backward()
    assert q.grad == -4.0
    assert f.grad == 1.0


def test_leaves_accumulate_and_interior_nodes_reset_where_backward_reruns_for_underflow(
        ) -> None:
    # ∂f/∂x = 1e-30 goes through an upstream of 1e-330, which underflows: backward() reruns
    # the pass scaled; the leaves still add to what they held, interior nodes still reset
    x = Value(3.0)
    u = (x / 1e-300) * 1e-300
    f = u * 1e-30
    x.grad = 1e-30
    f.backward()
    assert x.grad == 2e-30 and u.grad == 1e-30
    f.backward()
    assert x.grad == 2e-30 + 1e-30 and u.grad == 1e-30 and f.grad == 1.0


def test_backward_from_an_interior_node_then_the_root() -> None:
    x, y, z, q, f = slide()
    q.backward()  # dq/dx = dq/dy = 1
    assert (x.grad, y.grad, q.grad) == (1.0, 1.0, 1.0)
    f.backward()
    assert (x.grad, y.grad, z.grad) == (-3.0, -3.0, 3.0)  # leaves: 1 + (-4)
    assert q.grad == -4.0


def test_backward_seed_gradient() -> None:
    x, y, z, _, f = slide()
    f.backward(0.5)
    assert (x.grad, y.grad, z.grad) == (-2.0, -2.0, 1.5)


def test_zero_grad_clears_every_node_of_the_graph() -> None:
    x, _, _, q, f = slide()
    f.backward()
    f.zero_grad()
    assert all(n.grad == 0.0 for n in topological_order(f))
    f.backward()
    zero_grad([f])
    assert (x.grad, q.grad, f.grad) == (0.0, 0.0, 0.0)


def test_topological_order_is_deterministic_and_operands_first() -> None:
    x, y, z, q, f = slide()
    order = topological_order(f)
    assert order == [x, y, q, z, f]
    assert topological_order(f) == order
    position = {n: i for i, n in enumerate(order)}
    for n in order:
        assert all(position[p] < position[n] for p in n.parents)


def test_topological_order_of_several_roots_lists_shared_nodes_once() -> None:
    a = Value(1.0)
    b = a * 2
    c = a + b
    order = topological_order([c, b])
    assert order.count(a) == 1 and order.count(b) == 1
    assert order.index(b) < order.index(c)


@pytest.mark.slow
def test_a_chain_one_million_nodes_deep_under_the_default_recursion_limit() -> None:
    limit = sys.getrecursionlimit()
    x = Value(0.5, "x")
    v = x
    for _ in range(1_000_000):
        v = v + x  # depth 1,000,000, and x fans out a million times
    v.backward()
    assert v.data == 0.5 * 1_000_001
    assert x.grad == 1_000_001.0
    assert sys.getrecursionlimit() == limit


def test_a_graph_is_freed_by_reference_counting_alone() -> None:
    gc.collect()
    gc.disable()
    try:
        x = Value(0.3)
        v = x
        for _ in range(2000):
            v = (v * x).tanh() + 1.0
        v.backward()
        del v
        unreachable = gc.collect()
    finally:
        gc.enable()
    assert unreachable == 0
    assert x.grad != 0.0


def test_extreme_inputs_stay_finite_and_correct() -> None:
    big = Value(1000.0)
    assert big.softplus().data == 1000.0
    assert Value(-1000.0).softplus().data == 0.0
    assert big.sigmoid().data == 1.0
    assert Value(-1000.0).sigmoid().data == 0.0
    assert big.tanh().data == 1.0 and Value(-1000.0).tanh().data == -1.0
    for x in (1000.0, -1000.0, 745.0, -745.0):
        for name in ("sigmoid", "tanh", "softplus"):
            v = Value(x)
            out = getattr(v, name)()
            out.backward()
            assert math.isfinite(out.data) and math.isfinite(v.grad)
    v = Value(1000.0)
    v.softplus().backward()
    assert v.grad == 1.0  # softplus' = σ(1000) = 1
    v = Value(-1000.0)
    v.softplus().backward()
    assert v.grad == 0.0
    assert Value(-30.0).sigmoid().data == pytest.approx(1 / (1 + math.exp(30)), rel=1e-15)
    assert Value(-745.0).exp().data >= 0.0


def test_relu_and_leaky_relu_derivative_at_zero_follow_pytorch() -> None:
    x = Value(0.0)
    x.relu().backward()
    assert x.grad == 0.0
    y = Value(0.0)
    y.leaky_relu(0.2).backward()
    assert y.grad == 0.2
    z = Value(-2.0)
    out = z.leaky_relu()
    out.backward()
    assert out.data == pytest.approx(-0.02) and z.grad == 0.01


def test_pow_with_a_value_exponent_and_a_number_base() -> None:
    x, y = Value(2.0), Value(3.0)
    f = x ** y
    f.backward()
    assert f.data == 8.0
    assert x.grad == 12.0  # y·x^(y−1)
    assert y.grad == pytest.approx(8.0 * math.log(2.0), rel=1e-15)
    t = Value(3.0)
    g = 2 ** t
    g.backward()
    assert t.grad == pytest.approx(8.0 * math.log(2.0), rel=1e-15)


def test_negative_base_with_an_integer_number_exponent() -> None:
    x = Value(-2.0)
    f = x ** 3
    f.backward()
    assert f.data == -8.0 and x.grad == 12.0


def test_zero_base_with_a_value_exponent() -> None:
    x, y = Value(0.0), Value(2.0)
    f = x ** y
    f.backward()
    assert f.data == 0.0 and x.grad == 0.0 and y.grad == 0.0


def test_local_grads_read_the_op_table_at_current_data() -> None:
    a, b = Value(3.0), Value(-2.0)
    assert (a * b).local_grads() == (-2.0, 3.0)
    assert (a + b).local_grads() == (1.0, 1.0)
    assert (a ** 2).local_grads() == (6.0, 0.0)  # the constant exponent's slot is 0
    t = a.tanh()
    # tanh'(3) = sech²(3) = 0.00986603716544019127… (mpmath); the table's stable form is
    # within one rounding of it, where 1 − tanh²(3) is off by 17 units in the last place.
    assert t.local_grads() == pytest.approx((0.0098660371654401912731,), rel=2e-16)
    assert a.local_grads() == ()
