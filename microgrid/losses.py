"""Loss functions, softmax and penalties, composed from ``Value`` primitives.

Every function here is built from the engine's ops (``+ * ** exp log relu softplus``), so
its gradient comes from the chain rule; nothing is differentiated by hand. Each takes
``Value``s or plain numbers and returns a ``Value`` (``softmax``/``log_softmax``: a list).

Two squared errors appear in the lecture notes, and both are here:

* :func:`sum_squared_error` ``E = Σᵢ ½(tᵢ − yᵢ)²`` — the worked example's total error;
  the ½ cancels the 2 of the derivative, ∂E/∂yᵢ = −(tᵢ − yᵢ).
* :func:`mse` ``J = (1/m) Σᵢ (yᵢ − tᵢ)²`` — the mean over m predictions; ∂J/∂yᵢ = 2(yᵢ − tᵢ)/m.
"""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from . import _validate as check
from .engine import Value
from .recording import recorded_function

__all__ = [
    "NAMED_LOSSES",
    "NamedLoss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "decision_threshold",
    "hinge_loss",
    "l1_penalty",
    "l2_penalty",
    "log_softmax",
    "model_outputs",
    "mse",
    "named_loss",
    "predicted_class",
    "softmax",
    "sum_squared_error",
]

Scalar = Value | int | float
Scalars = Sequence[Scalar] | Scalar


def _as_list(xs: Scalars, name: str, what: str) -> list[Scalar]:
    """A list of scalars (Values and Python numbers; numpy data converted); one bare
    scalar counts as a list of one."""
    xs = check.plain(xs)
    if isinstance(xs, (Value, int, float)) and not isinstance(xs, bool):
        return [xs]
    if isinstance(xs, (str, bytes)) or not isinstance(xs, Sequence):
        raise TypeError(f"{name}: {what} must be a list of Values or numbers, "
                        f"got {type(xs).__name__}")
    out = [check.plain(x) for x in xs]
    for i, x in enumerate(out):
        if isinstance(x, bool) or not isinstance(x, (Value, int, float)):
            raise TypeError(f"{name}: {what}[{i}] must be a Value or a finite number, "
                            f"got {type(x).__name__}")
    return out


def _pairs(preds: Scalars, targets: Scalars, name: str,
           what: str = "preds") -> tuple[list[Scalar], list[Scalar]]:
    ys = _as_list(preds, name, what)
    ts = [t if isinstance(t, Value) else _number(t, name, i)
          for i, t in enumerate(_as_list(targets, name, "targets"))]
    if len(ys) != len(ts):
        raise ValueError(f"{name}: {len(ys)} {what} but {len(ts)} targets; they must pair up")
    if not ys:
        raise ValueError(f"{name}: empty {what}; there is nothing to average")
    return ys, ts


def _value(x: Scalar) -> Value:
    return x if isinstance(x, Value) else Value(x)


def _total(terms: Sequence[Value]) -> Value:
    """t₀ + t₁ + … as a chain of ``+`` nodes (no constant 0 in front)."""
    return functools.reduce(operator.add, terms)


def _mean(terms: Sequence[Value]) -> Value:
    """(1/m)·(t₀ + … + tₘ₋₁); a single term is returned as it is."""
    total = _total(terms)
    return total if len(terms) == 1 else total * (1.0 / len(terms))


def _number(t: Scalar, name: str, i: int) -> float:
    """Target i as a float (a Value target contributes its data)."""
    x = t.data if isinstance(t, Value) else check.plain(t)
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
        raise TypeError(f"{name}: targets[{i}] must be a finite number, got {t!r}")
    return float(x)


@recorded_function
def sum_squared_error(preds: Scalars, targets: Scalars) -> Value:
    """E = Σᵢ ½(tᵢ − yᵢ)²  (the step-by-step example's total error; ∂E/∂yᵢ = −(tᵢ − yᵢ))."""
    ys, ts = _pairs(preds, targets, "sum_squared_error")
    return _total([0.5 * (t - _value(y)) ** 2 for y, t in zip(ys, ts)])


@recorded_function
def mse(preds: Scalars, targets: Scalars) -> Value:
    """J = (1/m) Σᵢ (yᵢ − tᵢ)²  (mean squared error over m predictions)."""
    ys, ts = _pairs(preds, targets, "mse")
    return _mean([(_value(y) - t) ** 2 for y, t in zip(ys, ts)])


def _target_in_unit_interval(t: Scalar, name: str, i: int) -> float:
    tv = _number(t, name, i)
    if not 0.0 <= tv <= 1.0:
        raise ValueError(f"{name}: targets[{i}] = {tv!r} is not in [0, 1]")
    return tv


@recorded_function
def binary_cross_entropy(probs: Scalars, targets: Scalars) -> Value:
    """L = −(1/m) Σᵢ [tᵢ log pᵢ + (1 − tᵢ) log(1 − pᵢ)], probabilities pᵢ ∈ (0, 1).

    A term whose number target gives it weight 0 is left out (0·log 0 = 0), so p = 1 with
    t = 1 costs nothing. A probability of exactly 0 or 1 on the wrong side has infinite
    loss and raises ``ValueError``: prefer :func:`binary_cross_entropy_with_logits`.
    """
    name = "binary_cross_entropy"
    ps, ts = _pairs(probs, targets, name, "probs")
    terms = []
    for i, (p, t) in enumerate(zip(ps, ts)):
        tv = _target_in_unit_interval(t, name, i)
        p = _value(p)
        if not 0.0 <= p.data <= 1.0:
            raise ValueError(f"{name}: probs[{i}] = {p.data!r} is not a probability in "
                             "[0, 1] (pass logits to binary_cross_entropy_with_logits)")
        for weight, q, what in ((t, p, "p"), (1 - t, 1 - p, "1 − p")):
            if not isinstance(weight, Value) and weight == 0.0:
                continue
            if not q.data > 0.0:
                raise ValueError(f"{name}: probs[{i}] = {p.data!r} makes log({what}) "
                                 f"infinite (target {tv!r}); use "
                                 "binary_cross_entropy_with_logits")
            terms.append(q.log() if weight == 1.0 else weight * q.log())
    loss = -_total(terms)
    return loss if len(ps) == 1 else loss * (1.0 / len(ps))


@recorded_function
def binary_cross_entropy_with_logits(logits: Scalars, targets: Scalars) -> Value:
    """L = (1/m) Σᵢ [softplus(zᵢ) − tᵢ·zᵢ] = BCE(σ(zᵢ), tᵢ), stable for any finite logit."""
    name = "binary_cross_entropy_with_logits"
    zs, ts = _pairs(logits, targets, name, "logits")
    terms = []
    for i, (z, t) in enumerate(zip(zs, ts)):
        tv = _target_in_unit_interval(t, name, i)
        z = _value(z)
        if isinstance(t, Value):
            terms.append(z.softplus() - t * z)
        elif tv == 0.0:
            terms.append(z.softplus())
        else:
            terms.append(z.softplus() - (z if tv == 1.0 else tv * z))
    return _mean(terms)


def _shifted(values: Sequence[Scalar], name: str) -> list[Value]:
    """zᵢ − m with m = max z built in the graph as m ← z + relu(m − z), one score at a time.

    Softmax is unchanged by the shift (the gradient through m sums to zero). m is part of
    the graph, not a number read out of it, so a compiled replay recomputes it for every
    batch, and no comparison is made.
    """
    values = check.plain(values)
    if isinstance(values, (Value, int, float)):
        raise TypeError(f"{name}: values must be a list of scores, got one "
                        f"{type(values).__name__}")
    zs = [_value(z) for z in _as_list(values, name, "values")]
    if not zs:
        raise ValueError(f"{name}: empty list of values")
    top = zs[0]
    for z in zs[1:]:
        top = z + (top - z).relu()
    return [z - top for z in zs]


@recorded_function
def softmax(values: Sequence[Scalar]) -> list[Value]:
    """softmax(z)ᵢ = e^(zᵢ − max z) / Σⱼ e^(zⱼ − max z)  (stable for any finite z)."""
    es = [d.exp() for d in _shifted(values, "softmax")]
    inv = _total(es) ** -1
    return [e * inv for e in es]


@recorded_function
def log_softmax(values: Sequence[Scalar]) -> list[Value]:
    """log softmax(z)ᵢ = (zᵢ − max z) − log Σⱼ e^(zⱼ − max z)  (stable for any finite z)."""
    ds = _shifted(values, "log_softmax")
    log_total = _total([d.exp() for d in ds]).log()
    return [d - log_total for d in ds]


@recorded_function
def cross_entropy(logits: Sequence[Scalar], target_index: int) -> Value:
    """L = −log softmax(z)_target: categorical cross-entropy of one example from logits."""
    target_index = check.plain(target_index)
    if isinstance(target_index, bool) or not isinstance(target_index, int):
        raise TypeError(f"cross_entropy: target_index must be an int, "
                        f"got {type(target_index).__name__}: {target_index!r}")
    logp = log_softmax(logits)
    if not 0 <= target_index < len(logp):
        raise ValueError(f"cross_entropy: target_index {target_index} is out of range "
                         f"for {len(logp)} classes")
    return -logp[target_index]


@recorded_function
def hinge_loss(scores: Scalars, labels: Scalars, margin: float = 1.0) -> Value:
    """L = (1/m) Σᵢ max(0, margin − yᵢ·sᵢ) with labels yᵢ ∈ {−1, +1} (the max-margin loss).

    With the default margin 1 this is micrograd's demo loss, the mean of relu(1 − y·score).
    """
    margin = check.real(margin, "hinge_loss: margin")
    ss, ys = _pairs(scores, labels, "hinge_loss", "scores")
    for i, y in enumerate(ys):
        if _number(y, "hinge_loss", i) not in (-1.0, 1.0):
            raise ValueError(f"hinge_loss: labels[{i}] = {y!r}; labels must be -1 or +1 "
                             "(microgrid.data.to_pm1 converts 0/1 labels)")
    return _mean([(margin - y * _value(s)).relu() for s, y in zip(ss, ys)])


def _params(params: Sequence[Value], name: str) -> list[Value]:
    if isinstance(params, Value) or not hasattr(params, "__iter__"):
        raise TypeError(f"{name}: params must be a list of Values (model.parameters()), "
                        f"got {type(params).__name__}")
    ps = list(params)
    if not ps:
        raise ValueError(f"{name}: empty parameter list")
    for i, p in enumerate(ps):
        if not isinstance(p, Value):
            raise TypeError(f"{name}: params[{i}] must be a Value, got {type(p).__name__}")
    return ps


@recorded_function
def l1_penalty(params: Sequence[Value]) -> Value:
    """Σ |wᵢ|, with |w| = relu(w) + relu(−w) (subgradient 0 at w = 0)."""
    return _total([p.relu() + (-p).relu() for p in _params(params, "l1_penalty")])


@recorded_function
def l2_penalty(params: Sequence[Value]) -> Value:
    """Σ wᵢ²  (multiply by your own coefficient: ``loss + 1e-4 * l2_penalty(ps)``)."""
    return _total([p * p for p in _params(params, "l2_penalty")])


# --- the losses fit knows by name, and the class an output stands for ---------------------
#
# A class label c becomes target numbers t for a model with k outputs, and each loss below
# computes from t alone (never looking at c again), so the same function runs on floats and
# on a compiled step's traced inputs. ``fit(loss=name)`` reads this table and nothing else.

Encode = Callable[[Any], list[Any]]
"""A target as the numbers a named loss computes from (a class label, or a regression
target: a number or a list of numbers)."""
LossFn = Callable[[Any, Any], Value]
"""``loss(output, target) -> Value`` for one example: ``output`` what the model returns."""


def model_outputs(out: object, who: str) -> list[Value]:
    """A model's output as a list: a bare ``Value`` is one output, a list or tuple of
    ``Value``s is k outputs; anything else is refused, naming ``who``."""
    if isinstance(out, Value):
        return [out]
    if isinstance(out, (list, tuple)) and out and all(isinstance(v, Value) for v in out):
        return list(out)
    raise TypeError(f"{who}: the model must return a Value or a non-empty list of Values, "
                    f"got {type(out).__name__}")


def decision_threshold(model: object) -> float:
    """The score above which a one-output model says class 1: 0.5 for a sigmoid output
    (``model.output_activation == "sigmoid"``), else 0."""
    return 0.5 if getattr(model, "output_activation", None) == "sigmoid" else 0.0


def predicted_class(scores: Sequence[float], threshold: float = 0.0) -> int:
    """The class that output numbers stand for: with k ≥ 2 outputs the argmax (the first of
    equal ones), with one output 1 when it is above ``threshold`` (a score equal to it is
    class 0). :func:`decision_threshold` gives a model's threshold."""
    if len(scores) == 1:
        return int(scores[0] > threshold)
    return max(range(len(scores)), key=scores.__getitem__)


def _bce_on_logit(out: Any, t: Sequence[Any]) -> Value:
    """softplus(z) − t·z for the one output z (a logit), branch-free in t."""
    z = model_outputs(out, "fit")[0]
    loss: Value = z.softplus() - t[0] * z
    return loss


def _bce_on_sigmoid(out: Any, t: Sequence[Any]) -> Value:
    """BCE of a sigmoid output σ(z), computed from z when the output is a sigmoid node
    (stable: no log 0 at σ(z) = 1); −(t·log p + (1 − t)·log(1 − p)) otherwise."""
    p = model_outputs(out, "fit")[0]
    if p.op.name == "sigmoid" and len(p.parents) == 1:
        return _bce_on_logit(p.parents[0], t)
    loss: Value = -(t[0] * p.log() + (1.0 - t[0]) * (1.0 - p).log())
    return loss


def _cross_entropy_one_hot(out: Any, t: Sequence[Any]) -> Value:
    """−Σⱼ tⱼ·log softmax(y)ⱼ with t one-hot: −log softmax(y)_c, branch-free in t."""
    logp = log_softmax(model_outputs(out, "fit"))
    return -_total([tj * lj for tj, lj in zip(t, logp)])


class NamedLoss(NamedTuple):
    """A loss ``fit`` knows by name.

    ``labels`` says how a class label c becomes the targets t for k outputs:
    ``"score"`` (one output: t = +1 for c = 1, −1 for c = 0 (0 for a sigmoid output);
    k ≥ 2 outputs: t one-hot), ``"sign"`` (one output, t = ±1), ``"probability"`` (one
    output, t = c) or ``"one_hot"`` (k ≥ 2 outputs). ``regression``: whether number
    targets apply too (target for target). ``sigmoid``: the loss used instead when the
    model's output is a sigmoid."""

    loss: LossFn
    labels: str
    regression: bool = False
    sigmoid: LossFn | None = None


NAMED_LOSSES: dict[str, NamedLoss] = {
    "mse": NamedLoss(mse, "score", regression=True),
    "sse": NamedLoss(sum_squared_error, "score", regression=True),
    "hinge": NamedLoss(hinge_loss, "sign"),
    "bce": NamedLoss(_bce_on_logit, "probability", sigmoid=_bce_on_sigmoid),
    "cross_entropy": NamedLoss(_cross_entropy_one_hot, "one_hot"),
}
"""The loss names of ``fit(loss=...)``; see :class:`NamedLoss` for the target encodings."""


def named_loss(name: object, y: Sequence[Any], k: int, sigmoid_output: bool,
               who: str = "fit") -> tuple[Encode, LossFn]:
    """``(encode, loss)`` for the loss ``name`` on targets ``y`` and a model with ``k``
    outputs: class labels (all ints) are encoded as the table says, regression targets
    are taken as they are. A name or target that does not fit is refused, naming it."""
    entry = NAMED_LOSSES.get(name) if isinstance(name, str) else None
    if entry is None or not isinstance(name, str):
        raise ValueError(f"{who}: unknown loss {name!r}; choose one of "
                         f"{', '.join(map(repr, NAMED_LOSSES))} or pass a callable")
    if not all(isinstance(t, int) and not isinstance(t, bool) for t in y):
        return _regression(name, entry, y, k, who), entry.loss
    classes = min(y), max(y) + 1
    if classes[0] < 0:
        raise ValueError(f"{who}: class labels must be ints 0..k-1, got {classes[0]}")
    encode = _label_encoder(name, entry.labels, k, classes[1], sigmoid_output, who)
    return encode, (entry.sigmoid if sigmoid_output and entry.sigmoid else entry.loss)


def _regression(name: str, entry: NamedLoss, y: Sequence[Any], k: int, who: str) -> Encode:
    for i, t in enumerate(y):
        values = t if isinstance(t, (list, tuple)) else [t]
        if not all(isinstance(v, (int, float)) for v in values):
            raise TypeError(f"{who}: y[{i}] must be a class label (int), a number or a "
                            f"list of numbers, got {type(t).__name__}")
        if len(values) != k:
            raise ValueError(f"{who}: y[{i}] has {len(values)} number(s) but the model has "
                             f"{k} output(s)")
    if not entry.regression:
        raise ValueError(f"{who}: loss {name!r} needs class labels (ints 0..k-1) in y")
    return lambda t: list(t) if isinstance(t, (list, tuple)) else [t]


def _label_encoder(name: str, labels: str, k: int, classes: int, sigmoid_output: bool,
                   who: str) -> Encode:
    def need(condition: bool, what: str) -> None:
        if not condition:
            raise ValueError(f"{who}: loss {name!r} needs {what}; the model has {k} output(s)")

    def one_hot(c: int) -> list[float]:
        return [1.0 if j == c else 0.0 for j in range(k)]

    if labels == "one_hot" or (labels == "score" and k >= 2):
        need(k >= 2 and classes <= k, f"one output per class ({classes} classes)")
        return one_hot
    if labels == "score":
        need(classes <= 2, "two classes for one output")
        low = 0.0 if sigmoid_output else -1.0
        return lambda c: [1.0 if c else low]
    need(k == 1 and classes <= 2, "one output and labels 0/1")
    if labels == "sign":
        return lambda c: [1.0 if c else -1.0]
    return lambda c: [float(c)]
