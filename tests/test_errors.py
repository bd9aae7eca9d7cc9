"""Bad input fails at once, with a message that names the op and the offending value."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

from microgrid import Value, grad


@pytest.mark.parametrize("bad", ["1.0", None, 1 + 2j, [1.0], (1.0,), {"x": 1}, object()])
def test_data_that_is_not_a_real_number_is_a_type_error(bad: object) -> None:
    with pytest.raises(TypeError, match="Value data must be a real number"):
        Value(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [True, False])
def test_bool_data_is_refused(bad: bool) -> None:
    with pytest.raises(TypeError, match="bool"):
        Value(bad)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_nan_and_inf_data_are_refused(bad: float) -> None:
    with pytest.raises(ValueError, match="must be finite"):
        Value(bad)


def test_other_real_number_types_are_accepted() -> None:
    assert Value(Fraction(1, 4)).data == 0.25
    assert Value(7).data == 7.0


def test_label_must_be_a_string() -> None:
    with pytest.raises(TypeError, match="label"):
        Value(1.0, label=3)  # type: ignore[arg-type]


@pytest.mark.parametrize("op", ["+", "-", "*", "/", "**"])
@pytest.mark.parametrize("bad", ["2", None, [1.0], 1j, True])
def test_operand_of_the_wrong_type_is_a_type_error(op: str, bad: object) -> None:
    x = Value(2.0)  # noqa: F841 (used by eval)
    with pytest.raises(TypeError, match="real number"):
        eval(f"x {op} bad")
    with pytest.raises(TypeError):
        eval(f"bad {op} x")


def test_non_finite_number_operand_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="mul: operand must be finite"):
        Value(1.0) * math.inf


def test_log_of_a_non_positive_number() -> None:
    for x in (0.0, -1.0):
        with pytest.raises(ValueError, match=rf"log: input must be > 0, got {x!r}"):
            Value(x).log()


def test_division_by_zero() -> None:
    with pytest.raises(ZeroDivisionError, match=r"div: division by zero \(1.0 / 0.0\)"):
        Value(1.0) / Value(0.0)
    with pytest.raises(ZeroDivisionError, match="div: division by zero"):
        Value(1.0) / 0
    with pytest.raises(ZeroDivisionError, match=r"div: division by zero \(3 / 0.0\)"):
        3 / Value(0.0)
    with pytest.raises(ZeroDivisionError, match=r"pow: 0.0 \*\* -2.0"):
        Value(0.0) ** -2


def test_negative_base_with_a_non_integer_exponent() -> None:
    with pytest.raises(ValueError, match=r"pow: .*non-integer exponent.*-8.0 \*\* 0.5"):
        Value(-8.0) ** 0.5
    with pytest.raises(ValueError, match="pow"):
        Value(-8.0) ** Value(1 / 3)


def test_derivative_in_the_exponent_is_undefined_for_a_negative_base() -> None:
    x, y = Value(-2.0), Value(2.0)
    f = x ** y
    assert f.data == 4.0
    with pytest.raises(ValueError, match=r"pow: ∂\(a \*\* b\)/∂b .* undefined for a = -2.0"):
        f.backward()


def test_exp_overflow_names_the_op_and_input() -> None:
    with pytest.raises(OverflowError, match=r"exp: exp\(710.0\) overflows"):
        Value(710.0).exp()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Value(1e200) * Value(1e200), r"mul: the result of mul\(1e\+200, 1e\+200\)"),
        (lambda: Value(1e308) + 1e308, r"add: the result of add"),
        (lambda: Value(10.0) ** 400, r"pow: 10.0 \*\* 400.0 overflows"),
        (lambda: Value(1e200).sigmoid() * 1e200 * 1e200, "mul"),
    ],
)
def test_results_that_are_not_finite_raise_overflow_error(make, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(OverflowError, match=message):
        make()


def test_leaky_relu_slope_must_be_a_number() -> None:
    with pytest.raises(TypeError, match="leaky_relu: slope"):
        Value(1.0).leaky_relu("0.1")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="leaky_relu: slope must be a real number"):
        Value(-1.0).leaky_relu(Value(0.1))  # type: ignore[arg-type]


def test_backward_seed_must_be_a_number() -> None:
    with pytest.raises(TypeError, match="backward: gradient"):
        Value(1.0).backward("1")  # type: ignore[arg-type]


def test_grad_rejects_non_values() -> None:
    x = Value(1.0)
    with pytest.raises(TypeError, match="grad: output must be a Value"):
        grad(1.0, [x])  # type: ignore[call-overload]
    with pytest.raises(TypeError, match=r"grad: inputs\[1\] must be a Value"):
        grad(x * 2, [x, 2.0])  # type: ignore[list-item]


@pytest.mark.parametrize("attr", ["data", "grad"])
@pytest.mark.parametrize(
    ("bad", "error", "message"),
    [("3", TypeError, "must be a real number"), (None, TypeError, "must be a real number"),
     (True, TypeError, "must be a real number .*got bool"),
     (1j, TypeError, "must be a real number"),
     (math.nan, ValueError, "must be finite, got nan"),
     (math.inf, ValueError, "must be finite, got inf"),
     (-math.inf, ValueError, "must be finite, got -inf"),
     (10 ** 400, OverflowError, "is too large for a float: an integer of 401 digits")],
    ids=["str", "None", "bool", "complex", "nan", "inf", "-inf", "10**400"],
)
def test_assigning_data_or_grad_that_is_not_a_finite_number_is_refused_naming_the_value(
        attr: str, bad: object, error: type[Exception], message: str) -> None:
    x = Value(2.0, "x")
    x.grad = 0.5
    with pytest.raises(error, match=rf"Value 'x': {attr} {message}"):
        setattr(x, attr, bad)
    assert (x.data, x.grad) == (2.0, 0.5)  # refused: the Value is as it was
    assert repr(x) == "Value(data=2.0, grad=0.5, label='x')"


def test_a_refused_assignment_names_an_unlabelled_value_by_its_repr() -> None:
    y = Value(2.0) * 3.0
    with pytest.raises(ValueError, match=r"Value\(data=6.0, grad=0.0\): data must be finite"):
        y.data = math.nan


def test_assigned_numbers_are_kept_as_floats_like_the_constructor() -> None:
    x = Value(1.0)
    x.data = 3
    x.grad = Fraction(1, 4)
    assert (type(x.data), x.data, type(x.grad), x.grad) == (float, 3.0, float, 0.25)
    (x * x).backward()
    assert x.grad == 0.25 + 2 * 3.0  # the leaf accumulated onto the assigned grad


def test_the_grad_of_a_constant_stays_zero_whatever_is_assigned() -> None:
    c = (Value(1.0) * 2.0).parents[1]
    assert c.is_constant
    c.grad = 5.0
    assert c.grad == 0.0
    with pytest.raises(ValueError, match="grad must be finite, got nan"):
        c.grad = math.nan  # checked as any Value's grad, though never kept
