"""Losses: values against the formulas, gradients against finite differences and SymPy,
stability at ±1000, and clear errors for bad input."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import sympy as sp

from microgrid import Value, grad, gradcheck, hessian, topological_order
from microgrid.losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    hinge_loss,
    l1_penalty,
    l2_penalty,
    log_softmax,
    mse,
    softmax,
    sum_squared_error,
)

YS = [0.3, -1.2, 2.5]
TS = [1.0, -1.0, 2.0]
PS = [0.2, 0.7, 0.95]
BTS = [0.0, 1.0, 0.3]


def test_sum_squared_error_is_half_the_sum_of_squares() -> None:
    expected = sum(0.5 * (t - y) ** 2 for y, t in zip(YS, TS))
    assert sum_squared_error(YS, TS).data == pytest.approx(expected, rel=1e-15)
    ys = [Value(y) for y in YS]
    sum_squared_error(ys, TS).backward()
    assert [y.grad for y in ys] == pytest.approx([-(t - y) for y, t in zip(YS, TS)])


def test_mse_is_the_mean_of_squares() -> None:
    expected = sum((y - t) ** 2 for y, t in zip(YS, TS)) / 3
    assert mse(YS, TS).data == pytest.approx(expected, rel=1e-15)
    ys = [Value(y) for y in YS]
    mse(ys, TS).backward()
    assert [y.grad for y in ys] == pytest.approx([2 * (y - t) / 3 for y, t in zip(YS, TS)])
    # the two forms differ by the factor 2/m
    assert mse(YS, TS).data == pytest.approx(2 * sum_squared_error(YS, TS).data / 3)


def test_a_bare_scalar_counts_as_one_prediction() -> None:
    assert mse(Value(3.0), 1.0).data == 4.0
    assert sum_squared_error(3.0, 1.0).data == 2.0


def test_binary_cross_entropy_values() -> None:
    expected = -sum(t * math.log(p) + (1 - t) * math.log(1 - p) for p, t in zip(PS, BTS)) / 3
    assert binary_cross_entropy(PS, BTS).data == pytest.approx(expected, rel=1e-14)


def test_bce_with_logits_equals_bce_of_the_sigmoid() -> None:
    zs = [-2.0, 0.5, 3.0]
    probs = [1 / (1 + math.exp(-z)) for z in zs]
    assert binary_cross_entropy_with_logits(zs, BTS).data == pytest.approx(
        binary_cross_entropy(probs, BTS).data, rel=1e-13)
    logits = [Value(z) for z in zs]
    binary_cross_entropy_with_logits(logits, BTS).backward()
    # ∂L/∂zᵢ = (σ(zᵢ) − tᵢ)/m
    assert [z.grad for z in logits] == pytest.approx(
        [(p - t) / 3 for p, t in zip(probs, BTS)], rel=1e-12)


def test_softmax_and_log_softmax_values() -> None:
    zs = [1.0, 2.0, 0.5, -1.0]
    total = sum(math.exp(z) for z in zs)
    assert [s.data for s in softmax(zs)] == pytest.approx([math.exp(z) / total for z in zs])
    assert [s.data for s in log_softmax(zs)] == pytest.approx(
        [z - math.log(total) for z in zs])
    assert sum(s.data for s in softmax(zs)) == pytest.approx(1.0, rel=1e-15)


def test_softmax_jacobian_is_diag_s_minus_s_s_transposed() -> None:
    zs = [Value(v) for v in (0.3, -0.4, 1.2)]
    s = softmax(zs)
    for i in range(3):
        row = grad(s[i], zs)
        for j in range(3):
            expected = s[i].data * ((1.0 if i == j else 0.0) - s[j].data)
            assert row[j] == pytest.approx(expected, abs=1e-15)


def test_cross_entropy_is_minus_log_softmax_of_the_target() -> None:
    zs = [2.0, 1.0, 0.1]
    total = sum(math.exp(z) for z in zs)
    for k in range(3):
        assert cross_entropy(zs, k).data == pytest.approx(-math.log(math.exp(zs[k]) / total))
    logits = [Value(z) for z in zs]
    cross_entropy(logits, 0).backward()
    # ∂L/∂zⱼ = softmax(z)ⱼ − [j = target]
    assert [z.grad for z in logits] == pytest.approx(
        [math.exp(z) / total - (j == 0) for j, z in enumerate(zs)])


def test_hinge_loss_is_micrograds_max_margin_loss() -> None:
    scores, labels = [0.5, -2.0, 1.5, -0.2], [1, -1, -1, 1]
    expected = sum(max(0.0, 1 - y * s) for s, y in zip(scores, labels)) / 4
    assert hinge_loss(scores, labels).data == pytest.approx(expected)
    assert hinge_loss(scores, labels, margin=0.0).data == pytest.approx(
        sum(max(0.0, -y * s) for s, y in zip(scores, labels)) / 4)


def test_penalties() -> None:
    ps = [Value(v) for v in (0.5, -2.0, 0.0)]
    assert l1_penalty(ps).data == 2.5
    assert l2_penalty(ps).data == 4.25
    l1_penalty(ps).backward()
    assert [p.grad for p in ps] == [1.0, -1.0, 0.0]  # sign(w), 0 at w = 0
    for p in ps:
        p.grad = 0.0
    l2_penalty(ps).backward()
    assert [p.grad for p in ps] == [1.0, -4.0, 0.0]  # 2w


# -- independent oracles ---------------------------------------------------------------

CASES: list[tuple[str, Callable[..., Value], list[float]]] = [
    ("sse", lambda *v: sum_squared_error(list(v), TS), YS),
    ("mse", lambda *v: mse(list(v), TS), YS),
    ("bce", lambda *v: binary_cross_entropy(list(v), BTS), PS),
    ("bce_logits", lambda *v: binary_cross_entropy_with_logits(list(v), BTS), [-2.0, 0.5, 3.0]),
    ("softmax0", lambda *v: softmax(list(v))[0], [0.3, -0.4, 1.2]),
    ("softmax2", lambda *v: softmax(list(v))[2] * 3.0, [0.3, -0.4, 1.2]),
    ("log_softmax", lambda *v: log_softmax(list(v))[1], [0.3, -0.4, 1.2]),
    ("cross_entropy", lambda *v: cross_entropy(list(v), 2), [0.3, -0.4, 1.2, 2.0]),
    ("hinge", lambda *v: hinge_loss(list(v), [1, -1, 1]), [0.5, 0.3, -0.8]),
    ("l1", lambda *v: l1_penalty(list(v)), [0.5, -2.0, 0.1]),
    ("l2", lambda *v: l2_penalty(list(v)), [0.5, -2.0, 0.1]),
    ("targets_as_values", lambda y, t: mse([y], [t]) + binary_cross_entropy([0.3], [t * 0.1]),
     [0.4, 1.5]),
]


@pytest.mark.parametrize(("name", "fn", "x"), CASES, ids=[c[0] for c in CASES])
def test_gradients_agree_with_finite_differences(name: str, fn: Callable[..., Value],
                                                 x: list[float]) -> None:
    assert gradcheck(fn, x, second_order=name not in ("hinge", "l1"))


def sym(name: str, v: list[sp.Symbol]) -> sp.Expr:
    """The textbook formula of each loss, written in SymPy."""
    if name == "sse":
        return sum(sp.Rational(1, 2) * (t - y) ** 2 for y, t in zip(v, TS))
    if name == "mse":
        return sum((y - t) ** 2 for y, t in zip(v, TS)) / len(v)
    if name == "bce":
        return -sum(sp.nsimplify(t) * sp.log(p) + (1 - sp.nsimplify(t)) * sp.log(1 - p)
                    for p, t in zip(v, BTS)) / len(v)
    if name == "bce_logits":
        sig = [1 / (1 + sp.exp(-z)) for z in v]
        return -sum(sp.nsimplify(t) * sp.log(s) + (1 - sp.nsimplify(t)) * sp.log(1 - s)
                    for s, t in zip(sig, BTS)) / len(v)
    if name == "softmax0":
        return sp.exp(v[0]) / sum(sp.exp(z) for z in v)
    if name == "softmax2":
        return 3 * sp.exp(v[2]) / sum(sp.exp(z) for z in v)
    if name == "log_softmax":
        return v[1] - sp.log(sum(sp.exp(z) for z in v))
    if name == "cross_entropy":
        return -sp.log(sp.exp(v[2]) / sum(sp.exp(z) for z in v))
    if name == "l2":
        return sum(z ** 2 for z in v)
    raise KeyError(name)


SYMPY_CASES = [c for c in CASES if c[0] in (
    "sse", "mse", "bce", "bce_logits", "softmax0", "softmax2", "log_softmax", "cross_entropy",
    "l2")]


@pytest.mark.parametrize(("name", "fn", "x"), SYMPY_CASES, ids=[c[0] for c in SYMPY_CASES])
def test_value_gradient_and_hessian_agree_with_sympy(name: str, fn: Callable[..., Value],
                                                      x: list[float]) -> None:
    v = sp.symbols(f"v0:{len(x)}")
    expr = sym(name, list(v))
    point = dict(zip(v, x))
    xs = [Value(a) for a in x]
    out = fn(*xs)
    assert out.data == pytest.approx(float(expr.subs(point)), rel=1e-13)
    g = grad(out, xs)
    for i, vi in enumerate(v):
        assert g[i] == pytest.approx(float(sp.diff(expr, vi).subs(point)), rel=1e-12,
                                     abs=1e-14)
    h = hessian(fn(*xs), xs)
    for i, vi in enumerate(v):
        for j, vj in enumerate(v):
            assert h[i][j] == pytest.approx(float(sp.diff(expr, vi, vj).subs(point)),
                                            rel=1e-11, abs=1e-13)


# -- stability at ±1000 ----------------------------------------------------------------


def test_softmax_is_stable_for_huge_inputs() -> None:
    zs = [Value(1000.0), Value(0.0), Value(-1000.0)]
    s = softmax(zs)
    assert [v.data for v in s] == [1.0, 0.0, 0.0]
    s[0].backward()
    assert all(math.isfinite(z.grad) for z in zs)
    assert [v.data for v in softmax([1000.0, 1000.0])] == [0.5, 0.5]
    assert [v.data for v in softmax([-1000.0, -1000.0])] == [0.5, 0.5]


def test_log_softmax_is_stable_for_huge_inputs() -> None:
    zs = [Value(1000.0), Value(0.0), Value(-1000.0)]
    ls = log_softmax(zs)
    assert [v.data for v in ls] == [0.0, -1000.0, -2000.0]
    ls[2].backward()
    assert [z.grad for z in zs] == [-1.0, 0.0, 1.0]
    assert [v.data for v in log_softmax([-1000.0, -1000.0])] == pytest.approx(
        [-math.log(2)] * 2)


def test_cross_entropy_is_stable_for_huge_inputs() -> None:
    assert cross_entropy([1000.0, -1000.0], 0).data == 0.0
    assert cross_entropy([1000.0, -1000.0], 1).data == 2000.0
    logits = [Value(-1000.0), Value(1000.0)]
    cross_entropy(logits, 0).backward()
    assert [z.grad for z in logits] == [-1.0, 1.0]


@pytest.mark.parametrize(("z", "t", "loss", "dz"), [
    (1000.0, 0.0, 1000.0, 1.0), (-1000.0, 1.0, 1000.0, -1.0),
    (1000.0, 1.0, 0.0, 0.0), (-1000.0, 0.0, 0.0, 0.0)])
def test_bce_with_logits_is_stable_for_huge_inputs(z: float, t: float, loss: float,
                                                   dz: float) -> None:
    zv = Value(z)
    out = binary_cross_entropy_with_logits([zv], [t])
    assert out.data == loss
    out.backward()
    assert zv.grad == dz


def test_bce_on_a_saturated_probability() -> None:
    assert binary_cross_entropy([1.0, 0.0], [1, 0]).data == 0.0  # 0·log 0 = 0
    with pytest.raises(ValueError, match="with_logits"):
        binary_cross_entropy([1.0], [0])
    with pytest.raises(ValueError, match="with_logits"):
        binary_cross_entropy([0.0], [0.5])


# -- bad input -------------------------------------------------------------------------


@pytest.mark.parametrize("fn", [sum_squared_error, mse, binary_cross_entropy,
                                binary_cross_entropy_with_logits, hinge_loss])
def test_mismatched_lengths_are_named(fn: Callable[..., Value]) -> None:
    with pytest.raises(ValueError, match=r"2 .* but 3 targets; they must pair up"):
        fn([0.5, 0.5], [1, 1, 1])
    with pytest.raises(ValueError, match="empty"):
        fn([], [])


def test_bad_types_are_refused() -> None:
    with pytest.raises(TypeError, match="must be a list"):
        mse("abc", "abd")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        mse([None], [1.0])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="finite number"):
        binary_cross_entropy([0.5], ["1"])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="target_index must be an int"):
        cross_entropy([1.0, 2.0], True)
    with pytest.raises(TypeError, match="list of scores"):
        softmax(Value(1.0))  # type: ignore[arg-type]


def test_bad_values_are_named() -> None:
    with pytest.raises(ValueError, match=r"targets\[0\] = 2.0 is not in \[0, 1\]"):
        binary_cross_entropy([0.5], [2])
    with pytest.raises(ValueError, match=r"targets\[0\] = -1.0 is not in \[0, 1\]"):
        binary_cross_entropy_with_logits([0.5], [-1])
    with pytest.raises(ValueError, match=r"labels must be -1 or \+1.*to_pm1"):
        hinge_loss([0.5, 0.2], [1, 0])
    with pytest.raises(ValueError, match="target_index 3 is out of range for 3 classes"):
        cross_entropy([1.0, 2.0, 3.0], 3)
    with pytest.raises(ValueError, match="empty list"):
        softmax([])
    with pytest.raises(ValueError, match="empty parameter list"):
        l2_penalty([])
    with pytest.raises(TypeError, match=r"params\[0\] must be a Value"):
        l1_penalty([0.5])  # type: ignore[list-item]


@pytest.mark.parametrize("p", [1.5, -0.25])
def test_a_probability_outside_0_1_is_refused(p: float) -> None:
    with pytest.raises(ValueError, match=rf"probs\[0\] = {p} is not a probability in \[0, 1\]"):
        binary_cross_entropy([p], [1])


def test_the_softmax_shift_is_part_of_the_graph() -> None:
    """The max is built from relu nodes, so it is recomputed, never frozen as a number."""
    zs = [Value(0.3), Value(2.0), Value(-1.0)]
    ls = log_softmax(zs)
    ops = {node.op.name for node in topological_order(ls[0])}
    assert "relu" in ops
    before = [v.data for v in ls]
    zs[0].data = 5.0  # a new top logit: re-running the same recipe follows it
    after = [v.data for v in log_softmax(zs)]
    total = sum(math.exp(z.data) for z in zs)
    assert after == pytest.approx([z.data - math.log(total) for z in zs], rel=1e-15)
    assert before != after


# ---------------------------------------------------------------- fit's loss names, classes
def test_predicted_class_is_the_argmax_or_the_side_of_the_threshold() -> None:
    from microgrid.losses import decision_threshold, predicted_class

    assert predicted_class([0.1, 0.7, 0.7, -2.0]) == 1  # the first of equal maxima
    assert predicted_class([-3.0, -1.0]) == 1
    assert [predicted_class([s]) for s in (-0.1, 0.0, 1e-300)] == [0, 0, 1]
    assert [predicted_class([s], 0.5) for s in (0.49, 0.5, 0.51)] == [0, 0, 1]

    class Sigmoid:
        output_activation = "sigmoid"

    assert (decision_threshold(Sigmoid()), decision_threshold(object())) == (0.5, 0.0)


@pytest.mark.parametrize(("name", "k", "sigmoid", "encoded"), [
    ("mse", 1, False, [[-1.0], [1.0]]),
    ("mse", 1, True, [[0.0], [1.0]]),
    ("sse", 3, False, [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]),
    ("hinge", 1, True, [[-1.0], [1.0]]),
    ("bce", 1, False, [[0.0], [1.0]]),
    ("cross_entropy", 2, False, [[1.0, 0.0], [0.0, 1.0]]),
])
def test_each_loss_name_encodes_class_labels_as_its_table_entry_says(
        name: str, k: int, sigmoid: bool, encoded: list[list[float]]) -> None:
    from microgrid.losses import NAMED_LOSSES, named_loss

    encode, fn = named_loss(name, [0, 1], k, sigmoid)
    assert [encode(0), encode(1)] == encoded
    entry = NAMED_LOSSES[name]
    assert fn is (entry.sigmoid if sigmoid and entry.sigmoid else entry.loss)
    # the loss computed from the encoded targets equals the formula on the label
    outs = [Value(0.3 * (j + 1)) for j in range(k)]
    got = fn(outs if k > 1 else outs[0], encode(1)).data
    z = [o.data for o in outs]
    formulas: dict[str, Callable[[], float]] = {
        "mse": lambda: (z[0] - encoded[1][0]) ** 2,
        "sse": lambda: sum(0.5 * (t - y) ** 2 for y, t in zip(z, encoded[1])),
        "hinge": lambda: max(0.0, 1.0 - z[0]),
        "bce": lambda: math.log1p(math.exp(-z[0])),
        "cross_entropy": lambda: -(z[1] - math.log(sum(math.exp(v) for v in z)))}
    expected = formulas[name]()
    assert got == pytest.approx(expected, rel=1e-12)


def test_named_loss_refuses_what_its_entry_cannot_encode_naming_the_argument() -> None:
    from microgrid.losses import named_loss

    with pytest.raises(ValueError, match=r"^fit: unknown loss 'mae'; choose one of 'mse'"):
        named_loss("mae", [0, 1], 1, False)
    with pytest.raises(ValueError, match=r"^fit: loss 'hinge' needs class labels"):
        named_loss("hinge", [0.5, 1.5], 1, False)
    with pytest.raises(ValueError, match=r"^fit: loss 'cross_entropy' needs one output per "
                                         r"class \(3 classes\); the model has 2"):
        named_loss("cross_entropy", [0, 2], 2, False)
    with pytest.raises(ValueError, match=r"^fit: y\[1\] has 1 number\(s\) but the model"):
        named_loss("mse", [[0.5, 1.0], [2.0]], 2, False)
