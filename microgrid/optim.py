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
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from . import _validate as check
from .autodiff import grad, hessian
from .engine import Value

__all__ = ["SGD", "Adagrad", "Adam", "Newton", "Optimizer", "RMSprop"]


def _number(x: object, what: str, *, low: float = 0.0, low_ok: bool = True,
            high: float = math.inf, high_ok: bool = True) -> float:
    """``x`` as a float, checked to lie in the interval (``low``, ``high``)."""
    return check.real(x, what, low=low, low_ok=low_ok, high=high, high_ok=high_ok)


class Optimizer:
    """Holds the parameters (each once, in order) and the learning rate γ > 0."""

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

    def step(self) -> None:
        """One update of every parameter (each optimizer defines its rule)."""
        raise NotImplementedError(f"{type(self).__name__} does not define step()")

    def zero_grad(self) -> None:
        """Set every parameter's ``grad`` to 0.0 (call it before each ``backward()``)."""
        for p in self.params:
            p.grad = 0.0

    def _gradients(self, weight_decay: float) -> list[float]:
        """g (+ λ·θ) for every parameter, checked to be finite."""
        if weight_decay:
            gs = [p.grad + weight_decay * p.data for p in self.params]
        else:
            gs = [p.grad for p in self.params]
        total = sum(gs)
        if total - total != 0.0:  # one check for all; find the culprit only when needed
            for p, g in zip(self.params, gs):
                if not math.isfinite(g):
                    raise OverflowError(f"{type(self).__name__}: gradient of "
                                        f"{p.label or p!r} is {g!r}")
        return gs

    def _apply(self, deltas: Sequence[float]) -> None:
        """θ ← θ − delta for every parameter at once; if any would become infinite or nan,
        raise ``OverflowError`` and change none."""
        news = [p.data - d for p, d in zip(self.params, deltas)]
        total = sum(news)
        if total - total != 0.0:
            for p, new in zip(self.params, news):
                if new - new != 0.0:
                    raise OverflowError(f"{type(self).__name__}: the update made "
                                        f"{p.label or p!r} {new!r} (diverging: try a "
                                        "smaller lr)")
        for p, new in zip(self.params, news):
            p.data = new

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
        self.buffers = [0.0] * len(self.params)

    def step(self) -> None:
        """One update of every parameter from its ``grad``."""
        gs = self._gradients(self.weight_decay)
        self.t += 1
        mu, lr = self.momentum, self.lr
        if not mu:
            self._apply([lr * g for g in gs])
            return
        if self.t == 1:
            bs = gs
        else:
            damp = 1.0 - self.dampening
            bs = [mu * b + damp * g for b, g in zip(self.buffers, gs)]
        self.buffers = bs
        if self.nesterov:
            self._apply([lr * (g + mu * b) for g, b in zip(gs, bs)])
        else:
            self._apply([lr * b for b in bs])


class Adagrad(Optimizer):
    """s ← s + g²,  θ ← θ − γ̃·g / (√s + ε) with γ̃ = γ / (1 + (t − 1)·η)."""

    def __init__(self, params: Iterable[Value], lr: float = 0.01, lr_decay: float = 0.0,
                 weight_decay: float = 0.0, initial_accumulator_value: float = 0.0,
                 eps: float = 1e-10) -> None:
        super().__init__(params, lr)
        self.lr_decay = _number(lr_decay, "Adagrad: lr_decay")
        self.weight_decay = _number(weight_decay, "Adagrad: weight_decay")
        self.eps = _number(eps, "Adagrad: eps", low_ok=False)  # ε = 0 divides by 0
        self.sums = [_number(initial_accumulator_value, "Adagrad: initial_accumulator_value")
                     ] * len(self.params)

    def step(self) -> None:
        """One update of every parameter from its ``grad``."""
        gs = self._gradients(self.weight_decay)
        self.t += 1
        lr = self.lr / (1.0 + (self.t - 1) * self.lr_decay)
        sums = [s + g * g for s, g in zip(self.sums, gs)]
        self.sums = sums
        sqrt, eps = math.sqrt, self.eps
        self._apply([lr * (g / (sqrt(s) + eps)) for g, s in zip(gs, sums)])


class RMSprop(Optimizer):
    """v ← α·v + (1 − α)·g²,  θ ← θ − γ·g / (√v + ε).

    ``centered=True`` divides by √(v − ḡ²) with ḡ ← α·ḡ + (1 − α)·g; ``momentum`` μ > 0
    steps along b ← μ·b + g / (√v + ε).
    """

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

    def step(self) -> None:
        """One update of every parameter from its ``grad``."""
        gs = self._gradients(self.weight_decay)
        self.t += 1
        a = self.alpha
        deltas = []
        for i, g in enumerate(gs):
            v = a * self.square_avgs[i] + (1.0 - a) * g * g
            self.square_avgs[i] = v
            if self.centered:
                ga = a * self.grad_avgs[i] + (1.0 - a) * g
                self.grad_avgs[i] = ga
                v = max(v - ga * ga, 0.0)  # a variance: rounding must not make it < 0
            step = g / (math.sqrt(v) + self.eps)
            if self.momentum > 0.0:
                step = self.momentum * self.buffers[i] + step
                self.buffers[i] = step
            deltas.append(self.lr * step)
        self._apply(deltas)


class Adam(Optimizer):
    """m ← β₁m + (1 − β₁)g, v ← β₂v + (1 − β₂)g², θ ← θ − γ·m̂/(√v̂ + ε) (bias-corrected)."""

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

    def step(self) -> None:
        """One update of every parameter from its ``grad``."""
        gs = self._gradients(self.weight_decay)
        self.t += 1
        b1, b2 = self.betas
        step_size = self.lr / (1.0 - b1 ** self.t)  # γ / (1 − β₁ᵗ)
        root_c2 = math.sqrt(1.0 - b2 ** self.t)     # √(1 − β₂ᵗ)
        c1, c2, eps, sqrt = 1.0 - b1, 1.0 - b2, self.eps, math.sqrt
        ms = [b1 * m + c1 * g for m, g in zip(self.ms, gs)]
        vs = [b2 * v + c2 * g * g for v, g in zip(self.vs, gs)]
        self.ms, self.vs = ms, vs
        self._apply([step_size * (m / (sqrt(v) / root_c2 + eps)) for m, v in zip(ms, vs)])


def solve(a: Sequence[Sequence[float]], b: Sequence[float]) -> list[float]:
    """x with A·x = b, by Gaussian elimination with partial pivoting (pure Python)."""
    n = len(b)
    rows = [[float(v) for v in row] + [float(bi)] for row, bi in zip(a, b)]
    if len(rows) != n or any(len(r) != n + 1 for r in rows):
        raise ValueError(f"solve: A must be {n}×{n} to match b")
    scale = max((abs(v) for r in rows for v in r[:n]), default=0.0)
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(rows[r][col]))
        if abs(rows[pivot][col]) <= 1e-12 * scale or scale == 0.0:
            raise ValueError("solve: the matrix is singular (or nearly so)")
        rows[col], rows[pivot] = rows[pivot], rows[col]
        top = rows[col]
        for r in range(col + 1, n):
            f = rows[r][col] / top[col]
            if f:
                row = rows[r]
                for k in range(col, n + 1):
                    row[k] -= f * top[k]
    x = [0.0] * n
    for r in range(n - 1, -1, -1):
        s = rows[r][n] - sum(rows[r][k] * x[k] for k in range(r + 1, n))
        x[r] = s / rows[r][r]
    return x


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
        self.t += 1
        self._apply([self.lr * di for di in d])
