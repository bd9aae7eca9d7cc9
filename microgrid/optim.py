"""Optimizers: they read each parameter's ``grad`` and change its ``data``.

The usual loop is ``opt.zero_grad(); loss.backward(); opt.step()``. The update rules are the
ones PyTorch documents for ``torch.optim`` (same names, same defaults, same order of
operations), written per scalar parameter θ with gradient g at step t = 1, 2, …:

* :class:`SGD`     θ ← θ − γ·g, or with momentum μ: b ← μ·b + (1 − τ)·g (b₁ = g), θ ← θ − γ·b
* :class:`Adagrad` s ← s + g²,  θ ← θ − γ̃·g / (√s + ε),  γ̃ = γ / (1 + (t − 1)·η)
* :class:`RMSprop` v ← α·v + (1 − α)·g²,  θ ← θ − γ·g / (√v + ε)
* :class:`Adam`    m ← β₁m + (1 − β₁)g,  v ← β₂v + (1 − β₂)g²,
  θ ← θ − γ·m̂ / (√v̂ + ε) with m̂ = m / (1 − β₁ᵗ), v̂ = v / (1 − β₂ᵗ)
* :class:`Newton`  θ ← θ − γ·(H + λI)⁻¹ ∇f, the Hessian H from :func:`microgrid.hessian`

``weight_decay`` λ adds λ·θ to g first (an L2 penalty of ½λθ²).

Every hyperparameter is checked when the optimizer is made, with an error naming it:
γ > 0; ε > 0 (ε = 0 would divide by zero when a gradient is 0); β₁, β₂, μ in [0, 1);
α, τ in [0, 1]; decays and λ ≥ 0 — all finite. A step computes every new value first:
if one would be infinite or nan it raises ``OverflowError`` and changes no parameter.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from . import _validate as check
from .autodiff import grad, hessian
from .engine import Value
from .linalg import solve

__all__ = ["SGD", "Adagrad", "Adam", "FloatMath", "Newton", "Optimizer", "RMSprop", "Rule"]


def _number(x: object, what: str, *, low: float = 0.0, low_ok: bool = True,
            high: float = math.inf, high_ok: bool = True) -> float:
    """``x`` as a float, checked to lie in the interval (``low``, ``high``)."""
    return check.real(x, what, low=low, low_ok=low_ok, high=high, high_ok=high_ok)


class FloatMath:
    """The functions an update rule calls, on floats (``F`` of :meth:`Optimizer.rule` in
    :meth:`Optimizer.step`). A rule uses nothing else, so it also runs on whole arrays with
    numpy's functions of the same names."""

    sqrt = staticmethod(math.sqrt)
    maximum = staticmethod(max)


Rule = Callable[..., tuple[Any, ...]]
"""One step's update of one parameter: ``(g, *state) -> (δ, *new state)``, θ ← θ − δ."""


class Optimizer:
    """Holds the parameters (each once, in order) and the learning rate γ > 0.

    An optimizer states its update once, per parameter, in :meth:`rule`; :meth:`step`
    applies it to every parameter. ``state`` names the per-parameter lists it keeps
    (``("ms", "vs")`` for Adam), passed to the rule after g in that order. A step is all
    or nothing: if a gradient or a new value is not finite it raises ``OverflowError`` and
    changes no parameter, no state and not ``t``.
    """

    state: tuple[str, ...] = ()
    weight_decay = 0.0

    def __init__(self, params: Iterable[Value], lr: float) -> None:
        name = type(self).__name__
        if isinstance(params, Value):
            raise TypeError(f"{name}: params must be a list of Values (model.parameters()), "
                            "got a single Value")
        if hasattr(params, "named_parameters"):  # a module itself: its parameters
            owner = type(params).__name__
            params = params.parameters()  # type: ignore[attr-defined]
            if not params:
                raise ValueError(f"{name}: {owner} has no parameters: assign Values or "
                                 "Modules to its attributes in __init__ (self.w = Value(0.5))")
        if isinstance(params, (str, bytes)) or not isinstance(params, Iterable):
            raise TypeError(f"{name}: params must be a list of Values (model.parameters()), "
                            f"got {type(params).__name__}")
        ps: list[Value] = []
        seen: set[Value] = set()
        for i, p in enumerate(params):
            if not isinstance(p, Value):
                raise TypeError(f"{name}: params[{i}] must be a Value, got {type(p).__name__}")
            if p not in seen:
                seen.add(p)
                ps.append(p)
        if not ps:
            raise ValueError(f"{name}: empty parameter list; pass model.parameters() (a "
                             "Module registers the Values and Modules assigned to its "
                             "attributes)")
        self.params = ps
        self.lr = _number(lr, f"{name}: lr", low_ok=False)
        self.t = 0  # steps taken

    def rule(self, F: Any, t: int) -> Rule:
        """The update of step ``t`` for one parameter, ``(g, *state) -> (δ, *new state)``,
        written with arithmetic and ``F.sqrt`` / ``F.maximum`` only (floats or arrays)."""
        raise NotImplementedError(f"{type(self).__name__} does not define step()")

    def step(self) -> None:
        """One update of every parameter from its ``grad``: g (+ λθ), then the rule."""
        update = self.rule(FloatMath, self.t + 1)
        gs = self._gradients(self.weight_decay)
        states = [getattr(self, name) for name in self.state]
        deltas, *news = zip(*map(update, gs, *states))
        self._apply(deltas)
        self.commit([list(new) for new in news])

    def commit(self, states: Sequence[list[float]]) -> None:
        """Count the step and keep its new per-parameter state (lists named by ``state``)."""
        self.t += 1
        for name, new in zip(self.state, states):
            setattr(self, name, new)

    def zero_grad(self) -> None:
        """Set every parameter's ``grad`` to 0.0 (call it before each ``backward()``)."""
        for p in self.params:
            p.grad = 0.0

    def bad_gradient(self, i: int, g: float) -> OverflowError:
        """The error for parameter ``i``'s gradient ``g`` that is not finite."""
        p = self.params[i]
        return OverflowError(f"{type(self).__name__}: gradient of {p.label or p!r} is {g!r}")

    def bad_update(self, i: int, new: float) -> OverflowError:
        """The error for an update that would make parameter ``i`` ``new`` (not finite)."""
        p = self.params[i]
        return OverflowError(f"{type(self).__name__}: the update made {p.label or p!r} "
                             f"{new!r} (diverging: try a smaller lr)")

    def _gradients(self, weight_decay: float) -> list[float]:
        """g (+ λ·θ) for every parameter, checked to be finite."""
        if weight_decay:
            gs = [p._grad + weight_decay * p._data for p in self.params]
        else:
            gs = [p._grad for p in self.params]
        total = sum(gs)
        if total - total != 0.0:  # one check for all; find the culprit only when needed
            for i, g in enumerate(gs):
                if not math.isfinite(g):
                    raise self.bad_gradient(i, g)
        return gs

    def _apply(self, deltas: Sequence[float]) -> None:
        """θ ← θ − delta for every parameter at once; if any would become infinite or nan,
        raise ``OverflowError`` and change none."""
        news = [p._data - d for p, d in zip(self.params, deltas)]
        total = sum(news)
        if total - total != 0.0:
            for i, new in enumerate(news):
                if new - new != 0.0:
                    raise self.bad_update(i, new)
        for p, new in zip(self.params, news):
            p._data = new  # finite (checked above): the slot behind data, unchecked

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self.params)} parameters, lr={self.lr:g})"


class SGD(Optimizer):
    """Gradient descent θ ← θ − γ·g; with momentum μ: b ← μ·b + (1 − τ)·g, θ ← θ − γ·b.

    The first step sets b = g. ``nesterov=True`` steps along g + μ·b instead of b.
    """

    def __init__(self, params: Iterable[Value], lr: float, momentum: float = 0.0, *,
                 dampening: float = 0.0, weight_decay: float = 0.0,
                 nesterov: bool = False) -> None:
        super().__init__(params, lr)
        self.momentum = _number(momentum, "SGD: momentum", high=1.0, high_ok=False)
        self.dampening = _number(dampening, "SGD: dampening", high=1.0)
        self.weight_decay = _number(weight_decay, "SGD: weight_decay")
        self.nesterov = check.flag(nesterov, "SGD: nesterov")
        if self.nesterov and (self.momentum == 0.0 or self.dampening != 0.0):
            raise ValueError("SGD: nesterov needs momentum > 0 and dampening = 0")
        self.state = ("buffers",) if self.momentum else ()
        self.buffers = [0.0] * len(self.params)

    def rule(self, F: Any, t: int) -> Rule:
        mu, lr, damp, nesterov = self.momentum, self.lr, 1.0 - self.dampening, self.nesterov
        if not mu:
            return lambda g: (lr * g,)

        def update(g: Any, b: Any) -> tuple[Any, Any]:
            b = g if t == 1 else mu * b + damp * g
            return lr * (g + mu * b) if nesterov else lr * b, b
        return update


class Adagrad(Optimizer):
    """s ← s + g²,  θ ← θ − γ̃·g / (√s + ε) with γ̃ = γ / (1 + (t − 1)·η)."""

    state = ("sums",)

    def __init__(self, params: Iterable[Value], lr: float = 0.01, lr_decay: float = 0.0,
                 weight_decay: float = 0.0, initial_accumulator_value: float = 0.0,
                 eps: float = 1e-10) -> None:
        super().__init__(params, lr)
        self.lr_decay = _number(lr_decay, "Adagrad: lr_decay")
        self.weight_decay = _number(weight_decay, "Adagrad: weight_decay")
        self.eps = _number(eps, "Adagrad: eps", low_ok=False)  # ε = 0 divides by 0
        self.sums = [_number(initial_accumulator_value, "Adagrad: initial_accumulator_value")
                     ] * len(self.params)

    def rule(self, F: Any, t: int) -> Rule:
        lr = self.lr / (1.0 + (t - 1) * self.lr_decay)
        sqrt, eps = F.sqrt, self.eps

        def update(g: Any, s: Any) -> tuple[Any, Any]:
            s = s + g * g
            return lr * (g / (sqrt(s) + eps)), s
        return update


class RMSprop(Optimizer):
    """v ← α·v + (1 − α)·g²,  θ ← θ − γ·g / (√v + ε).

    ``centered=True`` divides by √(v − ḡ²) with ḡ ← α·ḡ + (1 − α)·g; ``momentum`` μ > 0
    steps along b ← μ·b + g / (√v + ε).
    """

    state = ("square_avgs", "grad_avgs", "buffers")

    def __init__(self, params: Iterable[Value], lr: float = 0.01, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum: float = 0.0,
                 centered: bool = False) -> None:
        super().__init__(params, lr)
        self.alpha = _number(alpha, "RMSprop: alpha", high=1.0)
        self.eps = _number(eps, "RMSprop: eps", low_ok=False)  # ε = 0 divides by 0
        self.weight_decay = _number(weight_decay, "RMSprop: weight_decay")
        self.momentum = _number(momentum, "RMSprop: momentum", high=1.0, high_ok=False)
        self.centered = check.flag(centered, "RMSprop: centered")
        n = len(self.params)
        self.square_avgs = [0.0] * n
        self.grad_avgs = [0.0] * n
        self.buffers = [0.0] * n

    def rule(self, F: Any, t: int) -> Rule:
        a, lr, eps, mu, centered = self.alpha, self.lr, self.eps, self.momentum, self.centered
        sqrt, maximum = F.sqrt, F.maximum

        def update(g: Any, v: Any, ga: Any, b: Any) -> tuple[Any, Any, Any, Any]:
            v = a * v + (1.0 - a) * g * g
            var = v
            if centered:
                ga = a * ga + (1.0 - a) * g
                var = maximum(v - ga * ga, 0.0)  # a variance: rounding must not make it < 0
            step = g / (sqrt(var) + eps)
            if mu > 0.0:
                b = mu * b + step
                step = b
            return lr * step, v, ga, b
        return update


class Adam(Optimizer):
    """m ← β₁m + (1 − β₁)g, v ← β₂v + (1 − β₂)g², θ ← θ − γ·m̂/(√v̂ + ε) (bias-corrected)."""

    state = ("ms", "vs")

    def __init__(self, params: Iterable[Value], lr: float = 0.001,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr)
        betas = check.plain(betas)
        if isinstance(betas, (str, bytes)) or not isinstance(betas, Sequence) or len(betas) != 2:
            raise ValueError(f"Adam: betas must be a pair (β₁, β₂), got {betas!r}")
        self.betas = (_number(betas[0], "Adam: betas[0]", high=1.0, high_ok=False),
                      _number(betas[1], "Adam: betas[1]", high=1.0, high_ok=False))
        self.eps = _number(eps, "Adam: eps", low_ok=False)  # ε = 0 divides by 0
        self.weight_decay = _number(weight_decay, "Adam: weight_decay")
        self.ms = [0.0] * len(self.params)
        self.vs = [0.0] * len(self.params)

    def rule(self, F: Any, t: int) -> Rule:
        b1, b2 = self.betas
        step_size = self.lr / (1.0 - b1 ** t)  # γ / (1 − β₁ᵗ)
        root_c2 = math.sqrt(1.0 - b2 ** t)     # √(1 − β₂ᵗ)
        c1, c2, eps, sqrt = 1.0 - b1, 1.0 - b2, self.eps, F.sqrt

        def update(g: Any, m: Any, v: Any) -> tuple[Any, Any, Any]:
            m = b1 * m + c1 * g
            v = b2 * v + c2 * g * g
            return step_size * (m / (sqrt(v) / root_c2 + eps)), m, v
        return update


class Newton(Optimizer):
    """θ ← θ − γ·(H + λI)⁻¹ ∇f: Newton's method with the exact Hessian (small problems).

    ``step(loss)`` takes the loss ``Value`` itself: it computes ∇f with
    :func:`microgrid.grad` and H with :func:`microgrid.hessian` (n + 2 backward passes for
    n parameters) and leaves every ``.grad`` alone. ``damping`` λ ≥ 0 is added to H's
    diagonal (Levenberg's fix when H is singular or not positive definite). On a quadratic
    with positive definite H, one step with γ = 1 lands on the minimum.
    """

    def __init__(self, params: Iterable[Value], lr: float = 1.0, *,
                 damping: float = 0.0) -> None:
        super().__init__(params, lr)
        self.damping = _number(damping, "Newton: damping")

    def step(self, loss: Value | None = None) -> None:
        """One Newton update of the parameters of ``loss`` (required: H needs the graph)."""
        if not isinstance(loss, Value):
            raise TypeError("Newton.step(loss): pass the loss Value itself (Newton needs "
                            f"its graph for the Hessian), got {type(loss).__name__}")
        g = grad(loss, self.params)
        h = hessian(loss, self.params)
        for i in range(len(h)):
            h[i][i] += self.damping
        try:
            d = solve(h, g)
        except ValueError:
            raise ValueError("Newton: the Hessian is singular; pass damping > 0") from None
        self._apply([self.lr * di for di in d])
        self.t += 1
