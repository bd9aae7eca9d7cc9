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

from .autodiff import grad, hessian
from .engine import Value

__all__ = ["SGD", "Adagrad", "Adam", "Newton", "Optimizer", "RMSprop"]


def _number(x: object, what: str, *, low: float = 0.0, low_ok: bool = True,
            high: float = math.inf, high_ok: bool = True) -> float:
    """``x`` as a float, checked to lie in the interval (``low``, ``high``)."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise TypeError(f"{what} must be a number, got {type(x).__name__}: {x!r}")
    x = float(x)
    above = x >= low if low_ok else x > low
    below = x <= high if high_ok else x < high
    if not (math.isfinite(x) and above and below):
        lo = "[" if low_ok else "("
        hi = "]" if high_ok and math.isfinite(high) else ")"
        raise ValueError(f"{what} must be in {lo}{low:g}, {high:g}{hi}, got {x!r}")
    return x


class Optimizer:
    """Holds the parameters (each once, in order) and the learning rate γ > 0."""

    def __init__(self, params: Iterable[Value], lr: float) -> None:
        name = type(self).__name__
        if isinstance(params, Value):
            raise TypeError(f"{name}: params must be a list of Values (model.parameters()), "
                            "got a single Value")
        ps: list[Value] = []
        seen: set[Value] = set()
        for i, p in enumerate(params):
            if not isinstance(p, Value):
                raise TypeError(f"{name}: params[{i}] must be a Value, got {type(p).__name__}")
            if p not in seen:
                seen.add(p)
                ps.append(p)
        if not ps:
            raise ValueError(f"{name}: empty parameter list; pass model.parameters()")
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
        gs = []
        for p in self.params:
            g = p.grad + weight_decay * p.data if weight_decay else p.grad
            if not math.isfinite(g):
                raise OverflowError(f"{type(self).__name__}: gradient of {p.label or p!r} "
                                    f"is {g!r}")
            gs.append(g)
        return gs

    def _move(self, p: Value, delta: float) -> None:
        """θ ← θ − delta, refusing to make a parameter infinite or nan."""
        new = p.data - delta
        if new - new != 0.0:
            raise OverflowError(f"{type(self).__name__}: the update made {p.label or p!r} "
                                f"{new!r} (diverging: try a smaller lr)")
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
        self.momentum = _number(momentum, "SGD: momentum")
        self.dampening = _number(dampening, "SGD: dampening")
        self.weight_decay = _number(weight_decay, "SGD: weight_decay")
        self.nesterov = bool(nesterov)
        if self.nesterov and (self.momentum == 0.0 or self.dampening != 0.0):
            raise ValueError("SGD: nesterov needs momentum > 0 and dampening = 0")
        self.buffers = [0.0] * len(self.params)

    def step(self) -> None:
        """One update of every parameter from its ``grad``."""
        gs = self._gradients(self.weight_decay)
        self.t += 1
        mu, lr = self.momentum, self.lr
        for i, (p, g) in enumerate(zip(self.params, gs)):
            if mu:
                b = g if self.t == 1 else mu * self.buffers[i] + (1.0 - self.dampening) * g
                self.buffers[i] = b
                g = g + mu * b if self.nesterov else b
            self._move(p, lr * g)


class Adagrad(Optimizer):
    """s ← s + g²,  θ ← θ − γ̃·g / (√s + ε) with γ̃ = γ / (1 + (t − 1)·η)."""

    def __init__(self, params: Iterable[Value], lr: float = 0.01, lr_decay: float = 0.0,
                 weight_decay: float = 0.0, initial_accumulator_value: float = 0.0,
                 eps: float = 1e-10) -> None:
        super().__init__(params, lr)
        self.lr_decay = _number(lr_decay, "Adagrad: lr_decay")
        self.weight_decay = _number(weight_decay, "Adagrad: weight_decay")
        self.eps = _number(eps, "Adagrad: eps")
        self.sums = [_number(initial_accumulator_value, "Adagrad: initial_accumulator_value")
                     ] * len(self.params)

    def step(self) -> None:
        """One update of every parameter from its ``grad``."""
        gs = self._gradients(self.weight_decay)
        self.t += 1
        lr = self.lr / (1.0 + (self.t - 1) * self.lr_decay)
        for i, (p, g) in enumerate(zip(self.params, gs)):
            s = self.sums[i] + g * g
            self.sums[i] = s
            self._move(p, lr * (g / (math.sqrt(s) + self.eps)))


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
        self.eps = _number(eps, "RMSprop: eps")
        self.weight_decay = _number(weight_decay, "RMSprop: weight_decay")
        self.momentum = _number(momentum, "RMSprop: momentum")
        self.centered = bool(centered)
        n = len(self.params)
        self.square_avgs = [0.0] * n
        self.grad_avgs = [0.0] * n
        self.buffers = [0.0] * n

    def step(self) -> None:
        """One update of every parameter from its ``grad``."""
        gs = self._gradients(self.weight_decay)
        self.t += 1
        a = self.alpha
        for i, (p, g) in enumerate(zip(self.params, gs)):
            v = a * self.square_avgs[i] + (1.0 - a) * g * g
            self.square_avgs[i] = v
            if self.centered:
                ga = a * self.grad_avgs[i] + (1.0 - a) * g
                self.grad_avgs[i] = ga
                v = v - ga * ga
            step = g / (math.sqrt(v) + self.eps)
            if self.momentum > 0.0:
                step = self.momentum * self.buffers[i] + step
                self.buffers[i] = step
            self._move(p, self.lr * step)


class Adam(Optimizer):
    """m ← β₁m + (1 − β₁)g, v ← β₂v + (1 − β₂)g², θ ← θ − γ·m̂/(√v̂ + ε) (bias-corrected)."""

    def __init__(self, params: Iterable[Value], lr: float = 0.001,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr)
        if len(betas) != 2:
            raise ValueError(f"Adam: betas must be a pair (β₁, β₂), got {betas!r}")
        self.betas = (_number(betas[0], "Adam: betas[0]", high=1.0, high_ok=False),
                      _number(betas[1], "Adam: betas[1]", high=1.0, high_ok=False))
        self.eps = _number(eps, "Adam: eps")
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
        for i, (p, g) in enumerate(zip(self.params, gs)):
            m = b1 * self.ms[i] + (1.0 - b1) * g
            v = b2 * self.vs[i] + (1.0 - b2) * g * g
            self.ms[i], self.vs[i] = m, v
            self._move(p, step_size * (m / (math.sqrt(v) / root_c2 + self.eps)))


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
        for p, di in zip(self.params, d):
            self._move(p, self.lr * di)
