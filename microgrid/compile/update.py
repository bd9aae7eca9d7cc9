"""An optimizer's step on every parameter at once: its rule applied to numpy arrays.

Each optimizer states its update once, per parameter (:meth:`~microgrid.optim.Optimizer.rule`,
``(g, *state) -> (δ, *new state)``, θ ← θ − δ), with arithmetic and ``F.sqrt`` /
``F.maximum``. Called with numpy as ``F`` and whole arrays for g and the state, the same
rule updates all parameters in a few array operations. numpy rounds +, −, ×, ÷ and √ of
float64 exactly as Python's floats do, so the new values equal ``optimizer.step()``'s bit for
bit; the checks are the same too (a gradient or a new value that is not finite raises the
optimizer's own ``OverflowError`` and changes nothing).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from ..optim import Optimizer

__all__ = ["as_vector", "vector_step", "vectorizable"]

Array = npt.NDArray[np.float64]


def vectorizable(opt: Optimizer) -> bool:
    """Whether ``opt.step()`` is its rule applied to each parameter, so the rule may be
    applied to all of them at once instead: False for an optimizer that overrides ``step``
    (Newton) or defines no rule."""
    return type(opt).step is Optimizer.step and type(opt).rule is not Optimizer.rule


def as_vector(values: list[float]) -> Array:
    """Floats as one float64 array (what :func:`vector_step` and the numpy replay take)."""
    return np.array(values, dtype=np.float64)


def vector_step(opt: Optimizer, thetas: Any, grads: Any) -> list[float]:
    """One step of ``opt`` from parameter values θ and gradients g (both in the order of
    ``opt.params``): returns the new θ and keeps the optimizer's new state and step count.

    The caller writes the new values to the parameters; on an error nothing has changed.
    """
    with np.errstate(over="ignore", invalid="ignore"):  # checked below, named as step() does
        return _step(opt, np.asarray(thetas, dtype=np.float64),
                     np.asarray(grads, dtype=np.float64))


def _step(opt: Optimizer, theta: Array, g: Array) -> list[float]:
    if opt.weight_decay:
        g = g + opt.weight_decay * theta
    bad = ~np.isfinite(g)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise opt.bad_gradient(i, float(g[i]))
    update = opt.rule(np, opt.t + 1)
    states = [np.array(getattr(opt, name), dtype=np.float64) for name in opt.state]
    delta, *news = update(g, *states)
    new = theta - delta
    bad = ~np.isfinite(new)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise opt.bad_update(i, float(new[i]))
    opt.commit([np.broadcast_to(s, theta.shape).tolist() for s in news])
    values: list[float] = new.tolist()
    return values
